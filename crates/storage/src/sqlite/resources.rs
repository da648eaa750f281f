//! [`ResourceStore`] on SQLite: the `resources` table.

use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use crate::{ResourceOp, ResourceRecord, ResourceStore, Result};

impl ResourceStore for SqliteStore {
    fn write_resources(&self, ops: &[ResourceOp]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            for op in ops {
                match op {
                    ResourceOp::Insert(r) => {
                        tx.prepare_cached(
                            "INSERT INTO resources (kind, key, value) VALUES (?1, ?2, ?3)",
                        )?
                        .execute(params![r.kind, r.key, r.value])?;
                    }
                    ResourceOp::Put(r) => {
                        tx.prepare_cached(
                            "INSERT INTO resources (kind, key, value) VALUES (?1, ?2, ?3) \
                             ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value",
                        )?
                        .execute(params![r.kind, r.key, r.value])?;
                    }
                    ResourceOp::Delete { kind, key } => {
                        tx.prepare_cached("DELETE FROM resources WHERE kind = ?1 AND key = ?2")?
                            .execute(params![kind, key])?;
                    }
                }
            }
            Ok(())
        })
    }

    fn get_resource(&self, kind: &str, key: &str) -> Result<Option<ResourceRecord>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT value FROM resources WHERE kind = ?1 AND key = ?2")?
                    .query_row(params![kind, key], |r| r.get::<_, String>(0))
                    .optional()?
                    .map(|value| ResourceRecord {
                        kind: kind.to_string(),
                        key: key.to_string(),
                        value,
                    }),
            )
        })
    }

    fn list_resources(
        &self,
        kind: &str,
        prefix: &str,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ResourceRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|c| {
            // `substr` keeps the prefix match exact (no LIKE wildcards).
            let mut st = c.prepare_cached(
                "SELECT key, value FROM resources \
                 WHERE kind = ?1 AND substr(key, 1, length(?2)) = ?2 AND key > ?3 \
                 ORDER BY key LIMIT ?4",
            )?;
            let rows =
                st.query_map(params![kind, prefix, after_key.unwrap_or(""), limit], |r| {
                    Ok(ResourceRecord {
                        kind: kind.to_string(),
                        key: r.get(0)?,
                        value: r.get(1)?,
                    })
                })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
