//! Signatures on records: the operator's, and attestations by other parties.
//!
//! Every signature is a raw Ed25519 signature over [`signing_bytes`], the JCS bytes of the
//! record without `signatures`, so adding an attestation never invalidates the others. The
//! publisher's operator always signs (who published is part of the public record); village
//! committees, townships and auditors attest by adding theirs. A record is accepted only if
//! every signature is by an accepted key and valid, and at least one is by an operator.

use std::collections::BTreeMap;

use super::canonical::signing_bytes;
use super::envelope::{Record, RecordSignature, SignatureBytes, SignedRecord};
use super::error::{RecordError, index, join};
use super::types::Code;
use crate::key::{KeyType, SigningKey, VerifierKey};

/// The keys whose signatures count on one log's records: its operators, and attestors with
/// the role they sign in (e.g. `village_committee`, `township`, `auditor`). In a network these
/// come from the genesis file (DESIGN §6).
#[derive(Debug, Clone, Default)]
pub struct AcceptedKeys {
    operators: Vec<VerifierKey>,
    attestors: Vec<(VerifierKey, Code)>,
}

impl AcceptedKeys {
    /// No keys accepted yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts `key` as an operator of the log (its signature publishes).
    pub fn with_operator(mut self, key: VerifierKey) -> Self {
        self.operators.push(key);
        self
    }

    /// Accepts `key` as an attestor signing in `role`.
    pub fn with_attestor(mut self, key: VerifierKey, role: Code) -> Self {
        self.attestors.push((key, role));
        self
    }

    /// The role of `key` if it is an accepted attestor.
    pub fn attestor_role(&self, key: &VerifierKey) -> Option<&Code> {
        self.attestors
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, role)| role)
    }

    /// Whether `key` is an accepted operator.
    pub fn is_operator(&self, key: &VerifierKey) -> bool {
        self.operators.contains(key)
    }
}

/// One valid attestation on a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// Who attested.
    pub signer: VerifierKey,
    /// In which role.
    pub role: Code,
}

/// What the signatures of an accepted record established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignatures {
    /// The operator keys that signed (at least one).
    pub operators: Vec<VerifierKey>,
    /// The attestations, in record order.
    pub attestations: Vec<Attestation>,
}

impl VerifiedSignatures {
    /// How many attestations each role gave, e.g. a household exit needs its sign-offs.
    pub fn roles(&self) -> BTreeMap<Code, usize> {
        let mut roles = BTreeMap::new();
        for a in &self.attestations {
            *roles.entry(a.role.clone()).or_insert(0) += 1;
        }
        roles
    }

    /// The number of attestations (excluding operators).
    pub fn attestation_count(&self) -> usize {
        self.attestations.len()
    }
}

/// One signature by `key` over `record`.
pub fn signature(record: &Record, key: &SigningKey) -> RecordSignature {
    RecordSignature {
        signer: key.verifier(),
        sig: SignatureBytes(key.sign_raw(&signing_bytes(record))),
    }
}

impl Record {
    /// Signs the record with the operator's key, making it a [`SignedRecord`].
    pub fn sign(self, operator: &SigningKey) -> SignedRecord {
        let first = signature(&self, operator);
        SignedRecord {
            record: self,
            signatures: vec![first],
        }
    }
}

impl SignedRecord {
    /// Adds an attestation by `key`. Existing signatures stay valid: they cover the record
    /// without signatures.
    pub fn attest(&mut self, key: &SigningKey) {
        let sig = signature(&self.record, key);
        self.signatures.push(sig);
    }
}

/// A record's signatures with every check done except the Ed25519 arithmetic: each signer is
/// an accepted key of the right type, signs once, and an operator is among them. The
/// remaining work, [`PendingSignatures::verify`] or a batch over many records, is what makes
/// it [`VerifiedSignatures`].
#[derive(Debug, Clone)]
pub struct PendingSignatures {
    /// The bytes every signature covers ([`signing_bytes`]).
    pub message: Vec<u8>,
    /// Each signer with its signature, in record order.
    pub signatures: Vec<(VerifierKey, [u8; 64])>,
    /// Who signed in which role, once the signatures verify.
    pub roles: VerifiedSignatures,
}

