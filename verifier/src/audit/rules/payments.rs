//! Rules on payments: `duplicate_payment`, `entitlement_cap`, `split_payment`, and the
//! approval sign-off of large payments (`missing_signoff`).

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use crate::record::{Body, HexHash, Payment, Severity};

use super::super::finding::Rule;
use super::super::view::{Payee, View};
use super::{Draft, money};

/// The payments in force, with their index in `recs`.
fn payments<'v>(view: &'v View<'_>) -> impl Iterator<Item = (usize, &'v Payment)> {
    view.payments
        .iter()
        .filter_map(|&i| match view.recs[i].body() {
            Body::Payment(p) => Some((i, p)),
            _ => None,
        })
}

/// Items grouped by key, groups in first-seen order (deterministic, unlike map order), items
/// in input order within each group. Stored flat: one allocation for all groups, since most
/// groups (one payee, one amount) hold a single payment.
struct Groups<T> {
    /// Every item, group after group.
    items: Vec<T>,
    /// Where each group ends in `items`.
    ends: Vec<usize>,
}

impl<T> Groups<T> {
    /// The groups, in first-seen order.
    fn iter(&self) -> impl Iterator<Item = &[T]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(start, end)| &self.items[start..end])
    }
}

/// Groups items by key.
fn groups<K: std::hash::Hash + Eq, T>(items: impl Iterator<Item = (K, T)>) -> Groups<T> {
    // Room for every item the iterator may yield: growing a million-entry table step by
    // step rehashes and copies it each time.
    let (least, most) = items.size_hint();
    let size = most.unwrap_or(least);
    let mut ids: HashMap<K, usize> = HashMap::with_capacity(size);
    let mut tagged: Vec<(usize, T)> = Vec::with_capacity(size);
    for (key, item) in items {
        let next = ids.len();
        let id = *ids.entry(key).or_insert(next);
        tagged.push((id, item));
    }
    // Stable: items keep their input order within a group.
    tagged.sort_by_key(|&(id, _)| id);
    let mut ends = Vec::with_capacity(ids.len());
    for (k, (id, _)) in tagged.iter().enumerate() {
        if tagged.get(k + 1).is_none_or(|(next, _)| next != id) {
            ends.push(k + 1);
        }
    }
    Groups {
        items: tagged.into_iter().map(|(_, item)| item).collect(),
        ends,
    }
}

/// Splits date-sorted payments into runs whose consecutive dates are less than `window`
/// days apart; returns runs of two or more.
fn runs(view: &View<'_>, mut items: Vec<usize>, window: i64) -> Vec<Vec<usize>> {
    items.sort_by_key(|&i| (view.recs[i].date(), i));
    let mut out = Vec::new();
    let mut run: Vec<usize> = Vec::new();
    for i in items {
        if let Some(&last) = run.last()
            && view.recs[last].date().days_until(&view.recs[i].date()) >= window
        {
            if run.len() > 1 {
                out.push(std::mem::take(&mut run));
            } else {
                run.clear();
            }
        }
        run.push(i);
    }
    if run.len() > 1 {
        out.push(run);
    }
    out
}

/// Red: two or more payments in force to the same payee, of the same amount, that list at
/// least one supporting document with the same SHA-256 (the same invoice or contract paid
/// twice), whatever funds they cite and whichever logs hold them. Yellow: payments by one log
/// to the same payee, in the same programme, of the same amount, with consecutive event dates
/// less than `duplicate_window_days` apart, unless all of them are already in one red group.
///
/// Citing the same fund is not enough for red: a household paid the same monthly subsidy
/// from one annual receipt is a recurring payment, not a duplicate.
pub(crate) fn duplicate_payment(view: &View<'_>, out: &mut Vec<Draft>) {
    let by_document = groups(payments(view).flat_map(|(i, p)| {
        // A payment listing one document twice is one payment, not two.
        let mut docs: Vec<&HexHash> = p.documents.iter().map(|d| &d.sha256).collect();
        docs.sort_unstable();
        docs.dedup();
        docs.into_iter()
            .map(move |doc| ((doc, Payee::of(&p.payee), p.amount), i))
    }));
    let mut red_group: HashMap<usize, usize> = HashMap::new();
    let mut seen: HashSet<&[usize]> = HashSet::new();
    for group in by_document.iter() {
        if group.len() < 2 || !seen.insert(group) {
            continue;
        }
        for &i in group {
            red_group.entry(i).or_insert(group[0]);
        }
        let rec = &view.recs[group[0]];
        let Body::Payment(p) = rec.body() else {
            continue;
        };
        out.push(
            view.draft(
                Rule::DuplicatePayment,
                Severity::Red,
                group,
                format!(
                    "{} payments of {} to the same payee list the same supporting document as {}.",
                    group.len(),
                    p.amount,
                    rec.state.rid
                ),
            )
            .amounts([p.amount])
            .dates(group.iter().map(|&i| view.recs[i].date())),
        );
    }
    let window = i64::from(view.params.duplicate_window_days);
    let similar = groups(view.payments.iter().map(|&i| {
        let r = &view.recs[i];
        ((r.log_pos, r.party, r.program_id, r.amount), i)
    }));
    for group in similar.iter() {
        if group.len() < 2 {
            continue;
        }
        for run in runs(view, group.to_vec(), window) {
            let first_red = red_group.get(&run[0]);
            if first_red.is_some() && run.iter().all(|i| red_group.get(i) == first_red) {
                continue;
            }
            let rec = &view.recs[run[0]];
            let Body::Payment(p) = rec.body() else {
                continue;
            };
            out.push(
                view.draft(
                    Rule::DuplicatePayment,
                    Severity::Yellow,
                    &run,
                    format!(
                        "{} payments of {} to the same payee in programme {} within {window} days of each other, starting with {}.",
                        run.len(),
                        p.amount,
                        rec.program(),
                        rec.state.rid
                    ),
                )
                .amounts([p.amount])
                .dates(run.iter().map(|&i| view.recs[i].date())),
            );
        }
    }
}

