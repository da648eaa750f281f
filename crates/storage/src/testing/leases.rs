//! Conformance: partition leases and fenced commits.

use super::{conflict, ok};
use crate::{ExecutionRecord, ExecutionWrite, Store, TransitionWrite};

fn insert(id: u64) -> TransitionWrite {
    TransitionWrite {
        execution: ExecutionWrite::Insert(ExecutionRecord {
            id,
            arn: format!("arn:aws:states:us-east-1:123456789012:execution:lease:{id}"),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:lease".into(),
            revision: 1,
            name: format!("{id}"),
            status: "RUNNING".into(),
            start_ms: 1,
            stop_ms: None,
            input: "{}".into(),
            output: None,
            error: None,
            cause: None,
            trace_header: None,
            redrive_count: 0,
            redrive_ms: None,
            state: vec![1],
            version: 1,
        }),
        events: vec![],
        timers_added: vec![],
        timers_removed: vec![],
        outbox_added: vec![],
        outbox_removed: vec![],
    }
}

pub(super) fn leases(store: &dyn Store) {
    assert!(store.partitions() >= 1);
    let now = 1_000_000;
    let a = ok(
        store.acquire_lease(0, "node-a", now, 10_000, None),
        "acquire",
    )
    .expect("a free lease is taken");
    assert_eq!((a.owner.as_str(), a.expires_ms), ("node-a", now + 10_000));
    // Re-acquiring one's own lease keeps the epoch.
    let a2 = ok(
        store.acquire_lease(0, "node-a", now + 1, 10_000, None),
        "reacquire",
    )
    .expect("own lease");
    assert_eq!(a2.epoch, a.epoch);
    // Someone else is refused while it is live, and told who holds it.
    let holder = ok(
        store.acquire_lease(0, "node-b", now + 2, 10_000, None),
        "contend",
    )
    .expect_err("held by a");
    assert_eq!(holder.owner, "node-a");
    // Fenced commits pass while held.
    let first_id = ok(store.allocate_ids(2), "ids");
    ok(
        store.commit_fenced(&a2, &[insert(first_id)]),
        "fenced commit",
    );
    // Renewal extends; after expiry another node takes over with a new
    // epoch, and the old holder can neither renew nor commit.
    let a3 = ok(store.renew_lease(&a2, now + 5_000, 10_000), "renew").expect("still held");
    assert_eq!(a3.expires_ms, now + 15_000);
    let b = ok(
        store.acquire_lease(0, "node-b", now + 15_000, 10_000, None),
        "take over",
    )
    .expect("expired lease is free");
    assert!(b.epoch > a3.epoch);
    assert_eq!(
        ok(store.renew_lease(&a3, now + 15_001, 10_000), "lost renew"),
        None
    );
    conflict(
        store.commit_fenced(&a3, &[insert(first_id + 1)]),
        "commit after losing the lease",
    );
    assert!(
        ok(store.get_execution_by_id(first_id + 1), "fenced out").is_none(),
        "a fenced-out batch writes nothing"
    );
    // A known-dead holder can be taken over before expiry.
    let c = ok(
        store.acquire_lease(0, "node-c", now + 15_002, 10_000, Some("node-b")),
        "takeover",
    )
    .expect("takeover of a dead holder");
    assert!(c.epoch > b.epoch);
    // Release frees it at once; releasing a lost lease is fine.
    ok(store.release_lease(&b), "release lost");
    ok(store.release_lease(&c), "release");
    let d = ok(
        store.acquire_lease(0, "node-d", now + 15_003, 10_000, None),
        "after release",
    )
    .expect("released lease is free");
    ok(store.release_lease(&d), "release d");
}
