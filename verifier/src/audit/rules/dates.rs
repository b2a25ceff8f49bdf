//! Rules on dates: `future_dated` and `backdated`.

use crate::record::{Date, Severity};

use super::super::finding::Rule;
use super::super::ledger::Entry;
use super::super::view::View;
use super::{Draft, audited_kind};

/// Yellow: a record in force whose current event date is more than `max_future_days` after
/// `as_of`.
pub(crate) fn future_dated(view: &View<'_>, out: &mut Vec<Draft>) {
    let max = i64::from(view.params.max_future_days);
    for (i, rec) in view.recs.iter().enumerate() {
        if !audited_kind(rec.kind()) {
            continue;
        }
        let ahead = view.as_of.days_until(&rec.date());
        if ahead <= max {
            continue;
        }
        out.push(
            view.draft(
                Rule::FutureDated,
                Severity::Yellow,
                &[i],
                format!(
                    "{} {} is dated {}, {ahead} days after the audit date {}.",
                    rec.kind(),
                    rec.state.rid,
                    rec.date(),
                    view.as_of
                ),
            )
            .dates([rec.date(), view.as_of]),
        );
    }
}

/// Yellow: a record in force whose original entry's event date is more than
/// `max_backdate_days` before the latest event date of the valid factual entries logged
/// before it in the same log. No publication time exists in a log, so log order is the
/// clock. Corrections and voids restate old events and are not judged; findings and
/// rectifications neither.
pub(crate) fn backdated(view: &View<'_>, out: &mut Vec<Draft>) {
    let max = i64::from(view.params.max_backdate_days);
    for (member, log) in &view.ledger.logs {
        let mut latest: Option<Date> = None;
        for entry in &log.entries {
            let Entry::Valid {
                rid,
                kind,
                event_date,
                ..
            } = entry
            else {
                continue;
            };
            if !kind.is_factual() || !audited_kind(*kind) {
                continue;
            }
            if let Some(latest) = latest
                && event_date.days_until(&latest) > max
                && let Some(i) = view.find(member, rid.as_str())
            {
                let behind = event_date.days_until(&latest);
                out.push(
                    view.draft(
                        Rule::Backdated,
                        Severity::Yellow,
                        &[i],
                        format!(
                            "{kind} {rid} is dated {event_date}, {behind} days before records logged earlier (latest {latest})."
                        ),
                    )
                    .dates([*event_date, latest]),
                );
            }
            latest = latest.max(Some(*event_date));
        }
    }
}
