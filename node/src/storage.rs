//! Durable storage: one redb database per node (see `docs/decisions/0002-storage-redb.md`).
//!
//! Every log the node holds (its own, and later its mirrors) gets a small number, and its rows
//! are keyed by that number:
//!
//! | table | key | value |
//! |---|---|---|
//! | `logs` | origin | log number |
//! | `sizes` | log | durable tree size |
//! | `entries` | (log, index) | entry bytes, exactly as hashed |
//! | `hashes` | (log, level, index) | stored complete-subtree hash |
//! | `checkpoints` | (log, size) | signed checkpoint note |
//! | `rids` | (log, rid) | entry index |
//! | `amendments` | (log, rid) | indexes of the corrections and voids of that rid |
//! | `versions` | (log, rid) | the leaves of the corrections and voids of that record |
//! | `current` | (log, rid) | for an amended record, its current leaf and whether it is voided |
//! | `cosignatures` | (log, size, witness) | root cosigned ‖ the cosignature line |
//! | `witnessed` | origin | (size, root) of the latest checkpoint this node cosigned |
//! | `witnessed_notes` | origin | that checkpoint's signed note (for evidence) |
//! | `evidence` | evidence id | evidence JSON |
//! | `equivocating` | origin | id of the evidence against it (no more cosigning) |
//! | `meta` | name | value (member id, genesis id) |
//!
//! Invariants kept here, in [`Store::commit_batch`], inside one write transaction:
//! a batch starts exactly at the durable size; a rid is never indexed twice; a size never gets
//! a second, different checkpoint. The transaction commits with `Durability::Immediate`, so
//! when it returns everything in it is on disk (one fsync per batch).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use daylight_verifier::Hash;
use daylight_verifier::merkle::{HashReader, NodeId, TreeError};
use redb::{
    Database, MultimapTableDefinition, ReadOnlyDatabase, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, TableDefinition,
};

const LOGS: TableDefinition<&str, u32> = TableDefinition::new("logs");
const SIZES: TableDefinition<u32, u64> = TableDefinition::new("sizes");
const ENTRIES: TableDefinition<(u32, u64), &[u8]> = TableDefinition::new("entries");
const HASHES: TableDefinition<(u32, u8, u64), [u8; 32]> = TableDefinition::new("hashes");
const CHECKPOINTS: TableDefinition<(u32, u64), &str> = TableDefinition::new("checkpoints");
const RIDS: TableDefinition<(u32, &str), u64> = TableDefinition::new("rids");
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
/// Leaf-hash prefix → (log, index), for finding a record of the node's own log by its leaf
/// hash. Sixteen bytes keep the table small; a lookup confirms the full leaf against the
/// entry. Mirrored entries are not indexed here: leaf hashes are random, and inserting them
/// into a large B-tree during catch-up touched a page per entry and halved the catch-up rate.
const LEAVES: TableDefinition<[u8; 16], (u32, u64)> = TableDefinition::new("leaves");
const AMENDMENTS: MultimapTableDefinition<(u32, &str), u64> =
    MultimapTableDefinition::new("amendments");
const VERSIONS: MultimapTableDefinition<(u32, &str), [u8; 32]> =
    MultimapTableDefinition::new("versions");
const CURRENT: TableDefinition<(u32, &str), ([u8; 32], bool)> = TableDefinition::new("current");
const COSIGNATURES: TableDefinition<(u32, u64, &str), &[u8]> = TableDefinition::new("cosignatures");
const WITNESSED: TableDefinition<&str, (u64, [u8; 32])> = TableDefinition::new("witnessed");
const WITNESSED_NOTES: TableDefinition<&str, &str> = TableDefinition::new("witnessed_notes");
const EVIDENCE: TableDefinition<&str, &str> = TableDefinition::new("evidence");
const EQUIVOCATING: TableDefinition<&str, &str> = TableDefinition::new("equivocating");

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

