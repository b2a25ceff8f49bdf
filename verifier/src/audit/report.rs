//! The [`AuditReport`]: findings with keys and linkage, lights, log summaries and fund flows;
//! and [`Ledger::audit`], which builds it.
//!
//! Deterministic: every list is in ledger order (logs by member id, records by rid) or sorted
//! by a total order, never in hash-map order, so the same ledger, parameters and date give
//! byte-identical JSON.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use serde::Serialize;

use crate::record::{Body, Date, Ident, Kind, MemberId, Money, Reference, Severity};

use super::finding::{Answer, AuditFinding, finding_key};
use super::ledger::{Entry, Ledger};
use super::params::AuditParams;
use super::rules::{self, Draft, money};
use super::view::{Resolved, View};

/// A traffic light: green (nothing open), yellow (open yellow findings), red (an open red
/// finding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    /// No open finding.
    Green,
    /// Open yellow findings, no open red one.
    Yellow,
    /// At least one open red finding.
    Red,
}

impl Light {
    /// The light's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Light::Green => "green",
            Light::Yellow => "yellow",
            Light::Red => "red",
        }
    }
}

/// Counts behind a light.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Records in force.
    pub records: u64,
    /// Open red findings.
    pub red: u64,
    /// Open yellow findings.
    pub yellow: u64,
    /// Findings answered by a rectification (any status).
    pub answered: u64,
    /// Findings closed by a `completed` rectification.
    pub closed: u64,
}

impl Counts {
    fn light(&self) -> Light {
        if self.red > 0 {
            Light::Red
        } else if self.yellow > 0 {
            Light::Yellow
        } else {
            Light::Green
        }
    }

    fn count(&mut self, finding: &AuditFinding) {
        if finding.answer.is_some() {
            self.answered += 1;
        }
        if !finding.is_open() {
            self.closed += 1;
        } else if finding.severity == Severity::Red {
            self.red += 1;
        } else if finding.severity == Severity::Yellow {
            self.yellow += 1;
        }
    }
}

/// The light of one programme of a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramLight {
    /// The programme.
    pub program: Ident,
    /// Its light.
    pub light: Light,
    /// What the light is made of.
    pub counts: Counts,
}

/// The light of one member, and of each of its programmes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberLight {
    /// The member (its log).
    pub member: MemberId,
    /// Its light over all its findings.
    pub light: Light,
    /// What the light is made of.
    pub counts: Counts,
    /// Per programme, by programme id.
    pub programs: Vec<ProgramLight>,
}

/// One log in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogSummary {
    /// The member whose log it is.
    pub member: MemberId,
    /// Entries held.
    pub size: u64,
    /// Valid entries by kind.
    pub records: BTreeMap<String, u64>,
    /// Entries that are not valid records.
    pub invalid: u64,
    /// Pieces of equivocation evidence held.
    pub evidence: u64,
}

/// One record drawing on a fund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowDraw {
    /// The drawing record (current version).
    pub by: Reference,
    /// Its kind (`allocation`, `receipt` or `payment`).
    pub kind: &'static str,
    /// How much it draws.
    pub amount: Money,
}

/// A fund-flow row: an allocation or receipt in force and what draws on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flow {
    /// The fund (current version).
    pub fund: Reference,
    /// `allocation` or `receipt`.
    pub kind: String,
    /// Its programme.
    pub program: Ident,
    /// Its event date.
    pub event_date: Date,
    /// Its amount.
    pub amount: Money,
    /// Total drawn by citing records in force.
    pub drawn: Money,
    /// Amount not yet drawn (zero if over-drawn).
    pub remaining: Money,
    /// Amount drawn beyond the fund (zero unless over-committed).
    pub overdrawn: Money,
    /// Who drew it, in ledger order.
    pub drawn_by: Vec<FlowDraw>,
}

