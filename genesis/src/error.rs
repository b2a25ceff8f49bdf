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

    // Lifecycle fields of one version (rules 10 and 11).
    /// A retired member is listed as a founder.
    #[error(
        "founders list names {0:?}, which is retired; a retired member is not a founder, remove it from `founders`"
    )]
    RetiredFounder(String),
    /// A retired member is listed as a witness.
    #[error(
        "log {member:?} lists witness {witness:?}, which is retired; a retired member witnesses no log, remove it from `witnesses`"
    )]
    RetiredWitness {
        /// The log concerned.
        member: String,
        /// The retired witness.
        witness: String,
    },
    /// The version number is 0 or too large.
    #[error(
        "sequence {0} is invalid; versions are numbered from 1 (the first version omits `sequence`)"
    )]
    InvalidSequence(u64),
    /// Version 1 names a previous version.
    #[error("version 1 has no version before it; remove `previous` (or set `sequence` above 1)")]
    PreviousInFirstVersion,
    /// A later version does not name the version before it.
    #[error("version {sequence} must name `previous`, the genesis id of version {}", sequence - 1)]
    MissingPrevious {
        /// The version number.
        sequence: u64,
    },
    /// `previous` is not a genesis id.
    #[error(
        "previous {0:?} is not a genesis id; it must be 64 lowercase hex digits, the id of the version before"
    )]
    InvalidPrevious(String),
    /// The founder threshold is out of range.
    #[error(
        "founder_threshold {threshold} must be between 1 and the {founders} founder(s) of this version; omit it for a majority"
    )]
    InvalidFounderThreshold {
        /// The threshold given.
        threshold: usize,
        /// The number of founders.
        founders: usize,
    },

    // One version against the version before it (the genesis chain).
    /// A later version cannot be verified, signed or checked without the version before it.
    #[error(
        "this is genesis version {sequence}: it is signed by the founders of version {} and by every key it introduces, so {action} needs the versions before it; use the genesis chain (daylight genesis update, GenesisChain::follow or GenesisChain::extend; SignedGenesis::sign_next to sign)",
        sequence - 1
    )]
    NeedsPreviousVersion {
        /// The version number.
        sequence: u64,
        /// What was attempted, e.g. "verifying it".
        action: &'static str,
    },
    /// A chain must start at version 1.
    #[error("a genesis chain starts at version 1, not version {0}")]
    NotFirstVersion(u64),
    /// The next version is of another network.
    #[error(
        "version {sequence} is for network {found:?}, but the chain is network {expected:?}; a version never changes the network name"
    )]
    WrongNetwork {
        /// The version number.
        sequence: u64,
        /// The chain's network name.
        expected: String,
        /// The version's network name.
        found: String,
    },
    /// The next version does not carry the next number.
    #[error(
        "expected genesis version {expected} to follow, got version {found}; versions are added one at a time, in order"
    )]
    WrongSequence {
        /// The number that must come next.
        expected: u64,
        /// The number found.
        found: u64,
    },
    /// The next version names another version as its previous one.
    #[error("version {sequence} names previous {found}, but version {} has id {expected}; it was drafted from another version, draft it again from the latest (GenesisBuilder::next_version)", sequence - 1)]
    WrongPrevious {
        /// The version number.
        sequence: u64,
        /// The id of the version before it in the chain.
        expected: String,
        /// The id it names.
        found: String,
    },
    /// Too few founders of the previous version signed.
    #[error(
        "version {sequence} is signed by {} founder(s) of version {} ({}), {required} required; still to sign, each with the log key version {} lists for it: {}",
        signed.len(), sequence - 1, list(signed), sequence - 1, list(unsigned)
    )]
    TooFewFounderSignatures {
        /// The version number.
        sequence: u64,
        /// The previous version's founder threshold.
        required: usize,
        /// The founders (ids) whose signature verified.
        signed: Vec<String>,
        /// The founders without a valid signature.
        unsigned: Vec<String>,
    },
    /// A key the version introduces did not sign it.
    #[error(
        "version {sequence} introduces {field} key {key} of member {member:?} but carries no valid signature by it; every new key must sign the version that introduces it (proof of possession): sign with that key (SignedGenesis::sign_next)"
    )]
    MissingProofOfPossession {
        /// The version number.
        sequence: u64,
        /// The member the key is listed for.
        member: String,
        /// The field, e.g. `log_key` or `operators[1]`.
        field: String,
        /// The new key (vkey).
        key: String,
    },
    /// A change between two versions breaks a continuity rule.
    #[error("version {sequence}, member {member:?}, field {field}: {reason}")]
    Continuity {
        /// The version number.
        sequence: u64,
        /// The member concerned.
        member: String,
        /// The field concerned.
        field: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// Two different versions with one number.
    #[error(
        "the chain already holds version {sequence} with id {held}, and version {sequence} with id {found} is a different text: the founders signed two versions of one number; keep the one the chain holds and report the other"
    )]
    ConflictingVersion {
        /// The version number.
        sequence: u64,
        /// The id the chain holds.
        held: String,
        /// The id offered.
        found: String,
    },
    /// The version comes after a version the chain does not have.
    #[error("version {found} cannot be added: the chain ends at version {latest}; add versions {} to {found} in order", latest + 1)]
    ChainGap {
        /// The chain's latest version.
        latest: u64,
        /// The version offered.
        found: u64,
    },
    /// The pinned version is not among the versions served.
    #[error(
        "the pinned genesis {0} is not in the chain served; the source follows another network or an altered chain: check the source, and the id you pinned"
    )]
    PinnedNotServed(String),
    /// The signing key belongs to neither a founder of the previous version nor a new key.
    #[error(
        "key {0} is neither the log key of a founder of the previous version nor a key this version introduces; only those keys sign a later version"
    )]
    NotAVersionSigner(String),
    /// A version would carry more signatures than a note may.
    #[error("the version already carries {max} signatures, the most a signed note may; introduce fewer keys in one version", max = daylight_verifier::note::MAX_SIGNATURES)]
    TooManySignatures,
    /// A member that exists in the previous version cannot be removed.
    #[error(
        "member {member:?} is in version {sequence}; a member is never removed from a network: retire it (retire_member, `retired = {{ size, root }}`)"
    )]
    CannotRemoveMember {
        /// The member.
        member: String,
        /// The previous version that lists it.
        sequence: u64,
    },

    // The JSON chain format.
    /// The bytes are not a JSON chain.
    #[error(
        "genesis chain is not valid JSON of the form {{\"network_id\": ..., \"versions\": [{{\"sequence\", \"id\", \"note\"}}, ...]}}: {0}"
    )]
    ChainJson(String),
    /// The JSON states an id or number that is not the version's own.
    #[error(
        "genesis chain JSON states {field} {stated} for its version {position}, but the note gives {computed}: the JSON was altered or assembled wrongly"
    )]
    ChainMismatch {
        /// Which version in the list (1-based position).
        position: usize,
        /// `id`, `sequence` or `network_id`.
        field: &'static str,
        /// What the JSON states.
        stated: String,
        /// What the note gives.
        computed: String,
    },
    /// The JSON holds no version.
    #[error("genesis chain holds no version; it must hold at least version 1")]
    EmptyChain,
    /// The JSON is larger than allowed.
    #[error("genesis chain is {0} bytes, more than the {max} allowed; is this the right file?", max = crate::MAX_CHAIN_BYTES)]
    ChainTooLarge(usize),
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".to_string()
    } else {
        ids.join(", ")
    }
}
