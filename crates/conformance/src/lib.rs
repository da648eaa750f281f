//! Conformance runners.

pub mod asl_validator;
pub mod localstack;
