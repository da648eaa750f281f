//! Queues and their messages (SQS-compatible queues): queue rows holding the
//! queue's settings as JSON text, and message rows with their visibility
//! deadline and receive count.
//!
//! The queue service owns the meaning of the JSON texts (`QueueRecord::value`,
//! `MessageRecord::meta`). Ids are chosen by the caller: a queue id is unique
//! among the stored queues, a message `seq` is unique in the store and
//! ascending in send order (the service allocates both; a backend may hand
//! out ranges from a sequence).
//!
//! Two ways to take messages, both behind this trait:
//! - a node that owns its queues (the SQLite case) keeps its own indexes in
//!   memory and records what it did with [`QueueStore::write_queues`], many
//!   requests' changes in one transaction (group commit);
//! - nodes sharing queues claim with [`QueueStore::claim_messages`]: visible
//!   messages get a new visibility deadline and receive count in one
//!   statement (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so two nodes never
//!   take the same message while it is in flight.

use serde::{Deserialize, Serialize};

use crate::Result;

/// One queue: `key` names it uniquely (the service uses
/// `region/account/name`), `value` is opaque JSON text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRecord {
    pub id: u64,
    pub key: String,
    pub value: String,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub queue_id: u64,
    /// Unique in the store; ascending in send order.
    pub seq: u64,
    pub message_id: String,
    pub body: String,
    /// Everything else the service keeps with the message (attributes,
    /// digests, group and deduplication ids), as opaque JSON text.
    pub meta: String,
    /// Epoch milliseconds.
    pub sent_ms: i64,
    /// The message may be received at or after this instant (epoch ms): the
    /// end of a delay or of a visibility timeout.
    pub visible_ms: i64,
    pub receive_count: u32,
    pub first_receive_ms: Option<i64>,
}

/// One change in [`QueueStore::write_queues`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueueOp {
    /// Adds or replaces a queue (by id). A different queue with the same key
    /// is a `Conflict`.
    PutQueue(QueueRecord),
    /// Removes a queue and all its messages; a missing queue is not an error.
    DeleteQueue { id: u64 },
    /// Removes the queue's messages with `seq <= up_to_seq`.
    Purge { queue_id: u64, up_to_seq: u64 },
    /// Adds a message; an existing `seq` is a `Conflict`.
    Send(MessageRecord),
    /// A receive or a visibility change: sets the message's deadline and
    /// counts. A missing message is not an error (it was deleted).
    SetVisibility {
        queue_id: u64,
        seq: u64,
        visible_ms: i64,
        receive_count: u32,
        first_receive_ms: Option<i64>,
    },
    /// Moves a message to another queue under a new `seq` (dead-letter
    /// redrive): visible at `visible_ms`, never received there. A missing
    /// message is not an error.
    Move {
        queue_id: u64,
        seq: u64,
        to_queue_id: u64,
        new_seq: u64,
        visible_ms: i64,
    },
    /// Removes a message; a missing message is not an error.
    Delete { queue_id: u64, seq: u64 },
}

/// The queue tables. Every method is one transaction.
pub trait QueueStore {
    /// Applies every op in order in one transaction, or none. When it
    /// returns `Ok`, the changes are durable.
    fn write_queues(&self, ops: &[QueueOp]) -> Result<()>;
    /// Every queue, ascending by id.
    fn queues(&self) -> Result<Vec<QueueRecord>>;
    /// Messages of every queue with `seq > after_seq`, ascending by seq, at
    /// most `limit` (recovery after a restart).
    fn messages(&self, after_seq: u64, limit: usize) -> Result<Vec<MessageRecord>>;
    /// Claims up to `limit` messages of the queue that are visible at
    /// `now_ms` (oldest `seq` first): each gets `visible_ms = until_ms`, its
    /// receive count + 1 and, on its first receive, `first_receive_ms =
    /// now_ms`. Returns them as updated, ascending by seq. Concurrent claims
    /// never return the same message.
    fn claim_messages(
        &self,
        queue_id: u64,
        now_ms: i64,
        until_ms: i64,
        limit: usize,
    ) -> Result<Vec<MessageRecord>>;
}
