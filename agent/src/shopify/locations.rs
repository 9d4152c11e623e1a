//! The shop's locations.

use serde::Deserialize;
use serde_json::json;

use super::client::ShopifyClient;
use super::documents::LOCATIONS;
use super::error::ShopifyError;
use super::ids::{de_gid, de_u64_string};
use super::pagination::{Connection, PAGE_SIZE};

/// A Shopify location.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// The numeric id (from the GID).
    #[serde(rename = "id", deserialize_with = "de_gid")]
    pub id: u64,
    /// The id webhooks and the REST-era tools show; equal to `id` today, read separately
    /// so a divergence shows instead of hiding.
    #[serde(deserialize_with = "de_u64_string")]
    pub legacy_resource_id: u64,
    /// The merchant's name for it.
    pub name: String,
    /// Whether it stocks inventory and fulfils orders now.
    pub is_active: bool,
}

#[derive(Debug, Deserialize)]
struct LocationsData {
    locations: Connection<Location>,
}

impl ShopifyClient {
    /// Every location, active or not, walking all pages.
    pub async fn locations(&self) -> Result<Vec<Location>, ShopifyError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let data: LocationsData = self
                .execute(&LOCATIONS, json!({"first": PAGE_SIZE, "after": after}))
                .await?;
            all.extend(data.locations.nodes);
            match data.locations.page_info.next() {
                Some(cursor) => after = Some(cursor),
                None => return Ok(all),
            }
        }
    }
}
