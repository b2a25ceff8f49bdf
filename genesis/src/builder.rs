//! A draft network definition, assembled member by member before the founders sign it.

use daylight_verifier::key::SigningKey;

use crate::audit::AuditParams;
use crate::definition::Definition;
use crate::error::GenesisError;
use crate::member::Member;
use crate::signed::SignedGenesis;

/// A draft genesis: mutable, not yet validated, not signed.
///
/// A draft can be written out ([`GenesisBuilder::to_text`]) and read back
/// ([`GenesisBuilder::from_text`]) at any stage, so that `daylight genesis init` and
/// `add-member` can work on a file; it is validated when it is built or signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisBuilder {
    pub(crate) network: String,
    pub(crate) sequence: u64,
    pub(crate) previous: Option<String>,
    pub(crate) founder_threshold: Option<usize>,
    pub(crate) quorum: usize,
    pub(crate) founders: Option<Vec<String>>,
    pub(crate) audit: AuditParams,
    pub(crate) members: Vec<Member>,
}

impl GenesisBuilder {
    /// The witness quorum of a new draft: two cosignatures, as DESIGN §6 suggests.
    pub const DEFAULT_QUORUM: usize = 2;

    /// An empty draft of version 1 of the network `network` (e.g. `demo.daylight`), with the
    /// default quorum, default audit parameters and every member a founder.
    ///
    /// To draft a later version of an existing network, start from
    /// [`GenesisBuilder::next_version`] instead.
    pub fn new(network: &str) -> GenesisBuilder {
        GenesisBuilder {
            network: network.to_string(),
            sequence: 1,
            previous: None,
            founder_threshold: None,
            quorum: Self::DEFAULT_QUORUM,
            founders: None,
            audit: AuditParams::default(),
            members: Vec::new(),
        }
    }

    /// Reads a draft from definition text (as written by [`GenesisBuilder::to_text`], or the
    /// text of a signed genesis, to start a new network from an old one).
    ///
    /// Checks TOML syntax, the schema and the key encodings, not the network rules.
    pub fn from_text(text: &str) -> Result<GenesisBuilder, GenesisError> {
        crate::raw::parse_draft(text)
    }

    /// Adds a member. Rules (unique id, key names...) are checked by [`GenesisBuilder::build`].
    pub fn add_member(&mut self, member: Member) -> &mut GenesisBuilder {
        self.members.push(member);
        self
    }

    /// The member with id `id`, to change it (add an operator key, an address...).
    pub fn member_mut(&mut self, id: &str) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == id)
    }

    /// Sets how many witness cosignatures a citizen requires on each log's checkpoints.
    pub fn set_quorum(&mut self, quorum: usize) -> &mut GenesisBuilder {
        self.quorum = quorum;
        self
    }

    /// Sets the founders who must sign, by member id; `None` (the default) means every member.
    pub fn set_founders(&mut self, founders: Option<Vec<String>>) -> &mut GenesisBuilder {
        self.founders = founders;
        self
    }

    /// Sets how many of this version's founders must sign the next version; `None` (the
    /// default) means a majority, ⌊n/2⌋ + 1 of the n founders.
    pub fn set_founder_threshold(&mut self, threshold: Option<usize>) -> &mut GenesisBuilder {
        self.founder_threshold = threshold;
        self
    }

    /// Sets the version number and the id of the version before it (`None` for version 1).
    /// [`GenesisBuilder::next_version`] sets both; this is for tools that assemble a version
    /// by hand.
    pub fn set_version(&mut self, sequence: u64, previous: Option<String>) -> &mut GenesisBuilder {
        self.sequence = sequence;
        self.previous = previous;
        self
    }

    /// The version number of this draft: 1 for a new network.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// The id of the version this draft follows, if it is not version 1.
    pub fn previous(&self) -> Option<&str> {
        self.previous.as_deref()
    }

    /// Replaces the audit parameters.
    pub fn set_audit(&mut self, audit: AuditParams) -> &mut GenesisBuilder {
        self.audit = audit;
        self
    }

    /// The audit parameters, to change one of them.
    pub fn audit_mut(&mut self) -> &mut AuditParams {
        &mut self.audit
    }

    /// The network name.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// The members added so far, in the order added.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The canonical definition text: the same draft always gives the same bytes, whatever
    /// the order members, keys and witnesses were added in.
    pub fn to_text(&self) -> String {
        crate::emit::definition_text(self)
    }

    /// Validates the draft against every rule and returns the immutable definition.
    pub fn build(&self) -> Result<Definition, GenesisError> {
        Definition::new(self.clone())
    }

    /// Validates the draft and signs its canonical text with a founder's log key, starting
    /// the signed genesis that the other founders then sign ([`SignedGenesis::sign`]).
    ///
    /// Only for version 1; a later version is signed with [`GenesisBuilder::sign_next`].
    pub fn sign(&self, founder_log_key: &SigningKey) -> Result<SignedGenesis, GenesisError> {
        let mut signed = SignedGenesis::unsigned(self.build()?);
        signed.sign(founder_log_key)?;
        Ok(signed)
    }
}
