//! Every way a genesis file can be wrong, each with what to do about it.

use daylight_verifier::key::KeyError;
use daylight_verifier::note::NoteError;
use daylight_verifier::policy::PolicyError;

/// Why a genesis definition or file was refused.
///
/// Each message names the member and field concerned and says how to fix it, because the
/// people who read these are operators assembling a network by hand or with the CLI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// The file is larger than [`crate::MAX_GENESIS_BYTES`].
    #[error("genesis file is {0} bytes, more than the {max} allowed; is this the right file?", max = crate::MAX_GENESIS_BYTES)]
    TooLarge(usize),
    /// The bytes are not a signed note (text, blank line, signature lines).
    #[error(
        "genesis file is not a signed note: {0}; a genesis file is the definition text, a blank line and one signature line per founder"
    )]
    NotANote(#[source] NoteError),
    /// The definition text is not valid TOML, has an unknown field, or lacks a required one.
    #[error("genesis definition is not valid: {0}")]
    Toml(String),
    /// The definition declares a format version this software does not read.
    #[error("genesis format version {0} is not supported; this software reads version 1")]
    UnsupportedVersion(u64),
    /// The network name breaks the naming rule.
    #[error("invalid network name {0:?}: use 1-64 of a-z 0-9 . - starting with a letter or digit")]
    InvalidNetworkName(String),
    /// The definition has no members.
    #[error("the network has no members; add at least two (a log and its witness)")]
    NoMembers,
    /// A member id breaks the naming rule.
    #[error("invalid member id {0:?}: use 1-64 of a-z 0-9 - starting with a letter")]
    InvalidMemberId(String),
    /// Two members share an id.
    #[error("member id {0:?} is used twice; every member needs its own id")]
    DuplicateMember(String),
    /// A member names a parent that is not a member.
    #[error(
        "member {member:?} names parent {parent:?}, which is not a member; add it or fix the parent"
    )]
    UnknownParent {
        /// The member whose parent is unknown.
        member: String,
        /// The parent it names.
        parent: String,
    },
    /// Following parents leads back to where it started.
    #[error("members' parents form a cycle: {}; a parent chain must end at a member without parent", cycle.join(" -> "))]
    ParentCycle {
        /// The members of the cycle, in parent order, the first repeated at the end.
        cycle: Vec<String>,
    },
    /// A member's parent breaks the role rules (see the crate documentation).
    #[error("member {member:?}: {rule}")]
    ParentRole {
        /// The member concerned.
        member: String,
        /// The rule it breaks, e.g. "a county must have a city as parent".
        rule: &'static str,
    },
    /// A plain field (name, division code, peer id, address, URL, attestor role) is invalid.
    #[error("member {member:?}, field {field}: {reason}")]
    InvalidField {
        /// The member concerned.
        member: String,
        /// The field, e.g. `division` or `addresses[1]`.
        field: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// A key is not a valid vkey.
    #[error("member {member:?}, field {field}: malformed verifier key: {source}")]
    MalformedKey {
        /// The member concerned.
        member: String,
        /// The field, e.g. `log_key` or `operators[0]`.
        field: String,
        /// Why the vkey did not parse.
        #[source]
        source: KeyError,
    },
    /// A key's name is not the one the naming rule gives for its place.
    #[error(
        "member {member:?}, field {field}: key is named {found:?} but must be named {expected:?}; generate the key with that name"
    )]
    KeyNameMismatch {
        /// The member concerned.
        member: String,
        /// The field.
        field: String,
        /// The name the rule requires.
        expected: String,
        /// The key's actual name.
        found: String,
    },
    /// A key of the wrong signature type.
    #[error(
        "member {member:?}, field {field}: key must be of type {expected}; generate a key of that type"
    )]
    WrongKeyType {
        /// The member concerned.
        member: String,
        /// The field.
        field: String,
        /// The required type, e.g. "0x01 (Ed25519)".
        expected: &'static str,
    },
    /// The same Ed25519 public key appears in two places.
    #[error("the same public key is used as {first} and as {second}; every role needs its own key")]
    DuplicateKey {
        /// The first place, e.g. "county-320206 log_key".
        first: String,
        /// The second place.
        second: String,
    },
    /// Two members share a libp2p peer id.
    #[error(
        "peer id {peer_id:?} is used by both {first:?} and {second:?}; every node needs its own libp2p identity"
    )]
    DuplicatePeerId {
        /// The peer id.
        peer_id: String,
        /// The first member.
        first: String,
        /// The second member.
        second: String,
    },
    /// A witness list names something that is not a member.
    #[error("log {member:?} lists witness {witness:?}, which is not a member")]
    UnknownWitness {
        /// The log concerned.
        member: String,
        /// The unknown witness.
        witness: String,
    },
    /// A log lists itself as its own witness.
    #[error(
        "log {0:?} lists itself as a witness; a log cannot witness itself, remove it from its witnesses"
    )]
    SelfWitness(String),
    /// A witness is listed twice for one log.
    #[error("log {member:?} lists witness {witness:?} twice")]
    DuplicateWitness {
        /// The log concerned.
        member: String,
        /// The repeated witness.
        witness: String,
    },
    /// A quorum of zero would let a log show citizens a private history.
    #[error("witness quorum is 0: citizens would trust a log's word alone; set it to at least 1")]
    QuorumZero,
    /// Some log has fewer witnesses than the quorum, so none of its checkpoints could be trusted.
    #[error(
        "quorum {quorum} is larger than the {witnesses} witness(es) of log {member:?}; lower the quorum or add witnesses"
    )]
    QuorumTooLarge {
        /// The log concerned.
        member: String,
        /// The quorum.
        quorum: usize,
        /// Its number of witnesses.
        witnesses: usize,
    },
    /// The founders list names something that is not a member.
    #[error("founders list names {0:?}, which is not a member")]
    UnknownFounder(String),
    /// The founders list names a member twice.
    #[error("founders list names {0:?} twice")]
    DuplicateFounder(String),
    /// The founders list is present but empty.
    #[error(
        "founders list is empty; omit it (every member is a founder) or name at least one member"
    )]
    NoFounders,
    /// More founders than a signed note can carry signatures.
    #[error("{0} founders, but a signed note carries at most {max} signatures; list fewer founders explicitly", max = daylight_verifier::note::MAX_SIGNATURES)]
    TooManyFounders(usize),
    /// An audit parameter is invalid.
    #[error("audit parameter {field}: {reason}")]
    InvalidAudit {
        /// The parameter, e.g. "approval_threshold.CNY".
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Founders have not all signed yet.
    #[error("genesis is not signed by founder(s) {}; each must sign with its log key (daylight genesis sign)", members.join(", "))]
    MissingFounderSignatures {
        /// The founders without a valid signature.
        members: Vec<String>,
    },
    /// A signature by a founder's log key does not verify: the text was altered after signing.
    #[error(
        "the signature of founder {0:?} does not verify: the genesis text was changed after it was signed, or the signature is forged"
    )]
    BadFounderSignature(String),
    /// The key asked to sign is not the log key of any founder.
    #[error("key {0} is not the log key listed for any founder; sign with the founder's log key")]
    NotAFounderKey(String),
    /// A member id was asked for that the network does not have.
    #[error("no member {0:?} in this network")]
    UnknownMember(String),
    /// The verifier refused the trust policy built from the definition.
    #[error("trust policy: {0}")]
    Policy(#[from] PolicyError),
}
