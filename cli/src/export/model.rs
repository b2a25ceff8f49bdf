//! What an export is made of: each replayed entry turned into an [`EntryEvent`] (the history,
//! in log order), and each log's [`LogState`] (the current state, corrections and voids
//! applied), plus the small formatting helpers every format shares.
//!
//! Entries are read as `audit` reads them (canonical record of this log, field rules), and
//! applied to the log's state in order. An entry that is not a valid record stays in the
//! history with its problem and is left out of the current state. Ed25519 signatures are
//! verified only on request ([`LogReader::verify_signatures`]), as in `audit`: every entry is
//! covered by a quorum-cosigned checkpoint and was checked by its publisher's node.

use std::sync::Arc;

use super::ordered::map_in_order;

use daylight_verifier::hash::Hash;
use daylight_verifier::merkle::leaf_hash;
use daylight_verifier::record::{
    AcceptedKeys, Body, Kind, LogState, MemberId, Money, Party, Replacement, RidState,
    SignedRecord, StateProblem, Status, prepare_signatures, validate_entry,
};

/// One entry of a log, as every history writer sees it.
pub struct EntryEvent<'a> {
    /// The member id of the log.
    pub log: &'a str,
    /// The entry's index in the log.
    pub index: u64,
    /// Its leaf hash.
    pub leaf: &'a Hash,
    /// The entry bytes (the record's canonical JSON).
    pub raw: &'a [u8],
    /// The record's rid, when the entry is a record.
    pub rid: Option<&'a str>,
    /// The record's own content (a correction's or void's own body), when it is a record.
    pub content: Option<&'a Replacement>,
    /// For a correction or void: whether it was applied to its target.
    pub applied: Option<bool>,
    /// For a void that applied: the content it withdrew.
    pub withdrawn: Option<&'a Replacement>,
    /// Why the entry is not a valid record, or why its correction or void did not apply.
    pub problem: Option<String>,
}

/// Receives each entry in log order; writers of history files implement it.
pub trait HistorySink {
    /// Takes one entry.
    fn entry(&mut self, event: &EntryEvent<'_>) -> std::io::Result<()>;
}

/// An entry's leaf, and its record or why it is not a valid one.
type Checked = (Hash, Result<daylight_verifier::record::Record, String>);

/// Reads one log's entries in order into its state, handing each to the history sinks.
pub struct LogReader {
    member: String,
    checker: Arc<Checker>,
    /// The state built so far.
    pub state: LogState,
    /// Entries read.
    pub entries: u64,
    /// Entries that are not valid records.
    pub invalid: u64,
}

impl LogReader {
    /// A reader for the log of `member` (a valid member id).
    pub fn new(member: &str) -> Result<LogReader, String> {
        let member_id =
            MemberId::parse(member).map_err(|e| format!("{member:?} is not a member id: {e}"))?;
        Ok(LogReader {
            member: member.to_string(),
            checker: Arc::new(Checker {
                member_id,
                keys: None,
            }),
            state: LogState::new(),
            entries: 0,
            invalid: 0,
        })
    }

    /// Makes room in the state for a log of `entries` entries before reading it: growing a
    /// million records' states as they come copied them over and over into fresh memory (a
    /// seventh of the read time in `cargo bench --bench export`).
    pub fn expect(&mut self, entries: u64) {
        let more = entries.saturating_sub(self.entries);
        self.state.reserve(usize::try_from(more).unwrap_or(0));
    }

    /// Verifies every record's Ed25519 signatures against `keys` (slower; off by default).
    pub fn verify_signatures(&mut self, keys: AcceptedKeys) {
        Arc::make_mut(&mut self.checker).keys = Some(keys);
    }

