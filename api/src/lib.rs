//! # daylight-api
//!
//! The JSON bodies of a daylight node's HTTP API (DESIGN §5.4), as typed structs that the node
//! serializes and its clients (the `daylight` CLI, tests, anyone's Rust code) deserialize, so
//! both sides agree on field names and types by construction rather than by `json!` on one side
//! and `value["leaf"]` on the other.
//!
//! * [`ErrorBody`] — every error answer: `{"error", "detail"}`.
//! * [`Health`] — `GET /healthz`.
//! * [`Ack`] — one acknowledged record of `POST /v1/records`.
//! * [`RecordAnswer`] — `GET /v1/records/<rid>` and `GET /v1/leaf/<hex>`.
//! * [`InclusionProof`], [`ConsistencyProof`] — `GET /log/<member>/proof/...`.
//! * [`NetworkInfo`] — `GET /v1/network`.
//! * [`GenesisChainBody`] — `GET /v1/genesis` (and one form of `POST /v1/genesis`);
//!   [`GenesisAccepted`] — the answer to `POST /v1/genesis`.
//! * [`RecordPage`] — `GET /v1/records?...` (the query); [`FeedPage`], [`FeedItem`] —
//!   `GET /v1/feed` (see [`query`]).
//!
//! Leaf hashes travel as lowercase hex ([`hex_hash`]); proof hashes as base64, as in the C2SP
//! formats. Record entries are carried as JSON values: their bytes, not this crate, are what
//! is signed and hashed, and a client that verifies a record re-reads the entry from tiles or
//! re-encodes it canonically.

pub mod query;

pub use query::{
    CurrentRecord, FeedDropped, FeedEntry, FeedEvent, FeedEvidence, FeedItem, FeedPage, RecordItem,
    RecordPage,
};

use daylight_verifier::Hash;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every error a node answers: a short machine-readable code and an explanation saying what
/// was wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The code, e.g. `not_found`, `invalid_record`, `log_unavailable`, `damaged`.
    pub error: String,
    /// What went wrong and what to do about it.
    pub detail: String,
}

/// Whether a node is healthy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Nothing is wrong (HTTP 200).
    Ok,
    /// Something is wrong; see the problems (HTTP 503).
    Degraded,
}

/// `GET /healthz`: `{"status":"ok"}`, or `degraded` with every problem raised now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Ok or degraded.
    pub status: HealthStatus,
    /// What is wrong, when degraded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// What an operator should look at though the node still serves (e.g. `isolated`: no
    /// peer; `quorum_missing`: its own checkpoint lacks cosignatures), with the likely cause.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Problem>,
}

/// One problem a node reports at `/healthz`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Its kind: `writes_failing`, `damaged_log`, `storage_unreadable`.
    pub kind: String,
    /// What is wrong and what the node is doing about it.
    pub detail: String,
}

/// One record acknowledged by `POST /v1/records`: it is durable at `index` of the member's
/// log, and `checkpoint` is the first signed checkpoint that includes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The record id.
    pub rid: String,
    /// Its index in the log.
    pub index: u64,
    /// The RFC 6962 leaf hash of its entry.
    #[serde(with = "hex_hash")]
    pub leaf: Hash,
    /// The signed checkpoint note that first includes it.
    pub checkpoint: String,
}

/// `GET /v1/records/<rid>` and `GET /v1/leaf/<hex>`: a record's entry and every correction or
/// void of it, in log order. Each entry was checked against the log's signed checkpoint before
/// it was served.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordAnswer {
    /// The member whose log holds it.
    pub log: String,
    /// The record id.
    pub rid: String,
    /// Its index in the log.
    pub index: u64,
    /// The leaf hash of its entry.
    #[serde(with = "hex_hash")]
    pub leaf: Hash,
    /// The entry (the signed record) as JSON; `null` if the entry is not JSON.
    pub entry: Value,
    /// Its corrections and voids, in log order.
    pub corrections: Vec<Amendment>,
}

/// A correction or void of a record, as [`RecordAnswer`] lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Amendment {
    /// Its index in the log.
    pub index: u64,
    /// The leaf hash of its entry.
    #[serde(with = "hex_hash")]
    pub leaf: Hash,
    /// The entry as JSON.
    pub entry: Value,
}

/// `GET /log/<member>/proof/inclusion?index=I&size=N`: the entry at `index` is in the tree of
/// `size`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The entry's index.
    pub index: u64,
    /// The tree size proved against.
    pub size: u64,
    /// The proof's hashes, from the leaf up.
    pub proof: Vec<Hash>,
}

/// `GET /log/<member>/proof/consistency?old=M&new=N`: the tree of size `old` is a prefix of
/// the tree of size `new`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The smaller tree size.
    pub old: u64,
    /// The larger tree size.
    pub new: u64,
    /// The proof's hashes.
    pub proof: Vec<Hash>,
}

