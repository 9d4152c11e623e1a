//! The orders flow's mapping over fixtures: Shopify's own example payloads and Plumb's own
//! (`tests/fixtures/shopify/orders`, whose README derives every figure). Each order either
//! maps and balances to the cent, or is refused with the precise mismatch.

use serde_json::{Value, json};

use plumb_agent::config::LocationMapping;
use plumb_agent::erp::{RefundLine, SalesOrder, TaxLine};
use plumb_agent::flows::orders::mapping::{MappingError, OrderRules, refund, sales_order};
use plumb_agent::flows::orders::payload::{OrderPayload, RefundPayload};
use plumb_agent::shopify::orders::Order;
use plumb_agent::store::Failure;
use plumb_common::{Decimal, ErrorClass, Sku};

macro_rules! own {
    ($name:literal) => {
        include_str!(concat!("../../tests/fixtures/shopify/orders/", $name))
    };
}

macro_rules! shopify {
    ($name:literal) => {
        include_str!(concat!("../../tests/fixtures/shopify/webhooks/", $name))
    };
}

const OWN: [(&str, &str); 7] = [
    ("discounts_split", own!("discounts_split.json")),
    ("taxes_included", own!("taxes_included.json")),
    ("gift_cards", own!("gift_cards.json")),
    ("presentment_eur", own!("presentment_eur.json")),
    ("deleted_product", own!("deleted_product.json")),
    ("big_ids", own!("big_ids.json")),
    ("shipping_discount", own!("shipping_discount.json")),
];

const BIG: u64 = 9_007_199_254_740_993;

fn dec(text: &str) -> Decimal {
    text.parse().expect("decimal")
}

fn rules() -> OrderRules {
    OrderRules {
        locations: vec![
            LocationMapping {
                erp_warehouse: "WH-EAST".into(),
                shopify_location: 6001,
            },
            LocationMapping {
                erp_warehouse: "WH-WEST".into(),
                shopify_location: 9_007_199_254_741_005,
            },
        ],
        default_warehouse: None,
        gift_card_sku: Some(Sku::new("GIFT-CARD").expect("sku")),
    }
}

fn map(body: &str) -> Result<SalesOrder, MappingError> {
    sales_order(&OrderPayload::parse(body).expect("parses"), &rules())
}

/// The body with `edit` applied to its JSON.
fn edited(body: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(body).expect("json");
    edit(&mut value);
    value.to_string()
}

fn taxes(lines: &[TaxLine]) -> Decimal {
    lines.iter().map(|t| t.amount).sum()
}

/// The total as the ERP books it: lines - discounts + shipping + tax (none added when
/// prices include it); and the tax.
fn erp_total(sale: &SalesOrder) -> (Decimal, Decimal) {
    let lines: Decimal = sale
        .lines
        .iter()
        .map(|l| l.unit_price * l.quantity - l.discount)
        .sum();
    let shipping: Decimal = sale.shipping.iter().map(|s| s.price - s.discount).sum();
    let tax: Decimal = sale.lines.iter().map(|l| taxes(&l.taxes)).sum::<Decimal>()
        + sale
            .shipping
            .iter()
            .map(|s| taxes(&s.taxes))
            .sum::<Decimal>();
    let added = if sale.taxes_included {
        Decimal::ZERO
    } else {
        tax
    };
    (lines + shipping + added, tax)
}

