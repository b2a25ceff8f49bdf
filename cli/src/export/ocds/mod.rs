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
//! * [`records`] — the record package: each process's linked releases and compiled release;
//! * [`shapes`] — the OCDS objects as borrowing structs, serialized straight from the records
//!   (no JSON tree per release).

mod built;
mod records;
mod shapes;

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;

use daylight_verifier::record::{Body, Date, Party, ProjectStage, Replacement};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::manifest::now_rfc3339;
use super::model::{EntryEvent, ExportedLog, HistorySink};
use super::output::{OutputFile, WrittenFile};
use built::Built;
use shapes::{EntryOut, Hex, PartyId, When};

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

/// One release of a contracting process, as its record links it: the entry it came from, its
/// date and its tag.
struct Linked {
    /// The log, as its number in [`ReleaseWriter::logs`].
    log: usize,
    index: u64,
    date: Date,
    tag: &'static str,
}

/// Writes the release package as entries arrive, and remembers each ocid's releases.
pub struct ReleaseWriter {
    package: Package,
    file: OutputFile,
    first: bool,
    /// The release being written.
    line: Vec<u8>,
    /// The logs seen, in order; [`Linked::log`] points in here.
    logs: Vec<String>,
    /// Per ocid: its releases, in log order.
    linked: BTreeMap<String, Vec<Linked>>,
    /// The latest award rid of each project, for contracts' `awardID`.
    awards: HashMap<String, String>,
}

impl ReleaseWriter {
    /// Starts `ocds-releases.json` in `file`.
    pub fn new(package: Package, mut file: OutputFile) -> std::io::Result<ReleaseWriter> {
        package.open(&mut file, RELEASES, "releases")?;
        Ok(ReleaseWriter {
            package,
            file,
            first: true,
            line: Vec::with_capacity(4096),
            logs: Vec::new(),
            linked: BTreeMap::new(),
            awards: HashMap::new(),
        })
    }

    /// Closes the release package and writes the record package into `records`.
    pub fn finish(
        mut self,
        logs: &[ExportedLog],
        records: OutputFile,
    ) -> std::io::Result<Vec<WrittenFile>> {
        self.file.write_all(b"]}")?;
        let releases = self.file.finish()?;
        let records =
            records::write_records(&self.package, &self.logs, &self.linked, logs, records)?;
        Ok(vec![releases, records])
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
        let Some(content) = e.content else {
            return Ok(());
        };
        if e.problem.is_some() {
            return Ok(());
        }
        // What the entry says about a contracting process: (content, update?, cancelled?).
        let (subject, update, cancel) = match &content.body {
            Body::Correction(c) => (&c.replacement, true, false),
            Body::Void(_) => match e.withdrawn {
                Some(w) => (w, true, true),
                None => return Ok(()),
            },
            _ => (content, false, false),
        };
        let rid = match &content.body {
            Body::Correction(c) => c.corrects.rid.as_str(),
            Body::Void(v) => v.voids.rid.as_str(),
            _ => e.rid.unwrap_or_default(),
        };
        let Some(ocid) = ocid_of(&self.package.prefix, e.log, subject) else {
            return Ok(());
        };
        if let (Body::Project(p), false) = (&subject.body, cancel)
            && p.stage == ProjectStage::Awarded
        {
            self.awards.insert(p.project.to_string(), rid.to_string());
        }
        let award = project_of(subject)
            .and_then(|p| self.awards.get(p))
            .map(String::as_str);
        let mut built = Built::new(e.log);
        let tag = built.add(subject, rid, award, update, cancel);
        let date = subject.event_date;
        let release = built.release(
            &ocid,
            format!("{}-{}", e.log, e.index),
            When::Day(date),
            tag,
            EntryOut {
                index: e.index,
                kind: content.body.kind().as_str(),
                leaf: Hex(e.leaf),
                log: e.log,
                rid: e.rid,
            },
        );
        // Serialized into memory first: one copy into the file instead of a call per token.
        let line = &mut self.line;
        line.clear();
        if !self.first {
            line.push(b',');
        }
        self.first = false;
        serde_json::to_writer(&mut *line, &release)?;
        self.file.write_all(line)?;
        self.file.rows += 1;
        let log = self.log_number(e.log);
        let linked = Linked {
            log,
            index: e.index,
            date,
            tag,
        };
        match self.linked.get_mut(ocid.as_str()) {
            Some(releases) => releases.push(linked),
            None => {
                self.linked.insert(ocid, vec![linked]);
            }
        }
        Ok(())
    }
}

fn project_of(c: &Replacement) -> Option<&str> {
    match &c.body {
        Body::Project(p) => Some(p.project.as_str()),
        Body::Payment(p) => p.project.as_ref().map(|x| x.as_str()),
        _ => None,
    }
}

