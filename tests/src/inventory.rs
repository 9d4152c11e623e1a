//! Configuration for running the real `plumbd` with its inventory flow against the
//! sandbox and an ERP (the double or a real Tryton).

use std::path::Path;

use plumb_agent::erp::tryton::TrytonSettings;

use crate::sandbox::Sandbox;

/// The `[shopify]`, `[erp]`, `[[locations]]` sections (secrets written as files into
/// `dir`) for [`crate::agent::Agent::start`], followed by `extra` (e.g. `[inventory]`).
/// `locations` maps ERP warehouse codes to sandbox location ids.
pub fn agent_toml(
    dir: &Path,
    sandbox: &Sandbox,
    erp: &TrytonSettings,
    locations: &[(&str, u64)],
    extra: &str,
) -> String {
    std::fs::write(dir.join("token"), sandbox.access_token()).expect("write the token");
    std::fs::write(dir.join("erp-password"), &erp.password).expect("write the password");
    let mut toml = format!(
        r#"
[shopify]
shop = "{domain}"
access_token = {{ file = "{dir}/token" }}
base_url = "{shopify_url}"

[erp]
kind = "tryton"
url = "{erp_url}"
database = "{database}"
user = "{user}"
password = {{ file = "{dir}/erp-password" }}
timeout = "60s"
"#,
        domain = sandbox.shop_domain(),
        dir = dir.display(),
        shopify_url = sandbox.url(),
        erp_url = erp.url,
        database = erp.database,
        user = erp.user,
    );
    for (warehouse, location) in locations {
        toml.push_str(&format!(
            "\n[[locations]]\nerp_warehouse = \"{warehouse}\"\nshopify_location = {location}\n"
        ));
    }
    toml.push_str(extra);
    toml
}
