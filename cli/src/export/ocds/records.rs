//! The record package (`ocds-records.json`): per contracting process, the releases linked
//! to it and a compiled release built from the current state of its records (not by merging
//! releases, so voids remove what they withdrew).
//!
//! A programme's record can hold a million linked releases, and its compiled release a
//! million transactions, parties and records. These long lists are serialized on every core,
//! in runs written in order ([`ordered::map_in_order`]). The objects around them are written
//! here key by key, in the byte order of their keys, like every object of the package
//! (shapes.rs); the module's tests read every object back to check that order.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;

use daylight_verifier::record::{Body, Date, Kind, ProjectStage, RidState, Status};
use serde::Serialize;

use super::built::Built;
use super::shapes::{CompiledRecord, Hex, LinkedRelease, Url, When};
use super::{Linked, Package, Process, RECORDS, RELEASES, write_contract_id};
use crate::export::json;
use crate::export::model::{self, ExportedLog};
use crate::export::ordered;
use crate::export::output::{OutputFile, WrittenFile};

/// Items of a long list serialized together, on one core, before the next run is taken.
const RUN: usize = 2048;

/// One of a process's current records: the log it is in, and its state.
type Held<'a> = (&'a str, &'a RidState);

/// Writes the record package: per ocid, the linked releases and a compiled release built from
/// the current state.
pub(super) fn write_records(
    package: &Package,
    release_logs: &[String],
    linked: &[(String, Vec<Linked>)],
    logs: &[ExportedLog],
    mut file: OutputFile,
) -> std::io::Result<WrittenFile> {
    let mut current = current_by_ocid(package, logs);
    package.open(&mut file, RECORDS, "records")?;
    let uri = package.uri(RELEASES);
    let mut first = true;
    for (ocid, releases) in linked {
        let current = current.remove(ocid).unwrap_or_default();
        if !first {
            file.write_all(b",")?;
        }
        first = false;
        let mut record = Object::open(&mut file)?;
        if let Some((built, date)) = compile(&current) {
            let date = date.map_or(When::At(&package.published), When::Day);
            write_compiled(record.key("compiledRelease")?, ocid, &built, date, &current)?;
        }
        record.value("ocid", &ocid)?;
        write_list(record.key("releases")?, releases.len(), |n, out| {
            let r = &releases[n];
            let url = Url {
                uri: &uri,
                log: release_logs.get(r.log).map_or("", String::as_str),
                index: r.index,
            };
            json::append(
                out,
                &LinkedRelease {
                    date: When::Day(r.date),
                    tag: [r.tag],
                    url,
                },
            )
        })?;
        record.close()?;
        file.rows += 1;
    }
    file.write_all(b"]}")?;
    file.finish()
}

/// The current project records and payments of each process, in log order, by ocid.
fn current_by_ocid<'a>(
    package: &Package,
    logs: &'a [ExportedLog],
) -> HashMap<String, Vec<Held<'a>>> {
    let mut by_ocid: HashMap<String, Vec<Held<'a>>> = HashMap::new();
    for log in logs {
        // The ocid of each process met in this log: written out once, not once a record.
        let mut ocids: HashMap<Process<'a>, String> = HashMap::new();
        for state in log.state.iter() {
            if !matches!(state.kind(), Kind::Project | Kind::Payment) {
                continue;
            }
            let Some(process) = Process::of(&log.member, &state.content) else {
                continue;
            };
            let ocid = ocids
                .entry(process)
                .or_insert_with(|| process.ocid(&package.prefix));
            match by_ocid.get_mut(ocid.as_str()) {
                Some(held) => held.push((log.member.as_str(), state)),
                None => {
                    by_ocid.insert(ocid.clone(), vec![(log.member.as_str(), state)]);
                }
            }
        }
    }
    by_ocid
}

/// The compiled release of a process from its current records (in log order) and its date
/// (the latest event date), or `None` if it has no current record.
fn compile<'a>(current: &[Held<'a>]) -> Option<(Built<'a>, Option<Date>)> {
    let (log, _) = current.first()?;
    let mut built = Built::compiling(log, current.len());
    let mut award: Option<&str> = None;
    let mut date: Option<Date> = None;
    for (_, state) in current {
        let s = &state.content;
        let voided = matches!(state.status, Status::Voided { .. });
        if let Body::Project(p) = &s.body
            && p.stage == ProjectStage::Awarded
            && !voided
        {
            award = Some(state.rid.as_str());
        }
        // Voided awards and tenders stay, cancelled; other voided records leave.
        let keep = !voided
            || matches!(&s.body, Body::Project(p) if matches!(p.stage, ProjectStage::Awarded | ProjectStage::Tendered));
        if keep {
            built.add(s, state.rid.as_str(), award, false, voided);
        }
        date = date.max(Some(s.event_date));
    }
    Some((built, date))
}

