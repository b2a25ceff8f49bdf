//! Signatures on records: the operator's, and attestations by other parties.
//!
//! Every signature is a raw Ed25519 signature over [`signing_bytes`], the JCS bytes of the
//! record without `signatures`, so adding an attestation never invalidates the others. The
//! publisher's operator always signs (who published is part of the public record); village
//! committees, townships and auditors attest by adding theirs. A record is accepted only if
//! every signature is by an accepted key and valid, and at least one is by an operator.
//!
//! Keys can be revoked from an index of the log on (DESIGN §6b): records logged before that
//! index keep their signatures, later ones do not count. [`AcceptedKeys`] as the genesis gives
//! it is what a *new* submission is checked against, so a revoked key is refused outright;
//! [`AcceptedKeys::at_index`] gives the keys that count for an entry already at an index.

use std::collections::BTreeMap;

use super::canonical::signing_bytes;
use super::envelope::{Record, RecordSignature, SignatureBytes, SignedRecord};
use super::error::{RecordError, index, join};
use super::types::Code;
use crate::key::{KeyType, SigningKey, VerifierKey};

/// The keys whose signatures count on one log's records: its operators, and attestors with
/// the role they sign in (e.g. `village_committee`, `township`, `auditor`). In a network these
/// come from the genesis file (DESIGN §6).
///
/// It also knows the log's revoked keys ([`Revocation`]). As built, it is the set a new
/// submission is checked against: a revoked key is refused, with a message naming the
/// revocation. For an entry already logged at index `i`, check against
/// [`AcceptedKeys::at_index`]`(i)`, which accepts a revoked key on entries before its
/// `from_index`.
#[derive(Debug, Clone, Default)]
pub struct AcceptedKeys {
    operators: Vec<VerifierKey>,
    attestors: Vec<(VerifierKey, Code)>,
    revoked: Vec<Revocation>,
}

/// An operator or attestor key whose signatures count only on entries before `from_index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The revoked key.
    pub key: VerifierKey,
    /// `None` for an operator key; the role for an attestor key.
    pub role: Option<Code>,
    /// The first index of the log at which the key's signatures no longer count.
    pub from_index: u64,
    /// The genesis version that revoked the key, when known (it is named in messages).
    pub genesis_version: Option<u64>,
}

impl Revocation {
    /// Whether a signature by the key counts on the entry at `index`.
    pub fn counts_at(&self, index: u64) -> bool {
        index < self.from_index
    }

    /// `operator key <name>` or `<role> attestor key <name>`.
    pub fn describe_key(&self) -> String {
        match &self.role {
            None => format!("operator key {}", self.key.name()),
            Some(role) => format!("{role} attestor key {}", self.key.name()),
        }
    }

    /// `revoked from index N (genesis version k)`, the version omitted when unknown.
    pub fn describe_point(&self) -> String {
        match self.genesis_version {
            Some(v) => format!(
                "revoked from index {} (genesis version {v})",
                self.from_index
            ),
            None => format!("revoked from index {}", self.from_index),
        }
    }
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

    /// Records that operator key `key` is revoked from index `from_index` of the log.
    pub fn with_revoked_operator(self, key: VerifierKey, from_index: u64) -> Self {
        self.with_revocation(Revocation {
            key,
            role: None,
            from_index,
            genesis_version: None,
        })
    }

    /// Records that attestor key `key`, signing in `role`, is revoked from index `from_index`.
    pub fn with_revoked_attestor(self, key: VerifierKey, role: Code, from_index: u64) -> Self {
        self.with_revocation(Revocation {
            key,
            role: Some(role),
            from_index,
            genesis_version: None,
        })
    }

    /// Records a revocation with all its details (the genesis version is named in messages).
    pub fn with_revocation(mut self, revocation: Revocation) -> Self {
        self.revoked.push(revocation);
        self
    }

    /// The revoked keys, in the order recorded.
    pub fn revocations(&self) -> &[Revocation] {
        &self.revoked
    }

    /// The revocation of `key`, if this set lists it as revoked.
    pub fn revocation(&self, key: &VerifierKey) -> Option<&Revocation> {
        self.revoked.iter().find(|r| &r.key == key)
    }

