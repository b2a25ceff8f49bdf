//! The rules of DESIGN §8, one small function each, over the indexes of a [`View`]. Each
//! returns [`Draft`] findings; [`super::report`] gives them their keys and linkage. The exact
//! semantics of each rule are in `docs/audit.md`.

mod dates;
mod funds;
mod households;
mod integrity;
mod payments;
mod references;

use crate::record::{Date, Document, Ident, MemberId, Money, Reference, Severity};

use super::finding::Rule;
use super::view::View;

/// A finding before its key and linkage are computed.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub rule: Rule,
    pub severity: Severity,
    pub member: MemberId,
    pub program: Option<Ident>,
    pub subjects: Vec<Reference>,
    pub amounts: Vec<Money>,
    pub dates: Vec<Date>,
    pub summary: String,
    pub evidence: Vec<Document>,
}

impl View<'_> {
    /// A draft about `recs[subjects[0]]` and the other records listed.
    pub(crate) fn draft(
        &self,
        rule: Rule,
        severity: Severity,
        subjects: &[usize],
        summary: String,
    ) -> Draft {
        let main = &self.recs[subjects[0]];
        Draft {
            rule,
            severity,
            member: main.log.clone(),
            program: Some(main.program().clone()),
            subjects: subjects.iter().map(|&i| self.recs[i].reference()).collect(),
            amounts: Vec::new(),
            dates: Vec::new(),
            summary,
            evidence: Vec::new(),
        }
    }
}

impl Draft {
    pub(crate) fn amounts(mut self, amounts: impl IntoIterator<Item = Money>) -> Draft {
        self.amounts.extend(amounts);
        self
    }

    pub(crate) fn dates(mut self, dates: impl IntoIterator<Item = Date>) -> Draft {
        self.dates.extend(dates);
        self
    }
}

/// Money from a sum that may exceed `u64` (saturates; amounts are at most 2^64 − 1 each).
pub(crate) fn money(minor: u128, like: &Money) -> Money {
    Money::new(u64::try_from(minor).unwrap_or(u64::MAX), like.currency)
}

/// Runs every rule, in [`Rule::ALL`] order.
pub(crate) fn run_all(view: &View<'_>) -> Vec<Draft> {
    let mut out = Vec::new();
    integrity::log_integrity(view, &mut out);
    integrity::stale_correction(view, &mut out);
    references::unresolved_reference(view, &mut out);
    funds::over_commitment(view, &mut out);
    funds::transfer_not_received(view, &mut out);
    funds::idle_funds(view, &mut out);
    payments::duplicate_payment(view, &mut out);
    payments::entitlement_cap(view, &mut out);
    payments::split_payment(view, &mut out);
    payments::payment_signoff(view, &mut out);
    households::short_notice(view, &mut out);
    households::household_signoff(view, &mut out);
    households::household_not_enrolled(view, &mut out);
    dates::future_dated(view, &mut out);
    dates::backdated(view, &mut out);
    out
}

/// Whether records of this kind are judged by the content rules (auditors' findings and
/// publishers' rectifications are only checked for integrity).
pub(crate) fn audited_kind(kind: crate::record::Kind) -> bool {
    !matches!(
        kind,
        crate::record::Kind::Finding | crate::record::Kind::Rectification
    )
}