#[test]
fn every_own_order_maps_and_balances_to_the_cent() {
    // (fixture, Shopify's total, Shopify's tax)
    let expected = [
        ("discounts_split", "59.46", "4.46"),
        ("taxes_included", "60.78", "10.13"),
        ("gift_cards", "62.75", "2.75"),
        ("presentment_eur", "37.75", "2.75"),
        ("deleted_product", "51.23", "3.23"),
        ("big_ids", "22.56", "1.56"),
        ("shipping_discount", "38.61", "2.61"),
    ];
    for ((name, body), (expected_name, total, tax)) in OWN.iter().zip(expected) {
        assert_eq!(*name, expected_name);
        let payload = OrderPayload::parse(body).expect("parses");
        let sale = sales_order(&payload, &rules()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(sale.total, dec(total), "{name}");
        assert_eq!(
            sale.total, payload.total_price_set.shop_money.amount,
            "{name}"
        );
        assert_eq!(erp_total(&sale), (dec(total), dec(tax)), "{name}");
        assert_eq!(sale.currency.as_str(), "USD", "{name}");
    }
}

#[test]
fn discounts_are_the_allocations_as_shopify_split_them() {
    let sale = map(own!("discounts_split.json")).unwrap();
    let discounts: Vec<(&str, Decimal, Decimal, Decimal)> = sale
        .lines
        .iter()
        .map(|l| (l.sku.as_str(), l.quantity, l.unit_price, l.discount))
        .collect();
    assert_eq!(
        discounts,
        vec![
            // 2.00 line-level + 3.33 of the order's 10.00
            ("SKU-0001", dec("2"), dec("11.00"), dec("5.33")),
            ("SKU-0002", dec("1"), dec("20.00"), dec("3.33")),
            ("SKU-0003", dec("4"), dec("5.00"), dec("3.34")),
        ]
    );
    let line_tax: Vec<Vec<(String, Decimal, Decimal)>> = sale
        .lines
        .iter()
        .map(|l| {
            l.taxes
                .iter()
                .map(|t| (t.title.clone(), t.rate, t.amount))
                .collect()
        })
        .collect();
    let ny_nyc = vec![
        ("NY State Tax".to_owned(), dec("0.04"), dec("0.67")),
        ("NYC Sales Tax".to_owned(), dec("0.045"), dec("0.75")),
    ];
    assert_eq!(line_tax, vec![ny_nyc.clone(), ny_nyc.clone(), ny_nyc]);
    assert_eq!(sale.warehouse, "WH-EAST", "no location: the first mapping");
    assert_eq!(sale.customer.email.as_deref(), Some("ada@example.com"));
    assert_eq!(sale.customer.name, "Ada Lovelace");
    assert_eq!(sale.customer.shopify_customer_id, Some(6001));
    let billing = sale.billing_address.as_ref().unwrap();
    assert_eq!(billing.street, "1 Main St\nApt 4");
    assert_eq!(
        (billing.region.as_deref(), billing.country.as_deref()),
        (Some("NY"), Some("US"))
    );
    assert_eq!(sale.presentment, None);
}

#[test]
fn taxes_included_add_nothing_to_the_total() {
    let sale = map(own!("taxes_included.json")).unwrap();
    assert!(sale.taxes_included);
    // 25.98 + 34.90 - 5.00 + 4.90 = 60.78, of which VAT 4.33 + 4.98 + 0.82 = 10.13
    assert_eq!(erp_total(&sale), (dec("60.78"), dec("10.13")));
}

#[test]
fn a_gift_card_sold_is_a_line_and_one_paid_with_is_a_tender() {
    let sale = map(own!("gift_cards.json")).unwrap();
    assert_eq!(sale.payment_gateways, vec!["gift_card", "shopify_payments"]);
    let lines: Vec<(&str, Decimal, Decimal)> = sale
        .lines
        .iter()
        .map(|l| (l.sku.as_str(), l.unit_price, l.discount))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("SKU-0001", dec("30.00"), dec("0.00")),
            ("GIFT-CARD", dec("25.00"), dec("0.00")),
        ]
    );
    assert!(sale.lines[1].taxes.is_empty());
    let unset = OrderRules {
        gift_card_sku: None,
        ..rules()
    };
    let error = sales_order(
        &OrderPayload::parse(own!("gift_cards.json")).unwrap(),
        &unset,
    )
    .unwrap_err();
    assert_eq!(error.cause, "gift_card_product_unset");
    assert_eq!(
        error.message,
        "line 55032 (Gift Card $25) sells a gift card on order #1503 (id 5503): set \
         `orders.gift_card_sku` to the ERP product gift cards are booked on"
    );
}

#[test]
fn the_books_are_in_shop_money_and_the_presentment_is_kept() {
    let sale = map(own!("presentment_eur.json")).unwrap();
    assert_eq!(sale.currency.as_str(), "USD");
    let presented = sale.presentment.as_ref().expect("EUR");
    assert_eq!(
        (presented.currency.as_str(), presented.total),
        ("EUR", dec("34.72"))
    );
    assert_eq!(sale.lines[0].unit_price, dec("15.00"));
    assert_eq!(sale.shipping[0].taxes[0].amount, dec("0.20"));
}

