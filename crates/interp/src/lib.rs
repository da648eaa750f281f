//! The ASL interpreter.
//!
//! Architecture invariant: pure. [`step`] takes an execution's state and one
//! input (start, task outcome, timer fired, stop) and returns a
//! [`Transition`]: the new state, the history events it appends and the
//! commands the host must run (invoke a task, arm or cancel a timer). It does no
//! I/O and reads time and randomness only through [`baton_asl::Env`].
//! [`driver`] runs commands in process with virtual time, for `baton run-local`,
//! the conformance runner, benchmarks and tests.

pub mod driver;
pub mod event;

pub use event::{EventType, HistoryEvent};
