//! The ASL interpreter.
//!
//! Architecture invariant: pure. [`Execution::step`] takes one [`Input`]
//! (start, task outcome, timer fired, stop) and returns a [`Transition`]: the
//! history events it appends and the commands the host must run (invoke a
//! task, arm or cancel a timer); the execution state is updated in place and
//! is serialisable, so a host can persist all three in one commit. It does no
//! I/O and reads time and randomness only through [`baton_asl::Env`].
//! [`driver`] runs the commands in process with virtual time, for
//! `baton run-local`, the conformance runner, benchmarks and tests.

pub mod command;
pub mod context;
pub mod driver;
pub mod event;
pub mod exec;
pub mod mock;
pub mod resource;

pub use command::{
    Command, Completion, Input, Status, TaskId, TaskRequest, TimerId, TimerKind, Transition,
};
pub use context::{PlainTokens, StartContext, TokenMinter};
pub use event::{EventType, HistoryEvent};
pub use exec::Execution;
