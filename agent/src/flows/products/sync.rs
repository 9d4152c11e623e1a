//! One sync of some SKUs: the ERP's values of the fields it owns against Shopify's, with
//! what was last synced to tell an ERP change from an edit made in Shopify (see the flow's
//! data flow), then the writes and one store write.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;

use plumb_common::{ErrorClass, Sku};

use crate::config::{Field, OnConflict, Owner};
use crate::erp::{ProductRecord, Selection};
use crate::shopify::{NewProduct, ShopifyClient, VariantFields, VariantUpdate};
use crate::store::{Failure, NewJob, SyncedProductRecord};

use super::super::FlowContext;
use super::item_dead_letter;

/// The decision for one field.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision<T> {
    /// Not the ERP's, or the ERP gives no value: left alone, not recorded.
    Skip,
    /// Shopify shows the ERP's value.
    Agree(T),
    /// Write the ERP's value.
    Write(T),
    /// Write the ERP's value over an edit made in Shopify (`on_conflict = "revert"`).
    Revert(T),
    /// Shopify was edited away from what was synced: a conflict (not written in report
    /// mode). Carries Shopify's value for the report, and the last synced value to keep.
    Conflict {
        erp: T,
        shopify: Option<T>,
        synced: Option<T>,
    },
}

/// Decides one field (see the module's rules); `force` writes the ERP's value over an edit
/// made in Shopify (a dead letter retried).
fn decide<T: PartialEq + Clone>(
    owned: bool,
    erp: Option<&T>,
    shopify: Option<&T>,
    synced: Option<&T>,
    force: bool,
    on_conflict: OnConflict,
) -> Decision<T> {
    let Some(erp) = erp.filter(|_| owned) else {
        return Decision::Skip;
    };
    if shopify == Some(erp) {
        return Decision::Agree(erp.clone());
    }
    let edited_in_shopify = synced.is_some_and(|synced| shopify != Some(synced));
    if !edited_in_shopify || force {
        return Decision::Write(erp.clone());
    }
    if on_conflict == OnConflict::Revert {
        return Decision::Revert(erp.clone());
    }
    Decision::Conflict {
        erp: erp.clone(),
        shopify: shopify.cloned(),
        synced: synced.cloned(),
    }
}

/// What one product needs: its variants' updates, the SKUs it carries, a title to set.
#[derive(Debug, Default)]
struct ProductWrite {
    updates: Vec<VariantUpdate>,
    skus: Vec<String>,
    title: Option<String>,
}

/// What one SKU needs.
#[derive(Debug, Default)]
struct Plan {
    update: VariantUpdate,
    title: Option<String>,
    synced: SyncedProductRecord,
    conflicts: Vec<String>,
    reverted: Vec<String>,
}

impl Plan {
    /// Folds a field's decision in: what to write, what is now synced, what conflicts.
    fn take<T: Clone + Display>(
        &mut self,
        name: &str,
        decision: Decision<T>,
        write: impl FnOnce(&mut Plan, T),
        synced: impl FnOnce(&mut SyncedProductRecord, Option<T>),
    ) {
        match decision {
            Decision::Skip => {}
            Decision::Agree(value) => synced(&mut self.synced, Some(value)),
            Decision::Write(value) => {
                synced(&mut self.synced, Some(value.clone()));
                write(self, value);
            }
            Decision::Revert(value) => {
                self.reverted.push(name.to_owned());
                synced(&mut self.synced, Some(value.clone()));
                write(self, value);
            }
            Decision::Conflict {
                erp,
                shopify,
                synced: last,
            } => {
                synced(&mut self.synced, last);
                let shown = shopify.map_or_else(|| "(none)".to_owned(), |v| v.to_string());
                self.conflicts
                    .push(format!("{name}: Shopify has {shown}, the ERP {erp}"));
            }
        }
    }
}

