//! A release, or a process's compiled release, built up record by record: its parties (each
//! listed once, with every role it plays), planning, tender, awards and contracts, borrowing
//! from the records until it is serialized.
//!
//! Parties and payments are kept as what they are made of and made into OCDS objects only when
//! written: a programme that paid 900,000 households has 900,000 of each in its compiled
//! release, and keeping them small keeps the export's memory (and the time spent taking new
//! memory from the kernel) small.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hash::BuildHasher as _;

use hashbrown::HashTable;

use daylight_verifier::record::{Body, Party, Payment, Project, ProjectStage, Replacement};
use serde::{Serialize, Serializer};

use super::shapes::{
    Amount, Award, Budget, Contract, Identifier, Implementation, Listing, Milestone, PartyId,
    PartyName, PartyOut, PartyRef, Planning, RefOut, Region, Release, Role, Roles, Tender,
    Transaction, When, documents,
};
use super::{party_id, write_contract_id};

/// Parties a release lists before they are found through an index instead of one by one.
const PARTIES_SCANNED: usize = 8;

/// The hasher of every party index: seeded at random once per process (party ids come from
/// the logs, so their hashes must not be predictable), not once per release, since most
/// releases never index their two or three parties.
static PARTY_HASHER: std::sync::LazyLock<foldhash::fast::RandomState> =
    std::sync::LazyLock::new(foldhash::fast::RandomState::default);

/// What one release (or the compiled release) holds, built up record by record, borrowing
/// from the records.
pub(super) struct Built<'a> {
    /// Each party once, in the order first met (the buyer first, at 0).
    parties: Vec<Listed<'a>>,
    /// Where each party is in `parties`, once there are more than [`PARTIES_SCANNED`]: each
    /// place filed under the hash of the id listed there (a place is 8 bytes; the id it
    /// stands for is in `parties` already).
    party_index: HashTable<usize>,
    /// The log (a valid member id: the reader checked it) whose release this is.
    buyer: &'a str,
    planning: Option<Planning<'a>>,
    tender: Option<Tender<'a>>,
    awards: Vec<Award<'a>>,
    /// By contract id.
    contracts: BTreeMap<String, Agreed<'a>>,
    /// Room to write a contract id in, kept between payments.
    contract_id: String,
    /// Whether payments are kept for contracts' transactions ([`Built::new`]), or left to
    /// the writer of a compiled release to find among the process's records
    /// ([`Built::compiling`]).
    lists_payments: bool,
}

/// A party as listed: its id, what it is (its OCDS object is made from this when written),
/// and its roles.
struct Listed<'a> {
    id: PartyId<'a>,
    who: Who<'a>,
    roles: Roles,
}

/// What a listed party is.
#[derive(Clone, Copy)]
enum Who<'a> {
    /// The publishing member: the log.
    Publisher(&'a str),
    /// A party named in a record.
    Named(&'a Party),
}

impl<'a> Who<'a> {
    fn name(self) -> PartyName<'a> {
        match self {
            Who::Publisher(log) => PartyName::Text(log),
            Who::Named(Party::Member(m)) => PartyName::Text(m.as_str()),
            Who::Named(Party::Org(o)) => PartyName::Text(o.name.as_str()),
            Who::Named(Party::Household(h)) => PartyName::Household(&h.pseudonym.0),
        }
    }
}

impl<'a> Listed<'a> {
    /// The party as `parties` lists it.
    fn out(&self) -> PartyOut<'a> {
        let (identifier, address) = match self.who {
            Who::Named(Party::Org(o)) => (
                o.uscc.as_ref().map(|u| Identifier {
                    id: u.as_str(),
                    legal_name: o.name.as_str(),
                    scheme: "CN-SAIC",
                }),
                None,
            ),
            Who::Named(Party::Household(h)) => (
                None,
                Some(Region {
                    region: h.area.as_str(),
                }),
            ),
            Who::Publisher(_) | Who::Named(Party::Member(_)) => (None, None),
        };
        PartyOut {
            address,
            id: self.id,
            identifier,
            name: self.who.name(),
            roles: self.roles,
        }
    }
}

/// A contract as built up (its id is its key in [`Built::contracts`]).
pub(super) struct Agreed<'a> {
    award_id: String,
    milestones: Vec<Milestone<'a>>,
    /// Its payments, in log order; each becomes a transaction when written.
    paid: Vec<Paid<'a>>,
}

