//! Cursor pagination, shared by every connection the client pages through.

use serde::Deserialize;

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
