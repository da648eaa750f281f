//! The SQLite backend (the default): one file, WAL mode.
//!
//! PLACEHOLDER INTERFACE: the implementation lands with the SQLite work.

use std::path::Path;

use crate::{Error, ErrorKind, Result};

/// A store in one SQLite file.
pub struct SqliteStore {
    _private: (),
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(_path: &Path) -> Result<SqliteStore> {
        Err(Error::new(ErrorKind::Unavailable, "the SQLite store is not built yet"))
    }
}
