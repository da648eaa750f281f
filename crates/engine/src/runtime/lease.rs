//! The partition lease: this process runs the store's executions only while
//! it holds the lease, and every group commit is fenced by it
//! ([`baton_storage::LeaseStore::commit_fenced`]). With SQLite (one
//! partition) it also stops a second `baton serve` on the same data
//! directory; after a crash the next start takes the lease over at once
//! when its holder was a process of this host that no longer runs.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use baton_storage::{Lease, Store};

use super::{Shared, wall_clock_ms};
use crate::{Error, ErrorKind, Result};

/// How long a lease lasts without renewal.
pub(crate) const TTL_MS: i64 = 15_000;

/// This process's node id: `host/pid/start-ms`.
pub(crate) fn node_id() -> String {
    format!("{}/{}/{}", hostname(), std::process::id(), wall_clock_ms())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Whether `owner` names a process of this host that has exited, or an
/// earlier engine of this very process (one that was dropped without
/// shutting down; if it still runs, fencing stops it).
fn holder_is_dead(owner: &str) -> bool {
    let mut parts = owner.split('/');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    if host != hostname() {
        return false;
    }
    if pid == std::process::id().to_string() {
        return true;
    }
    let proc_root = std::path::Path::new("/proc");
    proc_root.join("self").exists() && !proc_root.join(pid).exists()
}

/// Takes partition 0's lease (the SQLite store has only that one).
pub(crate) fn acquire(store: &dyn Store) -> Result<Lease> {
    let owner = node_id();
    let now = wall_clock_ms();
    match store.acquire_lease(0, &owner, now, TTL_MS, None)? {
        Ok(lease) => Ok(lease),
        Err(holder) if holder_is_dead(&holder.owner) => {
            tracing::info!(previous = %holder.owner, "taking over the store's lease from a process that exited");
            match store.acquire_lease(0, &owner, now, TTL_MS, Some(&holder.owner))? {
                Ok(lease) => Ok(lease),
                Err(holder) => Err(in_use(&holder)),
            }
        }
        Err(holder) => Err(in_use(&holder)),
    }
}

fn in_use(holder: &Lease) -> Error {
    let left = (holder.expires_ms - wall_clock_ms()).max(0);
    Error::new(
        ErrorKind::Unavailable,
        format!(
            "the store is in use by another Baton ({}); its lease runs for {:.1} s more unless \
             renewed. Stop that process (or use another data directory) and start again",
            holder.owner,
            left as f64 / 1000.0
        ),
    )
}

/// Renews the lease every third of its lifetime until shutdown; losing it
/// stops every acknowledgement (fail-stop), as a failed commit does.
pub(crate) fn renew(shared: Arc<Shared>) {
    let step = Duration::from_millis(100);
    let period = Duration::from_millis((TTL_MS / 3) as u64);
    loop {
        let mut waited = Duration::ZERO;
        while waited < period {
            if shared.shutting_down.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(step);
            waited += step;
        }
        let Some(current) = shared.lease() else {
            return;
        };
        match shared.store.renew_lease(&current, wall_clock_ms(), TTL_MS) {
            Ok(Some(renewed)) => shared.set_lease(renewed),
            Ok(None) => {
                tracing::error!(owner = %current.owner, "lost the store's lease to another Baton; stopping acknowledgements");
                shared.poisoned.store(true, Ordering::SeqCst);
                return;
            }
            // A busy or failing store: try again next period (commits are
            // fenced, so a lease that expires meanwhile is safe).
            Err(e) => tracing::warn!(error = %e, "cannot renew the store's lease"),
        }
    }
}
