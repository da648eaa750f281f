//! The conformance suite every [`Store`](crate::Store) backend must pass.
//!
//! PLACEHOLDER INTERFACE: the suite lands with the SQLite backend.

use crate::Store;

/// Runs every conformance check against `store` (a fresh, empty store);
/// panics with a clear message on the first violation.
pub fn conformance(_store: &dyn Store) {}
