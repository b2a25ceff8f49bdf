//! Reads of the index: filtered pages of records ([`page`]) and ranges of the feed
//! ([`feed`]), each in one read transaction.
//!
//! A page is the intersection of the `index` ranges of the filters given (or the range of
//! everything), walked in feed order from the cursor on: the range with the fewest rows (from
//! the `counts` table) proposes a record, each other range is moved to the first row at or
//! after it, and when one lands past it that row is the next proposal (a leapfrog join). So
//! every filter is a scan of its own range in key order, the date is checked on the index row
//! itself, and nothing but the returned records' state rows is read. It stops after `limit`
//! matches or after `budget` index rows, so an answer's cost is bounded whatever the filters;
//! a page cut short says so (`end` false) and its cursor continues where it stopped.

use std::collections::{HashMap, HashSet};

use daylight_api::FeedEvent;
use redb::{Database, ReadableDatabase, ReadableTable};

use super::QueryError;
use super::derive::{ALL, Filter, StateRow, index_key};
use super::row;
use super::write::{COUNTS, EVIDENCE, FEED, INDEX, META, POSITIONS, STATE};

/// A filtered page request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Only this log (member id).
    pub log: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this programme.
    pub program: Option<String>,
    /// Only records paying this payee.
    pub payee: Option<String>,
    /// Only records in this area (or below it).
    pub area: Option<String>,
    /// Only records whose `funded_by` draws on this rid.
    pub funded_by: Option<String>,
    /// Event date on or after (`yyyymmdd`).
    pub from: Option<u32>,
    /// Event date on or before (`yyyymmdd`).
    pub to: Option<u32>,
    /// Only records after this feed sequence number.
    pub after: u64,
    /// At most this many records.
    pub limit: usize,
    /// At most this many candidates looked at.
    pub budget: usize,
}

/// One page: the records, with the checkpoint size covering each.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// (feed sequence number, row, covered by).
    pub items: Vec<(u64, StateRow, u64)>,
    /// The sequence number to continue after.
    pub last: u64,
    /// Whether every candidate indexed now was looked at.
    pub end: bool,
}

/// (format, epoch, feed items) from `meta` and `feed`.
pub(super) fn meta(db: &Database) -> Result<(Option<String>, Option<u32>, u64), QueryError> {
    let txn = db.begin_read()?;
    let meta = match txn.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok((None, None, 0)),
        Err(e) => return Err(e.into()),
    };
    let format = meta.get("format")?.map(|v| v.value().to_string());
    let epoch = meta
        .get("epoch")?
        .and_then(|v| u32::from_str_radix(v.value(), 16).ok());
    let head = match txn.open_table(FEED) {
        Ok(feed) => feed.last()?.map_or(0, |(k, _)| k.value()),
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok((None, None, 0)),
        Err(e) => return Err(e.into()),
    };
    Ok((format, epoch, head))
}

/// Storage number → (entries indexed, checkpoint size covering them).
pub(super) fn positions(db: &Database) -> Result<HashMap<u32, (u64, u64)>, QueryError> {
    let txn = db.begin_read()?;
    let table = txn.open_table(POSITIONS)?;
    table
        .iter()?
        .map(|row| {
            let (k, v) = row?;
            Ok((k.value(), v.value()))
        })
        .collect()
}

pub(super) fn evidence_seen(db: &Database) -> Result<HashSet<String>, QueryError> {
    let txn = db.begin_read()?;
    let table = txn.open_table(EVIDENCE)?;
    table
        .iter()?
        .map(|row| Ok(row?.0.value().to_string()))
        .collect()
}

pub(super) fn feed(
    db: &Database,
    after: u64,
    limit: usize,
) -> Result<Vec<(u64, FeedEvent)>, QueryError> {
    let txn = db.begin_read()?;
    let table = txn.open_table(FEED)?;
    let mut items = Vec::new();
    for row in table.range(after.saturating_add(1)..)? {
        if items.len() >= limit {
            break;
        }
        let (k, v) = row?;
        // A row that does not read is damage in a derived file: skipped, not fatal.
        if let Ok(event) = serde_json::from_slice::<FeedEvent>(v.value()) {
            items.push((k.value(), event));
        }
    }
    Ok(items)
}

