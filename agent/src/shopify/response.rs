//! Reading one HTTP answer of the Admin API: the envelope (`data`, `errors`,
//! `extensions.cost`) and the classification of everything that is not a success.
//!
//! This is the one place that decides what a status code or an error code means; the
//! transport only acts on the result.

use serde::Deserialize;
use serde_json::Value;

use super::error::{ShopifyError, excerpt};

/// The cost bucket as Shopify reported it (`extensions.cost.throttleStatus`). Shopify sends
/// these as floats or integers; both read as `f64`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    /// The bucket's size.
    pub maximum_available: f64,
    /// Points in the bucket after this call.
    pub currently_available: f64,
    /// Points restored per second.
    pub restore_rate: f64,
}

/// `extensions.cost`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    /// Points the bucket had to hold before Shopify ran the call.
    pub requested_query_cost: Option<f64>,
    /// Points the call really took (null when it did not run: throttled).
    pub actual_query_cost: Option<f64>,
    /// The bucket after the call.
    pub throttle_status: Option<ThrottleStatus>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    errors: Option<Value>,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Debug, Deserialize)]
struct Extensions {
    #[serde(default)]
    cost: Option<Cost>,
}

/// What one HTTP exchange came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `data` without top-level errors.
    Data {
        /// The `data` object.
        data: Value,
        /// The cost report, when present.
        cost: Option<Cost>,
    },
    /// THROTTLED: the call did not run; wait for the bucket and send it again.
    Throttled {
        /// The cost report (its `requestedQueryCost` says how much to wait for).
        cost: Option<Cost>,
    },
    /// Anything else.
    Failed {
        /// What went wrong.
        error: ShopifyError,
        /// The cost report, when the body had one (a refused query still costs).
        cost: Option<Cost>,
    },
}

/// Classifies an HTTP answer by its status and body.
pub fn classify(status: u16, body: &[u8]) -> Answer {
    let envelope: Option<Envelope> = serde_json::from_slice(body).ok();
    let cost = envelope
        .as_ref()
        .and_then(|e| e.extensions.as_ref())
        .and_then(|e| e.cost);
    let message = || {
        envelope
            .as_ref()
            .and_then(|e| e.errors.as_ref())
            .map_or_else(|| excerpt(body), error_messages)
    };
    let failed = |error| Answer::Failed { error, cost };
    match status {
        200..=299 => {}
        401 | 403 => {
            return failed(ShopifyError::Unauthorized {
                status,
                message: message(),
            });
        }
        429 => return failed(ShopifyError::RateLimited),
        503 => return failed(ShopifyError::Unavailable),
        408 => return failed(ShopifyError::Timeout),
        500..=599 => {
            return failed(ShopifyError::Server {
                status,
                message: message(),
            });
        }
        _ => {
            // Shopify answers some GraphQL refusals with 400 and a normal error list.
            if let Some(errors) = envelope.as_ref().and_then(|e| e.errors.as_ref()) {
                return graphql_errors(errors, cost, status);
            }
            return failed(ShopifyError::Status {
                status,
                message: message(),
            });
        }
    }
    let Some(envelope) = envelope else {
        return failed(ShopifyError::Shape(format!(
            "HTTP {status} with a body that is not a GraphQL response: {}",
            excerpt(body)
        )));
    };
    if let Some(errors) = &envelope.errors {
        return graphql_errors(errors, cost, status);
    }
    match envelope.data {
        Some(data) if !data.is_null() => Answer::Data { data, cost },
        _ => failed(ShopifyError::Shape(
            "a response with neither data nor errors".to_owned(),
        )),
    }
}

/// Top-level `errors`: THROTTLED is its own answer; the first error with a code that
/// decides the class wins (a throttled or denied call says so in every error).
fn graphql_errors(errors: &Value, cost: Option<Cost>, status: u16) -> Answer {
    let codes: Vec<&str> = match errors {
        Value::Array(list) => list
            .iter()
            .filter_map(|e| e.pointer("/extensions/code").and_then(Value::as_str))
            .collect(),
        _ => Vec::new(),
    };
    let message = error_messages(errors);
    let error = if codes.contains(&"THROTTLED") {
        return Answer::Throttled { cost };
    } else if codes.contains(&"ACCESS_DENIED") {
        ShopifyError::Unauthorized { status, message }
    } else if codes.contains(&"INTERNAL_SERVER_ERROR") {
        ShopifyError::Server { status, message }
    } else {
        ShopifyError::Query {
            code: codes.first().copied().unwrap_or("GRAPHQL").to_owned(),
            message,
        }
    };
    Answer::Failed { error, cost }
}

