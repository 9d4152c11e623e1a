//! The field ownership matrix (`[ownership]`): every synced product field has exactly one
//! owner, and Plumb writes a field only towards the side that does not own it. Two owners
//! would make the systems overwrite each other forever, so a field listed twice is an error.

use std::collections::BTreeMap;
use std::fmt;

use toml::Value;

use super::reader::{Need, Parse, Reader, mismatch};

/// The system whose value of a field wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The ERP is the master: Plumb copies its value to Shopify.
    Erp,
    /// Shopify is the master: Plumb never overwrites it.
    Shopify,
}

impl Owner {
    /// The list that assigns fields to this owner (`erp` or `shopify`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Owner::Erp => "erp",
            Owner::Shopify => "shopify",
        }
    }
}

/// Declares [`Field`] from one line per field: variant, config name, default owner.
macro_rules! fields {
    ($($variant:ident => $name:literal, $owner:ident;)*) => {
        /// A product field the ownership matrix covers.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Field {
            $(
                #[doc = concat!("`", $name, "`, owned by default by ", stringify!($owner), ".")]
                $variant,
            )*
        }

        impl Field {
            /// Every field, in the order of the documentation.
            pub const ALL: &'static [Field] = &[$(Field::$variant,)*];

            /// The field's name in `[ownership]`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Field::$variant => $name,)* }
            }

            /// Who owns the field when neither list names it.
            pub const fn default_owner(self) -> Owner {
                match self { $(Field::$variant => Owner::$owner,)* }
            }
        }
    };
}

fields! {
    Sku => "sku", Erp;
    Price => "price", Erp;
    CompareAtPrice => "compare_at_price", Erp;
    Cost => "cost", Erp;
    Barcode => "barcode", Erp;
    Inventory => "inventory", Erp;
    Title => "title", Shopify;
    Description => "description", Shopify;
    Images => "images", Shopify;
    Seo => "seo", Shopify;
    Collections => "collections", Shopify;
    Metafields => "metafields", Shopify;
    Tags => "tags", Shopify;
    Vendor => "vendor", Shopify;
    ProductType => "product_type", Shopify;
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The owner of every [`Field`]: the configured lists, then the defaults (the default
/// matrix: ERP owns the commercial and stock fields, Shopify the merchandising ones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnershipMatrix {
    /// Only the fields the configuration names; the others have their default owner.
    configured: BTreeMap<Field, Owner>,
}

impl OwnershipMatrix {
    /// Who owns `field`.
    pub fn owner(&self, field: Field) -> Owner {
        self.configured
            .get(&field)
            .copied()
            .unwrap_or(field.default_owner())
    }

    /// Reads `[ownership]`: `erp = [...]` and `shopify = [...]`.
    pub(super) fn read(mut reader: Reader<'_>) -> Self {
        // key of the entry that claimed each field, with the list it is in
        let mut claimed: BTreeMap<Field, (Owner, String)> = BTreeMap::new();
        for owner in [Owner::Erp, Owner::Shopify] {
            let list = reader.key(owner.as_str());
            for (key, field) in reader.array(owner.as_str(), Need::Optional, field) {
                let message = match claimed.get(&field) {
                    None => {
                        claimed.insert(field, (owner, key));
                        continue;
                    }
                    Some((first, first_key)) if *first == owner => {
                        format!(
                            "field `{field}` is listed twice in {list} ({first_key} and {key}): \
                             remove one"
                        )
                    }
                    Some((first, _)) => format!(
                        "field `{field}` has two owners ({} and {list}): keep it in one list",
                        reader.key(first.as_str())
                    ),
                };
                reader.report(key, message);
            }
        }
        reader.finish();
        OwnershipMatrix {
            configured: claimed
                .into_iter()
                .map(|(field, (owner, _))| (field, owner))
                .collect(),
        }
    }
}

fn field(value: Value) -> Parse<Field> {
    let known = || {
        Field::ALL
            .iter()
            .map(|field| field.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match value {
        Value::String(name) => Field::ALL
            .iter()
            .copied()
            .find(|field| field.as_str() == name)
            .ok_or_else(|| format!("unknown field `{name}`: use one of {}", known())),
        other => Err(mismatch("a field name (a string)", &other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_stock_and_prices_to_the_erp_and_the_rest_to_shopify() {
        let matrix = OwnershipMatrix::default();
        assert_eq!(matrix.owner(Field::Price), Owner::Erp);
        assert_eq!(matrix.owner(Field::Inventory), Owner::Erp);
        assert_eq!(matrix.owner(Field::Title), Owner::Shopify);
        assert_eq!(matrix.owner(Field::ProductType), Owner::Shopify);
        assert_eq!(Field::ALL.len(), 15);
    }
}
