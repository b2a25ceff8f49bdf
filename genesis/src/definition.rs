//! A validated, immutable network definition and what the node and CLI derive from it.

use daylight_verifier::key::VerifierKey;
use daylight_verifier::policy::LogPolicy;
use daylight_verifier::record::{AcceptedKeys, Code, Revocation};

use crate::audit::AuditParams;
use crate::builder::GenesisBuilder;
use crate::error::GenesisError;
use crate::member::{Attestor, Member};
use crate::names;

/// A network definition that follows every rule of `docs/genesis.md`.
///
/// Only obtainable through validation ([`GenesisBuilder::build`] or parsing a signed genesis),
/// and immutable after, so holding one means the rules hold. Members are sorted by id, and
/// sets (founders, witnesses, operator and attestor keys) are sorted as in the canonical text.
/// It says nothing about signatures: see [`crate::Genesis`] for a definition the founders signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    draft: GenesisBuilder,
}

impl Definition {
    /// Validates a draft; on success the definition holds it in canonical order.
    pub fn new(mut draft: GenesisBuilder) -> Result<Definition, GenesisError> {
        crate::validate::validate(&draft)?;
        draft.members.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(founders) = &mut draft.founders {
            founders.sort();
        }
        for m in &mut draft.members {
            if let Some(witnesses) = &mut m.witnesses {
                witnesses.sort();
            }
            m.operators.sort_by_key(|k| k.to_string());
            m.attestors
                .sort_by_key(|a| (a.role.clone(), a.key.to_string()));
        }
        Ok(Definition { draft })
    }

    /// The canonical definition text (what founders sign).
    pub fn to_text(&self) -> String {
        self.draft.to_text()
    }

    /// A copy of the definition as a draft, to prepare a new network from this one.
    pub fn to_builder(&self) -> GenesisBuilder {
        self.draft.clone()
    }

    /// The network name, e.g. `demo.daylight`.
    pub fn network(&self) -> &str {
        &self.draft.network
    }

    /// The version number: 1 for the first version of a network.
    pub fn sequence(&self) -> u64 {
        self.draft.sequence
    }

    /// The id of the version before this one; `None` for version 1.
    pub fn previous(&self) -> Option<&str> {
        self.draft.previous.as_deref()
    }

    /// How many of this version's founders must sign the next version: `founder_threshold`
    /// if set, else a majority (⌊n/2⌋ + 1 of the n founders).
    pub fn founder_threshold(&self) -> usize {
        self.draft
            .founder_threshold
            .unwrap_or_else(|| self.founders().len() / 2 + 1)
    }

    /// The members that are not retired, sorted by id.
    pub fn active_members(&self) -> impl Iterator<Item = &Member> {
        self.draft.members.iter().filter(|m| !m.is_retired())
    }

    /// How many witness cosignatures a citizen requires on a checkpoint of any log.
    pub fn quorum(&self) -> usize {
        self.draft.quorum
    }

    /// The audit parameters of DESIGN §8.
    pub fn audit(&self) -> &AuditParams {
        &self.draft.audit
    }

    /// All members, sorted by id.
    pub fn members(&self) -> &[Member] {
        &self.draft.members
    }

    /// The member with id `id`, if there is one.
    pub fn member(&self, id: &str) -> Option<&Member> {
        self.draft
            .members
            .binary_search_by(|m| m.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.draft.members[i])
    }

    fn require(&self, id: &str) -> Result<&Member, GenesisError> {
        self.member(id)
            .ok_or_else(|| GenesisError::UnknownMember(id.to_string()))
    }

    /// The members whose parent is `id` (a city's counties and auditors), sorted by id.
    pub fn children(&self, id: &str) -> Vec<&Member> {
        self.draft
            .members
            .iter()
            .filter(|m| m.parent.as_deref() == Some(id))
            .collect()
    }

    /// The founders, sorted by id: every member that is not retired, unless the definition
    /// lists founders explicitly. All of them sign version 1; `founder_threshold` of them sign
    /// the next version.
    pub fn founders(&self) -> Vec<&Member> {
        match &self.draft.founders {
            None => self.active_members().collect(),
            Some(ids) => ids.iter().filter_map(|id| self.member(id)).collect(),
        }
    }

    /// The origin of a member's log, `<network>/<member id>` (also its log key's name).
    pub fn origin(&self, id: &str) -> Result<String, GenesisError> {
        self.require(id)
            .map(|m| names::origin(self.network(), &m.id))
    }

