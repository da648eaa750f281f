//! Conformance: queues and messages.

use super::{conflict, ok};
use crate::{MessageRecord, QueueOp, QueueRecord, Store};

fn queue(id: u64, key: &str) -> QueueRecord {
    QueueRecord {
        id,
        key: key.into(),
        value: format!("{{\"id\":{id}}}"),
    }
}

fn message(queue_id: u64, seq: u64, visible_ms: i64) -> MessageRecord {
    MessageRecord {
        queue_id,
        seq,
        message_id: format!("m-{seq}"),
        body: format!("body {seq} \u{e9}\u{1F600}"),
        meta: "{}".into(),
        sent_ms: 1_000 + i64::try_from(seq).unwrap_or(0),
        visible_ms,
        receive_count: 0,
        first_receive_ms: None,
    }
}

fn seqs(v: &[MessageRecord]) -> Vec<u64> {
    v.iter().map(|m| m.seq).collect()
}

pub(super) fn queues(store: &dyn Store) {
    ok(
        store.write_queues(&[
            QueueOp::PutQueue(queue(1, "us-east-1/000000000000/a")),
            QueueOp::PutQueue(queue(2, "us-east-1/000000000000/b")),
        ]),
        "put queues",
    );
    assert_eq!(
        ok(store.queues(), "queues"),
        vec![
            queue(1, "us-east-1/000000000000/a"),
            queue(2, "us-east-1/000000000000/b")
        ]
    );
    // Replacing by id.
    let mut changed = queue(2, "us-east-1/000000000000/b");
    changed.value = "{\"changed\":true}".into();
    ok(
        store.write_queues(&[QueueOp::PutQueue(changed.clone())]),
        "replace queue",
    );
    assert_eq!(ok(store.queues(), "queues")[1], changed);
    // Another id under an existing key is a conflict and rolls back the batch.
    conflict(
        store.write_queues(&[
            QueueOp::Send(message(1, 100, 0)),
            QueueOp::PutQueue(queue(3, "us-east-1/000000000000/a")),
        ]),
        "duplicate queue key",
    );
    assert!(
        ok(store.messages(0, 100), "rolled back").is_empty(),
        "a failed batch writes nothing"
    );

    // Messages.
    ok(
        store.write_queues(&[
            QueueOp::Send(message(1, 1, 0)),
            QueueOp::Send(message(1, 2, 0)),
            QueueOp::Send(message(2, 3, 0)),
            QueueOp::Send(message(1, 4, 5_000)),
            QueueOp::Send(message(1, 5, 0)),
        ]),
        "send",
    );
    let all = ok(store.messages(0, 100), "messages");
    assert_eq!(seqs(&all), vec![1, 2, 3, 4, 5]);
    assert_eq!(all[0], message(1, 1, 0), "a message reads back as written");
    assert_eq!(seqs(&ok(store.messages(2, 2), "page")), vec![3, 4]);
    conflict(
        store.write_queues(&[QueueOp::Send(message(2, 2, 0))]),
        "duplicate seq",
    );

    // Receive, visibility change, delete.
    ok(
        store.write_queues(&[
            QueueOp::SetVisibility {
                queue_id: 1,
                seq: 1,
                visible_ms: 9_000,
                receive_count: 1,
                first_receive_ms: Some(2_000),
            },
            QueueOp::Delete {
                queue_id: 1,
                seq: 2,
            },
            QueueOp::Delete {
                queue_id: 1,
                seq: 999,
            },
            QueueOp::SetVisibility {
                queue_id: 1,
                seq: 999,
                visible_ms: 1,
                receive_count: 1,
                first_receive_ms: None,
            },
        ]),
        "visibility and delete",
    );
    let all = ok(store.messages(0, 100), "messages");
    assert_eq!(seqs(&all), vec![1, 3, 4, 5]);
    assert_eq!(
        (
            all[0].visible_ms,
            all[0].receive_count,
            all[0].first_receive_ms
        ),
        (9_000, 1, Some(2_000))
    );
    // Delete names the queue too.
    ok(
        store.write_queues(&[QueueOp::Delete {
            queue_id: 2,
            seq: 1,
        }]),
        "delete in the wrong queue",
    );
    assert_eq!(
        seqs(&ok(store.messages(0, 100), "messages")),
        vec![1, 3, 4, 5]
    );

    // Claims: visible messages of one queue, oldest first.
    let claimed = ok(store.claim_messages(1, 3_000, 33_000, 10), "claim");
    assert_eq!(seqs(&claimed), vec![5], "seq 1 is in flight, seq 4 delayed");
    assert_eq!(
        (
            claimed[0].visible_ms,
            claimed[0].receive_count,
            claimed[0].first_receive_ms
        ),
        (33_000, 1, Some(3_000))
    );
    assert!(ok(store.claim_messages(1, 3_000, 33_000, 10), "claim again").is_empty());
    let claimed = ok(store.claim_messages(1, 10_000, 40_000, 1), "claim later");
    assert_eq!(seqs(&claimed), vec![1], "the oldest first, limit 1");
    assert_eq!(
        (claimed[0].receive_count, claimed[0].first_receive_ms),
        (2, Some(2_000)),
        "the first receive time is kept"
    );
    assert!(ok(store.claim_messages(1, 0, 1, 0), "limit 0").is_empty());

    // Move to another queue (dead-letter redrive).
    ok(
        store.write_queues(&[QueueOp::Move {
            queue_id: 1,
            seq: 1,
            to_queue_id: 2,
            new_seq: 10,
            visible_ms: 0,
        }]),
        "move",
    );
    let all = ok(store.messages(0, 100), "messages");
    assert_eq!(seqs(&all), vec![3, 4, 5, 10]);
    let moved = &all[3];
    assert_eq!(
        (
            moved.queue_id,
            moved.message_id.as_str(),
            moved.receive_count,
            moved.first_receive_ms
        ),
        (2, "m-1", 0, None)
    );

    // Purge up to a seq, then drop a queue with its messages.
    ok(
        store.write_queues(&[
            QueueOp::Send(message(1, 11, 0)),
            QueueOp::Purge {
                queue_id: 1,
                up_to_seq: 5,
            },
        ]),
        "purge",
    );
    assert_eq!(
        seqs(&ok(store.messages(0, 100), "messages")),
        vec![3, 10, 11]
    );
    ok(
        store.write_queues(&[QueueOp::DeleteQueue { id: 2 }]),
        "delete queue",
    );
    assert_eq!(seqs(&ok(store.messages(0, 100), "messages")), vec![11]);
    assert_eq!(
        ok(store.queues(), "queues"),
        vec![queue(1, "us-east-1/000000000000/a")]
    );
    ok(
        store.write_queues(&[
            QueueOp::DeleteQueue { id: 1 },
            QueueOp::DeleteQueue { id: 7 },
        ]),
        "delete the rest",
    );
    assert!(ok(store.queues(), "queues").is_empty());
    assert!(ok(store.messages(0, 100), "messages").is_empty());
    ok(store.write_queues(&[]), "empty batch");

    // Large bodies round-trip.
    let mut big = message(5, 20, 0);
    big.body = "x".repeat(1024 * 1024);
    ok(
        store.write_queues(&[
            QueueOp::PutQueue(queue(5, "eu-west-1/111111111111/big")),
            QueueOp::Send(big.clone()),
        ]),
        "big message",
    );
    assert_eq!(ok(store.messages(0, 10), "big")[0], big);
    ok(
        store.write_queues(&[QueueOp::DeleteQueue { id: 5 }]),
        "cleanup",
    );
}
