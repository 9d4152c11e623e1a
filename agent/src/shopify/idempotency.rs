//! Idempotency keys for the mutations Shopify requires them on (`@idempotent(key:)`).
//!
//! A key names one intended change: the same job sending the same variables again (a
//! retry after a lost answer) must reuse it, so Shopify replays its first answer instead of
//! applying the change twice; anything else must get a fresh key, or Shopify refuses it
//! with `IDEMPOTENCY_KEY_PARAMETER_MISMATCH`. So the key is a UUID v5 over the job id, the
//! operation and a SHA-256 of the variables in canonical form: deterministic across
//! restarts, with nothing to store.

use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use plumb_common::JobId;

/// The namespace of Plumb's keys (a fixed v5 UUID of "plumb.idempotency").
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://plumb.invalid/idempotency")
}

/// The key for `operation` sending `variables` (without the key itself) on behalf of `job`.
pub fn idempotency_key(job: JobId, operation: &str, variables: &Value) -> String {
    idempotency_key_generation(job, operation, variables, 0)
}

/// The key of a later generation: used when Shopify refuses a key because its first use
/// failed (nothing was applied, and that key can never succeed). Generation 0 is
/// [`idempotency_key`].
pub fn idempotency_key_generation(
    job: JobId,
    operation: &str,
    variables: &Value,
    generation: u32,
) -> String {
    let mut digest = Sha256::new();
    write_canonical(variables, &mut digest);
    let hash = digest.finalize();
    let mut name = Vec::with_capacity(64 + operation.len());
    name.extend_from_slice(&job.0.to_be_bytes());
    name.push(0);
    name.extend_from_slice(operation.as_bytes());
    name.push(0);
    name.extend_from_slice(&hash);
    if generation > 0 {
        name.push(0);
        name.extend_from_slice(&generation.to_be_bytes());
    }
    Uuid::new_v5(&namespace(), &name).to_string()
}

/// Writes `value` as JSON with object keys sorted, so equal variables hash equal whatever
/// order they were built in.
fn write_canonical(value: &Value, out: &mut Sha256) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.update(b"{");
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.update(b",");
                }
                out.update(Value::String(key.clone()).to_string().as_bytes());
                out.update(b":");
                if let Some(inner) = map.get(key) {
                    write_canonical(inner, out);
                }
            }
            out.update(b"}");
        }
        Value::Array(items) => {
            out.update(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.update(b",");
                }
                write_canonical(item, out);
            }
            out.update(b"]");
        }
        scalar => out.update(scalar.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_same_job_and_variables_give_the_same_key() {
        let vars = json!({"input": {"name": "available", "quantities": [{"quantity": 3}]}});
        let a = idempotency_key(JobId(7), "inventorySetQuantities", &vars);
        let b = idempotency_key(JobId(7), "inventorySetQuantities", &vars.clone());
        assert_eq!(a, b);
        assert!(Uuid::parse_str(&a).is_ok(), "{a} is not a UUID");
    }

    #[test]
    fn key_order_does_not_matter() {
        let a = json!({"a": 1, "b": {"x": [1, 2], "y": null}});
        let mut b = serde_json::Map::new();
        b.insert("b".into(), json!({"y": null, "x": [1, 2]}));
        b.insert("a".into(), json!(1));
        assert_eq!(
            idempotency_key(JobId(1), "op", &a),
            idempotency_key(JobId(1), "op", &Value::Object(b))
        );
    }

    #[test]
    fn other_variables_jobs_or_operations_give_other_keys() {
        let vars = json!({"input": {"quantities": [{"quantity": 3, "changeFromQuantity": 1}]}});
        let other = json!({"input": {"quantities": [{"quantity": 4, "changeFromQuantity": 1}]}});
        let base = idempotency_key(JobId(7), "inventorySetQuantities", &vars);
        assert_ne!(
            base,
            idempotency_key(JobId(7), "inventorySetQuantities", &other)
        );
        assert_ne!(
            base,
            idempotency_key(JobId(8), "inventorySetQuantities", &vars)
        );
        assert_ne!(
            base,
            idempotency_key(JobId(7), "inventoryAdjustQuantities", &vars)
        );
        let next = idempotency_key_generation(JobId(7), "inventorySetQuantities", &vars, 1);
        assert_ne!(base, next);
        assert_eq!(
            next,
            idempotency_key_generation(JobId(7), "inventorySetQuantities", &vars, 1)
        );
        // Array order is meaningful (rows map to error indexes): a reordered batch is a
        // different request.
        let a = json!([1, 2]);
        let b = json!([2, 1]);
        assert_ne!(
            idempotency_key(JobId(7), "op", &a),
            idempotency_key(JobId(7), "op", &b)
        );
    }
}
