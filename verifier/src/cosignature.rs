//! C2SP tlog-cosignature, Ed25519 variant (signature type 0x04).
//!
//! A witness states "as of time T, the largest consistent tree I have seen of this log has this
//! root" by signing
//!
//! ```text
//! cosignature/v1
//! time <T>
//! <checkpoint body>
//! ```
//!
//! The signature line carries `key ID ‖ T as u64 big-endian ‖ 64-byte Ed25519 signature`.
//! Deciding *whether* to cosign (consistency with what the witness saw before) is the node's
//! witness logic; this module only makes and checks the signature.

use crate::key::{KeyType, SigningKey, VerifierKey};
use crate::note::NoteSignature;

/// Largest timestamp the specification allows (2^63 − 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// Why a cosignature could not be made or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    /// The key is not a cosigner key (type 0x04).
    #[error("key {0} is not a witness key (signature type 0x04)")]
    NotAWitnessKey(String),
    /// The signature is not 8 + 64 bytes.
    #[error("a cosignature is 72 bytes (timestamp and signature), got {0}")]
    BadLength(usize),
    /// The timestamp exceeds 2^63 − 1.
    #[error("cosignature timestamp {0} exceeds 2^63-1")]
    BadTimestamp(u64),
    /// The signature does not verify over the checkpoint body.
    #[error("cosignature by {0} does not verify over this checkpoint")]
    Invalid(String),
}

/// The message a witness signs for `checkpoint_text` at `timestamp`.
pub fn signed_message(timestamp: u64, checkpoint_text: &str) -> Vec<u8> {
    let mut message = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    message.extend_from_slice(checkpoint_text.as_bytes());
    message
}

/// Cosigns a checkpoint body at `timestamp` (seconds since the Unix epoch).
pub fn cosign(
    witness: &SigningKey,
    checkpoint_text: &str,
    timestamp: u64,
) -> Result<NoteSignature, CosignatureError> {
    if witness.key_type() != KeyType::Cosignature {
        return Err(CosignatureError::NotAWitnessKey(witness.name().to_string()));
    }
    if timestamp > MAX_TIMESTAMP {
        return Err(CosignatureError::BadTimestamp(timestamp));
    }
    let signature = witness.sign_raw(&signed_message(timestamp, checkpoint_text));
    let mut bytes = Vec::with_capacity(72);
    bytes.extend_from_slice(&timestamp.to_be_bytes());
    bytes.extend_from_slice(&signature);
    Ok(NoteSignature {
        name: witness.name().to_string(),
        key_id: witness.key_id(),
        signature: bytes,
    })
}

/// Verifies the 72 signature bytes of a cosignature by `witness` and returns its timestamp.
pub fn verify_signature_bytes(
    witness: &VerifierKey,
    checkpoint_text: &str,
    bytes: &[u8],
) -> Result<u64, CosignatureError> {
    if witness.key_type() != KeyType::Cosignature {
        return Err(CosignatureError::NotAWitnessKey(witness.name().to_string()));
    }
    if bytes.len() != 72 {
        return Err(CosignatureError::BadLength(bytes.len()));
    }
    let timestamp = u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
    if timestamp > MAX_TIMESTAMP {
        return Err(CosignatureError::BadTimestamp(timestamp));
    }
    if witness.verify_raw(&signed_message(timestamp, checkpoint_text), &bytes[8..]) {
        Ok(timestamp)
    } else {
        Err(CosignatureError::Invalid(witness.name().to_string()))
    }
}

/// Verifies a cosignature line by `witness` and returns its timestamp.
pub fn verify(
    witness: &VerifierKey,
    checkpoint_text: &str,
    signature: &NoteSignature,
) -> Result<u64, CosignatureError> {
    if !signature.is_by(witness) {
        return Err(CosignatureError::Invalid(witness.name().to_string()));
    }
    verify_signature_bytes(witness, checkpoint_text, &signature.signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosign_then_verify_and_tamper() {
        let w = SigningKey::from_seed("w.example", KeyType::Cosignature, [4; 32]).unwrap();
        let body = "log\n3\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let sig = cosign(&w, body, 1_700_000_000).unwrap();
        assert_eq!(verify(&w.verifier(), body, &sig), Ok(1_700_000_000));
        assert!(verify(&w.verifier(), &body.replace('3', "4"), &sig).is_err());
        let mut later = sig.clone();
        later.signature[7] ^= 1;
        assert!(verify(&w.verifier(), body, &later).is_err());
    }

    #[test]
    fn log_keys_cannot_cosign() {
        let k = SigningKey::from_seed("log", KeyType::Ed25519, [4; 32]).unwrap();
        assert!(matches!(
            cosign(&k, "x\n", 1),
            Err(CosignatureError::NotAWitnessKey(_))
        ));
    }
}