/// One entry of a batch.
#[derive(Clone, Debug)]
pub struct NewEntry {
    /// The entry bytes, exactly as hashed.
    pub bytes: Vec<u8>,
    /// RFC 6962 leaf hash of `bytes`.
    pub leaf: Hash,
    /// The record id to index, if the entry has one.
    pub rid: Option<String>,
    /// The record this entry corrects or voids, if it is a correction or void.
    pub amends: Option<Amendment>,
    /// References to records of this same log, which must resolve.
    pub references: Vec<LocalReference>,
}

impl NewEntry {
    /// An entry with no amendment and no same-log references.
    pub fn plain(bytes: Vec<u8>, rid: Option<String>) -> NewEntry {
        NewEntry {
            leaf: daylight_verifier::merkle::leaf_hash(&bytes),
            bytes,
            rid,
            amends: None,
            references: Vec::new(),
        }
    }
}

/// A correction or void of an earlier record of the same log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Amendment {
    /// The rid corrected or voided.
    pub target: String,
    /// The leaf of the version it replaces, which must be the current one.
    pub pinned: Hash,
    /// Whether it withdraws the record (a void) rather than replacing its content.
    pub void: bool,
}

/// A reference from a record to a version of another record in the same log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalReference {
    /// The field path of the reference, for error messages.
    pub path: String,
    /// The rid referred to.
    pub rid: String,
    /// The exact version pinned.
    pub leaf: Hash,
}

/// The current version of a record: its latest leaf, and whether it has been voided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurrentVersion {
    /// The leaf of the latest version (the record, or its latest correction or void).
    pub leaf: Hash,
    /// Whether a void withdrew it.
    pub voided: bool,
}