/// Compares one SKU's ERP record with its one Shopify variant.
fn plan(
    context: &FlowContext,
    erp: &ProductRecord,
    shopify: &VariantFields,
    synced: Option<&SyncedProductRecord>,
    force: bool,
) -> Plan {
    let ownership = &context.config.ownership;
    let owned = |field: Field| ownership.owner(field) == Owner::Erp;
    let on_conflict = context.config.products.on_conflict;
    let mut plan = Plan {
        update: VariantUpdate {
            variant_id: shopify.variant_id,
            ..VariantUpdate::default()
        },
        ..Plan::default()
    };
    plan.synced.synced_at = context.clock.now();
    let last = synced.cloned().unwrap_or_default();
    // One field: what the ERP says, what Shopify shows and what was last synced decide
    // whether it is written; `$record` names it in the synced record too.
    macro_rules! field {
        ($field:expr, $record:ident, $erp:expr, $shopify:expr, |$p:ident, $v:ident| $write:expr) => {
            plan.take(
                stringify!($record),
                decide(
                    owned($field),
                    $erp,
                    $shopify,
                    last.$record.as_ref(),
                    force,
                    on_conflict,
                ),
                |$p, $v| $write,
                |s, v| s.$record = v,
            )
        };
    }
    field!(
        Field::Price,
        price,
        Some(&erp.price),
        Some(&shopify.price),
        |p, v| { p.update.price = Some(v) }
    );
    field!(
        Field::CompareAtPrice,
        compare_at_price,
        erp.compare_at_price.as_ref(),
        shopify.compare_at_price.as_ref(),
        |p, v| p.update.compare_at_price = Some(v)
    );
    field!(
        Field::Barcode,
        barcode,
        erp.barcode.as_ref(),
        shopify.barcode.as_ref(),
        |p, v| { p.update.barcode = Some(v) }
    );
    field!(
        Field::Cost,
        cost,
        erp.cost.as_ref(),
        shopify.cost.as_ref(),
        |p, v| { p.update.cost = Some(v) }
    );
    let title = (!erp.title.is_empty()).then_some(&erp.title);
    field!(Field::Title, title, title, Some(&shopify.title), |p, v| {
        p.title = Some(v)
    });
    plan
}

