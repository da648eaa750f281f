//! [`LeaseStore`] on SQLite: one partition (one node per file).

use rusqlite::{OptionalExtension, Transaction, params};

use super::{SqliteStore, apply};
use crate::{Error, ErrorKind, Lease, LeaseStore, Result, TransitionWrite};

fn current(tx: &Transaction<'_>, partition: u32) -> Result<Option<Lease>> {
    Ok(tx
        .prepare_cached("SELECT owner, epoch, expires_ms FROM leases WHERE partition = ?1")?
        .query_row([partition], |r| {
            Ok(Lease {
                partition,
                owner: r.get(0)?,
                epoch: r.get::<_, i64>(1)? as u64,
                expires_ms: r.get(2)?,
            })
        })
        .optional()?)
}

fn held(tx: &Transaction<'_>, lease: &Lease) -> Result<bool> {
    Ok(current(tx, lease.partition)?
        .is_some_and(|c| c.owner == lease.owner && c.epoch == lease.epoch))
}

impl LeaseStore for SqliteStore {
    fn partitions(&self) -> u32 {
        1
    }

    fn acquire_lease(
        &self,
        partition: u32,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
        takeover: Option<&str>,
    ) -> Result<std::result::Result<Lease, Lease>> {
        if partition >= self.partitions() {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("no partition {partition}"),
            ));
        }
        self.write(|tx| {
            let expires_ms = now_ms.saturating_add(ttl_ms);
            let epoch = match current(tx, partition)? {
                Some(c) if c.owner == owner => c.epoch,
                Some(c) if c.expires_ms <= now_ms || takeover == Some(c.owner.as_str()) => {
                    c.epoch + 1
                }
                Some(c) => return Ok(Err(c)),
                None => 1,
            };
            tx.prepare_cached(
                "INSERT INTO leases (partition, owner, epoch, expires_ms) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (partition) DO UPDATE SET owner = excluded.owner, \
                 epoch = excluded.epoch, expires_ms = excluded.expires_ms",
            )?
            .execute(params![partition, owner, epoch as i64, expires_ms])?;
            Ok(Ok(Lease {
                partition,
                owner: owner.to_string(),
                epoch,
                expires_ms,
            }))
        })
    }

    fn renew_lease(&self, lease: &Lease, now_ms: i64, ttl_ms: i64) -> Result<Option<Lease>> {
        self.write(|tx| {
            if !held(tx, lease)? {
                return Ok(None);
            }
            let expires_ms = now_ms.saturating_add(ttl_ms);
            tx.prepare_cached("UPDATE leases SET expires_ms = ?2 WHERE partition = ?1")?
                .execute(params![lease.partition, expires_ms])?;
            Ok(Some(Lease {
                expires_ms,
                ..lease.clone()
            }))
        })
    }

    fn release_lease(&self, lease: &Lease) -> Result<()> {
        self.write(|tx| {
            if held(tx, lease)? {
                tx.prepare_cached("UPDATE leases SET expires_ms = 0 WHERE partition = ?1")?
                    .execute([lease.partition])?;
            }
            Ok(())
        })
    }

    fn commit_fenced(&self, lease: &Lease, batch: &[TransitionWrite]) -> Result<()> {
        self.write(|tx| {
            if !held(tx, lease)? {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "the lease of partition {} (epoch {}) is no longer held by {}",
                        lease.partition, lease.epoch, lease.owner
                    ),
                ));
            }
            for t in batch {
                apply(tx, t)?;
            }
            Ok(())
        })
    }
}
