//! The conformance suite every [`Store`] backend must pass, and the commit
//! benchmark (`baton bench` calls [`bench_commit`]).

mod leases;
mod queues;
mod resources;

use std::time::Instant;

use crate::{
    ActivityRecord, ErrorKind, EventRecord, ExecutionQuery, ExecutionRecord, ExecutionWrite,
    MachineType, OutboxRecord, Result, RevisionContent, StateMachineRecord, Store, Tag,
    TimerRecord, TransitionWrite,
};

/// Runs every conformance check against `store` (a fresh, empty store);
/// panics with a clear message on the first violation.
pub fn conformance(store: &dyn Store) {
    ids(store);
    secret(store);
    state_machines(store);
    state_machine_pages(store);
    activities(store);
    tags(store);
    execution_insert_and_get(store);
    version_cas(store);
    commit_atomicity(store);
    history(store);
    list_executions(store);
    running_executions(store);
    execution_counts(store);
    timers(store);
    outbox(store);
    concurrent_commits(store);
    resources::resources(store);
    leases::leases(store);
    queues::queues(store);
}

// ----- helpers -------------------------------------------------------------

#[track_caller]
fn ok<T>(r: Result<T>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("conformance: {what}: unexpected error {e}"),
    }
}

#[track_caller]
fn conflict<T: std::fmt::Debug>(r: Result<T>, what: &str) {
    match r {
        Err(e) if e.kind == ErrorKind::Conflict => {}
        Err(e) => panic!("conformance: {what}: expected Conflict, got {e}"),
        Ok(v) => panic!("conformance: {what}: expected Conflict, got Ok({v:?})"),
    }
}

const SM_PREFIX: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:";
const ACT_PREFIX: &str = "arn:aws:states:us-east-1:123456789012:activity:";
const EXEC_PREFIX: &str = "arn:aws:states:us-east-1:123456789012:execution:";

fn tag(k: &str, v: &str) -> Tag {
    Tag {
        key: k.to_string(),
        value: v.to_string(),
    }
}

