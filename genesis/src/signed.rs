//! The genesis file: the definition text as a C2SP signed note, signed by the founders.
//!
//! Version 1 is verified alone ([`Genesis::open`]): every founder signed it. A later version
//! is signed by the previous version's founders and by the keys it introduces, so it is only
//! verified against the version before it, by [`crate::GenesisChain`]; here it can be parsed
//! ([`SignedGenesis::parse`]) but not opened alone.

use std::collections::BTreeMap;

use daylight_verifier::hash::Hash;
use daylight_verifier::key::{SigningKey, VerifierKey};
use daylight_verifier::note::{self, Note};
use daylight_verifier::policy::LogPolicy;

use crate::audit::AuditParams;
use crate::definition::Definition;
use crate::error::GenesisError;
use crate::member::{Attestor, Member};
use crate::names;

/// Largest genesis file read (32 MiB): far above a country's 3,000 counties, small enough that
/// a wrong file is refused before it is parsed.
pub const MAX_GENESIS_BYTES: usize = 32 << 20;

/// A genesis file whose definition is valid but whose founder signatures may be incomplete:
/// what founders pass around while signing. Not to be trusted; see [`SignedGenesis::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedGenesis {
    pub(crate) definition: Definition,
    pub(crate) note: Note,
    pub(crate) id: String,
}

impl SignedGenesis {
    /// The definition's canonical text with no signature yet.
    pub(crate) fn unsigned(definition: Definition) -> SignedGenesis {
        let text = definition.to_text();
        SignedGenesis {
            id: Hash::digest(text.as_bytes()).to_hex(),
            note: Note {
                text,
                signatures: Vec::new(),
            },
            definition,
        }
    }

    /// Parses a genesis file (signed note whose text is the TOML definition) and validates the
    /// definition. Does not check signatures: [`SignedGenesis::verify`] does for version 1,
    /// [`crate::GenesisChain`] for later versions.
    ///
    /// The text is kept exactly as signed (it need not be canonical); the id is its hash.
    pub fn parse(bytes: &[u8]) -> Result<SignedGenesis, GenesisError> {
        if bytes.len() > MAX_GENESIS_BYTES {
            return Err(GenesisError::TooLarge(bytes.len()));
        }
        let note = Note::parse(bytes).map_err(GenesisError::NotANote)?;
        let definition = Definition::new(crate::raw::parse_draft(&note.text)?)?;
        Ok(SignedGenesis {
            id: Hash::digest(note.text.as_bytes()).to_hex(),
            note,
            definition,
        })
    }

    /// Adds a founder's signature with its log key. Signing twice with one key adds nothing.
    ///
    /// Refuses a key that is not the log key listed for a founder, so a founder cannot sign
    /// with a key the file does not name (the signature would never count). Only for version
    /// 1; a later version is signed with [`SignedGenesis::sign_next`].
    pub fn sign(&mut self, founder_log_key: &SigningKey) -> Result<(), GenesisError> {
        self.first_version_only("signing it with this version's founder keys")?;
        let public: VerifierKey = founder_log_key.verifier();
        let is_founder = self
            .definition
            .founders()
            .iter()
            .any(|f| f.log_key == public);
        if !is_founder {
            return Err(GenesisError::NotAFounderKey(public.to_string()));
        }
        if self.has_valid_signature(&public) {
            return Ok(());
        }
        self.note
            .add_signature(founder_log_key)
            .map_err(|_| GenesisError::NotAFounderKey(public.to_string()))
    }

    fn first_version_only(&self, action: &'static str) -> Result<(), GenesisError> {
        match self.definition.sequence() {
            1 => Ok(()),
            sequence => Err(GenesisError::NeedsPreviousVersion { sequence, action }),
        }
    }

    pub(crate) fn has_valid_signature(&self, key: &VerifierKey) -> bool {
        self.note
            .signatures
            .iter()
            .any(|s| s.is_by(key) && note::signature_is_valid(key, &self.note.text, &s.signature))
    }