    /// Reads the entries from `first` on and hands each to `sinks`, in order. Entries are
    /// checked in runs of [`RUN`] on every core while this thread applies the runs already
    /// checked ([`map_in_order`]), so applying (one thread, in log order) overlaps checking
    /// instead of waiting for all of it.
    pub fn read_batch<E: AsRef<[u8]> + Sync>(
        &mut self,
        first: u64,
        entries: &[E],
        sinks: &mut [&mut dyn HistorySink],
    ) -> std::io::Result<()> {
        let checker = Arc::clone(&self.checker);
        let runs = entries.len().div_ceil(RUN);
        let run_of = |run: usize| run * RUN..((run + 1) * RUN).min(entries.len());
        map_in_order(
            runs,
            |run| {
                run_of(run)
                    .map(|at| checker.check(first + at as u64, entries[at].as_ref()))
                    .collect::<Vec<Checked>>()
            },
            |run, checked| {
                for (at, checked) in run_of(run).zip(checked) {
                    self.apply(first + at as u64, entries[at].as_ref(), checked, sinks)?;
                }
                Ok(())
            },
        )
    }
}

/// Entries checked together by one thread in [`LogReader::read_batch`]: small enough that
/// applying starts soon, large enough that handing runs over costs nothing.
const RUN: usize = 512;

/// What checking an entry needs, shared by the checking threads.
#[derive(Clone)]
struct Checker {
    member_id: MemberId,
    keys: Option<AcceptedKeys>,
}

impl Checker {
    /// Parses and checks one entry (no state involved, so any thread can do it).
    fn check(&self, index: u64, raw: &[u8]) -> Checked {
        let leaf = leaf_hash(raw);
        let parsed = SignedRecord::from_entry(raw)
            .and_then(|r| validate_entry(&r, &self.member_id).map(|()| r))
            .map_err(|e| e.to_string())
            .and_then(|r| match &self.keys {
                Some(keys) => prepare_signatures(&r, &keys.at_index(index))
                    .and_then(|p| p.verify())
                    .map(|_| r)
                    .map_err(|e| format!("signatures: {e}")),
                None => Ok(r),
            });
        (leaf, parsed.map(|r| r.record))
    }
}

impl LogReader {
    /// Applies a checked entry to the state and hands it to `sinks`.
    fn apply(
        &mut self,
        index: u64,
        raw: &[u8],
        (leaf, parsed): Checked,
        sinks: &mut [&mut dyn HistorySink],
    ) -> std::io::Result<()> {
        self.entries += 1;
        let record = match parsed {
            Ok(record) => record,
            Err(problem) => {
                self.invalid += 1;
                let event = EntryEvent {
                    log: &self.member,
                    index,
                    leaf: &leaf,
                    raw,
                    rid: None,
                    content: None,
                    applied: None,
                    withdrawn: None,
                    problem: Some(format!("not a valid record of this log: {problem}")),
                };
                return each(sinks, &event);
            }
        };
        if let Some(first) = self.state.get(&record.rid) {
            // A reused rid is ignored by the state; the history still shows it.
            let first_index = first.versions.first().map_or(0, |v| v.index);
            let problem = StateProblem::DuplicateRid { first_index }.to_string();
            let content = Replacement {
                event_date: record.event_date,
                program: record.program,
                body: record.body,
            };
            let event = EntryEvent {
                log: &self.member,
                index,
                leaf: &leaf,
                raw,
                rid: Some(record.rid.as_str()),
                content: Some(&content),
                applied: None,
                withdrawn: None,
                problem: Some(problem),
            };
            return each(sinks, &event);
        }
        let rid = record.rid.clone();
        let target = match &record.body {
            Body::Void(v) => Some(v.voids.rid.clone()),
            Body::Correction(c) => Some(c.corrects.rid.clone()),
            _ => None,
        };
        let withdrawn = match (&record.body, &target) {
            (Body::Void(_), Some(t)) => self.state.get(t).map(|s| s.content.clone()),
            _ => None,
        };
        let issues = self.state.issues().len();
        self.state.apply_record(index, record, leaf);
        let problem = self
            .state
            .issues()
            .get(issues)
            .map(|i| i.problem.to_string());
        let applied = target.as_ref().map(|_| problem.is_none());
        let content = self.state.get(&rid).map(|s| &s.content);
        let event = EntryEvent {
            log: &self.member,
            index,
            leaf: &leaf,
            raw,
            rid: Some(rid.as_str()),
            content,
            applied,
            withdrawn: withdrawn.as_ref().filter(|_| applied == Some(true)),
            problem,
        };
        each(sinks, &event)
    }
}

fn each(sinks: &mut [&mut dyn HistorySink], event: &EntryEvent<'_>) -> std::io::Result<()> {
    for sink in sinks.iter_mut() {
        sink.entry(event)?;
    }
    Ok(())
}

/// A log read to the end and checked against its checkpoint.
pub struct ExportedLog {
    /// The member id.
    pub member: String,
    /// The current state of its records.
    pub state: LogState,
}

/// Where the current content of a record came from, and what happened to it.
pub struct Current<'a> {
    /// The record's state.
    pub state: &'a RidState,
    /// The entry holding the content shown: the original, or the latest applied correction.
    pub content_index: u64,
    /// That entry's leaf.
    pub content_leaf: Hash,
    /// The rids of the corrections applied, in order.
    pub corrected_by: Vec<&'a str>,
    /// The void that withdrew it, if any: (rid, index, leaf, reason).
    pub voided_by: Option<(&'a str, u64, Hash, &'a str)>,
}