/// Syncs `skus`: compares, writes what differs, records what is in sync, dead-letters
/// what cannot be synced. A transient failure fails the job (retried whole: the writes
/// set absolute values).
pub async fn run(context: &FlowContext, skus: &[String], force: bool) -> Result<(), Failure> {
    if skus.is_empty() {
        return Ok(());
    }
    let shopify = context.shopify.as_ref().ok_or_else(|| {
        Failure::transient(
            "shopify_not_configured",
            "no [shopify] section in the configuration: products wait until one is set",
        )
    })?;
    let erp = context.erp.as_ref().ok_or_else(|| {
        Failure::transient(
            "erp_not_configured",
            "no [erp] section in the configuration: products wait until one is set",
        )
    })?;
    let wanted: Vec<Sku> = skus
        .iter()
        .filter_map(|s| Sku::new(s.clone()).ok())
        .collect();
    let records: HashMap<String, ProductRecord> = erp
        .products(Selection::Skus(&wanted))
        .await?
        .into_iter()
        .map(|r| (r.sku.to_string(), r))
        .collect();
    let known: Vec<String> = skus
        .iter()
        .filter(|s| records.contains_key(*s))
        .cloned()
        .collect();
    let mut variants: BTreeMap<String, Vec<VariantFields>> = BTreeMap::new();
    for variant in shopify.variant_fields(&known).await? {
        variants
            .entry(variant.sku.clone())
            .or_default()
            .push(variant);
    }
    let synced: HashMap<String, SyncedProductRecord> = context
        .store
        .synced_products(known.clone())
        .await?
        .into_iter()
        .collect();

    let mut dead: Vec<NewJob> = Vec::new();
    let mut in_sync: Vec<(String, SyncedProductRecord)> = Vec::new();
    let mut products: BTreeMap<u64, ProductWrite> = BTreeMap::new();
    let mut missing = 0usize;
    let mut to_create: Vec<NewProduct> = Vec::new();
    for sku in &known {
        let Some(record) = records.get(sku) else {
            continue;
        };
        let found = variants.get(sku).map(Vec::as_slice).unwrap_or_default();
        let variant = match found {
            [] if context.config.products.create_missing && record.active => {
                to_create.push(NewProduct {
                    sku: sku.clone(),
                    title: record.title.clone(),
                    price: record.price,
                    compare_at_price: record.compare_at_price,
                    barcode: record.barcode.clone(),
                    cost: record.cost,
                });
                continue;
            }
            [] => {
                missing += 1;
                continue;
            }
            [one] => one,
            many => {
                let ids: Vec<String> = many.iter().map(|v| v.variant_id.to_string()).collect();
                let failure = Failure::permanent(
                    "duplicate_sku",
                    format!(
                        "SKU {sku} is on {} Shopify variants ({}): Plumb cannot tell which \
                         one the ERP's product is. Give each variant its own SKU, then retry",
                        many.len(),
                        ids.join(", ")
                    ),
                );
                dead.push(item_dead_letter(sku, &ids.join(","), failure));
                continue;
            }
        };
        let plan = plan(context, record, variant, synced.get(sku), force);
        if !plan.reverted.is_empty() {
            tracing::warn!(
                flow = "products",
                sku = %sku,
                variant = variant.variant_id,
                fields = %plan.reverted.join(", "),
                "fields the ERP owns were edited in Shopify; writing the ERP's values back \
                 (products.on_conflict = \"revert\")"
            );
        }
        if !plan.conflicts.is_empty() {
            let detail = plan.conflicts.join("; ");
            let failure = Failure::permanent(
                "owned_field_edited",
                format!(
                    "SKU {sku} (variant {}): a field the ERP owns was edited in Shopify: \
                     {detail}. Shopify's value stays (products.on_conflict = \"report\"): \
                     retry to write the ERP's, or change it in the ERP",
                    variant.variant_id
                ),
            );
            dead.push(item_dead_letter(sku, &detail, failure));
        }
        let entry = products.entry(variant.product_id).or_default();
        if !plan.update.is_empty() {
            entry.updates.push(plan.update);
        }
        entry.skus.push(sku.clone());
        if entry.title.is_none() {
            entry.title = plan.title;
        }
        in_sync.push((sku.clone(), plan.synced));
    }

    let mut written = 0usize;
    for (product, write) in products {
        let ProductWrite {
            updates,
            skus: product_skus,
            title,
        } = write;
        let outcome = write_product(shopify, product, &updates, title.as_deref()).await;
        match outcome {
            Ok(()) => written += updates.len() + usize::from(title.is_some()),
            Err(failure) if failure.class == ErrorClass::Transient => return Err(failure),
            Err(failure) => {
                // Refused: nothing of this product is in sync; each SKU is a dead letter.
                in_sync.retain(|(sku, _)| !product_skus.contains(sku));
                for sku in &product_skus {
                    dead.push(item_dead_letter(sku, &failure.cause, failure.clone()));
                }
            }
        }
    }
    for product in to_create {
        match shopify
            .create_product(&product)
            .await
            .map_err(Failure::from)
        {
            Ok(id) => {
                tracing::info!(flow = "products", sku = %product.sku, product = id, handle = %product.handle(), "ERP product created in Shopify as a draft");
                written += 1;
                let synced = SyncedProductRecord {
                    title: Some(product.title.clone()),
                    price: Some(product.price),
                    compare_at_price: product.compare_at_price,
                    barcode: product.barcode.clone(),
                    cost: product.cost,
                    synced_at: context.clock.now(),
                };
                in_sync.push((product.sku.clone(), synced));
            }
            Err(failure) if failure.class == ErrorClass::Transient => return Err(failure),
            Err(failure) => {
                dead.push(item_dead_letter(
                    &product.sku,
                    &failure.cause,
                    failure.clone(),
                ));
            }
        }
    }
    if missing > 0 {
        tracing::debug!(
            flow = "products",
            missing,
            "ERP products with no Shopify variant skipped (products.create_missing is off)"
        );
    }
    if written > 0 {
        tracing::info!(
            flow = "products",
            written,
            skus = known.len(),
            "product fields written to Shopify"
        );
    }
    let now = context.clock.now();
    context
        .store
        .write(move |ctx| {
            for (sku, record) in &in_sync {
                ctx.product_synced(sku, record)?;
            }
            for job in dead {
                ctx.enqueue(job, now)?;
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// Writes one product's variant updates and title.
async fn write_product(
    shopify: &ShopifyClient,
    product: u64,
    updates: &[VariantUpdate],
    title: Option<&str>,
) -> Result<(), Failure> {
    if !updates.is_empty() {
        shopify.update_variants(product, updates).await?;
    }
    if let Some(title) = title {
        shopify.update_product_title(product, title).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REVERT: OnConflict = OnConflict::Revert;
    const REPORT: OnConflict = OnConflict::Report;

    #[test]
    fn a_field_not_owned_or_without_an_erp_value_is_left_alone() {
        assert_eq!(
            decide(false, Some(&1), Some(&2), None, true, REVERT),
            Decision::Skip
        );
        assert_eq!(
            decide::<i32>(true, None, Some(&2), None, true, REVERT),
            Decision::Skip
        );
    }

    #[test]
    fn an_erp_change_is_written_and_an_agreement_recorded() {
        // Never synced: the ERP owns it.
        assert_eq!(
            decide(true, Some(&5), Some(&4), None, false, REPORT),
            Decision::Write(5)
        );
        // Shopify still shows what was synced: the ERP changed.
        assert_eq!(
            decide(true, Some(&5), Some(&4), Some(&4), false, REPORT),
            Decision::Write(5)
        );
        assert_eq!(
            decide(true, Some(&5), Some(&5), Some(&4), false, REPORT),
            Decision::Agree(5)
        );
    }

    #[test]
    fn an_edit_in_shopify_is_reverted_or_reported_as_configured() {
        assert_eq!(
            decide(true, Some(&5), Some(&9), Some(&5), false, REVERT),
            Decision::Revert(5)
        );
        assert_eq!(
            decide(true, Some(&5), Some(&9), Some(&5), false, REPORT),
            Decision::Conflict {
                erp: 5,
                shopify: Some(9),
                synced: Some(5)
            }
        );
        // A retried dead letter writes the ERP's value.
        assert_eq!(
            decide(true, Some(&5), Some(&9), Some(&5), true, REPORT),
            Decision::Write(5)
        );
        // A value removed in Shopify is an edit too.
        assert_eq!(
            decide(true, Some(&5), None, Some(&5), false, REPORT),
            Decision::Conflict {
                erp: 5,
                shopify: None,
                synced: Some(5)
            }
        );
    }
}
