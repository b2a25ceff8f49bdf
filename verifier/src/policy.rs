//! Trust policy: when is a checkpoint good enough to rely on?
//!
//! A citizen does not trust a log's own word: a log could show them a private history. They
//! trust a checkpoint when it is signed by the log's key *and* cosigned by at least `quorum` of
//! the log's witnesses, each of which has checked that it is consistent with everything that
//! witness saw before. The genesis file supplies, for each log, its key, its witnesses and the
//! quorum; [`LogPolicy::verify`] applies them and explains any refusal.
//!
//! A cosignature line that names a known witness but does not verify is not counted and is
//! reported; it cannot make an otherwise sufficient checkpoint fail, so a relay that appends
//! garbage cannot deny service.
//!
//! **History** (DESIGN §6b). A network changes over years, and a policy built from the latest
//! genesis version must still verify everything logged before: keys are rotated at points every
//! verifier can see, and a log can be retired.
//!
//! * An earlier log key ([`LogPolicy::with_previous_log_key`]) names the last checkpoint it
//!   signed (its rotation point). A checkpoint of size `n` is verified with the first earlier
//!   key whose `last_size` is at least `n` (at exactly `last_size` its root must be the
//!   `last_root` named); larger checkpoints need the current key. A caller that can fetch a
//!   consistency proof also checks that a checkpoint extends [`LogPolicy::rotation_point_before`].
//! * An earlier witness key ([`LogPolicy::with_previous_witness_key`]) counts for its witness
//!   (the current witness key of the same name) on cosignatures timestamped before its `until`.
//! * A retirement point ([`LogPolicy::with_retirement`]) ends the log: checkpoints beyond it, or
//!   of its size with another root, are refused.

use std::fmt;

use crate::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use crate::cosignature;
use crate::hash::Hash;
use crate::key::{KeyType, VerifierKey};
use crate::note::{Note, NoteError};

mod history;

pub use history::{PreviousLogKey, PreviousWitnessKey, Retirement};

/// Why a policy could not be built or a checkpoint was not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The policy itself is inconsistent.
    #[error("invalid trust policy: {0}")]
    InvalidPolicy(String),
    /// The checkpoint is malformed, for another log, or not validly signed by the log.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// Too few witnesses cosigned.
    #[error("{0}")]
    QuorumNotMet(QuorumShortfall),
    /// The log was retired and the checkpoint goes beyond its retirement point.
    #[error(
        "log {origin} was retired at size {retired_size} (genesis `retired`); a checkpoint of size {size} lies beyond its retirement point and is not accepted"
    )]
    BeyondRetirement {
        /// The log's origin.
        origin: String,
        /// The size of the last checkpoint the genesis accepts for the retired log.
        retired_size: u64,
        /// The size of the refused checkpoint.
        size: u64,
    },
    /// The checkpoint has the retirement size but another root than the one the genesis names.
    #[error(
        "log {origin} was retired at size {size} with root {expected} (genesis `retired`), but this checkpoint of that size has root {found}: the log signed two histories"
    )]
    RetirementRootMismatch {
        /// The log's origin.
        origin: String,
        /// The retirement size.
        size: u64,
        /// The root the genesis names.
        expected: Hash,
        /// The root of the refused checkpoint.
        found: Hash,
    },
    /// The checkpoint is at a log-key rotation point but has another root than the one named.
    #[error(
        "checkpoint of size {size} has root {found}, but the genesis names {expected} as the last checkpoint signed by earlier log key {key} (`previous_log_keys`): the log signed two histories"
    )]
    RotationRootMismatch {
        /// The earlier key's vkey.
        key: String,
        /// The rotation point's size (that of the checkpoint).
        size: u64,
        /// The root the genesis names.
        expected: Hash,
        /// The root of the refused checkpoint.
        found: Hash,
    },
    /// A checkpoint within an earlier key's history is not validly signed by that key.
    #[error(
        "checkpoint of size {size} lies in the history signed by earlier log key {key} (up to size {last_size}, `previous_log_keys`), so that key must sign it: {source}"
    )]
    EarlierKey {
        /// The earlier key's vkey.
        key: String,
        /// The last size that key signed.
        last_size: u64,
        /// The checkpoint's size.
        size: u64,
        /// Why the signature check failed.
        #[source]
        source: CheckpointError,
    },
    /// A checkpoint after a rotation point is signed by the earlier key, not the current one.
    #[error(
        "checkpoint of size {size} is signed by earlier log key {key}, whose last checkpoint was size {last_size}; checkpoints after a log-key rotation must be signed by the current log key {current}"
    )]
    SignedAfterRotation {
        /// The earlier key's vkey.
        key: String,
        /// The last size that key may sign.
        last_size: u64,
        /// The checkpoint's size.
        size: u64,
        /// The current log key's vkey.
        current: String,
    },
}

