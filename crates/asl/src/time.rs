//! Timestamps as ASL reads and writes them (RFC 3339), without a clock.
//!
//! PLACEHOLDER INTERFACE: the implementation lands with the Choice work.

/// Parses an RFC 3339 timestamp into epoch nanoseconds (UTC).
pub fn parse_rfc3339(_s: &str) -> Option<i128> {
    None
}

/// Formats epoch milliseconds as AWS prints them in the Context Object,
/// e.g. `2024-03-06T10:29:14.123Z`.
pub fn format_millis(ms: i64) -> String {
    format!("{ms}")
}
