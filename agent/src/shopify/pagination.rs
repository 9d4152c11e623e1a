//! Cursor pagination, shared by every connection the client pages through.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::client::ShopifyClient;
use super::documents::Operation;
use super::error::ShopifyError;

/// `pageInfo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    /// Whether another page follows.
    pub has_next_page: bool,
    /// The cursor to ask for it with.
    #[serde(default)]
    pub end_cursor: Option<String>,
}

impl PageInfo {
    /// The cursor of the next page, if there is one. A page that claims a successor
    /// without a cursor ends the walk rather than looping on the first page.
    pub fn next(&self) -> Option<String> {
        if self.has_next_page {
            self.end_cursor.clone()
        } else {
            None
        }
    }
}

/// `{ nodes, pageInfo }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection<T> {
    /// This page's nodes.
    pub nodes: Vec<T>,
    /// Where the next page starts.
    pub page_info: PageInfo,
}

/// Objects per page: Shopify's maximum.
pub const PAGE_SIZE: u32 = 250;

#[derive(Debug, Deserialize)]
struct Nodes<T> {
    nodes: Vec<T>,
}

/// Serde: a connection read as its nodes only (the pages beyond are not asked for, or
/// read separately).
pub fn de_nodes<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Nodes::<T>::deserialize(deserializer)?.nodes)
}

impl ShopifyClient {
    /// One object read whole, with every page of one nested connection. `operation` takes
    /// the object's `id` and the connection's `linesAfter` cursor, and answers the object
    /// under `root` (null when Shopify does not know it: `None`) with the connection under
    /// `connection` (its field name). Each further page is read again with the next
    /// cursor and added to the first by `extend`.
    pub(crate) async fn read_whole<T: DeserializeOwned>(
        &self,
        operation: &Operation,
        id: String,
        root: &str,
        connection: &str,
        extend: impl Fn(&mut T, T),
    ) -> Result<Option<T>, ShopifyError> {
        let shape = |e: serde_json::Error| ShopifyError::Shape(format!("{}: {e}", operation.name));
        let page_info = format!("/{connection}/pageInfo");
        let mut whole: Option<T> = None;
        let mut after: Option<String> = None;
        loop {
            let data = self
                .execute_raw(operation, json!({"id": id, "linesAfter": after}))
                .await?;
            let node = data.get(root).cloned().unwrap_or(Value::Null);
            if node.is_null() {
                return Ok(None);
            }
            let page: PageInfo = node
                .pointer(&page_info)
                .cloned()
                .map(serde_json::from_value)
                .transpose()
                .map_err(shape)?
                .unwrap_or_default();
            let read: T = serde_json::from_value(node).map_err(shape)?;
            match whole.as_mut() {
                None => whole = Some(read),
                Some(first) => extend(first, read),
            }
            match page.next() {
                Some(cursor) => after = Some(cursor),
                None => return Ok(whole),
            }
        }
    }
}