/// The detail of a refused quorum: who cosigned, who did not, whose cosignature was bad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumShortfall {
    /// Valid cosignatures required.
    pub required: usize,
    /// Witnesses whose cosignature verified.
    pub cosigned_by: Vec<String>,
    /// Witnesses with a cosignature line that did not verify.
    pub invalid: Vec<String>,
    /// Witnesses with no cosignature on this checkpoint.
    pub missing: Vec<String>,
}

impl fmt::Display for QuorumShortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |names: &[String]| {
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        write!(
            f,
            "checkpoint has {} valid witness cosignature(s), {} required; cosigned by: {}; missing: {}",
            self.cosigned_by.len(),
            self.required,
            list(&self.cosigned_by),
            list(&self.missing),
        )?;
        if !self.invalid.is_empty() {
            write!(f, "; invalid cosignature from: {}", list(&self.invalid))?;
        }
        Ok(())
    }
}

/// A witness cosignature that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigner {
    /// The witness key's name.
    pub name: String,
    /// When the witness cosigned (seconds since the Unix epoch).
    pub timestamp: u64,
}

/// A checkpoint that satisfies a [`LogPolicy`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedCheckpoint {
    /// The checkpoint body.
    pub checkpoint: Checkpoint,
    /// The note as received.
    pub note: Note,
    /// The witnesses whose cosignature verified (at least the quorum).
    pub cosigners: Vec<Cosigner>,
}

/// What a verifier requires of one log's checkpoints.
///
/// Built with [`LogPolicy::new`] from the current keys, then given the log's history (earlier
/// log keys, earlier witness keys, a retirement point) with the `with_` methods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogPolicy {
    log_key: VerifierKey,
    witnesses: Vec<VerifierKey>,
    quorum: usize,
    previous_log_keys: Vec<PreviousLogKey>,
    previous_witness_keys: Vec<PreviousWitnessKey>,
    retirement: Option<Retirement>,
}

impl LogPolicy {
    /// A policy for the log signed by `log_key` (whose name is the log's origin), witnessed by
    /// `witnesses` (type 0x04 keys), requiring `quorum` valid cosignatures.
    pub fn new(
        log_key: VerifierKey,
        witnesses: Vec<VerifierKey>,
        quorum: usize,
    ) -> Result<LogPolicy, PolicyError> {
        if log_key.key_type() != KeyType::Ed25519 {
            return Err(PolicyError::InvalidPolicy(format!(
                "log key {} must be an Ed25519 note key (type 0x01)",
                log_key.name()
            )));
        }
        if let Some(w) = witnesses
            .iter()
            .find(|w| w.key_type() != KeyType::Cosignature)
        {
            return Err(PolicyError::InvalidPolicy(format!(
                "witness key {} must be a cosignature key (type 0x04)",
                w.name()
            )));
        }
        for (i, w) in witnesses.iter().enumerate() {
            if witnesses[..i]
                .iter()
                .any(|o| o.public_key() == w.public_key())
            {
                return Err(PolicyError::InvalidPolicy(format!(
                    "witness key {} is listed twice",
                    w.name()
                )));
            }
        }
        if quorum > witnesses.len() {
            return Err(PolicyError::InvalidPolicy(format!(
                "quorum {quorum} is larger than the {} witnesses of log {}",
                witnesses.len(),
                log_key.name()
            )));
        }
        Ok(LogPolicy {
            log_key,
            witnesses,
            quorum,
            previous_log_keys: Vec::new(),
            previous_witness_keys: Vec::new(),
            retirement: None,
        })
    }

