//! The orders of the window and their money: every order Shopify changed within
//! `reconcile.orders_window`, read through a streamed bulk operation (ids, times, the
//! fulfilment status and the totals in the shop's currency), against the sales the ERP
//! booked for them (looked up by their reference, 500 a call, with their credits and
//! whether their goods left).
//!
//! Orders: one mismatch per order at most, the most serious (missing, duplicated,
//! cancelled on one side, refunds that differ, fulfilled on one side), its detail naming
//! the others. Money: per day (the day each order was placed, UTC) and currency, the
//! orders' totals, taxes and refunds on both sides; each figure that differs is one
//! mismatch naming the orders that make the difference.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt;
use rust_decimal::Decimal;

use plumb_common::protocol::ParityDimension;

use crate::erp::{BookedSale, Erp, OrderState};
use crate::shopify::documents::BULK_ORDERS;
use crate::shopify::orders::{OrderFigures, updated_since_query};
use crate::shopify::{BulkLayout, ShopifyClient};
use crate::store::Failure;

use super::super::FlowContext;
use super::compare::{bulk_result, money as shown};
use super::findings::{Finding, Findings, MoneyKind, OrderFinding, OrderKind, OrderSync};

/// Orders named in a money mismatch's detail (the rest are counted).
const NAMED: usize = 5;

/// Compares the window's orders (and, with `money`, their money); their findings go to
/// `findings`.
pub async fn compare(
    context: &FlowContext,
    erp: &dyn Erp,
    shopify: &ShopifyClient,
    money: bool,
    bulk_finished: &std::sync::Arc<tokio::sync::Notify>,
    findings: &mut Findings,
) -> Result<(), Failure> {
    let Some(now) = context.clock.now().to_utc() else {
        return Ok(());
    };
    let window = chrono::Duration::from_std(context.config.reconcile.orders_window)
        .unwrap_or(chrono::Duration::zero());
    let orders = read_shopify(context, shopify, now - window, bulk_finished).await?;
    findings.checked(ParityDimension::Orders, orders.len() as u64);
    let ids: Vec<u64> = orders.iter().map(|o| o.id).collect();
    let mut sales: HashMap<u64, Vec<BookedSale>> = HashMap::new();
    for sale in erp.sales_orders_for(&ids).await.map_err(Failure::from)? {
        sales.entry(sale.shopify_order_id).or_default().push(sale);
    }
    let mut books = Books::default();
    for order in &orders {
        let booked = sales.get(&order.id).map_or(&[][..], Vec::as_slice);
        if money {
            books.add(order, booked);
        }
        let Some(mut finding) = judge(order, booked) else {
            continue;
        };
        // Tryton cannot cancel a sale it is processing: the orders flow cancelled its
        // shipments and invoices and recorded the order cancelled. Syncing again changes
        // nothing; a person closes the sale.
        if finding.kind == OrderKind::StateMismatch && finding.repairable {
            let ledger = context
                .store
                .booked_order(order.id)
                .await
                .map_err(Failure::from)?;
            if ledger.is_some_and(|l| l.cancelled) {
                finding.repairable = false;
                finding.detail.push_str(
                    ": the orders flow cancelled its pending shipments and invoices, and the ERP keeps the sale open; close it in the ERP",
                );
            }
        }
        findings.order(finding);
    }
    if money {
        books.compare(findings);
    }
    Ok(())
}

/// The window's orders from a bulk operation, streamed; an order changed during the
/// operation can come twice: its latest change is kept.
async fn read_shopify(
    context: &FlowContext,
    shopify: &ShopifyClient,
    since: DateTime<Utc>,
    bulk_finished: &std::sync::Arc<tokio::sync::Notify>,
) -> Result<Vec<OrderFigures>, Failure> {
    let document = BULK_ORDERS
        .with_search(&updated_since_query(since))
        .map_err(Failure::from)?;
    let layout = BulkLayout::Flat;
    let url = bulk_result(
        context,
        shopify,
        BULK_ORDERS.name,
        &document,
        layout,
        bulk_finished,
    )
    .await?;
    let mut orders = Vec::new();
    if let Some(url) = url {
        let records = shopify.bulk_records(&url, layout);
        futures::pin_mut!(records);
        while let Some(record) = records.next().await {
            let record = record.map_err(Failure::from)?;
            orders.push(OrderFigures::from_record(record).map_err(Failure::from)?);
        }
    }
    orders.sort_by_key(|o| (o.id, std::cmp::Reverse(o.updated_at)));
    orders.dedup_by_key(|o| o.id);
    Ok(orders)
}

