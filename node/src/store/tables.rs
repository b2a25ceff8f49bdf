//! The database's tables, one place for their names, key and value types.
//!
//! | table | key | value |
//! |---|---|---|
//! | `logs` | origin | log number |
//! | `sizes` | log | durable tree size |
//! | `entries` | (log, index) | entry bytes, exactly as hashed, of entries not in a stored bundle |
//! | `bundles` | (log, bundle index, chunk) | a complete entry bundle (256 entries, tlog-tiles encoding), in chunks of at most 4,000 bytes |
//! | `hashes` | (log, level, index) | stored complete-subtree hash, while its hash tile is incomplete (and each complete tile's last bottom hash); see `super::tree` |
//! | `tiles` | (log, tile level, tile index) | a complete hash tile's first 255 hashes (8,160 bytes; the 256th is its `hashes` row) |
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
//! | `leaves` | first 16 bytes of a leaf hash | (log, index) of the first own entry with it (written by earlier versions; now only read) |
//! | `leaf_groups` | (own entry index / `LEAF_GROUP`, first 16 bytes of its leaf hash) | (log, index) |
//!
//! A table added in a later version is created when the database is opened (`missing`,
//! `create_all`), the only time opening needs a write.
//!
//! **Tiles as blobs** (`docs/decisions/0013-tiles-as-blobs.md`). Completed tiles are
//! immutable, so they are kept whole: a batch that completes an entry bundle writes it to
//! `bundles` and keeps none of its 256 entries in `entries` (each entry is stored once); a
//! batch that completes a hash tile (any level) writes it to `tiles` and keeps no `hashes` row
//! for any hash inside it but its last bottom hash (decision 0023, `super::tree`): the
//! hashes above the tile's bottom are folded from it when read. The partial right edge stays
//! in `entries` and `hashes` rows. Bundles are split in page-sized chunks and a
//! tile blob leaves out its last hash, because redb stores a large value in a power-of-two
//! run of pages (see [`super::blobs`] for the layout and the decision record for what it
//! costs: about +32 bytes per entry for the tile copies, −8 to −10 for the bundles).
//!
//! *Old databases* (written before `bundles` and `tiles` existed) hold every entry as an
//! `entries` row and no blobs. They are **read as they are, not migrated**: a read takes a
//! bundle where one is stored and the `entries` rows otherwise, and a hash tile without a
//! blob is built from the `hashes` rows as before, so such a node serves exactly the same
//! bytes. Bundles and tiles completed after the upgrade are stored whole.

use redb::{MultimapTableDefinition, TableDefinition};

use super::StorageError;

pub(super) const LOGS: TableDefinition<&str, u32> = TableDefinition::new("logs");
pub(super) const SIZES: TableDefinition<u32, u64> = TableDefinition::new("sizes");
pub(super) const ENTRIES: TableDefinition<(u32, u64), &[u8]> = TableDefinition::new("entries");
/// Stored tree hashes outside complete hash tiles (see `super::tree` for where each hash
/// lives and how both are read).
pub(super) const HASHES: TableDefinition<(u32, u8, u64), [u8; 32]> = TableDefinition::new("hashes");
/// Complete entry bundles, whole (see the module doc), split in page-sized chunks (see
/// [`super::blobs`]): their entries are not in [`ENTRIES`].
pub(super) const BUNDLES: TableDefinition<(u32, u64, u16), &[u8]> = TableDefinition::new("bundles");
/// Complete hash tiles: the first 255 of its 256 bottom hashes (so that the blob fits an
/// 8 KiB page run, see [`super::blobs`]; the 256th is a [`HASHES`] row), so serving one is
/// one read and a row. Since decision 0023 the blob is the only copy of the hashes inside the
/// tile; databases written before also hold them as rows.
pub(super) const TILES: TableDefinition<(u32, u8, u64), &[u8]> = TableDefinition::new("tiles");
pub(super) const CHECKPOINTS: TableDefinition<(u32, u64), &str> =
    TableDefinition::new("checkpoints");
