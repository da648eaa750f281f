//! Baton's storage: the [`Store`] trait every backend implements, the records
//! it keeps, and [`testing::conformance`], the one suite every backend must
//! pass.
//!
//! Architecture invariant: SQL is known only to the backend modules
//! ([`sqlite`], and PostgreSQL later). The engine talks to a `dyn Store`.
//!
//! The trait is synchronous: the engine calls it from its own committer
//! thread and from blocking tasks. A step of an execution is written with
//! [`Store::commit`], which takes a batch of [`TransitionWrite`]s from many
//! executions and applies all of them in one transaction (group commit) or
//! none.

use std::fmt;

use serde::{Deserialize, Serialize};

pub mod leases;
pub mod queues;
pub mod resources;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod testing;

pub use leases::{Lease, LeaseStore};
pub use queues::{MessageRecord, QueueOp, QueueRecord, QueueStore};
pub use resources::{ResourceOp, ResourceRecord, ResourceStore};

/// What kind of storage failure happened; the engine decides by kind, never by
/// backend-specific detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A uniqueness rule was broken (the row exists) or a version check failed.
    Conflict,
    /// The store is busy or locked; retrying may succeed.
    Busy,
    /// The store cannot be used (I/O error, disk full, corrupt file, lost
    /// connection). The engine stops acknowledging writes.
    Unavailable,
    /// The store holds data this version cannot read.
    Corrupt,
}

/// A storage error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage {:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// `STANDARD` or `EXPRESS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MachineType {
    Standard,
    Express,
}

impl MachineType {
    pub fn as_str(self) -> &'static str {
        match self {
            MachineType::Standard => "STANDARD",
            MachineType::Express => "EXPRESS",
        }
    }
}

/// A state machine (its current revision).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateMachineRecord {
    pub arn: String,
    pub name: String,
    pub machine_type: MachineType,
    /// `ACTIVE` or `DELETING`.
    pub status: String,
    pub creation_ms: i64,
    /// The current revision (1 at creation, +1 per UpdateStateMachine that
    /// changes something).
    pub revision: u64,
    /// The current revision's content.
    pub content: RevisionContent,
}

/// What one revision of a state machine runs with. Executions pin the
/// revision they started on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevisionContent {
    pub definition: String,
    pub role_arn: String,
    /// `loggingConfiguration`, `tracingConfiguration`,
    /// `encryptionConfiguration`, `description` as JSON text (kept and
    /// returned as given).
    pub config: String,
    /// `revisionId` as AWS shows it (a UUID).
    pub revision_id: String,
    pub update_ms: i64,
}

/// An activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRecord {
    pub arn: String,
    pub name: String,
    pub creation_ms: i64,
}

