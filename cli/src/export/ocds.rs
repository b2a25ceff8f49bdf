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

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;

use daylight_verifier::record::{
    Body, Document, Kind, Money, Party, Payment, Project, ProjectStage, Replacement,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::manifest::{OutputFile, WrittenFile, now_rfc3339};
use super::model::{self, EntryEvent, ExportedLog, HistorySink, major_f64};

/// Per ocid: each release's (id, date, tags), in log order.
type Linked = BTreeMap<String, Vec<(String, String, Vec<&'static str>)>>;

/// The OCDS version written.
pub const VERSION: &str = "1.1";

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

    fn header(&self, file: &str) -> Value {
        json!({
            "uri": self.uri(file),
            "version": VERSION,
            "publishedDate": self.published,
            "publisher": {"name": format!("daylight export of the {} network", self.network)},
        })
    }
}

/// Writes the release package as entries arrive, and remembers each ocid's releases.
pub struct ReleaseWriter {
    package: Package,
    file: OutputFile,
    first: bool,
    /// Per ocid: (release id, date, tags), in log order.
    linked: Linked,
    /// The latest award rid of each project, for contracts' `awardID`.
    awards: HashMap<String, String>,
}

impl ReleaseWriter {
    /// Starts `ocds-releases.json` in `file`.
    pub fn new(package: Package, mut file: OutputFile) -> std::io::Result<ReleaseWriter> {
        let mut header = package.header(RELEASES).to_string();
        header.pop(); // the closing brace: the releases follow
        file.write_all(header.as_bytes())?;
        file.write_all(b",\"releases\":[")?;
        Ok(ReleaseWriter {
            package,
            file,
            first: true,
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
        let records = write_records(&self.package, &self.linked, logs, records)?;
        Ok(vec![releases, records])
    }

    fn write(
        &mut self,
        ocid: String,
        release: Value,
        date: String,
        tags: Vec<&'static str>,
    ) -> std::io::Result<()> {
        if !self.first {
            self.file.write_all(b",")?;
        }
        self.first = false;
        let id = release["id"].as_str().unwrap_or_default().to_string();
        serde_json::to_writer(&mut self.file, &release)?;
        self.file.rows += 1;
        self.linked.entry(ocid).or_default().push((id, date, tags));
        Ok(())
    }
}

/// The release package's file name.
pub const RELEASES: &str = "ocds-releases.json";
/// The record package's file name.
pub const RECORDS: &str = "ocds-records.json";

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
        let award_id = project_of(subject)
            .and_then(|p| self.awards.get(p).cloned())
            .unwrap_or_else(|| contract_id(e.log, subject));
        let mut built = Built::new(e.log);
        let tags = built.add(subject, rid, &award_id, update, cancel);
        let date = datetime(&subject.event_date.to_string());
        let release = built.release(
            &ocid,
            &format!("{}-{}", e.log, e.index),
            &date,
            &tags,
            json!({
                "log": e.log, "index": e.index, "leaf": e.leaf.to_hex(), "rid": e.rid,
                "kind": content.body.kind().as_str(),
            }),
        );
        self.write(ocid, release, date, tags)
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

fn contract_id(log: &str, c: &Replacement) -> String {
    match project_of(c) {
        Some(p) => p.to_string(),
        None => format!("{log}-programme-{}", c.program),
    }
}

fn datetime(date: &str) -> String {
    format!("{date}T00:00:00Z")
}

fn value(m: &Money) -> Value {
    json!({"amount": major_f64(m), "currency": m.currency.code()})
}

fn documents(docs: &[Document]) -> Vec<Value> {
    docs.iter()
        .map(|d| json!({"id": d.sha256.to_string(), "title": d.title.as_str(), "description": format!("SHA-256 {}", d.sha256)}))
        .collect()
}

thread_local! {
    /// The ids of organisations without a USCC, by name (bounded).
    static ORG_IDS: std::cell::RefCell<HashMap<String, String>> =
        std::cell::RefCell::new(HashMap::new());
}

/// A party's OCDS organization id.
pub fn party_ocds_id(p: &Party) -> String {
    match p {
        Party::Member(m) => m.to_string(),
        Party::Org(o) => match &o.uscc {
            Some(u) => format!("CN-SAIC-{u}"),
            None => ORG_IDS.with_borrow_mut(|ids| {
                // The same few organisations are paid again and again: hash each name once.
                if let Some(id) = ids.get(o.name.as_str()) {
                    return id.clone();
                }
                let id = format!(
                    "org-{}",
                    &hex::encode(Sha256::digest(o.name.as_str()))[..16]
                );
                if ids.len() < 100_000 {
                    ids.insert(o.name.to_string(), id.clone());
                }
                id
            }),
        },
        Party::Household(h) => format!("household-{}", h.pseudonym),
    }
}

/// What one release (or the compiled release) holds, built up record by record.
struct Built {
    parties: BTreeMap<String, (Value, Vec<&'static str>)>,
    buyer: String,
    planning: Option<Value>,
    tender: Option<Value>,
    awards: Vec<Value>,
    /// contract id → (awardID, milestones, transactions)
    contracts: BTreeMap<String, (String, Vec<Value>, Vec<Value>)>,
}

impl Built {
    fn new(log: &str) -> Built {
        let mut built = Built {
            parties: BTreeMap::new(),
            buyer: log.to_string(),
            planning: None,
            tender: None,
            awards: Vec::new(),
            contracts: BTreeMap::new(),
        };
        built.party(&Party::Member(log.parse_member()), "buyer");
        built
    }

    fn party(&mut self, p: &Party, role: &'static str) -> Value {
        let id = party_ocds_id(p);
        let name = match p {
            Party::Member(m) => m.to_string(),
            Party::Org(o) => o.name.to_string(),
            Party::Household(h) => format!("household {}", &h.pseudonym.to_string()[..12]),
        };
        let entry = self.parties.entry(id.clone()).or_insert_with(|| {
            let mut org = json!({"id": id, "name": name});
            if let Party::Org(o) = p
                && let Some(u) = &o.uscc
            {
                org["identifier"] =
                    json!({"scheme": "CN-SAIC", "id": u.as_str(), "legalName": o.name.as_str()});
            }
            if let Party::Household(h) = p {
                org["address"] = json!({"region": h.area.as_str()});
            }
            (org, Vec::new())
        });
        if !entry.1.contains(&role) {
            entry.1.push(role);
        }
        json!({"id": id, "name": name})
    }

    /// Adds a project record or payment; returns the release tags.
    fn add(
        &mut self,
        c: &Replacement,
        rid: &str,
        award_id: &str,
        update: bool,
        cancel: bool,
    ) -> Vec<&'static str> {
        match &c.body {
            Body::Project(p) => self.add_project(p, c, rid, award_id, update, cancel),
            Body::Payment(p) => {
                self.add_payment(p, c, rid, award_id, cancel);
                vec![if update {
                    "implementationUpdate"
                } else {
                    "implementation"
                }]
            }
            _ => vec!["planningUpdate"],
        }
    }

    fn add_project(
        &mut self,
        p: &Project,
        c: &Replacement,
        rid: &str,
        award_id: &str,
        update: bool,
        cancel: bool,
    ) -> Vec<&'static str> {
        let docs = documents(&p.documents);
        let date = datetime(&c.event_date.to_string());
        match p.stage {
            ProjectStage::Approved => {
                let mut budget = json!({"id": rid, "description": p.title.as_str(), "project": p.title.as_str(), "projectID": p.project.as_str()});
                if let Some(m) = &p.amount {
                    budget["amount"] = value(m);
                }
                if cancel {
                    budget["description"] = json!(format!("{} (withdrawn)", p.title));
                }
                self.planning = Some(json!({"budget": budget, "documents": docs}));
                vec![if update { "planningUpdate" } else { "planning" }]
            }
            ProjectStage::Tendered => {
                let mut tender = json!({"id": p.project.as_str(), "title": p.title.as_str(), "status": if cancel { "cancelled" } else { "active" }, "documents": docs});
                if let Some(m) = &p.amount {
                    tender["value"] = value(m);
                }
                self.tender = Some(tender);
                vec![if cancel {
                    "tenderCancellation"
                } else if update {
                    "tenderUpdate"
                } else {
                    "tender"
                }]
            }
            ProjectStage::Awarded => {
                let mut award = json!({"id": rid, "title": p.title.as_str(), "status": if cancel { "cancelled" } else { "active" }, "date": date, "documents": docs});
                if let Some(m) = &p.amount {
                    award["value"] = value(m);
                }
                if let Some(contractor) = &p.contractor {
                    award["suppliers"] = json!([self.party(contractor, "supplier")]);
                }
                self.awards.push(award);
                vec![if cancel {
                    "awardCancellation"
                } else if update {
                    "awardUpdate"
                } else {
                    "award"
                }]
            }
            ProjectStage::Milestone | ProjectStage::Accepted => {
                let code = if p.stage == ProjectStage::Accepted {
                    "accepted"
                } else {
                    "milestone"
                };
                let milestone = json!({"id": rid, "title": p.title.as_str(), "type": "delivery", "code": code,
                    "status": if cancel { "notMet" } else { "met" }, "dateMet": date, "documents": docs});
                self.contract(p.project.as_str(), award_id)
                    .1
                    .push(milestone);
                vec![if update || cancel {
                    "implementationUpdate"
                } else {
                    "implementation"
                }]
            }
        }
    }

    fn add_payment(
        &mut self,
        p: &Payment,
        c: &Replacement,
        rid: &str,
        award_id: &str,
        cancel: bool,
    ) {
        let payer = self.party(&Party::Member(self.buyer.parse_member()), "payer");
        let payee = self.party(&p.payee, "payee");
        let contract = contract_id(&self.buyer, c);
        if cancel {
            self.contract(&contract, award_id);
            return;
        }
        let tx = json!({"id": rid, "source": p.funded_by.first().map(|f| model::reference(&f.reference)),
            "date": datetime(&c.event_date.to_string()), "value": value(&p.amount), "payer": payer, "payee": payee});
        self.contract(&contract, award_id).2.push(tx);
    }

    fn contract(&mut self, id: &str, award_id: &str) -> &mut (String, Vec<Value>, Vec<Value>) {
        self.contracts
            .entry(id.to_string())
            .or_insert_with(|| (award_id.to_string(), Vec::new(), Vec::new()))
    }

    fn release(self, ocid: &str, id: &str, date: &str, tags: &[&str], daylight: Value) -> Value {
        let parties: Vec<Value> = self
            .parties
            .into_values()
            .map(|(mut org, roles)| {
                org["roles"] = json!(roles);
                org
            })
            .collect();
        let mut r = json!({"ocid": ocid, "id": id, "date": date, "tag": tags, "initiationType": "tender",
            "parties": parties, "buyer": {"id": self.buyer, "name": self.buyer}});
        if let Some(p) = self.planning {
            r["planning"] = p;
        }
        if let Some(t) = self.tender {
            r["tender"] = t;
        }
        if !self.awards.is_empty() {
            r["awards"] = Value::Array(self.awards);
        }
        if !self.contracts.is_empty() {
            r["contracts"] = self
                .contracts
                .into_iter()
                .map(|(id, (award, milestones, txs))| {
                    let mut c = json!({"id": id, "awardID": award});
                    if !milestones.is_empty() || !txs.is_empty() {
                        c["implementation"] = json!({});
                        if !milestones.is_empty() {
                            c["implementation"]["milestones"] = Value::Array(milestones);
                        }
                        if !txs.is_empty() {
                            c["implementation"]["transactions"] = Value::Array(txs);
                        }
                    }
                    c
                })
                .collect();
        }
        r["daylight"] = daylight;
        r
    }
}

trait ParseMember {
    fn parse_member(&self) -> daylight_verifier::record::MemberId;
}

impl ParseMember for str {
    /// A log's member id; the logs exported were named by valid member ids.
    fn parse_member(&self) -> daylight_verifier::record::MemberId {
        daylight_verifier::record::MemberId::parse(self)
            .or_else(|_| daylight_verifier::record::MemberId::parse("unknown"))
            .unwrap_or_else(|_| unreachable!("\"unknown\" is a valid member id"))
    }
}

/// One record of the record package (keys in the alphabetical order of the format).
#[derive(serde::Serialize)]
struct RecordOut<'a> {
    #[serde(rename = "compiledRelease", skip_serializing_if = "Option::is_none")]
    compiled: Option<Value>,
    ocid: &'a str,
    releases: Vec<LinkedRelease<'a>>,
}

/// A linked release in a record.
#[derive(serde::Serialize)]
struct LinkedRelease<'a> {
    date: &'a str,
    tag: &'a [&'static str],
    url: String,
}

