//! Counters a benchmark or test reads to check what the accounting allowed: requests,
//! throttled answers, points requested and charged, per operation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Counters of one operation (by root field names, e.g. `inventorySetQuantities`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationStats {
    /// Requests executed.
    pub executed: u64,
    /// Requests throttled.
    pub throttled: u64,
    /// Requested points of executed requests.
    pub requested_points: u64,
    /// Actual points charged.
    pub charged_points: u64,
}

/// All counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// GraphQL requests received (authorised or not).
    pub requests: u64,
    /// Refused for a bad or revoked token.
    pub unauthorized: u64,
    /// Refused as invalid (parse, validation, variables, contracts).
    pub invalid: u64,
    /// Refused for MAX_COST_EXCEEDED.
    pub max_cost_exceeded: u64,
    /// Answered THROTTLED (by the bucket or by a fault).
    pub throttled: u64,
    /// Executed.
    pub executed: u64,
    /// Points charged (actual cost of executed requests).
    pub points_charged: u64,
    /// Points requested by executed requests.
    pub points_requested: u64,
    /// Idempotent fields answered from a stored payload.
    pub idempotent_replays: u64,
    /// Per operation.
    pub operations: BTreeMap<String, OperationStats>,
}
