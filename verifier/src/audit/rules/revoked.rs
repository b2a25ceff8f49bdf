//! `revoked_key_used`: records signed by a key after the genesis revoked it.

use crate::record::{Document, HexHash, Reference, Severity};

use super::super::finding::Rule;
use super::super::ledger::Entry;
use super::super::view::View;
use super::Draft;

/// Red: each entry signed (as operator or attestor) by a key revoked from an index at or
/// before the entry's. One finding per entry, naming every such key; the subject is the entry
/// at its own leaf. The entry itself stays a valid record of the log (the replay goes on).
pub(crate) fn revoked_key_used(view: &View<'_>, out: &mut Vec<Draft>) {
    for (member, log) in &view.ledger.logs {
        let mut uses = log.revoked_uses.iter().peekable();
        while let Some(first) = uses.next() {
            let mut keys = vec![first];
            while let Some(next) = uses.next_if(|u| u.index == first.index) {
                keys.push(next);
            }
            let Some(Entry::Valid { leaf, rid, .. }) = log.entries.get(first.index as usize) else {
                continue;
            };
            let what: Vec<String> = keys
                .iter()
                .map(|u| {
                    format!(
                        "{}, {}",
                        u.revocation.describe_key(),
                        u.revocation.describe_point()
                    )
                })
                .collect();
            out.push(Draft {
                rule: Rule::RevokedKeyUsed,
                severity: Severity::Red,
                member: member.clone(),
                program: log.state.get(rid).map(|s| s.content.program.clone()),
                subjects: vec![Reference {
                    log: member.clone(),
                    rid: rid.clone(),
                    leaf: HexHash(*leaf),
                }],
                amounts: Vec::new(),
                dates: Vec::new(),
                summary: format!(
                    "Entry {} ({rid}) of log {member} is signed by a revoked key: {}. A signature by a revoked key does not count.",
                    first.index,
                    what.join("; ")
                ),
                evidence: Vec::<Document>::new(),
            });
        }
    }
}
