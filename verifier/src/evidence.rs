//! Portable evidence that a log showed two incompatible histories (DESIGN §3.8).
//!
//! A log key must never sign two checkpoints that no consistency proof can join. Evidence
//! that it did is two of its own signed checkpoints, plus, where the sizes differ, a
//! consistency proof:
//!
//! * **conflicting roots**: one origin, one size, two different roots, both signed;
//! * **inconsistent history**: signed checkpoints of sizes `m < n`, and a consistency proof
//!   that links some root `X` at size `m` to the signed size-`n` root, where `X` differs from
//!   the signed size-`m` root. The log's size-`n` tree therefore does not extend its size-`m`
//!   tree. (The proof is computed by whoever holds the size-`n` entries, e.g. a mirror.)
//!
//! Evidence is checked offline with nothing but the log's verifier key, which the genesis file
//! provides. Its JSON form is what nodes gossip and what `daylight evidence verify` reads.
//!
//! The two checkpoints prove the same in either order. Evidence is written in a canonical
//! order (conflicting roots by root, an inconsistent history the smaller tree first), and
//! [`Evidence::from_json`] reads a document into that order, so one piece of evidence has one
//! [`Evidence::id`] however it was received; [`Evidence::verify`] accepts either order.

use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use crate::hash::Hash;
use crate::key::VerifierKey;
use crate::merkle::{ProofError, verify_consistency};
use crate::note::Note;
use crate::policy::LogPolicy;

/// The `format` field of every evidence document.
pub const EVIDENCE_FORMAT: &str = "daylight-evidence/v1";

/// Why evidence was refused (it proves nothing) or could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The JSON document is malformed.
    #[error("malformed evidence document: {0}")]
    Malformed(String),
    /// One of the checkpoints is malformed or not signed by the log key.
    #[error("evidence checkpoint {which}: {source}")]
    Checkpoint {
        /// "first" or "second".
        which: &'static str,
        /// What is wrong with it.
        source: CheckpointError,
    },
    /// The checkpoints do not have the shape the evidence form needs.
    #[error("not evidence of misbehaviour: {0}")]
    NotMisbehaviour(String),
    /// The consistency proof does not link the claimed root to the newer checkpoint.
    #[error("consistency proof does not link the claimed old root to the newer checkpoint: {0}")]
    Proof(ProofError),
}

/// The two forms of evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// Same size, different roots.
    ConflictingRoots,
    /// A larger tree whose prefix is not the smaller signed tree.
    InconsistentHistory,
}

/// Evidence of misbehaviour, as exchanged (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Always [`EVIDENCE_FORMAT`].
    pub format: String,
    /// Which form of evidence this is.
    pub kind: EvidenceKind,
    /// The origin of the misbehaving log.
    pub origin: String,
    /// The two signed checkpoint notes, verbatim. Either order proves the same; the canonical
    /// order, in which evidence is built and read, is by root for conflicting roots and the
    /// smaller tree first for an inconsistent history.
    pub checkpoints: [String; 2],
    /// For an inconsistent history: the consistency proof from `proven_old_root` to the second
    /// checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency_proof: Option<Vec<Hash>>,
    /// For an inconsistent history: the root at the first checkpoint's size that the second
    /// checkpoint's tree really has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proven_old_root: Option<Hash>,
}

/// What verified evidence shows, for people and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceSummary {
    /// The misbehaving log.
    pub origin: String,
    /// The form of the evidence.
    pub kind: EvidenceKind,
    /// The two signed (size, root) pairs.
    pub signed: [(u64, Hash); 2],
}

impl std::fmt::Display for EvidenceSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [(m, a), (n, b)] = &self.signed;
        match self.kind {
            EvidenceKind::ConflictingRoots => write!(
                f,
                "log {} signed two different trees of size {m}: roots {a} and {b}",
                self.origin
            ),
            EvidenceKind::InconsistentHistory => write!(
                f,
                "log {} signed a tree of size {n} (root {b}) that does not extend its signed tree of size {m} (root {a})",
                self.origin
            ),
        }
    }
}

/// Whether `a` then `b` is the canonical order of two checkpoints in evidence of `kind`.
fn in_canonical_order(kind: EvidenceKind, a: &Checkpoint, b: &Checkpoint) -> bool {
    match kind {
        EvidenceKind::ConflictingRoots => a.root <= b.root,
        EvidenceKind::InconsistentHistory => a.size <= b.size,
    }
}

/// The checkpoint body of a note, read for its structure only (no signature checked).
fn body(note: &str) -> Option<Checkpoint> {
    let note = Note::parse(note.as_bytes()).ok()?;
    Checkpoint::parse(&note.text).ok()
}

fn open(
    note: &str,
    key: &VerifierKey,
    which: &'static str,
) -> Result<SignedCheckpoint, EvidenceError> {
    SignedCheckpoint::open(note.as_bytes(), key)
        .map_err(|source| EvidenceError::Checkpoint { which, source })
}