impl<'a> Current<'a> {
    /// The current view of a factual record's state.
    pub fn of(state: &'a RidState) -> Current<'a> {
        let voided = matches!(state.status, Status::Voided { .. });
        let content_versions = if voided {
            &state.versions[..state.versions.len().saturating_sub(1)]
        } else {
            &state.versions[..]
        };
        let content = content_versions.last().or(state.versions.first());
        let corrected_by = content_versions
            .iter()
            .filter_map(|v| v.by.as_ref().map(|r| r.as_str()))
            .collect();
        let voided_by = match (&state.status, state.versions.last()) {
            (Status::Voided { reason }, Some(v)) => Some((
                v.by.as_ref().map_or("", |r| r.as_str()),
                v.index,
                v.leaf,
                reason.as_str(),
            )),
            _ => None,
        };
        Current {
            state,
            content_index: content.map_or(0, |v| v.index),
            content_leaf: content.map(|v| v.leaf).unwrap_or_default(),
            corrected_by,
            voided_by,
        }
    }

    /// `active` or `voided`.
    pub fn status(&self) -> &'static str {
        if self.voided_by.is_some() {
            "voided"
        } else {
            "active"
        }
    }

    /// The original entry: (index, leaf).
    pub fn original(&self) -> (u64, Hash) {
        self.state
            .versions
            .first()
            .map_or((0, Hash::default()), |v| (v.index, v.leaf))
    }
}

/// The factual records of a log (corrections and voids excluded), each with its current view,
/// in the order their rids first appear.
pub fn current(state: &LogState) -> impl Iterator<Item = Current<'_>> {
    current_from(state, 0, usize::MAX)
}

/// The factual records among the `count` records from the `first` on, in log order, in
/// their current state (a part of [`current`], for work split over threads).
pub fn current_from(
    state: &LogState,
    first: usize,
    count: usize,
) -> impl Iterator<Item = Current<'_>> {
    state
        .iter()
        .skip(first)
        .take(count)
        .filter(|s| s.kind().is_factual())
        .map(Current::of)
}

/// Writes the amount in major units, exactly: `3000.00` for 300000 CNY minor units, `3000`
/// for JPY.
pub fn write_decimal(out: &mut String, money: &Money) {
    let exp = u32::from(money.currency.exponent());
    let minor = money.minor.0;
    let mut n = itoa::Buffer::new();
    if exp == 0 {
        out.push_str(n.format(minor));
        return;
    }
    let unit = 10u64.pow(exp);
    out.push_str(n.format(minor / unit));
    out.push('.');
    let frac = n.format(minor % unit);
    for _ in frac.len()..exp as usize {
        out.push('0');
    }
    out.push_str(frac);
}

/// The amount in major units as a JSON number (OCDS `Value.amount`); exact up to 2^53 minor
/// units.
pub fn major_f64(money: &Money) -> f64 {
    let exp = i32::from(money.currency.exponent());
    money.minor.0 as f64 / 10f64.powi(exp)
}

/// A party's type: `member`, `org` or `household`.
pub fn party_type(p: &Party) -> &'static str {
    match p {
        Party::Member(_) => "member",
        Party::Org(_) => "org",
        Party::Household(_) => "household",
    }
}

/// Writes a party's identifier: the member id, the organisation's USCC (if any) or the
/// household's pseudonym.
pub fn write_party_id(out: &mut String, p: &Party) {
    match p {
        Party::Member(m) => out.push_str(m.as_str()),
        Party::Org(o) => {
            if let Some(u) = &o.uscc {
                out.push_str(u.as_str());
            }
        }
        Party::Household(h) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{}", h.pseudonym);
        }
    }
}

/// A party's name: the member id, the organisation's name, or empty for a household.
pub fn party_name(p: &Party) -> &str {
    match p {
        Party::Member(m) => m.as_str(),
        Party::Org(o) => o.name.as_str(),
        Party::Household(_) => "",
    }
}

/// A household party's area code (empty for others).
pub fn party_area(p: &Party) -> &str {
    match p {
        Party::Household(h) => h.area.as_str(),
        _ => "",
    }
}

/// The kinds that have their own current-state file, in DESIGN order.
pub const FACTUAL: [Kind; 8] = [
    Kind::Allocation,
    Kind::Receipt,
    Kind::Payment,
    Kind::Project,
    Kind::Asset,
    Kind::Household,
    Kind::Finding,
    Kind::Rectification,
];

#[cfg(test)]
mod tests {
    use super::*;
    use daylight_verifier::record::Currency;

    fn decimal(m: &Money) -> String {
        let mut s = String::new();
        write_decimal(&mut s, m);
        s
    }

    #[test]
    fn amounts_are_exact_decimals() {
        assert_eq!(decimal(&Money::cny(300_000)), "3000.00");
        assert_eq!(decimal(&Money::cny(5)), "0.05");
        assert_eq!(decimal(&Money::cny(0)), "0.00");
        assert_eq!(decimal(&Money::cny(u64::MAX)), "184467440737095516.15");
        let yen = Money::new(3000, Currency::parse("JPY").unwrap());
        assert_eq!(decimal(&yen), "3000");
        assert_eq!(major_f64(&Money::cny(300_050)), 3000.5);
    }
}