fn state(state: OrderState) -> &'static str {
    match state {
        OrderState::Draft => "draft",
        OrderState::Open => "open",
        OrderState::Done => "done",
        OrderState::Cancelled => "cancelled",
    }
}

/// What is wrong with one order, if anything: the most serious problem, the others named
/// in its detail.
fn judge(order: &OrderFigures, sales: &[BookedSale]) -> Option<OrderFinding> {
    let sync = OrderSync {
        order: order.id,
        updated_at: order.updated_at,
        cancelled: order.cancelled_at.is_some(),
        refunds: false,
    };
    let erp = |sales: &[BookedSale]| {
        let each: Vec<String> = sales
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    s.number.as_deref().unwrap_or(&s.erp_id),
                    state(s.state)
                )
            })
            .collect();
        each.join(", ")
    };
    let mut problems = problems(order, sync, sales).into_iter();
    let (kind, repairable, mut detail) = problems.next()?;
    let others: Vec<String> = problems.map(|(_, _, detail)| detail).collect();
    if !others.is_empty() {
        detail = format!("{detail}; also: {}", others.join("; "));
    }
    Some(OrderFinding {
        kind,
        order: order.id,
        erp: (!sales.is_empty()).then(|| erp(sales)),
        detail,
        shopify: OrderSync {
            refunds: kind == OrderKind::RefundDiffers,
            ..sync
        },
        repairable,
    })
}

/// Every problem of one order, the most serious first: (kind, repairable, detail).
fn problems(
    order: &OrderFigures,
    sync: OrderSync,
    sales: &[BookedSale],
) -> Vec<(OrderKind, bool, String)> {
    let id = order.id;
    let sale = match sales {
        [] => {
            return vec![(
                OrderKind::MissingInErp,
                true,
                format!(
                    "Shopify order {id} has no sale in the ERP: its webhooks and the backfill missed it"
                ),
            )];
        }
        [sale] => sale,
        several => {
            return vec![(
                OrderKind::DuplicatedInErp,
                false,
                format!(
                    "{} ERP sales carry Shopify order {id}: cancel all but one in the ERP",
                    several.len()
                ),
            )];
        }
    };
    let mut found = Vec::new();
    let erp_cancelled = sale.state == OrderState::Cancelled;
    match (sync.cancelled, erp_cancelled) {
        (true, false) => found.push((
            OrderKind::StateMismatch,
            true,
            format!(
                "Shopify order {id} is cancelled, its ERP sale is {}",
                state(sale.state)
            ),
        )),
        (false, true) => found.push((
            OrderKind::StateMismatch,
            false,
            format!(
                "the ERP sale of Shopify order {id} is cancelled, Shopify's order is not: cancel it in Shopify, or book it again in the ERP"
            ),
        )),
        _ => {}
    }
    let refunded = order.refunded.shop_money.amount;
    if refunded > sale.refunded {
        // Repairable: the refunds flow books each of Shopify's refunds once.
        found.push((
            OrderKind::RefundDiffers,
            true,
            format!(
                "Shopify refunded {} of order {id}, the ERP credited {}: a refund delivery was missed or failed",
                shown(refunded),
                shown(sale.refunded)
            ),
        ));
    } else if refunded < sale.refunded {
        found.push((
            OrderKind::RefundDiffers,
            false,
            format!(
                "the ERP credited {} for order {id}, Shopify refunded {}: a credit made by hand in the ERP? Cancel the extra credit there",
                shown(sale.refunded),
                shown(refunded)
            ),
        ));
    }
    if !sync.cancelled && !erp_cancelled {
        match (order.fulfilled(), sale.shipped) {
            (true, false) => found.push((
                OrderKind::FulfilledInShopifyOnly,
                false,
                format!(
                    "Shopify order {id} is {}, the ERP has shipped nothing: fulfilled by hand in Shopify? The ERP will ship it again unless its shipment is cancelled",
                    order.display_fulfillment_status.to_lowercase().replace('_', " ")
                ),
            )),
            (false, true) => found.push((
                OrderKind::ShippedInErpOnly,
                false,
                format!(
                    "the ERP shipped order {id}, Shopify shows nothing fulfilled: the fulfilment flow has not written it (see its dead letters)"
                ),
            )),
            _ => {}
        }
    }
    found
}

/// One figure of one day and currency on both sides, with the orders whose own figures
/// differ.
#[derive(Debug, Default)]
struct Figure {
    shopify: Decimal,
    erp: Decimal,
    /// (order, Shopify's, the ERP's) for the first [`NAMED`] orders that differ.
    named: Vec<(u64, Decimal, Decimal)>,
    /// How many orders differ.
    differing: u64,
}

