//! Durable storage: one redb database per node (see `docs/decisions/0002-storage-redb.md`).
//!
//! Every log the node holds (its own and those it mirrors) gets a small number, and its rows
//! are keyed by that number. The tables are listed in [`tables`]; each submodule owns the
//! rows of one job:
//!
//! * [`log`]: the logs themselves: entries, stored hashes, signed checkpoints, sizes, and the
//!   one write path, [`Store::commit_batch`];
//! * [`blobs`]: completed entry bundles and hash tiles stored whole, written by that same
//!   write path, and the reads of entries over bundles and rows;
//! * `tree`: where each stored tree hash lives: a row while its hash tile is incomplete,
//!   only the tile's blob once it is complete; the reads over both;
//! * [`cache`]: the hot-tile cache of checked full tiles, dropped per log on repair;
//! * [`subtrees`]: verified hash subtrees in memory, which inclusion proofs are built from
//!   without a storage read, dropped per log on repair;
//! * [`index`]: rows derived from entries (rid, leaf, corrections and voids), written in the
//!   same transaction as the entries, and the queries over them;
//! * [`witness`]: cosignatures collected for our checkpoints, and the state of what this node
//!   cosigned for others (compare-and-swap);
//! * [`evidence`]: proof that a log equivocated, and which logs did.
//!
//! This file holds the [`Store`] itself: opening, the guarded transactions every call goes
//! through, reopening after I/O faults, compaction and space accounting.
//!
//! Invariants kept in [`Store::commit_batch`], inside one write transaction:
//! a batch starts exactly at the durable size; a rid is never indexed twice in a publisher's
//! log; a size never gets a second, different checkpoint. The transaction commits with
//! `Durability::Immediate`, so when it returns everything in it is on disk (one fsync per
//! batch).

pub mod blobs;
pub mod cache;
pub mod evidence;
pub mod index;
pub mod log;
pub mod subtrees;
pub mod tables;
mod tree;
pub mod witness;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use daylight_verifier::Hash;
use redb::{Database, ReadOnlyDatabase, ReadableDatabase};

use tables::META;

pub use index::CurrentVersion;
pub use log::{Amendment, Batch, LocalReference, LogHashes, NewEntry};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database could not be opened, read or written.
    #[error("database error: {0}")]
    Database(#[from] redb::Error),
    /// A batch did not start at the durable size: a second writer, or a bug.
    #[error("batch for log {log} starts at {start} but the durable size is {durable}")]
    OutOfOrder {
        /// The log's origin.
        log: String,
        /// Where the batch started.
        start: u64,
        /// The durable size.
        durable: u64,
    },
    /// A record id is already in the log.
    #[error(
        "record id {rid:?} is already at index {index} of this log; record ids are never reused"
    )]
    DuplicateRid {
        /// The rid.
        rid: String,
        /// Where it already is.
        index: u64,
    },
    /// A second, different checkpoint for a size that already has one.
    #[error("refusing to store a second, different checkpoint of size {0}")]
    CheckpointConflict(u64),
    /// The log is not known to this database.
    #[error("unknown log {0}")]
    UnknownLog(String),
    /// The storage engine failed on damaged data (it panicked, and the panic was caught).
    #[error(
        "the database file is damaged where this request reads it ({0}); the node reports it \
         at /healthz and repairs what a peer holds"
    )]
    Corrupt(String),
    /// The database is open read-only: it could not be opened for writing.
    #[error(
        "the database is open read-only because it could not be opened for writing (is the \
         disk full?); writes resume once the disk accepts them"
    )]
    ReadOnly,
    /// A repair tried to write at or beyond the durable size.
    #[error("refusing to repair index {index}: the log's durable size is {size}")]
    BeyondSize {
        /// The index (or node index) refused.
        index: u64,
        /// The durable size.
        size: u64,
    },
    /// Internal to [`Store::swap_witnessed`]: the witness state was not the expected one.
    #[error("the witness state moved")]
    WitnessStateMoved(Option<(u64, Hash)>),
}

