//! Product fields the ERP may own: read per variant by SKU, written with
//! `productVariantsBulkUpdate` (price, compare-at price, barcode, cost) and `productUpdate`
//! (title). The caller decides which fields go in: a field absent from the input is never
//! touched, so a field the ERP does not own is never written.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::ShopifyClient;
use super::documents::{
    PRODUCT_CREATE, PRODUCT_TITLE_UPDATE, PRODUCT_VARIANTS_UPDATE, VARIANTS_FOR_SYNC,
};
use super::error::ShopifyError;
use super::ids::{Kind, de_gid, gid};
use super::mapping::WithSku;
use super::response::{UserError, reject_user_errors};

/// Variants per `productVariantsBulkUpdate` call: the input-array cap.
pub const VARIANTS_PER_UPDATE: usize = 250;

/// A variant as Shopify shows it, with the fields the products flow may own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantFields {
    /// The SKU.
    pub sku: String,
    /// The variant.
    pub variant_id: u64,
    /// Its product.
    pub product_id: u64,
    /// The product's title.
    pub title: String,
    /// Price.
    pub price: Decimal,
    /// Compare-at price.
    pub compare_at_price: Option<Decimal>,
    /// Barcode.
    pub barcode: Option<String>,
    /// The inventory item's unit cost.
    pub cost: Option<Decimal>,
}

/// What to set on one variant; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariantUpdate {
    /// The variant.
    pub variant_id: u64,
    /// New price.
    pub price: Option<Decimal>,
    /// New compare-at price.
    pub compare_at_price: Option<Decimal>,
    /// New barcode.
    pub barcode: Option<String>,
    /// New unit cost.
    pub cost: Option<Decimal>,
}

impl VariantUpdate {
    /// Whether it sets nothing.
    pub fn is_empty(&self) -> bool {
        self.price.is_none()
            && self.compare_at_price.is_none()
            && self.barcode.is_none()
            && self.cost.is_none()
    }

    /// The `ProductVariantsBulkInput`: only the fields set.
    pub fn input(&self) -> Value {
        let mut input = json!({"id": gid(Kind::ProductVariant, self.variant_id)});
        if let Some(price) = self.price {
            input["price"] = price.to_string().into();
        }
        if let Some(price) = self.compare_at_price {
            input["compareAtPrice"] = price.to_string().into();
        }
        if let Some(barcode) = &self.barcode {
            input["barcode"] = barcode.clone().into();
        }
        if let Some(cost) = self.cost {
            input["inventoryItem"] = json!({"cost": cost.to_string()});
        }
        input
    }
}

/// A product to create for an ERP product Shopify lacks: one variant, as a draft (what
/// the storefront shows is Shopify's to decide).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    /// The SKU.
    pub sku: String,
    /// The title.
    pub title: String,
    /// Price.
    pub price: Decimal,
    /// Compare-at price.
    pub compare_at_price: Option<Decimal>,
    /// Barcode.
    pub barcode: Option<String>,
    /// Unit cost.
    pub cost: Option<Decimal>,
}

impl NewProduct {
    /// The handle the product is created under, derived from the SKU alone so that a
    /// retry finds the product a lost answer hid: `plumb-` and the SKU's letters and
    /// digits, lower case, other runs of characters as one `-`.
    pub fn handle(&self) -> String {
        let mut handle = String::from("plumb-");
        let mut dash = false;
        for c in self.sku.chars() {
            if c.is_ascii_alphanumeric() {
                handle.push(c.to_ascii_lowercase());
                dash = false;
            } else if !dash {
                handle.push('-');
                dash = true;
            }
        }
        // A SKU's characters outside ASCII would all fold into dashes: keep it unique.
        if !self.sku.is_ascii() {
            let hex: String = self.sku.bytes().map(|b| format!("{b:02x}")).collect();
            handle.push_str(&hex);
        }
        handle.trim_end_matches('-').to_owned()
    }

