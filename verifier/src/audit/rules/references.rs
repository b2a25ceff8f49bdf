//! `unresolved_reference`: funding and source references that do not resolve.

use crate::record::{Body, Severity};

use super::super::finding::Rule;
use super::super::view::{Resolved, View};
use super::{Draft, audited_kind};

/// For each record in force, each `funded_by` reference and an asset's `source`: red if the
/// cited log is held but the rid is missing, the leaf is not a version of it, it was voided,
/// or it is a correction/void; yellow if the cited log is not in the ledger (cannot check).
pub(crate) fn unresolved_reference(view: &View<'_>, out: &mut Vec<Draft>) {
    for (i, rec) in view.recs.iter().enumerate() {
        if !audited_kind(rec.kind()) {
            continue;
        }
        let body = rec.body();
        let refs = body
            .funded_by()
            .iter()
            .map(|p| &p.reference)
            .chain(match body {
                Body::Asset(a) => a.source.as_ref(),
                _ => None,
            });
        for reference in refs {
            let (severity, why) = match view.resolve(reference) {
                Resolved::Found(_) => continue,
                Resolved::LogNotHeld => (
                    Severity::Yellow,
                    format!("log {} is not held, so it cannot be checked", reference.log),
                ),
                Resolved::NoSuchRid => (
                    Severity::Red,
                    format!("log {} has no record {}", reference.log, reference.rid),
                ),
                Resolved::NotAVersion => (
                    Severity::Red,
                    format!(
                        "leaf {} is not a version of {} in log {}",
                        reference.leaf, reference.rid, reference.log
                    ),
                ),
                Resolved::Voided => (Severity::Red, format!("{} has been voided", reference.rid)),
                Resolved::NotFactual => (
                    Severity::Red,
                    format!("{} is a correction or void, not a fund", reference.rid),
                ),
            };
            let mut draft = view.draft(
                Rule::UnresolvedReference,
                severity,
                &[i],
                format!(
                    "{} cites {} of log {}, which does not resolve: {why}.",
                    rec.state.rid, reference.rid, reference.log
                ),
            );
            draft.subjects.push(reference.clone());
            out.push(draft);
        }
    }
}
