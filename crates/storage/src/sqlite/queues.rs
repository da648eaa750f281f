//! [`QueueStore`] on SQLite: the `sqs_queues` and `sqs_messages` tables.

use rusqlite::{Row, params};

use super::{SqliteStore, get_u32, get_u64, sql_int, sql_limit};
use crate::{MessageRecord, QueueOp, QueueRecord, QueueStore, Result};

const MESSAGE_COLUMNS: &str = "seq, queue_id, message_id, body, meta, sent_ms, visible_ms, \
     receive_count, first_receive_ms";

fn message_row(r: &Row<'_>) -> rusqlite::Result<MessageRecord> {
    Ok(MessageRecord {
        seq: get_u64(r, 0)?,
        queue_id: get_u64(r, 1)?,
        message_id: r.get(2)?,
        body: r.get(3)?,
        meta: r.get(4)?,
        sent_ms: r.get(5)?,
        visible_ms: r.get(6)?,
        receive_count: get_u32(r, 7)?,
        first_receive_ms: r.get(8)?,
    })
}

impl QueueStore for SqliteStore {
    fn write_queues(&self, ops: &[QueueOp]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            for op in ops {
                match op {
                    QueueOp::PutQueue(q) => {
                        tx.prepare_cached(
                            "INSERT INTO sqs_queues (id, key, value) VALUES (?1, ?2, ?3) \
                             ON CONFLICT (id) DO UPDATE SET key = excluded.key, value = excluded.value",
                        )?
                        .execute(params![sql_int(q.id, "queue id")?, q.key, q.value])?;
                    }
                    QueueOp::DeleteQueue { id } => {
                        let id = sql_int(*id, "queue id")?;
                        tx.prepare_cached("DELETE FROM sqs_messages WHERE queue_id = ?1")?
                            .execute([id])?;
                        tx.prepare_cached("DELETE FROM sqs_queues WHERE id = ?1")?
                            .execute([id])?;
                    }
                    QueueOp::Purge {
                        queue_id,
                        up_to_seq,
                    } => {
                        let up_to = i64::try_from(*up_to_seq).unwrap_or(i64::MAX);
                        tx.prepare_cached(
                            "DELETE FROM sqs_messages WHERE queue_id = ?1 AND seq <= ?2",
                        )?
                        .execute(params![sql_int(*queue_id, "queue id")?, up_to])?;
                    }
                    QueueOp::Send(m) => {
                        tx.prepare_cached(
                            "INSERT INTO sqs_messages (seq, queue_id, message_id, body, meta, \
                             sent_ms, visible_ms, receive_count, first_receive_ms) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                        )?
                        .execute(params![
                            sql_int(m.seq, "message seq")?,
                            sql_int(m.queue_id, "queue id")?,
                            m.message_id,
                            m.body,
                            m.meta,
                            m.sent_ms,
                            m.visible_ms,
                            m.receive_count,
                            m.first_receive_ms
                        ])?;
                    }
                    QueueOp::SetVisibility {
                        queue_id,
                        seq,
                        visible_ms,
                        receive_count,
                        first_receive_ms,
                    } => {
                        tx.prepare_cached(
                            "UPDATE sqs_messages SET visible_ms = ?3, receive_count = ?4, \
                             first_receive_ms = ?5 WHERE seq = ?2 AND queue_id = ?1",
                        )?
                        .execute(params![
                            sql_int(*queue_id, "queue id")?,
                            sql_int(*seq, "message seq")?,
                            visible_ms,
                            receive_count,
                            first_receive_ms
                        ])?;
                    }
                    QueueOp::Move {
                        queue_id,
                        seq,
                        to_queue_id,
                        new_seq,
                        visible_ms,
                    } => {
                        tx.prepare_cached(
                            "UPDATE sqs_messages SET seq = ?3, queue_id = ?4, visible_ms = ?5, \
                             receive_count = 0, first_receive_ms = NULL \
                             WHERE seq = ?2 AND queue_id = ?1",
                        )?
                        .execute(params![
                            sql_int(*queue_id, "queue id")?,
                            sql_int(*seq, "message seq")?,
                            sql_int(*new_seq, "message seq")?,
                            sql_int(*to_queue_id, "queue id")?,
                            visible_ms
                        ])?;
                    }
                    QueueOp::Delete { queue_id, seq } => {
                        tx.prepare_cached(
                            "DELETE FROM sqs_messages WHERE seq = ?2 AND queue_id = ?1",
                        )?
                        .execute(params![
                            sql_int(*queue_id, "queue id")?,
                            sql_int(*seq, "message seq")?
                        ])?;
                    }
                }
            }
            Ok(())
        })
    }

    fn queues(&self) -> Result<Vec<QueueRecord>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT id, key, value FROM sqs_queues ORDER BY id")?;
            let rows = st.query_map([], |r| {
                Ok(QueueRecord {
                    id: get_u64(r, 0)?,
                    key: r.get(1)?,
                    value: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn messages(&self, after_seq: u64, limit: usize) -> Result<Vec<MessageRecord>> {
        let Ok(after) = i64::try_from(after_seq) else {
            return Ok(Vec::new());
        };
        self.read(|c| {
            let sql = format!(
                "SELECT {MESSAGE_COLUMNS} FROM sqs_messages WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            );
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(params![after, sql_limit(limit)], message_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn claim_messages(
        &self,
        queue_id: u64,
        now_ms: i64,
        until_ms: i64,
        limit: usize,
    ) -> Result<Vec<MessageRecord>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let queue_id = sql_int(queue_id, "queue id")?;
        // One writer at a time: the BEGIN IMMEDIATE transaction is SQLite's
        // FOR UPDATE SKIP LOCKED.
        self.write(|tx| {
            let sql = format!(
                "UPDATE sqs_messages SET visible_ms = ?3, receive_count = receive_count + 1, \
                 first_receive_ms = COALESCE(first_receive_ms, ?2) \
                 WHERE seq IN (SELECT seq FROM sqs_messages WHERE queue_id = ?1 \
                 AND visible_ms <= ?2 ORDER BY seq LIMIT ?4) \
                 RETURNING {MESSAGE_COLUMNS}"
            );
            let mut st = tx.prepare_cached(&sql)?;
            let rows = st.query_map(
                params![queue_id, now_ms, until_ms, sql_limit(limit)],
                message_row,
            )?;
            let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            out.sort_by_key(|m| m.seq);
            Ok(out)
        })
    }
}
