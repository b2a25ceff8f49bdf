//! The witness: cosigns other members' checkpoints, only ever forward.
//!
//! C2SP tlog-witness rules, kept per log in storage (`witnessed`): a witness cosigns a
//! checkpoint only if it is consistent with the largest checkpoint of that log it cosigned
//! before — never a smaller size, never a different root for a size already cosigned — and the
//! check and the update of that state are one atomic compare-and-swap, so concurrent requests
//! can never roll it back. A checkpoint can reach the witness two ways:
//!
//! * [`Witness::add_checkpoint`]: a tlog-witness request carrying a consistency proof from the
//!   size the witness last cosigned (over HTTP or `/daylight/sync/1`);
//! * [`Witness::cosign_mirrored`]: this node mirrored the log itself and verified the tree, so
//!   it checks consistency against its own copy.
//!
//! A log caught signing two incompatible checkpoints yields [`Evidence`]; once evidence is
//! stored against a log, the witness refuses to cosign it again.
//!
//! A witness never cosigns its own log: a cosignature vouches that someone other than the log
//! saw the checkpoint. Its own log is the one whose origin prefixes its key name (the genesis
//! requires witness keys named `<network>/<member id>/witness` and origins
//! `<network>/<member id>`). Over HTTP, a request names the log it is for
//! (`/log/<member>/add-checkpoint`), and a checkpoint of another log is refused
//! ([`Witness::add_checkpoint_for`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use daylight_verifier::checkpoint::{Checkpoint, SignedCheckpoint};
use daylight_verifier::cosignature;
use daylight_verifier::evidence::Evidence;
use daylight_verifier::merkle::{HashReader, prove_consistency, tree_hash, verify_consistency};
use daylight_verifier::note::{Note, NoteSignature};
use daylight_verifier::{Hash, SigningKey, VerifierKey};

use crate::store::{StorageError, Store};

/// Largest add-checkpoint request body: the old size, at most 63 proof lines and a checkpoint
/// note with its signatures fit in a few kilobytes.
pub const MAX_REQUEST_BYTES: usize = 64 << 10;

/// The suffix the genesis requires of a witness key's name after the member's log origin.
const WITNESS_KEY_SUFFIX: &str = "/witness";

/// The answer to an add-checkpoint request, mapped to the tlog-witness HTTP statuses.
#[derive(Debug)]
pub enum AddOutcome {
    /// 200: the cosignature lines.
    Cosigned(Vec<NoteSignature>),
    /// 400: malformed request or old size above the checkpoint's.
    BadRequest(String),
    /// 403: not signed by the log's key.
    NotSignedByLog(String),
    /// 403: the log has equivocated; this witness no longer cosigns it.
    Equivocating,
    /// 404: unknown origin.
    UnknownOrigin(String),
    /// 409: the witness's latest cosigned size, and evidence if the log equivocated.
    Conflict {
        /// The size this witness last cosigned (0 if never).
        latest: u64,
        /// Evidence, when the request's checkpoint conflicts with the cosigned one.
        evidence: Option<Box<Evidence>>,
    },
    /// 422: the consistency proof does not verify.
    BadProof(String),
    /// 400: the request was for one log, the checkpoint is of another.
    WrongLog {
        /// The origin of the log the request was for.
        expected: String,
        /// The checkpoint's origin.
        found: String,
    },
    /// 403: the checkpoint is of this witness's own log, which it never cosigns.
    OwnLog(String),
}

/// Why a mirrored checkpoint was not cosigned.
#[derive(Debug)]
pub enum Refusal {
    /// Older than what this witness already cosigned; nothing to do.
    Stale,
    /// The log equivocated before; this witness no longer cosigns it.
    Equivocating,
    /// The checkpoint contradicts one this witness cosigned: here is the proof.
    Evidence(Box<Evidence>),
    /// Storage failed.
    Storage(String),
}

impl From<StorageError> for Refusal {
    fn from(e: StorageError) -> Refusal {
        Refusal::Storage(e.to_string())
    }
}

/// This node's witness.
pub struct Witness {
    store: Arc<Store>,
    key: SigningKey,
    /// Each log's current key, by origin; replaced when a genesis version changes them.
    log_keys: std::sync::RwLock<HashMap<String, VerifierKey>>,
    /// The origin of this witness's own log, if it is one of `log_keys`.
    own_origin: Option<String>,
    // Serialises check-and-store within this process; the storage swap is the real guard.
    busy: Mutex<()>,
}

