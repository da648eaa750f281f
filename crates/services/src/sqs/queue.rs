//! One queue in memory: its messages and the indexes a receive uses (no
//! scan): visible messages by send order, delayed and in-flight ones by the
//! time they become visible, in-flight counts per FIFO message group, and the
//! FIFO deduplication window.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use tokio::sync::Notify;

use super::attrs::{Config, QueueMeta};
use super::message::Meta;

/// How long FIFO deduplication remembers an id.
pub(crate) const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;

/// One message in memory.
#[derive(Debug, Clone)]
pub(crate) struct Msg {
    pub seq: u64,
    pub message_id: String,
    pub body: String,
    pub md5_body: String,
    pub meta: Meta,
    pub sent_ms: i64,
    /// Visible at or after this instant (end of a delay or of a visibility
    /// timeout).
    pub visible_ms: i64,
    pub receive_count: u32,
    pub first_receive_ms: Option<i64>,
    /// Received and not yet visible again.
    pub inflight: bool,
}

/// A remembered FIFO deduplication id.
#[derive(Debug, Clone)]
pub(crate) struct Dedup {
    pub expires_ms: i64,
    pub message_id: String,
    pub sequence_number: Option<String>,
}

pub(crate) struct Queue {
    pub id: u64,
    pub meta: QueueMeta,
    pub cfg: Config,
    pub arn: String,
    pub msgs: HashMap<u64, Msg>,
    /// Visible messages, by seq (send order).
    ready: BTreeSet<u64>,
    /// Delayed and in-flight messages, by (visible_ms, seq).
    pending: BTreeSet<(i64, u64)>,
    /// (sent_ms, seq) in insertion order, for retention (entries of deleted
    /// messages are dropped lazily).
    by_age: VecDeque<(i64, u64)>,
    inflight: usize,
    /// In-flight messages per FIFO message group.
    groups: HashMap<String, u32>,
    dedup: HashMap<String, Dedup>,
    dedup_order: VecDeque<(i64, String)>,
    pub notify: Arc<Notify>,
    pub last_purge_ms: Option<i64>,
}

/// What a receive took.
pub(crate) struct Taken {
    /// Messages now in flight (seq).
    pub received: Vec<u64>,
    /// Messages past their maxReceiveCount, removed from this queue for
    /// the dead-letter queue.
    pub dead: Vec<Msg>,
}

impl Queue {
    pub fn new(id: u64, meta: QueueMeta, cfg: Config, arn: String) -> Queue {
        Queue {
            id,
            meta,
            cfg,
            arn,
            msgs: HashMap::new(),
            ready: BTreeSet::new(),
            pending: BTreeSet::new(),
            by_age: VecDeque::new(),
            inflight: 0,
            groups: HashMap::new(),
            dedup: HashMap::new(),
            dedup_order: VecDeque::new(),
            notify: Arc::new(Notify::new()),
            last_purge_ms: None,
        }
    }

    fn group_of(m: &Msg) -> &str {
        m.meta.group.as_deref().unwrap_or("")
    }

    /// Adds a message (new, recovered or dead-lettered here).
    pub fn insert(&mut self, msg: Msg, now: i64) {
        let seq = msg.seq;
        self.by_age.push_back((msg.sent_ms, seq));
        if msg.visible_ms <= now {
            self.ready.insert(seq);
            if msg.inflight {
                // Recovered: its visibility timeout ended while Baton was down.
                let mut m = msg;
                m.inflight = false;
                self.msgs.insert(seq, m);
                return;
            }
        } else {
            self.pending.insert((msg.visible_ms, seq));
            if msg.inflight {
                self.inflight += 1;
                if self.cfg.fifo {
                    *self
                        .groups
                        .entry(Self::group_of(&msg).to_string())
                        .or_insert(0) += 1;
                }
            }
        }
        self.msgs.insert(seq, msg);
        if self.by_age.len() > 2 * self.msgs.len() + 1024 {
            let msgs = &self.msgs;
            self.by_age.retain(|(_, s)| msgs.contains_key(s));
        }
    }

