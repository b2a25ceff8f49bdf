//! The indexes one audit run builds over a [`Ledger`]: the current version of every record
//! still in force, by (log, rid), and what each fund is drawn by.
//!
//! Built in one linear pass per call of [`Ledger::audit`](super::Ledger::audit), with hash
//! maps for lookups and vectors in ledger order for iteration, so results never depend on
//! hash order. Invariant: `recs` holds each active factual record once, ordered by log then
//! rid; `draws[i]` lists the records citing `recs[i]`, in `recs` order.

use std::collections::HashMap;

use crate::hash::Hash;
use crate::record::{
    Body, Code, Date, HexHash, Ident, Kind, MemberId, Reference, RidState, Status,
};

use super::ledger::{Entry, Ledger};
use super::params::AuditParams;

/// One record in force, at its current version.
pub(crate) struct Rec<'a> {
    /// The log holding it.
    pub log: &'a MemberId,
    /// Its state (current content, versions).
    pub state: &'a RidState,
    /// The leaf of its current version.
    pub leaf: Hash,
    /// The log index of its original entry (log order is the clock).
    pub first_index: u64,
    /// Attestor roles on the entry that made the current version; `None` if the log's keys
    /// were unknown.
    pub attestations: Option<&'a [Code]>,
}

impl Rec<'_> {
    /// A reference pinning the current version.
    pub fn reference(&self) -> Reference {
        Reference {
            log: self.log.clone(),
            rid: self.state.rid.clone(),
            leaf: HexHash(self.leaf),
        }
    }

    /// The current event date.
    pub fn date(&self) -> Date {
        self.state.content.event_date
    }

    /// The current programme.
    pub fn program(&self) -> &Ident {
        &self.state.content.program
    }

    /// The current body.
    pub fn body(&self) -> &Body {
        &self.state.content.body
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        self.state.kind()
    }
}

/// How a reference resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// To the record in force at `recs[i]`.
    Found(usize),
    /// The log is not in the ledger: cannot be checked.
    LogNotHeld,
    /// The log is held but has no such rid.
    NoSuchRid,
    /// The rid exists but the leaf is not one of its versions.
    NotAVersion,
    /// The record was voided.
    Voided,
    /// The rid is a correction or void, not a record that holds money.
    NotFactual,
}

/// One record drawing on a fund.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Draw {
    /// The drawing record, in `recs`.
    pub by: usize,
    /// Minor units drawn (same currency as the fund).
    pub minor: u64,
}

/// The indexes of one audit run.
pub(crate) struct View<'a> {
    pub ledger: &'a Ledger,
    pub params: &'a AuditParams,
    pub as_of: Date,
    pub recs: Vec<Rec<'a>>,
    by_rid: HashMap<(&'a str, &'a str), usize>,
    pub draws: Vec<Vec<Draw>>,
}

impl<'a> View<'a> {
    pub fn new(ledger: &'a Ledger, params: &'a AuditParams, as_of: Date) -> View<'a> {
        let mut recs = Vec::new();
        for (member, log) in &ledger.logs {
            for state in log.state.iter() {
                if state.status != Status::Active || !state.kind().is_factual() {
                    continue;
                }
                let (Some(first), Some(current)) = (state.versions.first(), state.versions.last())
                else {
                    continue;
                };
                let attestations = match log.entries.get(current.index as usize) {
                    Some(Entry::Valid { attestations, .. }) => attestations.as_deref(),
                    _ => None,
                };
                recs.push(Rec {
                    log: member,
                    state,
                    leaf: current.leaf,
                    first_index: first.index,
                    attestations,
                });
            }
        }
        let by_rid = recs
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.log.as_str(), r.state.rid.as_str()), i))
            .collect();
        let mut view = View {
            ledger,
            params,
            as_of,
            draws: vec![Vec::new(); recs.len()],
            recs,
            by_rid,
        };
        for by in 0..view.recs.len() {
            let rec = &view.recs[by];
            if !matches!(rec.kind(), Kind::Allocation | Kind::Receipt | Kind::Payment) {
                continue;
            }
            for part in rec.body().funded_by() {
                if let Resolved::Found(source) = view.resolve(&part.reference)
                    && source != by
                    && view.recs[source]
                        .body()
                        .amount()
                        .is_some_and(|m| m.currency == part.amount.currency)
                {
                    view.draws[source].push(Draw {
                        by,
                        minor: part.amount.minor.0,
                    });
                }
            }
        }
        view
    }

    /// Resolves a reference against the ledger.
    pub fn resolve(&self, reference: &Reference) -> Resolved {
        let Some(log) = self.ledger.logs.get(&reference.log) else {
            return Resolved::LogNotHeld;
        };
        let Some(state) = log.state.get(&reference.rid) else {
            return Resolved::NoSuchRid;
        };
        if !state.versions.iter().any(|v| v.leaf == reference.leaf.0) {
            return Resolved::NotAVersion;
        }
        if !state.kind().is_factual() {
            return Resolved::NotFactual;
        }
        if state.status != Status::Active {
            return Resolved::Voided;
        }
        match self
            .by_rid
            .get(&(reference.log.as_str(), reference.rid.as_str()))
        {
            Some(&i) => Resolved::Found(i),
            None => Resolved::NoSuchRid,
        }
    }

    /// The record in force with this rid in this log, if any.
    pub fn find(&self, log: &MemberId, rid: &str) -> Option<usize> {
        self.by_rid.get(&(log.as_str(), rid)).copied()
    }

    /// Total minor units drawn from `recs[i]`.
    pub fn drawn(&self, i: usize) -> u128 {
        self.draws[i].iter().map(|d| u128::from(d.minor)).sum()
    }

    /// Whether `log` is in the ledger.
    pub fn holds(&self, log: &MemberId) -> bool {
        self.ledger.logs.contains_key(log)
    }
}
