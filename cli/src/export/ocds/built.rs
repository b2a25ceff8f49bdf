//! A release, or a process's compiled release, built up record by record: its parties (each
//! listed once, with every role it plays), planning, tender, awards and contracts, borrowing
//! from the records until it is serialized.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use daylight_verifier::record::{Body, Party, Payment, Project, ProjectStage, Replacement};

use super::shapes::{
    Amount, Award, Budget, Contract, Identifier, Implementation, Milestone, PartyId, PartyName,
    PartyOut, PartyRef, Planning, RefOut, Region, Release, Roles, Tender, Transaction, Values,
    When, documents,
};
use super::{party_id, write_contract_id};

/// Parties a release lists before they are found through an index instead of one by one.
const PARTIES_SCANNED: usize = 8;

/// What one release (or the compiled release) holds, built up record by record, borrowing
/// from the records.
pub(super) struct Built<'a> {
    /// Each party once, in the order first met (the buyer first).
    parties: Vec<PartyOut<'a>>,
    /// Where each party is in `parties`, once there are more than [`PARTIES_SCANNED`].
    party_index: HashMap<PartyId<'a>, usize>,
    /// The log (a valid member id: the reader checked it) whose release this is.
    buyer: &'a str,
    planning: Option<Planning<'a>>,
    tender: Option<Tender<'a>>,
    awards: Vec<Award<'a>>,
    /// By contract id.
    contracts: BTreeMap<String, Contract<'a>>,
    /// Room to write a contract id in, kept between payments.
    contract_id: String,
}

impl<'a> Built<'a> {
    pub(super) fn new(log: &'a str) -> Built<'a> {
        let mut built = Built {
            parties: Vec::new(),
            party_index: HashMap::new(),
            buyer: log,
            planning: None,
            tender: None,
            awards: Vec::new(),
            contracts: BTreeMap::new(),
            contract_id: String::new(),
        };
        built.buyer_as("buyer");
        built
    }

    /// Makes room for the parties of `records` records (a compiled release of a programme
    /// that paid 900,000 households lists 900,000 parties; growing to that is copying).
    pub(super) fn reserve(&mut self, records: usize) {
        self.parties.reserve(records);
        self.party_index.reserve(records);
    }

    /// The publisher as a party with `role`.
    fn buyer_as(&mut self, role: &'static str) -> PartyRef<'a> {
        let log = self.buyer;
        self.with_role(PartyId::Member(log), role, || PartyOut {
            address: None,
            id: PartyId::Member(log),
            identifier: None,
            name: PartyName::Text(log),
            roles: Roles::default(),
        })
    }

    fn party(&mut self, p: &'a Party, role: &'static str) -> PartyRef<'a> {
        let id = party_id(p);
        self.with_role(id, role, || {
            let (name, identifier, address) = match p {
                Party::Member(m) => (PartyName::Text(m.as_str()), None, None),
                Party::Org(o) => (
                    PartyName::Text(o.name.as_str()),
                    o.uscc.as_ref().map(|u| Identifier {
                        id: u.as_str(),
                        legal_name: o.name.as_str(),
                        scheme: "CN-SAIC",
                    }),
                    None,
                ),
                Party::Household(h) => (
                    PartyName::Household(&h.pseudonym.0),
                    None,
                    Some(Region {
                        region: h.area.as_str(),
                    }),
                ),
            };
            PartyOut {
                address,
                id,
                identifier,
                name,
                roles: Roles::default(),
            }
        })
    }

    /// Gives the party `id` the role `role`, adding it (as `new` makes it) if it is not listed
    /// yet; the first listing of an id is the one kept.
    fn with_role(
        &mut self,
        id: PartyId<'a>,
        role: &'static str,
        new: impl FnOnce() -> PartyOut<'a>,
    ) -> PartyRef<'a> {
        let found = if self.parties.len() <= PARTIES_SCANNED {
            self.parties.iter().position(|p| p.id == id)
        } else {
            self.party_index.get(&id).copied()
        };
        let at = match found {
            Some(at) => at,
            None => {
                self.parties.push(new());
                let at = self.parties.len() - 1;
                if self.parties.len() > PARTIES_SCANNED {
                    if self.party_index.is_empty() {
                        // The list just outgrew scanning: index everything in it.
                        let ids = self.parties.iter().enumerate().map(|(n, p)| (p.id, n));
                        self.party_index.extend(ids);
                    } else {
                        self.party_index.insert(id, at);
                    }
                }
                at
            }
        };
        let party = &mut self.parties[at];
        party.roles.add(role);
        PartyRef {
            id: party.id,
            name: party.name,
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
            Body::Project(p) => self.add_project(p, c, rid, award, update, cancel),
            Body::Payment(p) => {
                self.add_payment(p, c, rid, award, cancel);
                if update {
                    "implementationUpdate"
                } else {
                    "implementation"
                }
            }
            _ => "planningUpdate",
        }
    }

