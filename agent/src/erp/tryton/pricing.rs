//! Unit prices from which Tryton recomputes Shopify's amounts to the cent.
//!
//! Tryton does not take a line's tax amount: it stores the unit price (4 decimals) and
//! recomputes the line's amount, `round(quantity x unit price)`, and each tax,
//! `round(quantity x unit price x rate)`, rounding half to even. Shopify charged each
//! line's taxes on the line's discounted amount, rounded per line and half away from zero.
//! So that the ERP's figures are Shopify's:
//! - the company's tax rounding must be per line (`account.configuration` `tax_rounding`
//!   = `line`): Tryton's default, per document, sums the lines of a tax before rounding
//!   and drifts a cent from Shopify's sum of rounded lines;
//! - one Shopify line is one sale line, its discount folded into the unit price: a
//!   discount booked as a line of its own would have its tax rounded apart from the
//!   line's, which Shopify never does;
//! - the line's net amount is Shopify's own: the discounted amount, less Shopify's tax
//!   amounts when prices include tax (never a price divided by 1 + rate, which rounds
//!   differently);
//! - among the 4-decimal unit prices whose amount rounds to that net amount, the one
//!   nearest net / quantity for which Tryton's taxes come to Shopify's is taken (this is
//!   what settles a half cent, which Tryton rounds to even and Shopify away from zero).
//!   When none does, the nearest price is booked and the post-booking check reports the
//!   difference.

use plumb_common::Decimal;
use rust_decimal::RoundingStrategy;

/// Decimals of a Tryton unit price (`product` `price_decimal`, 4 by default).
pub const PRICE_DECIMALS: u32 = 4;

/// A tax on a line: its rate and the amount Shopify charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charged {
    /// The rate (0.04).
    pub rate: Decimal,
    /// Shopify's amount for the whole line.
    pub amount: Decimal,
}

fn round(amount: Decimal, decimals: u32) -> Decimal {
    amount.round_dp_with_strategy(decimals, RoundingStrategy::MidpointNearestEven)
}

/// Tryton's line amount and taxes for `quantity` x `unit` (per-line tax rounding, with
/// Tryton's compensation of the rounding remainder across the line's taxes).
pub fn tryton_line(
    quantity: Decimal,
    unit: Decimal,
    rates: &[Decimal],
    decimals: u32,
) -> (Decimal, Vec<Decimal>) {
    let base = quantity * unit;
    let exact: Vec<Decimal> = rates.iter().map(|rate| unit * rate * quantity).collect();
    let mut rounded: Vec<Decimal> = exact.iter().map(|tax| round(*tax, decimals)).collect();
    let cent = Decimal::new(1, decimals);
    let mut remainder = round(
        rounded.iter().zip(&exact).map(|(r, e)| r - e).sum(),
        decimals,
    );
    let offset = if remainder.is_sign_negative() {
        -cent
    } else {
        cent
    };
    // Tryton cycles over the taxes with an amount, a cent at a time
    while remainder.abs() >= cent {
        let mut moved = false;
        for tax in rounded.iter_mut().filter(|tax| !tax.is_zero()) {
            *tax -= offset;
            remainder -= offset;
            moved = true;
            if remainder.abs() < cent {
                break;
            }
        }
        if !moved {
            break;
        }
    }
    (round(base, decimals), rounded)
}

