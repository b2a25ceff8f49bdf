//! The rules between two versions of a genesis (DESIGN §6b): version k+1 names version k,
//! keeps every member and all of its history, revokes rather than drops keys, is signed by
//! enough of version k's founders with the log keys version k lists, and by every key it
//! introduces (proof of possession).
//!
//! [`crate::GenesisChain`] applies [`verify_next`]; the amending tools use
//! [`check_continuity`] and [`signature_status`] to report early what a draft still lacks.

use std::collections::BTreeSet;

use daylight_verifier::key::VerifierKey;
use daylight_verifier::note;

use crate::definition::Definition;
use crate::error::GenesisError;
use crate::member::Member;
use crate::signed::{Genesis, SignedGenesis};

/// A key that a version introduces: it must sign that version (proof of possession).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    /// The member it is listed for.
    pub member: String,
    /// Where: `log_key`, `witness_key`, `operators[i]` or `attestors[i].key`.
    pub field: String,
    /// The key.
    pub key: VerifierKey,
}

/// Who has signed a later version so far, and who still must.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextSignatures {
    /// How many founders of the previous version must sign (its founder threshold).
    pub required: usize,
    /// The previous version's founders (ids) whose signature verified.
    pub founders_signed: Vec<String>,
    /// The previous version's founders without a valid signature yet.
    pub founders_unsigned: Vec<String>,
    /// The keys this version introduces that have not signed it yet.
    pub proofs_missing: Vec<NewKey>,
}

impl NextSignatures {
    /// Whether the version is completely signed: enough founders and every new key.
    pub fn is_complete(&self) -> bool {
        self.founders_signed.len() >= self.required && self.proofs_missing.is_empty()
    }
}

/// Checks that `next` is version k+1 of `previous`'s network, naming `previous`, and keeps
/// every continuity rule. Signatures are not looked at.
pub(crate) fn check_continuity(previous: &Genesis, next: &Definition) -> Result<(), GenesisError> {
    let sequence = next.sequence();
    if next.network() != previous.network() {
        return Err(GenesisError::WrongNetwork {
            sequence,
            expected: previous.network().to_string(),
            found: next.network().to_string(),
        });
    }
    if sequence != previous.sequence() + 1 {
        return Err(GenesisError::WrongSequence {
            expected: previous.sequence() + 1,
            found: sequence,
        });
    }
    if next.previous() != Some(previous.id()) {
        return Err(GenesisError::WrongPrevious {
            sequence,
            expected: previous.id().to_string(),
            found: next.previous().unwrap_or("nothing").to_string(),
        });
    }
    for old in previous.members() {
        let err = |field: &str, reason: String| GenesisError::Continuity {
            sequence,
            member: old.id.clone(),
            field: field.to_string(),
            reason,
        };
        let Some(new) = next.member(&old.id) else {
            return Err(err(
                "members",
                format!(
                    "the member of version {} is missing; a member is never removed from a network: keep it and retire it (`retired = {{ size, root }}` naming its last checkpoint)",
                    previous.sequence()
                ),
            ));
        };
        if let Some(r) = old.retired
            && new.retired != Some(r)
        {
            return Err(err(
                "retired",
                format!(
                    "the member was retired in version {} at size {} (root {}); a retired member stays retired at the same point: restore `retired = {{ size = {}, root = \"{}\" }}`",
                    previous.sequence(),
                    r.size,
                    r.root,
                    r.size,
                    r.root.to_base64()
                ),
            ));
        }
        check_log_keys(old, new).map_err(|(field, reason)| err(field, reason))?;
        check_witness_keys(old, new).map_err(|(field, reason)| err(field, reason))?;
        check_revocations(old, new).map_err(|(field, reason)| err(&field, reason))?;
    }
    Ok(())
}

type Broken<F> = Result<(), (F, String)>;

fn check_log_keys(old: &Member, new: &Member) -> Broken<&'static str> {
    let field = "previous_log_keys";
    let kept = old.previous_log_keys.len();
    if !new.previous_log_keys.starts_with(&old.previous_log_keys) {
        return Err((
            field,
            format!(
                "must begin with the {kept} entries of the previous version, unchanged; earlier keys are only ever appended"
            ),
        ));
    }
    let added = &new.previous_log_keys[kept..];
    if new.log_key == old.log_key {
        if !added.is_empty() {
            return Err((
                field,
                "gains an entry but log_key did not change; list an earlier key only when rotating the log key".to_string(),
            ));
        }
        return Ok(());
    }
    match added {
        [one] if one.key == old.log_key => Ok(()),
        _ => Err((
            field,
            format!(
                "log_key changed from {}, so previous_log_keys must end with exactly one new entry for it: {{ key = \"{}\", last_size = <size of the last checkpoint it signed>, last_root = \"<that checkpoint's root>\" }} (GenesisBuilder::rotate_log_key)",
                old.log_key, old.log_key
            ),
        )),
    }
}