    pub(super) fn add_project(
        &mut self,
        p: &'a Project,
        c: &'a Replacement,
        rid: &'a str,
        award: Option<&str>,
        update: bool,
        cancel: bool,
    ) -> &'static str {
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
                if update { "planningUpdate" } else { "planning" }
            }
            ProjectStage::Tendered => {
                self.tender = Some(Tender {
                    documents: documents(&p.documents),
                    id: p.project.as_str(),
                    status,
                    title: p.title.as_str(),
                    value: p.amount.as_ref().map(Amount::of),
                });
                tag(
                    cancel,
                    update,
                    ["tenderCancellation", "tenderUpdate", "tender"],
                )
            }
            ProjectStage::Awarded => {
                let suppliers = p
                    .contractor
                    .as_ref()
                    .map(|contractor| [self.party(contractor, "supplier")]);
                self.awards.push(Award {
                    date,
                    documents: documents(&p.documents),
                    id: rid,
                    status,
                    suppliers,
                    title: p.title.as_str(),
                    value: p.amount.as_ref().map(Amount::of),
                });
                tag(
                    cancel,
                    update,
                    ["awardCancellation", "awardUpdate", "award"],
                )
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
                    .implementation
                    .milestones
                    .push(milestone);
                if update || cancel {
                    "implementationUpdate"
                } else {
                    "implementation"
                }
            }
        }
    }

    pub(super) fn add_payment(
        &mut self,
        p: &'a Payment,
        c: &'a Replacement,
        rid: &'a str,
        award: Option<&str>,
        cancel: bool,
    ) {
        let payer = self.buyer_as("payer");
        let payee = self.party(&p.payee, "payee");
        let transaction = (!cancel).then(|| Transaction {
            date: When::Day(c.event_date),
            id: rid,
            payee,
            payer,
            source: p.funded_by.first().map(|f| RefOut(&f.reference)),
            value: Amount::of(&p.amount),
        });
        // The contract's id is written into a buffer kept for it: most payments go to a
        // contract already listed, and need no id of their own.
        let mut id = std::mem::take(&mut self.contract_id);
        id.clear();
        write_contract_id(&mut id, self.buyer, c);
        let contract = self.contract(&id, award);
        if let Some(transaction) = transaction {
            contract.implementation.transactions.push(transaction);
        }
        self.contract_id = id;
    }

    /// The contract `id`, listed (with `award`, or its own id, as its award id) if it is not
    /// yet.
    fn contract(&mut self, id: &str, award: Option<&str>) -> &mut Contract<'a> {
        if !self.contracts.contains_key(id) {
            self.contracts.insert(
                id.to_string(),
                Contract {
                    award_id: award.unwrap_or(id).to_string(),
                    id: id.to_string(),
                    implementation: Implementation::default(),
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
    ) -> Release<'b, 'a, D> {
        Release {
            awards: &self.awards,
            buyer: PartyRef {
                id: PartyId::Member(self.buyer),
                name: PartyName::Text(self.buyer),
            },
            contracts: Values(&self.contracts),
            date,
            daylight,
            id,
            initiation_type: "tender",
            ocid,
            parties: &self.parties,
            planning: self.planning.as_ref(),
            tag: [tag],
            tender: self.tender.as_ref(),
        }
    }
}

/// A release's tag for a stage, from its three forms `[cancellation, update, first]`: what a
/// void, a correction and the record itself say about it.
fn tag(
    cancel: bool,
    update: bool,
    [cancellation, changed, first]: [&'static str; 3],
) -> &'static str {
    if cancel {
        cancellation
    } else if update {
        changed
    } else {
        first
    }
}
