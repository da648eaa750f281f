//! The Amazon States Language, as AWS Step Functions runs it.
//!
//! Architecture invariant: this crate is pure. It does no I/O, reads no clock and
//! no OS randomness, and depends on no async runtime. Time, UUIDs and random
//! numbers come in through [`env::Env`].
//!
//! - [`load`] turns a definition (JSON text or value) into a [`model::Definition`]
//!   plus every [`diag::Diagnostic`] found, worded as AWS words them.
//! - [`path`] is AWS's (Jayway-style) JSONPath dialect: `$`, `$$`, `$var` roots,
//!   reference paths and ResultPath writes.
//! - [`intrinsics`] parses and evaluates the `States.*` intrinsic functions.
//! - [`payload`] compiles and evaluates payload templates (`Parameters`,
//!   `ResultSelector`, `ItemSelector`, `Assign`, ...) with their `.$` keys.
//! - [`choice`] evaluates Choice rules.

pub mod choice;
pub mod diag;
pub mod env;
pub mod error;
pub mod intrinsics;
pub mod load;
pub mod model;
pub mod path;
pub mod payload;
pub mod time;

pub use diag::Diagnostic;
pub use env::Env;
pub use error::StatesError;
pub use model::Definition;