fn now() -> u64 {
    crate::clock::seconds_since_epoch()
}

impl Witness {
    /// A witness with key `key` for the logs of `log_keys` (origin → log key). Its own log,
    /// which it refuses to cosign, is the one whose origin its key's name extends.
    pub fn new(store: Arc<Store>, key: SigningKey, log_keys: HashMap<String, VerifierKey>) -> Self {
        let own_origin = key
            .name()
            .strip_suffix(WITNESS_KEY_SUFFIX)
            .filter(|origin| log_keys.contains_key(*origin))
            .map(str::to_string);
        Witness {
            store,
            key,
            log_keys: std::sync::RwLock::new(log_keys),
            own_origin,
            busy: Mutex::new(()),
        }
    }

    /// Takes `log_keys` (origin → log key) as the logs it witnesses, from a new genesis
    /// version: new members' logs, rotated log keys.
    pub fn set_log_keys(&self, log_keys: HashMap<String, VerifierKey>) {
        *self.log_keys.write().unwrap_or_else(|e| e.into_inner()) = log_keys;
    }

    /// The current key of the log `origin`.
    fn log_key(&self, origin: &str) -> Option<VerifierKey> {
        self.log_keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(origin)
            .cloned()
    }

    /// The origin of this witness's own log, which it never cosigns.
    pub fn own_origin(&self) -> Option<&str> {
        self.own_origin.as_deref()
    }

    /// [`Witness::add_checkpoint`] for a request addressed to the log with origin `expected`:
    /// a checkpoint of any other log is refused with [`AddOutcome::WrongLog`].
    pub fn add_checkpoint_for(
        &self,
        expected: &str,
        old: u64,
        proof: &[Hash],
        note: &[u8],
    ) -> AddOutcome {
        self.add(Some(expected), old, proof, note)
    }

    /// The witness's public key.
    pub fn verifier(&self) -> VerifierKey {
        self.key.verifier()
    }

    /// tlog-witness add-checkpoint: `old` is the size the caller believes this witness last
    /// cosigned, `proof` a consistency proof from it to the checkpoint in `note`.
    /// Refuses its own log ([`AddOutcome::OwnLog`]).
    pub fn add_checkpoint(&self, old: u64, proof: &[Hash], note: &[u8]) -> AddOutcome {
        self.add(None, old, proof, note)
    }

    fn add(&self, expected: Option<&str>, old: u64, proof: &[Hash], note: &[u8]) -> AddOutcome {
        let Ok(parsed) = Note::parse(note) else {
            return AddOutcome::BadRequest("the checkpoint is not a signed note".into());
        };
        let checkpoint = match Checkpoint::parse(&parsed.text) {
            Ok(c) => c,
            Err(e) => return AddOutcome::BadRequest(e.to_string()),
        };
        if let Some(expected) = expected.filter(|e| *e != checkpoint.origin) {
            return AddOutcome::WrongLog {
                expected: expected.to_string(),
                found: checkpoint.origin,
            };
        }
        if self.own_origin.as_deref() == Some(checkpoint.origin.as_str()) {
            return AddOutcome::OwnLog(checkpoint.origin);
        }
        let Some(log_key) = self.log_key(&checkpoint.origin) else {
            return AddOutcome::UnknownOrigin(checkpoint.origin);
        };
        let log_key = &log_key;
        let signed = match SignedCheckpoint::open(note, log_key) {
            Ok(s) => s,
            Err(e) => return AddOutcome::NotSignedByLog(e.to_string()),
        };
        if old > checkpoint.size {
            return AddOutcome::BadRequest(format!(
                "old size {old} is larger than the checkpoint size {}",
                checkpoint.size
            ));
        }
        let _guard = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        match self.store.is_equivocating(&checkpoint.origin) {
            Ok(true) => return AddOutcome::Equivocating,
            Ok(false) => {}
            Err(e) => return AddOutcome::BadRequest(e.to_string()),
        }
        let state = match self.store.witnessed(&checkpoint.origin) {
            Ok(s) => s,
            Err(e) => return AddOutcome::BadRequest(e.to_string()),
        };
        let latest = state.as_ref().map_or(0, |s| s.0);
        if old != latest {
            return AddOutcome::Conflict {
                latest,
                evidence: None,
            };
        }
        if let Some((size, root, witnessed_note)) = &state {
            if *size == checkpoint.size && *root != checkpoint.root {
                return AddOutcome::Conflict {
                    latest,
                    evidence: conflicting(witnessed_note, &signed, log_key).map(Box::new),
                };
            }
            if *size < checkpoint.size
                && let Err(e) =
                    verify_consistency(*size, checkpoint.size, root, &checkpoint.root, proof)
            {
                return AddOutcome::BadProof(e.to_string());
            }
        } else if !proof.is_empty() {
            return AddOutcome::BadProof("the proof must be empty when the old size is 0".into());
        }
        match self.swap_and_cosign(&signed, state.map(|s| (s.0, s.1))) {
            Ok(line) => AddOutcome::Cosigned(vec![line]),
            Err(Some(current)) => AddOutcome::Conflict {
                latest: current.0,
                evidence: None,
            },
            Err(None) => AddOutcome::Conflict {
                latest: 0,
                evidence: None,
            },
        }
    }

