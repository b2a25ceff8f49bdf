//! # daylight-verifier
//!
//! Everything a third party needs to check a daylight network, and nothing else: no async
//! runtime, no networking, no storage. Citizens' tools, auditors, media and the nodes
//! themselves all verify with this crate, so there is one implementation of every check.
//!
//! The crate is layered from bytes up to trust decisions:
//!
//! * [`hash`] — the 32-byte SHA-256 hash everything is made of.
//! * [`json_text`] — the bytes a JSON string must escape, found eight at a time.
//! * [`key`] and [`note`] — C2SP signed notes with Ed25519 keys, vkeys and private keys.
//! * [`checkpoint`] — C2SP tlog-checkpoint: a log's signed size and root.
//! * [`cosignature`] — C2SP tlog-cosignature: a witness's timestamped countersignature.
//! * [`merkle`] — RFC 6962 trees over stored complete-subtree hashes: appends, roots,
//!   inclusion and consistency proofs, and their verification.
//! * [`policy`] — whether a cosigned checkpoint meets a log's witness quorum, and why not.
//! * [`bundle`] — C2SP tlog-proof bundles: offline receipts of inclusion.
//! * [`tile`] — C2SP tlog-tiles paths, widths and entry bundles.
//! * [`receipt_code`] — the compact code a household receipt's QR code carries.
//! * [`evidence`] — portable proof that a log signed two incompatible histories.
//! * [`record`] — the record model: kinds, JCS entry bytes, validation, signatures and
//!   attestations, household privacy, and the current state after corrections.
//! * [`audit`] — the deterministic audit rules of DESIGN §8 over many logs: a [`Ledger`] fed
//!   as logs grow, findings with stable keys, traffic lights, fund flows, and JSON, text and
//!   HTML reports.
//!
//! Private helper: `text_serde` (serde for types held as their text form).
//!
//! Every parser here reads data from networks and files: each returns a typed error for
//! malformed input and none panics.

pub mod audit;
pub mod bundle;
pub mod checkpoint;
pub mod cosignature;
pub mod evidence;
pub mod hash;
pub mod json_text;
pub mod key;
pub mod merkle;
pub mod note;
pub mod policy;
pub mod receipt_code;
pub mod record;
mod text_serde;
pub mod tile;

pub use audit::{AuditFinding, AuditParams, AuditReport, Ledger};
pub use bundle::ProofBundle;
pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use evidence::Evidence;
pub use hash::Hash;
pub use key::{KeyType, SigningKey, VerifierKey};
pub use note::{Note, NoteSignature, VerifiedNote};
pub use policy::{LogPolicy, TrustedCheckpoint};