    /// The founders (by id) who have not yet signed with their log key.
    ///
    /// Fails if a signature by a founder's log key does not verify: the text was changed
    /// after signing, and adding more signatures would not help. Only for version 1; for a
    /// later version see [`SignedGenesis::next_signatures`].
    pub fn missing_founders(&self) -> Result<Vec<String>, GenesisError> {
        self.first_version_only("listing the founders who must sign it")?;
        let mut missing = Vec::new();
        for founder in self.definition.founders() {
            let key = &founder.log_key;
            let lines = self.note.signatures.iter().filter(|s| s.is_by(key)).count();
            if self.has_valid_signature(key) {
                continue;
            }
            if lines > 0 {
                return Err(GenesisError::BadFounderSignature(founder.id.clone()));
            }
            missing.push(founder.id.clone());
        }
        Ok(missing)
    }

    /// Checks that every founder signed with the log key listed for it, and returns the
    /// trusted genesis. Signatures by anyone else are ignored, as C2SP signed notes require.
    ///
    /// Only version 1 verifies alone; a later version fails with
    /// [`GenesisError::NeedsPreviousVersion`] (verify it with [`crate::GenesisChain`]).
    pub fn verify(self) -> Result<Genesis, GenesisError> {
        self.first_version_only("verifying it")?;
        let missing = self.missing_founders()?;
        if !missing.is_empty() {
            return Err(GenesisError::MissingFounderSignatures { members: missing });
        }
        Ok(Genesis::first(self))
    }

    /// The genesis id: lowercase hex SHA-256 of the definition text.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The definition (validated, but not yet known to be signed by all founders).
    pub fn definition(&self) -> &Definition {
        &self.definition
    }

    /// The signed note.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The whole file: definition text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        self.note.to_text()
    }
}

/// A verified genesis version: version 1 signed by every founder, or a later version held in
/// a [`crate::GenesisChain`] that verified it against the versions before it. The root of trust
/// of a network.
///
/// Citizens pin its id; nodes and the CLI derive everything else (origins, trust policies,
/// accepted keys, gossip topics) from it. A later version also knows its network id (version
/// 1's id) and which version revoked each revoked key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Genesis {
    signed: SignedGenesis,
    network_id: String,
    /// The version that revoked each revoked key, by public key.
    revoked_in: BTreeMap<[u8; 32], u64>,
}

impl Genesis {
    /// Parses, validates and verifies a version-1 genesis file: the one call nodes and the CLI
    /// need for a network that has not changed. A later version is refused with
    /// [`GenesisError::NeedsPreviousVersion`]: read the chain ([`crate::GenesisChain::parse_any`]).
    pub fn open(bytes: &[u8]) -> Result<Genesis, GenesisError> {
        SignedGenesis::parse(bytes)?.verify()
    }

    /// Version 1, which is its own network id.
    fn first(signed: SignedGenesis) -> Genesis {
        let network_id = signed.id.clone();
        let revoked_in = revocations(&signed.definition, None);
        Genesis {
            signed,
            network_id,
            revoked_in,
        }
    }

    /// A version accepted by the chain (checked against `previous` by the caller, or trusted by
    /// a pinned id). `previous` is `None` only for version 1.
    pub(crate) fn in_chain(signed: SignedGenesis, previous: Option<&Genesis>) -> Genesis {
        match previous {
            None => Genesis::first(signed),
            Some(previous) => Genesis {
                revoked_in: revocations(&signed.definition, Some(previous)),
                network_id: previous.network_id.clone(),
                signed,
            },
        }
    }

    /// The signed version this genesis was verified from.
    pub fn signed(&self) -> &SignedGenesis {
        &self.signed
    }

    /// The genesis id of this version: lowercase hex SHA-256 of its definition text.
    pub fn id(&self) -> &str {
        self.signed.id()
    }

    /// The network id: the id of version 1, the same in every version. Gossip topics and data
    /// directories use it.
    pub fn network_id(&self) -> &str {
        &self.network_id
    }

    /// The version number (1 for the first version).
    pub fn sequence(&self) -> u64 {
        self.definition().sequence()
    }

