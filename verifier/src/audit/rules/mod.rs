//! The rules of DESIGN §8, one small function each, over the indexes of a [`View`]. Each
//! returns [`Draft`] findings; [`super::report`] gives them their keys and linkage. The exact
//! semantics of each rule are in `docs/audit.md`.

mod dates;
mod funds;
mod households;
mod integrity;
mod payments;
mod references;
mod revoked;

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

/// One rule: appends its drafts.
type RuleFn = fn(&View<'_>, &mut Vec<Draft>);

/// Every rule, in [`Rule::ALL`] order.
const RULES: [RuleFn; 16] = [
    integrity::log_integrity,
    integrity::stale_correction,
    references::unresolved_reference,
    funds::over_commitment,
    funds::transfer_not_received,
    funds::idle_funds,
    payments::duplicate_payment,
    payments::entitlement_cap,
    payments::split_payment,
    payments::payment_signoff,
    households::short_notice,
    households::household_signoff,
    households::household_not_enrolled,
    dates::future_dated,
    dates::backdated,
    revoked::revoked_key_used,
];

/// Positions in [`RULES`] of the rules that group every payment, which take longest: handed
/// out first, so the cores finish together.
const SLOWEST_FIRST: [usize; 4] = [6, 12, 7, 2];

/// Runs every rule over the view, on all cores, and returns their drafts in [`RULES`] order
/// (the same result as running them one after the other: each rule only reads the view).
pub(crate) fn run_all(view: &View<'_>) -> Vec<Draft> {
    let order: Vec<usize> = SLOWEST_FIRST
        .into_iter()
        .chain((0..RULES.len()).filter(|i| !SLOWEST_FIRST.contains(i)))
        .collect();
    let drafts = super::parallel::map_in_order(order.clone(), |rule| {
        let mut drafts = Vec::new();
        RULES[rule](view, &mut drafts);
        drafts
    });
    let mut slots: Vec<Vec<Draft>> = vec![Vec::new(); RULES.len()];
    for (rule, drafts) in order.into_iter().zip(drafts) {
        slots[rule] = drafts;
    }
    slots.into_iter().flatten().collect()
}

/// Whether records of this kind are judged by the content rules (auditors' findings and
/// publishers' rectifications are only checked for integrity).
pub(crate) fn audited_kind(kind: crate::record::Kind) -> bool {
    !matches!(
        kind,
        crate::record::Kind::Finding | crate::record::Kind::Rectification
    )
}