fn check_witness_keys(old: &Member, new: &Member) -> Broken<&'static str> {
    let field = "previous_witness_keys";
    let kept = old.previous_witness_keys.len();
    if !new
        .previous_witness_keys
        .starts_with(&old.previous_witness_keys)
    {
        return Err((
            field,
            format!(
                "must begin with the {kept} entries of the previous version, unchanged; earlier keys are only ever appended"
            ),
        ));
    }
    let added = &new.previous_witness_keys[kept..];
    if new.witness_key == old.witness_key {
        if !added.is_empty() {
            return Err((
                field,
                "gains an entry but witness_key did not change; list an earlier key only when rotating the witness key".to_string(),
            ));
        }
        return Ok(());
    }
    match added {
        [one] if one.key == old.witness_key => Ok(()),
        _ => Err((
            field,
            format!(
                "witness_key changed from {}, so previous_witness_keys must end with exactly one new entry for it: {{ key = \"{}\", until = <Unix time from which its cosignatures stop counting> }} (GenesisBuilder::rotate_witness_key)",
                old.witness_key, old.witness_key
            ),
        )),
    }
}

fn check_revocations(old: &Member, new: &Member) -> Broken<String> {
    let kept = old.revoked.len();
    if !new.revoked.starts_with(&old.revoked) {
        return Err((
            "revoked".to_string(),
            format!(
                "must begin with the {kept} entries of the previous version, unchanged; revocations are only ever appended"
            ),
        ));
    }
    let listed = |key: &VerifierKey| {
        old.operators.contains(key) || old.attestors.iter().any(|a| &a.key == key)
    };
    for (i, r) in new.revoked.iter().enumerate().skip(kept) {
        if !listed(&r.key) {
            return Err((
                format!("revoked[{i}]"),
                format!(
                    "key {} was not an operator or attestor key of this member in the previous version; only a listed key can be revoked",
                    r.key
                ),
            ));
        }
    }
    let revoked = |key: &VerifierKey| new.revoked.iter().any(|r| &r.key == key);
    for key in &old.operators {
        if !new.operators.contains(key) && !revoked(key) {
            return Err(dropped("operators", "operator", key));
        }
    }
    for a in &old.attestors {
        if !new.attestors.contains(a) && !revoked(&a.key) {
            return Err(dropped(
                "attestors",
                &format!("{} attestor", a.role),
                &a.key,
            ));
        }
    }
    Ok(())
}

fn dropped(field: &str, what: &str, key: &VerifierKey) -> (String, String) {
    (
        field.to_string(),
        format!(
            "{what} key {key} of the previous version is missing; a key is revoked, not dropped: add {{ key = \"{key}\", from_index = <first index of the log at which it stops counting> }} to `revoked` (GenesisBuilder::revoke_key)"
        ),
    )
}

/// The keys `members` list (log, witness, operator and attestor keys) that `previous` does not
/// list anywhere (current, earlier or revoked), in member order.
pub(crate) fn new_keys(previous: &Genesis, members: &[Member]) -> Vec<NewKey> {
    let known: BTreeSet<[u8; 32]> = previous
        .members()
        .iter()
        .flat_map(Member::all_keys)
        .map(|(_, key)| key.public_key())
        .collect();
    let mut new = Vec::new();
    for m in members {
        for (field, key) in m.current_keys() {
            if !known.contains(&key.public_key()) {
                new.push(NewKey {
                    member: m.id.clone(),
                    field,
                    key: key.clone(),
                });
            }
        }
    }
    new
}

/// Who of `previous`'s founders signed `next`, and which new keys have not. Fails if a
/// signature by a founder's log key does not verify (the text was changed after signing).
pub(crate) fn signature_status(
    previous: &Genesis,
    next: &SignedGenesis,
) -> Result<NextSignatures, GenesisError> {
    let mut signed = Vec::new();
    let mut unsigned = Vec::new();
    for founder in previous.definition().founders() {
        let key = &founder.log_key;
        if next.has_valid_signature(key) {
            signed.push(founder.id.clone());
        } else if next.note.signatures.iter().any(|s| s.is_by(key)) {
            return Err(GenesisError::BadFounderSignature(founder.id.clone()));
        } else {
            unsigned.push(founder.id.clone());
        }
    }
    let proofs_missing = new_keys(previous, next.definition.members())
        .into_iter()
        .filter(|k| !has_proof(next, &k.key))
        .collect();
    Ok(NextSignatures {
        required: previous.definition().founder_threshold(),
        founders_signed: signed,
        founders_unsigned: unsigned,
        proofs_missing,
    })
}

/// Whether `next` carries a valid signature by `key`: a note signature for a type 0x01 key, a
/// cosignature over the text for a witness key (type 0x04).
fn has_proof(next: &SignedGenesis, key: &VerifierKey) -> bool {
    next.note
        .signatures
        .iter()
        .any(|s| s.is_by(key) && note::signature_is_valid(key, &next.note.text, &s.signature))
}

/// Verifies `next` as the version after `previous`: numbering, continuity, founder
/// signatures and proofs of possession. Returns it as a trusted [`Genesis`].
pub(crate) fn verify_next(
    previous: &Genesis,
    next: SignedGenesis,
) -> Result<Genesis, GenesisError> {
    check_continuity(previous, &next.definition)?;
    let status = signature_status(previous, &next)?;
    let sequence = next.definition.sequence();
    if status.founders_signed.len() < status.required {
        return Err(GenesisError::TooFewFounderSignatures {
            sequence,
            required: status.required,
            signed: status.founders_signed,
            unsigned: status.founders_unsigned,
        });
    }
    if let Some(missing) = status.proofs_missing.into_iter().next() {
        return Err(GenesisError::MissingProofOfPossession {
            sequence,
            member: missing.member,
            field: missing.field,
            key: missing.key.to_string(),
        });
    }
    Ok(Genesis::in_chain(next, Some(previous)))
}