/// The ocid of the contracting process a project record or payment belongs to.
pub fn ocid_of(prefix: &str, log: &str, c: &Replacement) -> Option<String> {
    match (&c.body, project_of(c)) {
        (Body::Project(_) | Body::Payment(_), Some(project)) => Some(format!("{prefix}-{project}")),
        (Body::Payment(_), None) => Some(format!("{prefix}-{log}-programme-{}", c.program)),
        _ => None,
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
    static ORG_IDS: std::cell::RefCell<HashMap<String, [u8; 16]>> =
        std::cell::RefCell::new(HashMap::new());
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
mod tests {
    use super::*;
    use crate::export::model;
    use daylight_verifier::key::{KeyType, SigningKey};
    use daylight_verifier::merkle::leaf_hash;
    use daylight_verifier::record::{Record, to_entry_bytes};
    use serde_json::Value;

    const LOG: &str = "county-320206";

    /// A project's whole life and two payments, with a correction and two voids, signed.
    fn entries() -> Vec<Vec<u8>> {
        let key = SigningKey::from_seed(
            "test/county-320206/operator/clerk",
            KeyType::Ed25519,
            [3; 32],
        )
        .expect("a key");
        let yuan = |minor: u64| json!({"minor": minor.to_string(), "currency": "CNY"});
        let doc = json!([{"title": "Notice", "sha256": "e1".repeat(32)}]);
        let base = |rid: &str, kind: &str, date: &str| {
            json!({"v": 1, "rid": format!("{LOG}-{rid}"), "kind": kind, "event_date": date,
                "program": "rr-2026"})
        };
        let project = |rid: &str, stage: &str, date: &str| {
            let mut p = base(rid, "project", date);
            p["project"] = json!(format!("{LOG}-prj-road"));
            p["stage"] = json!(stage);
            p["title"] = json!("村道硬化 \"road\"");
            p["documents"] = doc.clone();
            p
        };
        let mut records = Vec::new();
        let mut receipt = base("rcpt-1", "receipt", "2026-01-02");
        receipt["payer"] = json!({"member": "city-3202"});
        receipt["amount"] = yuan(10_000_000);
        receipt["funded_by"] = json!([{"ref": {"log": "city-3202", "rid": "city-3202-alloc-1",
            "leaf": "ab".repeat(32)}, "amount": yuan(10_000_000)}]);
        records.push(receipt);
        let mut approved = project("prj-1", "approved", "2026-01-05");
        approved["amount"] = yuan(5_000_000);
        records.push(approved);
        records.push(project("prj-2", "tendered", "2026-01-10"));
        let mut awarded = project("prj-3", "awarded", "2026-01-20");
        awarded["amount"] = yuan(4_800_000);
        awarded["contractor"] =
            json!({"org": {"name": "Wuxi Rural Construction", "uscc": "91320206MA1W8K2P0W"}});
        records.push(awarded);
        records.push(project("prj-4", "milestone", "2026-02-01"));
        let mut signed: Vec<Vec<u8>> = Vec::new();
        let sign = |value: Value| {
            to_entry_bytes(
                &Record::from_value(value)
                    .expect("a valid record")
                    .sign(&key),
            )
        };
        for r in records.drain(..) {
            signed.push(sign(r));
        }
        let receipt_ref = json!({"log": LOG, "rid": format!("{LOG}-rcpt-1"),
            "leaf": leaf_hash(&signed[0]).to_hex()});
        let payment = |rid: &str, payee: Value, minor: u64, project: Option<&str>| {
            let mut p = base(rid, "payment", "2026-02-03");
            p["payee"] = payee;
            p["amount"] = yuan(minor);
            p["funded_by"] = json!([{"ref": receipt_ref, "amount": yuan(minor)}]);
            p["purpose"] = json!("Wages");
            if let Some(project) = project {
                p["project"] = json!(project);
            }
            p
        };
        let household = json!({"household": {"pseudonym": "5a".repeat(32), "area": "320206101201",
                "commitment": "c0".repeat(32)}});
        signed.push(sign(payment(
            "pay-1",
            household,
            300_000,
            Some(&format!("{LOG}-prj-road")),
        )));
        signed.push(sign(payment(
            "pay-2",
            json!({"org": {"name": "Tea Coop"}}),
            1_000,
            None,
        )));
        let leaf = |i: usize| leaf_hash(&signed[i]).to_hex();
        let mut correction = base("corr-1", "correction", "2026-02-05");
        correction["corrects"] = json!({"rid": format!("{LOG}-pay-2"), "leaf": leaf(6)});
        correction["reason"] = json!("Amount typo");
        let mut replacement = payment("x", json!({"org": {"name": "Tea Coop"}}), 1_200, None);
        let replacement_map = replacement.as_object_mut().expect("an object");
        replacement_map.remove("v");
        replacement_map.remove("rid");
        correction["replacement"] = replacement;
        let correction = sign(correction);
        let mut void_award = base("void-1", "void", "2026-02-06");
        void_award["voids"] = json!({"rid": format!("{LOG}-prj-3"), "leaf": leaf(3)});
        void_award["reason"] = json!("Award withdrawn");
        let mut void_milestone = base("void-2", "void", "2026-02-07");
        void_milestone["voids"] = json!({"rid": format!("{LOG}-prj-4"), "leaf": leaf(4)});
        void_milestone["reason"] = json!("Not met after all");
        signed.push(correction);
        signed.push(sign(void_award));
        signed.push(sign(void_milestone));
        signed
    }

    /// Exports the entries as OCDS; returns the release and record packages.
    fn export(name: &str, entries: &[Vec<u8>]) -> (String, String) {
        let dir = std::env::temp_dir().join(format!("daylight-ocds-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let package = Package::new("test.daylight", "ocds-test");
        let mut writer =
            ReleaseWriter::new(package, OutputFile::create(&dir, RELEASES).unwrap()).unwrap();
        let mut reader = model::LogReader::new(LOG).unwrap();
        let mut problems = Problems(Vec::new());
        reader
            .read_batch(0, entries, &mut [&mut writer, &mut problems])
            .unwrap();
        assert_eq!(
            problems.0,
            Vec::<String>::new(),
            "every test record applies"
        );
        let logs = [ExportedLog {
            member: LOG.to_string(),
            state: reader.state,
        }];
        writer
            .finish(&logs, OutputFile::create(&dir, RECORDS).unwrap())
            .unwrap();
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
        let files = (read(RELEASES), read(RECORDS));
        std::fs::remove_dir_all(&dir).unwrap();
        files
    }

    /// The problems of the entries read.
    struct Problems(Vec<String>);

    impl HistorySink for Problems {
        fn entry(&mut self, e: &EntryEvent<'_>) -> std::io::Result<()> {
            if let Some(problem) = &e.problem {
                self.0.push(format!("entry {}: {problem}", e.index));
            }
            Ok(())
        }
    }

    #[test]
    fn every_object_has_its_keys_in_order() {
        // A JSON tree writes keys sorted: each release and record written again from its tree
        // gives the same bytes only if every struct of `shapes` declares its fields in that
        // order, optional ones included. (The package's own keys come first, then its list.)
        let (releases, records) = export("order", &entries());
        for (text, list) in [(&releases, "releases"), (&records, "records")] {
            let package: Value = serde_json::from_str(text).expect("JSON");
            let items = package[list].as_array().expect("a list");
            assert_eq!(items.len(), if list == "releases" { 9 } else { 2 });
            for item in items {
                let written = serde_json::to_string(item).unwrap();
                assert!(
                    text.contains(&written),
                    "{list}: keys out of order near {written}"
                );
            }
        }
    }

    #[test]
    fn a_projects_life_maps_to_releases_and_a_compiled_release() {
        let (releases, records) = export("life", &entries());
        let releases: Value = serde_json::from_str(&releases).unwrap();
        let tags: Vec<&str> = releases["releases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["tag"][0].as_str().unwrap())
            .collect();
        assert_eq!(
            tags,
            [
                "planning",
                "tender",
                "award",
                "implementation",
                "implementation",
                "implementation",
                "implementationUpdate",
                "awardCancellation",
                "implementationUpdate"
            ]
        );
        let first = &releases["releases"][0];
        assert_eq!(first["daylight"]["index"], 1);
        assert_eq!(first["planning"]["budget"]["amount"]["amount"], 50000.0);
        assert_eq!(first["parties"][0]["roles"], json!(["buyer"]));

        let records: Value = serde_json::from_str(&records).unwrap();
        let record = |ocid: &str| {
            records["records"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["ocid"] == ocid)
                .unwrap_or_else(|| panic!("no record {ocid}"))
                .clone()
        };
        let road = record(&format!("ocds-test-{LOG}-prj-road"));
        assert_eq!(road["releases"].as_array().unwrap().len(), 7);
        let compiled = &road["compiledRelease"];
        assert_eq!(compiled["tag"], json!(["compiled"]));
        assert_eq!(compiled["date"], "2026-02-03T00:00:00Z");
        assert_eq!(compiled["awards"][0]["status"], "cancelled");
        assert_eq!(compiled["tender"]["status"], "active");
        assert_eq!(
            compiled["awards"][0]["suppliers"][0]["id"],
            "CN-SAIC-91320206MA1W8K2P0W"
        );
        let implementation = &compiled["contracts"][0]["implementation"];
        assert!(
            implementation.get("milestones").is_none(),
            "the voided milestone left"
        );
        let paid = &implementation["transactions"];
        assert_eq!(paid.as_array().unwrap().len(), 1);
        assert_eq!(paid[0]["value"]["amount"], 3000.0);
        assert_eq!(paid[0]["payee"]["name"], "household 5a5a5a5a5a5a");
        assert!(
            paid[0]["source"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{LOG}/{LOG}-rcpt-1/")),
            "{}",
            paid[0]["source"]
        );
        let programme = record(&format!("ocds-test-{LOG}-programme-rr-2026"));
        let paid = &programme["compiledRelease"]["contracts"][0]["implementation"]["transactions"];
        assert_eq!(paid[0]["value"]["amount"], 12.0, "the corrected amount");
        assert_eq!(
            programme["compiledRelease"]["daylight"]["records"][0]["status"],
            "active"
        );
    }
}
