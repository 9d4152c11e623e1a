//! The sections about the outside world: `[webhooks]` (what Shopify sends us), `[shopify]`
//! and `[erp]` (whom we call). All three are optional; when present, their required keys
//! must be set, and their secrets are resolved now so a missing one stops the start.

use std::net::SocketAddr;
use std::time::Duration;

use toml::Value;

use super::reader::{Need, Parse, Reader};
use super::secret::{Secret, SecretSource, secret};
use super::values::{duration, duration_at_least, http_url, size, socket_address, string};

/// `[webhooks]`: the receiver for Shopify's webhook deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The largest body accepted, in bytes.
    pub max_body: usize,
    /// The signing secrets: the current one and, during a rotation, the previous one.
    pub secrets: Vec<Secret>,
    /// How long delivery ids are remembered to drop duplicates.
    pub dedup_ttl: Duration,
}

/// The default `webhooks.max_body`, 10 MB.
const DEFAULT_MAX_BODY: usize = 10_000_000;
/// The smallest `webhooks.max_body`, 1 MB.
const MIN_MAX_BODY: usize = 1_000_000;
/// The shortest `webhooks.dedup_ttl`, and its default: 7 days.
const MIN_DEDUP_TTL: Duration = Duration::from_secs(7 * 86_400);

impl WebhookConfig {
    pub(super) fn read(mut reader: Reader<'_>, source: &dyn SecretSource) -> Option<Self> {
        let listen = reader.required(
            "listen",
            "set it to the address Shopify's deliveries reach, e.g. \"127.0.0.1:8080\" behind \
             a TLS proxy",
            socket_address,
        );
        let max_body = reader.or("max_body", DEFAULT_MAX_BODY, max_body);
        let secrets = reader.array(
            "secrets",
            Need::AtLeastOne(
                "add the app's webhook signing secret, e.g. \
                 secrets = [{ env = \"SHOPIFY_WEBHOOK_SECRET\" }]",
            ),
            |value| secret(value, source),
        );
        let dedup_ttl = reader.or(
            "dedup_ttl",
            MIN_DEDUP_TTL,
            duration_at_least(
                MIN_DEDUP_TTL,
                "Shopify retries a delivery for up to 4 hours and a delivery can arrive a day \
                 late; a shorter memory lets a late duplicate through as new work",
            ),
        );
        reader.finish();
        let secrets: Vec<Secret> = secrets.into_iter().map(|(_, secret)| secret).collect();
        Some(WebhookConfig {
            listen: listen?,
            max_body,
            secrets,
            dedup_ttl,
        })
    }
}

fn max_body(value: Value) -> Parse<usize> {
    let bytes = size(value)?;
    let bytes = usize::try_from(bytes)
        .map_err(|_| format!("{bytes} bytes is more than this machine can address"))?;
    if bytes < MIN_MAX_BODY {
        return Err(format!(
            "too small: must be at least \"1MB\", got {bytes} bytes: Shopify payloads (a large \
             order, a product with many variants) can exceed 1 MB, and a cut body fails its \
             signature on every retry until Shopify removes the subscription"
        ));
    }
    Ok(bytes)
}

/// `[shopify]`: the store Plumb calls (Admin API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopifyConfig {
    /// The shop's `name.myshopify.com` domain.
    pub shop: String,
    /// The Admin API version, "YYYY-MM".
    pub api_version: String,
    /// The Admin API access token.
    pub access_token: Secret,
    /// Where API calls go: `https://{shop}`, or the configured override (test sandbox).
    pub base_url: String,
}

impl ShopifyConfig {
    /// The API version used when none is configured.
    pub const DEFAULT_API_VERSION: &str = "2026-07";

    pub(super) fn read(mut reader: Reader<'_>, source: &dyn SecretSource) -> Option<Self> {
        let shop = reader.required(
            "shop",
            r#"set it to the shop's myshopify.com domain, e.g. "example.myshopify.com""#,
            shop_domain,
        );
        let api_version = reader.or(
            "api_version",
            Self::DEFAULT_API_VERSION.to_owned(),
            api_version,
        );
        let access_token = reader.required(
            "access_token",
            r#"reference the Admin API access token, e.g. { env = "SHOPIFY_ACCESS_TOKEN" }"#,
            |value| secret(value, source),
        );
        let base_url = reader.optional("base_url", http_url);
        reader.finish();
        let shop = shop?;
        let base_url = base_url.unwrap_or_else(|| format!("https://{shop}"));
        Some(ShopifyConfig {
            shop,
            api_version,
            access_token: access_token?,
            base_url,
        })
    }
}