fn content(n: u64) -> RevisionContent {
    RevisionContent {
        definition: format!(
            r#"{{"StartAt":"S{n}","States":{{"S{n}":{{"Type":"Pass","End":true}}}}}}"#
        ),
        role_arn: format!("arn:aws:iam::123456789012:role/r{n}"),
        config: format!(r#"{{"description":"rev {n}"}}"#),
        revision_id: format!("00000000-0000-4000-8000-{n:012}"),
        update_ms: 1_700_000_000_000 + i64::try_from(n).unwrap_or(0),
    }
}

fn machine(name: &str, machine_type: MachineType) -> StateMachineRecord {
    StateMachineRecord {
        arn: format!("{SM_PREFIX}{name}"),
        name: name.to_string(),
        machine_type,
        status: "ACTIVE".to_string(),
        creation_ms: 1_700_000_000_000,
        revision: 1,
        content: content(1),
    }
}

fn execution(id: u64, sm: &str, name: &str, start_ms: i64) -> ExecutionRecord {
    ExecutionRecord {
        id,
        arn: format!("{EXEC_PREFIX}{sm}:{name}"),
        state_machine_arn: format!("{SM_PREFIX}{sm}"),
        revision: 1,
        name: name.to_string(),
        status: "RUNNING".to_string(),
        start_ms,
        stop_ms: None,
        input: format!(r#"{{"name":"{name}","big":"{}"}}"#, "x".repeat(100)),
        output: None,
        error: None,
        cause: None,
        trace_header: Some(format!("Root=1-{id:08x}")),
        redrive_count: 0,
        redrive_ms: None,
        state: format!("state of {name} v1").into_bytes(),
        version: 1,
    }
}

fn event(id: u64, ts: i64) -> EventRecord {
    EventRecord {
        id,
        previous_event_id: id.saturating_sub(1),
        timestamp_ms: ts,
        event_type: if id == 1 {
            "ExecutionStarted".to_string()
        } else {
            "PassStateEntered".to_string()
        },
        details: format!(r#"{{"n":{id}}}"#),
    }
}

fn write(execution: ExecutionWrite) -> TransitionWrite {
    TransitionWrite {
        execution,
        events: Vec::new(),
        timers_added: Vec::new(),
        timers_removed: Vec::new(),
        outbox_added: Vec::new(),
        outbox_removed: Vec::new(),
    }
}

fn insert(e: &ExecutionRecord) -> TransitionWrite {
    write(ExecutionWrite::Insert(e.clone()))
}

/// The next version of `e` (state changed).
fn bumped(e: &ExecutionRecord) -> ExecutionRecord {
    let mut n = e.clone();
    n.version += 1;
    n.state = format!("state of {} v{}", e.name, n.version).into_bytes();
    n
}

fn update(e: &ExecutionRecord) -> TransitionWrite {
    write(ExecutionWrite::Update(e.clone()))
}

fn new_ids(store: &dyn Store, n: u64) -> Vec<u64> {
    let first = ok(store.allocate_ids(n), "allocate_ids");
    (first..first + n).collect()
}

/// The record as lists show it (state and input may be empty).
#[track_caller]
fn assert_listed(listed: &ExecutionRecord, stored: &ExecutionRecord, what: &str) {
    let mut a = listed.clone();
    let mut b = stored.clone();
    a.state.clear();
    a.input.clear();
    b.state.clear();
    b.input.clear();
    assert_eq!(
        a, b,
        "conformance: {what}: listed record differs from the stored one"
    );
}

fn ids_of(v: &[ExecutionRecord]) -> Vec<u64> {
    v.iter().map(|e| e.id).collect()
}

// ----- checks ----------------------------------------------------------------

fn ids(store: &dyn Store) {
    let a = ok(store.allocate_ids(1), "allocate_ids(1)");
    assert!(
        a >= 1,
        "conformance: allocate_ids: ids start at 1 or more (0 means 'from the start'), got {a}"
    );
    let b = ok(store.allocate_ids(10), "allocate_ids(10)");
    assert!(
        b > a,
        "conformance: allocate_ids not monotonic: {a} then {b}"
    );
    let c = ok(store.allocate_ids(5), "allocate_ids(5)");
    assert!(
        c >= b + 10,
        "conformance: allocate_ids overlap: [{b}, {}) then {c}",
        b + 10
    );
    // Concurrent callers get disjoint ranges.
    let mut ranges: Vec<(u64, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(move || {
                    (0..25)
                        .map(|_| (ok(store.allocate_ids(3), "concurrent allocate_ids"), 3))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    assert_eq!(
        ranges.len(),
        100,
        "conformance: concurrent allocate_ids: a thread failed"
    );
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        assert!(
            w[0].0 + w[0].1 <= w[1].0 && w[0].0 >= c + 5,
            "conformance: concurrent allocate_ids overlap: {:?} and {:?}",
            w[0],
            w[1]
        );
    }
}

fn secret(store: &dyn Store) {
    let s1 = ok(store.secret(), "secret");
    let s2 = ok(store.secret(), "secret (second call)");
    assert_eq!(s1, s2, "conformance: secret changed between calls");
    assert_ne!(s1, [0u8; 32], "conformance: secret is all zeros");
}

fn state_machines(store: &dyn Store) {
    let sm = machine("sm-a", MachineType::Standard);
    let tags = [tag("team", "core"), tag("env", "test")];
    ok(
        store.create_state_machine(&sm, &tags),
        "create_state_machine",
    );
    assert_eq!(
        ok(store.get_state_machine(&sm.arn), "get_state_machine"),
        Some(sm.clone())
    );
    assert_eq!(
        ok(store.tags(&sm.arn), "tags"),
        vec![tag("env", "test"), tag("team", "core")],
        "conformance: tags given at creation, ordered by key"
    );
    let mut dup = sm.clone();
    dup.name = "other".to_string();
    conflict(
        store.create_state_machine(&dup, &[]),
        "create_state_machine with an existing ARN",
    );
    assert_eq!(
        ok(store.get_state_machine(&sm.arn), "get after duplicate"),
        Some(sm.clone())
    );

    let express = machine("sm-express", MachineType::Express);
    ok(store.create_state_machine(&express, &[]), "create express");
    assert_eq!(
        ok(store.get_state_machine(&express.arn), "get express"),
        Some(express.clone())
    );

    // Revisions.
    ok(
        store.update_state_machine(&sm.arn, 2, &content(2)),
        "update_state_machine to revision 2",
    );
    let got =
        ok(store.get_state_machine(&sm.arn), "get after update").expect("state machine exists");
    assert_eq!(got.revision, 2, "conformance: revision after update");
    assert_eq!(got.content, content(2), "conformance: content after update");
    assert_eq!(
        (got.name.as_str(), got.creation_ms),
        (sm.name.as_str(), sm.creation_ms)
    );
    assert_eq!(
        ok(store.get_revision(&sm.arn, 1), "get_revision 1"),
        Some(content(1))
    );
    assert_eq!(
        ok(store.get_revision(&sm.arn, 2), "get_revision 2"),
        Some(content(2))
    );
    assert_eq!(ok(store.get_revision(&sm.arn, 3), "get_revision 3"), None);
    conflict(
        store.update_state_machine(&sm.arn, 2, &content(9)),
        "update to the current revision again",
    );
    conflict(
        store.update_state_machine(&sm.arn, 4, &content(9)),
        "update skipping a revision",
    );
    conflict(
        store.update_state_machine(&sm.arn, 1, &content(9)),
        "update to an older revision",
    );
    conflict(
        store.update_state_machine(&format!("{SM_PREFIX}missing"), 2, &content(9)),
        "update of a missing state machine",
    );
    assert_eq!(
        ok(
            store.get_revision(&sm.arn, 2),
            "revision 2 after failed updates"
        ),
        Some(content(2))
    );
    ok(
        store.update_state_machine(&sm.arn, 3, &content(3)),
        "update_state_machine to revision 3",
    );
    assert_eq!(
        ok(store.get_state_machine(&sm.arn), "get rev 3").map(|s| s.revision),
        Some(3)
    );

    // Status.
    ok(
        store.set_state_machine_status(&sm.arn, "DELETING"),
        "set_state_machine_status",
    );
    let got =
        ok(store.get_state_machine(&sm.arn), "get after status").expect("state machine exists");
    assert_eq!(got.status, "DELETING");
    assert_eq!(
        got.revision, 3,
        "conformance: status change keeps the revision"
    );

    // Missing ones.
    assert_eq!(
        ok(
            store.get_state_machine(&format!("{SM_PREFIX}missing")),
            "get missing"
        ),
        None
    );
    assert_eq!(
        ok(
            store.get_revision(&format!("{SM_PREFIX}missing"), 1),
            "get_revision missing"
        ),
        None
    );

    // Delete removes revisions and tags.
    assert!(ok(
        store.delete_state_machine(&sm.arn),
        "delete_state_machine"
    ));
    assert!(!ok(
        store.delete_state_machine(&sm.arn),
        "delete_state_machine again"
    ));
    assert_eq!(ok(store.get_state_machine(&sm.arn), "get deleted"), None);
    assert_eq!(
        ok(store.get_revision(&sm.arn, 1), "revision of deleted"),
        None
    );
    assert_eq!(
        ok(store.get_revision(&sm.arn, 3), "revision of deleted"),
        None
    );
    assert_eq!(ok(store.tags(&sm.arn), "tags of deleted"), Vec::new());
    // The ARN is free again, at revision 1.
    ok(
        store.create_state_machine(&sm, &[]),
        "re-create a deleted state machine",
    );
    assert_eq!(
        ok(store.get_state_machine(&sm.arn), "get re-created"),
        Some(sm.clone())
    );
    assert_eq!(
        ok(store.get_revision(&sm.arn, 2), "old revisions are gone"),
        None
    );
    assert_eq!(ok(store.tags(&sm.arn), "tags of re-created"), Vec::new());
    assert!(ok(store.delete_state_machine(&sm.arn), "delete re-created"));
    assert!(ok(
        store.delete_state_machine(&express.arn),
        "delete express"
    ));
}

fn state_machine_pages(store: &dyn Store) {
    assert_eq!(
        ok(store.list_state_machines(None, 100), "list empty"),
        Vec::new()
    );
    // Created out of order; listed by ARN.
    let names = ["m-3", "m-1", "m-5", "m-2", "m-4"];
    for n in names {
        ok(
            store.create_state_machine(&machine(n, MachineType::Standard), &[]),
            "create for list",
        );
    }
    ok(
        store.update_state_machine(&format!("{SM_PREFIX}m-2"), 2, &content(2)),
        "update m-2",
    );
    let all = ok(store.list_state_machines(None, 100), "list_state_machines");
    let arns: Vec<_> = all
        .iter()
        .map(|s| s.arn.trim_start_matches(SM_PREFIX).to_string())
        .collect();
    assert_eq!(
        arns,
        ["m-1", "m-2", "m-3", "m-4", "m-5"],
        "conformance: list_state_machines order"
    );
    assert_eq!(
        all[1].revision, 2,
        "conformance: lists show the current revision"
    );
    assert_eq!(
        all[1].content,
        content(2),
        "conformance: lists show the current revision's content"
    );
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = ok(store.list_state_machines(after.as_deref(), 2), "list page");
        assert!(
            page.len() <= 2,
            "conformance: list_state_machines exceeds the limit"
        );
        if page.is_empty() {
            break;
        }
        after = page.last().map(|s| s.arn.clone());
        paged.extend(page);
    }
    assert_eq!(paged, all, "conformance: paging state machines");
    assert_eq!(
        ok(
            store.list_state_machines(Some(&format!("{SM_PREFIX}m-3")), 10),
            "list after m-3"
        )
        .len(),
        2
    );
    for n in names {
        assert!(ok(
            store.delete_state_machine(&format!("{SM_PREFIX}{n}")),
            "delete listed"
        ));
    }
    assert_eq!(
        ok(store.list_state_machines(None, 100), "list after deletes"),
        Vec::new()
    );
}

fn activities(store: &dyn Store) {
    assert_eq!(
        ok(store.list_activities(None, 10), "list no activities"),
        Vec::new()
    );
    let act = |n: &str, ms: i64| ActivityRecord {
        arn: format!("{ACT_PREFIX}{n}"),
        name: n.to_string(),
        creation_ms: ms,
    };
    let a = act("act-b", 2);
    ok(
        store.create_activity(&a, &[tag("k", "v")]),
        "create_activity",
    );
    assert_eq!(
        ok(store.get_activity(&a.arn), "get_activity"),
        Some(a.clone())
    );
    assert_eq!(ok(store.tags(&a.arn), "activity tags"), vec![tag("k", "v")]);
    conflict(
        store.create_activity(&act("act-b", 99), &[]),
        "create_activity with an existing ARN",
    );
    assert_eq!(
        ok(store.get_activity(&a.arn), "get after duplicate"),
        Some(a.clone())
    );
    for (n, ms) in [("act-c", 3), ("act-a", 1), ("act-d", 4)] {
        ok(
            store.create_activity(&act(n, ms), &[]),
            "create_activity for list",
        );
    }
    let all = ok(store.list_activities(None, 10), "list_activities");
    let names: Vec<_> = all.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["act-a", "act-b", "act-c", "act-d"],
        "conformance: list_activities order"
    );
    let p1 = ok(store.list_activities(None, 3), "list_activities page 1");
    assert_eq!(p1.len(), 3);
    let p2 = ok(
        store.list_activities(p1.last().map(|a| a.arn.as_str()), 3),
        "list_activities page 2",
    );
    assert_eq!(p2, all[3..].to_vec(), "conformance: list_activities paging");
    assert!(ok(store.delete_activity(&a.arn), "delete_activity"));
    assert!(!ok(store.delete_activity(&a.arn), "delete_activity again"));
    assert_eq!(ok(store.get_activity(&a.arn), "get deleted activity"), None);
    assert_eq!(
        ok(store.tags(&a.arn), "tags of deleted activity"),
        Vec::new()
    );
    for n in ["act-a", "act-c", "act-d"] {
        assert!(ok(
            store.delete_activity(&format!("{ACT_PREFIX}{n}")),
            "delete activity"
        ));
    }
}

fn tags(store: &dyn Store) {
    let sm = machine("tagged", MachineType::Standard);
    ok(
        store.create_state_machine(&sm, &[tag("b", "1")]),
        "create for tags",
    );
    let arn = sm.arn.as_str();
    ok(store.tag(arn, &[tag("c", "3"), tag("a", "1")]), "tag add");
    assert_eq!(
        ok(store.tags(arn), "tags"),
        vec![tag("a", "1"), tag("b", "1"), tag("c", "3")]
    );
    ok(store.tag(arn, &[tag("b", "2")]), "tag replace");
    assert_eq!(
        ok(store.tags(arn), "tags after replace"),
        vec![tag("a", "1"), tag("b", "2"), tag("c", "3")],
        "conformance: tag replaces the value of an existing key"
    );
    ok(store.tag(arn, &[]), "tag nothing");
    ok(
        store.untag(arn, &["a".to_string(), "zz".to_string()]),
        "untag (one key missing)",
    );
    assert_eq!(
        ok(store.tags(arn), "tags after untag"),
        vec![tag("b", "2"), tag("c", "3")]
    );
    ok(store.untag(arn, &[]), "untag nothing");
    // Keys are case-sensitive and tags are per resource.
    ok(store.tag(arn, &[tag("B", "upper")]), "tag case");
    assert_eq!(
        ok(store.tags(arn), "tags case"),
        vec![tag("B", "upper"), tag("b", "2"), tag("c", "3")]
    );
    assert_eq!(
        ok(
            store.tags(&format!("{SM_PREFIX}untagged")),
            "tags of unknown"
        ),
        Vec::new()
    );
    assert!(ok(store.delete_state_machine(arn), "delete tagged"));
    assert_eq!(ok(store.tags(arn), "tags after delete"), Vec::new());
}

fn execution_insert_and_get(store: &dyn Store) {
    let ids = new_ids(store, 3);
    let e = execution(ids[0], "ex-get", "one", 1000);
    let mut t = insert(&e);
    t.events = vec![event(1, 1000)];
    ok(store.commit(&[t]), "commit insert");
    assert_eq!(
        ok(store.get_execution(&e.arn), "get_execution"),
        Some(e.clone())
    );
    assert_eq!(
        ok(store.get_execution_by_id(e.id), "get_execution_by_id"),
        Some(e.clone())
    );
    assert_eq!(
        ok(
            store.get_execution(&format!("{EXEC_PREFIX}none:none")),
            "get missing"
        ),
        None
    );
    assert_eq!(
        ok(
            store.get_execution_by_id(ids[2] + 1_000_000),
            "get missing id"
        ),
        None
    );
    ok(store.commit(&[]), "commit of an empty batch");

    // Insert of an existing ARN (new id) or an existing id (new ARN).
    let mut same_arn = e.clone();
    same_arn.id = ids[1];
    conflict(
        store.commit(&[insert(&same_arn)]),
        "insert with an existing ARN",
    );
    let mut same_id = execution(ids[0], "ex-get", "other", 1000);
    same_id.id = e.id;
    conflict(
        store.commit(&[insert(&same_id)]),
        "insert with an existing id",
    );
    assert_eq!(
        ok(store.get_execution_by_id(ids[1]), "no partial insert"),
        None
    );
    assert_eq!(
        ok(store.get_execution(&same_id.arn), "no partial insert"),
        None
    );

    // Every field round-trips, including optional ones and a binary state.
    let mut full = execution(ids[2], "ex-get", "full", 2000);
    full.status = "FAILED".to_string();
    full.stop_ms = Some(2500);
    full.output = Some("null".to_string());
    full.error = Some("States.TaskFailed".to_string());
    full.cause = Some("boom \u{1F4A5} \"quoted\"".to_string());
    full.trace_header = None;
    full.redrive_count = 2;
    full.redrive_ms = Some(2400);
    full.revision = 7;
    full.state = (0..=255u8).chain(0..=255u8).collect();
    full.input = String::new();
    full.version = 42;
    ok(store.commit(&[insert(&full)]), "insert with every field");
    assert_eq!(
        ok(store.get_execution_by_id(full.id), "get full"),
        Some(full.clone())
    );

    // An update changes every mutable field.
    let mut up = bumped(&full);
    up.status = "RUNNING".to_string();
    up.stop_ms = None;
    up.output = None;
    up.error = None;
    up.cause = None;
    up.redrive_count = 3;
    up.redrive_ms = Some(3000);
    up.trace_header = Some("Root=x".to_string());
    up.state = vec![0u8; 4000];
    ok(store.commit(&[update(&up)]), "update every field");
    assert_eq!(
        ok(store.get_execution_by_id(full.id), "get updated"),
        Some(up)
    );
}

fn version_cas(store: &dyn Store) {
    let ids = new_ids(store, 1);
    let v1 = execution(ids[0], "ex-cas", "cas", 1000);
    ok(store.commit(&[insert(&v1)]), "insert for CAS");
    let v2 = bumped(&v1);
    ok(store.commit(&[update(&v2)]), "update to version 2");
    assert_eq!(
        ok(store.get_execution_by_id(v1.id), "get v2"),
        Some(v2.clone())
    );
    // Another writer read version 1 too: its update must fail.
    let mut stale = bumped(&v1);
    stale.state = b"stale".to_vec();
    conflict(
        store.commit(&[update(&stale)]),
        "update with a stale version",
    );
    let mut ahead = bumped(&bumped(&v2));
    ahead.state = b"ahead".to_vec();
    conflict(store.commit(&[update(&ahead)]), "update skipping a version");
    let mut zero = v2.clone();
    zero.version = 0;
    conflict(store.commit(&[update(&zero)]), "update with version 0");
    assert_eq!(
        ok(store.get_execution_by_id(v1.id), "get after failed updates"),
        Some(v2.clone())
    );
    // Status changes go through the same check.
    let mut stale_status = bumped(&v1);
    stale_status.status = "SUCCEEDED".to_string();
    conflict(
        store.commit(&[update(&stale_status)]),
        "status change with a stale version",
    );
    assert_eq!(
        ok(store.get_execution_by_id(v1.id), "status unchanged"),
        Some(v2.clone())
    );
    let mut done = bumped(&v2);
    done.status = "SUCCEEDED".to_string();
    done.stop_ms = Some(1500);
    done.output = Some(r#"{"ok":true}"#.to_string());
    ok(store.commit(&[update(&done)]), "status change");
    assert_eq!(
        ok(store.get_execution_by_id(v1.id), "get done"),
        Some(done.clone())
    );
    // Updating an execution that does not exist.
    let mut ghost = execution(ids[0] + 1_000_000, "ex-cas", "ghost", 1000);
    ghost.version = 2;
    conflict(
        store.commit(&[update(&ghost)]),
        "update of a missing execution",
    );
    // Insert then updates of the same execution in one batch.
    let ids = new_ids(store, 1);
    let a1 = execution(ids[0], "ex-cas", "same-batch", 1000);
    let a2 = bumped(&a1);
    let a3 = bumped(&a2);
    ok(
        store.commit(&[insert(&a1), update(&a2), update(&a3)]),
        "insert and two updates in one batch",
    );
    assert_eq!(
        ok(store.get_execution_by_id(a1.id), "get same-batch"),
        Some(a3)
    );
}

fn commit_atomicity(store: &dyn Store) {
    let ids = new_ids(store, 4);
    let a = execution(ids[0], "ex-atomic", "a", 1000);
    let mut t = insert(&a);
    t.events = vec![event(1, 1000)];
    t.timers_added = vec![TimerRecord {
        execution_id: a.id,
        timer_id: 1,
        due_ms: 5000,
    }];
    t.outbox_added = vec![OutboxRecord {
        execution_id: a.id,
        seq: 1,
        command: "{}".to_string(),
    }];
    ok(store.commit(&[t]), "insert for atomicity");

    let check_unchanged = |what: &str| {
        assert_eq!(
            ok(store.get_execution_by_id(a.id), what),
            Some(a.clone()),
            "conformance: {what}: row"
        );
        assert_eq!(
            ok(store.history(a.id, 0, 100, false), what),
            vec![event(1, 1000)],
            "conformance: {what}: history"
        );
        let timers: Vec<_> = ok(store.due_timers(i64::MAX, 1000), what)
            .into_iter()
            .filter(|t| t.execution_id == a.id)
            .collect();
        assert_eq!(
            timers,
            vec![TimerRecord {
                execution_id: a.id,
                timer_id: 1,
                due_ms: 5000
            }],
            "conformance: {what}: timers"
        );
        let outbox: Vec<_> = ok(store.outbox(None, 1000), what)
            .into_iter()
            .filter(|o| o.execution_id == a.id)
            .collect();
        assert_eq!(
            outbox,
            vec![OutboxRecord {
                execution_id: a.id,
                seq: 1,
                command: "{}".to_string()
            }],
            "conformance: {what}: outbox"
        );
        for id in &ids[1..] {
            assert_eq!(
                ok(store.get_execution_by_id(*id), what),
                None,
                "conformance: {what}: a new execution was inserted"
            );
            assert_eq!(
                ok(store.history(*id, 0, 100, false), what),
                Vec::new(),
                "conformance: {what}: history of a new execution"
            );
        }
    };

    // A good update (with everything) followed by a duplicate insert.
    let good = || {
        let mut t = update(&bumped(&a));
        t.events = vec![event(2, 1100), event(3, 1200)];
        t.timers_removed = vec![1];
        t.timers_added = vec![TimerRecord {
            execution_id: a.id,
            timer_id: 2,
            due_ms: 6000,
        }];
        t.outbox_removed = vec![1];
        t.outbox_added = vec![OutboxRecord {
            execution_id: a.id,
            seq: 2,
            command: "{\"x\":1}".to_string(),
        }];
        t
    };
    let mut new_b = insert(&execution(ids[1], "ex-atomic", "b", 1000));
    new_b.events = vec![event(1, 1000)];
    let mut dup = execution(ids[2], "ex-atomic", "a", 1000);
    dup.id = ids[2];
    conflict(
        store.commit(&[good(), new_b.clone(), insert(&dup)]),
        "batch ending in a duplicate insert",
    );
    check_unchanged("after a batch with a duplicate insert");

    // A stale update in the middle.
    let mut stale = bumped(&a);
    stale.version = 7;
    let mut t_stale = update(&stale);
    t_stale.events = vec![event(2, 1100)];
    let mut new_c = insert(&execution(ids[3], "ex-atomic", "c", 1000));
    new_c.events = vec![event(1, 1000)];
    conflict(
        store.commit(&[new_b.clone(), t_stale, new_c.clone()]),
        "batch with a stale update",
    );
    check_unchanged("after a batch with a stale update");

    // A duplicate event id.
    let mut dup_event = good();
    dup_event.events = vec![event(1, 1100)];
    conflict(
        store.commit(&[new_b.clone(), dup_event]),
        "batch with a duplicate history event",
    );
    check_unchanged("after a batch with a duplicate event");

    // A duplicate timer.
    let mut dup_timer = update(&bumped(&a));
    dup_timer.timers_added = vec![TimerRecord {
        execution_id: a.id,
        timer_id: 1,
        due_ms: 1,
    }];
    conflict(
        store.commit(&[new_b.clone(), dup_timer]),
        "batch adding an existing timer",
    );
    check_unchanged("after a batch with a duplicate timer");

    // A duplicate outbox row.
    let mut dup_out = update(&bumped(&a));
    dup_out.outbox_added = vec![OutboxRecord {
        execution_id: a.id,
        seq: 1,
        command: "{}".to_string(),
    }];
    conflict(
        store.commit(&[new_b.clone(), dup_out]),
        "batch adding an existing outbox row",
    );
    check_unchanged("after a batch with a duplicate outbox row");

    // The same batch without the bad write applies fully.
    ok(
        store.commit(&[good(), new_b, new_c]),
        "the good part of the batch",
    );
    let a2 = bumped(&a);
    assert_eq!(ok(store.get_execution_by_id(a.id), "a after"), Some(a2));
    assert_eq!(ok(store.history(a.id, 0, 100, false), "a history").len(), 3);
    assert!(ok(store.get_execution_by_id(ids[1]), "b after").is_some());
    assert!(ok(store.get_execution_by_id(ids[3]), "c after").is_some());
    let timers: Vec<_> = ok(store.due_timers(i64::MAX, 1000), "timers")
        .into_iter()
        .filter(|t| t.execution_id == a.id)
        .collect();
    assert_eq!(
        timers,
        vec![TimerRecord {
            execution_id: a.id,
            timer_id: 2,
            due_ms: 6000
        }]
    );
    let outbox: Vec<_> = ok(store.outbox(None, 1000), "outbox")
        .into_iter()
        .filter(|o| o.execution_id == a.id)
        .collect();
    assert_eq!(
        outbox,
        vec![OutboxRecord {
            execution_id: a.id,
            seq: 2,
            command: "{\"x\":1}".to_string()
        }]
    );
    // Removing what is not there is not an error.
    let mut t = update(&bumped(&bumped(&a)));
    t.timers_removed = vec![1, 99];
    t.outbox_removed = vec![1, 99];
    ok(
        store.commit(&[t]),
        "removing missing timers and outbox rows",
    );
    // Clean up timers/outbox so later checks start empty.
    let mut t = update(&bumped(&bumped(&bumped(&a))));
    t.timers_removed = vec![2];
    t.outbox_removed = vec![2];
    ok(store.commit(&[t]), "clean up");
}

fn history(store: &dyn Store) {
    let ids = new_ids(store, 2);
    let mut e = execution(ids[0], "ex-hist", "h", 1000);
    let other = execution(ids[1], "ex-hist", "other", 1000);
    let mut t = insert(&e);
    t.events = vec![event(1, 1000), event(2, 1001)];
    let mut t2 = insert(&other);
    t2.events = vec![event(1, 5000)];
    ok(store.commit(&[t, t2]), "insert for history");
    for chunk in [3u64..6, 6..10, 10..11] {
        e = bumped(&e);
        let mut t = update(&e);
        t.events = chunk
            .map(|i| event(i, 1000 + i64::try_from(i).unwrap_or(0)))
            .collect();
        ok(store.commit(&[t]), "append history");
    }
    let ev = |ids: &[u64]| -> Vec<EventRecord> {
        ids.iter()
            .map(|i| event(*i, 1000 + i64::try_from(*i).unwrap_or(0)))
            .collect()
    };
    let all = ok(store.history(e.id, 0, 1000, false), "history all");
    let mut expected = ev(&[3, 4, 5, 6, 7, 8, 9, 10]);
    expected.insert(0, event(2, 1001));
    expected.insert(0, event(1, 1000));
    assert_eq!(all, expected, "conformance: history ascending");
    assert_eq!(
        ok(store.history(e.id, 3, 4, false), "after 3"),
        ev(&[4, 5, 6, 7]),
        "conformance: history after_id/limit"
    );
    assert_eq!(
        ok(store.history(e.id, 10, 4, false), "after last"),
        Vec::new()
    );
    assert_eq!(ok(store.history(e.id, 0, 0, false), "limit 0"), Vec::new());
    assert_eq!(
        ok(store.history(e.id, 0, 3, true), "reverse from end"),
        ev(&[10, 9, 8]),
        "conformance: history descending from the end"
    );
    assert_eq!(
        ok(store.history(e.id, 8, 3, true), "reverse before 8"),
        ev(&[7, 6, 5])
    );
    let tail = ok(store.history(e.id, 3, 10, true), "reverse before 3");
    assert_eq!(tail, vec![event(2, 1001), event(1, 1000)]);
    assert_eq!(
        ok(store.history(e.id, 1, 10, true), "reverse before 1"),
        Vec::new()
    );
    // Paging both ways covers everything once.
    let mut fwd = Vec::new();
    let mut after = 0;
    loop {
        let page = ok(store.history(e.id, after, 3, false), "history page");
        let Some(last) = page.last() else { break };
        after = last.id;
        fwd.extend(page);
    }
    assert_eq!(fwd, all, "conformance: history paging ascending");
    let mut back = Vec::new();
    let mut after = 0;
    loop {
        let page = ok(store.history(e.id, after, 4, true), "history page reverse");
        let Some(last) = page.last() else { break };
        after = last.id;
        back.extend(page);
    }
    back.reverse();
    assert_eq!(back, all, "conformance: history paging descending");
    assert_eq!(
        ok(store.history(other.id, 0, 100, false), "other history"),
        vec![event(1, 5000)],
        "conformance: history is per execution"
    );
    assert_eq!(
        ok(
            store.history(ids[1] + 1_000_000, 0, 100, false),
            "history of missing"
        ),
        Vec::new()
    );
    // Large details round-trip.
    e = bumped(&e);
    let mut t = update(&e);
    let big = EventRecord {
        id: 11,
        previous_event_id: 10,
        timestamp_ms: 2000,
        event_type: "TaskSucceeded".to_string(),
        details: format!("{{\"output\":\"{}\"}}", "y".repeat(200_000)),
    };
    t.events = vec![big.clone()];
    ok(store.commit(&[t]), "large event");
    assert_eq!(
        ok(store.history(e.id, 10, 1, false), "large event"),
        vec![big]
    );
}

fn list_executions(store: &dyn Store) {
    let sm = "ex-list";
    let ids = new_ids(store, 7);
    // start times: two share 3000 (then newest = larger id first).
    let specs: [(&str, i64, &str, u32); 6] = [
        ("e0", 1000, "SUCCEEDED", 0),
        ("e1", 3000, "RUNNING", 0),
        ("e2", 2000, "FAILED", 1),
        ("e3", 3000, "FAILED", 0),
        ("e4", 5000, "RUNNING", 2),
        ("e5", 4000, "ABORTED", 0),
    ];
    let mut recs = Vec::new();
    for (i, (name, start, status, redrives)) in specs.iter().enumerate() {
        let mut e = execution(ids[i], sm, name, *start);
        e.status = status.to_string();
        e.redrive_count = *redrives;
        if *redrives > 0 {
            e.redrive_ms = Some(start + 10);
        }
        if *status != "RUNNING" {
            e.stop_ms = Some(start + 100);
        }
        recs.push(e);
    }
    let batch: Vec<_> = recs.iter().map(insert).collect();
    ok(store.commit(&batch), "insert for list");
    // Another state machine's execution is never listed.
    ok(
        store.commit(&[insert(&execution(ids[6], "ex-list-other", "e0", 9000))]),
        "insert other",
    );

    let q = |status: Option<&str>, redriven: Option<bool>, after_id: Option<u64>, limit: usize| {
        ExecutionQuery {
            state_machine_arn: format!("{SM_PREFIX}{sm}"),
            status: status.map(str::to_string),
            redriven,
            after_id,
            limit,
        }
    };
    let by_name = |names: &[&str]| -> Vec<u64> {
        names
            .iter()
            .map(|n| {
                recs.iter()
                    .find(|r| r.name == *n)
                    .map(|r| r.id)
                    .unwrap_or(0)
            })
            .collect()
    };
    let all = ok(store.list_executions(&q(None, None, None, 100)), "list all");
    assert_eq!(
        ids_of(&all),
        by_name(&["e4", "e5", "e3", "e1", "e2", "e0"]),
        "conformance: list_executions newest first (ties: larger id first)"
    );
    for listed in &all {
        let stored = recs
            .iter()
            .find(|r| r.id == listed.id)
            .expect("listed record exists");
        assert_listed(listed, stored, "list_executions");
    }
    assert_eq!(
        ids_of(&ok(
            store.list_executions(&q(Some("RUNNING"), None, None, 100)),
            "RUNNING"
        )),
        by_name(&["e4", "e1"])
    );
    assert_eq!(
        ids_of(&ok(
            store.list_executions(&q(Some("FAILED"), None, None, 100)),
            "FAILED"
        )),
        by_name(&["e3", "e2"])
    );
    assert_eq!(
        ids_of(&ok(
            store.list_executions(&q(Some("TIMED_OUT"), None, None, 100)),
            "TIMED_OUT"
        )),
        Vec::<u64>::new()
    );
    assert_eq!(
        ids_of(&ok(
            store.list_executions(&q(None, Some(true), None, 100)),
            "redriven"
        )),
        by_name(&["e4", "e2"])
    );
    assert_eq!(
        ids_of(&ok(
            store.list_executions(&q(None, Some(false), None, 100)),
            "not redriven"
        )),
        by_name(&["e5", "e3", "e1", "e0"])
    );
    assert_eq!(
        ids_of(&ok(
            store.list_executions(&q(Some("FAILED"), Some(false), None, 100)),
            "FAILED not redriven"
        )),
        by_name(&["e3"])
    );
    // Paging.
    for limit in [1, 2, 4] {
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = ok(
                store.list_executions(&q(None, None, after, limit)),
                "list page",
            );
            assert!(
                page.len() <= limit,
                "conformance: list_executions exceeds the limit"
            );
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            paged.extend(page);
        }
        assert_eq!(
            ids_of(&paged),
            ids_of(&all),
            "conformance: list_executions paging with limit {limit}"
        );
    }
    let e3 = by_name(&["e3"])[0];
    assert_eq!(
        ids_of(&ok(
            store.list_executions(&q(None, None, Some(e3), 100)),
            "after e3"
        )),
        by_name(&["e1", "e2", "e0"]),
        "conformance: after_id continues after an equal start time"
    );
    let e4 = by_name(&["e4"])[0];
    assert_eq!(
        ids_of(&ok(
            store.list_executions(&q(Some("RUNNING"), None, Some(e4), 100)),
            "RUNNING after e4"
        )),
        by_name(&["e1"])
    );
    // A status change moves the execution between filters.
    let idx = recs.iter().position(|r| r.name == "e1").unwrap_or(0);
    let mut e1 = bumped(&recs[idx]);
    e1.status = "SUCCEEDED".to_string();
    e1.stop_ms = Some(3500);
    ok(store.commit(&[update(&e1)]), "e1 succeeds");
    assert_eq!(
        ids_of(&ok(
            store.list_executions(&q(Some("RUNNING"), None, None, 100)),
            "RUNNING after change"
        )),
        by_name(&["e4"])
    );
    assert_eq!(
        ids_of(&ok(
            store.list_executions(&q(Some("SUCCEEDED"), None, None, 100)),
            "SUCCEEDED"
        )),
        by_name(&["e1", "e0"])
    );
    let listed = ok(
        store.list_executions(&q(Some("SUCCEEDED"), None, None, 1)),
        "SUCCEEDED first",
    );
    assert_eq!(listed.len(), 1);
    assert_listed(&listed[0], &e1, "list after update");
    let none = ExecutionQuery {
        state_machine_arn: format!("{SM_PREFIX}nothing"),
        limit: 10,
        ..ExecutionQuery::default()
    };
    assert_eq!(
        ok(store.list_executions(&none), "list unknown machine"),
        Vec::new()
    );
}

fn execution_counts(store: &dyn Store) {
    let before = ok(store.execution_counts(), "execution_counts");
    let count =
        |v: &[(String, u64)], s: &str| v.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
    let ids = new_ids(store, 3);
    let mut recs: Vec<ExecutionRecord> = ids
        .iter()
        .map(|id| execution(*id, "ex-counts", &format!("c{id}"), 1000))
        .collect();
    recs[1].status = "FAILED".to_string();
    recs[2].status = "FAILED".to_string();
    let batch: Vec<_> = recs.iter().map(insert).collect();
    ok(store.commit(&batch), "insert for counts");
    let after = ok(store.execution_counts(), "execution_counts after");
    assert_eq!(
        count(&after, "RUNNING"),
        count(&before, "RUNNING") + 1,
        "conformance: execution_counts RUNNING"
    );
    assert_eq!(
        count(&after, "FAILED"),
        count(&before, "FAILED") + 2,
        "conformance: execution_counts FAILED"
    );
    let mut sorted = after.clone();
    sorted.sort();
    assert_eq!(
        after, sorted,
        "conformance: execution_counts ordered by status"
    );
}

fn running_executions(store: &dyn Store) {
    // Executions from earlier checks may be RUNNING: look only at ours.
    let ids = new_ids(store, 5);
    let mut recs: Vec<ExecutionRecord> = ids
        .iter()
        .map(|id| execution(*id, "ex-running", &format!("r{id}"), 1000))
        .collect();
    recs[1].status = "SUCCEEDED".to_string();
    recs[3].status = "PENDING_REDRIVE".to_string();
    let batch: Vec<_> = recs.iter().map(insert).collect();
    ok(store.commit(&batch), "insert for running");
    let first = ids[0];
    let mine = |v: Vec<ExecutionRecord>| -> Vec<ExecutionRecord> {
        v.into_iter().filter(|e| e.id >= first).collect()
    };
    let running = mine(ok(
        store.running_executions(0, 100_000),
        "running_executions",
    ));
    assert_eq!(
        ids_of(&running),
        vec![ids[0], ids[2], ids[4]],
        "conformance: running_executions ascending, RUNNING only"
    );
    assert_eq!(
        running[0], recs[0],
        "conformance: running_executions returns full records (state and input)"
    );
    assert_eq!(
        ids_of(&ok(store.running_executions(ids[0], 1), "running after")),
        vec![ids[2]]
    );
    assert_eq!(
        ids_of(&ok(store.running_executions(ids[2], 10), "running after 2")),
        vec![ids[4]]
    );
    assert_eq!(
        ok(store.running_executions(ids[4], 10), "running after last"),
        Vec::new()
    );
    // All RUNNING executions from all checks, paged, are ascending and unique.
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let page = ok(store.running_executions(after, 2), "running page");
        let Some(last) = page.last() else { break };
        after = last.id;
        assert!(
            page.iter().all(|e| e.status == "RUNNING"),
            "conformance: running_executions returned a non-RUNNING execution"
        );
        seen.extend(ids_of(&page));
    }
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "conformance: running_executions paging not ascending"
    );
    assert!(seen.contains(&ids[0]) && seen.contains(&ids[4]));
    // Finishing one removes it.
    let mut done = bumped(&recs[0]);
    done.status = "TIMED_OUT".to_string();
    let mut back = bumped(&recs[3]);
    back.status = "RUNNING".to_string();
    back.redrive_count = 1;
    ok(
        store.commit(&[update(&done), update(&back)]),
        "finish and redrive",
    );
    let running = mine(ok(
        store.running_executions(0, 100_000),
        "running after finish",
    ));
    assert_eq!(ids_of(&running), vec![ids[2], ids[3], ids[4]]);
}

fn timers(store: &dyn Store) {
    assert_eq!(
        ok(store.due_timers(i64::MAX, 100), "no timers"),
        Vec::new(),
        "conformance: timers left by earlier checks"
    );
    let ids = new_ids(store, 3);
    let mut recs: Vec<ExecutionRecord> = ids
        .iter()
        .map(|id| execution(*id, "ex-timers", &format!("t{id}"), 1000))
        .collect();
    let tm = |e: u64, t: u64, due: i64| TimerRecord {
        execution_id: e,
        timer_id: t,
        due_ms: due,
    };
    let mut batch: Vec<_> = recs.iter().map(insert).collect();
    batch[0].timers_added = vec![tm(ids[0], 1, 5000), tm(ids[0], 2, 1000)];
    batch[1].timers_added = vec![tm(ids[1], 1, 3000), tm(ids[1], 7, 5000)];
    batch[2].timers_added = vec![tm(ids[2], 1, -5), tm(ids[2], 2, 3000)];
    ok(store.commit(&batch), "insert timers");
    let all = ok(store.due_timers(i64::MAX, 100), "all timers");
    assert_eq!(
        all,
        vec![
            tm(ids[2], 1, -5),
            tm(ids[0], 2, 1000),
            tm(ids[1], 1, 3000),
            tm(ids[2], 2, 3000),
            tm(ids[0], 1, 5000),
            tm(ids[1], 7, 5000)
        ],
        "conformance: due_timers ascending by due time (then execution, timer)"
    );
    assert_eq!(
        ok(store.due_timers(3000, 100), "due by 3000"),
        all[..4].to_vec(),
        "conformance: due_timers includes timers due exactly at before_ms"
    );
    assert_eq!(
        ok(store.due_timers(2999, 100), "due by 2999"),
        all[..2].to_vec()
    );
    assert_eq!(ok(store.due_timers(-6, 100), "none due"), Vec::new());
    assert_eq!(
        ok(store.due_timers(i64::MAX, 3), "limit"),
        all[..3].to_vec()
    );
    // Fire one, replace one, cancel one.
    recs[0] = bumped(&recs[0]);
    let mut t0 = update(&recs[0]);
    t0.timers_removed = vec![2];
    recs[2] = bumped(&recs[2]);
    let mut t2 = update(&recs[2]);
    t2.timers_removed = vec![1, 2];
    t2.timers_added = vec![tm(ids[2], 3, 4000)];
    ok(store.commit(&[t0, t2]), "remove timers");
    assert_eq!(
        ok(store.due_timers(i64::MAX, 100), "timers after removal"),
        vec![
            tm(ids[1], 1, 3000),
            tm(ids[2], 3, 4000),
            tm(ids[0], 1, 5000),
            tm(ids[1], 7, 5000)
        ]
    );
    // A timer id may be reused after removal.
    recs[1] = bumped(&recs[1]);
    let mut t1 = update(&recs[1]);
    t1.timers_removed = vec![1];
    t1.timers_added = vec![tm(ids[1], 1, 100)];
    ok(
        store.commit(&[t1]),
        "re-add a removed timer id in one write",
    );
    assert_eq!(
        ok(store.due_timers(100, 100), "re-added"),
        vec![tm(ids[1], 1, 100)]
    );
    // Clear.
    let mut clear = Vec::new();
    for (i, timers) in [vec![1], vec![1, 7], vec![3]].into_iter().enumerate() {
        recs[i] = bumped(&recs[i]);
        let mut t = update(&recs[i]);
        t.timers_removed = timers;
        clear.push(t);
    }
    ok(store.commit(&clear), "clear timers");
    assert_eq!(
        ok(store.due_timers(i64::MAX, 100), "timers cleared"),
        Vec::new()
    );
}

fn outbox(store: &dyn Store) {
    assert_eq!(
        ok(store.outbox(None, 100), "empty outbox"),
        Vec::new(),
        "conformance: outbox rows left by earlier checks"
    );
    let ids = new_ids(store, 2);
    let (a, b) = (ids[0], ids[1]);
    let mut ea = execution(a, "ex-outbox", "a", 1000);
    let mut eb = execution(b, "ex-outbox", "b", 1000);
    let ob = |e: u64, s: u64| OutboxRecord {
        execution_id: e,
        seq: s,
        command: format!(r#"{{"e":{e},"s":{s}}}"#),
    };
    let mut ta = insert(&ea);
    ta.outbox_added = vec![ob(a, 2), ob(a, 1), ob(a, 10)];
    let mut tb = insert(&eb);
    tb.outbox_added = vec![ob(b, 1)];
    ok(store.commit(&[tb, ta]), "insert outbox");
    let all = ok(store.outbox(None, 100), "outbox all");
    assert_eq!(
        all,
        vec![ob(a, 1), ob(a, 2), ob(a, 10), ob(b, 1)],
        "conformance: outbox ascending by (execution, seq)"
    );
    assert_eq!(
        ok(store.outbox(Some((a, 1)), 2), "outbox after (a,1)"),
        vec![ob(a, 2), ob(a, 10)]
    );
    assert_eq!(
        ok(store.outbox(Some((a, 10)), 10), "outbox after (a,10)"),
        vec![ob(b, 1)],
        "conformance: outbox continues with the next execution"
    );
    assert_eq!(
        ok(store.outbox(Some((a, 0)), 10), "outbox after (a,0)").len(),
        4
    );
    assert_eq!(
        ok(store.outbox(Some((b, 1)), 10), "outbox after last"),
        Vec::new()
    );
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = ok(store.outbox(after, 1), "outbox page");
        let Some(last) = page.last() else { break };
        after = Some((last.execution_id, last.seq));
        paged.extend(page);
    }
    assert_eq!(paged, all, "conformance: outbox paging");
    ea = bumped(&ea);
    let mut ta = update(&ea);
    ta.outbox_removed = vec![1, 10];
    ta.outbox_added = vec![ob(a, 11)];
    ok(store.commit(&[ta]), "remove outbox rows");
    assert_eq!(
        ok(store.outbox(None, 100), "outbox after removal"),
        vec![ob(a, 2), ob(a, 11), ob(b, 1)]
    );
    ea = bumped(&ea);
    let mut ta = update(&ea);
    ta.outbox_removed = vec![2, 11];
    eb = bumped(&eb);
    let mut tb = update(&eb);
    tb.outbox_removed = vec![1];
    ok(store.commit(&[ta, tb]), "clear outbox");
    assert_eq!(ok(store.outbox(None, 100), "outbox cleared"), Vec::new());
}

fn concurrent_commits(store: &dyn Store) {
    const THREADS: usize = 4;
    const STEPS: u64 = 25;
    let ids = new_ids(store, THREADS as u64);
    std::thread::scope(|s| {
        for (n, id) in ids.iter().enumerate() {
            let id = *id;
            s.spawn(move || {
                let mut e = execution(id, "ex-concurrent", &format!("c{n}"), 1000);
                let mut t = insert(&e);
                t.events = vec![event(1, 1)];
                ok(store.commit(&[t]), "concurrent insert");
                for step in 2..=STEPS {
                    e = bumped(&e);
                    let mut t = update(&e);
                    t.events = vec![event(step, 1)];
                    ok(store.commit(&[t]), "concurrent update");
                    // Reads see our own writes.
                    let got = ok(store.get_execution_by_id(id), "concurrent read");
                    assert_eq!(
                        got.map(|g| g.version),
                        Some(e.version),
                        "conformance: read after commit"
                    );
                }
            });
        }
    });
    for id in ids {
        let e = ok(store.get_execution_by_id(id), "after concurrent").expect("execution exists");
        assert_eq!(
            e.version, STEPS,
            "conformance: concurrent commits lost an update"
        );
        assert_eq!(
            ok(store.history(id, 0, 1000, false), "concurrent history").len(),
            STEPS as usize
        );
    }
}

// ----- benchmark ---------------------------------------------------------------

/// What [`bench_commit_report`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    pub transitions: usize,
    pub batch: usize,
    pub commits: usize,
    /// Transitions committed per second of `commit` time.
    pub transitions_per_s: f64,
    pub p50_commit_us: f64,
    pub p99_commit_us: f64,
    pub max_commit_us: f64,
}

