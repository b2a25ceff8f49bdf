//! The indexes one audit run builds over a [`Ledger`]: the current version of every record
//! still in force, by (log, rid), and what each fund is drawn by.
//!
//! Built in one linear pass per call of [`Ledger::audit`](super::Ledger::audit), with hash
//! maps for lookups and vectors in ledger order for iteration, so results never depend on
//! hash order. Invariant: `recs` holds each active factual record once, ordered by log then
//! by first appearance in the log (so, within a log, `recs` order is the order of the records'
//! first indexes); `in_force[l][p]` is the place in `recs` of the state at position `p` of
//! log `l`, or [`NOT_IN_FORCE`]; `draws[i]` lists the records citing `recs[i]`, in `recs`
//! order; `payments` lists the positions in `recs` of the payments, in order.
//!
//! A view of a million records is rebuilt on every audit, so each record's row is kept small
//! (64 bytes): what is rarely read (its leaf, first index, attestations) is looked up through
//! its state when needed, and records are found through the hash index each log's state
//! already has instead of a second map keyed by strings.
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

use super::ledger::{Entry, Ledger, Log};
use super::parallel::map_in_order;
use super::params::AuditParams;

/// One record in force, at its current version.
pub(crate) struct Rec<'a> {
    /// The log holding it.
    pub log: &'a MemberId,
    /// Its state (current content, versions).
    pub state: &'a RidState,
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

/// Numbers standing for values, in first-seen order: `0[n]` is the value numbered `n`.
struct Interner<K>(Vec<K>, HashMap<K, u32>);

impl<K> Default for Interner<K> {
    fn default() -> Self {
        Interner(Vec::new(), HashMap::default())
    }
}

impl<K: std::hash::Hash + Eq + Copy> Interner<K> {
    fn id(&mut self, key: K) -> u32 {
        let next = self.0.len() as u32;
        let id = *self.1.entry(key).or_insert(next);
        if id == next {
            self.0.push(key);
        }
        id
    }
}

/// Records handed out per unit of work when resolving funding references.
const DRAW_CHUNK: usize = 16 * 1024;

/// One log's records in force, built on a thread of its own; programme and party numbers
/// are the log's own until [`View::new`] renumbers them.
struct LogPart<'a> {
    recs: Vec<Rec<'a>>,
    /// By state position: the place in this part's `recs`, or [`NOT_IN_FORCE`].
    places: Vec<u32>,
    programs: Interner<&'a Ident>,
    parties: Interner<Payee<'a>>,
}

impl<'a> LogPart<'a> {
    fn new(log_pos: u32, member: &'a MemberId, log: &'a Log) -> LogPart<'a> {
        let mut part = LogPart {
            recs: Vec::with_capacity(log.state.len()),
            places: Vec::with_capacity(log.state.len()),
            programs: Interner::default(),
            parties: Interner::default(),
        };
        for state in log.state.iter() {
            let in_force = state.status == Status::Active
                && state.kind().is_factual()
                && !state.versions.is_empty();
            if !in_force {
                part.places.push(NOT_IN_FORCE);
                continue;
            }
            part.places.push(part.recs.len() as u32);
            let content = &state.content;
            let party = match &content.body {
                Body::Payment(p) => Some(Payee::of(&p.payee)),
                Body::Household(h) => Some(Payee::Household(&h.pseudonym)),
                _ => None,
            };
            part.recs.push(Rec {
                log: member,
                state,
                log_pos,
                program_id: part.programs.id(&content.program),
                party: party.map_or(NO_PARTY, |payee| part.parties.id(payee)),
                date: content.event_date,
                amount: content.body.amount().copied(),
            });
        }
        part
    }
}

impl Rec<'_> {
    /// A reference pinning the current version.
    pub fn reference(&self) -> Reference {
        Reference {
            log: self.log.clone(),
            rid: self.state.rid.clone(),
            leaf: HexHash(self.leaf()),
        }
    }

    /// The leaf of its current version.
    pub fn leaf(&self) -> Hash {
        self.state.current_leaf()
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

/// [`View::in_force`] of a state that is not in `recs` (voided, a correction or void).
const NOT_IN_FORCE: u32 = u32::MAX;

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
    /// The logs, by [`Rec::log_pos`].
    logs: Vec<&'a Log>,
    /// Log id → its position in `logs`.
    log_pos: HashMap<&'a str, u32>,
    /// By log position, then by state position: the place in `recs`, or [`NOT_IN_FORCE`].
    in_force: Vec<Vec<u32>>,
    pub draws: Vec<Vec<Draw>>,
}