    /// The member whose log has this origin: how a node maps a checkpoint to its log.
    pub fn member_by_origin(&self, origin: &str) -> Option<&Member> {
        let id = origin.strip_prefix(self.network())?.strip_prefix('/')?;
        self.member(id)
    }

    /// The members that witness the log of `id`, sorted by id: its `witnesses`, else every
    /// other member that is not retired.
    pub fn witnesses_of(&self, id: &str) -> Result<Vec<&Member>, GenesisError> {
        let member = self.require(id)?;
        Ok(match &member.witnesses {
            None => self.active_members().filter(|m| m.id != id).collect(),
            Some(ids) => ids.iter().filter_map(|w| self.member(w)).collect(),
        })
    }

    /// The members whose logs `id` witnesses (and so mirrors and cosigns), sorted by id; none
    /// if `id` is retired. Retired logs are included: their history stays verifiable.
    pub fn witnessed_by(&self, id: &str) -> Result<Vec<&Member>, GenesisError> {
        if self.require(id)?.is_retired() {
            return Ok(Vec::new());
        }
        let witnesses = |m: &Member| match &m.witnesses {
            None => m.id != id,
            Some(list) => list.iter().any(|w| w == id),
        };
        Ok(self.draft.members.iter().filter(|m| witnesses(m)).collect())
    }

    /// The verifier's trust policy for the log of `id`: its log key, the witness keys of its
    /// witnesses, and the network's quorum; with the log's history, so that it verifies every
    /// checkpoint the log signed: earlier log keys with their rotation points, its witnesses'
    /// earlier witness keys, and its retirement point.
    pub fn policy_for(&self, id: &str) -> Result<LogPolicy, GenesisError> {
        let member = self.require(id)?;
        let witnesses = self.witnesses_of(id)?;
        let keys = witnesses.iter().map(|w| w.witness_key.clone()).collect();
        let mut policy = LogPolicy::new(member.log_key.clone(), keys, self.quorum())?;
        for p in &member.previous_log_keys {
            policy = policy.with_previous_log_key(p.key.clone(), p.last_size, p.last_root)?;
        }
        for w in &witnesses {
            for p in &w.previous_witness_keys {
                policy = policy.with_previous_witness_key(p.key.clone(), p.until)?;
            }
        }
        if let Some(r) = member.retired {
            policy = policy.with_retirement(r.size, r.root)?;
        }
        Ok(policy)
    }

    /// The operator keys whose signature publishes a record in the log of `id`.
    pub fn operator_keys(&self, id: &str) -> Result<&[VerifierKey], GenesisError> {
        Ok(&self.require(id)?.operators)
    }

    /// The attestor keys, with their roles, whose signatures on records of `id` count.
    pub fn attestor_keys(&self, id: &str) -> Result<&[Attestor], GenesisError> {
        Ok(&self.require(id)?.attestors)
    }

    /// Every key whose signature counts on records of `id` — its operators, and its
    /// attestors with their roles — in the form the record layer checks signatures with, and
    /// its revoked keys with the index from which they stop counting.
    ///
    /// The genesis versions that revoked keys are not known here;
    /// [`crate::Genesis::accepted_keys`] names them.
    pub fn accepted_keys(&self, id: &str) -> Result<AcceptedKeys, GenesisError> {
        self.accepted_keys_with(id, |_| None)
    }

    /// [`Definition::accepted_keys`], naming the version that revoked each key with
    /// `revoked_in`.
    pub(crate) fn accepted_keys_with(
        &self,
        id: &str,
        revoked_in: impl Fn(&VerifierKey) -> Option<u64>,
    ) -> Result<AcceptedKeys, GenesisError> {
        let member = self.require(id)?;
        let mut keys = AcceptedKeys::new();
        for key in &member.operators {
            keys = keys.with_operator(key.clone());
        }
        for attestor in &member.attestors {
            // Roles were checked to be codes when the definition was built.
            if let Ok(role) = Code::parse(&attestor.role) {
                keys = keys.with_attestor(attestor.key.clone(), role);
            }
        }
        for revoked in &member.revoked {
            // Revoked key names were checked to carry `operator` or a role when built.
            let role = match names::holder_role(self.network(), id, revoked.key.name()) {
                Some(names::OPERATOR_ROLE) | None => None,
                Some(role) => Code::parse(role).ok(),
            };
            keys = keys.with_revocation(Revocation {
                key: revoked.key.clone(),
                role,
                from_index: revoked.from_index,
                genesis_version: revoked_in(&revoked.key),
            });
        }
        Ok(keys)
    }
}