    /// The `ProductSetInput`.
    pub fn input(&self) -> Value {
        let mut variant = json!({
            "optionValues": [{"optionName": "Title", "name": "Default Title"}],
            "price": self.price.to_string(),
            "sku": self.sku,
            "inventoryItem": {"sku": self.sku, "tracked": true},
        });
        if let Some(price) = self.compare_at_price {
            variant["compareAtPrice"] = price.to_string().into();
        }
        if let Some(barcode) = &self.barcode {
            variant["barcode"] = barcode.clone().into();
        }
        if let Some(cost) = self.cost {
            variant["inventoryItem"]["cost"] = cost.to_string().into();
        }
        json!({
            "title": self.title,
            "handle": self.handle(),
            "status": "DRAFT",
            "productOptions": [{"name": "Title", "values": [{"name": "Default Title"}]}],
            "variants": [variant],
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateData {
    product_set: Option<CreatePayload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatePayload {
    product: Option<super::money::Ref>,
    #[serde(default)]
    user_errors: Vec<UserError>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    #[serde(deserialize_with = "de_gid")]
    id: u64,
    sku: Option<String>,
    #[serde(with = "rust_decimal::serde::str")]
    price: Decimal,
    #[serde(default, with = "rust_decimal::serde::str_option")]
    compare_at_price: Option<Decimal>,
    barcode: Option<String>,
    product: ProductNode,
    inventory_item: ItemNode,
}

impl WithSku for Node {
    fn sku(&self) -> Option<&str> {
        self.sku.as_deref()
    }
}

#[derive(Debug, Deserialize)]
struct ProductNode {
    #[serde(deserialize_with = "de_gid")]
    id: u64,
    title: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemNode {
    unit_cost: Option<Amount>,
}

#[derive(Debug, Deserialize)]
struct Amount {
    #[serde(with = "rust_decimal::serde::str")]
    amount: Decimal,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateData {
    product_variants_bulk_update: Option<Payload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TitleData {
    product_update: Option<Payload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    #[serde(default)]
    user_errors: Vec<UserError>,
}

impl ShopifyClient {
    /// Every variant whose SKU is exactly one of `skus`, with the fields the flow may own.
    pub async fn variant_fields(
        &self,
        skus: &[String],
    ) -> Result<Vec<VariantFields>, ShopifyError> {
        let nodes: Vec<Node> = self
            .search_by_sku(&VARIANTS_FOR_SYNC, skus, json!({}))
            .await?;
        Ok(nodes
            .into_iter()
            .filter_map(|node| {
                Some(VariantFields {
                    sku: node.sku?,
                    variant_id: node.id,
                    product_id: node.product.id,
                    title: node.product.title,
                    price: node.price,
                    compare_at_price: node.compare_at_price,
                    barcode: node.barcode.filter(|b| !b.is_empty()),
                    cost: node.inventory_item.unit_cost.map(|c| c.amount),
                })
            })
            .collect())
    }

    /// Sets fields of variants of `product`, at most [`VARIANTS_PER_UPDATE`] a call. User
    /// errors are permanent errors (Shopify applies none of the call's rows then).
    pub async fn update_variants(
        &self,
        product: u64,
        updates: &[VariantUpdate],
    ) -> Result<(), ShopifyError> {
        for chunk in updates.chunks(VARIANTS_PER_UPDATE) {
            let variants: Vec<Value> = chunk.iter().map(VariantUpdate::input).collect();
            let data: UpdateData = self
                .execute(
                    &PRODUCT_VARIANTS_UPDATE,
                    json!({"productId": gid(Kind::Product, product), "variants": variants}),
                )
                .await?;
            let payload = data.product_variants_bulk_update.ok_or_else(|| {
                ShopifyError::Shape("productVariantsBulkUpdate returned null".to_owned())
            })?;
            reject_user_errors(payload.user_errors)?;
        }
        Ok(())
    }

    /// Creates `product` (or updates the product a lost answer hid, found by its handle);
    /// returns its id.
    pub async fn create_product(&self, product: &NewProduct) -> Result<u64, ShopifyError> {
        let data: CreateData = self
            .execute(
                &PRODUCT_CREATE,
                json!({"identifier": {"handle": product.handle()}, "input": product.input()}),
            )
            .await?;
        let payload = data
            .product_set
            .ok_or_else(|| ShopifyError::Shape("productSet returned null".to_owned()))?;
        reject_user_errors(payload.user_errors)?;
        payload.product.map(|p| p.id).ok_or_else(|| {
            ShopifyError::Shape("productSet returned neither a product nor errors".to_owned())
        })
    }

    /// Sets the title of `product`.
    pub async fn update_product_title(
        &self,
        product: u64,
        title: &str,
    ) -> Result<(), ShopifyError> {
        let data: TitleData = self
            .execute(
                &PRODUCT_TITLE_UPDATE,
                json!({"product": {"id": gid(Kind::Product, product), "title": title}}),
            )
            .await?;
        let payload = data
            .product_update
            .ok_or_else(|| ShopifyError::Shape("productUpdate returned null".to_owned()))?;
        reject_user_errors(payload.user_errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_product_is_a_draft_keyed_on_a_handle_made_of_its_sku() {
        let product = NewProduct {
            sku: "Mug/350 ml".into(),
            title: "Mug".into(),
            price: Decimal::new(1250, 2),
            compare_at_price: None,
            barcode: Some("4006381333931".into()),
            cost: None,
        };
        assert_eq!(product.handle(), "plumb-mug-350-ml");
        let input = product.input();
        assert_eq!(input["status"], "DRAFT");
        assert_eq!(input["variants"][0]["sku"], "Mug/350 ml");
        assert_eq!(input["variants"][0]["barcode"], "4006381333931");
        assert!(input["variants"][0].get("compareAtPrice").is_none());
    }

    #[test]
    fn an_update_names_only_the_fields_it_sets() {
        let update = VariantUpdate {
            variant_id: 7,
            price: Some(Decimal::new(1250, 2)),
            cost: Some(Decimal::new(4, 0)),
            ..VariantUpdate::default()
        };
        assert_eq!(
            update.input(),
            json!({
                "id": "gid://shopify/ProductVariant/7",
                "price": "12.50",
                "inventoryItem": {"cost": "4"}
            })
        );
        assert!(VariantUpdate::default().is_empty());
    }
}
