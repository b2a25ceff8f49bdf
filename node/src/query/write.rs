//! The index's tables and its one write: [`apply`], a batch of entries and evidence in one
//! durable transaction.
//!
//! | table | key | value |
//! |---|---|---|
//! | `meta` | name | `format`, `epoch` (hex) |
//! | `positions` | log number | (entries indexed, size of the signed checkpoint that covers them) |
//! | `feed` | sequence number | the feed event, JSON |
//! | `rids` | (log, rid) | sequence number of the entry that first used the rid |
//! | `state` | sequence number of a record | its [`StateRow`], binary (`row.rs`) |
//! | `index` | (index key, sequence number) | event date `yyyymmdd` |
//! | `counts` | index key | rows under that key |
//!
//! A filtered page is an intersection of `index` ranges (`read.rs`), so no per-record filter
//! row is kept: a record's keys are in its state row, for the one writer that needs them (a
//! correction that moves its index rows).
//! | `evidence` | evidence id | sequence number |

use daylight_api::{FeedEntry, FeedEvent, FeedEvidence};
use daylight_verifier::merkle::leaf_hash;
use daylight_verifier::record::Kind;
use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};

use std::collections::HashMap;

use super::QueryError;
use super::derive::{Derived, Keys, StateRow};
use super::row;

pub(super) const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
pub(super) const POSITIONS: TableDefinition<u32, (u64, u64)> = TableDefinition::new("positions");
pub(super) const FEED: TableDefinition<u64, &[u8]> = TableDefinition::new("feed");
pub(super) const RIDS: TableDefinition<(u32, &str), u64> = TableDefinition::new("rids");
pub(super) const STATE: TableDefinition<u64, &[u8]> = TableDefinition::new("state");
pub(super) const INDEX: TableDefinition<(&str, u64), u32> = TableDefinition::new("index");
pub(super) const COUNTS: TableDefinition<&str, u64> = TableDefinition::new("counts");
pub(super) const EVIDENCE: TableDefinition<&str, u64> = TableDefinition::new("evidence");

/// One batch for [`super::QueryIndex::apply`].
#[derive(Clone, Debug, Default)]
pub struct Work {
    /// New entries, per log.
    pub logs: Vec<LogWork>,
    /// New evidence: (id, origin, member if held, JSON).
    pub evidence: Vec<(String, String, Option<String>, String)>,
}

/// New entries of one log: `entries` from index `start`, all covered by the signed
/// checkpoint of size `covered_by`, and checked against it.
#[derive(Clone, Debug)]
pub struct LogWork {
    /// The log's storage number.
    pub number: u32,
    /// Its member id.
    pub member: String,
    /// The index of the first entry; must be the log's position in the index.
    pub start: u64,
    /// The entries' bytes.
    pub entries: Vec<Vec<u8>>,
    /// The checkpoint size that covers them.
    pub covered_by: u64,
}

/// Creates the tables of a new index of `epoch`.
pub(super) fn create(db: &Database, epoch: u32) -> Result<(), QueryError> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        meta.insert("format", super::FORMAT)?;
        meta.insert("epoch", format!("{epoch:08x}").as_str())?;
        txn.open_table(POSITIONS)?;
        txn.open_table(FEED)?;
        txn.open_table(RIDS)?;
        txn.open_table(STATE)?;
        txn.open_table(INDEX)?;
        txn.open_table(COUNTS)?;
        txn.open_table(EVIDENCE)?;
    }
    txn.commit()?;
    Ok(())
}

/// Writes a batch in one durable transaction; returns the new number of feed items.
pub(super) fn apply(db: &Database, work: &Work) -> Result<u64, QueryError> {
    let txn = db.begin_write()?;
    let head = {
        let mut w = Writer::open(&txn)?;
        for log in &work.logs {
            w.log(log)?;
        }
        for (id, origin, member, json) in &work.evidence {
            w.evidence(id, origin, member.as_deref(), json)?;
        }
        w.write_counts()?;
        w.next
    };
    txn.commit()?;
    Ok(head)
}

/// The open tables of one write transaction.
struct Writer<'t> {
    positions: redb::Table<'t, u32, (u64, u64)>,
    feed: redb::Table<'t, u64, &'static [u8]>,
    rids: redb::Table<'t, (u32, &'static str), u64>,
    state: redb::Table<'t, u64, &'static [u8]>,
    index: redb::Table<'t, (&'static str, u64), u32>,
    counts: redb::Table<'t, &'static str, u64>,
    evidence: redb::Table<'t, &'static str, u64>,
    /// The last sequence number given.
    next: u64,
    /// Changes to `counts`, written once at the end of the batch.
    count_changes: HashMap<String, i64>,
}

