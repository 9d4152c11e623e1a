//! The configuration loader through its public API: every problem is reported with its
//! dotted key and a message that says how to fix it, all at once.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use plumb_agent::config::{
    Config, ConfigErrors, ConfigProblem, Field, Owner, Secret, SecretSource,
};
use plumb_common::FlowKind;

/// Environment variables and files given by the test; everything else is missing.
#[derive(Debug, Default)]
struct FakeSecrets {
    env: BTreeMap<String, String>,
    files: BTreeMap<PathBuf, String>,
}

impl FakeSecrets {
    fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_owned(), value.to_owned());
        self
    }

    fn with_file(mut self, path: &str, contents: &str) -> Self {
        self.files.insert(PathBuf::from(path), contents.to_owned());
        self
    }
}

impl SecretSource for FakeSecrets {
    fn env(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    fn read_file(&self, path: &Path) -> io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
}

const WEBHOOKS: &str = r#"
[webhooks]
listen = "127.0.0.1:8080"
secrets = [{ env = "WEBHOOK_SECRET" }]
"#;

const SHOPIFY: &str = r#"
[shopify]
shop = "acme.myshopify.com"
access_token = { env = "SHOPIFY_TOKEN" }
"#;

const ERP: &str = r#"
[erp]
kind = "tryton"
url = "https://erp.example.com"
database = "prod"
user = "plumb"
password = { file = "/etc/plumb/erp-password" }
"#;

fn secrets() -> FakeSecrets {
    FakeSecrets::default()
        .with_env("WEBHOOK_SECRET", "whsec-value")
        .with_env("SHOPIFY_TOKEN", "shpat-value")
        .with_file("/etc/plumb/erp-password", "erp-password-value\n")
}

fn load(text: &str) -> Result<Config, ConfigErrors> {
    Config::from_toml_str(text, &secrets())
}

fn problems(text: &str) -> Vec<ConfigProblem> {
    match load(text) {
        Ok(config) => panic!("expected problems, got a valid config: {config:?}"),
        Err(errors) => errors.problems,
    }
}

/// The only problem of `text`, which must be at `key` and mention `fragment`.
fn assert_single_problem(text: &str, key: &str, fragment: &str) -> ConfigProblem {
    let problems = problems(text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_problem(&problems[0], key, fragment);
    problems[0].clone()
}

fn assert_problem(problem: &ConfigProblem, key: &str, fragment: &str) {
    assert_eq!(problem.key, key, "{problem}");
    assert!(
        problem.message.contains(fragment),
        "expected {fragment:?} in: {problem}"
    );
}

#[test]
fn absent_sections_mean_the_defaults() {
    let config = load("").expect("an empty file is valid");
    assert_eq!(config.agent.state_dir, Path::new("/var/lib/plumb"));
    assert_eq!(
        config.agent.store_path(),
        Path::new("/var/lib/plumb/plumb.redb")
    );
    assert_eq!(config.agent.log_dir, None);
    assert_eq!(config.agent.log_level, "info");
    assert_eq!(config.agent.workers, 4);
    assert_eq!(config.agent.shutdown_grace, Duration::from_secs(30));
    assert_eq!(config.control.socket, Path::new("/run/plumb/plumbd.sock"));
    assert_eq!(config.control.group, None);
    assert_eq!(config.control.max_clients, 32);
    assert!(config.webhooks.is_none() && config.shopify.is_none() && config.erp.is_none());
    assert_eq!(config.queue.lease, Duration::from_secs(60));
    assert_eq!(config.queue.backoff_base, Duration::from_secs(1));
    assert_eq!(config.queue.backoff_cap, Duration::from_secs(600));
    assert_eq!(config.queue.max_dead_letters, 10_000);
    assert_eq!(config.queue.done_retention, Duration::from_secs(24 * 3600));
    for flow in FlowKind::ALL {
        let settings = config.flows.get(flow);
        assert!(settings.enabled, "{flow}");
        assert_eq!(
            (settings.max_attempts, settings.concurrency),
            (10, 1),
            "{flow}"
        );
    }
    assert!(config.locations.is_empty());
    assert_eq!(config.ownership.owner(Field::Price), Owner::Erp);
    assert_eq!(config.ownership.owner(Field::Title), Owner::Shopify);
}

#[test]
fn sections_are_read_with_their_defaults_and_secrets() {
    let text = format!(
        "{WEBHOOKS}{SHOPIFY}{ERP}\n{}",
        r#"
[agent]
shutdown_grace = "1m30s"
[control]
group = 990
[queue]
lease = "1500ms"
[flows.inventory]
concurrency = 4
[[locations]]
erp_warehouse = "WH-1"
shopify_location = "gid://shopify/Location/42"
[ownership]
shopify = ["price"]
erp = ["title"]
"#
    );
    let config = load(&text).expect("valid");
    assert_eq!(config.agent.shutdown_grace, Duration::from_secs(90));
    assert_eq!(config.control.group, Some(990));
    let webhooks = config.webhooks.expect("webhooks");
    assert_eq!(webhooks.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(webhooks.max_body, 10_000_000);
    assert_eq!(webhooks.dedup_ttl, Duration::from_secs(7 * 86_400));
    assert_eq!(
        webhooks
            .secrets
            .iter()
            .map(Secret::expose)
            .collect::<Vec<_>>(),
        ["whsec-value"]
    );
    let shopify = config.shopify.expect("shopify");
    assert_eq!(shopify.api_version, "2026-07");
    assert_eq!(shopify.base_url, "https://acme.myshopify.com");
    assert_eq!(shopify.access_token.expose(), "shpat-value");
    let erp = config.erp.expect("erp");
    assert_eq!(
        erp.password.expose(),
        "erp-password-value",
        "one trailing newline is dropped"
    );
    assert_eq!(erp.timeout, Duration::from_secs(30));
    assert_eq!(config.queue.lease, Duration::from_millis(1500));
    assert_eq!(config.flows.get(FlowKind::Inventory).concurrency, 4);
    assert_eq!(config.flows.get(FlowKind::Orders).concurrency, 1);
    assert_eq!(config.locations[0].shopify_location, 42);
    assert_eq!(config.ownership.owner(Field::Price), Owner::Shopify);
    assert_eq!(config.ownership.owner(Field::Title), Owner::Erp);
    assert_eq!(
        config.ownership.owner(Field::Sku),
        Owner::Erp,
        "unlisted fields keep their default"
    );
}

#[test]
fn an_unknown_key_suggests_the_closest_known_one() {
    let text = r#"
[webhooks]
listen = "127.0.0.1:8080"
secrets = [{ env = "WEBHOOK_SECRET" }]
secret = [{ env = "WEBHOOK_SECRET" }]
"#;
    assert_single_problem(text, "webhooks.secret", "did you mean `webhooks.secrets`?");
}

#[test]
fn an_unknown_key_far_from_any_lists_the_known_ones() {
    let problem = assert_single_problem(
        "[agent]\ncolour = \"blue\"\n",
        "agent.colour",
        "unknown key",
    );
    assert!(
        problem
            .message
            .contains("state_dir, log_dir, log_level, workers, shutdown_grace"),
        "{problem}"
    );
}

#[test]
fn an_unknown_section_is_a_problem() {
    assert_single_problem(
        "[webhook]\nlisten = \"127.0.0.1:8080\"\n",
        "webhook",
        "did you mean `webhooks`?",
    );
    assert_single_problem("[metrics]\nport = 9100\n", "metrics", "unknown section");
}

#[test]
fn a_missing_required_key_says_what_to_set() {
    let text = "[shopify]\naccess_token = { env = \"SHOPIFY_TOKEN\" }\n";
    assert_single_problem(
        text,
        "shopify.shop",
        "missing: set it to the shop's myshopify.com domain",
    );
}

#[test]
fn a_wrong_type_names_the_expected_and_found_types() {
    assert_single_problem(
        "[agent]\nworkers = \"four\"\n",
        "agent.workers",
        "expected an integer, found a string",
    );
    assert_single_problem(
        "[flows.orders]\nenabled = 1\n",
        "flows.orders.enabled",
        "found an integer",
    );
    assert_single_problem(
        "agent = 3\n",
        "agent",
        "expected a table ([agent]), found an integer",
    );
}

#[test]
fn out_of_range_integers_give_the_range() {
    assert_single_problem(
        "[agent]\nworkers = 0\n",
        "agent.workers",
        "must be from 1 to 64, got 0",
    );
    assert_single_problem(
        "[flows.refunds]\nmax_attempts = 101\n",
        "flows.refunds.max_attempts",
        "from 1 to 100",
    );
}

#[test]
fn a_bad_url_shows_the_expected_form() {
    let text = ERP.replace("https://erp.example.com", "erp.example.com");
    assert_single_problem(&text, "erp.url", "expected an http:// or https:// URL");
    let text = format!("{SHOPIFY}base_url = \"ftp://sandbox\"\n");
    assert_single_problem(
        &text,
        "shopify.base_url",
        "expected an http:// or https:// URL",
    );
}

#[test]
fn a_control_group_is_a_gid_or_a_name_from_etc_group() {
    let source = secrets().with_file("/etc/group", "root:x:0:\nplumb:x:990:alice\n");
    let gid = |text: &str| Config::from_toml_str(text, &source).map(|config| config.control.group);
    assert_eq!(gid("[control]\ngroup = \"plumb\"\n"), Ok(Some(990)));
    assert_eq!(gid("[control]\ngroup = \"1001\"\n"), Ok(Some(1001)));
    assert_eq!(gid("[control]\ngroup = 0\n"), Ok(Some(0)));
    let errors = gid("[control]\ngroup = \"plumbops\"\n").expect_err("unknown group");
    assert_problem(
        &errors.problems[0],
        "control.group",
        "no group `plumbops` in /etc/group",
    );
}

#[test]
fn a_bad_socket_address_shows_the_expected_form() {
    let text = WEBHOOKS.replace("127.0.0.1:8080", "localhost:8080");
    assert_single_problem(&text, "webhooks.listen", "like \"127.0.0.1:8080\"");
}

#[test]
fn a_bad_duration_shows_examples() {
    assert_single_problem(
        "[agent]\nshutdown_grace = \"30 seconds\"\n",
        "agent.shutdown_grace",
        "expected a duration like \"30s\" or \"5m\"",
    );
    assert_single_problem(
        "[queue]\nlease = 60\n",
        "queue.lease",
        "durations need a unit, e.g. \"30s\"",
    );
    assert_single_problem(
        "[queue]\nlease = \"250ms\"\n",
        "queue.lease",
        "must be at least \"1s\"",
    );
}

#[test]
fn a_bad_size_shows_examples() {
    let text = format!("{WEBHOOKS}max_body = \"10 megabytes\"\n");
    assert_single_problem(&text, "webhooks.max_body", "expected a size like \"10MB\"");
}

#[test]
fn max_body_below_one_megabyte_explains_why() {
    let text = format!("{WEBHOOKS}max_body = \"512KiB\"\n");
    let problem = assert_single_problem(&text, "webhooks.max_body", "at least \"1MB\"");
    assert!(
        problem
            .message
            .contains("fails its signature on every retry"),
        "{problem}"
    );
}

#[test]
fn dedup_ttl_below_seven_days_explains_why() {
    let text = format!("{WEBHOOKS}dedup_ttl = \"1d\"\n");
    let problem = assert_single_problem(&text, "webhooks.dedup_ttl", "at least \"7d\"");
    assert!(problem.message.contains("4 hours"), "{problem}");
}

#[test]
fn backoff_cap_below_base_names_both_keys() {
    let problem = assert_single_problem(
        "[queue]\nbackoff_base = \"5m\"\nbackoff_cap = \"1m\"\n",
        "queue.backoff_cap",
        "queue.backoff_base",
    );
    assert!(problem.message.contains("queue.backoff_cap"), "{problem}");
}

#[test]
fn a_location_mapped_twice_names_both_entries() {
    let text = r#"
[[locations]]
erp_warehouse = "WH-1"
shopify_location = 1
[[locations]]
erp_warehouse = "WH-2"
shopify_location = 2
[[locations]]
erp_warehouse = "WH-1"
shopify_location = "gid://shopify/Location/2"
"#;
    let problems = problems(text);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_problem(
        &problems[0],
        "locations[2].erp_warehouse",
        "locations[0] and locations[2]",
    );
    assert_problem(
        &problems[1],
        "locations[2].shopify_location",
        "locations[1] and locations[2]",
    );
}

#[test]
fn a_bundle_inside_a_bundle_is_a_problem() {
    let text = r#"
[[inventory.bundles]]
sku = "GIFT-SET"
components = [{ sku = "MUG-1", quantity = 2 }]
[[inventory.bundles]]
sku = "BIG-SET"
components = [{ sku = "GIFT-SET", quantity = 1 }, { sku = "GLASS-1", quantity = 4 }]
"#;
    assert_single_problem(
        text,
        "inventory.bundles[1].components",
        "component \"GIFT-SET\" of bundle \"BIG-SET\" is itself a bundle",
    );
}

#[test]
fn a_bad_location_id_shows_both_forms() {
    let text = "[[locations]]\nerp_warehouse = \"WH-1\"\nshopify_location = \"Location/7\"\n";
    assert_single_problem(
        text,
        "locations[0].shopify_location",
        "\"gid://shopify/Location/12345678\"",
    );
}

#[test]
fn a_field_with_two_owners_is_a_problem() {
    let text = "[ownership]\nerp = [\"sku\", \"price\"]\nshopify = [\"title\", \"price\"]\n";
    assert_single_problem(
        text,
        "ownership.shopify[1]",
        "field `price` has two owners (ownership.erp and ownership.shopify): keep it in one list",
    );
}

#[test]
fn an_unknown_ownership_field_lists_the_known_ones() {
    let problem = assert_single_problem(
        "[ownership]\nerp = [\"prices\"]\n",
        "ownership.erp[0]",
        "unknown field `prices`",
    );
    assert!(
        problem.message.contains("sku, price, compare_at_price"),
        "{problem}"
    );
}

#[test]
fn an_unknown_flow_lists_the_known_flows() {
    let problem = assert_single_problem(
        "[flows.order]\nenabled = false\n",
        "flows.order",
        "unknown flow",
    );
    assert!(
        problem.message.contains("did you mean `flows.orders`?"),
        "{problem}"
    );
    let problem = assert_single_problem("[flows.shipping]\n", "flows.shipping", "unknown flow");
    assert!(problem.message.contains(&FlowKind::names()), "{problem}");
}

#[test]
fn a_secret_written_inline_is_refused_without_echoing_it() {
    let text = SHOPIFY.replace("{ env = \"SHOPIFY_TOKEN\" }", "\"shpat_0123456789abcdef\"");
    let errors = load(&text).expect_err("inline secret");
    assert_eq!(errors.problems.len(), 1, "{errors}");
    assert_problem(
        &errors.problems[0],
        "shopify.access_token",
        "secrets must not be written in the config",
    );
    assert!(
        errors.problems[0]
            .message
            .contains(r#"{ env = "NAME" } or { file = "/path" }"#),
        "{errors}"
    );
    let shown = format!("{errors} {errors:?}");
    assert!(
        !shown.contains("shpat_0123456789abcdef"),
        "the secret leaked: {shown}"
    );
}

#[test]
fn a_malformed_secret_reference_shows_both_forms() {
    let text = SHOPIFY.replace("{ env = \"SHOPIFY_TOKEN\" }", "{ value = \"x\" }");
    assert_single_problem(
        &text,
        "shopify.access_token",
        r#"{ env = "NAME" } or { file = "/path" }"#,
    );
}

#[test]
fn a_missing_secret_names_the_variable_or_file() {
    let errors = Config::from_toml_str(&format!("{WEBHOOKS}{ERP}"), &FakeSecrets::default())
        .expect_err("no secrets");
    assert_eq!(errors.problems.len(), 2, "{errors}");
    assert_problem(
        &errors.problems[0],
        "webhooks.secrets[0]",
        "environment variable `WEBHOOK_SECRET` is not set",
    );
    assert_problem(
        &errors.problems[1],
        "erp.password",
        "cannot read the secret file `/etc/plumb/erp-password`",
    );
}

#[test]
fn an_empty_secret_is_a_problem() {
    let source = secrets().with_env("WEBHOOK_SECRET", "");
    let errors = Config::from_toml_str(WEBHOOKS, &source).expect_err("empty secret");
    assert_problem(
        &errors.problems[0],
        "webhooks.secrets[0]",
        "`WEBHOOK_SECRET` is empty",
    );
}

#[test]
fn webhooks_need_at_least_one_secret() {
    assert_single_problem(
        "[webhooks]\nlisten = \"127.0.0.1:8080\"\nsecrets = []\n",
        "webhooks.secrets",
        "empty",
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = r#"
[agent]
workers = 100
shutdown_grace = 30
[webhooks]
listen = "127.0.0.1:8080"
secrets = [{ env = "UNSET" }]
max_body = 1000
[shopify]
api_version = "2026-03"
access_token = { env = "SHOPIFY_TOKEN" }
[erp]
kind = "odoo"
[queue]
leas = "60s"
[flows.orders]
concurrency = 0
[ownership]
erp = ["colour"]
[metrics]
"#;
    let errors = load(text).expect_err("many problems");
    let keys: Vec<&str> = errors
        .problems
        .iter()
        .map(|problem| problem.key.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "agent.workers",
            "agent.shutdown_grace",
            "webhooks.max_body",
            "webhooks.secrets[0]",
            "shopify.shop",
            "shopify.api_version",
            "erp.kind",
            "erp.url",
            "erp.database",
            "erp.user",
            "erp.password",
            "queue.leas",
            "flows.orders.concurrency",
            "ownership.erp[0]",
            "metrics",
        ]
    );
    let shown = errors.to_string();
    assert!(
        shown.starts_with("15 problems in the configuration:\n"),
        "{shown}"
    );
    assert_eq!(shown.lines().count(), 16, "one line per problem: {shown}");
    assert!(
        shown.contains("\n  `queue.leas`: unknown key: did you mean `queue.lease`?"),
        "{shown}"
    );
}

#[test]
fn a_toml_syntax_error_is_one_problem_with_its_position() {
    let errors = load("[agent]\nworkers = 4\nlog_level = \"info\n").expect_err("syntax");
    assert_eq!(errors.problems.len(), 1, "{errors}");
    assert_eq!(errors.problems[0].key, "");
    assert!(
        errors.problems[0]
            .message
            .starts_with("invalid TOML at line 3, column"),
        "{errors}"
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let config = load(&format!("{WEBHOOKS}{SHOPIFY}{ERP}")).expect("valid");
    let shown = format!("{config:?}");
    assert!(shown.contains("Secret(***)"), "{shown}");
    for value in ["whsec-value", "shpat-value", "erp-password-value"] {
        assert!(!shown.contains(value), "{value} leaked: {shown}");
    }
    assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    assert_eq!(Secret::new("hunter2").to_string(), "Secret(***)");
}

#[test]
fn load_reads_a_file_and_names_it_in_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plumb.toml");
    std::fs::write(
        &path,
        "[agent]\nworkers = 2\nlog_dir = \"/var/log/plumb\"\n",
    )
    .expect("write");
    let config = Config::load(&path).expect("valid file");
    assert_eq!(config.agent.workers, 2);
    assert_eq!(
        config.agent.log_dir.as_deref(),
        Some(Path::new("/var/log/plumb"))
    );

    std::fs::write(&path, "[agent]\nworkers = 0\n").expect("write");
    let errors = Config::load(&path).expect_err("invalid file");
    assert_eq!(errors.path.as_deref(), Some(path.as_path()));
    assert!(
        errors
            .to_string()
            .starts_with(&format!("1 problem in {}:", path.display())),
        "{errors}"
    );

    let missing = dir.path().join("absent.toml");
    let errors = Config::load(&missing).expect_err("no file");
    assert_eq!(errors.problems.len(), 1);
    assert_eq!(errors.problems[0].key, "");
    assert!(
        errors.problems[0]
            .message
            .contains(&missing.display().to_string()),
        "{errors}"
    );
    assert!(errors.problems[0].message.contains("os error"), "{errors}");
}