/// The messages of an `errors` value: a list of objects, or (401, 404) a bare string.
fn error_messages(errors: &Value) -> String {
    let text = match errors {
        Value::String(text) => text.clone(),
        Value::Array(list) => list
            .iter()
            .map(|e| match e.get("message").and_then(Value::as_str) {
                Some(message) => message.to_owned(),
                None => e.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    excerpt(text.as_bytes())
}

/// One `userErrors` entry, as every Admin API payload shapes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserError {
    /// The error code; some payload types have none.
    #[serde(default)]
    pub code: Option<String>,
    /// The input path Shopify blamed, e.g. `["input", "quantities", "3", "changeFromQuantity"]`.
    #[serde(default)]
    pub field: Option<Vec<String>>,
    /// Shopify's message.
    pub message: String,
}

impl UserError {
    /// The code, or `UNKNOWN`.
    pub fn code(&self) -> &str {
        self.code.as_deref().unwrap_or("UNKNOWN")
    }

    /// The error as a permanent failure.
    pub fn into_error(self) -> ShopifyError {
        ShopifyError::UserError {
            code: self.code().to_owned(),
            field: self.field.unwrap_or_default(),
            message: self.message,
        }
    }

    /// The row index the error blames, for an input list at `list` (`"quantities"`): the
    /// number that follows it in `field`.
    pub fn row(&self, list: &str) -> Option<usize> {
        let field = self.field.as_ref()?;
        let at = field.iter().position(|f| f == list)?;
        field.get(at + 1)?.parse().ok()
    }
}

/// Fails with the first user error, if any.
pub fn reject_user_errors(errors: Vec<UserError>) -> Result<(), ShopifyError> {
    match errors.into_iter().next() {
        Some(first) => Err(first.into_error()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use plumb_common::ErrorClass;

    use super::*;
    use crate::store::Failure;

    /// Shopify's THROTTLED answer, as recorded (FACTS).
    const THROTTLED: &str = r#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],"extensions":{"cost":{"requestedQueryCost":502,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":2000.0,"currentlyAvailable":2,"restoreRate":100.0}}}}"#;

    fn error_of(answer: Answer) -> ShopifyError {
        match answer {
            Answer::Failed { error, .. } => error,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn success_reads_data_and_cost_with_ints_or_floats() {
        let body = br#"{"data":{"shop":{"id":"gid://shopify/Shop/1"}},"extensions":{"cost":{"requestedQueryCost":13,"actualQueryCost":13,"throttleStatus":{"maximumAvailable":2000.0,"currentlyAvailable":1987,"restoreRate":100.0}}}}"#;
        let Answer::Data { data, cost } = classify(200, body) else {
            panic!("not data");
        };
        assert_eq!(data["shop"]["id"], "gid://shopify/Shop/1");
        let cost = cost.unwrap();
        assert_eq!(cost.requested_query_cost, Some(13.0));
        assert_eq!(
            cost.throttle_status,
            Some(ThrottleStatus {
                maximum_available: 2000.0,
                currently_available: 1987.0,
                restore_rate: 100.0
            })
        );
    }

    #[test]
    fn throttled_inside_a_200_is_its_own_answer() {
        let Answer::Throttled { cost } = classify(200, THROTTLED.as_bytes()) else {
            panic!("not throttled");
        };
        let cost = cost.unwrap();
        assert_eq!(cost.requested_query_cost, Some(502.0));
        assert_eq!(cost.actual_query_cost, None);
        assert_eq!(cost.throttle_status.unwrap().currently_available, 2.0);
    }

    #[test]
    fn busy_and_failing_servers_are_transient() {
        let cases: [(u16, &[u8], &str); 5] = [
            (429, br#"{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}"#, "shopify_rate_limited"),
            (503, b"<html><body>Service Unavailable</body></html>", "shopify_unavailable"),
            (500, br#"{"errors":"Internal Server Error"}"#, "shopify_server_error"),
            (502, b"<html>Bad Gateway</html>", "shopify_server_error"),
            (200, br#"{"errors":[{"message":"Internal error. Looks like something went wrong on our end.\nRequest ID: 1b355a21-7117-44c5-8d8b-8948082f40a8 (include this in support requests).","extensions":{"code":"INTERNAL_SERVER_ERROR","requestId":"1b355a21-7117-44c5-8d8b-8948082f40a8"}}]}"#, "shopify_server_error"),
        ];
        for (status, body, cause) in cases {
            let error = error_of(classify(status, body));
            assert_eq!(error.cause(), cause, "HTTP {status}");
            assert_eq!(error.class(), ErrorClass::Transient, "HTTP {status}");
        }
        assert_eq!(
            error_of(classify(429, b"")).retry(),
            super::super::error::Retry::Always
        );
        assert_eq!(
            error_of(classify(500, b"")).retry(),
            super::super::error::Retry::IfReplaySafe
        );
    }

    #[test]
    fn revoked_tokens_and_missing_scopes_are_permanent_alerts() {
        let cases: [(u16, &[u8]); 3] = [
            (401, br#"{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}"#),
            (403, br#"{"errors":"[API] This action requires merchant approval for write_inventory scope."}"#),
            (200, br#"{"errors":[{"message":"Access denied for inventorySetQuantities field. Required access: `write_inventory` access scope.","locations":[{"line":2,"column":3}],"extensions":{"code":"ACCESS_DENIED","documentation":"https://shopify.dev/api/usage/access-scopes","requiredAccess":"`write_inventory` access scope."}}],"extensions":{"cost":{"requestedQueryCost":10,"actualQueryCost":10,"throttleStatus":{"maximumAvailable":2000.0,"currentlyAvailable":1990,"restoreRate":100.0}}}}"#),
        ];
        for (status, body) in cases {
            let error = error_of(classify(status, body));
            assert!(error.is_alert(), "{status}: {error:?}");
            assert_eq!(error.cause(), "shopify_unauthorized");
            assert_eq!(error.class(), ErrorClass::Permanent);
            assert!(error.to_string().contains("token revoked or scope missing"));
        }
        let error = error_of(classify(401, br#"{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}"#));
        assert!(error.to_string().contains("Invalid API key"), "{error}");
    }

    #[test]
    fn refused_documents_are_permanent_with_their_code() {
        let cases: [(u16, &[u8], &str); 4] = [
            (200, br#"{"errors":[{"message":"Query cost is 1502, which exceeds the single query max cost limit (1000).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n","extensions":{"code":"MAX_COST_EXCEEDED","cost":1502,"maxCost":1000,"documentation":"https://shopify.dev/api/usage/rate-limits"}}]}"#, "shopify_query_error:MAX_COST_EXCEEDED"),
            (200, br#"{"errors":[{"message":"The @idempotent directive is required for this mutation but was not provided.","locations":[{"line":2,"column":3}],"path":["inventorySetQuantities"],"extensions":{"code":"BAD_REQUEST"}}],"data":{"inventorySetQuantities":null}}"#, "shopify_query_error:BAD_REQUEST"),
            (200, br#"{"errors":[{"message":"Field 'legacyResourceIdx' doesn't exist on type 'Location'","locations":[{"line":6,"column":7}],"path":["query Locations","locations","nodes","legacyResourceIdx"],"extensions":{"code":"undefinedField","typeName":"Location","fieldName":"legacyResourceIdx"}}]}"#, "shopify_query_error:undefinedField"),
            (400, br#"{"errors":[{"message":"Parse error on \"}\" (RCURLY) at [1, 10]","locations":[{"line":1,"column":10}]}]}"#, "shopify_query_error:GRAPHQL"),
        ];
        for (status, body, cause) in cases {
            let error = error_of(classify(status, body));
            assert_eq!(error.cause(), cause);
            assert_eq!(error.class(), ErrorClass::Permanent);
            assert_eq!(error.retry(), super::super::error::Retry::Never);
        }
    }

    #[test]
    fn other_statuses_and_garbage() {
        let error = error_of(classify(404, br#"{"errors":"Not Found"}"#));
        assert_eq!(error.cause(), "shopify_query_error:GRAPHQL");
        let error = error_of(classify(402, b"Payment Required"));
        assert_eq!(error.cause(), "shopify_http_402");
        assert_eq!(error.class(), ErrorClass::Permanent);
        let error = error_of(classify(200, b"<html>proxy login</html>"));
        assert_eq!(error.cause(), "shopify_unexpected_response");
        let error = error_of(classify(200, br#"{"data":null}"#));
        assert_eq!(error.cause(), "shopify_unexpected_response");
    }

    #[test]
    fn user_errors_and_their_failure() {
        let error: UserError = serde_json::from_str(
            r#"{"code":"INVALID_QUANTITY_TOO_HIGH","field":["input","quantities","7","quantity"],"message":"The quantity can't be higher than 1,000,000,000."}"#,
        )
        .unwrap();
        assert_eq!(error.row("quantities"), Some(7));
        let failure = Failure::from(error.into_error());
        assert_eq!(failure.class, ErrorClass::Permanent);
        assert_eq!(
            failure.cause,
            "shopify_user_error:INVALID_QUANTITY_TOO_HIGH"
        );
        assert!(failure.message.contains("1,000,000,000"));
        let uncoded: UserError = serde_json::from_str(r#"{"field":null,"message":"x"}"#).unwrap();
        assert_eq!(uncoded.into_error().cause(), "shopify_user_error:UNKNOWN");
    }
}
