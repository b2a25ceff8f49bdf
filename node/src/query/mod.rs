//! The query index (DESIGN §5.7, issue 15): the current state of every record the node holds,
//! found by log, kind, programme, payee, area and event date, and one ordered feed of every
//! new entry and piece of evidence across the held logs.
//!
//! It lives in its own database file, `query.redb` beside `node.redb`, and is written by one
//! tracked task, the [`indexer`], which tails every held log through the store's public read
//! API: it reads the entries each log's latest signed checkpoint covers, checks them against
//! that checkpoint ([`crate::integrity::Integrity::check_entries`]), reads each with the
//! verifier, applies corrections and voids, and writes one transaction per batch
//! ([`QueryIndex::apply`]).
//!
//! **Invariant: the index is derived.** Everything in `query.redb` is a function of the held
//! logs' entries and the store's evidence (plus the order the indexer met them in, which
//! fixes the feed's numbering). So it is never repaired or migrated: a file that is missing,
//! cannot be opened, or has another format version is deleted and rebuilt from the logs
//! ([`QueryIndex::open`]), and cursors into the old one answer 410 `cursor_expired` (each
//! file gets a new random *epoch*, which every cursor carries). The write path never waits for
//! it: an acknowledgement is given once `node.redb` is durable; the index follows within
//! moments.
//!
//! Also kept here, in the one write transaction of each batch: every feed item gets the next
//! sequence number, with no gap (an entry's number is fixed once committed); a log's
//! "indexed up to" position moves with the rows derived from the entries below it, so a
//! restart resumes exactly where the last commit ended.
//!
//! * `derive` — what an entry becomes: keys, content, and the correction and void rules;
//! * `write` — the tables and the batch transaction;
//! * `read` — filtered pages and feed ranges;
//! * `row` — the stored form of a record's state row;
//! * [`indexer`] — the task that tails the logs.

mod derive;
pub mod indexer;
mod read;
mod row;
mod write;

use std::path::{Path, PathBuf};

use redb::Database;
use tokio::sync::watch;

pub use derive::{Filter, Keys, StateRow, date_number};
pub use read::{Page, Query};
pub use write::{LogWork, Work};

/// Name of the index file in the data directory.
pub const QUERY_FILE: &str = "query.redb";

/// The format of the index file; a file of another format is rebuilt. (2: binary state rows,
/// no `filters` table; 3: records are also found by the rids their `funded_by` draws on.)
pub const FORMAT: &str = "3";