/// A tag on any resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// An execution as stored: what DescribeExecution/ListExecutions show, plus
/// the interpreter's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    /// Internal id (from [`Store::allocate_ids`]); tokens and timers refer to
    /// it.
    pub id: u64,
    pub arn: String,
    pub state_machine_arn: String,
    /// The state machine revision the execution runs.
    pub revision: u64,
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`,
    /// `PENDING_REDRIVE`.
    pub status: String,
    pub start_ms: i64,
    pub stop_ms: Option<i64>,
    /// The input as the caller sent it.
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub trace_header: Option<String>,
    pub redrive_count: u32,
    pub redrive_ms: Option<i64>,
    /// The interpreter's serialised state (opaque to the store).
    pub state: Vec<u8>,
    /// Bumped by every update; an update names the version it read.
    pub version: u64,
}

/// One history event as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp_ms: i64,
    /// `TaskStateEntered`, ...
    pub event_type: String,
    /// The details object as JSON text (`{}` when the event has none).
    pub details: String,
}

/// A durable timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerRecord {
    pub execution_id: u64,
    /// The timer's id within its execution.
    pub timer_id: u64,
    /// Epoch milliseconds.
    pub due_ms: i64,
}

/// A command committed with a transition and not yet carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRecord {
    pub execution_id: u64,
    /// The command's sequence number within its execution.
    pub seq: u64,
    /// The command, as JSON text (opaque to the store).
    pub command: String,
}

/// How a transition changes its execution row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ExecutionWrite {
    /// A new execution (StartExecution). Fails with `Conflict` if the ARN
    /// exists.
    Insert(ExecutionRecord),
    /// An update of an existing execution, valid only if its stored version is
    /// `record.version - 1` (else `Conflict`; a missing execution is a
    /// `Conflict` too). It rewrites every field except the immutable ones:
    /// `id`, `arn`, `state_machine_arn`, `name`, `start_ms` and `input` keep
    /// their inserted values.
    Update(ExecutionRecord),
}

/// Everything one step of one execution writes. [`Store::commit`] applies a
/// batch of these in one transaction, in order (one batch may insert an
/// execution and then update it).
///
/// Events, timers and outbox rows are keyed by (execution, id): adding one
/// that exists is a `Conflict` (and fails the batch); removing one that does
/// not exist is not an error. Removals are applied before additions, so one
/// write may remove a timer id and add it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionWrite {
    pub execution: ExecutionWrite,
    /// Appended to the execution's history.
    pub events: Vec<EventRecord>,
    pub timers_added: Vec<TimerRecord>,
    /// Timer ids (within this execution) no longer wanted or fired.
    pub timers_removed: Vec<u64>,
    pub outbox_added: Vec<OutboxRecord>,
    /// Outbox sequence numbers (within this execution) carried out.
    pub outbox_removed: Vec<u64>,
}

/// Filters for [`Store::list_executions`]. Results are newest first (by
/// start time, then id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionQuery {
    pub state_machine_arn: String,
    pub status: Option<String>,
    /// Only redriven (`Some(true)`) or never redriven (`Some(false)`).
    pub redriven: Option<bool>,
    /// Continue after this execution id (the last one of the previous page).
    pub after_id: Option<u64>,
    pub limit: usize,
}

/// The store. Every method is one transaction; implementations must be safe
/// to call from many threads.
pub trait Store: ResourceStore + QueueStore + LeaseStore + Send + Sync + 'static {
    /// Reserves `n` consecutive execution ids; returns the first. Ids start
    /// at 1 and are never handed out twice (not even after a restart).
    fn allocate_ids(&self, n: u64) -> Result<u64>;
    /// A 32-byte secret created on first use and kept for ever (task token
    /// MACs).
    fn secret(&self) -> Result<[u8; 32]>;

    // ----- state machines ------------------------------------------------
    /// Inserts a state machine and its revision 1 (`Conflict` if the ARN
    /// exists).
    fn create_state_machine(&self, sm: &StateMachineRecord, tags: &[Tag]) -> Result<()>;
    /// Stores a new revision and makes it current (`revision` must be the
    /// current one + 1, else `Conflict`).
    fn update_state_machine(
        &self,
        arn: &str,
        revision: u64,
        content: &RevisionContent,
    ) -> Result<()>;
    /// Sets the status (`DELETING`); a missing ARN is not an error.
    fn set_state_machine_status(&self, arn: &str, status: &str) -> Result<()>;
    /// Removes the state machine, its revisions and tags (not its
    /// executions). `false` if it did not exist.
    fn delete_state_machine(&self, arn: &str) -> Result<bool>;
    fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachineRecord>>;
    /// One revision's content.
    fn get_revision(&self, arn: &str, revision: u64) -> Result<Option<RevisionContent>>;
    /// State machines ordered by ARN, after `after_arn`.
    fn list_state_machines(
        &self,
        after_arn: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StateMachineRecord>>;

    // ----- activities ------------------------------------------------------
    fn create_activity(&self, activity: &ActivityRecord, tags: &[Tag]) -> Result<()>;
    fn get_activity(&self, arn: &str) -> Result<Option<ActivityRecord>>;
    /// Removes the activity and its tags; `false` if it did not exist.
    fn delete_activity(&self, arn: &str) -> Result<bool>;
    /// Activities ordered by ARN, after `after_arn`.
    fn list_activities(&self, after_arn: Option<&str>, limit: usize)
    -> Result<Vec<ActivityRecord>>;

    // ----- tags ------------------------------------------------------------
    /// Adds or replaces tags by key. The store does not check that the
    /// resource exists.
    fn tag(&self, arn: &str, tags: &[Tag]) -> Result<()>;
    fn untag(&self, arn: &str, keys: &[String]) -> Result<()>;
    /// Tags ordered by key.
    fn tags(&self, arn: &str) -> Result<Vec<Tag>>;

    // ----- executions --------------------------------------------------------
    /// Applies every write in one transaction, or none. When it returns
    /// `Ok`, the batch is durable.
    fn commit(&self, batch: &[TransitionWrite]) -> Result<()>;
    fn get_execution(&self, arn: &str) -> Result<Option<ExecutionRecord>>;
    fn get_execution_by_id(&self, id: u64) -> Result<Option<ExecutionRecord>>;
    /// The records come without `state` and `input` (both empty): lists
    /// never load the blobs.
    fn list_executions(&self, query: &ExecutionQuery) -> Result<Vec<ExecutionRecord>>;
    /// History events with `after_id < id` (ascending) or, with `reverse`,
    /// `id < after_id` (descending; `after_id` 0 means from the end).
    fn history(
        &self,
        execution_id: u64,
        after_id: u64,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<EventRecord>>;
    /// RUNNING executions with `id > after_id`, ascending (recovery after a
    /// restart), as full records (with `state` and `input`).
    fn running_executions(&self, after_id: u64, limit: usize) -> Result<Vec<ExecutionRecord>>;
    /// How many executions there are per status (`RUNNING`, `SUCCEEDED`, ...),
    /// ordered by status.
    fn execution_counts(&self) -> Result<Vec<(String, u64)>>;
    /// Timers due at or before `before_ms`, ascending by due time.
    fn due_timers(&self, before_ms: i64, limit: usize) -> Result<Vec<TimerRecord>>;
    /// Outbox rows, ascending by (execution, seq), after the given position.
    fn outbox(&self, after: Option<(u64, u64)>, limit: usize) -> Result<Vec<OutboxRecord>>;
}
