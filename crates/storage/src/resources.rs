//! Services' control-plane records (topics, subscriptions, functions, event
//! source mappings, deployed apps, pending deliveries): a generic,
//! transactional key-value table keyed by `(kind, key)` holding JSON text.
//!
//! The services own the meaning of `kind` and of the JSON; the store only
//! keeps, orders and atomically changes the rows.

use serde::{Deserialize, Serialize};

use crate::Result;

/// One row: `value` is JSON text, opaque to the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRecord {
    pub kind: String,
    pub key: String,
    pub value: String,
}

/// One change in [`ResourceStore::write_resources`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResourceOp {
    /// Adds the row; `Conflict` (and the whole batch fails) if it exists.
    Insert(ResourceRecord),
    /// Adds or replaces the row.
    Put(ResourceRecord),
    /// Removes the row; a missing row is not an error.
    Delete { kind: String, key: String },
}

/// The resource table. Every method is one transaction.
pub trait ResourceStore {
    /// Applies every op in order in one transaction, or none.
    fn write_resources(&self, ops: &[ResourceOp]) -> Result<()>;
    fn get_resource(&self, kind: &str, key: &str) -> Result<Option<ResourceRecord>>;
    /// Rows of `kind` whose key starts with `prefix`, ascending by key,
    /// after `after_key` (exclusive), at most `limit`.
    fn list_resources(
        &self,
        kind: &str,
        prefix: &str,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ResourceRecord>>;
}
