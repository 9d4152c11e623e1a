//! The agent's configuration: one TOML file (`/etc/plumb/plumb.toml`, see
//! `packaging/plumb.toml` for every key with its default and why).
//!
//! Loading validates everything and reports every problem at once, each with its dotted key
//! and how to fix it, so an operator fixes a file in one round instead of one error per
//! restart. That is why the file is first parsed into a plain [`toml::Table`] and then walked
//! by a small reader (`reader.rs`) that takes the known keys out and reports the rest as unknown
//! (with a "did you mean"), rather than deserialized with serde, which stops at the first
//! error. Secrets are references resolved through a [`SecretSource`] at load time.

mod alerts;
mod flows;
mod fulfilment;
mod inventory;
mod local;
mod locations;
mod orders;
mod ownership;
mod products;
mod reader;
mod reconcile;
mod remote;
mod secret;
mod values;

use std::fmt;
use std::path::{Path, PathBuf};

pub use alerts::{
    AlertsConfig, DEFAULT_TOPICS, DeadLetterRule, NoOrdersRule, TradingHours,
    WebhookSubscriptionsRule,
};
pub use flows::{FlowConfig, FlowsConfig};
pub use fulfilment::{FulfilmentConfig, LocationMismatch};
pub use inventory::{
    BufferAmount, BufferRule, BundleComponent, BundleDefinition, DriftAction, InventoryConfig,
    Sellable, glob_matches,
};
pub use local::{AgentConfig, ControlConfig, QueueConfig};
pub use locations::LocationMapping;
pub use orders::OrdersConfig;
pub use ownership::{Field, Owner, OwnershipMatrix};
pub use products::{OnConflict, ProductsConfig};
pub use reconcile::ReconcileConfig;
pub use remote::{ErpConfig, ErpKind, ShopifyConfig, WebhookConfig};
pub use secret::{Secret, SecretSource, SystemSecrets};

use reader::Reader;

/// The whole configuration, validated, with its secrets resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `[agent]`.
    pub agent: AgentConfig,
    /// `[control]`.
    pub control: ControlConfig,
    /// `[webhooks]`; `None`: the webhook receiver is off.
    pub webhooks: Option<WebhookConfig>,
    /// `[shopify]`; `None`: nothing calls Shopify.
    pub shopify: Option<ShopifyConfig>,
    /// `[erp]`; `None`: nothing calls the ERP.
    pub erp: Option<ErpConfig>,
    /// `[queue]`.
    pub queue: QueueConfig,
    /// `[flows.<name>]`.
    pub flows: FlowsConfig,
    /// `[[locations]]`.
    pub locations: Vec<LocationMapping>,
    /// `[ownership]`.
    pub ownership: OwnershipMatrix,
    /// `[inventory]`.
    pub inventory: InventoryConfig,
    /// `[orders]`.
    pub orders: OrdersConfig,
    /// `[fulfilment]`.
    pub fulfilment: FulfilmentConfig,
    /// `[products]`.
    pub products: ProductsConfig,
    /// `[alerts]`; `None`: no alerts are evaluated or sent.
    pub alerts: Option<AlertsConfig>,
    /// `[reconcile]`.
    pub reconcile: ReconcileConfig,
}

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The dotted key (`webhooks.max_body`, `locations[2].erp_warehouse`); empty when the
    /// problem is the file as a whole (unreadable, not TOML).
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConfigProblem {
    fn whole_file(message: String) -> Self {
        ConfigProblem {
            key: String::new(),
            message,
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.key, self.message)
        }
    }
}