impl<'t> Writer<'t> {
    fn open(txn: &'t WriteTransaction) -> Result<Writer<'t>, QueryError> {
        let feed = txn.open_table(FEED)?;
        let next = match feed.last()? {
            Some((k, _)) => k.value(),
            None => 0,
        };
        Ok(Writer {
            positions: txn.open_table(POSITIONS)?,
            feed,
            rids: txn.open_table(RIDS)?,
            state: txn.open_table(STATE)?,
            index: txn.open_table(INDEX)?,
            counts: txn.open_table(COUNTS)?,
            evidence: txn.open_table(EVIDENCE)?,
            next,
            count_changes: HashMap::new(),
        })
    }

    fn log(&mut self, log: &LogWork) -> Result<(), QueryError> {
        let position = self.positions.get(log.number)?.map_or(0, |v| v.value().0);
        if position != log.start {
            // Another pass got here first (or a bug): nothing of this log is written twice.
            tracing::warn!(
                "query index: entries of {} from {} offered, but it is indexed up to {position}",
                log.member,
                log.start
            );
            return Ok(());
        }
        for (offset, bytes) in log.entries.iter().enumerate() {
            self.entry(log, log.start + offset as u64, bytes)?;
        }
        self.positions.insert(
            log.number,
            (log.start + log.entries.len() as u64, log.covered_by),
        )?;
        Ok(())
    }

    fn entry(&mut self, log: &LogWork, index: u64, bytes: &[u8]) -> Result<(), QueryError> {
        self.next += 1;
        let seq = self.next;
        let leaf = leaf_hash(bytes);
        let derived = Derived::of(&log.member, bytes);
        let (kind, rid, amends) = match &derived {
            Derived::Record { rid, content } => {
                (content.keys.kind.clone(), Some(rid.clone()), None)
            }
            Derived::Amendment {
                rid, target, kind, ..
            } => (
                kind.as_str().to_string(),
                Some(rid.clone()),
                Some(target.clone()),
            ),
            Derived::Unreadable => ("unreadable".to_string(), None, None),
        };
        let event = FeedEvent::Entry(FeedEntry {
            log: log.member.clone(),
            index,
            leaf,
            finding: kind == Kind::Finding.as_str(),
            kind,
            rid: rid.clone(),
            amends,
            covered_by: log.covered_by,
        });
        self.feed.insert(seq, json(&event).as_slice())?;
        let Some(rid) = rid else { return Ok(()) };
        // A rid used twice: the later entry is ignored (as the verifier's LogState does).
        if self.rids.get((log.number, rid.as_str()))?.is_some() {
            return Ok(());
        }
        self.rids.insert((log.number, rid.as_str()), seq)?;
        match derived {
            Derived::Record { rid, content } => {
                let row = StateRow {
                    number: log.number,
                    member: log.member.clone(),
                    index,
                    leaf: leaf.to_hex(),
                    rid,
                    entry: answer_text(bytes),
                    current_index: index,
                    current_leaf: leaf.to_hex(),
                    voided: false,
                    amendments: 0,
                    current: content.json.to_string(),
                    keys: content.keys,
                };
                self.add_keys(seq, &row.keys)?;
                self.state.insert(seq, row::encode(&row).as_slice())?;
            }
            Derived::Amendment {
                target,
                pinned,
                replacement,
                ..
            } => {
                let Some(target_seq) = self
                    .rids
                    .get((log.number, target.as_str()))?
                    .map(|v| v.value())
                else {
                    return Ok(());
                };
                let Some(mut row) = self
                    .state
                    .get(target_seq)?
                    .and_then(|v| row::decode(v.value()))
                else {
                    // Not a record stating facts (a correction of a correction): not applied.
                    return Ok(());
                };
                let before = row.keys.clone();
                if row
                    .amend(index, &leaf, &pinned, replacement.as_ref())
                    .is_err()
                {
                    return Ok(());
                }
                if row.keys != before {
                    self.remove_keys(target_seq, &before)?;
                    self.add_keys(target_seq, &row.keys)?;
                }
                self.state
                    .insert(target_seq, row::encode(&row).as_slice())?;
            }
            Derived::Unreadable => {}
        }
        Ok(())
    }

    fn add_keys(&mut self, seq: u64, keys: &Keys) -> Result<(), QueryError> {
        for key in keys.index_keys() {
            self.index.insert((key.as_str(), seq), keys.date)?;
            *self.count_changes.entry(key).or_default() += 1;
        }
        Ok(())
    }

    fn remove_keys(&mut self, seq: u64, keys: &Keys) -> Result<(), QueryError> {
        for key in keys.index_keys() {
            if self.index.remove((key.as_str(), seq))?.is_some() {
                *self.count_changes.entry(key).or_default() -= 1;
            }
        }
        Ok(())
    }

    /// Writes the batch's changes of `counts`.
    fn write_counts(&mut self) -> Result<(), QueryError> {
        for (key, change) in std::mem::take(&mut self.count_changes) {
            let count = self.counts.get(key.as_str())?.map_or(0, |v| v.value());
            let count = count.saturating_add_signed(change);
            self.counts.insert(key.as_str(), count)?;
        }
        Ok(())
    }

    fn evidence(
        &mut self,
        id: &str,
        origin: &str,
        member: Option<&str>,
        text: &str,
    ) -> Result<(), QueryError> {
        if self.evidence.get(id)?.is_some() {
            return Ok(());
        }
        self.next += 1;
        let seq = self.next;
        self.evidence.insert(id, seq)?;
        let event = FeedEvent::Evidence(FeedEvidence {
            log: member.map(str::to_string),
            origin: origin.to_string(),
            evidence: serde_json::from_str(text).unwrap_or(serde_json::Value::Null),
        });
        self.feed.insert(seq, json(&event).as_slice())?;
        Ok(())
    }
}

/// The JSON text of an entry as an answer carries it: what parsing and serializing the entry
/// gives, which for a JCS entry is its own bytes (the answer once parsed the stored entry;
/// keeping the result makes the answer a copy).
fn answer_text(bytes: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .map_or_else(|_| "null".to_string(), |value| value.to_string())
}

/// JSON bytes of a value that always serializes (plain structs of strings and numbers).
fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}
