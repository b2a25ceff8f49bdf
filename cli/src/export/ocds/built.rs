//! A release, or a process's compiled release, built up record by record: its parties (each
//! listed once, with every role it plays), planning, tender, awards and contracts, borrowing
//! from the records until it is serialized.

use std::borrow::Cow;
use std::collections::BTreeMap;

use daylight_verifier::record::{Body, Party, Payment, Project, ProjectStage, Replacement};

use super::shapes::{
    Amount, Award, Budget, Contract, Identifier, Implementation, Milestone, PartyOut, PartyRef,
    Planning, RefOut, Region, Release, Tender, Transaction, Values, When, documents,
};
use super::{contract_id, party_ocds_id};

/// What one release (or the compiled release) holds, built up record by record, borrowing
/// from the records.
pub(super) struct Built<'a> {
    /// By OCDS organization id.
    parties: BTreeMap<String, PartyOut<'a>>,
    /// The log (a valid member id: the reader checked it) whose release this is.
    buyer: &'a str,
    planning: Option<Planning<'a>>,
    tender: Option<Tender<'a>>,
    awards: Vec<Award<'a>>,
    /// By contract id.
    contracts: BTreeMap<String, Contract<'a>>,
}

impl<'a> Built<'a> {
    pub(super) fn new(log: &'a str) -> Built<'a> {
        let mut built = Built {
            parties: BTreeMap::new(),
            buyer: log,
            planning: None,
            tender: None,
            awards: Vec::new(),
            contracts: BTreeMap::new(),
        };
        built.buyer_as("buyer");
        built
    }

    /// The publisher as a party with `role`.
    fn buyer_as(&mut self, role: &'static str) -> PartyRef<'a> {
        let log = self.buyer;
        self.with_role(log.to_string(), role, || PartyOut {
            address: None,
            id: log.to_string(),
            identifier: None,
            name: Cow::Borrowed(log),
            roles: Vec::new(),
        })
    }

    fn party(&mut self, p: &'a Party, role: &'static str) -> PartyRef<'a> {
        let id = party_ocds_id(p);
        let (name, identifier, address) = match p {
            Party::Member(m) => (Cow::Borrowed(m.as_str()), None, None),
            Party::Org(o) => (
                Cow::Borrowed(o.name.as_str()),
                o.uscc.as_ref().map(|u| Identifier {
                    id: u.as_str(),
                    legal_name: o.name.as_str(),
                    scheme: "CN-SAIC",
                }),
                None,
            ),
            Party::Household(h) => (
                Cow::Owned(format!("household {}", &h.pseudonym.to_string()[..12])),
                None,
                Some(Region {
                    region: h.area.as_str(),
                }),
            ),
        };
        let reference = PartyRef {
            id: id.clone(),
            name: name.clone(),
        };
        self.with_role(id.clone(), role, || PartyOut {
            address,
            id,
            identifier,
            name,
            roles: Vec::new(),
        });
        reference
    }

    /// Gives the party `id` the role `role`, adding it (as `new` makes it) if it is not listed
    /// yet; the first listing of an id is the one kept.
    fn with_role(
        &mut self,
        id: String,
        role: &'static str,
        new: impl FnOnce() -> PartyOut<'a>,
    ) -> PartyRef<'a> {
        let party = self.parties.entry(id).or_insert_with(new);
        if !party.roles.contains(&role) {
            party.roles.push(role);
        }
        PartyRef {
            id: party.id.clone(),
            name: party.name.clone(),
        }
    }

    /// Adds a project record or payment; returns the release tag.
    pub(super) fn add(
        &mut self,
        c: &'a Replacement,
        rid: &'a str,
        award_id: &str,
        update: bool,
        cancel: bool,
    ) -> &'static str {
        match &c.body {
            Body::Project(p) => self.add_project(p, c, rid, award_id, update, cancel),
            Body::Payment(p) => {
                self.add_payment(p, c, rid, award_id, cancel);
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
        award_id: &str,
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
                self.contract(p.project.as_str(), award_id)
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
        award_id: &str,
        cancel: bool,
    ) {
        let payer = self.buyer_as("payer");
        let payee = self.party(&p.payee, "payee");
        let contract = contract_id(self.buyer, c);
        let contract = self.contract(&contract, award_id);
        if cancel {
            return;
        }
        contract.implementation.transactions.push(Transaction {
            date: When::Day(c.event_date),
            id: rid,
            payee,
            payer,
            source: p.funded_by.first().map(|f| RefOut(&f.reference)),
            value: Amount::of(&p.amount),
        });
    }

    fn contract(&mut self, id: &str, award_id: &str) -> &mut Contract<'a> {
        if !self.contracts.contains_key(id) {
            self.contracts.insert(
                id.to_string(),
                Contract {
                    award_id: award_id.to_string(),
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
                id: self.buyer.to_string(),
                name: Cow::Borrowed(self.buyer),
            },
            contracts: Values(&self.contracts),
            date,
            daylight,
            id,
            initiation_type: "tender",
            ocid,
            parties: Values(&self.parties),
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
