//! The admin handle: what tests, benchmarks and the demo use to set the shop up, look
//! inside it, place orders and inject faults. Every change that Shopify would announce
//! goes through the same webhook routing as the GraphQL path.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::Shared;
use super::faults::{FaultConfig, FaultCounters};
use super::inventory::UserError;
use super::orders::{self, OrderSpec, ShopError};
use super::state::{InventoryItem, Level, Location, Order, Product, Subscription, Variant, now};
use super::stats::Stats;
use super::webhooks::DeliveryRecord;

/// Ids of a created product.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CreatedProduct {
    /// The product.
    pub product_id: u64,
    /// (variant id, inventory item id, sku) per variant, in order.
    pub variants: Vec<CreatedVariant>,
}

/// Ids of a created variant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CreatedVariant {
    /// The variant.
    pub variant_id: u64,
    /// Its inventory item.
    pub inventory_item_id: u64,
    /// Its SKU.
    pub sku: String,
}

/// A cheap, cloneable handle on a running sandbox.
#[derive(Debug, Clone)]
pub struct Admin {
    shared: Arc<Shared>,
}

impl Admin {
    pub(super) fn new(shared: Arc<Shared>) -> Admin {
        Admin { shared }
    }

    /// Runs `change` on the state, then delivers what it announced.
    fn change<T>(&self, change: impl FnOnce(&mut super::state::State) -> T) -> T {
        let (result, deliveries) = {
            let mut state = self.shared.lock_state();
            let result = change(&mut state);
            let deliveries = self.shared.route_events(&mut state);
            (result, deliveries)
        };
        self.shared.deliver(deliveries);
        result
    }

    /// Edits a product as a merchant would in the admin (`edit` gets the product and its
    /// variants), then announces `products/update` as Shopify does.
    pub fn edit_product(
        &self,
        product_id: u64,
        edit: impl FnOnce(&mut super::state::Product, &mut [&mut Variant]),
    ) {
        self.change(|state| {
            let time = now();
            let Some(mut product) = state.products.remove(&product_id) else {
                return;
            };
            let mut variants: Vec<Variant> = product
                .variants
                .iter()
                .filter_map(|id| state.variants.remove(id))
                .collect();
            {
                let mut refs: Vec<&mut Variant> = variants.iter_mut().collect();
                edit(&mut product, &mut refs);
            }
            product.updated_at = time;
            for mut variant in variants {
                variant.updated_at = time;
                state.variants.insert(variant.id, variant);
            }
            state.products.insert(product_id, product);
            let payload = super::payloads::product(state, product_id, "products/update");
            state.announce("products/update", payload);
        });
    }

    /// Adds an active location.
    pub fn add_location(&self, name: &str) -> u64 {
        self.change(|state| {
            let id = state.next_id();
            let time = now();
            state.locations.insert(
                id,
                Location {
                    id,
                    name: name.to_owned(),
                    active: true,
                    created_at: time,
                    updated_at: time,
                },
            );
            id
        })
    }

    /// Adds a product with one variant (and inventory item) per `(sku, price)`.
    pub fn add_product(&self, title: &str, variants: &[(&str, Decimal)]) -> CreatedProduct {
        self.change(|state| {
            let time = now();
            let product_id = state.next_id();
            let mut created = Vec::new();
            for (index, (sku, price)) in variants.iter().enumerate() {
                let variant_id = state.next_id();
                let item_id = state.next_id();
                state.variants.insert(
                    variant_id,
                    Variant {
                        id: variant_id,
                        product_id,
                        title: if variants.len() == 1 {
                            "Default Title".to_owned()
                        } else {
                            format!("Option {}", index + 1)
                        },
                        sku: (*sku).to_owned(),
                        price: *price,
                        compare_at_price: None,
                        barcode: None,
                        inventory_item_id: item_id,
                        created_at: time,
                        updated_at: time,
                    },
                );
                state.items.insert(
                    item_id,
                    InventoryItem {
                        id: item_id,
                        sku: (*sku).to_owned(),
                        tracked: true,
                        cost: None,
                        variant_id,
                        created_at: time,
                        updated_at: time,
                    },
                );
                created.push(CreatedVariant {
                    variant_id,
                    inventory_item_id: item_id,
                    sku: (*sku).to_owned(),
                });
            }
            state.products.insert(
                product_id,
                Product {
                    id: product_id,
                    title: title.to_owned(),
                    handle: title.to_lowercase().replace(' ', "-"),
                    vendor: "Plumb".to_owned(),
                    variants: created.iter().map(|v| v.variant_id).collect(),
                    description_html: String::new(),
                    status: "ACTIVE".to_owned(),
                    created_at: time,
                    updated_at: time,
                },
            );
            CreatedProduct {
                product_id,
                variants: created,
            }
        })
    }

