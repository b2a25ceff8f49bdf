//! The request-response protocol `/daylight/sync/1` (CBOR-encoded).
//!
//! Every member serves every log it holds, so any peer can be asked for any log. Answers are
//! bounded: at most [`MAX_ENTRIES_PER_REQUEST`] entries per request, and no more entries than
//! fit in [`MAX_ENTRY_BYTES_PER_ANSWER`] (at least one), so an answer stays well below the
//! 10 MiB the CBOR codec accepts whatever the entries' sizes. An asker takes whatever prefix
//! of its range it is given and asks again from there; a node of an earlier version, which
//! answers at most 1,024 entries, is asked the same way.

use serde::{Deserialize, Serialize};

/// The protocol name.
pub const SYNC_PROTOCOL: &str = "/daylight/sync/1";

/// Most entries one `Entries` request returns (each chunk a mirror stores is one commit, so
/// one fsync: larger chunks mean fewer).
pub const MAX_ENTRIES_PER_REQUEST: u64 = 8192;

/// Most entry bytes one `Entries` answer carries, beyond its first entry: 4 MiB, so that an
/// answer (with CBOR's few bytes per entry and the proof) stays far below the codec's
/// 10 MiB limit even with entries of the largest size (64 KiB).
pub const MAX_ENTRY_BYTES_PER_ANSWER: usize = 4 << 20;

/// A request to a peer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum SyncRequest {
    /// The latest checkpoint the peer holds for a log, with the cosignatures it collected.
    Checkpoint {
        /// The log's origin.
        origin: String,
    },
    /// The latest checkpoint of every log the peer holds (a periodic pull, so a node that
    /// missed a gossip message still learns of new checkpoints).
    Heads,
    /// Entries `start..start+count` of a log, with a consistency proof from the tree that ends
    /// with them to the tree of size `prove_to`, so the asker can verify the chunk against a
    /// signed checkpoint of size `prove_to` before storing it.
    Entries {
        /// The log's origin.
        origin: String,
        /// First entry index.
        start: u64,
        /// Number of entries (capped by the server).
        count: u64,
        /// Size of the signed checkpoint the asker verifies against.
        prove_to: u64,
    },
    /// The peer's root at size `old` of a log and a consistency proof from it to size `new`.
    Consistency {
        /// The log's origin.
        origin: String,
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// The genesis chain the peer holds, every version (asked on connecting, so a node that
    /// missed a gossiped version learns it without waiting for the next republish).
    Genesis,
    /// tlog-witness add-checkpoint: cosign `checkpoint` given a consistency proof from `old`.
    AddCheckpoint {
        /// The size of the latest checkpoint the asker believes the witness cosigned.
        old: u64,
        /// Consistency proof from `old` to the checkpoint's size.
        proof: Vec<[u8; 32]>,
        /// The signed checkpoint note.
        checkpoint: String,
    },
}

/// A peer's answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum SyncResponse {
    /// The latest checkpoint note (with cosignatures), if the peer holds the log.
    Checkpoint(Option<String>),
    /// The latest checkpoint note of every log the peer holds.
    Heads(Vec<String>),
    /// Entries and the consistency proof asked for.
    Entries {
        /// The entries, in order.
        entries: Vec<serde_bytes::ByteBuf>,
        /// Consistency proof from `start + entries.len()` to `prove_to`.
        proof: Vec<[u8; 32]>,
    },
    /// The peer's root at the old size and the proof to the new size.
    Consistency {
        /// Root of the peer's copy at the old size.
        old_root: [u8; 32],
        /// The proof.
        proof: Vec<[u8; 32]>,
    },
    /// The genesis chain as JSON, as `GET /v1/genesis` serves it.
    Genesis(String),
    /// The witness's cosignature line(s).
    Cosigned(Vec<String>),
    /// The witness has cosigned a different size than `old`: this one.
    Conflict(u64),
    /// The request was refused; the text says why.
    Refused(String),
}
