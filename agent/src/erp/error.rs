//! Errors at the ERP boundary, classified once, here: a flow never looks at HTTP codes.
//!
//! Transient: the ERP may answer later (down, slow, overloaded, a session that expired and
//! could not be renewed yet). Permanent: the ERP answered and said no (a business error with
//! its own message), or the request can never succeed as it is (unknown SKU, unmapped
//! warehouse, a shape we do not understand). Each kind has a stable cause so dead letters
//! group, and converts to the store's [`Failure`].

use plumb_common::ErrorClass;

use crate::store::Failure;

/// What went wrong talking to the ERP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErpError {
    /// The ERP could not be reached, or answered 5xx (other than a gateway timeout).
    #[error("the ERP is unavailable: {0}")]
    Unavailable(String),
    /// The call took longer than the configured timeout, or the ERP answered 504.
    #[error("the ERP did not answer in time: {0}")]
    Timeout(String),
    /// The ERP asks us to slow down (429).
    #[error("the ERP is throttling us: {0}")]
    Throttled(String),
    /// Login was refused (bad user or password), or a fresh session was refused at once.
    #[error("the ERP refused the login: {0}")]
    Unauthorized(String),
    /// The user may not call this (403).
    #[error("the ERP user may not do this: {0}")]
    Forbidden(String),
    /// The ERP refused the document: its own message (Tryton's UserError).
    #[error("the ERP rejected it: {0}")]
    Rejected(String),
    /// A product with this SKU does not exist in the ERP.
    #[error("unknown SKU {0:?} in the ERP")]
    UnknownSku(String),
    /// More than one product has this SKU in the ERP.
    #[error("SKU {0:?} is on more than one product in the ERP")]
    DuplicateSku(String),
    /// The warehouse code is not an ERP warehouse.
    #[error("unknown warehouse {0:?} in the ERP")]
    UnknownWarehouse(String),
    /// Something the document refers to is missing in the ERP (currency, tax, order).
    #[error("{0}")]
    Missing(String),
    /// The input cannot be booked as it is (no lines, mixed currencies).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The ERP answered something we do not understand (schema drift or a bug).
    #[error("unexpected answer from the ERP: {0}")]
    BadResponse(String),
    /// The ERP failed inside (an exception that is not a business error).
    #[error("the ERP failed: {0}")]
    Fault(String),
}

impl ErpError {
    /// Whether retrying may help.
    pub fn class(&self) -> ErrorClass {
        match self {
            ErpError::Unavailable(_)
            | ErpError::Timeout(_)
            | ErpError::Throttled(_)
            | ErpError::Fault(_) => ErrorClass::Transient,
            ErpError::Unauthorized(_)
            | ErpError::Forbidden(_)
            | ErpError::Rejected(_)
            | ErpError::UnknownSku(_)
            | ErpError::DuplicateSku(_)
            | ErpError::UnknownWarehouse(_)
            | ErpError::Missing(_)
            | ErpError::Invalid(_)
            | ErpError::BadResponse(_) => ErrorClass::Permanent,
        }
    }

    /// Whether retrying may help.
    pub fn is_transient(&self) -> bool {
        self.class() == ErrorClass::Transient
    }

    /// The stable cause dead letters group by.
    pub fn cause(&self) -> &'static str {
        match self {
            ErpError::Unavailable(_) => "erp_unavailable",
            ErpError::Timeout(_) => "erp_timeout",
            ErpError::Throttled(_) => "erp_throttled",
            ErpError::Unauthorized(_) => "erp_unauthorized",
            ErpError::Forbidden(_) => "erp_forbidden",
            ErpError::Rejected(_) => "erp_rejected",
            ErpError::UnknownSku(_) => "unknown_sku",
            ErpError::DuplicateSku(_) => "duplicate_sku",
            ErpError::UnknownWarehouse(_) => "unknown_warehouse",
            ErpError::Missing(_) => "erp_missing_reference",
            ErpError::Invalid(_) => "invalid_document",
            ErpError::BadResponse(_) => "erp_bad_response",
            ErpError::Fault(_) => "erp_fault",
        }
    }
}

impl From<ErpError> for Failure {
    fn from(error: ErpError) -> Failure {
        Failure {
            class: error.class(),
            cause: error.cause().to_owned(),
            message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_retry_and_refusals_dead_letter() {
        let down: Failure = ErpError::Unavailable("connection refused".into()).into();
        assert_eq!(down.class, ErrorClass::Transient);
        assert_eq!(down.cause, "erp_unavailable");
        let no: Failure = ErpError::Rejected("The sale is not valid".into()).into();
        assert_eq!(no.class, ErrorClass::Permanent);
        assert_eq!(no.cause, "erp_rejected");
        assert!(no.message.contains("The sale is not valid"));
        assert!(ErpError::Timeout("30 s".into()).is_transient());
        assert!(!ErpError::UnknownSku("X".into()).is_transient());
    }
}
