//! AWS Step Functions' JSONPath dialect (Jayway-style), written for Baton.
//!
//! PLACEHOLDER INTERFACE: the implementation lands with the JSONPath work.

use serde_json::Value;

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the state's input (or whatever document the caller evaluates on).
    Input,
    /// `$$`: the Context Object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

/// A parse error, worded for a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
}

/// A ResultPath write that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteError {
    pub message: String,
}

/// A compiled path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    src: String,
    root: Root,
}

impl Path {
    pub fn parse(src: &str) -> Result<Path, ParseError> {
        let root = if src.starts_with("$$") {
            Root::Context
        } else if src == "$" || src.starts_with("$.") || src.starts_with("$[") {
            Root::Input
        } else if let Some(rest) = src.strip_prefix('$') {
            Root::Variable(rest.split(['.', '[']).next().unwrap_or_default().to_string())
        } else {
            return Err(ParseError { message: format!("invalid JSONPath '{src}'") });
        };
        Ok(Path { src: src.to_string(), root })
    }

    pub fn source(&self) -> &str {
        &self.src
    }

    pub fn root(&self) -> &Root {
        &self.root
    }

    pub fn is_reference(&self) -> bool {
        true
    }

    pub fn select(&self, doc: &Value) -> Option<Value> {
        Some(doc.clone())
    }

    pub fn write(&self, _target: Value, value: Value) -> Result<Value, WriteError> {
        Ok(value)
    }
}