#[test]
fn a_line_whose_product_was_deleted_books_by_its_sku() {
    let payload = OrderPayload::parse(own!("deleted_product.json")).unwrap();
    assert_eq!(payload.line_items[0].product_id, None);
    assert_eq!(payload.line_items[0].variant_id, None);
    let sale = sales_order(&payload, &rules()).unwrap();
    assert_eq!(sale.lines[0].sku.as_str(), "SKU-0003");
    // 29.00 x 4.5 % = 1.305: Shopify charged 1.31, and that is what is booked
    assert_eq!(sale.lines[1].taxes[1].amount, dec("1.31"));
}

#[test]
fn ids_above_2_pow_53_stay_exact() {
    let sale = map(own!("big_ids.json")).unwrap();
    assert_eq!(sale.shopify_order_id, BIG);
    assert_eq!(sale.lines[0].shopify_line_id, BIG + 2);
    assert_eq!(sale.customer.shopify_customer_id, Some(BIG + 4));
    assert_eq!(
        sale.warehouse, "WH-WEST",
        "its location 2^53 + 12 is mapped"
    );
}

#[test]
fn a_shipping_line_has_its_own_discount_and_tax() {
    let sale = map(own!("shipping_discount.json")).unwrap();
    let shipping = &sale.shipping[0];
    assert_eq!(
        (shipping.title.as_str(), shipping.price, shipping.discount),
        ("Express", dec("15.00"), dec("5.00"))
    );
    assert_eq!(taxes(&shipping.taxes), dec("0.40"));
}

/// Broken variants of Plumb's own orders: (order, field, new value, cause, message).
const BROKEN: [(&str, &str, &str, &str, &str); 6] = [
    (
        own!("discounts_split.json"),
        "/total_price_set/shop_money/amount",
        r#""59.47""#,
        "total_mismatch",
        "total mismatch 0.01 on order #1501 (id 5501): lines 62.00 - discounts 12.00 + \
         shipping 5.00 + tax 4.46 = 59.46, Shopify says 59.47",
    ),
    // with taxes included, the tax is named but not added
    (
        own!("taxes_included.json"),
        "/total_price_set/shop_money/amount",
        r#""60.77""#,
        "total_mismatch",
        "total mismatch 0.01 on order #1502 (id 5502): lines 60.88 - discounts 5.00 + \
         shipping 4.90 + tax 0.00 (10.13 included in prices) = 60.78, Shopify says 60.77",
    ),
    (
        own!("shipping_discount.json"),
        "/total_tax_set/shop_money/amount",
        r#""2.60""#,
        "tax_mismatch",
        "tax mismatch 0.01 on order #1507 (id 5507): line taxes 2.21 + shipping taxes 0.40 = \
         2.61, Shopify says 2.60",
    ),
    (
        own!("deleted_product.json"),
        "/line_items/0/sku",
        "null",
        "line_without_sku",
        "line 55051 (Plumb Sticker (discontinued)) has no SKU on order #1505 (id 5505): give \
         the variant a SKU in Shopify (the ERP books products by SKU)",
    ),
    (
        own!("deleted_product.json"),
        "/line_items/0/sku",
        r#""  ""#,
        "line_without_sku",
        "line 55051 (Plumb Sticker (discontinued)) has no SKU on order #1505 (id 5505): give \
         the variant a SKU in Shopify (the ERP books products by SKU)",
    ),
    (
        own!("presentment_eur.json"),
        "/line_items/0/price_set/shop_money/currency_code",
        r#""EUR""#,
        "mixed_currency",
        "amounts in more than one currency on order #1504 (id 5504): the shop's currency is \
         USD, but line_items[0].price_set is in EUR",
    ),
];

#[test]
fn broken_variants_are_refused_with_the_figures() {
    for (body, pointer, value, cause, message) in BROKEN {
        let body = edited(body, |order| {
            *order.pointer_mut(pointer).expect("the field exists") =
                serde_json::from_str(value).expect("a JSON value");
        });
        let error = map(&body).expect_err(message);
        assert_eq!((error.cause, error.message.as_str()), (cause, message));
        let failure = Failure::from(error);
        assert_eq!(
            (failure.class, failure.cause.as_str()),
            (ErrorClass::Permanent, cause)
        );
    }
}

