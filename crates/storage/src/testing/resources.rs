//! Conformance: the resource table.

use super::{conflict, ok};
use crate::{ResourceOp, ResourceRecord, Store};

fn rec(kind: &str, key: &str, value: &str) -> ResourceRecord {
    ResourceRecord {
        kind: kind.into(),
        key: key.into(),
        value: value.into(),
    }
}

pub(super) fn resources(store: &dyn Store) {
    ok(
        store.write_resources(&[
            ResourceOp::Insert(rec("topic", "a/t1", "{\"n\":1}")),
            ResourceOp::Insert(rec("topic", "a/t2", "{\"n\":2}")),
            ResourceOp::Insert(rec("topic", "b/t1", "{\"n\":3}")),
            ResourceOp::Insert(rec("queue", "a/t1", "{}")),
        ]),
        "insert resources",
    );
    assert_eq!(
        ok(store.get_resource("topic", "a/t1"), "get"),
        Some(rec("topic", "a/t1", "{\"n\":1}"))
    );
    assert_eq!(ok(store.get_resource("topic", "zz"), "get missing"), None);
    // Insert of an existing row fails the whole batch.
    conflict(
        store.write_resources(&[
            ResourceOp::Insert(rec("topic", "c/new", "{}")),
            ResourceOp::Insert(rec("topic", "a/t1", "{}")),
        ]),
        "duplicate insert",
    );
    assert_eq!(
        ok(store.get_resource("topic", "c/new"), "rolled back"),
        None
    );
    // Put replaces; delete of a missing row is fine.
    ok(
        store.write_resources(&[
            ResourceOp::Put(rec("topic", "a/t1", "{\"n\":9}")),
            ResourceOp::Delete {
                kind: "topic".into(),
                key: "nope".into(),
            },
        ]),
        "put",
    );
    assert_eq!(
        ok(store.get_resource("topic", "a/t1"), "get after put"),
        Some(rec("topic", "a/t1", "{\"n\":9}"))
    );
    // Prefix, order, paging; the kind separates namespaces.
    let keys = |rows: Vec<ResourceRecord>| rows.into_iter().map(|r| r.key).collect::<Vec<_>>();
    assert_eq!(
        keys(ok(store.list_resources("topic", "a/", None, 10), "list")),
        ["a/t1", "a/t2"]
    );
    assert_eq!(
        keys(ok(store.list_resources("topic", "", None, 2), "page 1")),
        ["a/t1", "a/t2"]
    );
    assert_eq!(
        keys(ok(
            store.list_resources("topic", "", Some("a/t2"), 2),
            "page 2"
        )),
        ["b/t1"]
    );
    // `%` and `_` in a prefix are literal.
    ok(
        store.write_resources(&[ResourceOp::Put(rec("topic", "a%x", "{}"))]),
        "put wildcard",
    );
    assert_eq!(
        keys(ok(
            store.list_resources("topic", "a%", None, 10),
            "literal prefix"
        )),
        ["a%x"]
    );
    ok(
        store.write_resources(&[ResourceOp::Delete {
            kind: "topic".into(),
            key: "a/t1".into(),
        }]),
        "delete",
    );
    assert_eq!(ok(store.get_resource("topic", "a/t1"), "deleted"), None);
    assert_eq!(
        ok(store.get_resource("queue", "a/t1"), "other kind kept"),
        Some(rec("queue", "a/t1", "{}"))
    );
}