    /// Adds `count` single-variant products with SKUs `<prefix>-00000`..., each stocked
    /// with `available` at every one of `locations`: a catalogue for bulk tests.
    pub fn add_catalog(
        &self,
        prefix: &str,
        count: usize,
        locations: &[u64],
        available: i64,
    ) -> Vec<CreatedVariant> {
        let mut created = Vec::with_capacity(count);
        for n in 0..count {
            let sku = format!("{prefix}-{n:05}");
            let product = self.add_product(
                &format!("{prefix} {n}"),
                &[(sku.as_str(), Decimal::new(1000 + n as i64 % 9000, 2))],
            );
            for variant in product.variants {
                for location in locations {
                    self.stock(variant.inventory_item_id, *location, available);
                }
                created.push(variant);
            }
        }
        created
    }

    /// Stocks `item` at `location` with `available` (creating the level if needed). Does
    /// not announce: it is setup, not a shop event.
    pub fn stock(&self, item: u64, location: u64, available: i64) {
        let mut state = self.shared.lock_state();
        let time = now();
        let level = state.level_at(item, location, time);
        level.available = available;
        level.updated_at = Some(time);
    }

    /// Sets whether `item` tracks its quantity (setup, or a merchant's edit not announced).
    pub fn set_tracked(&self, item: u64, tracked: bool) {
        let mut state = self.shared.lock_state();
        if let Some(mut item) = state.items.get_mut(&item) {
            item.tracked = tracked;
        }
    }

    /// Sets any stored quantity of a level directly (setup; no announcement).
    pub fn set_quantity(
        &self,
        item: u64,
        location: u64,
        name: super::state::QuantityName,
        quantity: i64,
    ) {
        let mut state = self.shared.lock_state();
        if let Some(level) = state.levels.get_mut(&(item, location)) {
            let current = level.get(name);
            level.add(name, quantity - current);
            level.updated_at = Some(now());
        }
    }

    /// The level of `item` at `location`.
    pub fn level(&self, item: u64, location: u64) -> Option<Level> {
        self.shared
            .lock_state()
            .levels
            .get(&(item, location))
            .cloned()
    }

    /// Every level: ((item, location), level).
    pub fn levels(&self) -> Vec<((u64, u64), Level)> {
        self.shared
            .lock_state()
            .levels
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    /// The inventory item id of `sku`.
    pub fn item_by_sku(&self, sku: &str) -> Option<u64> {
        self.shared
            .lock_state()
            .item_by_sku(sku)
            .map(|item| item.id)
    }

    /// The variant id of `sku`.
    pub fn variant_by_sku(&self, sku: &str) -> Option<u64> {
        self.shared
            .lock_state()
            .variants
            .with_sku(sku)
            .next()
            .map(|v| v.id)
    }

    /// Places an order (commits stock, fires `orders/create`, `inventory_levels/update`).
    pub fn place_order(&self, spec: &OrderSpec) -> Result<u64, ShopError> {
        self.change(|state| orders::place(state, spec))
    }

    /// Marks an order paid.
    pub fn mark_paid(&self, order_id: u64) -> Result<(), ShopError> {
        self.change(|state| orders::mark_paid(state, order_id))
    }

    /// Cancels an order, restocking or not.
    pub fn cancel_order(&self, order_id: u64, restock: bool) -> Result<(), ShopError> {
        self.change(|state| orders::cancel(state, order_id, "CUSTOMER", restock))
            .map_err(|errors| shop_error(&errors))
    }

    /// Refunds `(line item id, quantity, restock type, location)` lines of an order.
    pub fn refund(
        &self,
        order_id: u64,
        lines: &[(u64, i64, &str, Option<u64>)],
    ) -> Result<u64, ShopError> {
        let input = serde_json::json!({
            "orderId": super::state::gid("Order", order_id),
            "refundLineItems": lines.iter().map(|(line, quantity, restock, location)| {
                let mut row = serde_json::json!({
                    "lineItemId": super::state::gid("LineItem", *line),
                    "quantity": quantity,
                    "restockType": restock,
                });
                if let Some(location) = location {
                    row["locationId"] = serde_json::json!(super::state::gid("Location", *location));
                }
                row
            }).collect::<Vec<_>>(),
        });
        self.change(|state| orders::refund(state, &input))
            .map(|(_, refund)| refund)
            .map_err(|errors| shop_error(&errors))
    }

    /// Fulfils everything left on an order, with an optional tracking number.
    pub fn fulfil_order(
        &self,
        order_id: u64,
        tracking_number: Option<&str>,
    ) -> Result<u64, ShopError> {
        self.change(|state| {
            let fos = state.orders.get(&order_id).map(|o| o.fulfillment_orders.clone()).unwrap_or_default();
            let open: Vec<_> = fos
                .iter()
                .filter(|fo| state.fulfillment_orders.get(fo).is_some_and(|fo| fo.lines.iter().any(|l| l.remaining_quantity > 0)))
                .map(|fo| serde_json::json!({"fulfillmentOrderId": super::state::gid("FulfillmentOrder", *fo)}))
                .collect();
            let input = serde_json::json!({
                "lineItemsByFulfillmentOrder": open,
                "trackingInfo": {"number": tracking_number, "company": tracking_number.map(|_| "UPS")},
            });
            orders::fulfil(state, &input)
                .map_err(|errors| shop_error(&errors))
        })
    }

    /// An order.
    pub fn order(&self, order_id: u64) -> Option<Order> {
        self.shared.lock_state().orders.get(&order_id).cloned()
    }

    /// Subscribes `uri` to `topic` (REST spelling, e.g. `orders/create`).
    pub fn subscribe(&self, topic: &str, uri: &str) -> u64 {
        self.change(|state| {
            let id = state.next_id();
            state.subscriptions.insert(
                id,
                Subscription {
                    id,
                    topic: topic.to_owned(),
                    uri: uri.to_owned(),
                    api_version: super::schema::ApiVersion::V2026_07.as_str(),
                    created_at: now(),
                },
            );
            id
        })
    }

    /// Current subscriptions.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.shared
            .lock_state()
            .subscriptions
            .values()
            .cloned()
            .collect()
    }

