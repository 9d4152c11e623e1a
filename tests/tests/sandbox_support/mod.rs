//! What the sandbox's GraphQL tests share: sending a document and reading its answer,
//! raw requests with the shop's token, and the figures of a level.

// Test support: a panic here is the failure report.
#![allow(dead_code, clippy::unwrap_used)]

use plumb_tests::sandbox::client::SandboxClient;
use plumb_tests::sandbox::state::QuantityName;
use plumb_tests::sandbox::{ApiVersion, Sandbox};
use serde_json::{Value, json};

/// The body `client` gets for `query` with `variables` (2026-07).
pub async fn answer(client: &SandboxClient, query: &str, variables: Value) -> Value {
    client.graphql(query, variables).await.unwrap().1
}

/// Fails unless the mutation `field` answered without user errors.
pub fn assert_no_user_errors(body: &Value, field: &str) {
    assert_eq!(body["data"][field]["userErrors"], json!([]), "{body}");
}

/// The first user error of the mutation `field`.
pub fn user_error<'b>(body: &'b Value, field: &str) -> &'b Value {
    &body["data"][field]["userErrors"][0]
}

/// A document refused before it ran (status 200, no data): its first error.
pub fn refused(status: u16, body: &Value) -> &Value {
    assert_eq!(status, 200);
    assert!(body.get("data").is_none(), "{body}");
    &body["errors"][0]
}

/// A POST to `version`'s GraphQL URL through `http`, with the sandbox's token.
pub fn post(
    http: &reqwest::Client,
    sandbox: &Sandbox,
    version: ApiVersion,
) -> reqwest::RequestBuilder {
    let client = SandboxClient::new(&sandbox.url(), sandbox.access_token());
    http.post(client.url(version))
        .header("X-Shopify-Access-Token", sandbox.access_token())
}

/// `available` of the level at (item, location), which must exist.
pub fn available(sandbox: &Sandbox, item: u64, location: u64) -> i64 {
    sandbox.admin().level(item, location).unwrap().available
}

/// (available, committed, on hand) of the level at (item, location), which must exist.
pub fn figures(sandbox: &Sandbox, item: u64, location: u64) -> (i64, i64, i64) {
    let level = sandbox.admin().level(item, location).unwrap();
    (
        level.available,
        level.committed,
        level.get(QuantityName::OnHand),
    )
}

/// The status and body `client` gets for `query` with `variables` (2026-07).
pub async fn exchange(client: &SandboxClient, query: &str, variables: Value) -> (u16, Value) {
    client.graphql(query, variables).await.unwrap()
}

/// Fails unless the first error's message mentions `text`.
pub fn assert_error_mentions(body: &Value, text: &str) {
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(text), "{body}");
}
