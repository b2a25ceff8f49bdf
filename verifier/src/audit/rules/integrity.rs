//! `log_integrity` (equivocation, invalid entries) and `stale_correction` (corrections and
//! voids that did not apply).

use crate::hash::Hash;
use crate::record::{Document, HexHash, MemberId, Reference, Severity, StateProblem};

use super::super::finding::{Rule, to_text};
use super::super::ledger::{Entry, Log};
use super::super::view::View;
use super::Draft;

/// The log's first valid record, pinned at its original version: the subject of findings
/// about a whole log. It never changes as the log grows.
fn first_record(member: &MemberId, log: &Log) -> Option<Reference> {
    log.entries.iter().find_map(|e| match e {
        Entry::Valid { leaf, rid, .. } => Some(Reference {
            log: member.clone(),
            rid: rid.clone(),
            leaf: HexHash(*leaf),
        }),
        Entry::Invalid { .. } => None,
    })
}

fn whole_log(
    member: &MemberId,
    first: &Option<Reference>,
    summary: String,
    evidence: Document,
) -> Draft {
    Draft {
        rule: Rule::LogIntegrity,
        severity: Severity::Red,
        member: member.clone(),
        program: None,
        subjects: first.iter().cloned().collect(),
        amounts: Vec::new(),
        dates: Vec::new(),
        summary,
        evidence: vec![evidence],
    }
}

/// Red: evidence that the log signed two incompatible histories; and each entry that is not
/// a valid record of the log (its leaf hash is the evidence).
pub(crate) fn log_integrity(view: &View<'_>, out: &mut Vec<Draft>) {
    for (member, log) in &view.ledger.logs {
        // Found once per log: every whole-log finding shares it (linear in the log's size).
        let first = first_record(member, log);
        for (id, evidence) in &log.evidence {
            let what = match evidence.kind {
                crate::evidence::EvidenceKind::ConflictingRoots => {
                    "two different trees of one size"
                }
                crate::evidence::EvidenceKind::InconsistentHistory => {
                    "a tree that does not extend its earlier signed tree"
                }
            };
            out.push(whole_log(
                member,
                &first,
                format!("Log {member} equivocated: it signed {what} (evidence {id})."),
                Document {
                    title: to_text(&format!("evidence of equivocation by {member}")),
                    sha256: HexHash(*id),
                },
            ));
        }
        for (index, entry) in log.entries.iter().enumerate() {
            if let Entry::Invalid { leaf, problem } = entry {
                out.push(invalid_entry(member, &first, index, *leaf, problem));
            }
        }
    }
}

fn invalid_entry(
    member: &MemberId,
    first: &Option<Reference>,
    index: usize,
    leaf: Hash,
    problem: &str,
) -> Draft {
    let problem: String = problem.chars().take(600).collect();
    whole_log(
        member,
        first,
        format!("Entry {index} of log {member} is not a valid record: {problem}"),
        Document {
            title: to_text(&format!("log {member} entry {index} (not a valid record)")),
            sha256: HexHash(leaf),
        },
    )
}

/// Red: every correction or void the log state did not apply (pins a non-current version,
/// an unknown, voided or non-factual target, changes the kind) and every reused rid. The
/// subject is the offending entry at its own leaf.
pub(crate) fn stale_correction(view: &View<'_>, out: &mut Vec<Draft>) {
    for (member, log) in &view.ledger.logs {
        for issue in log.state.issues() {
            let Some(entry) = log.entries.get(issue.index as usize) else {
                continue;
            };
            let what = match &issue.problem {
                StateProblem::DuplicateRid { .. } => "reuses a rid",
                StateProblem::NotCurrent { .. } => "changes a version that is no longer current",
                StateProblem::UnknownTarget { .. } => "changes a record that is not in the log",
                StateProblem::AlreadyVoided { .. } => "changes a voided record",
                StateProblem::NotFactual { .. } => "changes a correction or void",
                StateProblem::KindChange { .. } => "changes a record's kind",
            };
            let program = match &issue.problem {
                StateProblem::DuplicateRid { .. } => None,
                _ => log.state.get(&issue.rid).map(|s| s.content.program.clone()),
            };
            out.push(Draft {
                rule: Rule::StaleCorrection,
                severity: Severity::Red,
                member: member.clone(),
                program,
                subjects: vec![Reference {
                    log: member.clone(),
                    rid: issue.rid.clone(),
                    leaf: HexHash(entry.leaf()),
                }],
                amounts: Vec::new(),
                dates: Vec::new(),
                summary: format!(
                    "Entry {} ({}) {what} and was not applied: {}.",
                    issue.index, issue.rid, issue.problem
                ),
                evidence: Vec::new(),
            });
        }
    }
}