/// A payment in a contract's transactions.
struct Paid<'a> {
    content: &'a Replacement,
    payment: &'a Payment,
    rid: &'a str,
    /// The payee's place in [`Built::parties`].
    payee: usize,
}

impl<'a> Built<'a> {
    pub(super) fn new(log: &'a str) -> Built<'a> {
        let mut built = Built {
            parties: Vec::new(),
            party_index: HashTable::new(),
            buyer: log,
            planning: None,
            tender: None,
            awards: Vec::new(),
            contracts: BTreeMap::new(),
            contract_id: String::new(),
            lists_payments: true,
        };
        built.buyer_as(Role::Buyer);
        built
    }

    /// A compiled release of `records` records of the process, room made for as many
    /// parties (a programme that paid 900,000 households lists 900,000; growing to that is
    /// copying). Its payments are not kept: the writer makes each into a transaction from the
    /// process's records, with [`Built::transaction`] and [`Built::party_ref`].
    pub(super) fn compiling(log: &'a str, records: usize) -> Built<'a> {
        let mut built = Built::new(log);
        built.lists_payments = false;
        built.parties.reserve(records);
        let (parties, hasher) = (&built.parties, &*PARTY_HASHER);
        built
            .party_index
            .reserve(records, |&at| hasher.hash_one(parties[at].id));
        built
    }

    /// The publisher as a party with `role`; returns its place in `parties`.
    fn buyer_as(&mut self, role: Role) -> usize {
        let log = self.buyer;
        self.with_role(PartyId::Member(log), Who::Publisher(log), role)
    }

    fn party(&mut self, p: &'a Party, role: Role) -> usize {
        self.with_role(party_id(p), Who::Named(p), role)
    }

    /// Gives the party `id` the role `role`, listing it as `who` if it is not listed yet (the
    /// first listing of an id is the one kept); returns its place in `parties`.
    fn with_role(&mut self, id: PartyId<'a>, who: Who<'a>, role: Role) -> usize {
        let at = match self.place_of(id) {
            Some(at) => at,
            None => {
                self.parties.push(Listed {
                    id,
                    who,
                    roles: Roles::default(),
                });
                let (parties, hasher) = (&self.parties, &*PARTY_HASHER);
                let rehash = |&at: &usize| hasher.hash_one(parties[at].id);
                if parties.len() > PARTIES_SCANNED {
                    if self.party_index.is_empty() {
                        // The list just outgrew scanning: index everything in it.
                        for (at, listed) in parties.iter().enumerate() {
                            let hash = hasher.hash_one(listed.id);
                            self.party_index.insert_unique(hash, at, rehash);
                        }
                    } else {
                        self.party_index.insert_unique(
                            hasher.hash_one(id),
                            parties.len() - 1,
                            rehash,
                        );
                    }
                }
                parties.len() - 1
            }
        };
        self.parties[at].roles.add(role);
        at
    }

    /// The reference to the party at `at` in `parties`.
    fn reference(&self, at: usize) -> PartyRef<'a> {
        let listed = &self.parties[at];
        PartyRef {
            id: listed.id,
            name: listed.who.name(),
        }
    }

    /// Adds a project record or payment; returns the release tag.
    pub(super) fn add(
        &mut self,
        c: &'a Replacement,
        rid: &'a str,
        award: Option<&str>,
        update: bool,
        cancel: bool,
    ) -> &'static str {
        match &c.body {
            Body::Project(p) => self.add_project(p, c, rid, award, cancel),
            Body::Payment(p) => self.add_payment(p, c, rid, award, cancel),
            _ => {}
        }
        release_tag(c, update, cancel)
    }

