//! The release package (`ocds-releases.json`): a release for every project record, payment,
//! correction and void of one, written in log order as entries are applied, and the links
//! from each contracting process to its releases that the record package lists.

use std::collections::HashMap;
use std::io::Write as _;

use daylight_verifier::record::{Body, Date, ProjectStage, Replacement};

use super::built::Built;
use super::records;
use super::shapes::{EntryOut, Hex, When};
use super::{Package, Process, RELEASES, project_of};
use crate::export::json;
use crate::export::model::{EntryEvent, ExportedLog, HistorySink};
use crate::export::output::{OutputFile, WrittenFile};

/// One release of a contracting process, as its record links it: the entry it came from, its
/// date and its tag.
pub(super) struct Linked {
    /// The log, as its number in [`ReleaseWriter::logs`].
    pub(super) log: usize,
    pub(super) index: u64,
    pub(super) date: Date,
    pub(super) tag: &'static str,
}

/// Writes the release package as entries arrive, and remembers each ocid's releases.
pub struct ReleaseWriter {
    package: Package,
    file: OutputFile,
    first: bool,
    /// The logs seen, in order; [`Linked::log`] points in here.
    logs: Vec<String>,
    /// Per ocid: its releases, in log order (put in ocid order at [`ReleaseWriter::finish`]).
    linked: HashMap<String, Vec<Linked>, foldhash::fast::RandomState>,
    /// The latest award rid of each project, for contracts' `awardID`.
    awards: HashMap<String, String>,
    /// Room to write an ocid in, kept between entries.
    ocid: String,
}

impl ReleaseWriter {
    /// Starts `ocds-releases.json` in `file`.
    pub fn new(package: Package, mut file: OutputFile) -> std::io::Result<ReleaseWriter> {
        package.open(&mut file, RELEASES, "releases")?;
        Ok(ReleaseWriter {
            package,
            file,
            first: true,
            logs: Vec::new(),
            linked: HashMap::default(),
            awards: HashMap::new(),
            ocid: String::new(),
        })
    }

    /// Closes the release package and writes the record package into `records`. The release
    /// package's last bytes are hashed, written and synced on a thread of their own meanwhile.
    pub fn finish(
        self,
        logs: &[ExportedLog],
        records: OutputFile,
    ) -> std::io::Result<Vec<WrittenFile>> {
        let ReleaseWriter {
            package,
            mut file,
            logs: release_logs,
            linked,
            ..
        } = self;
        file.write_all(b"]}")?;
        let mut linked: Vec<(String, Vec<Linked>)> = linked.into_iter().collect();
        linked.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
        std::thread::scope(|scope| {
            let releases = std::thread::Builder::new()
                .name("export-ocds-finish".into())
                .spawn_scoped(scope, move || file.finish())?;
            let records = records::write_records(&package, &release_logs, &linked, logs, records);
            let releases = releases
                .join()
                .map_err(|_| std::io::Error::other("finishing ocds-releases.json panicked"))?;
            Ok(vec![releases?, records?])
        })
    }

    /// Links the release of entry `index` of `log` to the process `ocid`.
    fn link(&mut self, ocid: &str, log: &str, index: u64, date: Date, tag: &'static str) {
        let log = self.log_number(log);
        let linked = Linked {
            log,
            index,
            date,
            tag,
        };
        match self.linked.get_mut(ocid) {
            Some(releases) => releases.push(linked),
            None => {
                self.linked.insert(ocid.to_string(), vec![linked]);
            }
        }
    }

    /// The number of `log` in [`ReleaseWriter::logs`] (entries come log by log).
    fn log_number(&mut self, log: &str) -> usize {
        match self.logs.iter().rposition(|l| l == log) {
            Some(n) => n,
            None => {
                self.logs.push(log.to_string());
                self.logs.len() - 1
            }
        }
    }
}

impl HistorySink for ReleaseWriter {
    fn entry(&mut self, e: &EntryEvent<'_>) -> std::io::Result<()> {
        let (Some(own), None) = (e.content, &e.problem) else {
            return Ok(());
        };
        let Some(subject) = Subject::of(own, e.rid.unwrap_or_default(), e.withdrawn) else {
            return Ok(());
        };
        let Some(process) = Process::of(e.log, subject.content) else {
            return Ok(());
        };
        // The ocid is written into a buffer kept for it: most entries belong to a process
        // already met.
        let mut ocid = std::mem::take(&mut self.ocid);
        ocid.clear();
        process.write_ocid(&self.package.prefix, &mut ocid);
        let award = note_award(&mut self.awards, &subject);
        let entry = EntryOut {
            index: e.index,
            kind: own.body.kind().as_str(),
            leaf: Hex(e.leaf),
            log: e.log,
            rid: e.rid,
        };
        let first = std::mem::replace(&mut self.first, false);
        let tag = self.file.append_row(|out| {
            if !first {
                out.push(b',');
            }
            Ok(write_release(out, &ocid, entry, &subject, award)?)
        })?;
        self.link(&ocid, e.log, e.index, subject.content.event_date, tag);
        self.ocid = ocid;
        Ok(())
    }
}

/// Notes an award in `awards` (the latest award rid of each project) for the entries after it,
/// and returns the award a contract of `subject` refers to: the latest of its project, if any.
fn note_award<'w>(
    awards: &'w mut HashMap<String, String>,
    subject: &Subject<'_>,
) -> Option<&'w str> {
    if let (Body::Project(p), false) = (&subject.content.body, subject.cancel)
        && p.stage == ProjectStage::Awarded
    {
        awards.insert(p.project.to_string(), subject.rid.to_string());
    }
    project_of(subject.content)
        .and_then(|p| awards.get(p))
        .map(String::as_str)
}

/// What an entry says about a contracting process.
struct Subject<'a> {
    /// What the release is made from: the record's content, a correction's replacement, or
    /// the content a void withdrew.
    content: &'a Replacement,
    /// The rid of the record the release is about (a correction's or void's target).
    rid: &'a str,
    /// A correction or void: an update of earlier releases.
    update: bool,
    /// A void.
    cancel: bool,
}

impl<'a> Subject<'a> {
    /// The subject of the entry with content `own` and rid `rid`, given what it withdrew if it
    /// is a void that applied; `None` for a void that did not.
    fn of(
        own: &'a Replacement,
        rid: &'a str,
        withdrawn: Option<&'a Replacement>,
    ) -> Option<Subject<'a>> {
        Some(match &own.body {
            Body::Correction(c) => Subject {
                content: &c.replacement,
                rid: c.corrects.rid.as_str(),
                update: true,
                cancel: false,
            },
            Body::Void(v) => Subject {
                content: withdrawn?,
                rid: v.voids.rid.as_str(),
                update: true,
                cancel: true,
            },
            _ => Subject {
                content: own,
                rid,
                update: false,
                cancel: false,
            },
        })
    }
}

/// Serializes the release of `entry` about `subject` into `out`, its contract (if any)
/// referring to `award` (or to itself); returns the release's tag.
fn write_release(
    out: &mut Vec<u8>,
    ocid: &str,
    entry: EntryOut<'_>,
    subject: &Subject<'_>,
    award: Option<&str>,
) -> serde_json::Result<&'static str> {
    let mut built = Built::new(entry.log);
    let tag = built.add(
        subject.content,
        subject.rid,
        award,
        subject.update,
        subject.cancel,
    );
    let release = built.release(
        ocid,
        format!("{}-{}", entry.log, entry.index),
        When::Day(subject.content.event_date),
        tag,
        entry,
    );
    json::append(out, &release)?;
    Ok(tag)
}