    /// Parses a checkpoint note and verifies the log's signature on it with the key its size
    /// calls for ([`LogPolicy::log_key_for`]), checking the rotation and retirement points.
    /// Does not count cosignatures: [`LogPolicy::verify_cosignatures`] does.
    ///
    /// Use this instead of `SignedCheckpoint::open(message, policy.log_key())` wherever a log
    /// may have rotated its key or been retired.
    pub fn open(&self, message: &[u8]) -> Result<SignedCheckpoint, PolicyError> {
        if self.previous_log_keys.is_empty() && self.retirement.is_none() {
            return Ok(SignedCheckpoint::open(message, &self.log_key)?);
        }
        let note = Note::parse(message).map_err(CheckpointError::from)?;
        let checkpoint = Checkpoint::parse(&note.text)?;
        if checkpoint.origin != self.origin() {
            return Err(CheckpointError::WrongOrigin {
                expected: self.origin().to_string(),
                found: checkpoint.origin,
            }
            .into());
        }
        let (size, root) = (checkpoint.size, checkpoint.root);
        if let Some(r) = self.retirement {
            if size > r.size {
                return Err(PolicyError::BeyondRetirement {
                    origin: self.origin().to_string(),
                    retired_size: r.size,
                    size,
                });
            }
            if size == r.size && root != r.root {
                return Err(PolicyError::RetirementRootMismatch {
                    origin: self.origin().to_string(),
                    size,
                    expected: r.root,
                    found: root,
                });
            }
        }
        if let Some(p) = self.previous_log_keys.iter().find(|p| p.last_size >= size) {
            if size == p.last_size && root != p.last_root {
                return Err(PolicyError::RotationRootMismatch {
                    key: p.key.to_string(),
                    size,
                    expected: p.last_root,
                    found: root,
                });
            }
            return SignedCheckpoint::open(message, &p.key).map_err(|source| {
                PolicyError::EarlierKey {
                    key: p.key.to_string(),
                    last_size: p.last_size,
                    size,
                    source,
                }
            });
        }
        match SignedCheckpoint::open(message, &self.log_key) {
            Ok(signed) => Ok(signed),
            Err(CheckpointError::Note(NoteError::NotSignedByTrustedKey { signers })) => {
                let earlier = self
                    .previous_log_keys
                    .iter()
                    .rev()
                    .find(|p| note.signatures.iter().any(|s| s.is_by(&p.key)));
                match earlier {
                    Some(p) => Err(PolicyError::SignedAfterRotation {
                        key: p.key.to_string(),
                        last_size: p.last_size,
                        size,
                        current: self.log_key.to_string(),
                    }),
                    None => {
                        Err(
                            CheckpointError::Note(NoteError::NotSignedByTrustedKey { signers })
                                .into(),
                        )
                    }
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The log's origin (its key's name).
    pub fn origin(&self) -> &str {
        self.log_key.name()
    }

    /// The log's key.
    pub fn log_key(&self) -> &VerifierKey {
        &self.log_key
    }

    /// The witnesses whose cosignatures count.
    pub fn witnesses(&self) -> &[VerifierKey] {
        &self.witnesses
    }

    /// How many valid cosignatures a checkpoint needs.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// Parses a cosigned checkpoint note and decides whether it is trusted: the log signature
    /// by the key its size calls for ([`LogPolicy::open`]), then the witness quorum.
    pub fn verify(&self, message: &[u8]) -> Result<TrustedCheckpoint, PolicyError> {
        let signed = self.open(message)?;
        self.verify_cosignatures(signed)
    }

    /// Applies the witness quorum to a checkpoint whose log signature is already verified
    /// (by [`LogPolicy::open`]). Each witness counts once: with a valid cosignature by its
    /// current key, or by an earlier key of it made before that key's `until`.
    pub fn verify_cosignatures(
        &self,
        signed: SignedCheckpoint,
    ) -> Result<TrustedCheckpoint, PolicyError> {
        let text = signed.note.text.as_str();
        let mut cosigners = Vec::new();
        let mut invalid = Vec::new();
        let mut missing = Vec::new();
        for witness in &self.witnesses {
            let mut lines = signed.note.signatures.iter().filter(|s| s.is_by(witness));
            let mut verified = None;
            let mut any = false;
            for line in lines.by_ref() {
                any = true;
                if let Ok(timestamp) = cosignature::verify(witness, text, line) {
                    verified = Some(timestamp);
                    break;
                }
            }
            let mut late = false;
            if verified.is_none() && !self.previous_witness_keys.is_empty() {
                let seen;
                (verified, late, seen) =
                    self.earlier_cosignature(witness, text, &signed.note.signatures);
                any |= seen;
            }
            match (verified, any) {
                (Some(timestamp), _) => cosigners.push(Cosigner {
                    name: witness.name().to_string(),
                    timestamp,
                }),
                (None, true) if late => invalid.push(format!(
                    "{} (earlier witness key, cosigned after its rotation)",
                    witness.name()
                )),
                (None, true) => invalid.push(witness.name().to_string()),
                (None, false) => missing.push(witness.name().to_string()),
            }
        }
        if cosigners.len() < self.quorum {
            return Err(PolicyError::QuorumNotMet(QuorumShortfall {
                required: self.quorum,
                cosigned_by: cosigners.into_iter().map(|c| c.name).collect(),
                invalid,
                missing,
            }));
        }
        Ok(TrustedCheckpoint {
            checkpoint: signed.checkpoint,
            note: signed.note,
            cosigners,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Hash;
    use crate::key::SigningKey;

    struct Fixture {
        log: SigningKey,
        witnesses: Vec<SigningKey>,
    }

    fn fixture() -> Fixture {
        Fixture {
            log: SigningKey::from_seed("net/log", KeyType::Ed25519, [1; 32]).unwrap(),
            witnesses: (0..3)
                .map(|i| {
                    SigningKey::from_seed(
                        &format!("net/w{i}/witness"),
                        KeyType::Cosignature,
                        [10 + i; 32],
                    )
                    .unwrap()
                })
                .collect(),
        }
    }

    fn cosigned(f: &Fixture, by: &[usize]) -> String {
        let cp = Checkpoint::new("net/log", 5, Hash::digest(b"root"));
        let mut note = cp.sign(&f.log).unwrap();
        for &i in by {
            note.signatures.push(
                cosignature::cosign(&f.witnesses[i], &note.text, 1_800_000_000 + i as u64).unwrap(),
            );
        }
        note.to_text()
    }

    fn policy(f: &Fixture, quorum: usize) -> LogPolicy {
        LogPolicy::new(
            f.log.verifier(),
            f.witnesses.iter().map(|w| w.verifier()).collect(),
            quorum,
        )
        .unwrap()
    }

    #[test]
    fn quorum_met_is_trusted() {
        let f = fixture();
        let trusted = policy(&f, 2)
            .verify(cosigned(&f, &[0, 2]).as_bytes())
            .unwrap();
        assert_eq!(trusted.cosigners.len(), 2);
        assert_eq!(trusted.cosigners[1].timestamp, 1_800_000_002);
    }

    #[test]
    fn quorum_short_says_who_is_missing() {
        let f = fixture();
        let err = policy(&f, 2)
            .verify(cosigned(&f, &[1]).as_bytes())
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("1 valid witness cosignature(s), 2 required"),
            "{text}"
        );
        assert!(
            text.contains("missing: net/w0/witness, net/w2/witness"),
            "{text}"
        );
    }

    #[test]
    fn invalid_cosignature_is_reported_not_counted() {
        let f = fixture();
        let mut note = Note::parse(cosigned(&f, &[0, 1]).as_bytes()).unwrap();
        note.signatures[2].signature[20] ^= 0x40;
        let err = policy(&f, 2).verify(note.to_text().as_bytes()).unwrap_err();
        assert!(
            err.to_string()
                .contains("invalid cosignature from: net/w1/witness")
        );
        assert!(policy(&f, 1).verify(note.to_text().as_bytes()).is_ok());
    }

    #[test]
    fn wrong_log_or_bad_policy_is_refused() {
        let f = fixture();
        let other = SigningKey::from_seed("net/log", KeyType::Ed25519, [2; 32]).unwrap();
        let p = LogPolicy::new(other.verifier(), vec![], 0).unwrap();
        assert!(matches!(
            p.verify(cosigned(&f, &[]).as_bytes()),
            Err(PolicyError::Checkpoint(_))
        ));
        let witnesses = f.witnesses.iter().map(|w| w.verifier()).collect();
        assert!(LogPolicy::new(f.log.verifier(), witnesses, 4).is_err());
        assert!(LogPolicy::new(f.log.verifier(), vec![f.log.verifier()], 1).is_err());
    }
}