impl StorageError {
    /// Whether this failure is an I/O fault (a full disk, a failed write or fsync, a database
    /// opened read-only because of one) that may clear by itself, after which the database
    /// must be reopened; as opposed to damage or a broken invariant.
    pub fn needs_reopen(&self) -> bool {
        match self {
            StorageError::ReadOnly => true,
            StorageError::Database(e) => matches!(
                e,
                redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::DatabaseClosed
            ),
            _ => false,
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StorageError {
            fn from(e: $t) -> Self {
                StorageError::Database(e.into())
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

/// The open database: read-write normally; read-only when it could not be opened for writing
/// (a full disk that the engine's start-up repair needs to write to), so that reads are
/// still served.
enum Handle {
    ReadWrite(Database),
    ReadOnly(ReadOnlyDatabase),
}

/// The node's database.
///
/// Every transaction runs through `Store::read` or `Store::write` (private), which keep two
/// promises the rest of the node relies on:
/// * a panic inside the storage engine (it can panic on a damaged file) becomes
///   [`StorageError::Corrupt`] for that one call, never a crashed worker;
/// * after an I/O failure the engine refuses every later call until the database is
///   reopened; the store reopens it by itself and retries the call once, so reads keep
///   working after a failed write, and writes resume once the disk accepts them again. A
///   write is not retried after its *own* I/O failure (its commit may have reached the disk;
///   the caller must find out), only after an earlier call's.
pub struct Store {
    db: RwLock<Option<Handle>>,
    path: std::path::PathBuf,
    /// Full tiles that passed the integrity checks (filled by the HTTP tile handler, dropped
    /// per log by every repair).
    tile_cache: cache::TileCache,
    /// Hash subtrees anchored to a signed root (filled by the proof handlers through
    /// `Integrity`, dropped per log by every repair).
    subtrees: subtrees::SubtreeCache,
    /// Bumped after every write that can change what a log's head looks like (a batch, a
    /// cosignature, a repair): readers that cache a head read this *before* they read the
    /// head, so a cached head is never newer than its generation says, and a change always
    /// shows as a new generation.
    heads_generation: AtomicU64,
    /// Bumped by every successful reopen, under the write lock. A call that failed on
    /// generation `g` reopens only if the handle is still generation `g`; otherwise another
    /// call has reopened it already and this one just retries.
    generation: AtomicU64,
    /// When a reopen last failed: the next attempt waits [`REOPEN_PAUSE`] (the disk is not
    /// back yet, and reopening costs a file open and the engine's checks).
    last_failed_reopen: Mutex<Option<Instant>>,
}

/// The shortest pause after a failed reopen before the next automatic attempt.
pub const REOPEN_PAUSE: Duration = Duration::from_millis(500);

impl Store {
    /// Opens (creating if needed) the database at `path`. A database that exists but cannot
    /// be opened for writing because the disk is full or read-only is opened read-only
    /// instead (see [`Store::is_read_only`]); a file the engine cannot read at all is an
    /// error naming the file, never a panic.
    pub fn open(path: &Path) -> Result<Store, StorageError> {
        let handle = open_handle(path)?;
        let store = Store {
            db: RwLock::new(Some(handle)),
            path: path.to_path_buf(),
            tile_cache: cache::TileCache::new(cache::DEFAULT_TILE_CACHE_BYTES),
            subtrees: subtrees::SubtreeCache::new(subtrees::DEFAULT_SUBTREE_CACHE_BYTES),
            heads_generation: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            last_failed_reopen: Mutex::new(None),
        };
        if !store.is_read_only() && store.read(tables::missing)? {
            store.write(tables::create_all)?;
        }
        Ok(store)
    }

    /// The generation of the logs' heads (see the field's invariant): a head read after
    /// this call is at least as new as the generation returned.
    pub fn heads_generation(&self) -> u64 {
        self.heads_generation.load(Ordering::Acquire)
    }

    /// Marks that a log's head (checkpoint or cosignatures) may have changed.
    fn heads_changed(&self) {
        self.heads_generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether the database is open read-only because it could not be opened for writing;
    /// every write fails until a later reopen succeeds.
    pub fn is_read_only(&self) -> bool {
        let guard = self.db.read().unwrap_or_else(|e| e.into_inner());
        matches!(guard.as_ref(), Some(Handle::ReadOnly(_)))
    }

    /// Closes and reopens the database: after an I/O failure the engine answers nothing until
    /// it is reopened, and a read-only store becomes writable again once the disk allows it.
    /// Waits for transactions in flight. With `force` false, does nothing within
    /// [`REOPEN_PAUSE`] of a failed reopen.
    pub fn reopen(&self, force: bool) -> Result<(), StorageError> {
        let seen = self.generation.load(Ordering::Acquire);
        self.reopen_from(seen, force)
    }

    /// Reopens the database if it is still at generation `seen`.
    fn reopen_from(&self, seen: u64, force: bool) -> Result<(), StorageError> {
        let mut guard = self.db.write().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::Acquire) != seen && guard.is_some() {
            return Ok(());
        }
        let mut failed = self
            .last_failed_reopen
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if !force && failed.is_some_and(|t| t.elapsed() < REOPEN_PAUSE) {
            return Err(StorageError::Database(redb::Error::PreviousIo));
        }
        match guard.take() {
            Some(Handle::ReadWrite(db)) => {
                let _ = db.close();
            }
            Some(Handle::ReadOnly(db)) => {
                let _ = db.close();
            }
            None => {}
        }
        match open_handle(&self.path) {
            Ok(handle) => {
                *guard = Some(handle);
                *failed = None;
                self.generation.fetch_add(1, Ordering::AcqRel);
                Ok(())
            }
            Err(e) => {
                *failed = Some(Instant::now());
                Err(e)
            }
        }
    }

    /// Runs `f` in a read transaction (see the type's promises).
    fn read<T>(
        &self,
        f: impl Fn(&redb::ReadTransaction) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.retrying(true, |handle| {
            let txn = match handle {
                Handle::ReadWrite(db) => db.begin_read()?,
                Handle::ReadOnly(db) => db.begin_read()?,
            };
            f(&txn)
        })
    }

    /// Runs `f` in a write transaction and commits it durably (one fsync) if `f` succeeds;
    /// if `f` fails, nothing of it is kept.
    fn write<T>(
        &self,
        f: impl Fn(&redb::WriteTransaction) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.write_with(redb::Durability::Immediate, f)
    }

    fn write_with<T>(
        &self,
        durability: redb::Durability,
        f: impl Fn(&redb::WriteTransaction) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.retrying(false, |handle| {
            let Handle::ReadWrite(db) = handle else {
                return Err(StorageError::ReadOnly);
            };
            let mut txn = db.begin_write()?;
            txn.set_durability(durability)
                .map_err(|e| StorageError::Database(redb::Error::from(e)))?;
            let value = f(&txn)?;
            txn.commit()?;
            Ok(value)
        })
    }

    /// Runs `attempt` against the open handle, catching engine panics. After an I/O failure
    /// (or on a read-only store) it reopens the database and tries once more — except a write
    /// after its own I/O error (`retry_own_io` false), which may have reached the disk.
    fn retrying<T>(
        &self,
        retry_own_io: bool,
        attempt: impl Fn(&Handle) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let (generation, first) = self.guarded(&attempt);
        let Err(e) = &first else { return first };
        if !e.needs_reopen() {
            return first;
        }
        let own_io = matches!(e, StorageError::Database(redb::Error::Io(_)));
        if self.reopen_from(generation, false).is_err() || (own_io && !retry_own_io) {
            return first;
        }
        self.guarded(&attempt).1
    }

    /// Runs `attempt` once, with the handle's generation.
    fn guarded<T>(
        &self,
        attempt: &impl Fn(&Handle) -> Result<T, StorageError>,
    ) -> (u64, Result<T, StorageError>) {
        let guard = self.db.read().unwrap_or_else(|e| e.into_inner());
        let generation = self.generation.load(Ordering::Acquire);
        let Some(handle) = guard.as_ref() else {
            return (
                generation,
                Err(StorageError::Database(redb::Error::DatabaseClosed)),
            );
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| attempt(handle)));
        (
            generation,
            result.unwrap_or_else(|panic| Err(StorageError::Corrupt(panic_message(&panic)))),
        )
    }

    /// A metadata value (e.g. `member`, `genesis`).
    pub fn meta(&self, name: &str) -> Result<Option<String>, StorageError> {
        self.read(|txn| {
            let table = txn.open_table(META)?;
            Ok(table.get(name)?.map(|v| v.value().to_string()))
        })
    }

    /// Sets a metadata value, durably.
    pub fn set_meta(&self, name: &str, value: &str) -> Result<(), StorageError> {
        self.write(|txn| {
            txn.open_table(META)?.insert(name, value)?;
            Ok(())
        })
    }

    /// Moves live pages to the front of the file and truncates it, returning freed space to
    /// the file system. Needs exclusive access; takes time proportional to the database.
    pub fn compact(&mut self) -> Result<(), StorageError> {
        let handle = self.db.get_mut().unwrap_or_else(|e| e.into_inner());
        let Some(Handle::ReadWrite(db)) = handle.as_mut() else {
            return Err(StorageError::ReadOnly);
        };
        let compacted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            while db.compact()? {}
            Ok::<(), redb::CompactionError>(())
        }));
        match compacted {
            Ok(result) => result.map_err(|e| StorageError::Database(e.into())),
            Err(panic) => Err(StorageError::Corrupt(panic_message(&panic))),
        }
    }

    /// How the database file's space is used.
    pub fn space(&self) -> Result<SpaceUse, StorageError> {
        self.retrying(true, |handle| {
            let Handle::ReadWrite(db) = handle else {
                return Err(StorageError::ReadOnly);
            };
            let txn = db.begin_write()?;
            let stats = txn.stats()?;
            txn.abort()?;
            Ok(SpaceUse {
                allocated: stats.allocated_pages() * stats.page_size() as u64,
                stored: stats.stored_bytes(),
                metadata: stats.metadata_bytes(),
                fragmented: stats.fragmented_bytes(),
            })
        })
    }

    /// Bytes the database file takes on disk.
    pub fn file_bytes(&self) -> std::io::Result<u64> {
        Ok(std::fs::metadata(&self.path)?.len())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Opens the database read-write, or read-only when that fails for a reason a full or
/// read-only disk gives (the engine's start-up repair writes to the file).
fn open_handle(path: &Path) -> Result<Handle, StorageError> {
    let opened = std::panic::catch_unwind(|| Database::create(path));
    let error = match opened {
        Ok(Ok(db)) => return Ok(Handle::ReadWrite(db)),
        Ok(Err(e)) => StorageError::Database(e.into()),
        Err(panic) => return Err(StorageError::Corrupt(panic_message(&panic))),
    };
    if !error.needs_reopen() || !path.exists() {
        return Err(error);
    }
    tracing::warn!(
        "cannot open {} for writing ({error}); serving it read-only until writes succeed",
        path.display()
    );
    match std::panic::catch_unwind(|| redb::Builder::new().open_read_only(path)) {
        Ok(Ok(db)) => Ok(Handle::ReadOnly(db)),
        Ok(Err(_)) => Err(error),
        Err(panic) => Err(StorageError::Corrupt(panic_message(&panic))),
    }
}

/// The text of a caught panic.
fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "the storage engine failed".to_string()
    }
}

/// How a database file's bytes are used (from redb's statistics).
#[derive(Clone, Copy, Debug)]
pub struct SpaceUse {
    /// Bytes in allocated pages.
    pub allocated: u64,
    /// Bytes of keys and values.
    pub stored: u64,
    /// Bytes of branch keys and other metadata.
    pub metadata: u64,
    /// Bytes lost to fragmentation.
    pub fragmented: u64,
}

#[cfg(test)]
mod tests {
    use super::log::{Amendment, Batch, NewEntry};
    use super::*;
    use daylight_verifier::merkle::{Frontier, leaf_hash, tree_hash};

