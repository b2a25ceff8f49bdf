//! The genesis file: the definition text as a C2SP signed note, signed by the founders.

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
    definition: Definition,
    note: Note,
    id: String,
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
    /// definition. Does not check signatures; [`SignedGenesis::verify`] does.
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
    /// with a key the file does not name (the signature would never count).
    pub fn sign(&mut self, founder_log_key: &SigningKey) -> Result<(), GenesisError> {
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

    fn has_valid_signature(&self, key: &VerifierKey) -> bool {
        self.note
            .signatures
            .iter()
            .any(|s| s.is_by(key) && note::signature_is_valid(key, &self.note.text, &s.signature))
    }

    /// The founders (by id) who have not yet signed with their log key.
    ///
    /// Fails if a signature by a founder's log key does not verify: the text was changed
    /// after signing, and adding more signatures would not help.
    pub fn missing_founders(&self) -> Result<Vec<String>, GenesisError> {
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
    pub fn verify(self) -> Result<Genesis, GenesisError> {
        let missing = self.missing_founders()?;
        if !missing.is_empty() {
            return Err(GenesisError::MissingFounderSignatures { members: missing });
        }
        Ok(Genesis { signed: self })
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

/// A genesis file whose every founder signed it: the root of trust of a network.
///
/// Citizens pin its id; nodes and the CLI derive everything else (origins, trust policies,
/// accepted keys, gossip topics) from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Genesis {
    signed: SignedGenesis,
}

impl Genesis {
    /// Parses, validates and verifies a genesis file: the one call nodes and the CLI need.
    pub fn open(bytes: &[u8]) -> Result<Genesis, GenesisError> {
        SignedGenesis::parse(bytes)?.verify()
    }

    /// The genesis id: lowercase hex SHA-256 of the definition text.
    pub fn id(&self) -> &str {
        self.signed.id()
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

    /// Every key whose signature counts on records of `id` ([`Definition::accepted_keys`]).
    pub fn accepted_keys(
        &self,
        id: &str,
    ) -> Result<daylight_verifier::record::AcceptedKeys, GenesisError> {
        self.definition().accepted_keys(id)
    }

    /// The gossip topic for checkpoints, `daylight/<genesis id>/checkpoints/1`.
    pub fn checkpoint_topic(&self) -> String {
        names::checkpoint_topic(self.id())
    }

    /// The gossip topic for evidence, `daylight/<genesis id>/evidence/1`.
    pub fn evidence_topic(&self) -> String {
        names::evidence_topic(self.id())
    }
}