pub(super) const RIDS: TableDefinition<(u32, &str), u64> = TableDefinition::new("rids");
pub(super) const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
/// Leaf-hash prefix → (log, index), for finding a record of the node's own log by its leaf
/// hash. Sixteen bytes keep the table small; a lookup confirms the full leaf against the
/// entry. Mirrored entries are not indexed here: leaf hashes are random, and inserting them
/// into a large B-tree during catch-up touched a page per entry and halved the catch-up rate.
pub(super) const LEAVES: TableDefinition<[u8; 16], (u32, u64)> = TableDefinition::new("leaves");
/// The leaf index of the node's own log as written now: keyed first by the entry's group of
/// [`LEAF_GROUP`] consecutive indexes, then by the leaf-hash prefix. Leaf hashes are random,
/// so in one table keyed by hash alone ([`LEAVES`], still read for databases written before)
/// every batch's inserts land all over the table: a batch of 4,096 rewrote most of its pages,
/// a third of an append's cost at 100,000 entries and more as the log grew. Grouped, a batch
/// only touches the pages of its own (at most two) groups, whatever the log's size; a lookup
/// asks each group once (244 point reads for 1,000,000 entries).
pub(super) const LEAF_GROUPS: TableDefinition<(u64, [u8; 16]), (u32, u64)> =
    TableDefinition::new("leaf_groups");
/// How many consecutive own entries share a group of [`LEAF_GROUPS`].
pub(super) const LEAF_GROUP: u64 = 4_096;
pub(super) const AMENDMENTS: MultimapTableDefinition<(u32, &str), u64> =
    MultimapTableDefinition::new("amendments");
pub(super) const VERSIONS: MultimapTableDefinition<(u32, &str), [u8; 32]> =
    MultimapTableDefinition::new("versions");
pub(super) const CURRENT: TableDefinition<(u32, &str), ([u8; 32], bool)> =
    TableDefinition::new("current");
pub(super) const COSIGNATURES: TableDefinition<(u32, u64, &str), &[u8]> =
    TableDefinition::new("cosignatures");
pub(super) const WITNESSED: TableDefinition<&str, (u64, [u8; 32])> =
    TableDefinition::new("witnessed");
pub(super) const WITNESSED_NOTES: TableDefinition<&str, &str> =
    TableDefinition::new("witnessed_notes");
pub(super) const EVIDENCE: TableDefinition<&str, &str> = TableDefinition::new("evidence");
pub(super) const EQUIVOCATING: TableDefinition<&str, &str> = TableDefinition::new("equivocating");

/// Whether any table is missing (a new database, or one from before a table was added): only
/// then does opening need a write, so a node on a full disk still opens its database.
pub(super) fn missing(txn: &redb::ReadTransaction) -> Result<bool, StorageError> {
    use redb::{MultimapTableHandle as _, TableHandle as _};
    let mut names: std::collections::HashSet<String> =
        txn.list_tables()?.map(|t| t.name().to_string()).collect();
    names.extend(txn.list_multimap_tables()?.map(|t| t.name().to_string()));
    Ok(TABLE_NAMES.iter().any(|name| !names.contains(*name)))
}

/// The name of every table, for [`missing`].
const TABLE_NAMES: [&str; 19] = [
    "leaves",
    "leaf_groups",
    "bundles",
    "tiles",
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

/// Creates every table that does not exist yet.
pub(super) fn create_all(txn: &redb::WriteTransaction) -> Result<(), StorageError> {
    txn.open_table(LEAVES)?;
    txn.open_table(LEAF_GROUPS)?;
    txn.open_table(BUNDLES)?;
    txn.open_table(TILES)?;
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

/// Opens `table` for reading, or `None` if the database does not have it yet: a database from
/// before the table was added, opened read-only (so [`create_all`] could not run).
pub(super) fn open_optional<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &redb::ReadTransaction,
    table: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, StorageError> {
    match txn.open_table(table) {
        Ok(table) => Ok(Some(table)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