impl PendingSignatures {
    /// Verifies each signature (strict Ed25519), naming the first that fails.
    pub fn verify(self) -> Result<VerifiedSignatures, RecordError> {
        for (i, (signer, sig)) in self.signatures.iter().enumerate() {
            if !signer.verify_raw(&self.message, sig) {
                let who = if self.roles.operators.contains(signer) {
                    "operator".to_string()
                } else {
                    self.roles
                        .attestations
                        .iter()
                        .find(|a| &a.signer == signer)
                        .map_or("attestor".to_string(), |a| format!("{} attestor", a.role))
                };
                return Err(RecordError::new(
                    join(&index("signatures", i), "sig"),
                    format!(
                        "is not a valid signature by {who} {} over this record: the record was changed after signing, or signed by another key",
                        signer.name()
                    ),
                ));
            }
        }
        Ok(self.roles)
    }
}

/// Checks who signed a record, leaving the Ed25519 verification to the caller (see
/// [`PendingSignatures`]). Fails on an unaccepted, repeated or wrong-type signer, or when no
/// operator signed.
pub fn prepare_signatures(
    record: &SignedRecord,
    keys: &AcceptedKeys,
) -> Result<PendingSignatures, RecordError> {
    prepare_signatures_over(record, keys, || signing_bytes(&record.record))
}

/// [`prepare_signatures`] with the signing bytes from `message`, called once the signers
/// pass: a caller that holds the record's entry bytes cuts them from there instead of
/// serializing the record again. `message` must return [`signing_bytes`] of the record.
pub(crate) fn prepare_signatures_over(
    record: &SignedRecord,
    keys: &AcceptedKeys,
    message: impl FnOnce() -> Vec<u8>,
) -> Result<PendingSignatures, RecordError> {
    let mut roles = VerifiedSignatures {
        operators: Vec::with_capacity(1),
        attestations: Vec::new(),
    };
    for (i, sig) in record.signatures.iter().enumerate() {
        let signer = &sig.signer;
        if signer.key_type() != KeyType::Ed25519 {
            return Err(RecordError::new(
                join(&index("signatures", i), "signer"),
                "must be an Ed25519 note key (type 0x01), not a witness cosignature key",
            ));
        }
        if let Some(j) = record.signatures[..i]
            .iter()
            .position(|s| &s.signer == signer)
        {
            return Err(RecordError::new(
                join(&index("signatures", i), "signer"),
                format!(
                    "{} already signed at signatures[{j}]: each key signs once",
                    signer.name()
                ),
            ));
        }
        if keys.is_operator(signer) {
            roles.operators.push(signer.clone());
        } else if let Some(role) = keys.attestor_role(signer) {
            roles.attestations.push(Attestation {
                signer: signer.clone(),
                role: role.clone(),
            });
        } else {
            return Err(RecordError::new(
                join(&index("signatures", i), "signer"),
                format!(
                    "{} is not an accepted operator or attestor key of this log: check the key against the genesis file",
                    signer.name()
                ),
            ));
        }
    }
    if roles.operators.is_empty() {
        return Err(RecordError::new(
            "signatures",
            "no signature by an accepted operator key: the publishing member's operator must sign every record",
        ));
    }
    let message = message();
    debug_assert_eq!(
        message,
        signing_bytes(&record.record),
        "signing bytes given differ from the record's"
    );
    Ok(PendingSignatures {
        message,
        signatures: record
            .signatures
            .iter()
            .map(|s| (s.signer.clone(), s.sig.0))
            .collect(),
        roles,
    })
}

/// Verifies a record's signatures against the accepted keys: every signer accepted, each
/// signature valid (strict Ed25519), at least one operator.
pub fn verify_signatures(
    record: &SignedRecord,
    keys: &AcceptedKeys,
) -> Result<VerifiedSignatures, RecordError> {
    prepare_signatures(record, keys)?.verify()
}