    fn add_project(
        &mut self,
        p: &'a Project,
        c: &'a Replacement,
        rid: &'a str,
        award: Option<&str>,
        cancel: bool,
    ) {
        let date = When::Day(c.event_date);
        let status = if cancel { "cancelled" } else { "active" };
        match p.stage {
            ProjectStage::Approved => {
                let description = match cancel {
                    true => Cow::Owned(format!("{} (withdrawn)", p.title)),
                    false => Cow::Borrowed(p.title.as_str()),
                };
                self.planning = Some(Planning {
                    budget: Budget {
                        amount: p.amount.as_ref().map(Amount::of),
                        description,
                        id: rid,
                        project: p.title.as_str(),
                        project_id: p.project.as_str(),
                    },
                    documents: documents(&p.documents),
                });
            }
            ProjectStage::Tendered => {
                self.tender = Some(Tender {
                    documents: documents(&p.documents),
                    id: p.project.as_str(),
                    status,
                    title: p.title.as_str(),
                    value: p.amount.as_ref().map(Amount::of),
                });
            }
            ProjectStage::Awarded => {
                let suppliers = p
                    .contractor
                    .as_ref()
                    .map(|contractor| [self.party(contractor, Role::Supplier)])
                    .map(|[at]| [self.reference(at)]);
                self.awards.push(Award {
                    date,
                    documents: documents(&p.documents),
                    id: rid,
                    status,
                    suppliers,
                    title: p.title.as_str(),
                    value: p.amount.as_ref().map(Amount::of),
                });
            }
            ProjectStage::Milestone | ProjectStage::Accepted => {
                let code = if p.stage == ProjectStage::Accepted {
                    "accepted"
                } else {
                    "milestone"
                };
                let milestone = Milestone {
                    code,
                    date_met: date,
                    documents: documents(&p.documents),
                    id: rid,
                    status: if cancel { "notMet" } else { "met" },
                    title: p.title.as_str(),
                    kind: "delivery",
                };
                self.contract(p.project.as_str(), award)
                    .milestones
                    .push(milestone);
            }
        }
    }

    fn add_payment(
        &mut self,
        p: &'a Payment,
        c: &'a Replacement,
        rid: &'a str,
        award: Option<&str>,
        cancel: bool,
    ) {
        self.buyer_as(Role::Payer);
        let payee = self.party(&p.payee, Role::Payee);
        // The contract's id is written into a buffer kept for it: most payments go to a
        // contract already listed, and need no id of their own.
        let mut id = std::mem::take(&mut self.contract_id);
        id.clear();
        write_contract_id(&mut id, self.buyer, c);
        let lists_payments = self.lists_payments;
        let contract = self.contract(&id, award);
        if !cancel && lists_payments {
            contract.paid.push(Paid {
                content: c,
                payment: p,
                rid,
                payee,
            });
        }
        self.contract_id = id;
    }

    /// The contract `id`, listed (with `award`, or its own id, as its award id) if it is not
    /// yet.
    fn contract(&mut self, id: &str, award: Option<&str>) -> &mut Agreed<'a> {
        if !self.contracts.contains_key(id) {
            self.contracts.insert(
                id.to_string(),
                Agreed {
                    award_id: award.unwrap_or(id).to_string(),
                    milestones: Vec::new(),
                    paid: Vec::new(),
                },
            );
        }
        self.contracts
            .get_mut(id)
            .unwrap_or_else(|| unreachable!("inserted just above"))
    }

    /// The release of what was added, ready to serialize.
    pub(super) fn release<'b, D>(
        &'b self,
        ocid: &'b str,
        id: String,
        date: When<'b>,
        tag: &'static str,
        daylight: D,
    ) -> Release<'b, 'a, D, PartiesOut<'b, 'a>, ContractsOut<'b, 'a>> {
        Release {
            awards: &self.awards,
            buyer: self.buyer(),
            contracts: ContractsOut(self),
            date,
            daylight,
            id,
            initiation_type: "tender",
            ocid,
            parties: PartiesOut(self),
            planning: self.planning.as_ref(),
            tag: [tag],
            tender: self.tender.as_ref(),
        }
    }

    /// The publishing member: the log whose release this is.
    pub(super) fn publisher(&self) -> &'a str {
        self.buyer
    }

    /// The release's `buyer`: the publisher.
    pub(super) fn buyer(&self) -> PartyRef<'a> {
        PartyRef {
            id: PartyId::Member(self.buyer),
            name: PartyName::Text(self.buyer),
        }
    }

    pub(super) fn awards(&self) -> &[Award<'a>] {
        &self.awards
    }

    pub(super) fn planning(&self) -> Option<&Planning<'a>> {
        self.planning.as_ref()
    }

    pub(super) fn tender(&self) -> Option<&Tender<'a>> {
        self.tender.as_ref()
    }

    /// The contracts, by id.
    pub(super) fn contracts(&self) -> impl Iterator<Item = (&str, &Agreed<'a>)> {
        self.contracts.iter().map(|(id, c)| (id.as_str(), c))
    }

    /// The parties listed, in order (each made into its OCDS object by [`Built::party_out`]).
    pub(super) fn party_count(&self) -> usize {
        self.parties.len()
    }

    /// The `n`th party as `parties` lists it.
    pub(super) fn party_out(&self, n: usize) -> PartyOut<'a> {
        self.parties[n].out()
    }

    /// A payment as a transaction: from the publisher (listed first) to `payee`.
    pub(super) fn transaction(
        &self,
        content: &'a Replacement,
        payment: &'a Payment,
        rid: &'a str,
        payee: PartyRef<'a>,
    ) -> Transaction<'a> {
        Transaction {
            date: When::Day(content.event_date),
            id: rid,
            payee,
            payer: self.reference(0),
            source: payment.funded_by.first().map(|f| RefOut(&f.reference)),
            value: Amount::of(&payment.amount),
        }
    }

    /// The reference to party `p` as first listed (its name as first met); as `p` names
    /// itself if it is not listed.
    pub(super) fn party_ref(&self, p: &'a Party) -> PartyRef<'a> {
        let id = party_id(p);
        match self.place_of(id) {
            Some(at) => self.reference(at),
            None => PartyRef {
                id,
                name: Who::Named(p).name(),
            },
        }
    }

    /// Where the party `id` is in `parties`.
    fn place_of(&self, id: PartyId<'a>) -> Option<usize> {
        let parties = &self.parties;
        // The publisher, listed first, is the payer of every payment.
        if parties.first().is_some_and(|p| p.id == id) {
            Some(0)
        } else if parties.len() <= PARTIES_SCANNED {
            parties.iter().position(|p| p.id == id)
        } else {
            let hash = PARTY_HASHER.hash_one(id);
            self.party_index
                .find(hash, |&at| parties[at].id == id)
                .copied()
        }
    }
}

