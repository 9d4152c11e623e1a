//! The app's webhook subscriptions: check that every topic Plumb needs is delivered to its
//! receiver, and subscribe the missing ones.
//!
//! Shopify deletes a subscription made through the API after its deliveries keep failing
//! for 4 hours, silently: running [`ShopifyClient::ensure_webhooks`] at start and on a
//! schedule is how Plumb notices and repairs that.

use serde::Deserialize;
use serde_json::json;

use super::client::ShopifyClient;
use super::documents::{WEBHOOK_SUBSCRIPTION_CREATE, WEBHOOK_SUBSCRIPTIONS};
use super::error::ShopifyError;
use super::ids::de_gid;
use super::pagination::{Connection, PAGE_SIZE};
use super::response::{UserError, reject_user_errors};

/// A subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSubscription {
    /// The subscription.
    pub id: u64,
    /// The topic, as the GraphQL enum spells it (`ORDERS_CREATE`).
    pub topic: String,
    /// Where deliveries go.
    pub uri: String,
    /// JSON or XML.
    pub format: String,
    /// Shopify's filter, if any.
    pub filter: Option<String>,
    /// The API version of the payloads.
    pub api_version: String,
}

/// What [`ShopifyClient::ensure_webhooks`] found and did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebhookCheck {
    /// Topics already delivered to our URI.
    pub present: Vec<String>,
    /// Topics subscribed now.
    pub created: Vec<String>,
    /// Topics missing and left missing (a check without repair).
    pub missing: Vec<String>,
    /// Subscriptions of needed topics that point elsewhere (an old URI): reported, not
    /// deleted, since a person may have made them on purpose.
    pub elsewhere: Vec<WebhookSubscription>,
    /// Subscriptions delivering payloads of another API version than ours.
    pub other_version: Vec<WebhookSubscription>,
}

impl WebhookCheck {
    /// Whether every needed topic reaches us.
    pub fn complete(&self) -> bool {
        self.missing.is_empty()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListData {
    webhook_subscriptions: Connection<SubscriptionNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionNode {
    #[serde(deserialize_with = "de_gid")]
    id: u64,
    topic: String,
    uri: String,
    format: String,
    filter: Option<String>,
    api_version: ApiVersion,
}

#[derive(Debug, Deserialize)]
struct ApiVersion {
    handle: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateData {
    webhook_subscription_create: Option<CreatePayload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatePayload {
    #[serde(default)]
    user_errors: Vec<UserError>,
}

/// The GraphQL enum name of a REST-style topic: `orders/create` -> `ORDERS_CREATE`.
pub fn topic_enum(topic: &str) -> String {
    topic.replace('/', "_").to_ascii_uppercase()
}

impl ShopifyClient {
    /// Every subscription of the app.
    pub async fn webhook_subscriptions(&self) -> Result<Vec<WebhookSubscription>, ShopifyError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let data: ListData = self
                .execute(
                    &WEBHOOK_SUBSCRIPTIONS,
                    json!({"first": PAGE_SIZE, "after": after}),
                )
                .await?;
            all.extend(
                data.webhook_subscriptions
                    .nodes
                    .into_iter()
                    .map(|n| WebhookSubscription {
                        id: n.id,
                        topic: n.topic,
                        uri: n.uri,
                        format: n.format,
                        filter: n.filter,
                        api_version: n.api_version.handle,
                    }),
            );
            match data.webhook_subscriptions.page_info.next() {
                Some(cursor) => after = Some(cursor),
                None => return Ok(all),
            }
        }
    }

    /// Checks that each of `topics` (`orders/create` or `ORDERS_CREATE`) is delivered to
    /// `uri`, and with `repair` subscribes those that are not.
    pub async fn ensure_webhooks(
        &self,
        topics: &[&str],
        uri: &str,
        repair: bool,
    ) -> Result<WebhookCheck, ShopifyError> {
        let existing = self.webhook_subscriptions().await?;
        let version = &self.config().api_version;
        let mut check = WebhookCheck::default();
        for topic in topics.iter().map(|t| topic_enum(t)) {
            let ours: Vec<&WebhookSubscription> = existing
                .iter()
                .filter(|s| s.topic == topic && s.uri == uri)
                .collect();
            check.elsewhere.extend(
                existing
                    .iter()
                    .filter(|s| s.topic == topic && s.uri != uri)
                    .cloned(),
            );
            check.other_version.extend(
                ours.iter()
                    .filter(|s| s.api_version != *version)
                    .map(|s| (*s).clone()),
            );
            if !ours.is_empty() {
                check.present.push(topic);
            } else if repair {
                let data: CreateData = self
                    .execute(
                        &WEBHOOK_SUBSCRIPTION_CREATE,
                        json!({"topic": topic, "webhookSubscription": {"uri": uri, "format": "JSON"}}),
                    )
                    .await?;
                let payload = data.webhook_subscription_create.ok_or_else(|| {
                    ShopifyError::Shape("webhookSubscriptionCreate returned null".to_owned())
                })?;
                reject_user_errors(payload.user_errors)?;
                tracing::info!(%topic, %uri, "subscribed to a missing webhook topic");
                check.created.push(topic);
            } else {
                check.missing.push(topic);
            }
        }
        if !check.elsewhere.is_empty() {
            tracing::warn!(
                count = check.elsewhere.len(),
                "webhook subscriptions of needed topics point at another address"
            );
        }
        Ok(check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_map_to_the_graphql_enum() {
        assert_eq!(topic_enum("orders/create"), "ORDERS_CREATE");
        assert_eq!(
            topic_enum("inventory_levels/update"),
            "INVENTORY_LEVELS_UPDATE"
        );
        assert_eq!(
            topic_enum("BULK_OPERATIONS_FINISH"),
            "BULK_OPERATIONS_FINISH"
        );
    }
}
