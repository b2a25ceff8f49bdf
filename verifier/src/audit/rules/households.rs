//! Rules on households: `short_notice`, the sign-off of household decisions
//! (`missing_signoff`), and `household_not_enrolled`.

use foldhash::{HashMap, HashMapExt};

use crate::record::{Body, HouseholdStatus, Kind, Severity};

use super::super::finding::Rule;
use super::super::view::View;
use super::Draft;

/// Red: a household record in force (enrolled, exited or re-enrolled) whose public notice,
/// both ends included, is shorter than `min_notice_days`.
pub(crate) fn short_notice(view: &View<'_>, out: &mut Vec<Draft>) {
    let min = i64::from(view.params.min_notice_days);
    for (i, rec) in view.recs.iter().enumerate() {
        let Body::Household(h) = rec.body() else {
            continue;
        };
        let days = h.notice.days();
        if days >= min {
            continue;
        }
        out.push(
            view.draft(
                Rule::ShortNotice,
                Severity::Red,
                &[i],
                format!(
                    "Household record {} ({}) followed a public notice of {days} days, from {} to {}; at least {min} are required.",
                    rec.state.rid,
                    status(h.status),
                    h.notice.start,
                    h.notice.end
                ),
            )
            .dates([h.notice.start, h.notice.end]),
        );
    }
}

fn status(s: HouseholdStatus) -> &'static str {
    match s {
        HouseholdStatus::Enrolled => "enrolled",
        HouseholdStatus::Exited => "exited",
        HouseholdStatus::Reenrolled => "re-enrolled",
    }
}

/// Red `missing_signoff`: a household record in force whose current version carries no
/// attestation (village committee, township...), only operator signatures. Logs whose keys
/// were not set are not judged.
pub(crate) fn household_signoff(view: &View<'_>, out: &mut Vec<Draft>) {
    for (i, rec) in view.recs.iter().enumerate() {
        let Body::Household(h) = rec.body() else {
            continue;
        };
        if view.attestations(i).is_none_or(|a| !a.is_empty()) {
            continue;
        }
        out.push(view.draft(
            Rule::MissingSignoff,
            Severity::Red,
            &[i],
            format!(
                "Household record {} ({}) carries no attestation, only operator signatures: the decision has no sign-off.",
                rec.state.rid,
                status(h.status)
            ),
        ));
    }
}

/// Red: a payment in force to a household whose status in the same log and programme, as of
/// the payment's event date (household records dated the same day or earlier, latest date
/// then log order wins), is absent (never enrolled) or `exited`.
pub(crate) fn household_not_enrolled(view: &View<'_>, out: &mut Vec<Draft>) {
    // (log, programme, pseudonym) → household records, sorted by (date, log order).
    let mut history: HashMap<(u32, u32, u32), Vec<usize>> = HashMap::new();
    for (i, rec) in view.recs.iter().enumerate() {
        if rec.kind() == Kind::Household {
            history
                .entry((rec.log_pos, rec.program_id, rec.party))
                .or_default()
                .push(i);
        }
    }
    for list in history.values_mut() {
        // Within a log, `recs` order is first-index order (the view's invariant).
        list.sort_by_key(|&i| (view.recs[i].date(), i));
    }
    for &i in &view.payments {
        let rec = &view.recs[i];
        if !view.is_household(rec.party) {
            continue;
        }
        let list = history
            .get(&(rec.log_pos, rec.program_id, rec.party))
            .map_or(&[][..], Vec::as_slice);
        let before = list.partition_point(|&h| view.recs[h].date() <= rec.date());
        let last = before.checked_sub(1).map(|k| list[k]);
        let last_exited = last.is_some_and(|h| {
            matches!(view.recs[h].body(), Body::Household(hh) if hh.status == HouseholdStatus::Exited)
        });
        if last.is_some() && !last_exited {
            continue;
        }
        let Body::Payment(p) = rec.body() else {
            continue;
        };
        let summary = match last.map(|h| (h, view.recs[h].body())) {
            None => format!(
                "Payment {} of {} on {} is to a household never enrolled in programme {} before that date.",
                rec.state.rid,
                p.amount,
                rec.date(),
                rec.program()
            ),
            Some((h, Body::Household(hh))) if hh.status == HouseholdStatus::Exited => format!(
                "Payment {} of {} on {} is to a household that exited programme {} on {} ({}).",
                rec.state.rid,
                p.amount,
                rec.date(),
                rec.program(),
                view.recs[h].date(),
                view.recs[h].state.rid
            ),
            Some(_) => continue,
        };
        let mut subjects = vec![i];
        subjects.extend(last);
        out.push(
            view.draft(
                Rule::HouseholdNotEnrolled,
                Severity::Red,
                &subjects,
                summary,
            )
            .amounts([p.amount])
            .dates(subjects.iter().map(|&s| view.recs[s].date())),
        );
    }
}