impl<'a> View<'a> {
    pub fn new(ledger: &'a Ledger, params: &'a AuditParams, as_of: Date) -> View<'a> {
        let logs: Vec<(usize, (&MemberId, &Log))> = ledger.logs.iter().enumerate().collect();
        let parts = map_in_order(logs, |(log_pos, (member, log))| {
            LogPart::new(log_pos as u32, member, log)
        });
        // Renumber each log's programmes and parties into view-wide numbers, logs in order,
        // which gives the numbers one pass over all the logs would have given.
        let mut recs = Vec::with_capacity(parts.iter().map(|p| p.recs.len()).sum());
        let mut programs: Interner<&Ident> = Interner::default();
        let mut parties: Interner<Payee<'_>> = Interner::default();
        let mut households = Vec::new();
        let mut in_force = Vec::with_capacity(parts.len());
        for part in parts {
            let program_ids: Vec<u32> = part.programs.0.iter().map(|p| programs.id(p)).collect();
            let party_ids: Vec<u32> = (part.parties.0.iter())
                .map(|&payee| {
                    let id = parties.id(payee);
                    if id as usize == households.len() {
                        households.push(matches!(payee, Payee::Household(_)));
                    }
                    id
                })
                .collect();
            let offset = recs.len() as u32;
            recs.extend(part.recs.into_iter().map(|mut rec| {
                rec.program_id = program_ids[rec.program_id as usize];
                if rec.party != NO_PARTY {
                    rec.party = party_ids[rec.party as usize];
                }
                rec
            }));
            let mut places = part.places;
            for place in places.iter_mut().filter(|p| **p != NOT_IN_FORCE) {
                *place += offset;
            }
            in_force.push(places);
        }
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
            logs: ledger.logs.values().collect(),
            log_pos: (ledger.logs.keys().enumerate())
                .map(|(pos, id)| (id.as_str(), pos as u32))
                .collect(),
            in_force,
        };
        // Resolving the funding references is the costly part: do it on all cores, then
        // file the draws in `recs` order.
        let chunks: Vec<std::ops::Range<usize>> = (0..view.recs.len())
            .step_by(DRAW_CHUNK)
            .map(|start| start..view.recs.len().min(start + DRAW_CHUNK))
            .collect();
        let found = map_in_order(chunks, |range| {
            range
                .flat_map(|by| {
                    view.draws_of(by)
                        .map(move |(source, minor)| (source, Draw { by, minor }))
                })
                .collect::<Vec<_>>()
        });
        for (source, draw) in found.into_iter().flatten() {
            view.draws[source].push(draw);
        }
        view
    }

    /// The funds `recs[by]` draws on, with the minor units drawn from each: funding parts
    /// that resolve to another record in force of the same currency.
    fn draws_of(&self, by: usize) -> impl Iterator<Item = (usize, u64)> + '_ {
        let rec = &self.recs[by];
        let parts = match rec.kind() {
            Kind::Allocation | Kind::Receipt | Kind::Payment => rec.body().funded_by(),
            _ => &[],
        };
        parts
            .iter()
            .filter_map(move |part| match self.resolve(&part.reference) {
                Resolved::Found(source)
                    if source != by
                        && self.recs[source]
                            .body()
                            .amount()
                            .is_some_and(|m| m.currency == part.amount.currency) =>
                {
                    Some((source, part.amount.minor.0))
                }
                _ => None,
            })
    }

    /// Resolves a reference against the ledger.
    pub fn resolve(&self, reference: &Reference) -> Resolved {
        let Some((log, position)) = self.locate(&reference.log, reference.rid.as_str()) else {
            return match self.log_pos.contains_key(reference.log.as_str()) {
                true => Resolved::NoSuchRid,
                false => Resolved::LogNotHeld,
            };
        };
        let Some(state) = self.logs[log].state.at(position) else {
            return Resolved::NoSuchRid;
        };
        if !state.versions.iter().any(|v| v.leaf == reference.leaf.0) {
            return Resolved::NotAVersion;
        }
        match self.in_force[log][position] {
            NOT_IN_FORCE if !state.kind().is_factual() => Resolved::NotFactual,
            NOT_IN_FORCE if state.status != Status::Active => Resolved::Voided,
            NOT_IN_FORCE => Resolved::NoSuchRid,
            i => Resolved::Found(i as usize),
        }
    }

    /// The record in force with this rid in this log, if any.
    pub fn find(&self, log: &MemberId, rid: &str) -> Option<usize> {
        let (log, position) = self.locate(log, rid)?;
        match self.in_force[log][position] {
            NOT_IN_FORCE => None,
            i => Some(i as usize),
        }
    }

    /// The log position and state position of `rid` in `log`, if both are known.
    fn locate(&self, log: &MemberId, rid: &str) -> Option<(usize, usize)> {
        let log = *self.log_pos.get(log.as_str())? as usize;
        Some((log, self.logs[log].state.position(rid)?))
    }

    /// The attestor roles on the entry that made `recs[i]` current; `None` if its log's
    /// keys were unknown, so sign-offs cannot be judged.
    pub fn attestations(&self, i: usize) -> Option<&'a [Code]> {
        let rec = &self.recs[i];
        let current = rec.state.versions.last()?;
        match self.logs[rec.log_pos as usize]
            .entries
            .get(current.index as usize)
        {
            Some(Entry::Valid { attestations, .. }) => attestations.as_deref(),
            _ => None,
        }
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