/// The result of an audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// The date the audit judged at.
    pub as_of: Date,
    /// The parameters applied.
    pub params: AuditParams,
    /// Every log, by member id.
    pub logs: Vec<LogSummary>,
    /// Every finding: red first, then yellow; then by rule, member and key.
    pub findings: Vec<AuditFinding>,
    /// Lights per member (every member whose log is held), by member id.
    pub lights: Vec<MemberLight>,
    /// Fund flows: every allocation and receipt in force, in ledger order.
    pub flows: Vec<Flow>,
}

impl AuditReport {
    /// The report as pretty-printed JSON; byte-identical for identical inputs.
    pub fn to_json(&self) -> String {
        // Every field is a string, number, list or map with string keys: serialization
        // cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The light of `member`, if its log is held.
    pub fn light(&self, member: &MemberId) -> Option<Light> {
        self.lights
            .iter()
            .find(|l| &l.member == member)
            .map(|l| l.light)
    }
}

impl Ledger {
    /// Audits everything the ledger holds at date `as_of` with `params` (see `docs/audit.md`
    /// for the rules). Deterministic: the same ledger, parameters and date give the same
    /// report, byte for byte in JSON, whatever order the logs were fed in.
    pub fn audit(&self, params: &AuditParams, as_of: Date) -> AuditReport {
        let view = View::new(self, params, as_of);
        // The fund-flow tables only read the view: build them beside the rules.
        let (drafts, flows) = std::thread::scope(|scope| {
            let flows = scope.spawn(|| flows(&view));
            let drafts = rules::run_all(&view);
            match flows.join() {
                Ok(flows) => (drafts, flows),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        });
        let published = published_findings(&view);
        let answers = answers(&view);
        let mut findings: Vec<AuditFinding> = drafts
            .into_iter()
            .map(|d| finish(d, &published, &answers))
            .collect();
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| (a.rule, &a.member, a.key).cmp(&(b.rule, &b.member, b.key)))
        });
        findings.dedup_by(|a, b| a.key == b.key);
        AuditReport {
            as_of,
            params: params.clone(),
            logs: log_summaries(self),
            lights: lights(&view, &findings),
            flows,
            findings,
        }
    }
}

/// Finding records in force in any log, by key → their reference.
fn published_findings(view: &View<'_>) -> HashMap<crate::hash::Hash, Reference> {
    let mut out = HashMap::new();
    for rec in &view.recs {
        if let Body::Finding(f) = rec.body() {
            let key = finding_key(f.rule.as_str(), f.severity, &f.subjects, &f.evidence);
            out.entry(key).or_insert_with(|| rec.reference());
        }
    }
    out
}

/// Rectifications in force, by the (log, rid) of the finding record they answer; the latest
/// (event date, then ledger order) wins. Only rectifications whose pinned leaf is a version
/// of a finding record count.
fn answers(view: &View<'_>) -> HashMap<(MemberId, Ident), (Date, Answer)> {
    let mut out: HashMap<(MemberId, Ident), (Date, Answer)> = HashMap::new();
    for rec in &view.recs {
        let Body::Rectification(r) = rec.body() else {
            continue;
        };
        let Resolved::Found(target) = view.resolve(&r.finding) else {
            continue;
        };
        if view.recs[target].kind() != Kind::Finding {
            continue;
        }
        let answer = Answer {
            rectification: rec.reference(),
            status: r.status,
            action: r.action.as_str().to_string(),
            due_date: r.due_date,
        };
        let key = (r.finding.log.clone(), r.finding.rid.clone());
        match out.get(&key) {
            Some((date, _)) if *date > rec.date() => {}
            _ => {
                out.insert(key, (rec.date(), answer));
            }
        }
    }
    out
}

