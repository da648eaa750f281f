//! Invocation logs: what a worker writes on stdout and stderr, bounded in
//! memory, kept as one file per invocation under the data directory
//! (`<data>/lambda/logs/<account>/<region>/<function>/<ms>-<request id>.log`),
//! the newest [`MAX_FILES_PER_FUNCTION`] per function.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The bytes of one invocation's log kept from its beginning.
const HEAD_BYTES: usize = 192 * 1024;
/// The bytes kept from its end.
const TAIL_BYTES: usize = 64 * 1024;
/// Invocation logs kept per function.
pub(crate) const MAX_FILES_PER_FUNCTION: usize = 200;
/// `X-Amz-Log-Result` carries the last 4 KB.
pub(crate) const LOG_TAIL_BYTES: usize = 4 * 1024;

/// A log bounded to its first [`HEAD_BYTES`] and last [`TAIL_BYTES`].
#[derive(Debug, Default)]
pub(crate) struct BoundedLog {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    dropped: usize,
}

impl BoundedLog {
    pub fn push(&mut self, bytes: &[u8]) {
        let room = HEAD_BYTES.saturating_sub(self.head.len());
        let (to_head, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(to_head);
        for &b in rest {
            if self.tail.len() == TAIL_BYTES {
                self.tail.pop_front();
                self.dropped += 1;
            }
            self.tail.push_back(b);
        }
    }

    /// The text kept, with a note where bytes were dropped.
    pub fn take(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.head);
        if self.dropped > 0 {
            out.extend_from_slice(
                format!(
                    "\n[baton: {} bytes of this invocation's log were dropped]\n",
                    self.dropped
                )
                .as_bytes(),
            );
        }
        out.extend(self.tail.drain(..));
        self.dropped = 0;
        out
    }
}

/// The last [`LOG_TAIL_BYTES`] of a log, cut at a character boundary.
pub(crate) fn tail_of(log: &[u8]) -> String {
    let start = log.len().saturating_sub(LOG_TAIL_BYTES);
    let mut s = &log[start..];
    // Skip continuation bytes of a character cut in half.
    while let Some((&b, rest)) = s.split_first() {
        if b & 0xC0 == 0x80 {
            s = rest;
        } else {
            break;
        }
    }
    String::from_utf8_lossy(s).into_owned()
}

/// Where a function's invocation logs live.
pub(crate) fn function_dir(root: &Path, account: &str, region: &str, name: &str) -> PathBuf {
    root.join(account).join(region).join(name)
}

/// Writes one invocation's log and drops the oldest beyond the bound.
pub(crate) fn write_invocation(dir: &Path, started_ms: i64, request_id: &str, log: &[u8]) {
    if let Err(e) = std::fs::create_dir_all(dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot keep invocation logs");
        return;
    }
    let file = dir.join(format!("{started_ms:013}-{request_id}.log"));
    if let Err(e) = std::fs::write(&file, log) {
        tracing::warn!(file = %file.display(), error = %e, "cannot write an invocation log");
        return;
    }
    let mut names = list(dir);
    if names.len() > MAX_FILES_PER_FUNCTION {
        let excess = names.len() - MAX_FILES_PER_FUNCTION;
        for n in names.drain(..excess) {
            let _ = std::fs::remove_file(dir.join(n));
        }
    }
}

/// The log file names of a folder, oldest first.
fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".log"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The newest `limit` invocation logs after the cursor `after` (a file
/// name from a previous answer's `NextToken`), oldest first:
/// `{"Invocations": [{"RequestId", "Timestamp", "Log"}], "NextToken"}`.
pub(crate) fn read_invocations(dir: &Path, after: Option<&str>, limit: usize) -> Value {
    let names = list(dir);
    let names: Vec<&String> = match after {
        Some(a) => names.iter().filter(|n| n.as_str() > a).collect(),
        None => names.iter().collect(),
    };
    let skip = names.len().saturating_sub(limit);
    let mut out = Vec::new();
    let mut last = after.map(str::to_string);
    for n in &names[skip..] {
        let Ok(bytes) = std::fs::read(dir.join(n)) else {
            continue;
        };
        let stem = n.trim_end_matches(".log");
        let (ts, id) = stem.split_once('-').unwrap_or((stem, ""));
        out.push(json!({
            "RequestId": id,
            "Timestamp": ts.parse::<i64>().unwrap_or(0),
            "Log": String::from_utf8_lossy(&bytes),
        }));
        last = Some((*n).clone());
    }
    let mut v = json!({ "Invocations": out });
    if let (Some(t), Some(o)) = (last, v.as_object_mut()) {
        o.insert("NextToken".into(), Value::String(t));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded() {
        let mut l = BoundedLog::default();
        l.push(b"abc");
        assert_eq!(l.take(), b"abc");
        let big = vec![b'x'; HEAD_BYTES + TAIL_BYTES + 10];
        l.push(&big);
        l.push(b"END");
        let out = l.take();
        assert!(out.ends_with(b"END"));
        assert!(String::from_utf8_lossy(&out).contains("13 bytes"));
        assert!(out.len() < HEAD_BYTES + TAIL_BYTES + 100);
    }

    #[test]
    fn tails_cut_at_characters() {
        let mut s = "é".repeat(LOG_TAIL_BYTES);
        s.push('!');
        let t = tail_of(s.as_bytes());
        assert!(t.ends_with('!'));
        assert!(!t.contains('\u{fffd}'));
    }

    #[test]
    fn files_are_bounded_and_paged() {
        let dir = std::env::temp_dir().join(format!("baton-logs-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for i in 0..(MAX_FILES_PER_FUNCTION + 5) {
            write_invocation(&dir, 1000 + i as i64, &format!("id{i}"), b"hello\n");
        }
        assert_eq!(list(&dir).len(), MAX_FILES_PER_FUNCTION);
        let v = read_invocations(&dir, None, 2);
        let inv = v["Invocations"].as_array().unwrap();
        assert_eq!(inv.len(), 2);
        let last_id = format!("id{}", MAX_FILES_PER_FUNCTION + 4);
        assert_eq!(inv[1]["RequestId"], last_id.as_str());
        let token = v["NextToken"].as_str().unwrap().to_string();
        let v = read_invocations(&dir, Some(&token), 10);
        assert!(v["Invocations"].as_array().unwrap().is_empty());
        assert_eq!(v["NextToken"], token.as_str());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