    /// The keys whose signatures count on the entry at `index` of the log: the accepted keys,
    /// plus each revoked key whose `from_index` is above `index`. Revocations that apply at
    /// `index` are kept, so a refusal still names them.
    pub fn at_index(&self, index: u64) -> AcceptedKeys {
        let mut keys = AcceptedKeys {
            operators: self.operators.clone(),
            attestors: self.attestors.clone(),
            revoked: Vec::new(),
        };
        for r in &self.revoked {
            match (&r.role, r.counts_at(index)) {
                (None, true) => keys.operators.push(r.key.clone()),
                (Some(role), true) => keys.attestors.push((r.key.clone(), role.clone())),
                (_, false) => keys.revoked.push(r.clone()),
            }
        }
        keys
    }

    /// Every key that ever counted, revoked ones included in their roles, with the
    /// revocations kept: what the audit checks signers against before flagging late uses.
    pub(crate) fn ever_accepted(&self) -> AcceptedKeys {
        let mut keys = self.clone();
        for r in &self.revoked {
            match &r.role {
                None => keys.operators.push(r.key.clone()),
                Some(role) => keys.attestors.push((r.key.clone(), role.clone())),
            }
        }
        keys
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

    /// Who signed, in words for a report: `operator <key name>` for each operator, then
    /// `<role> <key name>` for each attestation, in record order.
    pub fn signers(&self) -> Vec<String> {
        let operators = self
            .operators
            .iter()
            .map(|k| format!("operator {}", k.name()));
        let attestors = self
            .attestations
            .iter()
            .map(|a| format!("{} {}", a.role, a.signer.name()));
        operators.chain(attestors).collect()
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
        } else if let Some(revocation) = keys.revocation(signer) {
            return Err(RecordError::new(
                join(&index("signatures", i), "signer"),
                revoked_message(revocation),
            ));
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

/// Why a signature by a revoked key does not count, and what to do.
pub(crate) fn revoked_message(revocation: &Revocation) -> String {
    let what = match &revocation.role {
        None => "sign with a current operator key".to_string(),
        Some(role) => format!("attest with a current {role} key"),
    };
    format!(
        "{} was {}; {what}",
        revocation.describe_key(),
        revocation.describe_point()
    )
}

/// Verifies a record's signatures against the accepted keys: every signer accepted, each
/// signature valid (strict Ed25519), at least one operator.
pub fn verify_signatures(
    record: &SignedRecord,
    keys: &AcceptedKeys,
) -> Result<VerifiedSignatures, RecordError> {
    prepare_signatures(record, keys)?.verify()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> VerifierKey {
        SigningKey::from_seed(name, KeyType::Ed25519, [name.len() as u8; 32])
            .unwrap()
            .verifier()
    }

    #[test]
    fn revocations_apply_from_their_index() {
        let role = Code::parse("township").unwrap();
        let (old_op, op, old_att) = (
            key("n/c/operator/a"),
            key("n/c/operator/bb"),
            key("n/c/township/ccc"),
        );
        let keys = AcceptedKeys::new()
            .with_operator(op.clone())
            .with_revoked_operator(old_op.clone(), 10)
            .with_revoked_attestor(old_att.clone(), role.clone(), 0);
        assert!(!keys.is_operator(&old_op) && keys.revocation(&old_op).is_some());
        let before = keys.at_index(9);
        assert!(before.is_operator(&old_op) && before.is_operator(&op));
        assert!(before.revocation(&old_op).is_none());
        assert_eq!(before.attestor_role(&old_att), None);
        assert!(before.revocation(&old_att).is_some());
        let after = keys.at_index(10);
        assert!(!after.is_operator(&old_op));
        assert_eq!(after.revocations().len(), 2);
        let ever = keys.ever_accepted();
        assert!(ever.is_operator(&old_op));
        assert_eq!(ever.attestor_role(&old_att), Some(&role));
        assert_eq!(ever.revocations(), keys.revocations());
        let r = keys.revocation(&old_att).unwrap();
        assert_eq!(r.describe_key(), "township attestor key n/c/township/ccc");
        assert_eq!(r.describe_point(), "revoked from index 0");
        assert!(!r.counts_at(0));
    }
}
