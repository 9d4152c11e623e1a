//! One JSON-RPC call over HTTP, and the classification of what can go wrong with it.
//!
//! Tryton answers business errors with HTTP 200 and `{"error": [kind, args]}`; transport
//! problems with a status and an HTML body. Everything is turned into an [`ErpError`] here,
//! except 401 ([`RpcError::Session`]), which the session layer answers by logging in again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::erp::ErpError;

/// A failed call: either the session is gone (log in and retry) or a classified error.
#[derive(Debug)]
pub enum RpcError {
    /// HTTP 401: the session expired or was never valid.
    Session,
    /// Anything else.
    Erp(ErpError),
}

impl From<ErpError> for RpcError {
    fn from(error: ErpError) -> Self {
        RpcError::Erp(error)
    }
}

/// The HTTP side: one client, the database's RPC URL.
#[derive(Debug)]
pub struct Transport {
    client: reqwest::Client,
    root: String,
    database_url: String,
    next_id: AtomicU64,
}

impl Transport {
    /// A transport to `url` (the server's base URL) and `database`.
    pub fn new(url: &str, database: &str, timeout: Duration) -> Result<Transport, ErpError> {
        // Tryton's server (Werkzeug) closes the connection after every response: keeping
        // idle connections would only race with that close. reqwest's gzip feature sends
        // `Accept-Encoding: gzip` and decodes; Tryton gzips large answers whatever we ask.
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(0)
            .gzip(true)
            .build()
            .map_err(|error| ErpError::Invalid(format!("HTTP client: {error}")))?;
        let base = url.trim_end_matches('/');
        Ok(Transport {
            client,
            root: format!("{base}/rpc/"),
            database_url: format!("{base}/{database}/rpc/"),
            next_id: AtomicU64::new(1),
        })
    }

    /// Calls a method on the database (or on the server when `database` is false).
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        authorization: Option<&str>,
        database: bool,
    ) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let url = if database {
            &self.database_url
        } else {
            &self.root
        };
        let mut request = self
            .client
            .post(url)
            .json(&json!({"id": id, "method": method, "params": params}));
        if let Some(authorization) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }
        let started = std::time::Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(method, &e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(method, &e))?;
        tracing::trace!(
            method,
            status = status.as_u16(),
            bytes = body.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "tryton call"
        );
        if !status.is_success() {
            return Err(status_error(method, status.as_u16(), &body));
        }
        let mut answer: Value = serde_json::from_slice(&body).map_err(|error| {
            ErpError::BadResponse(format!("{method}: the answer is not JSON: {error}"))
        })?;
        match answer.get_mut("error").map(Value::take) {
            Some(Value::Null) | None => {}
            Some(error) => return Err(RpcError::Erp(answer_error(method, &error))),
        }
        match answer.get_mut("result") {
            Some(result) => Ok(result.take()),
            None => Err(RpcError::Erp(ErpError::BadResponse(format!(
                "{method}: the answer has neither result nor error"
            )))),
        }
    }
}

fn transport_error(method: &str, error: &reqwest::Error) -> RpcError {
    let message = format!("{method}: {error}");
    RpcError::Erp(if error.is_timeout() {
        ErpError::Timeout(message)
    } else if error.is_decode() || error.is_body() {
        ErpError::Unavailable(format!("{message} (the answer was cut)"))
    } else {
        ErpError::Unavailable(message)
    })
}

/// Non-200 answers: their bodies are HTML, so only the status speaks.
fn status_error(method: &str, status: u16, body: &[u8]) -> RpcError {
    let excerpt: String = String::from_utf8_lossy(body).chars().take(160).collect();
    let message = format!("{method}: HTTP {status}");
    RpcError::Erp(match status {
        401 => return RpcError::Session,
        403 => ErpError::Forbidden(format!("{message}: the method is not exposed to this user")),
        408 | 504 => ErpError::Timeout(message),
        422 => ErpError::BadResponse(format!(
            "{message}: the server did not accept the call's shape"
        )),
        429 => ErpError::Throttled(message),
        500..=599 => ErpError::Unavailable(message),
        _ => ErpError::BadResponse(format!("{message}: {excerpt}")),
    })
}

/// `{"error": [kind, args]}`: UserError args are [message, description, domain]; UserWarning
/// args are [name, message, description]; server exceptions are [text, traceback].
fn answer_error(method: &str, error: &Value) -> ErpError {
    let kind = error.get(0).and_then(Value::as_str).unwrap_or_default();
    let args = error.get(1);
    let text = |i: usize| {
        args.and_then(|a| a.get(i))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let joined = |a: String, b: String| if b.is_empty() { a } else { format!("{a} {b}") };
    match kind {
        "UserError" => ErpError::Rejected(joined(text(0), text(1))),
        "UserWarning" => ErpError::Rejected(format!(
            "warning {} needs acknowledging: {}",
            text(0),
            joined(text(1), text(2))
        )),
        "AccessError" => ErpError::Forbidden(joined(text(0), text(1))),
        "ConcurrencyException" => ErpError::Fault(format!("{method}: {}", text(0))),
        _ => {
            // A server-side exception: the first element is its text.
            let mut message = kind.to_owned();
            message.truncate(300);
            ErpError::Fault(format!("{method}: {message}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn erp(error: RpcError) -> ErpError {
        match error {
            RpcError::Erp(error) => error,
            RpcError::Session => panic!("session"),
        }
    }

    #[test]
    fn statuses_are_classified() {
        assert!(matches!(status_error("m", 401, b""), RpcError::Session));
        assert!(matches!(
            erp(status_error("m", 503, b"<html>")),
            ErpError::Unavailable(_)
        ));
        assert!(matches!(
            erp(status_error("m", 504, b"")),
            ErpError::Timeout(_)
        ));
        assert!(matches!(
            erp(status_error("m", 429, b"")),
            ErpError::Throttled(_)
        ));
        assert!(matches!(
            erp(status_error("m", 403, b"")),
            ErpError::Forbidden(_)
        ));
    }

    #[test]
    fn user_errors_keep_the_erps_message() {
        let error = answer_error(
            "model.sale.sale.quote",
            &json!(["UserError", ["The sale has no lines.", "Add one.", null]]),
        );
        assert_eq!(
            error,
            ErpError::Rejected("The sale has no lines. Add one.".into())
        );
        assert!(!error.is_transient());
        let fault = answer_error("m", &json!(["KeyError: 'x'", "Traceback ..."]));
        assert!(fault.is_transient());
    }
}
