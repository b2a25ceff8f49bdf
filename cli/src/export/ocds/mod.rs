//! OCDS 1.1.5: project records and payments as releases (`ocds-releases.json`, a release
//! package, written as entries arrive) and one record per contracting process with linked
//! releases and a compiled release built from the current state (`ocds-records.json`, a
//! record package).
//!
//! Mapping (docs/data.md, docs/decisions/0016-export-formats.md):
//! * ocid: `<prefix>-<project id>` for a project and the payments naming it;
//!   `<prefix>-<log>-programme-<programme>` for a publisher's payments without a project.
//! * project `approved` → `planning.budget`; `tendered` → `tender`; `awarded` → an award
//!   (contractor as supplier); `milestone` and `accepted` → contract implementation milestones.
//! * payment → a contract implementation transaction (payer the publisher, payee the payee).
//! * a correction → the same, tagged as an update; a void → a cancellation (awards and
//!   tenders get the status `cancelled`; a withdrawn milestone or transaction leaves the
//!   compiled release).
//! * every release carries `daylight: {log, index, leaf, rid}`: the entry it comes from.
//!
//! * [`built`] — a release (or a compiled release) built up record by record;
//! * [`releases`] — the release package, each release prepared on the checking threads;
//! * [`records`] — the record package: each process's linked releases and compiled release,
//!   its long lists written on every core;
//! * [`shapes`] — the OCDS objects as borrowing structs, serialized straight from the records
//!   (no JSON tree per release).

mod built;
mod records;
mod releases;
mod shapes;

use releases::Linked;
pub use releases::ReleaseWriter;

use std::collections::HashMap;
use std::io::Write as _;

use daylight_verifier::record::{Body, Party, Replacement};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::manifest::now_rfc3339;
use super::output::OutputFile;
use shapes::PartyId;

/// The OCDS version written.
pub const VERSION: &str = "1.1";

/// The release package's file name.
pub const RELEASES: &str = "ocds-releases.json";
/// The record package's file name.
pub const RECORDS: &str = "ocds-records.json";

/// Package metadata shared by both packages.
#[derive(Clone)]
pub struct Package {
    /// The ocid prefix.
    pub prefix: String,
    /// The network name, for the publisher and the package URIs.
    pub network: String,
    /// When the packages were made.
    pub published: String,
}

impl Package {
    /// Metadata for `network` with ocids under `prefix`.
    pub fn new(network: &str, prefix: &str) -> Package {
        Package {
            prefix: prefix.to_string(),
            network: network.to_string(),
            published: now_rfc3339(),
        }
    }

    fn uri(&self, file: &str) -> String {
        format!("urn:daylight:{}:export:{file}", self.network)
    }

    /// Writes the package's opening: its metadata and the key of the list that follows.
    fn open(&self, file: &mut OutputFile, name: &str, list: &str) -> std::io::Result<()> {
        let mut header = json!({
            "uri": self.uri(name),
            "version": VERSION,
            "publishedDate": self.published,
            "publisher": {"name": format!("daylight export of the {} network", self.network)},
        })
        .to_string();
        header.pop(); // the closing brace: the list follows
        file.write_all(header.as_bytes())?;
        write!(file, ",\"{list}\":[")
    }
}

fn project_of(c: &Replacement) -> Option<&str> {
    match &c.body {
        Body::Project(p) => Some(p.project.as_str()),
        Body::Payment(p) => p.project.as_ref().map(|x| x.as_str()),
        _ => None,
    }
}

/// The contracting process a project record or payment belongs to: its project, or, for a
/// payment without one, the programme its publisher pays from.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Process<'a> {
    Project(&'a str),
    Programme { log: &'a str, program: &'a str },
}

impl<'a> Process<'a> {
    /// The process of a project record or payment in `log`; `None` for other kinds.
    pub(super) fn of(log: &'a str, c: &'a Replacement) -> Option<Process<'a>> {
        match (&c.body, project_of(c)) {
            (Body::Project(_) | Body::Payment(_), Some(project)) => Some(Process::Project(project)),
            (Body::Payment(_), None) => Some(Process::Programme {
                log,
                program: c.program.as_str(),
            }),
            _ => None,
        }
    }

    /// Writes its ocid: `<prefix>-<project id>`, or `<prefix>-<log>-programme-<programme>`.
    pub(super) fn write_ocid(self, prefix: &str, out: &mut String) {
        out.push_str(prefix);
        out.push('-');
        match self {
            Process::Project(project) => out.push_str(project),
            Process::Programme { log, program } => {
                out.push_str(log);
                out.push_str("-programme-");
                out.push_str(program);
            }
        }
    }

    /// Its ocid (see [`Process::write_ocid`]).
    pub(super) fn ocid(self, prefix: &str) -> String {
        let mut ocid = String::new();
        self.write_ocid(prefix, &mut ocid);
        ocid
    }
}

/// Writes the id of the contract a project record or payment belongs to: its project, or
/// the programme it pays from (`<log>-programme-<program>`).
fn write_contract_id(out: &mut String, log: &str, c: &Replacement) {
    match project_of(c) {
        Some(p) => out.push_str(p),
        None => {
            out.push_str(log);
            out.push_str("-programme-");
            out.push_str(c.program.as_str());
        }
    }
}

thread_local! {
    /// The id digits of organisations without a USCC, by name (bounded).
    static ORG_IDS: std::cell::RefCell<HashMap<String, [u8; 16], foldhash::fast::RandomState>> =
        std::cell::RefCell::new(HashMap::default());
}

/// A party's OCDS organization id.
fn party_id(p: &Party) -> PartyId<'_> {
    match p {
        Party::Member(m) => PartyId::Member(m.as_str()),
        Party::Org(o) => match &o.uscc {
            Some(u) => PartyId::Uscc(u.as_str()),
            None => PartyId::Named(ORG_IDS.with_borrow_mut(|ids| {
                // The same few organisations are paid again and again: hash each name once.
                if let Some(digits) = ids.get(o.name.as_str()) {
                    return *digits;
                }
                let mut digits = [0u8; 16];
                let _ = hex::encode_to_slice(&Sha256::digest(o.name.as_str())[..8], &mut digits);
                if ids.len() < 100_000 {
                    ids.insert(o.name.to_string(), digits);
                }
                digits
            })),
        },
        Party::Household(h) => PartyId::Household(&h.pseudonym.0),
    }
}

#[cfg(test)]
mod tests;
