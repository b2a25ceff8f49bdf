//! Rules on funds: `over_commitment`, `transfer_not_received`, `idle_funds`.

use crate::record::{Body, Party, Severity};

use super::super::finding::Rule;
use super::super::view::View;
use super::{Draft, audited_kind, money};

/// Red: the funding parts citing a record (from allocations, receipts and payments in force,
/// in the record's currency) add up to more than its amount. Subjects: the fund, then every
/// record drawing on it. Amounts: the fund's amount, the total drawn.
pub(crate) fn over_commitment(view: &View<'_>, out: &mut Vec<Draft>) {
    for (i, rec) in view.recs.iter().enumerate() {
        let Some(amount) = rec.body().amount() else {
            continue;
        };
        let drawn = view.drawn(i);
        if drawn <= u128::from(amount.minor.0) {
            continue;
        }
        let mut subjects = vec![i];
        subjects.extend(view.draws[i].iter().map(|d| d.by));
        let total = money(drawn, amount);
        out.push(
            view.draft(
                Rule::OverCommitment,
                Severity::Red,
                &subjects,
                format!(
                    "{} records draw {total} from {} ({}), which holds only {amount}.",
                    view.draws[i].len(),
                    rec.state.rid,
                    rec.kind()
                ),
            )
            .amounts([*amount, total]),
        );
    }
}

/// An allocation in force to a member whose log is held, due `transfer_receipt_days` after
/// its event date, judged once the deadline has passed at `as_of`: no receipt citing it in
/// the payee's log → yellow, red once `as_of` is more than twice the period past the event;
/// only receipts dated after the deadline → yellow (received late). Allocations to members
/// whose log is not held are not judged.
pub(crate) fn transfer_not_received(view: &View<'_>, out: &mut Vec<Draft>) {
    let days = i64::from(view.params.transfer_receipt_days);
    for (i, rec) in view.recs.iter().enumerate() {
        let Body::Allocation(allocation) = rec.body() else {
            continue;
        };
        let Party::Member(payee) = &allocation.payee else {
            continue;
        };
        if !view.holds(payee) || payee == rec.log {
            continue;
        }
        let age = rec.date().days_until(&view.as_of);
        if age <= days {
            continue;
        }
        let receipts: Vec<usize> = view.draws[i]
            .iter()
            .map(|d| d.by)
            .filter(|&by| {
                view.recs[by].log == payee && view.recs[by].kind() == crate::record::Kind::Receipt
            })
            .collect();
        let on_time = receipts
            .iter()
            .any(|&r| rec.date().days_until(&view.recs[r].date()) <= days);
        if on_time {
            continue;
        }
        let (severity, summary) = if receipts.is_empty() {
            let severity = if age > 2 * days {
                Severity::Red
            } else {
                Severity::Yellow
            };
            (
                severity,
                format!(
                    "Allocation {} of {} to {payee} on {} has no receipt in {payee}'s log after {age} days (due within {days}).",
                    rec.state.rid,
                    allocation.amount,
                    rec.date()
                ),
            )
        } else {
            (
                Severity::Yellow,
                format!(
                    "Allocation {} of {} to {payee} on {} was received only after the {days}-day period.",
                    rec.state.rid,
                    allocation.amount,
                    rec.date()
                ),
            )
        };
        let mut subjects = vec![i];
        subjects.extend(&receipts);
        let mut dates = vec![rec.date()];
        dates.extend(receipts.iter().map(|&r| view.recs[r].date()));
        out.push(
            view.draft(Rule::TransferNotReceived, severity, &subjects, summary)
                .amounts([allocation.amount])
                .dates(dates),
        );
    }
}

/// A receipt in force, or an allocation in force to a payee that is not a member (funds
/// reserved for payments), with money not drawn by the records citing it: yellow once its
/// event date is more than `idle_days` before `as_of`, red beyond twice that. Amounts: the
/// fund, the amount idle.
pub(crate) fn idle_funds(view: &View<'_>, out: &mut Vec<Draft>) {
    let yellow = i64::from(view.params.idle_days);
    let red = 2 * yellow;
    for (i, rec) in view.recs.iter().enumerate() {
        let amount = match rec.body() {
            Body::Receipt(r) => &r.amount,
            Body::Allocation(a) if !matches!(a.payee, Party::Member(_)) => &a.amount,
            _ => continue,
        };
        if !audited_kind(rec.kind()) {
            continue;
        }
        let drawn = view.drawn(i);
        let Some(idle) = u128::from(amount.minor.0)
            .checked_sub(drawn)
            .filter(|&x| x > 0)
        else {
            continue;
        };
        let age = rec.date().days_until(&view.as_of);
        let severity = if age > red {
            Severity::Red
        } else if age > yellow {
            Severity::Yellow
        } else {
            continue;
        };
        let idle = money(idle, amount);
        out.push(
            view.draft(
                Rule::IdleFunds,
                severity,
                &[i],
                format!(
                    "{idle} of {amount} from {} {} ({}) is still not drawn after {age} days.",
                    rec.kind(),
                    rec.state.rid,
                    rec.date()
                ),
            )
            .amounts([*amount, idle])
            .dates([rec.date()]),
        );
    }
}