/// The unit price to book `quantity` units at, so that Tryton's amount is `net` and its
/// taxes are `taxes`' amounts, in `net`'s decimals (see the module's rules).
pub fn unit_price(net: Decimal, quantity: Decimal, taxes: &[Charged]) -> Decimal {
    let decimals = net.scale();
    let nearest = if quantity.is_zero() {
        net
    } else {
        round(net / quantity, PRICE_DECIMALS)
    };
    let rates: Vec<Decimal> = taxes.iter().map(|t| t.rate).collect();
    let step = Decimal::new(1, PRICE_DECIMALS);
    let reach = Decimal::new(5, decimals + 1);
    let books = |unit: Decimal| {
        let (amount, computed) = tryton_line(quantity, unit, &rates, decimals);
        amount == net && computed.iter().zip(taxes).all(|(c, t)| *c == t.amount)
    };
    for k in 0..=100_i64 {
        let shift = step * Decimal::from(k);
        if k > 0 && (quantity * shift).abs() >= reach {
            break;
        }
        for unit in [nearest + shift, nearest - shift] {
            if books(unit) {
                return unit;
            }
        }
    }
    nearest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    /// (net, quantity, [(rate, Shopify's amount)], the unit price booked, what Tryton then
    /// computes: amount and taxes).
    type Case = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    );

    fn book(case: Case) -> (Decimal, (Decimal, Vec<Decimal>)) {
        let (net, quantity, taxes) = case;
        let charged: Vec<Charged> = taxes
            .iter()
            .map(|(rate, amount)| Charged {
                rate: dec(rate),
                amount: dec(amount),
            })
            .collect();
        let unit = unit_price(dec(net), dec(quantity), &charged);
        let rates: Vec<Decimal> = charged.iter().map(|t| t.rate).collect();
        (unit, tryton_line(dec(quantity), unit, &rates, 2))
    }

    #[test]
    fn unit_prices_tryton_recomputes_shopifys_figures_from() {
        let cases: [(Case, &str, &str, &[&str]); 4] = [
            // divides: booked as it is
            (
                ("16.66", "4", &[("0.04", "0.67")]),
                "4.165",
                "16.66",
                &["0.67"],
            ),
            // 31.00 over 3 units: 10.3333 x 3 = 30.9999, which Tryton rounds to 31.00
            (
                ("31.00", "3", &[("0.04", "1.24")]),
                "10.3333",
                "31.00",
                &["1.24"],
            ),
            // 29.90 gross with 20 % included: Shopify's tax 4.98, so 24.92 net (not
            // 29.90 / 1.2, which Tryton would tax 4.9833.. and book 24.92 + 4.98 = 29.90
            // only by luck)
            (
                ("24.92", "1", &[("0.2", "4.98")]),
                "24.92",
                "24.92",
                &["4.98"],
            ),
            // 29.00 x 4.5 % = 1.305: Shopify charged 1.31, Tryton rounds a half to even
            // (1.30) unless the price is a hundredth of a cent above
            (
                ("29.00", "1", &[("0.04", "1.16"), ("0.045", "1.31")]),
                "29.0001",
                "29.00",
                &["1.16", "1.31"],
            ),
        ];
        for (case, unit, amount, taxes) in cases {
            let taxes: Vec<Decimal> = taxes.iter().map(|t| dec(t)).collect();
            assert_eq!(book(case), (dec(unit), (dec(amount), taxes)), "{case:?}");
        }
        // Tryton itself, at 29.00
        let (_, taxes) = tryton_line(dec("1"), dec("29.00"), &[dec("0.04"), dec("0.045")], 2);
        assert_eq!(taxes, vec![dec("1.16"), dec("1.30")]);
    }

    #[test]
    fn what_cannot_be_reached_books_the_nearest_price() {
        // a tax Shopify says is 5.00 on 10.00 at 4 % is out of reach
        let (unit, _) = book(("10.00", "1", &[("0.04", "5.00")]));
        assert_eq!(unit, dec("10.0000"));
    }

    #[test]
    fn tryton_compensates_the_rounding_remainder_across_a_lines_taxes() {
        // 0.006 + 0.006 rounds to 0.01 + 0.01; the remainder 0.008 rounds to 0.01 and is
        // taken back from the first tax
        let (_, taxes) = tryton_line(dec("1"), dec("0.12"), &[dec("0.05"), dec("0.05")], 2);
        assert_eq!(taxes, vec![dec("0.00"), dec("0.01")]);
    }
}