    fn batch(log: u32, start: u64, n: u64, frontier: &mut Frontier) -> Batch {
        let mut hashes = Vec::new();
        let entries: Vec<NewEntry> = (start..start + n)
            .map(|i| {
                let mut entry =
                    NewEntry::plain(format!("entry-{i}").into_bytes(), Some(format!("rid-{i}")));
                entry.amends = (i % 5 == 4).then(|| Amendment {
                    target: format!("rid-{}", i - 1),
                    pinned: leaf_hash(format!("entry-{}", i - 1).as_bytes()),
                    void: i % 10 == 9,
                });
                entry
            })
            .collect();
        for e in &entries {
            frontier.append(leaf_hash(&e.bytes), &mut hashes);
        }
        Batch {
            log,
            start,
            entries,
            hashes,
            checkpoint: Some(format!("checkpoint {}\n", start + n)),
            mirrored: false,
        }
    }

    #[test]
    fn batches_persist_across_reopen() {
        let dir = tempdir();
        let path = dir.join("db.redb");
        let mut frontier = Frontier::empty();
        {
            let store = Store::open(&path).unwrap();
            let log = store.log_number("net/a").unwrap();
            store
                .commit_batch(&batch(log, 0, 10, &mut frontier), "net/a")
                .unwrap();
            store
                .commit_batch(&batch(log, 10, 7, &mut frontier), "net/a")
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let log = store.find_log("net/a").unwrap().unwrap();
        assert_eq!(store.size(log).unwrap(), 17);
        assert_eq!(
            tree_hash(17, &store.hash_reader(log)).unwrap(),
            frontier.root()
        );
        assert_eq!(
            store.entries(log, 3..5).unwrap(),
            vec![b"entry-3".to_vec(), b"entry-4".to_vec()]
        );
        assert_eq!(store.rid_index(log, "rid-12").unwrap(), Some(12));
        assert_eq!(store.amendments(log, "rid-13").unwrap(), vec![14]);
        assert!(store.amendments(log, "rid-12").unwrap().is_empty());
        // rid-13 was corrected by entry 14; rid-8 was voided by entry 9.
        let corrected = store.current_version(log, "rid-13").unwrap().unwrap();
        assert_eq!(corrected.leaf, leaf_hash(b"entry-14"));
        assert!(!corrected.voided);
        assert!(store.current_version(log, "rid-8").unwrap().unwrap().voided);
        assert!(
            store
                .is_version(log, "rid-13", &leaf_hash(b"entry-13"))
                .unwrap()
        );
        assert!(
            store
                .is_version(log, "rid-13", &leaf_hash(b"entry-14"))
                .unwrap()
        );
        assert!(
            !store
                .is_version(log, "rid-13", &leaf_hash(b"entry-12"))
                .unwrap()
        );
        assert_eq!(store.latest_checkpoint(log).unwrap().unwrap().0, 17);
        assert_eq!(
            store.find_leaf(&leaf_hash(b"entry-15")).unwrap(),
            Some((log, 15))
        );
        assert_eq!(store.find_leaf(&leaf_hash(b"entry-17")).unwrap(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn own_leaves_are_found_in_every_group_and_in_the_table_written_before_groups() {
        let dir = tempdir();
        let path = dir.join("db.redb");
        let store = Store::open(&path).unwrap();
        let log = store.log_number("net/a").unwrap();
        let mut frontier = Frontier::empty();
        // Two and a half groups, in batches that cross the groups' edges.
        let total = 2 * tables::LEAF_GROUP + tables::LEAF_GROUP / 2;
        let mut start = 0;
        while start < total {
            let n = 3_000.min(total - start);
            store
                .commit_batch(&batch(log, start, n, &mut frontier), "net/a")
                .unwrap();
            start += n;
        }
        for i in [
            0,
            1,
            tables::LEAF_GROUP - 1,
            tables::LEAF_GROUP,
            2 * tables::LEAF_GROUP + 7,
            total - 1,
        ] {
            let leaf = leaf_hash(format!("entry-{i}").as_bytes());
            assert_eq!(store.find_leaf(&leaf).unwrap(), Some((log, i)), "entry {i}");
        }
        assert_eq!(store.find_leaf(&leaf_hash(b"absent")).unwrap(), None);
        // A database written before `leaf_groups` has its entries in `leaves`: still found.
        let old = leaf_hash(format!("entry-{}", total - 2).as_bytes());
        drop(store);
        {
            let db = redb::Database::open(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut groups = txn.open_table(tables::LEAF_GROUPS).unwrap();
                let key = ((total - 2) / tables::LEAF_GROUP, log::leaf_prefix(&old));
                assert!(groups.remove(key).unwrap().is_some());
                let mut leaves = txn.open_table(tables::LEAVES).unwrap();
                leaves
                    .insert(log::leaf_prefix(&old), (log, total - 2))
                    .unwrap();
            }
            txn.commit().unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.find_leaf(&old).unwrap(), Some((log, total - 2)));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_mirror_copies_a_reused_rid_and_keeps_the_first_index() {
        let dir = tempdir();
        let store = Store::open(&dir.join("db.redb")).unwrap();
        let log = store.log_number("net/b").unwrap();
        let mut frontier = Frontier::empty();
        let mut copied = batch(log, 0, 3, &mut frontier);
        copied.entries[2].rid = Some("rid-0".into());
        copied.mirrored = true;
        store.commit_batch(&copied, "net/b").unwrap();
        assert_eq!(store.size(log).unwrap(), 3);
        assert_eq!(store.rid_index(log, "rid-0").unwrap(), Some(0));
        assert_eq!(store.rid_index(log, "rid-1").unwrap(), Some(1));
        // Mirrored entries are not in the leaf index.
        assert_eq!(store.find_leaf(&leaf_hash(b"entry-2")).unwrap(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn invariants_are_enforced_in_the_transaction() {
        let dir = tempdir();
        let store = Store::open(&dir.join("db.redb")).unwrap();
        let log = store.log_number("net/a").unwrap();
        let mut frontier = Frontier::empty();
        let first = batch(log, 0, 3, &mut frontier);
        store.commit_batch(&first, "net/a").unwrap();
        // Replaying the batch: out of order.
        assert!(matches!(
            store.commit_batch(&first, "net/a"),
            Err(StorageError::OutOfOrder { .. })
        ));
        // A rid already present: refused, and nothing of the batch is kept.
        let mut dup = batch(log, 3, 2, &mut frontier.clone());
        dup.entries[1].rid = Some("rid-1".into());
        assert!(matches!(
            store.commit_batch(&dup, "net/a"),
            Err(StorageError::DuplicateRid { .. })
        ));
        assert_eq!(store.size(log).unwrap(), 3);
        assert_eq!(store.entries(log, 0..10).unwrap().len(), 3);
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempdir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "daylight-storage-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