#[test]
fn several_problems_are_all_named_under_the_first_cause() {
    let body = edited(own!("discounts_split.json"), |o| {
        o["line_items"][1]["sku"] = json!("");
        o["line_items"][2]["quantity"] = json!(0);
        o["total_price_set"]["shop_money"]["amount"] = json!("59.45");
    });
    let error =
        sales_order(&OrderPayload::parse(&body).unwrap(), &OrderRules::default()).unwrap_err();
    assert_eq!(error.cause, "line_without_sku");
    assert_eq!(
        error.message,
        "line 55012 (Plumb Tee) has no SKU on order #1501 (id 5501): give the variant a SKU \
         in Shopify (the ERP books products by SKU); also line 55013 (Plumb Sticker) has \
         quantity 0: quantities must be positive; also no ERP warehouse: the order has no \
         location, no [[locations]] entry maps it, and `orders.default_warehouse` is not set; \
         also total mismatch 19.99: lines 42.00 - discounts 12.00 + shipping 5.00 + tax 4.46 \
         = 39.46, Shopify says 59.45"
    );
    let empty = edited(own!("big_ids.json"), |o| o["line_items"] = json!([]));
    let error = map(&empty).unwrap_err();
    assert_eq!(error.cause, "no_lines");
    assert!(
        error.message.starts_with(
            "no product lines on order #1506 (id 9007199254740993); also total mismatch 17.36"
        ),
        "{}",
        error.message
    );
}

/// Shopify's example order (identical in orders/create, paid, updated and cancelled) does
/// not balance: total_discounts says 20.00 but no line or shipping line carries an
/// allocation, and its shipping line says 10.00 (discounted to 0.00, by nothing). It is a
/// dead letter with the figures, as any such order would be.
#[test]
fn shopifys_example_orders_are_refused_with_the_mismatch() {
    for body in [
        shopify!("orders_create.json"),
        shopify!("orders_paid.json"),
        shopify!("orders_updated.json"),
        shopify!("orders_cancelled.json"),
    ] {
        let payload = OrderPayload::parse(body).expect("Shopify's example parses");
        let error = sales_order(&payload, &rules()).unwrap_err();
        assert_eq!(error.cause, "total_mismatch");
        assert_eq!(
            error.message,
            "total mismatch 20.00 on order #9999 (id 820982911946154500): lines 414.95 - \
             discounts 0.00 + shipping 10.00 + tax 0.00 = 424.95, Shopify says 404.95"
        );
    }
}

#[test]
fn shopifys_example_order_edit_is_not_an_order() {
    let error = OrderPayload::parse(shopify!("orders_edited.json")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the body is not a Shopify order: at the top level: missing field `id` at line 36 \
         column 1"
    );
    let failure = Failure::from(error);
    assert_eq!(failure.cause, "malformed_payload");
}

fn refund_of(body: &str, order: Option<&str>) -> Result<plumb_agent::erp::Refund, MappingError> {
    let order = order.map(|o| OrderPayload::parse(o).expect("order parses"));
    refund(
        &RefundPayload::parse(body).expect("refund parses"),
        order.as_ref(),
        &rules(),
    )
}

/// Each line as "SKU-0003 1 x 4.16, tax [0.17, 0.19], restock WH-EAST".
fn refund_lines(lines: &[RefundLine]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let taxes: Vec<String> = l.taxes.iter().map(|t| t.amount.to_string()).collect();
            format!(
                "{} {} x {}, tax [{}], restock {}",
                l.sku,
                l.quantity,
                l.unit_amount,
                taxes.join(", "),
                l.restock_warehouse.as_deref().unwrap_or("none")
            )
        })
        .collect::<Vec<_>>()
}

#[test]
fn shopifys_example_refund_is_money_only() {
    let booked = refund_of(shopify!("refunds_create.json"), None).unwrap();
    assert_eq!(booked.shopify_refund_id, 890_088_186_047_892_400);
    assert_eq!(booked.shopify_order_id, 820_982_911_946_154_500);
    assert_eq!(booked.currency.as_str(), "USD");
    assert_eq!(
        refund_lines(&booked.lines),
        [
            "SKU2006-001 1 x 89.99, tax [], restock none",
            "LENS-PROTECT-2YR 1 x 19.99, tax [], restock none",
            "CASE-LEATHER-PREM 1 x 24.99, tax [], restock none",
            "SKU2006-020 1 x 159.99, tax [], restock none",
            "SKU2006-035 1 x 119.99, tax [], restock none",
        ]
    );
    assert_eq!(booked.shipping, Decimal::ZERO);
}