    /// The id of the version before this one; `None` for version 1.
    pub fn previous(&self) -> Option<&str> {
        self.definition().previous()
    }

    /// The genesis version that revoked `key`, if this version lists it as revoked.
    pub fn revoked_in(&self, key: &VerifierKey) -> Option<u64> {
        self.revoked_in.get(&key.public_key()).copied()
    }

    /// The definition text, exactly as signed.
    pub fn text(&self) -> &str {
        &self.signed.note.text
    }

    /// The whole file: definition text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        self.signed.to_text()
    }

    /// The signed note.
    pub fn note(&self) -> &Note {
        self.signed.note()
    }

    /// The validated definition, for everything not forwarded below.
    pub fn definition(&self) -> &Definition {
        &self.signed.definition
    }

    /// The network name.
    pub fn network(&self) -> &str {
        self.definition().network()
    }

    /// All members, sorted by id.
    pub fn members(&self) -> &[Member] {
        self.definition().members()
    }

    /// The member ids, comma-separated in id order: what a message naming an unknown member
    /// lists so the user can pick the right one.
    pub fn member_ids(&self) -> String {
        let ids: Vec<&str> = self.members().iter().map(|m| m.id.as_str()).collect();
        ids.join(", ")
    }

    /// The member with id `id`, if there is one.
    pub fn member(&self, id: &str) -> Option<&Member> {
        self.definition().member(id)
    }

    /// The members whose parent is `id`.
    pub fn children(&self, id: &str) -> Vec<&Member> {
        self.definition().children(id)
    }

    /// The witness quorum.
    pub fn quorum(&self) -> usize {
        self.definition().quorum()
    }

    /// The audit parameters.
    pub fn audit(&self) -> &AuditParams {
        self.definition().audit()
    }

    /// The origin of a member's log, `<network>/<member id>`.
    pub fn origin(&self, id: &str) -> Result<String, GenesisError> {
        self.definition().origin(id)
    }

    /// The verifier's trust policy for the log of `id`.
    pub fn policy_for(&self, id: &str) -> Result<LogPolicy, GenesisError> {
        self.definition().policy_for(id)
    }

    /// The operator keys the log of `id` accepts.
    pub fn operator_keys(&self, id: &str) -> Result<&[VerifierKey], GenesisError> {
        self.definition().operator_keys(id)
    }

    /// The attestor keys, with roles, whose signatures on records of `id` count.
    pub fn attestor_keys(&self, id: &str) -> Result<&[Attestor], GenesisError> {
        self.definition().attestor_keys(id)
    }

    /// Every key whose signature counts on records of `id` ([`Definition::accepted_keys`]),
    /// each revocation naming the genesis version that made it. As given, it is what a new
    /// submission is checked against; for an entry already at index `i` use its
    /// [`at_index`](daylight_verifier::record::AcceptedKeys::at_index)`(i)`.
    pub fn accepted_keys(
        &self,
        id: &str,
    ) -> Result<daylight_verifier::record::AcceptedKeys, GenesisError> {
        self.definition()
            .accepted_keys_with(id, |key| self.revoked_in(key))
    }

    /// The gossip topic for checkpoints, `daylight/<network id>/checkpoints/1`: the same for
    /// every version of a network.
    pub fn checkpoint_topic(&self) -> String {
        names::checkpoint_topic(self.network_id())
    }

    /// The gossip topic for evidence, `daylight/<network id>/evidence/1`: the same for every
    /// version of a network.
    pub fn evidence_topic(&self) -> String {
        names::evidence_topic(self.network_id())
    }
}

/// The version that revoked each revoked key of `definition`: the one `previous` names for the
/// keys it already revoked, else this version.
fn revocations(definition: &Definition, previous: Option<&Genesis>) -> BTreeMap<[u8; 32], u64> {
    let mut map = BTreeMap::new();
    for member in definition.members() {
        for revoked in &member.revoked {
            let public = revoked.key.public_key();
            let version = previous
                .and_then(|p| p.revoked_in.get(&public).copied())
                .unwrap_or(definition.sequence());
            map.insert(public, version);
        }
    }
    map
}