pub(super) fn page(db: &Database, query: &Query) -> Result<Page, QueryError> {
    let txn = db.begin_read()?;
    let counts = txn.open_table(COUNTS)?;
    let index = txn.open_table(INDEX)?;
    let state = txn.open_table(STATE)?;
    let positions = txn.open_table(POSITIONS)?;

    // The ranges to intersect, fewest rows first; everything when no filter is given.
    let mut keys: Vec<(u64, String)> = Vec::new();
    for (filter, value) in [
        (Filter::Log, &query.log),
        (Filter::Kind, &query.kind),
        (Filter::Program, &query.program),
        (Filter::Payee, &query.payee),
        (Filter::Area, &query.area),
        (Filter::FundedBy, &query.funded_by),
    ] {
        if let Some(value) = value {
            let key = index_key(filter, value);
            let count = counts.get(key.as_str())?.map_or(0, |v| v.value());
            keys.push((count, key));
        }
    }
    if keys.is_empty() {
        keys.push((0, ALL.to_string()));
    }
    keys.sort();
    let mut ranges = keys
        .iter()
        .map(|(_, key)| Ranged::new(&index, key, query.after.saturating_add(1)))
        .collect::<Result<Vec<_>, QueryError>>()?;
    let (driver, others) = ranges.split_first_mut().expect("at least one range");

    let in_dates = |date: u32| {
        query.from.is_none_or(|from| date >= from) && query.to.is_none_or(|to| date <= to)
    };
    let mut seqs = Vec::new();
    // Every record up to `last` has been decided (returned or not matching).
    let mut last = query.after;
    let mut looked = 0usize;
    let mut next = query.after.saturating_add(1);
    let end = 'walk: loop {
        if seqs.len() >= query.limit || looked >= query.budget {
            // Cut short; whether anything is left decides `end` as a scan of the driver would.
            break 'walk driver.seek(&index, next, &mut looked)?.is_none();
        }
        let Some((candidate, date)) = driver.seek(&index, next, &mut looked)? else {
            break 'walk true;
        };
        last = last.max(candidate - 1);
        next = candidate + 1;
        if !in_dates(date) {
            last = candidate;
            continue;
        }
        for other in others.iter_mut() {
            match other.seek(&index, candidate, &mut looked)? {
                // Nothing more under this key: nothing more matches.
                None => break 'walk true,
                Some((at, _)) if at > candidate => {
                    // Nothing before `at` is under this key: the driver goes on from there.
                    last = at - 1;
                    next = at;
                    continue 'walk;
                }
                Some(_) => {}
            }
        }
        seqs.push(candidate);
        last = candidate;
    };

    let mut covered: HashMap<u32, u64> = HashMap::new();
    let mut items = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let Some(row) = state.get(seq)?.and_then(|v| row::decode(v.value())) else {
            continue;
        };
        let size = match covered.get(&row.number) {
            Some(size) => *size,
            None => {
                let size = positions.get(row.number)?.map_or(0, |v| v.value().1);
                covered.insert(row.number, size);
                size
            }
        };
        items.push((seq, row, size));
    }
    Ok(Page { items, last, end })
}

type IndexTable = redb::ReadOnlyTable<(&'static str, u64), u32>;

/// Rows of one index key from some sequence number on, read in order; moved forward by
/// reading on when the target is near, by a new range (a B-tree descent) when it is not.
struct Ranged<'k> {
    key: &'k str,
    rows: redb::Range<'static, (&'static str, u64), u32>,
    /// The row the range is at (not yet passed), if any.
    head: Option<(u64, u32)>,
    /// No row from `head` on: none at all once `head` is `None`.
    done: bool,
}

/// Rows read on before a far target is reached with a new range instead.
const READ_ON: usize = 8;

impl<'k> Ranged<'k> {
    fn new(table: &IndexTable, key: &'k str, from: u64) -> Result<Ranged<'k>, QueryError> {
        Ok(Ranged {
            key,
            rows: table.range((key, from)..=(key, u64::MAX))?,
            head: None,
            done: false,
        })
    }

    /// The first row at or after `target`: (sequence number, date); `None` if there is none.
    /// Every row read counts in `looked`.
    fn seek(
        &mut self,
        table: &IndexTable,
        target: u64,
        looked: &mut usize,
    ) -> Result<Option<(u64, u32)>, QueryError> {
        if let Some((seq, date)) = self.head
            && seq >= target
        {
            return Ok(Some((seq, date)));
        }
        if self.done {
            return Ok(None);
        }
        for _ in 0..READ_ON {
            let Some(row) = self.rows.next() else {
                self.done = true;
                self.head = None;
                return Ok(None);
            };
            let (k, date) = row?;
            *looked += 1;
            let seq = k.value().1;
            self.head = Some((seq, date.value()));
            if seq >= target {
                return Ok(self.head);
            }
        }
        self.rows = table.range((self.key, target)..=(self.key, u64::MAX))?;
        self.head = None;
        self.seek(table, target, looked)
    }
}