/// Red: payments in force to one household pseudonym, in one programme, calendar year and
/// currency, total more than the entitlement cap for that currency (no cap set: not judged).
pub(crate) fn entitlement_cap(view: &View<'_>, out: &mut Vec<Draft>) {
    let by_household = groups(view.payments.iter().filter_map(|&i| {
        let rec = &view.recs[i];
        let amount = rec.amount?;
        if !view.is_household(rec.party) {
            return None;
        }
        view.params.cap(amount.currency.code())?;
        Some((
            (
                rec.party,
                rec.program_id,
                rec.date().year(),
                amount.currency,
            ),
            (i, amount),
        ))
    }));
    for group in by_household.iter() {
        let currency = group[0].1;
        let Some(cap) = view.params.cap(currency.currency.code()) else {
            continue;
        };
        let total: u128 = group.iter().map(|(_, m)| u128::from(m.minor.0)).sum();
        if total <= u128::from(cap) {
            continue;
        }
        let subjects: Vec<usize> = group.iter().map(|&(i, _)| i).collect();
        let rec = &view.recs[subjects[0]];
        let cap = money(u128::from(cap), &currency);
        let total = money(total, &currency);
        out.push(
            view.draft(
                Rule::EntitlementCap,
                Severity::Red,
                &subjects,
                format!(
                    "One household received {total} from programme {} in {}, over the cap of {cap}, in {} payments.",
                    rec.program(),
                    rec.date().year(),
                    subjects.len()
                ),
            )
            .amounts([total, cap]),
        );
    }
}

/// Yellow: payments by one log to one payee, each "just under" the approval threshold (at
/// least `threshold × (100 − split_margin_percent) / 100` and below it), with consecutive
/// event dates less than `split_window_days` apart, that together reach the threshold.
pub(crate) fn split_payment(view: &View<'_>, out: &mut Vec<Draft>) {
    let margin = u128::from(view.params.split_margin_percent.min(100));
    let under = groups(view.payments.iter().filter_map(|&i| {
        let rec = &view.recs[i];
        let amount = rec.amount?;
        let threshold = u128::from(view.params.threshold(amount.currency.code())?);
        let minor = u128::from(amount.minor.0);
        let floor = threshold * (100 - margin) / 100;
        (minor < threshold && minor >= floor)
            .then_some(((rec.log_pos, rec.party, amount.currency), i))
    }));
    let window = i64::from(view.params.split_window_days);
    for group in under.iter() {
        if group.len() < 2 {
            continue;
        }
        for run in runs(view, group.to_vec(), window) {
            let Body::Payment(first) = view.recs[run[0]].body() else {
                continue;
            };
            let Some(threshold) = view.params.threshold(first.amount.currency.code()) else {
                continue;
            };
            let total: u128 = run
                .iter()
                .filter_map(|&i| view.recs[i].amount)
                .map(|m| u128::from(m.minor.0))
                .sum();
            if total < u128::from(threshold) {
                continue;
            }
            let total = money(total, &first.amount);
            let threshold = money(u128::from(threshold), &first.amount);
            out.push(
                view.draft(
                    Rule::SplitPayment,
                    Severity::Yellow,
                    &run,
                    format!(
                        "{} payments to one payee, each just under the approval threshold of {threshold}, total {total} within {window}-day gaps.",
                        run.len()
                    ),
                )
                .amounts([total, threshold])
                .dates(run.iter().map(|&i| view.recs[i].date())),
            );
        }
    }
}

/// Red `missing_signoff`: a payment in force at or above the approval threshold whose current
/// version carries no attestation (only operator signatures). Logs whose keys were not set
/// are not judged (roles unknown).
pub(crate) fn payment_signoff(view: &View<'_>, out: &mut Vec<Draft>) {
    for &i in &view.payments {
        let rec = &view.recs[i];
        let Some(amount) = rec.amount else { continue };
        let Some(threshold) = view.params.threshold(amount.currency.code()) else {
            continue;
        };
        if amount.minor.0 < threshold || view.attestations(i).is_none_or(|a| !a.is_empty()) {
            continue;
        }
        let threshold = money(u128::from(threshold), &amount);
        out.push(
            view.draft(
                Rule::MissingSignoff,
                Severity::Red,
                &[i],
                format!(
                    "Payment {} of {amount} is at or above the approval threshold of {threshold} but carries no attestation, only operator signatures.",
                    rec.state.rid
                ),
            )
            .amounts([amount, threshold]),
        );
    }
}