impl Evidence {
    /// Builds conflicting-roots evidence from two signed checkpoints of one size.
    pub fn conflicting_roots(
        a: &SignedCheckpoint,
        b: &SignedCheckpoint,
    ) -> Result<Evidence, EvidenceError> {
        let (ca, cb) = (&a.checkpoint, &b.checkpoint);
        if ca.origin != cb.origin || ca.size != cb.size || ca.root == cb.root {
            return Err(EvidenceError::NotMisbehaviour(
                "conflicting-roots evidence needs one origin, one size and two different roots"
                    .into(),
            ));
        }
        let (first, second) = if ca.root < cb.root { (a, b) } else { (b, a) };
        Ok(Evidence {
            format: EVIDENCE_FORMAT.into(),
            kind: EvidenceKind::ConflictingRoots,
            origin: ca.origin.clone(),
            checkpoints: [first.note.to_text(), second.note.to_text()],
            consistency_proof: None,
            proven_old_root: None,
        })
    }

    /// Builds inconsistent-history evidence: `newer`'s tree has root `proven_old_root` at
    /// `older`'s size (shown by `proof`), which is not the root `older` signed.
    pub fn inconsistent_history(
        older: &SignedCheckpoint,
        newer: &SignedCheckpoint,
        proven_old_root: Hash,
        proof: Vec<Hash>,
    ) -> Result<Evidence, EvidenceError> {
        let (co, cn) = (&older.checkpoint, &newer.checkpoint);
        if co.origin != cn.origin || co.size >= cn.size || co.root == proven_old_root {
            return Err(EvidenceError::NotMisbehaviour(
                "inconsistent-history evidence needs one origin, a smaller then a larger size, \
                 and a proven old root that differs from the signed one"
                    .into(),
            ));
        }
        verify_consistency(co.size, cn.size, &proven_old_root, &cn.root, &proof)
            .map_err(EvidenceError::Proof)?;
        Ok(Evidence {
            format: EVIDENCE_FORMAT.into(),
            kind: EvidenceKind::InconsistentHistory,
            origin: co.origin.clone(),
            checkpoints: [older.note.to_text(), newer.note.to_text()],
            consistency_proof: Some(proof),
            proven_old_root: Some(proven_old_root),
        })
    }

