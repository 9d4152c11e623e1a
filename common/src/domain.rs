//! Domain values both sides of the sync agree on: the SKU that joins a Shopify variant to
//! an ERP product, and amounts of money as exact decimals with their currency.
//!
//! Shopify sends amounts as decimal strings and ERPs keep them as decimals: a float would
//! turn 0.1 + 0.2 into a parity mismatch, so every amount is a [`Decimal`].

use std::fmt;

pub use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Why a value could not become a domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A SKU that is empty or has surrounding or control whitespace.
    #[error(
        "invalid SKU {0:?}: a SKU is non-empty, without surrounding spaces or control characters"
    )]
    Sku(String),
    /// A currency code that is not three ASCII capital letters.
    #[error("invalid currency code {0:?}: expected an ISO 4217 code such as \"USD\"")]
    Currency(String),
}

/// A stock keeping unit: the key shared by Shopify variants and ERP products. Compared
/// exactly (case and all): "sku-1" and "SKU-1" are two products in both systems.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    /// Checks and wraps a SKU.
    pub fn new(value: impl Into<String>) -> Result<Sku, DomainError> {
        let value = value.into();
        let valid =
            !value.is_empty() && value.trim() == value && !value.chars().any(char::is_control);
        if valid {
            Ok(Sku(value))
        } else {
            Err(DomainError::Sku(value))
        }
    }

    /// The SKU as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Sku::new(value)
    }
}

impl From<Sku> for String {
    fn from(sku: Sku) -> String {
        sku.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 4217 currency code ("USD").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CurrencyCode(String);

impl CurrencyCode {
    /// Checks and wraps a currency code.
    pub fn new(value: impl Into<String>) -> Result<CurrencyCode, DomainError> {
        let value = value.into();
        if value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(CurrencyCode(value))
        } else {
            Err(DomainError::Currency(value))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CurrencyCode {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        CurrencyCode::new(value)
    }
}

impl From<CurrencyCode> for String {
    fn from(code: CurrencyCode) -> String {
        code.0
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An amount in a currency. Arithmetic across currencies is a bug, so there is none here:
/// callers compare `currency` first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The exact amount.
    pub amount: Decimal,
    /// Its currency.
    pub currency: CurrencyCode,
}

impl Money {
    /// An amount in a currency.
    pub fn new(amount: Decimal, currency: CurrencyCode) -> Money {
        Money { amount, currency }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_reject_blank_and_padded_values() {
        assert!(Sku::new("SKU-0001").is_ok());
        for bad in ["", " SKU", "SKU ", "SK\nU"] {
            assert!(Sku::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn currency_codes_are_three_capitals() {
        assert!(CurrencyCode::new("USD").is_ok());
        for bad in ["usd", "US", "USDX", "U$D"] {
            assert!(CurrencyCode::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn skus_deserialize_through_validation() {
        assert!(serde_json::from_str::<Sku>("\"\"").is_err());
        let sku: Sku = serde_json::from_str("\"A-1\"").unwrap();
        assert_eq!(sku.as_str(), "A-1");
    }
}