/// Everything wrong with a configuration (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The file, when loaded from one.
    pub path: Option<PathBuf>,
    /// The problems, in the order of the file's sections.
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        let noun = if count == 1 { "problem" } else { "problems" };
        match &self.path {
            Some(path) => write!(f, "{count} {noun} in {}:", path.display())?,
            None => write!(f, "{count} {noun} in the configuration:")?,
        }
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    /// Reads, validates and resolves the file at `path` against the real environment.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let in_file = |problems| ConfigErrors {
            path: Some(path.to_owned()),
            problems,
        };
        let text = std::fs::read_to_string(path).map_err(|error| {
            in_file(vec![ConfigProblem::whole_file(format!(
                "cannot read {}: {error}: check the path, and that the agent's user may read \
                 the file",
                path.display()
            ))])
        })?;
        Config::from_toml_str(&text, &SystemSecrets).map_err(|errors| in_file(errors.problems))
    }

    /// Validates a configuration text, resolving secrets through `secrets`.
    pub fn from_toml_str(text: &str, secrets: &dyn SecretSource) -> Result<Config, ConfigErrors> {
        let errors = |problems| ConfigErrors {
            path: None,
            problems,
        };
        let table = text
            .parse::<toml::Table>()
            .map_err(|error| errors(vec![syntax_problem(text, &error)]))?;
        let mut problems = Vec::new();
        let config = Config::read(Reader::document(table, &mut problems), secrets);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(errors(problems))
        }
    }

    /// Reads every section, defaults for the absent ones. The result is only meaningful when
    /// no problem was reported.
    fn read(mut document: Reader<'_>, source: &dyn SecretSource) -> Config {
        let agent = document
            .table("agent")
            .map(AgentConfig::read)
            .unwrap_or_default();
        let control = document
            .table("control")
            .map(|r| ControlConfig::read(r, source))
            .unwrap_or_default();
        let webhooks = document
            .table("webhooks")
            .and_then(|r| WebhookConfig::read(r, source));
        let shopify = document
            .table("shopify")
            .and_then(|r| ShopifyConfig::read(r, source));
        let erp = document
            .table("erp")
            .and_then(|r| ErpConfig::read(r, source));
        let queue = document
            .table("queue")
            .map(QueueConfig::read)
            .unwrap_or_default();
        let flows = document
            .table("flows")
            .map(FlowsConfig::read)
            .unwrap_or_default();
        let locations = locations::read(&mut document);
        let ownership = document
            .table("ownership")
            .map(OwnershipMatrix::read)
            .unwrap_or_default();
        let inventory = document
            .table("inventory")
            .map(InventoryConfig::read)
            .unwrap_or_default();
        let orders = document
            .table("orders")
            .map(OrdersConfig::read)
            .unwrap_or_default();
        let fulfilment = document
            .table("fulfilment")
            .map(FulfilmentConfig::read)
            .unwrap_or_default();
        let products = document
            .table("products")
            .map(ProductsConfig::read)
            .unwrap_or_default();
        let alerts = document
            .table("alerts")
            .and_then(|r| AlertsConfig::read(r, source));
        let reconcile = document
            .table("reconcile")
            .map(ReconcileConfig::read)
            .unwrap_or_default();
        document.finish();
        Config {
            agent,
            control,
            webhooks,
            shopify,
            erp,
            queue,
            flows,
            locations,
            ownership,
            inventory,
            orders,
            fulfilment,
            products,
            alerts,
            reconcile,
        }
    }
}

