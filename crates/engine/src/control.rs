//! The control plane: state machines (create, describe, update, delete, list,
//! validate), activities (create, describe, delete, list) and tags.
//!
//! PLACEHOLDER INTERFACE: implemented with the API work.