/// The money of the window's orders, per (day, currency, figure).
#[derive(Debug, Default)]
struct Books {
    figures: BTreeMap<(NaiveDate, String, MoneyKind), Figure>,
}

impl Books {
    /// Adds one order and the ERP sales booked for it: each side's amounts go to the day
    /// the order was placed, in that side's currency.
    fn add(&mut self, order: &OrderFigures, sales: &[BookedSale]) {
        let day = order.created_at.date_naive();
        for kind in MoneyKind::ALL {
            let shop = match kind {
                MoneyKind::OrderTotal => &order.total,
                MoneyKind::TaxTotal => &order.tax,
                MoneyKind::RefundTotal => &order.refunded,
            };
            let shop_currency = shop.shop_money.currency_code.as_str();
            let shop_amount = shop.shop_money.amount;
            let mut erp_here = Decimal::ZERO;
            let mut elsewhere = false;
            for sale in sales {
                let amount = match kind {
                    MoneyKind::OrderTotal => sale.total,
                    MoneyKind::TaxTotal => sale.tax,
                    MoneyKind::RefundTotal => sale.refunded,
                };
                if sale.currency == shop_currency {
                    erp_here += amount;
                } else {
                    elsewhere = true;
                    let figure = self.figure(day, &sale.currency, kind);
                    figure.erp += amount;
                    figure.note(order.id, Decimal::ZERO, amount);
                }
            }
            let figure = self.figure(day, shop_currency, kind);
            figure.shopify += shop_amount;
            figure.erp += erp_here;
            if shop_amount != erp_here || elsewhere {
                figure.note(order.id, shop_amount, erp_here);
            }
        }
    }

    fn figure(&mut self, day: NaiveDate, currency: &str, kind: MoneyKind) -> &mut Figure {
        self.figures
            .entry((day, currency.to_owned(), kind))
            .or_default()
    }

    /// One mismatch per figure that differs; checked = figures compared.
    fn compare(self, findings: &mut Findings) {
        findings.checked(ParityDimension::Money, self.figures.len() as u64);
        for ((day, currency, kind), figure) in self.figures {
            if figure.shopify == figure.erp {
                continue;
            }
            let mut orders: Vec<String> = figure
                .named
                .iter()
                .map(|(order, shop, erp)| {
                    format!("{order} (Shopify {}, ERP {})", shown(*shop), shown(*erp))
                })
                .collect();
            let unnamed = figure.differing.saturating_sub(figure.named.len() as u64);
            if unnamed > 0 {
                orders.push(format!("{unnamed} more"));
            }
            findings.money(Finding {
                kind: kind.as_str(),
                subject: format!("{day} {currency}"),
                location: None,
                erp: Some(shown(figure.erp)),
                shopify: Some(shown(figure.shopify)),
                detail: format!(
                    "{} of {day} in {currency}: Shopify {}, the ERP {} (difference {}); orders: {}",
                    kind.figure(),
                    shown(figure.shopify),
                    shown(figure.erp),
                    shown(figure.shopify - figure.erp),
                    orders.join(", ")
                ),
            });
        }
    }
}