/// Writes the record package: per ocid, the linked releases and a compiled release built from
/// the current state.
fn write_records(
    package: &Package,
    linked: &Linked,
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
    let mut header = package.header(RECORDS).to_string();
    header.pop();
    file.write_all(header.as_bytes())?;
    file.write_all(b",\"records\":[")?;
    let mut first = true;
    for (ocid, releases) in linked {
        let current = by_ocid.remove(ocid).unwrap_or_default();
        let uri = package.uri(RELEASES);
        let mut record = RecordOut {
            compiled: None,
            ocid,
            releases: releases
                .iter()
                .map(|(id, date, tags)| LinkedRelease {
                    date,
                    tag: tags,
                    url: format!("{uri}#{id}"),
                })
                .collect(),
        };
        if let Some((log, _)) = current.first() {
            let mut built = Built::new(log);
            let mut award: Option<String> = None;
            let mut date = String::new();
            for (_, c) in &current {
                let s = &c.state.content;
                let voided = c.voided_by.is_some();
                if let Body::Project(p) = &s.body
                    && p.stage == ProjectStage::Awarded
                    && !voided
                {
                    award = Some(c.state.rid.to_string());
                }
                // Voided awards and tenders stay, cancelled; other voided records leave.
                let keep = !voided
                    || matches!(&s.body, Body::Project(p) if matches!(p.stage, ProjectStage::Awarded | ProjectStage::Tendered));
                if keep {
                    let award_id = award.clone().unwrap_or_else(|| contract_id(log, s));
                    built.add(s, c.state.rid.as_str(), &award_id, false, voided);
                }
                date = date.max(datetime(&s.event_date.to_string()));
            }
            if date.is_empty() {
                date = package.published.clone();
            }
            let compiled = built.release(
                ocid,
                &format!("{ocid}-compiled"),
                &date,
                &["compiled"],
                json!({
                    "records": current.iter().map(|(log, c)| json!({
                        "log": log, "rid": c.state.rid.as_str(), "status": c.status(),
                        "index": c.content_index, "leaf": c.content_leaf.to_hex(),
                    })).collect::<Vec<_>>(),
                }),
            );
            record.compiled = Some(compiled);
        }
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