/// `GET /v1/network`: the node's view of its network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkInfo {
    /// The network id the node runs: the id of genesis version 1, which stays the network's
    /// id as the genesis chain grows (DESIGN §6b).
    pub genesis: String,
    /// The sequence number of the newest genesis version the node holds and applies (1 until
    /// the network changes).
    #[serde(default = "first_sequence")]
    pub genesis_sequence: u64,
    /// The id of that newest version.
    #[serde(default)]
    pub genesis_latest: String,
    /// The network's name.
    pub network: String,
    /// The node's member id; `None` for an observer.
    pub member: Option<String>,
    /// The node's libp2p peer id.
    pub peer_id: String,
    /// Peers connected now.
    pub peers: Vec<Peer>,
    /// Every other member of the genesis, connected or not.
    pub members: Vec<MemberLink>,
    /// Every log the node holds.
    pub logs: Vec<LogInfo>,
    /// Evidence of equivocation the node holds (the verifier's evidence documents).
    pub evidence: Vec<Value>,
    /// The node's liveness warnings, as at `/healthz`.
    #[serde(default)]
    pub warnings: Vec<Problem>,
}

/// A connected peer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Peer {
    /// Its peer id.
    pub peer_id: String,
    /// Its gossipsub score (lower after invalid messages).
    pub score: Option<f64>,
}

/// A genesis member's connectivity, as seen by the node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberLink {
    /// The member id.
    pub member: String,
    /// Its peer id, as the genesis lists it.
    pub peer_id: String,
    /// Whether a connection to it is open.
    pub connected: bool,
    /// When it was last heard from, RFC 3339 UTC; `None` if never since the node started.
    pub last_seen: Option<String>,
}

/// One log the node holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogInfo {
    /// The member whose log it is.
    pub member: String,
    /// The log's origin line.
    pub origin: String,
    /// The size of its latest checkpoint, if the node holds one.
    pub size: Option<u64>,
    /// Entries the node holds (a mirror may hold entries beyond its latest checkpoint while
    /// catching up).
    pub entries_held: u64,
    /// The latest checkpoint with every cosignature collected.
    pub checkpoint: Option<String>,
    /// Whether the node holds evidence that this log equivocated.
    pub equivocating: bool,
}

/// Serde for a [`struct@Hash`] written as 64 lowercase hex digits (leaf hashes in the API).
pub mod hex_hash {
    use daylight_verifier::Hash;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `hash` as lowercase hex.
    pub fn serialize<S: Serializer>(hash: &Hash, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hash.to_hex())
    }

    /// Reads a hash from 64 hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Hash::from_hex(&text).map_err(|e| serde::de::Error::custom(format!("leaf hash: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ack_reads_back_as_it_was_written() {
        let ack = Ack {
            rid: "county-1-a-1".into(),
            index: 7,
            leaf: Hash([0xab; 32]),
            checkpoint: "net/county-1\n8\nroot\n\n— sig\n".into(),
        };
        let text = serde_json::to_string(&ack).unwrap();
        assert!(
            text.contains(&format!("\"leaf\":\"{}\"", "ab".repeat(32))),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Ack>(&text).unwrap(), ack);
    }

    #[test]
    fn a_healthy_node_says_only_ok() {
        let ok = Health {
            status: HealthStatus::Ok,
            problems: Vec::new(),
            warnings: Vec::new(),
        };
        assert_eq!(serde_json::to_string(&ok).unwrap(), r#"{"status":"ok"}"#);
        let degraded: Health = serde_json::from_str(
            r#"{"status":"degraded","problems":[{"kind":"writes_failing","detail":"disk full"}]}"#,
        )
        .unwrap();
        assert_eq!(degraded.status, HealthStatus::Degraded);
        assert_eq!(degraded.problems[0].kind, "writes_failing");
    }

    #[test]
    fn a_bad_leaf_is_refused_naming_the_field() {
        let e =
            serde_json::from_str::<Ack>(r#"{"rid":"r","index":0,"leaf":"zz","checkpoint":"c"}"#)
                .unwrap_err();
        assert!(e.to_string().contains("leaf hash"), "{e}");
    }

    #[test]
    fn proofs_carry_base64_hashes() {
        let proof = InclusionProof {
            index: 1,
            size: 2,
            proof: vec![Hash([0; 32])],
        };
        let text = serde_json::to_string(&proof).unwrap();
        assert_eq!(
            text,
            r#"{"index":1,"size":2,"proof":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]}"#
        );
    }
}

fn first_sequence() -> u64 {
    1
}

/// `GET /v1/genesis`: the whole genesis chain a node holds (DESIGN §6b), oldest version first.
/// Also accepted by `POST /v1/genesis`.
///
/// Each version is a signed note; a client verifies the chain itself from the version it
/// pinned, trusting nothing in this body but the notes' signatures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisChainBody {
    /// The network id: the id (lowercase hex SHA-256 of the definition text) of version 1.
    pub network_id: String,
    /// Every version, in order, starting with version 1.
    pub versions: Vec<GenesisVersionBody>,
}

/// One version of the genesis chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisVersionBody {
    /// Its sequence number: 1 for the first version, then 2, 3...
    pub sequence: u64,
    /// Its id: lowercase hex SHA-256 of its definition text.
    pub id: String,
    /// The signed note: definition text, blank line, signature lines.
    pub note: String,
}

/// The answer to `POST /v1/genesis` (200): the newest version the node now holds and applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAccepted {
    /// The sequence number of the node's newest version.
    pub sequence: u64,
    /// Its id.
    pub id: String,
    /// The sequence numbers the post added (empty when the node held them already).
    pub added: Vec<u64>,
}