/// Everything one sequencer batch makes durable at once.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The log's number.
    pub log: u32,
    /// The durable size before the batch: the index of its first entry.
    pub start: u64,
    /// The entries, in order.
    pub entries: Vec<NewEntry>,
    /// The new stored hashes.
    pub hashes: Vec<(NodeId, Hash)>,
    /// The checkpoint signed over the tree after the batch. A mirror commits verified chunks
    /// of a long catch-up without one, and the signed checkpoint with the last chunk.
    pub checkpoint: Option<String>,
    /// Whether the batch copies another member's log. A publisher's batch is refused if it
    /// reuses a rid; a mirror must copy whatever the signed log holds, so there the first
    /// entry with a rid keeps the index and later ones are only reachable by index or leaf.
    pub mirrored: bool,
}

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
            generation: AtomicU64::new(0),
            last_failed_reopen: Mutex::new(None),
        };
        if !store.is_read_only() && store.read(missing_tables)? {
            store.write(for_each_table)?;
        }
        Ok(store)
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

    /// The number of log `origin`, registering it if new.
    pub fn log_number(&self, origin: &str) -> Result<u32, StorageError> {
        if let Some(n) = self.find_log(origin)? {
            return Ok(n);
        }
        self.write(|txn| {
            let mut logs = txn.open_table(LOGS)?;
            if let Some(n) = logs.get(origin)? {
                return Ok(n.value());
            }
            let next = logs.len()? as u32;
            logs.insert(origin, next)?;
            txn.open_table(SIZES)?.insert(next, 0)?;
            Ok(next)
        })
    }

    /// The number of log `origin`, if registered.
    pub fn find_log(&self, origin: &str) -> Result<Option<u32>, StorageError> {
        self.read(|txn| Ok(txn.open_table(LOGS)?.get(origin)?.map(|v| v.value())))
    }

    /// The durable size of a log.
    pub fn size(&self, log: u32) -> Result<u64, StorageError> {
        self.read(|txn| Ok(txn.open_table(SIZES)?.get(log)?.map_or(0, |v| v.value())))
    }

    /// The signed checkpoint of the largest size, if any.
    pub fn latest_checkpoint(&self, log: u32) -> Result<Option<(u64, String)>, StorageError> {
        self.read(|txn| {
            let table = txn.open_table(CHECKPOINTS)?;
            let mut range = table.range((log, 0)..=(log, u64::MAX))?;
            Ok(match range.next_back() {
                Some(row) => {
                    let (key, value) = row?;
                    Some((key.value().1, value.value().to_string()))
                }
                None => None,
            })
        })
    }

    /// The checkpoint signed at exactly `size`, if any.
    pub fn checkpoint_at(&self, log: u32, size: u64) -> Result<Option<String>, StorageError> {
        self.read(|txn| {
            let table = txn.open_table(CHECKPOINTS)?;
            Ok(table.get((log, size))?.map(|v| v.value().to_string()))
        })
    }

    /// Every checkpoint of a log, by size.
    pub fn checkpoints(&self, log: u32) -> Result<Vec<(u64, String)>, StorageError> {
        self.read(|txn| {
            let table = txn.open_table(CHECKPOINTS)?;
            table
                .range((log, 0)..=(log, u64::MAX))?
                .map(|row| {
                    let (k, v) = row?;
                    Ok((k.value().1, v.value().to_string()))
                })
                .collect()
        })
    }

    /// Entries `range` of a log (those that exist).
    pub fn entries(
        &self,
        log: u32,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<Vec<u8>>, StorageError> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|txn| {
            let table = txn.open_table(ENTRIES)?;
            table
                .range((log, range.start)..(log, range.end))?
                .map(|row| Ok(row?.1.value().to_vec()))
                .collect()
        })
    }

    /// The index of record `rid` in a log.
    pub fn rid_index(&self, log: u32, rid: &str) -> Result<Option<u64>, StorageError> {
        self.read(|txn| Ok(txn.open_table(RIDS)?.get((log, rid))?.map(|v| v.value())))
    }

    /// Indexes of the corrections and voids of record `rid`, in log order.
    pub fn amendments(&self, log: u32, rid: &str) -> Result<Vec<u64>, StorageError> {
        self.read(|txn| {
            let table = txn.open_multimap_table(AMENDMENTS)?;
            table.get((log, rid))?.map(|v| Ok(v?.value())).collect()
        })
    }

    /// The current version of record `rid`, if the log has it.
    pub fn current_version(
        &self,
        log: u32,
        rid: &str,
    ) -> Result<Option<CurrentVersion>, StorageError> {
        self.read(|txn| {
            if let Some(v) = txn.open_table(CURRENT)?.get((log, rid))? {
                let (leaf, voided) = v.value();
                return Ok(Some(CurrentVersion {
                    leaf: Hash(leaf),
                    voided,
                }));
            }
            Ok(original_leaf(txn, log, rid)?.map(|leaf| CurrentVersion {
                leaf,
                voided: false,
            }))
        })
    }

    /// Whether `leaf` is a version (any, current or not) of record `rid`.
    pub fn is_version(&self, log: u32, rid: &str, leaf: &Hash) -> Result<bool, StorageError> {
        self.read(|txn| {
            if original_leaf(txn, log, rid)? == Some(*leaf) {
                return Ok(true);
            }
            for value in txn.open_multimap_table(VERSIONS)?.get((log, rid))? {
                if value?.value() == leaf.0 {
                    return Ok(true);
                }
            }
            Ok(false)
        })
    }

    /// Stores a verified cosignature line of `witness` over the checkpoint of `size` with
    /// `root` (a later line from the same witness for that size replaces it).
    ///
    /// Not fsync'd on its own: a collected cosignature can always be collected again, so it
    /// becomes durable with the next durable commit instead of costing a disk flush each (a
    /// node receives one per witness per checkpoint).
    pub fn put_cosignature(
        &self,
        log: u32,
        size: u64,
        root: &Hash,
        witness: &str,
        line: &str,
    ) -> Result<(), StorageError> {
        let mut value = root.0.to_vec();
        value.extend_from_slice(line.as_bytes());
        self.write_with(redb::Durability::None, |txn| {
            txn.open_table(COSIGNATURES)?
                .insert((log, size, witness), value.as_slice())?;
            Ok(())
        })
    }

    /// The cosignature lines stored for the checkpoint of `size` with `root`.
    pub fn cosignatures(
        &self,
        log: u32,
        size: u64,
        root: &Hash,
    ) -> Result<Vec<String>, StorageError> {
        self.read(|txn| {
            let table = txn.open_table(COSIGNATURES)?;
            let mut lines = Vec::new();
            for row in table.range((log, size, "")..=(log, size, "\u{10FFFF}"))? {
                let (_, value) = row?;
                let value = value.value();
                if value.len() > 32 && value[..32] == root.0 {
                    lines.push(String::from_utf8_lossy(&value[32..]).into_owned());
                }
            }
            Ok(lines)
        })
    }

    /// The (size, root) this node last cosigned for `origin`, with its note.
    pub fn witnessed(&self, origin: &str) -> Result<Option<(u64, Hash, String)>, StorageError> {
        self.read(|txn| {
            let Some(state) = txn.open_table(WITNESSED)?.get(origin)?.map(|v| v.value()) else {
                return Ok(None);
            };
            let note = txn
                .open_table(WITNESSED_NOTES)?
                .get(origin)?
                .map(|v| v.value().to_string())
                .unwrap_or_default();
            Ok(Some((state.0, Hash(state.1), note)))
        })
    }

    /// Atomically replaces the witness state of `origin` if it still is `expected` (`None`:
    /// never cosigned). On a mismatch nothing changes and the current state is returned, so
    /// two concurrent add-checkpoint calls can never roll the state back.
    pub fn swap_witnessed(
        &self,
        origin: &str,
        expected: Option<(u64, Hash)>,
        new: (u64, Hash),
        note: &str,
    ) -> Result<Result<(), Option<(u64, Hash)>>, StorageError> {
        // A mismatch must abort the transaction, so it travels as an error out of `write`.
        let swapped = self.write(|txn| {
            let mut state = txn.open_table(WITNESSED)?;
            let current = state.get(origin)?.map(|v| {
                let (size, root) = v.value();
                (size, Hash(root))
            });
            if current != expected {
                return Err(StorageError::WitnessStateMoved(current));
            }
            state.insert(origin, (new.0, new.1.0))?;
            txn.open_table(WITNESSED_NOTES)?.insert(origin, note)?;
            Ok(())
        });
        match swapped {
            Ok(()) => Ok(Ok(())),
            Err(StorageError::WitnessStateMoved(current)) => Ok(Err(current)),
            Err(e) => Err(e),
        }
    }

    /// Stores evidence and marks its log as equivocating. Returns false if already stored.
    pub fn put_evidence(&self, origin: &str, id: &str, json: &str) -> Result<bool, StorageError> {
        if self.read(|txn| Ok(txn.open_table(EVIDENCE)?.get(id)?.is_some()))? {
            return Ok(false);
        }
        self.write(|txn| {
            let mut evidence = txn.open_table(EVIDENCE)?;
            if evidence.get(id)?.is_some() {
                return Ok(false);
            }
            evidence.insert(id, json)?;
            let mut equivocating = txn.open_table(EQUIVOCATING)?;
            if equivocating.get(origin)?.is_none() {
                equivocating.insert(origin, id)?;
            }
            Ok(true)
        })
    }

    /// All stored evidence documents.
    pub fn evidence(&self) -> Result<Vec<String>, StorageError> {
        self.read(|txn| {
            let table = txn.open_table(EVIDENCE)?;
            table
                .iter()?
                .map(|row| Ok(row?.1.value().to_string()))
                .collect()
        })
    }

    /// Whether evidence shows `origin` equivocated.
    pub fn is_equivocating(&self, origin: &str) -> Result<bool, StorageError> {
        self.read(|txn| Ok(txn.open_table(EQUIVOCATING)?.get(origin)?.is_some()))
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

    /// A reader of a log's stored hashes, for the Merkle functions.
    pub fn hash_reader(&self, log: u32) -> LogHashes<'_> {
        LogHashes { store: self, log }
    }

    /// Makes a batch durable in one transaction (one fsync), checking the invariants above.
    pub fn commit_batch(&self, batch: &Batch, origin: &str) -> Result<(), StorageError> {
        self.write(|txn| write_batch(txn, batch, origin))
    }

    /// Overwrites stored entries and hashes of a log below its durable size with verified
    /// copies (see `integrity`): the repair of damage found by the scrub. Refuses anything at
    /// or beyond the durable size, so it can never extend or reorder the log; index rows are
    /// untouched (they are derived from the same entries, which a repair restores as they
    /// were). One durable transaction.
    pub fn repair(
        &self,
        log: u32,
        entries: &[(u64, Vec<u8>)],
        hashes: &[(NodeId, Hash)],
    ) -> Result<(), StorageError> {
        self.write(|txn| {
            let size = txn.open_table(SIZES)?.get(log)?.map_or(0, |v| v.value());
            let mut table = txn.open_table(ENTRIES)?;
            for (index, bytes) in entries {
                if *index >= size {
                    return Err(StorageError::BeyondSize {
                        index: *index,
                        size,
                    });
                }
                table.insert((log, *index), bytes.as_slice())?;
            }
            let mut table = txn.open_table(HASHES)?;
            for (id, hash) in hashes {
                let end = (id.index + 1).checked_shl(u32::from(id.level));
                if end.is_none_or(|end| end > size) {
                    return Err(StorageError::BeyondSize {
                        index: id.index,
                        size,
                    });
                }
                table.insert((log, id.level, id.index), hash.0)?;
            }
            Ok(())
        })
    }

    /// The log and index of the entry of the node's own log whose leaf hash is `leaf`. The
    /// first entry with that leaf keeps the slot.
    pub fn find_leaf(&self, leaf: &Hash) -> Result<Option<(u32, u64)>, StorageError> {
        self.read(|txn| {
            let table = txn.open_table(LEAVES)?;
            let Some((log, index)) = table.get(leaf_prefix(leaf))?.map(|v| v.value()) else {
                return Ok(None);
            };
            let Some(bytes) = txn.open_table(ENTRIES)?.get((log, index))? else {
                return Ok(None);
            };
            let found = daylight_verifier::merkle::leaf_hash(bytes.value()) == *leaf;
            Ok(found.then_some((log, index)))
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

/// The body of [`Store::commit_batch`], inside its write transaction.
fn write_batch(
    txn: &redb::WriteTransaction,
    batch: &Batch,
    origin: &str,
) -> Result<(), StorageError> {
    let mut sizes = txn.open_table(SIZES)?;
    let durable = sizes.get(batch.log)?.map_or(0, |v| v.value());
    if durable != batch.start {
        return Err(StorageError::OutOfOrder {
            log: origin.to_string(),
            start: batch.start,
            durable,
        });
    }
    let mut entries = txn.open_table(ENTRIES)?;
    let mut rids = txn.open_table(RIDS)?;
    let mut leaves = txn.open_table(LEAVES)?;
    for (offset, entry) in batch.entries.iter().enumerate() {
        let index = batch.start + offset as u64;
        entries.insert((batch.log, index), entry.bytes.as_slice())?;
        if !batch.mirrored {
            let prefix = leaf_prefix(&entry.leaf);
            if leaves.get(prefix)?.is_none() {
                leaves.insert(prefix, (batch.log, index))?;
            }
        }
        let Some(rid) = &entry.rid else { continue };
        if batch.mirrored {
            if rids.get((batch.log, rid.as_str()))?.is_none() {
                rids.insert((batch.log, rid.as_str()), index)?;
            }
        } else if let Some(existing) = rids.insert((batch.log, rid.as_str()), index)? {
            return Err(StorageError::DuplicateRid {
                rid: rid.clone(),
                index: existing.value(),
            });
        }
    }
    // Only amended records get version rows: a record never corrected or voided has
    // one version, whose leaf is already stored as hash (0, index).
    let mut amendments = txn.open_multimap_table(AMENDMENTS)?;
    let mut versions = txn.open_multimap_table(VERSIONS)?;
    let mut current = txn.open_table(CURRENT)?;
    for (offset, entry) in batch.entries.iter().enumerate() {
        if let Some(a) = &entry.amends {
            let index = batch.start + offset as u64;
            amendments.insert((batch.log, a.target.as_str()), index)?;
            versions.insert((batch.log, a.target.as_str()), entry.leaf.0)?;
            current.insert((batch.log, a.target.as_str()), (entry.leaf.0, a.void))?;
        }
    }
    let mut hashes = txn.open_table(HASHES)?;
    for (id, hash) in &batch.hashes {
        hashes.insert((batch.log, id.level, id.index), hash.0)?;
    }
    let new_size = batch.start + batch.entries.len() as u64;
    if let Some(checkpoint) = &batch.checkpoint {
        let mut checkpoints = txn.open_table(CHECKPOINTS)?;
        if let Some(existing) = checkpoints.get((batch.log, new_size))?
            && existing.value() != checkpoint
        {
            return Err(StorageError::CheckpointConflict(new_size));
        }
        checkpoints.insert((batch.log, new_size), checkpoint.as_str())?;
    }
    sizes.insert(batch.log, new_size)?;
    Ok(())
}

fn leaf_prefix(leaf: &Hash) -> [u8; 16] {
    let mut prefix = [0u8; 16];
    prefix.copy_from_slice(&leaf.0[..16]);
    prefix
}

/// Whether any table is missing (a new database, or one from before a table was added): only
/// then does opening need a write, so a node on a full disk still opens its database.
fn missing_tables(txn: &redb::ReadTransaction) -> Result<bool, StorageError> {
    use redb::{MultimapTableHandle as _, TableHandle as _};
    let mut names: std::collections::HashSet<String> =
        txn.list_tables()?.map(|t| t.name().to_string()).collect();
    names.extend(txn.list_multimap_tables()?.map(|t| t.name().to_string()));
    Ok(TABLE_NAMES.iter().any(|name| !names.contains(*name)))
}

/// The name of every table, for [`missing_tables`].
const TABLE_NAMES: [&str; 16] = [
    "leaves",
    "logs",
    "sizes",
    "entries",
    "hashes",
    "checkpoints",
    "rids",
    "meta",
    "amendments",
    "versions",
    "current",
    "cosignatures",
    "witnessed",
    "witnessed_notes",
    "evidence",
    "equivocating",
];

fn for_each_table(txn: &redb::WriteTransaction) -> Result<(), StorageError> {
    txn.open_table(LEAVES)?;
    txn.open_table(LOGS)?;
    txn.open_table(SIZES)?;
    txn.open_table(ENTRIES)?;
    txn.open_table(HASHES)?;
    txn.open_table(CHECKPOINTS)?;
    txn.open_table(RIDS)?;
    txn.open_table(META)?;
    txn.open_multimap_table(AMENDMENTS)?;
    txn.open_multimap_table(VERSIONS)?;
    txn.open_table(CURRENT)?;
    txn.open_table(COSIGNATURES)?;
    txn.open_table(WITNESSED)?;
    txn.open_table(WITNESSED_NOTES)?;
    txn.open_table(EVIDENCE)?;
    txn.open_table(EQUIVOCATING)?;
    Ok(())
}

/// The leaf of the entry that first logged `rid`.
fn original_leaf(
    txn: &redb::ReadTransaction,
    log: u32,
    rid: &str,
) -> Result<Option<Hash>, StorageError> {
    let Some(index) = txn.open_table(RIDS)?.get((log, rid))?.map(|v| v.value()) else {
        return Ok(None);
    };
    Ok(txn
        .open_table(HASHES)?
        .get((log, 0u8, index))?
        .map(|v| Hash(v.value())))
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

/// The stored hashes of one log, read in one transaction per call.
pub struct LogHashes<'a> {
    store: &'a Store,
    log: u32,
}

impl HashReader for LogHashes<'_> {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        let read = self.store.read(|txn| {
            let table = txn.open_table(HASHES)?;
            ids.iter()
                .map(|id| {
                    Ok(table
                        .get((self.log, id.level, id.index))?
                        .map(|v| Hash(v.value())))
                })
                .collect::<Result<Vec<_>, StorageError>>()
        });
        let hashes = read.map_err(|e| TreeError::Storage(e.to_string()))?;
        hashes
            .into_iter()
            .zip(ids)
            .map(|(hash, id)| hash.ok_or(TreeError::Missing(*id)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
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