impl Figure {
    fn note(&mut self, order: u64, shopify: Decimal, erp: Decimal) {
        self.differing += 1;
        if self.named.len() < NAMED {
            self.named.push((order, shopify, erp));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shopify::money::Money;
    use crate::shopify::orders::ShopAmount;

    fn usd(cents: i64) -> ShopAmount {
        ShopAmount {
            shop_money: Money {
                amount: Decimal::new(cents, 2),
                currency_code: "USD".into(),
            },
        }
    }

    fn order(id: u64, day: u32, total: i64, refunded: i64, status: &str) -> OrderFigures {
        let at = format!("2026-12-{day:02}T10:00:00Z");
        let at: DateTime<Utc> = at.parse().unwrap();
        OrderFigures {
            id,
            created_at: at,
            updated_at: at,
            cancelled_at: None,
            display_fulfillment_status: status.into(),
            total: usd(total),
            tax: usd(total / 10),
            refunded: usd(refunded),
        }
    }

    fn sale(id: u64, total: i64, refunded: i64, shipped: bool) -> BookedSale {
        BookedSale {
            shopify_order_id: id,
            erp_id: id.to_string(),
            number: Some(format!("SO{id}")),
            state: OrderState::Open,
            currency: "USD".into(),
            tax: Decimal::new(total / 10, 2),
            total: Decimal::new(total, 2),
            refunded: Decimal::new(refunded, 2),
            shipped,
        }
    }

    #[test]
    fn refunds_and_fulfilment_are_compared_the_worst_problem_first() {
        let agreed = order(1, 1, 1000, 500, "FULFILLED");
        assert_eq!(judge(&agreed, &[sale(1, 1000, 500, true)]), None);
        let unrefunded = judge(
            &order(2, 1, 1000, 500, "UNFULFILLED"),
            &[sale(2, 1000, 0, false)],
        )
        .unwrap();
        assert_eq!(unrefunded.kind, OrderKind::RefundDiffers);
        assert!(unrefunded.repairable && unrefunded.shopify.refunds);
        let by_hand = judge(
            &order(6, 1, 1000, 0, "UNFULFILLED"),
            &[sale(6, 1000, 300, false)],
        )
        .unwrap();
        assert_eq!(by_hand.kind, OrderKind::RefundDiffers);
        assert!(!by_hand.repairable, "{}", by_hand.detail);
        assert!(
            unrefunded.detail.contains("refunded 5.00"),
            "{}",
            unrefunded.detail
        );
        let by_hand = judge(
            &order(3, 1, 1000, 0, "PARTIALLY_FULFILLED"),
            &[sale(3, 1000, 0, false)],
        )
        .unwrap();
        assert_eq!(by_hand.kind, OrderKind::FulfilledInShopifyOnly);
        let unwritten = judge(
            &order(4, 1, 1000, 0, "UNFULFILLED"),
            &[sale(4, 1000, 0, true)],
        )
        .unwrap();
        assert_eq!(unwritten.kind, OrderKind::ShippedInErpOnly);
        // two problems: the refund first, the fulfilment named in its detail
        let both = judge(
            &order(5, 1, 1000, 200, "UNFULFILLED"),
            &[sale(5, 1000, 0, true)],
        )
        .unwrap();
        assert_eq!(both.kind, OrderKind::RefundDiffers);
        assert!(
            both.detail.contains("; also: the ERP shipped"),
            "{}",
            both.detail
        );
    }

    #[test]
    fn money_per_day_and_currency_names_the_orders_that_differ() {
        let mut books = Books::default();
        books.add(
            &order(1, 1, 1000, 0, "UNFULFILLED"),
            &[sale(1, 1000, 0, false)],
        );
        books.add(
            &order(2, 1, 2000, 300, "UNFULFILLED"),
            &[sale(2, 1999, 300, false)],
        );
        books.add(&order(3, 2, 500, 0, "UNFULFILLED"), &[]);
        let mut euro = sale(4, 700, 0, false);
        euro.currency = "EUR".into();
        books.add(&order(4, 2, 700, 0, "UNFULFILLED"), &[euro]);
        let mut findings = Findings::default();
        books.compare(&mut findings);
        let figures = findings.figures(&[ParityDimension::Money]);
        // days 1 and 2 in USD, day 2 in EUR: three figures each
        assert_eq!(figures[0].checked, 9);
        let found: Vec<_> = findings.mismatches(&[ParityDimension::Money]).collect();
        let listed: Vec<(&str, &str, Option<&str>, Option<&str>)> = found
            .iter()
            .map(|m| {
                (
                    m.kind.as_str(),
                    m.subject.as_str(),
                    m.shopify.as_deref(),
                    m.erp.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            vec![
                (
                    "order_total_differs",
                    "2026-12-01 USD",
                    Some("30.00"),
                    Some("29.99")
                ),
                (
                    "tax_total_differs",
                    "2026-12-01 USD",
                    Some("3.00"),
                    Some("2.99")
                ),
                (
                    "order_total_differs",
                    "2026-12-02 EUR",
                    Some("0.00"),
                    Some("7.00")
                ),
                (
                    "tax_total_differs",
                    "2026-12-02 EUR",
                    Some("0.00"),
                    Some("0.70")
                ),
                (
                    "order_total_differs",
                    "2026-12-02 USD",
                    Some("12.00"),
                    Some("0.00")
                ),
                (
                    "tax_total_differs",
                    "2026-12-02 USD",
                    Some("1.20"),
                    Some("0.00")
                ),
            ],
            "the refunds agree everywhere"
        );
        assert!(
            found[0]
                .detail
                .contains("orders: 2 (Shopify 20.00, ERP 19.99)"),
            "{}",
            found[0].detail
        );
        assert!(
            found[4]
                .detail
                .contains("orders: 3 (Shopify 5.00, ERP 0.00), 4 (Shopify 7.00, ERP 0.00)"),
            "a missing order and one booked in another currency: {}",
            found[4].detail
        );
        assert!(found.iter().all(|m| m.repair.is_none()));
    }
}