/// Commits `transitions` realistic transitions (a ~500-byte state blob, two
/// ~300-byte events, one timer added and one removed) in batches of `batch`,
/// spread round-robin over up to 1,000 executions created first, and returns
/// transitions per second of `commit` time. Panics if the store fails.
pub fn bench_commit(store: &dyn Store, transitions: usize, batch: usize) -> f64 {
    bench_commit_report(store, transitions, batch).transitions_per_s
}

/// [`bench_commit`] with commit latencies.
pub fn bench_commit_report(store: &dyn Store, transitions: usize, batch: usize) -> BenchReport {
    let batch = batch.max(1);
    let executions = transitions.clamp(1, 1000);
    let first = ok(store.allocate_ids(executions as u64), "bench: allocate_ids");
    let sm = format!("{SM_PREFIX}bench");
    let mut recs: Vec<ExecutionRecord> = (0..executions as u64)
        .map(|i| {
            let id = first + i;
            ExecutionRecord {
                id,
                arn: format!("{EXEC_PREFIX}bench:{id}"),
                state_machine_arn: sm.clone(),
                revision: 1,
                name: id.to_string(),
                status: "RUNNING".to_string(),
                start_ms: 1_700_000_000_000 + i64::try_from(i).unwrap_or(0),
                stop_ms: None,
                input: r#"{"order":{"id":"12345","items":[1,2,3]}}"#.to_string(),
                output: None,
                error: None,
                cause: None,
                trace_header: None,
                redrive_count: 0,
                redrive_ms: None,
                state: vec![b's'; 500],
                version: 1,
            }
        })
        .collect();
    let mut next_event = vec![2u64; executions];
    for chunk in recs.chunks(500) {
        let writes: Vec<_> = chunk
            .iter()
            .map(|e| {
                let mut t = insert(e);
                t.events = vec![bench_event(1, "ExecutionStarted")];
                t.timers_added = vec![TimerRecord {
                    execution_id: e.id,
                    timer_id: 1,
                    due_ms: 1_800_000_000_000,
                }];
                t
            })
            .collect();
        ok(store.commit(&writes), "bench: insert executions");
    }
    let mut latencies = Vec::with_capacity(transitions / batch + 1);
    let mut total = std::time::Duration::ZERO;
    let mut done = 0usize;
    let mut k = 0usize;
    while done < transitions {
        let n = batch.min(transitions - done);
        let writes: Vec<TransitionWrite> = (0..n)
            .map(|_| {
                let i = k % executions;
                k += 1;
                let e = &mut recs[i];
                e.version += 1;
                let v = e.version;
                e.state[..8].copy_from_slice(&v.to_le_bytes());
                let ev = next_event[i];
                next_event[i] += 2;
                TransitionWrite {
                    execution: ExecutionWrite::Update(e.clone()),
                    events: vec![
                        bench_event(ev, "TaskStateExited"),
                        bench_event(ev + 1, "TaskStateEntered"),
                    ],
                    timers_added: vec![TimerRecord {
                        execution_id: e.id,
                        timer_id: v,
                        due_ms: 1_800_000_000_000 + i64::try_from(v).unwrap_or(0),
                    }],
                    timers_removed: vec![v - 1],
                    outbox_added: Vec::new(),
                    outbox_removed: Vec::new(),
                }
            })
            .collect();
        let t0 = Instant::now();
        ok(store.commit(&writes), "bench: commit");
        let dt = t0.elapsed();
        total += dt;
        latencies.push(dt.as_secs_f64() * 1e6);
        done += n;
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let idx = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[idx.min(latencies.len() - 1)]
    };
    BenchReport {
        transitions,
        batch,
        commits: latencies.len(),
        transitions_per_s: if total.is_zero() {
            0.0
        } else {
            transitions as f64 / total.as_secs_f64()
        },
        p50_commit_us: pct(0.5),
        p99_commit_us: pct(0.99),
        max_commit_us: latencies.last().copied().unwrap_or(0.0),
    }
}

fn bench_event(id: u64, kind: &str) -> EventRecord {
    let details = format!(
        r#"{{"name":"Step{id}","input":"{}","inputDetails":{{"truncated":false}}}}"#,
        "p".repeat(240)
    );
    EventRecord {
        id,
        previous_event_id: id - 1,
        timestamp_ms: 1_700_000_000_000,
        event_type: kind.to_string(),
        details,
    }
}