/// A TOML syntax error as one problem, with the line and column it starts at.
fn syntax_problem(text: &str, error: &toml::de::Error) -> ConfigProblem {
    let message = error.message().trim().replace('\n', "; ");
    let Some(span) = error.span() else {
        return ConfigProblem::whole_file(format!("invalid TOML: {message}: fix the syntax"));
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |current| current.chars().count())
        + 1;
    ConfigProblem::whole_file(format!(
        "invalid TOML at line {line}, column {column}: {message}: fix the syntax there"
    ))
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    /// Answers every variable with the same value.
    struct Fixed(&'static str);

    impl SecretSource for Fixed {
        fn env(&self, _name: &str) -> Option<String> {
            Some(self.0.to_owned())
        }

        fn read_file(&self, _path: &Path) -> io::Result<String> {
            Ok(self.0.to_owned())
        }
    }

    /// Answers every variable and file, like a fully provisioned host.
    struct Provisioned;

    impl SecretSource for Provisioned {
        fn env(&self, name: &str) -> Option<String> {
            if name.ends_with("_URL") {
                Some(format!("https://hooks.example.com/value-of-{name}"))
            } else {
                Some(format!("value-of-{name}"))
            }
        }

        fn read_file(&self, path: &Path) -> io::Result<String> {
            if path == Path::new("/etc/group") {
                Ok("plumb:x:990:\n".to_owned())
            } else {
                Ok(format!("contents-of-{}\n", path.display()))
            }
        }
    }

    /// The shipped example must always load: it documents the loader.
    #[test]
    fn the_packaged_example_is_valid() {
        let example = include_str!("../../../packaging/plumb.toml");
        let config = match Config::from_toml_str(example, &Provisioned) {
            Ok(config) => config,
            Err(errors) => panic!("packaging/plumb.toml is out of date: {errors}"),
        };
        assert!(config.webhooks.is_some() && config.shopify.is_some() && config.erp.is_some());
        assert!(!config.locations.is_empty());
        assert!(!config.inventory.buffers.is_empty() && !config.inventory.bundles.is_empty());
        let alerts = config.alerts.expect("[alerts] documented");
        assert!(alerts.no_orders.is_some() && alerts.webhook_subscriptions.is_some());
    }

    #[test]
    fn alerts_need_an_endpoint_url_and_name_their_mistakes() {
        let config = Config::from_toml_str(
            "[alerts]\nendpoint = { env = \"HOOK\" }\n[alerts.parity]\nenabled = false\n",
            &Fixed("https://hooks.example.com/T/B/x"),
        )
        .expect("valid");
        let alerts = config.alerts.expect("alerts");
        assert!(alerts.queue_age.is_some() && alerts.parity.is_none());
        assert!(alerts.no_orders.is_none() && alerts.webhook_subscriptions.is_none());

        let text = r#"
[alerts]
endpoint = { env = "HOOK" }
check_interval = "1ms"
[alerts.queue_age]
older_than = "0s"
[alerts.no_orders]
trading_hours = "9-17"
[alerts.webhook_subscriptions]
topics = ["ORDERS_CREATE"]
"#;
        let errors = Config::from_toml_str(text, &Fixed("not a url")).expect_err("invalid");
        let keys: Vec<&str> = errors.problems.iter().map(|p| p.key.as_str()).collect();
        for key in [
            "alerts.endpoint",
            "alerts.check_interval",
            "alerts.queue_age.older_than",
            "alerts.no_orders.trading_hours",
            "alerts.no_orders.utc_offset",
            "alerts.webhook_subscriptions.uri",
            "alerts.webhook_subscriptions.topics[0]",
        ] {
            assert!(keys.contains(&key), "{key}: {errors}");
        }
        // The endpoint is a secret: no message repeats it.
        assert!(!errors.to_string().contains("not a url"), "{errors}");
        let written = Config::from_toml_str(
            "[alerts]\nendpoint = \"https://hooks.example.com/x\"\n",
            &Fixed("unused"),
        )
        .expect_err("inline secret");
        assert!(
            written
                .to_string()
                .contains("must not be written in the config"),
            "{written}"
        );
    }

    #[test]
    fn inventory_mistakes_name_the_key_and_the_fix() {
        let text = r#"
[inventory]
sellable = "forecast"
[[inventory.buffers]]
units = 2
percent = 10
[[inventory.bundles]]
sku = "SET"
components = [{ sku = "SET", quantity = 1 }, { sku = "MUG", quantity = 0 }]
"#;
        let errors = Config::from_toml_str(text, &Provisioned).expect_err("invalid");
        let keys: Vec<&str> = errors.problems.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"inventory.sellable"), "{errors}");
        assert!(keys.contains(&"inventory.buffers[0].units"), "{errors}");
        assert!(
            keys.contains(&"inventory.bundles[0].components[1]"),
            "{errors}"
        );
        assert!(
            keys.contains(&"inventory.bundles[0].components"),
            "{errors}"
        );
        assert!(
            errors.to_string().contains("on_hand_minus_reserved"),
            "{errors}"
        );
    }

    #[test]
    fn fulfilment_keys_default_and_name_their_mistakes() {
        let config = Config::from_toml_str("", &Provisioned).expect("empty is valid");
        assert_eq!(config.fulfilment, FulfilmentConfig::default());
        assert_eq!(
            config.fulfilment.on_location_mismatch,
            LocationMismatch::Report
        );
        let text = "[fulfilment]\npoll_interval = \"10ms\"\non_location_mismatch = \"ship\"\n";
        let errors = Config::from_toml_str(text, &Provisioned).expect_err("invalid");
        let keys: Vec<&str> = errors.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "fulfilment.poll_interval",
                "fulfilment.on_location_mismatch"
            ],
            "{errors}"
        );
        assert!(errors.to_string().contains(r#""move""#), "{errors}");
    }

    #[test]
    fn products_keys_default_and_name_their_mistakes() {
        let config = Config::from_toml_str("", &Provisioned).expect("empty is valid");
        assert_eq!(config.products, ProductsConfig::default());
        assert_eq!(config.products.on_conflict, OnConflict::Revert);
        let text = "[products]\npoll_interval = \"1ms\"\non_conflict = \"ignore\"\n";
        let errors = Config::from_toml_str(text, &Provisioned).expect_err("invalid");
        let keys: Vec<&str> = errors.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["products.poll_interval", "products.on_conflict"],
            "{errors}"
        );
        assert!(errors.to_string().contains(r#""report""#), "{errors}");
    }

    #[test]
    fn reconcile_keys_default_and_name_their_mistakes() {
        let config = Config::from_toml_str("", &Provisioned).expect("empty is valid");
        assert_eq!(config.reconcile, ReconcileConfig::default());
        assert_eq!(
            config.reconcile.light_interval,
            std::time::Duration::from_secs(3600)
        );
        assert!(!config.reconcile.auto_repair);
        let text = "[reconcile]\nlight_interval = \"2h\"\nfull_interval = \"1h\"\n\
                    keep_runs = 0\nbulk_poll_interval = \"1ms\"\nauto_repair = \"yes\"\n\
                    orders_window = \"10s\"\n";
        let errors = Config::from_toml_str(text, &Provisioned).expect_err("invalid");
        let keys: Vec<&str> = errors.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "reconcile.auto_repair",
                "reconcile.keep_runs",
                "reconcile.bulk_poll_interval",
                "reconcile.orders_window",
                "reconcile.full_interval",
            ],
            "{errors}"
        );
        assert!(
            errors.to_string().contains("raise full_interval"),
            "{errors}"
        );
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let errors =
            Config::from_toml_str("[agent]\nworkers = = 4\n", &Provisioned).expect_err("bad TOML");
        assert_eq!(errors.problems.len(), 1);
        assert!(
            errors.problems[0]
                .message
                .starts_with("invalid TOML at line 2, column"),
            "{errors}"
        );
    }
}
