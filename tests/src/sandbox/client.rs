//! A minimal GraphQL client for the sandbox, for tests, benchmarks and the demo: it sends
//! what a Shopify client sends and hands back the status and the JSON, nothing more (the
//! agent's real client lives in the agent).

use serde_json::{Value, json};

use super::schema::ApiVersion;

/// Talks to one sandbox.
#[derive(Debug, Clone)]
pub struct SandboxClient {
    http: reqwest::Client,
    base_url: String,
    token: String,
}

impl SandboxClient {
    /// A client for the sandbox at `base_url` using `token`.
    pub fn new(base_url: &str, token: &str) -> SandboxClient {
        SandboxClient {
            http: reqwest::Client::new(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    /// The HTTP client (to send raw requests).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The GraphQL URL of `version`.
    pub fn url(&self, version: ApiVersion) -> String {
        format!(
            "{}/admin/api/{}/graphql.json",
            self.base_url,
            version.as_str()
        )
    }

    /// Sends `query` with `variables` to 2026-07.
    pub async fn graphql(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<(u16, Value), reqwest::Error> {
        self.graphql_version(ApiVersion::V2026_07, query, variables)
            .await
    }

    /// Sends `query` with `variables` to `version`.
    pub async fn graphql_version(
        &self,
        version: ApiVersion,
        query: &str,
        variables: Value,
    ) -> Result<(u16, Value), reqwest::Error> {
        let response = self
            .http
            .post(self.url(version))
            .header("X-Shopify-Access-Token", &self.token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }
}
