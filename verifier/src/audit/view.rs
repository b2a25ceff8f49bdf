//! The indexes one audit run builds over a [`Ledger`]: the current version of every record
//! still in force, by (log, rid), and what each fund is drawn by.
//!
//! Built in one linear pass per call of [`Ledger::audit`](super::Ledger::audit), with hash
//! maps for lookups and vectors in ledger order for iteration, so results never depend on
//! hash order. Invariant: `recs` holds each active factual record once, ordered by log then
//! by first appearance in the log; `draws[i]` lists the records citing `recs[i]`, in `recs`
//! order; `payments` lists the positions in `recs` of the payments, in order.
//!
//! What the rules compare most (log, programme, payee, date, amount) is copied into each
//! [`Rec`] as small numbers when the view is built: the rules that group every payment then
//! hash and compare integers in one dense vector instead of following pointers into each
//! record's content, once per rule.

use foldhash::HashMap;

use crate::hash::Hash;
use crate::record::{
    Body, Code, Date, HexHash, Ident, Kind, MemberId, Money, Party, Reference, RidState, Status,
    Text, Uscc,
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
    /// The position of its log in ledger order.
    pub log_pos: u32,
    /// Its programme, as a number standing for the programme's identifier in this view.
    pub program_id: u32,
    /// For a payment its payee, for a household record its pseudonym, as a number standing
    /// for that [`Payee`] in this view; [`NO_PARTY`] for other kinds.
    pub party: u32,
    /// The current event date.
    pub date: Date,
    /// The current amount, for kinds that have one.
    pub amount: Option<Money>,
}

/// [`Rec::party`] of records that have none.
pub(crate) const NO_PARTY: u32 = u32::MAX;

/// Who is paid, as the rules compare payees: a household by pseudonym only (its commitment
/// differs on every payment), an organisation by credit code when it has one, else by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Payee<'a> {
    Member(&'a MemberId),
    OrgCode(&'a Uscc),
    OrgName(&'a Text),
    Household(&'a HexHash),
}

impl<'a> Payee<'a> {
    /// The payee of a payment to `party`.
    pub(crate) fn of(party: &'a Party) -> Payee<'a> {
        match party {
            Party::Member(m) => Payee::Member(m),
            Party::Org(o) => match &o.uscc {
                Some(code) => Payee::OrgCode(code),
                None => Payee::OrgName(&o.name),
            },
            Party::Household(h) => Payee::Household(&h.pseudonym),
        }
    }
}

/// Numbers standing for values, in first-seen order.
struct Interner<K>(HashMap<K, u32>);

impl<K: std::hash::Hash + Eq> Interner<K> {
    fn id(&mut self, key: K) -> u32 {
        let next = self.0.len() as u32;
        *self.0.entry(key).or_insert(next)
    }
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
        self.date
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
    /// Positions in `recs` of the payments.
    pub payments: Vec<usize>,
    /// By [`Rec::party`]: whether that party is a household.
    households: Vec<bool>,
    by_rid: HashMap<(&'a str, &'a str), usize>,
    pub draws: Vec<Vec<Draw>>,
}

impl<'a> View<'a> {
    pub fn new(ledger: &'a Ledger, params: &'a AuditParams, as_of: Date) -> View<'a> {
        let mut recs = Vec::with_capacity(ledger.logs.values().map(|l| l.state.len()).sum());
        let mut programs: Interner<&Ident> = Interner(HashMap::default());
        let mut parties: Interner<Payee<'_>> = Interner(HashMap::default());
        let mut households = Vec::new();
        for (log_pos, (member, log)) in ledger.logs.iter().enumerate() {
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
                let content = &state.content;
                let party = match &content.body {
                    Body::Payment(p) => Some(Payee::of(&p.payee)),
                    Body::Household(h) => Some(Payee::Household(&h.pseudonym)),
                    _ => None,
                };
                let party = party.map_or(NO_PARTY, |payee| {
                    let id = parties.id(payee);
                    if id as usize == households.len() {
                        households.push(matches!(payee, Payee::Household(_)));
                    }
                    id
                });
                recs.push(Rec {
                    log: member,
                    state,
                    leaf: current.leaf,
                    first_index: first.index,
                    attestations,
                    log_pos: log_pos as u32,
                    program_id: programs.id(&content.program),
                    party,
                    date: content.event_date,
                    amount: content.body.amount().copied(),
                });
            }
        }
        let by_rid = recs
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.log.as_str(), r.state.rid.as_str()), i))
            .collect();
        let payments = (0..recs.len())
            .filter(|&i| recs[i].kind() == Kind::Payment)
            .collect();
        let mut view = View {
            ledger,
            params,
            as_of,
            draws: vec![Vec::new(); recs.len()],
            recs,
            payments,
            households,
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
        // Nearly every reference names a record in force: one hash lookup settles it.
        if let Some(&i) = self
            .by_rid
            .get(&(reference.log.as_str(), reference.rid.as_str()))
            && self.recs[i]
                .state
                .versions
                .iter()
                .any(|v| v.leaf == reference.leaf.0)
        {
            return Resolved::Found(i);
        }
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

    /// Whether `party` (a [`Rec::party`]) is a household.
    pub fn is_household(&self, party: u32) -> bool {
        self.households
            .get(party as usize)
            .copied()
            .unwrap_or(false)
    }

    /// Whether `log` is in the ledger.
    pub fn holds(&self, log: &MemberId) -> bool {
        self.ledger.logs.contains_key(log)
    }
}