/// Writes a compiled release: the fields of [`super::shapes::Release`], in its order, with its
/// long lists written on every core.
fn write_compiled(
    file: &mut OutputFile,
    ocid: &str,
    built: &Built<'_>,
    date: When<'_>,
    current: &[Held<'_>],
) -> std::io::Result<()> {
    let mut release = Object::open(file)?;
    if !built.awards().is_empty() {
        release.value("awards", &built.awards())?;
    }
    release.value("buyer", &built.buyer())?;
    let mut contracts = built.contracts().peekable();
    if contracts.peek().is_some() {
        let paid = payments_by_contract(built, current);
        let file = release.key("contracts")?;
        file.write_all(b"[")?;
        for (n, (id, agreed)) in contracts.enumerate() {
            if n > 0 {
                file.write_all(b",")?;
            }
            let mut contract = Object::open(file)?;
            contract.value("awardID", &agreed.award_id())?;
            contract.value("id", &id)?;
            let milestones = agreed.milestones();
            let paid = paid.get(id).map_or(&[][..], Vec::as_slice);
            if !milestones.is_empty() || !paid.is_empty() {
                let mut implementation = Object::open(contract.key("implementation")?)?;
                if !milestones.is_empty() {
                    implementation.value("milestones", &milestones)?;
                }
                if !paid.is_empty() {
                    write_list(implementation.key("transactions")?, paid.len(), |n, out| {
                        let (_, state) = current[paid[n]];
                        let c = &state.content;
                        let Body::Payment(p) = &c.body else {
                            unreachable!("only payments are listed as paid")
                        };
                        let payee = built.party_ref(&p.payee);
                        let transaction = built.transaction(c, p, state.rid.as_str(), payee);
                        json::append(out, &transaction)
                    })?;
                }
                implementation.close()?;
            }
            contract.close()?;
        }
        file.write_all(b"]")?;
    }
    release.value("date", &date)?;
    let mut daylight = Object::open(release.key("daylight")?)?;
    write_list(daylight.key("records")?, current.len(), |n, out| {
        let (log, state) = current[n];
        let c = model::Current::of(state);
        json::append(
            out,
            &CompiledRecord {
                index: c.content_index,
                leaf: Hex(&c.content_leaf),
                log,
                rid: state.rid.as_str(),
                status: c.status(),
            },
        )
    })?;
    daylight.close()?;
    release.value("id", &format_args!("{ocid}-compiled"))?;
    release.value("initiationType", &"tender")?;
    release.value("ocid", &ocid)?;
    write_list(release.key("parties")?, built.party_count(), |n, out| {
        json::append(out, &built.party_out(n))
    })?;
    if let Some(planning) = built.planning() {
        release.value("planning", planning)?;
    }
    release.value("tag", &["compiled"])?;
    if let Some(tender) = built.tender() {
        release.value("tender", tender)?;
    }
    release.close()
}

/// The payments in force among a process's `current` records, as their places in it, by the
/// id of the contract they pay under: its transactions.
fn payments_by_contract<'c>(
    built: &Built<'_>,
    current: &[Held<'c>],
) -> BTreeMap<String, Vec<usize>> {
    let mut paid: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let in_force = current.iter().enumerate().filter(|(_, (_, state))| {
        matches!(state.content.body, Body::Payment(_))
            && !matches!(state.status, Status::Voided { .. })
    });
    // Every payment in force was added to a contract: with one contract, they are all its.
    let mut contracts = built.contracts();
    if let (Some((only, _)), None) = (contracts.next(), contracts.next()) {
        paid.insert(only.to_string(), in_force.map(|(at, _)| at).collect());
        return paid;
    }
    let mut id = String::new();
    for (at, (_, state)) in in_force {
        id.clear();
        write_contract_id(&mut id, built.publisher(), &state.content);
        match paid.get_mut(id.as_str()) {
            Some(places) => places.push(at),
            None => {
                paid.insert(id.clone(), vec![at]);
            }
        }
    }
    paid
}

/// A JSON object written key by key; the caller gives the keys in byte order.
struct Object<'f> {
    file: &'f mut OutputFile,
    first: bool,
}

impl<'f> Object<'f> {
    fn open(file: &'f mut OutputFile) -> std::io::Result<Object<'f>> {
        file.write_all(b"{")?;
        Ok(Object { file, first: true })
    }

    /// Writes `key` and returns the file to write its value into.
    fn key(&mut self, key: &str) -> std::io::Result<&mut OutputFile> {
        if !self.first {
            self.file.write_all(b",")?;
        }
        self.first = false;
        json::to_writer(&mut *self.file, key)?;
        self.file.write_all(b":")?;
        Ok(self.file)
    }

    fn value(&mut self, key: &str, value: &impl Serialize) -> std::io::Result<()> {
        let file = self.key(key)?;
        json::to_writer(file, value)?;
        Ok(())
    }

    fn close(self) -> std::io::Result<()> {
        self.file.write_all(b"}")
    }
}

/// Writes a JSON array of `count` items, the `n`th serialized by `item(n, ..)`. A long list
/// is serialized on every core, [`RUN`] items at a time, and written in order.
fn write_list(
    file: &mut OutputFile,
    count: usize,
    item: impl Fn(usize, &mut Vec<u8>) -> serde_json::Result<()> + Sync,
) -> std::io::Result<()> {
    let run = |first: usize| -> serde_json::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(RUN * 256);
        for n in first..count.min(first + RUN) {
            if n > 0 {
                out.push(b',');
            }
            item(n, &mut out)?;
        }
        Ok(out)
    };
    file.write_all(b"[")?;
    if count <= RUN {
        file.write_all(&run(0)?)?;
    } else {
        ordered::map_in_order(
            count.div_ceil(RUN),
            |r| run(r * RUN),
            |_, bytes| file.write_all(&bytes?),
        )?;
    }
    file.write_all(b"]")
}
