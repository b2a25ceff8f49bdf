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

use std::fmt;

use crate::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use crate::cosignature;
use crate::key::{KeyType, VerifierKey};
use crate::note::Note;

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogPolicy {
    log_key: VerifierKey,
    witnesses: Vec<VerifierKey>,
    quorum: usize,
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
        })
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

    /// Parses a cosigned checkpoint note and decides whether it is trusted.
    pub fn verify(&self, message: &[u8]) -> Result<TrustedCheckpoint, PolicyError> {
        let signed = SignedCheckpoint::open(message, &self.log_key)?;
        self.verify_cosignatures(signed)
    }

    /// Applies the witness quorum to a checkpoint whose log signature is already verified.
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
            match (verified, any) {
                (Some(timestamp), _) => cosigners.push(Cosigner {
                    name: witness.name().to_string(),
                    timestamp,
                }),
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