/// Why the index could not answer or be written.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The database failed.
    #[error("query index: {0}")]
    Database(#[from] redb::Error),
    /// The storage engine panicked on a damaged file (caught).
    #[error("the query index file is damaged ({0}); it is rebuilt from the logs at the next start")]
    Corrupt(String),
    /// A cursor that is not one this node gives.
    #[error("not a cursor this node gave: {0}")]
    BadCursor(String),
    /// A cursor of an earlier index (rebuilt since).
    #[error(
        "this cursor belongs to an earlier index of this node, which has been rebuilt since; \
         start again without a cursor"
    )]
    Expired,
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for QueryError {
            fn from(e: $t) -> Self {
                QueryError::Database(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// A place in the index: after feed item `seq` (0: before the first), in the index of
/// `epoch`. Written as 24 hex digits; clients treat it as opaque.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The index file's epoch.
    pub epoch: u32,
    /// The last feed sequence number seen (items are numbered from 1).
    pub seq: u64,
}

impl Cursor {
    /// The cursor's text.
    pub fn encode(self) -> String {
        format!("{:08x}{:016x}", self.epoch, self.seq)
    }

    /// Reads a cursor's text, checking it belongs to the index of `epoch`.
    pub fn decode(text: &str, epoch: u32) -> Result<Cursor, QueryError> {
        let bad = || {
            QueryError::BadCursor(
                "a cursor is the 24 hex digits of a `next` or `cursor` this node answered".into(),
            )
        };
        if text.len() != 24 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let their_epoch = u32::from_str_radix(&text[..8], 16).map_err(|_| bad())?;
        let seq = u64::from_str_radix(&text[8..], 16).map_err(|_| bad())?;
        if their_epoch != epoch {
            return Err(QueryError::Expired);
        }
        Ok(Cursor { epoch, seq })
    }
}

/// The query index of one node (see the module documentation).
pub struct QueryIndex {
    db: Database,
    path: PathBuf,
    epoch: u32,
    /// The number of feed items committed (the last sequence number); readers wait on it.
    head: watch::Sender<u64>,
    /// Why there is no index (it could not be opened or rebuilt, e.g. on a read-only or full
    /// disk): queries and the feed answer 503 with this reason instead of a wrong, empty
    /// answer. `None` for a working index.
    unavailable: Option<String>,
}

impl QueryIndex {
    /// Opens the index at `path`, or rebuilds it: a missing file, one the engine cannot open,
    /// or one of another [`FORMAT`] is replaced by an empty index (with a new epoch), which
    /// the indexer fills from the logs.
    pub fn open(path: &Path) -> Result<QueryIndex, QueryError> {
        match Self::open_existing(path) {
            Ok(Some(index)) => return Ok(index),
            Ok(None) => {}
            Err(e) => tracing::warn!(
                "the query index {} cannot be used ({e}); rebuilding it from the logs",
                path.display()
            ),
        }
        if path.exists() {
            std::fs::remove_file(path).map_err(|e| {
                QueryError::Database(redb::Error::Io(std::io::Error::new(
                    e.kind(),
                    format!("cannot remove the old query index {}: {e}", path.display()),
                )))
            })?;
        }
        let db = guard(|| Ok(Database::create(path)?))?;
        let epoch = new_epoch();
        guard(|| write::create(&db, epoch))?;
        Ok(QueryIndex {
            db,
            path: path.to_path_buf(),
            epoch,
            head: watch::channel(0).0,
            unavailable: None,
        })
    }

    /// A stand-in for an index that could not be opened or rebuilt (`reason`): empty, held in
    /// memory, never filled; [`QueryIndex::unavailable`] says why, so the node still starts
    /// and serves everything else (a node on a full or read-only disk must keep serving
    /// reads, DESIGN §5.5). The next start tries the file again.
    pub fn stand_in(path: &Path, reason: String) -> Result<QueryIndex, QueryError> {
        let db = guard(|| {
            Ok(Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?)
        })?;
        let epoch = new_epoch();
        guard(|| write::create(&db, epoch))?;
        Ok(QueryIndex {
            db,
            path: path.to_path_buf(),
            epoch,
            head: watch::channel(0).0,
            unavailable: Some(reason),
        })
    }

    /// Why this node has no query index, if it has none (see [`QueryIndex::stand_in`]).
    pub fn unavailable(&self) -> Option<&str> {
        self.unavailable.as_deref()
    }

    /// The index at `path` if it exists, opens and has the current format.
    fn open_existing(path: &Path) -> Result<Option<QueryIndex>, QueryError> {
        if !path.exists() {
            return Ok(None);
        }
        let db = guard(|| Ok(Database::create(path)?))?;
        let (format, epoch, head) = guard(|| read::meta(&db))?;
        if format.as_deref() != Some(FORMAT) {
            tracing::info!(
                "the query index {} has format {format:?}, not {FORMAT}; rebuilding it",
                path.display()
            );
            return Ok(None);
        }
        let Some(epoch) = epoch else { return Ok(None) };
        Ok(Some(QueryIndex {
            db,
            path: path.to_path_buf(),
            epoch,
            head: watch::channel(head).0,
            unavailable: None,
        }))
    }

    /// The index file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This index file's epoch (carried by its cursors).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The cursor after feed item `seq`.
    pub fn cursor(&self, seq: u64) -> String {
        Cursor {
            epoch: self.epoch,
            seq,
        }
        .encode()
    }

    /// Reads a cursor given by this index.
    pub fn decode(&self, text: &str) -> Result<u64, QueryError> {
        Cursor::decode(text, self.epoch).map(|c| c.seq)
    }

    /// The number of feed items committed: the sequence number of the last.
    pub fn head(&self) -> u64 {
        *self.head.borrow()
    }

    /// A receiver that changes whenever new feed items are committed.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    /// How far each log is indexed: storage number → (entries indexed, size of the signed
    /// checkpoint that covers them).
    pub fn positions(&self) -> Result<std::collections::HashMap<u32, (u64, u64)>, QueryError> {
        guard(|| read::positions(&self.db))
    }

    /// The evidence ids already in the feed.
    pub fn evidence_seen(&self) -> Result<std::collections::HashSet<String>, QueryError> {
        guard(|| read::evidence_seen(&self.db))
    }

    /// Commits one batch (entries of several logs, new evidence) in one durable transaction
    /// and wakes the feed's readers.
    pub fn apply(&self, work: &Work) -> Result<(), QueryError> {
        let head = guard(|| write::apply(&self.db, work))?;
        self.head.send_replace(head);
        Ok(())
    }

    /// One page of records matching `query` (see `read::page`).
    pub fn page(&self, query: &Query) -> Result<Page, QueryError> {
        guard(|| read::page(&self.db, query))
    }

    /// Up to `limit` feed items after `after`: (sequence number, event).
    pub fn feed(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, daylight_api::FeedEvent)>, QueryError> {
        guard(|| read::feed(&self.db, after, limit))
    }
}

/// Runs `f`, turning a storage engine panic into [`QueryError::Corrupt`].
fn guard<T>(f: impl FnOnce() -> Result<T, QueryError>) -> Result<T, QueryError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the storage engine failed".into());
        Err(QueryError::Corrupt(message))
    })
}

/// A random epoch for a new index file.
fn new_epoch() -> u32 {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        // The clock differs between two rebuilds just as well.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() ^ d.as_secs() as u32);
        return nanos;
    }
    u32::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests;
