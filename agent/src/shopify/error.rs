//! What can go wrong talking to Shopify, classified once.
//!
//! Every failure the client sees becomes one [`ShopifyError`]. Whether it is worth a retry
//! inside the client ([`ShopifyError::retry`]), whether the queue should retry the job later
//! ([`ShopifyError::class`]) and how dead letters group ([`ShopifyError::cause`]) are
//! answered here and nowhere else, so a flow never pattern-matches on status codes.

use plumb_common::ErrorClass;

use crate::store::Failure;

/// A failure of a call to the Admin API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShopifyError {
    /// Shopify kept answering THROTTLED after the client waited for the bucket to refill
    /// as many times as it is allowed to.
    #[error("throttled by Shopify {waits} times in a row")]
    Throttled {
        /// How many throttled answers the client waited out.
        waits: u32,
    },
    /// HTTP 429: too many requests. Not processed, so always safe to send again.
    #[error("Shopify answered 429 Too Many Requests")]
    RateLimited,
    /// HTTP 503: the service is unavailable. Not processed.
    #[error("Shopify answered 503 Service Unavailable")]
    Unavailable,
    /// Another 5xx, or a GraphQL `INTERNAL_SERVER_ERROR`: Shopify failed, possibly after
    /// applying the call.
    #[error("Shopify server error (HTTP {status}): {message}")]
    Server {
        /// The HTTP status (200 for a GraphQL internal error).
        status: u16,
        /// Shopify's words, shortened.
        message: String,
    },
    /// No complete answer in time; the call may or may not have been applied.
    #[error("request to Shopify timed out")]
    Timeout,
    /// The connection failed or was reset.
    #[error("connection to Shopify failed: {message}")]
    Connection {
        /// The transport's words.
        message: String,
        /// True when the request never left (refused, DNS, TLS handshake): safe to resend.
        before_send: bool,
    },
    /// 401/403, or `ACCESS_DENIED`: the token was revoked or lacks a scope. Nothing works
    /// until a person fixes the app's installation, so this is an alert, not a retry.
    #[error(
        "Shopify refused the access token (HTTP {status}): token revoked or scope missing: {message}"
    )]
    Unauthorized {
        /// The HTTP status (200 when GraphQL said ACCESS_DENIED).
        status: u16,
        /// Shopify's words.
        message: String,
    },
    /// Another HTTP status (400, 402 frozen shop, 404 unknown version, 423 locked shop...).
    #[error("Shopify answered HTTP {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// Shopify's words, shortened.
        message: String,
    },
    /// Top-level GraphQL errors: the document was refused (validation, BAD_REQUEST,
    /// MAX_COST_EXCEEDED). Sending it again cannot help.
    #[error("Shopify rejected the request ({code}): {message}")]
    Query {
        /// `extensions.code`, or `GRAPHQL` when Shopify gave none.
        code: String,
        /// Shopify's message(s).
        message: String,
    },
    /// A `userErrors` entry: Shopify refused the input.
    #[error("Shopify refused the input ({code}): {message}")]
    UserError {
        /// Shopify's error code, or `UNKNOWN` when it gave none.
        code: String,
        /// The input path Shopify blamed.
        field: Vec<String>,
        /// Shopify's message.
        message: String,
    },
    /// Shopify is already running as many bulk operations as it allows
    /// (`OPERATION_IN_PROGRESS`): try again once one finished.
    #[error("Shopify is already running its maximum of bulk operations: {message}")]
    BulkBusy {
        /// Shopify's message.
        message: String,
    },
    /// The answer did not have the shape this build expects (drift, or a broken proxy).
    #[error("unexpected response from Shopify: {0}")]
    Shape(String),
    /// The caller's request cannot be sent as it is (a malformed id, say).
    #[error("invalid request: {0}")]
    Invalid(String),
}

/// Whether the client itself may send a failed call again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Shopify did not process the call: resend.
    Always,
    /// Shopify may have processed it: resend only a replay-safe operation (a query, or a
    /// mutation carrying an idempotency key).
    IfReplaySafe,
    /// Resending cannot help.
    Never,
}

impl ShopifyError {
    /// Whether the client may resend the call.
    pub fn retry(&self) -> Retry {
        match self {
            ShopifyError::Throttled { .. }
            | ShopifyError::RateLimited
            | ShopifyError::Unavailable => Retry::Always,
            ShopifyError::Connection { before_send, .. } => {
                if *before_send {
                    Retry::Always
                } else {
                    Retry::IfReplaySafe
                }
            }
            ShopifyError::Server { .. } | ShopifyError::Timeout => Retry::IfReplaySafe,
            // Waiting belongs to the queue (minutes), not to the call (seconds).
            ShopifyError::BulkBusy { .. } => Retry::Never,
            ShopifyError::Unauthorized { .. }
            | ShopifyError::Status { .. }
            | ShopifyError::Query { .. }
            | ShopifyError::UserError { .. }
            | ShopifyError::Shape(_)
            | ShopifyError::Invalid(_) => Retry::Never,
        }
    }

    /// Whether the job should be retried later (transient) or dead-lettered (permanent).
    pub fn class(&self) -> ErrorClass {
        if let ShopifyError::BulkBusy { .. } = self {
            return ErrorClass::Transient;
        }
        match self.retry() {
            Retry::Always | Retry::IfReplaySafe => ErrorClass::Transient,
            Retry::Never => ErrorClass::Permanent,
        }
    }

    /// Whether a person must act (the token or its scopes).
    pub fn is_alert(&self) -> bool {
        matches!(self, ShopifyError::Unauthorized { .. })
    }

    /// A stable cause for grouping dead letters and counting failures: never contains ids
    /// or free text, only codes.
    pub fn cause(&self) -> String {
        match self {
            ShopifyError::Throttled { .. } => "shopify_throttled".to_owned(),
            ShopifyError::RateLimited => "shopify_rate_limited".to_owned(),
            ShopifyError::Unavailable => "shopify_unavailable".to_owned(),
            ShopifyError::Server { .. } => "shopify_server_error".to_owned(),
            ShopifyError::Timeout => "shopify_timeout".to_owned(),
            ShopifyError::Connection { .. } => "shopify_connection".to_owned(),
            ShopifyError::Unauthorized { .. } => "shopify_unauthorized".to_owned(),
            ShopifyError::Status { status, .. } => format!("shopify_http_{status}"),
            ShopifyError::Query { code, .. } => format!("shopify_query_error:{code}"),
            ShopifyError::UserError { code, .. } => format!("shopify_user_error:{code}"),
            ShopifyError::BulkBusy { .. } => "shopify_bulk_busy".to_owned(),
            ShopifyError::Shape(_) => "shopify_unexpected_response".to_owned(),
            ShopifyError::Invalid(_) => "shopify_invalid_request".to_owned(),
        }
    }
}

impl From<ShopifyError> for Failure {
    fn from(error: ShopifyError) -> Failure {
        Failure {
            class: error.class(),
            cause: error.cause(),
            message: error.to_string(),
        }
    }
}

/// Shortens a body for an error message: Shopify's error pages can be whole HTML documents.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}