#[test]
fn a_refund_restocks_at_its_location_in_whole_cents() {
    let booked = refund_of(own!("refund_return.json"), None).unwrap();
    assert_eq!(
        refund_lines(&booked.lines),
        [
            // 12.50 over 3 units: 4.16 + 2 x 4.17; the tax follows the amounts
            "SKU-0003 1 x 4.16, tax [0.17, 0.19], restock WH-EAST",
            "SKU-0003 2 x 4.17, tax [0.33, 0.37], restock WH-EAST",
            "SKU-0002 1 x 16.67, tax [0.67, 0.75], restock none",
        ]
    );
    let credited: Decimal = booked
        .lines
        .iter()
        .map(|l| l.unit_amount * l.quantity)
        .sum();
    assert_eq!(credited, dec("29.17"), "12.50 + 16.67, to the cent");
    assert_eq!(booked.shipping, dec("5.00"), "from refund_shipping_lines");
}

#[test]
fn shipping_refunded_as_an_adjustment_counts_once() {
    let booked = refund_of(own!("refund_shipping_adjustment.json"), None).unwrap();
    assert_eq!(booked.shipping, dec("5.00"));
    assert_eq!(
        refund_lines(&booked.lines),
        [
            "SKU-0001 1 x 8.33, tax [0.33, 0.37], restock WH-EAST",
            "SKU-0001 1 x 8.34, tax [0.34, 0.38], restock WH-EAST",
        ],
        "cancelled at no location: restocked at the first mapping"
    );
}

#[test]
fn a_restock_at_an_unmapped_location_is_refused() {
    let body = edited(own!("refund_return.json"), |r| {
        r["refund_line_items"][0]["location_id"] = json!(777);
    });
    let error = refund_of(&body, None).unwrap_err();
    assert_eq!(error.cause, "unmapped_location");
    assert_eq!(
        error.message,
        "refunded line 55013 (Plumb Sticker) restocks at Shopify location 777, which is not \
         mapped on refund 5601 of order 5501: add a [[locations]] entry with \
         shopify_location = 777 and the ERP warehouse the goods go back to"
    );
}

#[test]
fn a_refund_discrepancy_is_refused_for_a_person_to_book() {
    let error = refund_of(own!("refund_discrepancy.json"), None).unwrap_err();
    assert_eq!(error.cause, "refund_discrepancy");
    assert_eq!(
        error.message,
        "refund_discrepancy of 2.00 on refund 5603 of order 5501: Refund discrepancy: the ERP \
         refund books lines and shipping only; book this amount by hand"
    );
}

#[test]
fn the_order_supplies_what_the_refunds_line_lacks() {
    let body = edited(own!("refund_return.json"), |r| {
        r["refund_line_items"][1]
            .as_object_mut()
            .unwrap()
            .remove("line_item");
    });
    let without = refund_of(&body, None).unwrap_err();
    assert_eq!(without.cause, "line_without_sku");
    let with = refund_of(&body, Some(own!("discounts_split.json"))).unwrap();
    assert_eq!(with.lines[2].sku.as_str(), "SKU-0002");
    assert_eq!(with.lines[2].taxes.len(), 2);
}