    /// The JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("evidence always serializes")
    }

    /// Parses a JSON evidence document (structure only; see [`Evidence::verify`]), with its
    /// checkpoints put in canonical order ([`Evidence::canonicalize`]).
    pub fn from_json(bytes: &[u8]) -> Result<Evidence, EvidenceError> {
        let mut evidence: Evidence =
            serde_json::from_slice(bytes).map_err(|e| EvidenceError::Malformed(e.to_string()))?;
        if evidence.format != EVIDENCE_FORMAT {
            return Err(EvidenceError::Malformed(format!(
                "format must be {EVIDENCE_FORMAT:?}, got {:?}",
                evidence.format
            )));
        }
        evidence.canonicalize();
        Ok(evidence)
    }

    /// Puts the two checkpoints in canonical order (conflicting roots by root, an inconsistent
    /// history the smaller tree first), so that the same evidence received in either order
    /// has the same JSON and [`Evidence::id`]. Checkpoints that do not parse are left as they
    /// are, for [`Evidence::verify`] to refuse.
    pub fn canonicalize(&mut self) {
        if let (Some(a), Some(b)) = (body(&self.checkpoints[0]), body(&self.checkpoints[1]))
            && !in_canonical_order(self.kind, &a, &b)
        {
            self.checkpoints.swap(0, 1);
        }
    }

    /// Checks the evidence against the log's key: both checkpoints are signed by it and
    /// together prove the log signed incompatible views. The checkpoints may come in either
    /// order; the summary lists them in canonical order.
    pub fn verify(&self, log_key: &VerifierKey) -> Result<EvidenceSummary, EvidenceError> {
        self.verify_with(log_key.name(), |_| log_key)
    }

    /// Checks the evidence against a log's whole key history (a genesis chain's latest
    /// policy): each checkpoint must be signed by the key the policy names for its size, so a
    /// log that rotated its key is held to each statement under the key that made it.
    pub fn verify_under(&self, policy: &LogPolicy) -> Result<EvidenceSummary, EvidenceError> {
        self.verify_with(policy.origin(), |size| policy.log_key_for(size))
    }

    fn verify_with<'k>(
        &self,
        origin: &str,
        key_for_size: impl Fn(u64) -> &'k VerifierKey,
    ) -> Result<EvidenceSummary, EvidenceError> {
        if self.origin != origin {
            return Err(EvidenceError::NotMisbehaviour(format!(
                "evidence is about log {:?}, the key given is for {origin:?}",
                self.origin,
            )));
        }
        let size_of = |note: &str| body(note).map_or(0, |c| c.size);
        let mut first = open(
            &self.checkpoints[0],
            key_for_size(size_of(&self.checkpoints[0])),
            "first",
        )?;
        let mut second = open(
            &self.checkpoints[1],
            key_for_size(size_of(&self.checkpoints[1])),
            "second",
        )?;
        // Two conflicting statements prove the same whichever is read first.
        if !in_canonical_order(self.kind, &first.checkpoint, &second.checkpoint) {
            std::mem::swap(&mut first, &mut second);
        }
        match self.kind {
            EvidenceKind::ConflictingRoots => {
                if self.consistency_proof.is_some() || self.proven_old_root.is_some() {
                    return Err(EvidenceError::Malformed(
                        "conflicting-roots evidence carries no proof".into(),
                    ));
                }
                Evidence::conflicting_roots(&first, &second)?;
            }
            EvidenceKind::InconsistentHistory => {
                let (Some(proof), Some(root)) = (&self.consistency_proof, self.proven_old_root)
                else {
                    return Err(EvidenceError::Malformed(
                        "inconsistent-history evidence needs consistency_proof and proven_old_root"
                            .into(),
                    ));
                };
                Evidence::inconsistent_history(&first, &second, root, proof.clone())?;
            }
        }
        Ok(EvidenceSummary {
            origin: self.origin.clone(),
            kind: self.kind,
            signed: [
                (first.checkpoint.size, first.checkpoint.root),
                (second.checkpoint.size, second.checkpoint.root),
            ],
        })
    }

    /// The identity of this evidence: SHA-256 of its JSON, for de-duplication in storage and
    /// gossip.
    pub fn id(&self) -> Hash {
        Hash::digest(self.to_json().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::key::{KeyType, SigningKey};
    use crate::merkle::{MemoryHashStore, append_batch, leaf_hash, prove_consistency, tree_hash};

    const ORIGIN: &str = "demo.daylight/county-1";

    fn log_key() -> SigningKey {
        SigningKey::from_seed(ORIGIN, KeyType::Ed25519, [7; 32]).unwrap()
    }

    fn signed(size: u64, root: Hash) -> SignedCheckpoint {
        let note = Checkpoint::new(ORIGIN, size, root)
            .sign(&log_key())
            .unwrap();
        SignedCheckpoint::open(note.to_text().as_bytes(), &log_key().verifier()).unwrap()
    }

    fn tree(prefix: &str, n: usize) -> MemoryHashStore {
        let leaves: Vec<Hash> = (0..n)
            .map(|i| leaf_hash(format!("{prefix}-{i}").as_bytes()))
            .collect();
        let mut store = MemoryHashStore::new();
        store.extend(append_batch(0, &leaves, &store).unwrap());
        store
    }

    #[test]
    fn evidence_is_checked_under_the_key_each_checkpoint_size_was_signed_with() {
        // county-1 rotated its log key after size 3: sizes up to 3 are the old key's.
        let new_key = SigningKey::from_seed(ORIGIN, KeyType::Ed25519, [8; 32]).unwrap();
        let policy = LogPolicy::new(new_key.verifier(), vec![], 0)
            .unwrap()
            .with_previous_log_key(log_key().verifier(), 3, Hash::digest(b"point"))
            .unwrap();
        let by_new = |size: u64, root: &[u8]| {
            let note = Checkpoint::new(ORIGIN, size, Hash::digest(root))
                .sign(&new_key)
                .unwrap();
            SignedCheckpoint::open(note.to_text().as_bytes(), &new_key.verifier()).unwrap()
        };
        let after = Evidence::conflicting_roots(&by_new(9, b"a"), &by_new(9, b"b")).unwrap();
        assert!(after.verify_under(&policy).is_ok());
        assert!(after.verify(&log_key().verifier()).is_err());
        let before = Evidence::conflicting_roots(
            &signed(2, Hash::digest(b"a")),
            &signed(2, Hash::digest(b"b")),
        )
        .unwrap();
        assert!(before.verify_under(&policy).is_ok());
        // The new key's statements about the old key's stretch are not the log's.
        let forged = Evidence::conflicting_roots(&by_new(2, b"a"), &by_new(2, b"b")).unwrap();
        assert!(forged.verify_under(&policy).is_err());
    }

    #[test]
    fn conflicting_roots_round_trip_and_verify() {
        let a = signed(5, Hash::digest(b"a"));
        let b = signed(5, Hash::digest(b"b"));
        let evidence = Evidence::conflicting_roots(&a, &b).unwrap();
        assert_eq!(evidence, Evidence::conflicting_roots(&b, &a).unwrap());
        let parsed = Evidence::from_json(evidence.to_json().as_bytes()).unwrap();
        let summary = parsed.verify(&log_key().verifier()).unwrap();
        assert!(
            summary
                .to_string()
                .contains("two different trees of size 5")
        );
        assert!(Evidence::conflicting_roots(&a, &a).is_err());
    }

    #[test]
    fn inconsistent_history_verifies() {
        // The log showed tree "honest" at size 6 to one peer and tree "forked" at size 9 to
        // another; a mirror of the forked tree proves what its size-6 root really is.
        let honest = tree("honest", 6);
        let forked = tree("forked", 9);
        let older = signed(6, tree_hash(6, &honest).unwrap());
        let newer = signed(9, tree_hash(9, &forked).unwrap());
        let proof = prove_consistency(6, 9, &forked).unwrap();
        let x = tree_hash(6, &forked).unwrap();
        let evidence = Evidence::inconsistent_history(&older, &newer, x, proof.clone()).unwrap();
        let summary = Evidence::from_json(evidence.to_json().as_bytes())
            .unwrap()
            .verify(&log_key().verifier())
            .unwrap();
        assert_eq!(summary.kind, EvidenceKind::InconsistentHistory);

        // An honest log's checkpoints are not evidence.
        let honest_newer = signed(9, tree_hash(9, &forked).unwrap());
        let honest_older = signed(6, x);
        assert!(
            Evidence::inconsistent_history(&honest_older, &honest_newer, x, proof.clone()).is_err()
        );
        // A proof that does not link X to the newer root proves nothing.
        let mut wrong = proof;
        wrong[0].0[0] ^= 1;
        assert!(matches!(
            Evidence::inconsistent_history(&older, &newer, x, wrong),
            Err(EvidenceError::Proof(_))
        ));
    }

    #[test]
    fn either_order_of_the_two_checkpoints_proves_misbehaviour() {
        let key = log_key().verifier();
        // Conflicting roots, the checkpoints swapped by hand (as another implementation or a
        // person assembling evidence might write them).
        let a = signed(5, Hash::digest(b"a"));
        let b = signed(5, Hash::digest(b"b"));
        let canonical = Evidence::conflicting_roots(&a, &b).unwrap();
        let mut swapped = canonical.clone();
        swapped.checkpoints.swap(0, 1);
        assert_ne!(swapped, canonical);
        let summary = swapped
            .verify(&key)
            .expect("swapped conflicting roots prove it");
        assert_eq!(summary, canonical.verify(&key).unwrap());
        assert!(
            summary
                .to_string()
                .contains("two different trees of size 5")
        );
        // Read from JSON, either order is the same document with the same id.
        let read = Evidence::from_json(swapped.to_json().as_bytes()).unwrap();
        assert_eq!(read, canonical);
        assert_eq!(read.id(), canonical.id());

        // Inconsistent history, the larger tree first.
        let honest = tree("honest", 6);
        let forked = tree("forked", 9);
        let older = signed(6, tree_hash(6, &honest).unwrap());
        let newer = signed(9, tree_hash(9, &forked).unwrap());
        let proof = prove_consistency(6, 9, &forked).unwrap();
        let x = tree_hash(6, &forked).unwrap();
        let canonical = Evidence::inconsistent_history(&older, &newer, x, proof).unwrap();
        let mut swapped = canonical.clone();
        swapped.checkpoints.swap(0, 1);
        let summary = swapped.verify(&key).expect("swapped history proves it");
        assert_eq!(summary.kind, EvidenceKind::InconsistentHistory);
        assert_eq!(summary.signed[0].0, 6);
        assert_eq!(summary.signed[1].0, 9);
        let read = Evidence::from_json(swapped.to_json().as_bytes()).unwrap();
        assert_eq!(read.id(), canonical.id());

        // Swapping does not make non-evidence into evidence: two checkpoints of one tree.
        let same = signed(5, Hash::digest(b"a"));
        let mut not_evidence = Evidence::conflicting_roots(&a, &b).unwrap();
        not_evidence.checkpoints = [same.note.to_text(), a.note.to_text()];
        assert!(not_evidence.verify(&key).is_err());
    }

    #[test]
    fn forged_or_foreign_evidence_is_refused() {
        let a = signed(5, Hash::digest(b"a"));
        let b = signed(5, Hash::digest(b"b"));
        let mut evidence = Evidence::conflicting_roots(&a, &b).unwrap();
        let other = SigningKey::from_seed(ORIGIN, KeyType::Ed25519, [8; 32]).unwrap();
        assert!(matches!(
            evidence.verify(&other.verifier()),
            Err(EvidenceError::Checkpoint { .. })
        ));
        evidence.checkpoints[1] = evidence.checkpoints[1].replacen('5', "6", 1);
        assert!(evidence.verify(&log_key().verifier()).is_err());
        assert!(Evidence::from_json(b"{\"format\":\"x\"}").is_err());
    }
}
