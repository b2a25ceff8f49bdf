//! Drafting and signing a later version of a network's genesis (DESIGN §6b).
//!
//! [`GenesisBuilder::next_version`] copies a version into a draft of the next one; the edits
//! below record each change the way the chain rules require (a rotated key moves to the
//! history with its effective point, a revoked key moves to `revoked`, a member is retired,
//! never removed); [`GenesisBuilder::build_next`] checks the draft against the version before
//! it; and [`SignedGenesis::sign_next`] collects the signatures: enough founders of the
//! previous version, with the log keys it lists, and every key the new version introduces
//! (proof of possession). [`crate::GenesisChain::extend`] then accepts it.

use daylight_verifier::cosignature;
use daylight_verifier::hash::Hash;
use daylight_verifier::key::{KeyType, SigningKey, VerifierKey};
use daylight_verifier::note::{MAX_SIGNATURES, NoteSignature};

use crate::builder::GenesisBuilder;
use crate::definition::Definition;
use crate::error::GenesisError;
use crate::link::{self, NextSignatures};
use crate::member::{Member, PreviousLogKey, PreviousWitnessKey, Retirement, RevokedKey};
use crate::signed::{Genesis, SignedGenesis};

/// The timestamp of the cosignature a witness key signs a genesis version with as proof of
/// possession. The time means nothing there, so it is fixed, keeping signed files
/// reproducible.
pub const PROOF_TIMESTAMP: u64 = 0;

impl GenesisBuilder {
    /// A draft of the version after `previous`: the same definition, with `sequence` one
    /// higher and `previous` set to its id. Make the changes with the methods below (and
    /// [`GenesisBuilder::member_mut`] for names, addresses, URLs, peer ids, operator and
    /// attestor keys), then [`GenesisBuilder::build_next`] or [`GenesisBuilder::sign_next`].
    pub fn next_version(previous: &Genesis) -> GenesisBuilder {
        let mut draft = previous.definition().to_builder();
        draft.sequence = previous.sequence() + 1;
        draft.previous = Some(previous.id().to_string());
        draft
    }

    fn existing(&mut self, id: &str) -> Result<&mut Member, GenesisError> {
        self.members
            .iter_mut()
            .find(|m| m.id == id)
            .ok_or_else(|| GenesisError::UnknownMember(id.to_string()))
    }

    /// Retires member `id`: its log ends at the checkpoint of size `size` and root `root`
    /// (the last one its witnesses cosigned). It is also taken off the `founders` list and
    /// every `witnesses` list, since a retired member is neither.
    pub fn retire_member(
        &mut self,
        id: &str,
        size: u64,
        root: Hash,
    ) -> Result<&mut GenesisBuilder, GenesisError> {
        let member = self.existing(id)?;
        let point = Retirement { size, root };
        match member.retired {
            Some(r) if r != point => {
                return Err(amend_error(
                    member,
                    "retired",
                    format!(
                        "the member is already retired at size {}; a retirement point never changes",
                        r.size
                    ),
                ));
            }
            _ => member.retired = Some(point),
        }
        if let Some(founders) = &mut self.founders {
            founders.retain(|f| f != id);
        }
        for m in &mut self.members {
            if let Some(witnesses) = &mut m.witnesses {
                witnesses.retain(|w| w != id);
            }
        }
        Ok(self)
    }

    /// Rotates member `id`'s log key to `new_key`. The old key moves to `previous_log_keys`
    /// with its rotation point: `last_size` and `last_root` of the last checkpoint it signed.
    /// The new key must sign the new version (proof of possession).
    pub fn rotate_log_key(
        &mut self,
        id: &str,
        new_key: VerifierKey,
        last_size: u64,
        last_root: Hash,
    ) -> Result<&mut GenesisBuilder, GenesisError> {
        let member = self.existing(id)?;
        if new_key.public_key() == member.log_key.public_key() {
            return Err(amend_error(
                member,
                "log_key",
                "the new log key is the current one; generate a new key".to_string(),
            ));
        }
        if let Some(last) = member.previous_log_keys.last()
            && last.last_size >= last_size
        {
            return Err(amend_error(
                member,
                "previous_log_keys",
                format!(
                    "rotation point {last_size} is not after the previous rotation point {}; name the size of the last checkpoint the current key signed",
                    last.last_size
                ),
            ));
        }
        let old = std::mem::replace(&mut member.log_key, new_key);
        member.previous_log_keys.push(PreviousLogKey {
            key: old,
            last_size,
            last_root,
        });
        Ok(self)
    }

    /// Rotates member `id`'s witness key to `new_key`. The old key moves to
    /// `previous_witness_keys`: its cosignatures count when made before `until` (Unix
    /// seconds). The new key must sign the new version (proof of possession).
    pub fn rotate_witness_key(
        &mut self,
        id: &str,
        new_key: VerifierKey,
        until: u64,
    ) -> Result<&mut GenesisBuilder, GenesisError> {
        let member = self.existing(id)?;
        if new_key.public_key() == member.witness_key.public_key() {
            return Err(amend_error(
                member,
                "witness_key",
                "the new witness key is the current one; generate a new key".to_string(),
            ));
        }
        if let Some(last) = member.previous_witness_keys.last()
            && last.until >= until
        {
            return Err(amend_error(
                member,
                "previous_witness_keys",
                format!(
                    "until {until} is not after that of the previous rotation ({})",
                    last.until
                ),
            ));
        }
        let old = std::mem::replace(&mut member.witness_key, new_key);
        member
            .previous_witness_keys
            .push(PreviousWitnessKey { key: old, until });
        Ok(self)
    }