/// The REST body as the GraphQL `Order` the backfill reads: camelCase, GIDs, connections.
fn as_graphql(rest: &Value) -> Value {
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let upper = |v: &Value| v.as_str().unwrap_or_default().to_uppercase();
    let gid = |kind: &str, id: &Value| json!(format!("gid://shopify/{kind}/{id}"));
    let bag = |b: &Value| {
        json!({
            "shopMoney": {"amount": b["shop_money"]["amount"], "currencyCode": b["shop_money"]["currency_code"]},
            "presentmentMoney": {"amount": b["presentment_money"]["amount"], "currencyCode": b["presentment_money"]["currency_code"]},
        })
    };
    let taxes = |t: &Value| -> Value {
        list(t).iter()
            .map(|t| json!({"title": t["title"], "rate": t["rate"], "priceSet": bag(&t["price_set"])}))
            .collect()
    };
    let allocations = |a: &Value| -> Value {
        list(a).iter()
            .map(|a| json!({"allocatedAmountSet": bag(&a["amount_set"]), "discountApplication": {"index": a["discount_application_index"]}}))
            .collect()
    };
    let address = |a: &Value| {
        json!({"name": a["name"], "firstName": a["first_name"], "lastName": a["last_name"],
            "company": a["company"], "address1": a["address1"], "address2": a["address2"],
            "zip": a["zip"], "city": a["city"], "provinceCode": a["province_code"],
            "countryCodeV2": a["country_code"], "phone": a["phone"]})
    };
    let lines: Vec<Value> = list(&rest["line_items"]).iter().map(|l| json!({
        "id": gid("LineItem", &l["id"]), "sku": l["sku"], "name": l["name"],
        "quantity": l["quantity"], "currentQuantity": l["current_quantity"],
        "isGiftCard": l["gift_card"], "requiresShipping": l["requires_shipping"],
        "taxable": l["taxable"],
        "variant": if l["variant_id"].is_null() { Value::Null } else { json!({"id": gid("ProductVariant", &l["variant_id"])}) },
        "originalUnitPriceSet": bag(&l["price_set"]), "totalDiscountSet": bag(&l["total_discount_set"]),
        "discountedTotalSet": bag(&l["price_set"]),
        "discountAllocations": allocations(&l["discount_allocations"]), "taxLines": taxes(&l["tax_lines"]),
    })).collect();
    let shipping: Vec<Value> = list(&rest["shipping_lines"]).iter().map(|s| json!({
        "id": gid("ShippingLine", &s["id"]), "title": s["title"], "code": s["code"],
        "originalPriceSet": bag(&s["price_set"]), "discountedPriceSet": bag(&s["discounted_price_set"]),
        "discountAllocations": allocations(&s["discount_allocations"]), "taxLines": taxes(&s["tax_lines"]),
    })).collect();
    let applications: Vec<Value> = list(&rest["discount_applications"])
        .iter()
        .enumerate()
        .map(|(i, a)| {
            json!({
                "index": i, "allocationMethod": upper(&a["allocation_method"]),
                "targetSelection": upper(&a["target_selection"]),
                "targetType": upper(&a["target_type"]),
                "value": {"__typename": "MoneyV2", "amount": a["value"], "currencyCode": "USD"},
            })
        })
        .collect();
    let customer = &rest["customer"];
    json!({
        "id": gid("Order", &rest["id"]), "legacyResourceId": rest["id"].to_string(),
        "name": rest["name"], "email": rest["email"], "createdAt": rest["created_at"],
        "updatedAt": rest["updated_at"], "processedAt": rest["processed_at"],
        "cancelledAt": null, "cancelReason": null, "closedAt": null, "test": false,
        "currencyCode": rest["currency"], "presentmentCurrencyCode": rest["presentment_currency"],
        "taxesIncluded": rest["taxes_included"], "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "UNFULFILLED", "paymentGatewayNames": rest["payment_gateway_names"],
        "retailLocation": if rest["location_id"].is_null() { Value::Null } else { json!({"id": gid("Location", &rest["location_id"])}) },
        "customer": {"id": gid("Customer", &customer["id"]), "firstName": customer["first_name"],
            "lastName": customer["last_name"], "defaultEmailAddress": {"emailAddress": customer["email"]},
            "defaultPhoneNumber": {"phoneNumber": customer["phone"]}},
        "billingAddress": address(&rest["billing_address"]), "shippingAddress": address(&rest["shipping_address"]),
        "subtotalPriceSet": bag(&rest["subtotal_price_set"]), "totalPriceSet": bag(&rest["total_price_set"]),
        "currentTotalPriceSet": bag(&rest["current_total_price_set"]),
        "totalDiscountsSet": bag(&rest["total_discounts_set"]),
        "totalShippingPriceSet": bag(&rest["total_shipping_price_set"]),
        "totalTaxSet": bag(&rest["total_tax_set"]), "totalRefundedSet": bag(&rest["total_tax_set"]),
        "taxLines": taxes(&rest["tax_lines"]),
        "discountApplications": {"nodes": applications},
        "shippingLines": {"nodes": shipping},
        "lineItems": {"nodes": lines, "pageInfo": {"hasNextPage": false, "endCursor": null}},
    })
}

/// The backfill's GraphQL order maps to the very sales order its webhook does: one mapping.
#[test]
fn the_backfills_order_maps_like_the_webhooks() {
    for (name, body) in OWN {
        let rest: Value = serde_json::from_str(body).unwrap();
        let order: Order =
            serde_json::from_value(as_graphql(&rest)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let from_graphql = sales_order(&OrderPayload::from_graphql(&order), &rules())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(from_graphql, map(body).unwrap(), "{name}");
    }
}