    fn release_group(&mut self, group: &str) {
        if let Some(n) = self.groups.get_mut(group) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.groups.remove(group);
            }
        }
    }

    /// Moves messages whose time has come from `pending` to `ready`;
    /// whether any did.
    pub fn promote(&mut self, now: i64) -> bool {
        let mut any = false;
        while let Some(&(t, seq)) = self.pending.first() {
            if t > now {
                break;
            }
            self.pending.pop_first();
            let Some(m) = self.msgs.get_mut(&seq) else {
                continue;
            };
            if m.inflight {
                m.inflight = false;
                self.inflight = self.inflight.saturating_sub(1);
                if self.cfg.fifo {
                    let g = Self::group_of(m).to_string();
                    self.release_group(&g);
                }
            }
            self.ready.insert(seq);
            any = true;
        }
        any
    }

    /// When the next delayed or in-flight message becomes visible.
    pub fn next_due(&self) -> Option<i64> {
        self.pending.first().map(|&(t, _)| t)
    }

    /// Removes a message from the queue and its indexes.
    pub fn remove(&mut self, seq: u64) -> Option<Msg> {
        let m = self.msgs.remove(&seq)?;
        if !self.ready.remove(&seq) {
            self.pending.remove(&(m.visible_ms, seq));
        }
        if m.inflight {
            self.inflight = self.inflight.saturating_sub(1);
            if self.cfg.fifo {
                self.release_group(Self::group_of(&m));
            }
        }
        Some(m)
    }

    /// Approximate counts: (visible, in flight, delayed).
    pub fn counts(&mut self, now: i64) -> (usize, usize, usize) {
        self.promote(now);
        let delayed = self.pending.len().saturating_sub(self.inflight);
        (self.ready.len(), self.inflight, delayed)
    }

    /// Takes up to `max` visible messages (FIFO: never from a group with a
    /// message in flight, oldest first): each becomes in flight until
    /// `now + visibility_ms`. With a redrive policy, messages already
    /// received `max_receive_count` times go to `dead` instead.
    pub fn take(
        &mut self,
        now: i64,
        max: usize,
        visibility_ms: i64,
        redrive_max: Option<u32>,
    ) -> Taken {
        self.promote(now);
        let mut chosen = Vec::with_capacity(max);
        let mut dead_seqs = Vec::new();
        let mut taken_groups: Vec<&str> = Vec::new();
        for &seq in &self.ready {
            if chosen.len() >= max || dead_seqs.len() >= 1000 {
                break;
            }
            let Some(m) = self.msgs.get(&seq) else {
                continue;
            };
            if self.cfg.fifo {
                let g = Self::group_of(m);
                if self.groups.contains_key(g) && !taken_groups.contains(&g) {
                    continue;
                }
                if let Some(limit) = redrive_max
                    && m.receive_count >= limit
                {
                    dead_seqs.push(seq);
                    continue;
                }
                if !taken_groups.contains(&g) {
                    taken_groups.push(g);
                }
            } else if let Some(limit) = redrive_max
                && m.receive_count >= limit
            {
                dead_seqs.push(seq);
                continue;
            }
            chosen.push(seq);
        }
        let mut dead = Vec::with_capacity(dead_seqs.len());
        for seq in dead_seqs {
            if let Some(m) = self.remove(seq) {
                dead.push(m);
            }
        }
        let visible_ms = now.saturating_add(visibility_ms);
        for &seq in &chosen {
            self.ready.remove(&seq);
            let Some(m) = self.msgs.get_mut(&seq) else {
                continue;
            };
            m.receive_count = m.receive_count.saturating_add(1);
            m.first_receive_ms.get_or_insert(now);
            m.visible_ms = visible_ms;
            m.inflight = true;
            self.inflight += 1;
            if self.cfg.fifo {
                let g = Self::group_of(m).to_string();
                *self.groups.entry(g).or_insert(0) += 1;
            }
            self.pending.insert((visible_ms, seq));
        }
        Taken {
            received: chosen,
            dead,
        }
    }

    /// Sets an in-flight message's visibility deadline (ChangeMessageVisibility).
    pub fn set_visibility(&mut self, seq: u64, visible_ms: i64, now: i64) {
        let Some(m) = self.msgs.get_mut(&seq) else {
            return;
        };
        if self.ready.contains(&seq) {
            return;
        }
        self.pending.remove(&(m.visible_ms, seq));
        m.visible_ms = visible_ms;
        self.pending.insert((visible_ms, seq));
        if visible_ms <= now {
            self.promote(now);
        }
    }

    /// Whether the message is in flight at `now`.
    pub fn is_inflight(&mut self, seq: u64, now: i64) -> bool {
        self.promote(now);
        self.msgs.get(&seq).is_some_and(|m| m.inflight)
    }

    /// Messages sent at or before `cutoff_ms` (retention), oldest first.
    pub fn expired(&mut self, cutoff_ms: i64) -> Vec<u64> {
        let mut out = Vec::new();
        while let Some(&(t, seq)) = self.by_age.front() {
            match self.msgs.get(&seq) {
                None => {
                    self.by_age.pop_front();
                }
                Some(m) if m.sent_ms <= cutoff_ms && t <= cutoff_ms => {
                    self.by_age.pop_front();
                    out.push(seq);
                }
                Some(_) => break,
            }
        }
        out
    }

    /// Every message (PurgeQueue, DeleteQueue).
    pub fn clear(&mut self) {
        self.msgs.clear();
        self.ready.clear();
        self.pending.clear();
        self.by_age.clear();
        self.inflight = 0;
        self.groups.clear();
    }

    fn prune_dedup(&mut self, now: i64) {
        while let Some((t, _)) = self.dedup_order.front() {
            if *t > now {
                break;
            }
            if let Some((t, key)) = self.dedup_order.pop_front()
                && self.dedup.get(&key).is_some_and(|d| d.expires_ms == t)
            {
                self.dedup.remove(&key);
            }
        }
    }

    /// The message a deduplication key was sent as within the window.
    pub fn dedup_lookup(&mut self, key: &str, now: i64) -> Option<Dedup> {
        self.prune_dedup(now);
        self.dedup.get(key).cloned()
    }

    pub fn dedup_remember(&mut self, key: String, entry: Dedup) {
        self.dedup_order.push_back((entry.expires_ms, key.clone()));
        self.dedup.insert(key, entry);
    }
}