fn shop_domain(value: Value) -> Parse<String> {
    let text = string(value)?;
    let handle = text.strip_suffix(".myshopify.com").unwrap_or_default();
    if !handle.is_empty()
        && handle
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        Ok(text)
    } else {
        Err(format!(
            "expected the shop's myshopify.com domain alone (no scheme, no path), e.g. \
             \"example.myshopify.com\", got {text:?}"
        ))
    }
}

/// "YYYY-MM": Shopify releases an API version each quarter, in January, April, July and
/// October.
fn api_version(value: Value) -> Parse<String> {
    let text = string(value)?;
    let valid = match text.split_once('-') {
        Some((year, month)) => {
            year.len() == 4
                && year.bytes().all(|b| b.is_ascii_digit())
                && ["01", "04", "07", "10"].contains(&month)
        }
        None => false,
    };
    if valid {
        Ok(text)
    } else {
        Err(format!(
            "expected a Shopify API version \"YYYY-MM\" with month 01, 04, 07 or 10 \
             (e.g. \"{}\"), got {text:?}",
            ShopifyConfig::DEFAULT_API_VERSION
        ))
    }
}

/// The ERPs Plumb can talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErpKind {
    /// Tryton, over JSON-RPC.
    Tryton,
}

impl ErpKind {
    /// Every supported ERP.
    pub const ALL: [ErpKind; 1] = [ErpKind::Tryton];

    /// The name used in `erp.kind`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErpKind::Tryton => "tryton",
        }
    }

    /// Every supported name, for messages ("tryton").
    pub fn names() -> String {
        ErpKind::ALL.map(ErpKind::as_str).join(", ")
    }
}

/// `[erp]`: the ERP Plumb calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErpConfig {
    /// Which ERP it is.
    pub kind: ErpKind,
    /// Its base URL.
    pub url: String,
    /// The database to use.
    pub database: String,
    /// The user Plumb logs in as.
    pub user: String,
    /// That user's password.
    pub password: Secret,
    /// How long one ERP call may take.
    pub timeout: Duration,
}

impl ErpConfig {
    pub(super) fn read(mut reader: Reader<'_>, source: &dyn SecretSource) -> Option<Self> {
        let kind = reader.required(
            "kind",
            &format!("set it to the ERP's kind, one of: {}", ErpKind::names()),
            erp_kind,
        );
        let url = reader.required(
            "url",
            r#"set it to the ERP's base URL, e.g. "https://erp.example.com""#,
            http_url,
        );
        let database = reader.required(
            "database",
            "set it to the ERP database Plumb works in",
            string,
        );
        let user = reader.required("user", "set it to the ERP user Plumb logs in as", string);
        let password = reader.required(
            "password",
            r#"reference that user's password, e.g. { file = "/etc/plumb/erp-password" }"#,
            |value| secret(value, source),
        );
        let timeout = reader.or("timeout", Duration::from_secs(30), duration);
        reader.finish();
        Some(ErpConfig {
            kind: kind?,
            url: url?,
            database: database?,
            user: user?,
            password: password?,
            timeout,
        })
    }
}

fn erp_kind(value: Value) -> Parse<ErpKind> {
    let name = string(value)?;
    ErpKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == name)
        .ok_or_else(|| {
            format!(
                "unknown ERP kind {name:?}: supported kinds: {}",
                ErpKind::names()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Value {
        Value::String(value.to_owned())
    }

    #[test]
    fn api_versions_are_quarterly() {
        assert!(api_version(text("2026-07")).is_ok());
        for bad in ["2026-06", "26-07", "2026-7", "latest"] {
            assert!(api_version(text(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn shops_are_bare_myshopify_domains() {
        assert!(shop_domain(text("acme-eu.myshopify.com")).is_ok());
        for bad in [
            "https://acme.myshopify.com",
            "acme.com",
            ".myshopify.com",
            "acme.myshopify.com/admin",
        ] {
            assert!(shop_domain(text(bad)).is_err(), "{bad:?}");
        }
    }
}