    /// Cosigns a checkpoint of a log this node mirrors, whose tree `tree` it has verified
    /// against the checkpoint. Consistency with what it cosigned before is checked on that
    /// tree.
    pub fn cosign_mirrored(
        &self,
        signed: &SignedCheckpoint,
        tree: &impl HashReader,
    ) -> Result<NoteSignature, Refusal> {
        let checkpoint = &signed.checkpoint;
        let _guard = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        if self.store.is_equivocating(&checkpoint.origin)? {
            return Err(Refusal::Equivocating);
        }
        let state = self.store.witnessed(&checkpoint.origin)?;
        if let Some((size, root, witnessed_note)) = &state {
            let Some(log_key) = self.log_key(&checkpoint.origin) else {
                return Err(Refusal::Stale);
            };
            let log_key = &log_key;
            if checkpoint.size < *size {
                return Err(Refusal::Stale);
            }
            if checkpoint.size == *size && checkpoint.root != *root {
                return match conflicting(witnessed_note, signed, log_key) {
                    Some(e) => Err(Refusal::Evidence(Box::new(e))),
                    None => Err(Refusal::Stale),
                };
            }
            if checkpoint.size > *size && *size > 0 {
                let ours = tree_hash(*size, tree).map_err(|e| Refusal::Storage(e.to_string()))?;
                if ours != *root {
                    let older = SignedCheckpoint::open(witnessed_note.as_bytes(), log_key)
                        .map_err(|e| Refusal::Storage(e.to_string()))?;
                    let proof = prove_consistency(*size, checkpoint.size, tree)
                        .map_err(|e| Refusal::Storage(e.to_string()))?;
                    return match Evidence::inconsistent_history(&older, signed, ours, proof) {
                        Ok(e) => Err(Refusal::Evidence(Box::new(e))),
                        Err(e) => Err(Refusal::Storage(e.to_string())),
                    };
                }
            }
        }
        self.swap_and_cosign(signed, state.map(|s| (s.0, s.1)))
            .map_err(|_| Refusal::Stale)
    }

    fn swap_and_cosign(
        &self,
        signed: &SignedCheckpoint,
        expected: Option<(u64, Hash)>,
    ) -> Result<NoteSignature, Option<(u64, Hash)>> {
        let checkpoint = &signed.checkpoint;
        let note_text = signed.note.to_text();
        match self.store.swap_witnessed(
            &checkpoint.origin,
            expected,
            (checkpoint.size, checkpoint.root),
            &note_text,
        ) {
            Ok(Ok(())) => {}
            Ok(Err(current)) => return Err(current),
            Err(e) => {
                tracing::error!("witness state: {e}");
                return Err(expected);
            }
        }
        cosignature::cosign(&self.key, &signed.note.text, now()).map_err(|e| {
            tracing::error!("cosign: {e}");
            expected
        })
    }
}

/// Conflicting-roots evidence from the note this witness cosigned and a new signed one.
fn conflicting(
    witnessed_note: &str,
    new: &SignedCheckpoint,
    key: &VerifierKey,
) -> Option<Evidence> {
    let old = SignedCheckpoint::open(witnessed_note.as_bytes(), key).ok()?;
    Evidence::conflicting_roots(&old, new).ok()
}