    /// The delivery log.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.shared.lock_deliveries().clone()
    }

    /// Replaces the fault configuration.
    pub fn set_faults(&self, faults: FaultConfig) {
        self.shared.lock_faults().config = faults;
    }

    /// Reseeds the fault RNG.
    pub fn reseed(&self, seed: u64) {
        self.shared.lock_faults().reseed(seed);
    }

    /// The current fault configuration.
    pub fn faults(&self) -> FaultConfig {
        self.shared.lock_faults().config.clone()
    }

    /// What was injected.
    pub fn fault_counters(&self) -> FaultCounters {
        self.shared.lock_faults().counters.clone()
    }

    /// Request, cost and throttle counters.
    pub fn stats(&self) -> Stats {
        self.shared.lock_stats().clone()
    }

    /// Moves the shop to `plan`: a bucket of its size and restore rate, full (a benchmark
    /// sets up on a large plan, then measures on a small one).
    pub fn set_plan(&self, plan: super::bucket::Plan) {
        *self.shared.lock_bucket() = super::bucket::Bucket::for_plan(plan);
    }

    /// Sets the points in the bucket (drain it to test throttling).
    pub fn set_bucket(&self, available: f64) {
        self.shared.lock_bucket().set_available(available);
    }

    /// The most points the accounting can have allowed over `elapsed` since the bucket
    /// was full: its size plus the restore rate times the time. A benchmark compares the
    /// points charged with this to check the sandbox's limit was the real one.
    pub fn allowed_points(&self, elapsed: std::time::Duration) -> f64 {
        let status = self.shared.lock_bucket().status();
        status.maximum_available + status.restore_rate * elapsed.as_secs_f64()
    }

    /// The bucket now.
    pub fn throttle_status(&self) -> super::bucket::ThrottleStatus {
        self.shared.lock_bucket().status()
    }

    /// Runs `read` on the state (for inspection beyond the helpers above).
    pub fn with_state<T>(&self, read: impl FnOnce(&super::state::State) -> T) -> T {
        read(&self.shared.lock_state())
    }
}

impl Admin {
    /// Announces `payload` on `topic` as if the shop had (for tests of delivery and
    /// signing with arbitrary payloads, such as Shopify's examples).
    pub fn emit(&self, topic: &'static str, payload: serde_json::Value) {
        self.change(|state| state.announce(topic, payload));
    }
}

/// The shop's refusal: its user errors' messages, joined.
fn shop_error(errors: &[UserError]) -> ShopError {
    ShopError(
        errors
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("; "),
    )
}
