//! Task tokens: unforgeable and self-routing.
//!
//! PLACEHOLDER INTERFACE: implemented with the runtime.