fn finish(
    d: Draft,
    published: &HashMap<crate::hash::Hash, Reference>,
    answers: &HashMap<(MemberId, Ident), (Date, Answer)>,
) -> AuditFinding {
    let key = finding_key(d.rule.code(), d.severity, &d.subjects, &d.evidence);
    let published = published.get(&key).cloned();
    let answer = published
        .as_ref()
        .and_then(|p| answers.get(&(p.log.clone(), p.rid.clone())))
        .map(|(_, a)| a.clone());
    AuditFinding {
        key,
        rule: d.rule,
        severity: d.severity,
        member: d.member,
        program: d.program,
        subjects: d.subjects,
        amounts: d.amounts,
        dates: d.dates,
        summary: d.summary,
        evidence: d.evidence,
        published,
        answer,
    }
}

fn log_summaries(ledger: &Ledger) -> Vec<LogSummary> {
    ledger
        .logs
        .iter()
        .map(|(member, log)| {
            let mut kinds: BTreeMap<Kind, u64> = BTreeMap::new();
            let mut invalid = 0;
            for entry in &log.entries {
                match entry {
                    Entry::Valid { kind, .. } => *kinds.entry(*kind).or_insert(0) += 1,
                    Entry::Invalid { .. } => invalid += 1,
                }
            }
            let records = kinds
                .into_iter()
                .map(|(kind, n)| (kind.as_str().to_string(), n))
                .collect();
            LogSummary {
                member: member.clone(),
                size: log.entries.len() as u64,
                records,
                invalid,
                evidence: log.evidence.len() as u64,
            }
        })
        .collect()
}

fn lights(view: &View<'_>, findings: &[AuditFinding]) -> Vec<MemberLight> {
    let mut members: BTreeMap<&MemberId, (Counts, BTreeMap<&Ident, Counts>)> = view
        .ledger
        .logs
        .keys()
        .map(|m| (m, Default::default()))
        .collect();
    // Count by the view's small numbers first (one of the records stands for the names),
    // then file the few totals under names.
    let mut records: foldhash::HashMap<(u32, u32), (usize, u64)> = Default::default();
    for (i, rec) in view.recs.iter().enumerate() {
        records
            .entry((rec.log_pos, rec.program_id))
            .or_insert((i, 0))
            .1 += 1;
    }
    for (example, n) in records.into_values() {
        let rec = &view.recs[example];
        if let Some((counts, programs)) = members.get_mut(rec.log) {
            counts.records += n;
            programs.entry(rec.program()).or_default().records += n;
        }
    }
    for finding in findings {
        let Some((counts, programs)) = members.get_mut(&finding.member) else {
            continue;
        };
        counts.count(finding);
        if let Some(program) = &finding.program {
            programs.entry(program).or_default().count(finding);
        }
    }
    members
        .into_iter()
        .map(|(member, (counts, programs))| MemberLight {
            member: member.clone(),
            light: counts.light(),
            programs: programs
                .into_iter()
                .map(|(program, counts)| ProgramLight {
                    program: program.clone(),
                    light: counts.light(),
                    counts,
                })
                .collect(),
            counts,
        })
        .collect()
}

fn flows(view: &View<'_>) -> Vec<Flow> {
    let mut out = Vec::new();
    for (i, rec) in view.recs.iter().enumerate() {
        let amount = match rec.body() {
            Body::Allocation(a) => a.amount,
            Body::Receipt(r) => r.amount,
            _ => continue,
        };
        let drawn = view.drawn(i);
        let whole = u128::from(amount.minor.0);
        out.push(Flow {
            fund: rec.reference(),
            kind: rec.kind().as_str().to_string(),
            program: rec.program().clone(),
            event_date: rec.date(),
            amount,
            drawn: money(drawn, &amount),
            remaining: money(whole.saturating_sub(drawn), &amount),
            overdrawn: money(drawn.saturating_sub(whole), &amount),
            drawn_by: view.draws[i]
                .iter()
                .map(|d| FlowDraw {
                    by: view.recs[d.by].reference(),
                    kind: view.recs[d.by].kind().as_str(),
                    amount: Money::new(d.minor, amount.currency),
                })
                .collect(),
        });
    }
    out
}