impl<'a> Agreed<'a> {
    pub(super) fn award_id(&self) -> &str {
        &self.award_id
    }

    pub(super) fn milestones(&self) -> &[Milestone<'a>] {
        &self.milestones
    }

    /// Its payments, in log order (none in a compiled release: see [`Built::compiling`]).
    fn paid(&self) -> &[Paid<'a>] {
        &self.paid
    }
}

/// A release's `parties`, written out from the listing.
pub(super) struct PartiesOut<'b, 'a>(&'b Built<'a>);

impl Serialize for PartiesOut<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.parties.iter().map(Listed::out))
    }
}

/// A release's `contracts`, written out from what was agreed and paid.
pub(super) struct ContractsOut<'b, 'a>(&'b Built<'a>);

impl Listing for ContractsOut<'_, '_> {
    fn is_empty(&self) -> bool {
        self.0.contracts.is_empty()
    }
}

impl Serialize for ContractsOut<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let built = self.0;
        s.collect_seq(built.contracts().map(|(id, agreed)| Contract {
            award_id: agreed.award_id(),
            id,
            implementation: Implementation {
                milestones: agreed.milestones(),
                transactions: TransactionsOut(built, agreed.paid()),
            },
        }))
    }
}

/// A contract's `transactions`, written out from its payments.
struct TransactionsOut<'b, 'a>(&'b Built<'a>, &'b [Paid<'a>]);

impl Listing for TransactionsOut<'_, '_> {
    fn is_empty(&self) -> bool {
        self.1.is_empty()
    }
}

impl Serialize for TransactionsOut<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let built = self.0;
        s.collect_seq(self.1.iter().map(|paid| {
            let payee = built.reference(paid.payee);
            built.transaction(paid.content, paid.payment, paid.rid, payee)
        }))
    }
}

/// The tag of the release a project record or payment makes: `update` for a correction or
/// void, `cancel` for a void. Only the entry decides it, so it is the same wherever the
/// release is built.
fn release_tag(c: &Replacement, update: bool, cancel: bool) -> &'static str {
    // The three forms of a stage: [cancellation, update, first].
    let staged = |[cancellation, changed, first]: [&'static str; 3]| {
        if cancel {
            cancellation
        } else if update {
            changed
        } else {
            first
        }
    };
    match &c.body {
        Body::Project(p) => match p.stage {
            ProjectStage::Approved if update => "planningUpdate",
            ProjectStage::Approved => "planning",
            ProjectStage::Tendered => staged(["tenderCancellation", "tenderUpdate", "tender"]),
            ProjectStage::Awarded => staged(["awardCancellation", "awardUpdate", "award"]),
            ProjectStage::Milestone | ProjectStage::Accepted if update || cancel => {
                "implementationUpdate"
            }
            ProjectStage::Milestone | ProjectStage::Accepted => "implementation",
        },
        Body::Payment(_) if update => "implementationUpdate",
        Body::Payment(_) => "implementation",
        _ => "planningUpdate",
    }
}
