//! Partition leases: which node runs which executions.
//!
//! Executions, their timers and outbox rows belong to a partition; a node
//! runs a partition only while it holds that partition's lease, and every
//! commit it makes is fenced by the lease's epoch ([`LeaseStore::commit_fenced`]):
//! a node that lost its lease (paused, partitioned away, presumed dead)
//! cannot write over its successor. The SQLite backend has one partition
//! (one node per database file: the lease also stops a second `baton serve`
//! on the same data directory); a PostgreSQL backend shared by several nodes
//! has many, taken and renewed by each node, with the fence checked by
//! `SELECT ... FOR SHARE` in the commit's transaction.

use serde::{Deserialize, Serialize};

use crate::{Result, TransitionWrite};

/// A held lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub partition: u32,
    /// Who holds it (a node id: host, process and start time).
    pub owner: String,
    /// Bumped every time the lease changes hands; commits are fenced by it.
    pub epoch: u64,
    /// Epoch milliseconds after which others may take it.
    pub expires_ms: i64,
}

/// Leases and fenced commits. Every method is one transaction.
pub trait LeaseStore {
    /// How many partitions the store has (1 for SQLite).
    fn partitions(&self) -> u32;
    /// Takes the lease of `partition` for `owner` until `now_ms + ttl_ms`
    /// if it is free, expired, already `owner`'s, or held by `takeover`
    /// (a holder the caller knows is dead). A change of hands bumps the
    /// epoch. `Ok(Err(holder))` when someone else holds it.
    fn acquire_lease(
        &self,
        partition: u32,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
        takeover: Option<&str>,
    ) -> Result<std::result::Result<Lease, Lease>>;
    /// Extends a held lease; `Ok(None)` if it was lost (another owner or
    /// epoch).
    fn renew_lease(&self, lease: &Lease, now_ms: i64, ttl_ms: i64) -> Result<Option<Lease>>;
    /// Gives the lease up (it expires at once); a lost lease is not an
    /// error.
    fn release_lease(&self, lease: &Lease) -> Result<()>;
    /// [`Store::commit`](crate::Store::commit), applied only if `lease` is
    /// still held with its epoch (checked in the same transaction), else
    /// `Conflict` and nothing is written. Expiry alone does not fail it: a
    /// holder whose lease ran out but was not taken keeps writing.
    fn commit_fenced(&self, lease: &Lease, batch: &[TransitionWrite]) -> Result<()>;
}
