//! The record package (`ocds-records.json`): per contracting process, the releases linked
//! to it and a compiled release built from the current state of its records (not by merging
//! releases, so voids remove what they withdrew).

use std::collections::BTreeMap;
use std::io::Write as _;

use daylight_verifier::record::{Body, Date, Kind, ProjectStage};

use super::built::Built;
use super::shapes::{CompiledFrom, CompiledRecord, Hex, LinkedReleases, RecordOut, When};
use super::{Linked, Package, RECORDS, RELEASES, ocid_of};
use crate::export::model::{self, ExportedLog};
use crate::export::output::{OutputFile, WrittenFile};

/// Writes the record package: per ocid, the linked releases and a compiled release built from
/// the current state.
pub(super) fn write_records(
    package: &Package,
    release_logs: &[String],
    linked: &BTreeMap<String, Vec<Linked>>,
    logs: &[ExportedLog],
    mut file: OutputFile,
) -> std::io::Result<WrittenFile> {
    // The current records of each process, in log order.
    let mut by_ocid: BTreeMap<String, Vec<(&str, model::Current<'_>)>> = BTreeMap::new();
    for log in logs {
        for c in model::current(&log.state) {
            if !matches!(c.state.kind(), Kind::Project | Kind::Payment) {
                continue;
            }
            if let Some(ocid) = ocid_of(&package.prefix, &log.member, &c.state.content) {
                by_ocid
                    .entry(ocid)
                    .or_default()
                    .push((log.member.as_str(), c));
            }
        }
    }
    package.open(&mut file, RECORDS, "records")?;
    let uri = package.uri(RELEASES);
    let mut first = true;
    for (ocid, releases) in linked {
        let current = by_ocid.remove(ocid).unwrap_or_default();
        let releases = LinkedReleases {
            uri: &uri,
            logs: release_logs,
            releases,
        };
        let compiled_id = format!("{ocid}-compiled");
        let built = compile(&current);
        let record = RecordOut {
            compiled: built.as_ref().map(|(built, date)| {
                built.release(
                    ocid,
                    compiled_id.clone(),
                    date.map_or(When::At(&package.published), When::Day),
                    "compiled",
                    CompiledFrom {
                        records: current
                            .iter()
                            .map(|(log, c)| CompiledRecord {
                                index: c.content_index,
                                leaf: Hex(&c.content_leaf),
                                log,
                                rid: c.state.rid.as_str(),
                                status: c.status(),
                            })
                            .collect(),
                    },
                )
            }),
            ocid,
            releases,
        };
        if !first {
            file.write_all(b",")?;
        }
        first = false;
        serde_json::to_writer(&mut file, &record)?;
        file.rows += 1;
    }
    file.write_all(b"]}")?;
    file.finish()
}

/// The compiled release of a process from its current records (in log order) and its date
/// (the latest event date), or `None` if it has no current record.
fn compile<'a>(current: &'a [(&'a str, model::Current<'a>)]) -> Option<(Built<'a>, Option<Date>)> {
    let (log, _) = current.first()?;
    let mut built = Built::new(log);
    built.reserve(current.len());
    let mut award: Option<&str> = None;
    let mut date: Option<Date> = None;
    for (_, c) in current {
        let s = &c.state.content;
        let voided = c.voided_by.is_some();
        if let Body::Project(p) = &s.body
            && p.stage == ProjectStage::Awarded
            && !voided
        {
            award = Some(c.state.rid.as_str());
        }
        // Voided awards and tenders stay, cancelled; other voided records leave.
        let keep = !voided
            || matches!(&s.body, Body::Project(p) if matches!(p.stage, ProjectStage::Awarded | ProjectStage::Tendered));
        if keep {
            built.add(s, c.state.rid.as_str(), award, false, voided);
        }
        date = date.max(Some(s.event_date));
    }
    Some((built, date))
}
