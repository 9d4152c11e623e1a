//! Money and the small shared shapes of order-like objects.
//!
//! Amounts are `Decimal` read from Shopify's decimal strings: never `f64`, which cannot
//! hold 0.1 and would drift totals by cents. [`Money`] and [`MoneyBag`] read both GraphQL's
//! camelCase and the webhooks' snake_case (`shop_money`, `currency_code`).

use rust_decimal::Decimal;
use serde::Deserialize;

use super::ids::de_gid;

/// An amount in a currency.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// The amount, from Shopify's decimal string (a JSON number is refused: it went
    /// through a float somewhere).
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// ISO 4217 code.
    #[serde(alias = "currency_code")]
    pub currency_code: String,
}

/// An amount in the shop's currency and in the buyer's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoneyBag {
    /// In the shop's currency (what the books use).
    #[serde(alias = "shop_money")]
    pub shop_money: Money,
    /// In the currency the buyer paid in.
    #[serde(alias = "presentment_money")]
    pub presentment_money: Money,
}

/// A tax line.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaxLine {
    /// The tax's name.
    pub title: String,
    /// The rate as a fraction (0.2 for 20 %): a ratio Shopify sends as a float, kept for
    /// display; the amount is in `price_set`.
    pub rate: Option<f64>,
    /// The tax amount.
    pub price_set: MoneyBag,
}

/// A reference to another object by its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Ref {
    /// The numeric id.
    #[serde(deserialize_with = "de_gid")]
    pub id: u64,
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn amounts_are_exact_decimals_from_strings() {
        let bag: MoneyBag = serde_json::from_str(
            r#"{"shopMoney":{"amount":"0.10","currencyCode":"EUR"},"presentmentMoney":{"amount":"19.99","currencyCode":"USD"}}"#,
        )
        .unwrap();
        assert_eq!(bag.shop_money.amount, Decimal::from_str("0.10").unwrap());
        assert_eq!(
            bag.shop_money.amount + bag.presentment_money.amount,
            Decimal::from_str("20.09").unwrap()
        );
        // Webhooks spell it in snake_case.
        let rest: MoneyBag = serde_json::from_str(
            r#"{"shop_money":{"amount":"1.00","currency_code":"USD"},"presentment_money":{"amount":"0.93","currency_code":"EUR"}}"#,
        )
        .unwrap();
        assert_eq!(rest.presentment_money.currency_code, "EUR");
        // A float amount is drift, not money: refused.
        assert!(serde_json::from_str::<Money>(r#"{"amount":0.1,"currencyCode":"EUR"}"#).is_err());
    }
}
