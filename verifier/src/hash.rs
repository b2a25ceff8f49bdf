//! The 32-byte SHA-256 hash that every Merkle node, leaf and root is made of.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// Size in bytes of every hash in daylight (SHA-256).
pub const HASH_SIZE: usize = 32;

/// A SHA-256 hash: a Merkle leaf hash, interior node or tree root.
///
/// Written as lowercase hex by [`fmt::Display`] and as standard base64 in checkpoints and
/// proof bundles, following the C2SP formats. Serialized with serde as base64.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; HASH_SIZE]);

/// The reason a string could not be read as a [`Hash`](struct@Hash).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    /// The text is not valid hex or base64.
    #[error("not valid {encoding}")]
    Encoding {
        /// Which encoding was expected ("hex" or "base64").
        encoding: &'static str,
    },
    /// The text decoded to the wrong number of bytes.
    #[error("a hash is {HASH_SIZE} bytes, this one is {0}")]
    Length(usize),
}

impl Hash {
    /// SHA-256 of `data`.
    pub fn digest(data: &[u8]) -> Hash {
        Hash(Sha256::digest(data).into())
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses exactly 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Hash, HashParseError> {
        let bytes = hex::decode(text).map_err(|_| HashParseError::Encoding { encoding: "hex" })?;
        Self::from_slice(&bytes)
    }

    /// Standard base64 with padding (RFC 4648 §4), 44 characters.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Parses standard, canonical base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Hash, HashParseError> {
        let bytes = BASE64
            .decode(text)
            .map_err(|_| HashParseError::Encoding { encoding: "base64" })?;
        Self::from_slice(&bytes)
    }

    /// Copies a 32-byte slice.
    pub fn from_slice(bytes: &[u8]) -> Result<Hash, HashParseError> {
        let array: [u8; HASH_SIZE] = bytes
            .try_into()
            .map_err(|_| HashParseError::Length(bytes.len()))?;
        Ok(Hash(array))
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(deserializer)?;
        Hash::from_base64(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_string_digest_is_the_known_constant() {
        assert_eq!(
            Hash::digest(b"").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hex_and_base64_round_trip() {
        let h = Hash::digest(b"daylight");
        assert_eq!(Hash::from_hex(&h.to_hex()).unwrap(), h);
        assert_eq!(Hash::from_base64(&h.to_base64()).unwrap(), h);
    }

    #[test]
    fn wrong_lengths_and_encodings_are_refused() {
        assert_eq!(Hash::from_hex("00"), Err(HashParseError::Length(1)));
        assert!(matches!(
            Hash::from_hex("zz"),
            Err(HashParseError::Encoding { .. })
        ));
        assert!(Hash::from_base64("AAAA").is_err());
        assert!(Hash::from_base64("not base64!").is_err());
    }
}