    /// Revokes operator or attestor key `key` of member `id`: it leaves `operators` or
    /// `attestors` and joins `revoked`, so its signatures count only on entries of the log
    /// with an index below `from_index`.
    pub fn revoke_key(
        &mut self,
        id: &str,
        key: &VerifierKey,
        from_index: u64,
    ) -> Result<&mut GenesisBuilder, GenesisError> {
        let member = self.existing(id)?;
        let before = member.operators.len() + member.attestors.len();
        member.operators.retain(|k| k != key);
        member.attestors.retain(|a| &a.key != key);
        if member.operators.len() + member.attestors.len() == before {
            return Err(amend_error(
                member,
                "revoked",
                format!("key {key} is not an operator or attestor key of this member"),
            ));
        }
        member.revoked.push(RevokedKey {
            key: key.clone(),
            from_index,
        });
        Ok(self)
    }

    /// Removes member `id` from a draft, for a member added by mistake. Refused when
    /// `previous` (the version this draft follows, if any) lists the member: a member is
    /// never removed from a network, it is retired ([`GenesisBuilder::retire_member`]).
    pub fn remove_member(
        &mut self,
        id: &str,
        previous: Option<&Genesis>,
    ) -> Result<Member, GenesisError> {
        if let Some(previous) = previous
            && previous.member(id).is_some()
        {
            return Err(GenesisError::CannotRemoveMember {
                member: id.to_string(),
                sequence: previous.sequence(),
            });
        }
        let index = self
            .members
            .iter()
            .position(|m| m.id == id)
            .ok_or_else(|| GenesisError::UnknownMember(id.to_string()))?;
        Ok(self.members.remove(index))
    }

    /// Sets the members that witness the log of `id`; `None` means every other member that
    /// is not retired.
    pub fn set_witnesses(
        &mut self,
        id: &str,
        witnesses: Option<Vec<String>>,
    ) -> Result<&mut GenesisBuilder, GenesisError> {
        self.existing(id)?.witnesses = witnesses;
        Ok(self)
    }

    /// Validates the draft and checks it against `previous`, the version it follows: every
    /// rule between two versions except the signatures. What [`crate::GenesisChain::extend`]
    /// will refuse, this refuses first, with the same error.
    pub fn build_next(&self, previous: &Genesis) -> Result<Definition, GenesisError> {
        let definition = self.build()?;
        link::check_continuity(previous, &definition)?;
        Ok(definition)
    }

    /// The keys the draft lists that `previous` does not list anywhere (current, earlier or
    /// revoked), in member order: each must sign the version (proof of possession).
    pub fn new_keys(&self, previous: &Genesis) -> Vec<link::NewKey> {
        link::new_keys(previous, self.members())
    }

    /// Checks the draft against `previous` ([`GenesisBuilder::build_next`]) and signs it
    /// with `key`, starting the signed version the others then sign
    /// ([`SignedGenesis::sign_next`]).
    pub fn sign_next(
        &self,
        previous: &Genesis,
        key: &SigningKey,
    ) -> Result<SignedGenesis, GenesisError> {
        let mut signed = SignedGenesis::unsigned(self.build_next(previous)?);
        signed.sign_next(previous, key)?;
        Ok(signed)
    }
}

fn amend_error(member: &Member, field: &str, reason: String) -> GenesisError {
    GenesisError::InvalidField {
        member: member.id.clone(),
        field: field.to_string(),
        reason,
    }
}

impl SignedGenesis {
    /// Adds a signature to this later version by `key`, which must be either the log key
    /// `previous` lists for one of its founders, or a key this version introduces (a proof of
    /// possession: a note signature for a type 0x01 key, a cosignature at
    /// [`PROOF_TIMESTAMP`] for a witness key). Signing twice with one key adds nothing.
    pub fn sign_next(&mut self, previous: &Genesis, key: &SigningKey) -> Result<(), GenesisError> {
        link::check_continuity(previous, &self.definition)?;
        let public = key.verifier();
        let founder = previous
            .definition()
            .founders()
            .iter()
            .any(|f| f.log_key == public);
        let new = link::new_keys(previous, self.definition.members())
            .iter()
            .any(|k| k.key == public);
        if !founder && !new {
            return Err(GenesisError::NotAVersionSigner(public.to_string()));
        }
        if self.has_valid_signature(&public) {
            return Ok(());
        }
        if self.note.signatures.len() >= MAX_SIGNATURES {
            return Err(GenesisError::TooManySignatures);
        }
        let signature = match key.key_type() {
            KeyType::Ed25519 => NoteSignature {
                name: key.name().to_string(),
                key_id: key.key_id(),
                signature: key.sign_raw(self.note.text.as_bytes()).to_vec(),
            },
            KeyType::Cosignature => cosignature::cosign(key, &self.note.text, PROOF_TIMESTAMP)
                .map_err(|_| GenesisError::NotAVersionSigner(public.to_string()))?,
        };
        self.note.signatures.push(signature);
        Ok(())
    }

    /// Who has signed this later version so far and who still must, against `previous`.
    /// Fails if the version breaks a rule against `previous`, or if a founder's signature
    /// does not verify (the text was changed after signing).
    pub fn next_signatures(&self, previous: &Genesis) -> Result<NextSignatures, GenesisError> {
        link::check_continuity(previous, &self.definition)?;
        link::signature_status(previous, self)
    }
}
