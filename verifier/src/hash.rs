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

/// The value of each ASCII hex digit (either case); 0xff for any other byte.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0xff_u8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

impl Hash {
    /// SHA-256 of `data`.
    pub fn digest(data: &[u8]) -> Hash {
        Hash(Sha256::digest(data).into())
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        self.hex_digits(&mut [0u8; 64]).to_string()
    }

    /// Lowercase hex, 64 characters, written into `digits` (no allocation: hashes are written
    /// out millions of times in an export).
    pub fn hex_digits<'d>(&self, digits: &'d mut [u8; 64]) -> &'d str {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (byte, pair) in self.0.iter().zip(digits.chunks_exact_mut(2)) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0x0f)];
        }
        // Only ASCII hex digits were written.
        std::str::from_utf8(digits).unwrap_or_default()
    }

    /// Parses exactly 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Hash, HashParseError> {
        let digits = text.as_bytes();
        if digits.len() != 2 * HASH_SIZE {
            let bytes =
                hex::decode(text).map_err(|_| HashParseError::Encoding { encoding: "hex" })?;
            return Self::from_slice(&bytes);
        }
        // Hashes are decoded for every reference of every replayed entry: a table lookup per
        // digit instead of the hex crate's per-digit branches.
        let mut hash = [0u8; HASH_SIZE];
        for (byte, pair) in hash.iter_mut().zip(digits.chunks_exact(2)) {
            let (high, low) = (
                HEX_VALUE[usize::from(pair[0])],
                HEX_VALUE[usize::from(pair[1])],
            );
            if high > 0x0f || low > 0x0f {
                return Err(HashParseError::Encoding { encoding: "hex" });
            }
            *byte = (high << 4) | low;
        }
        Ok(Hash(hash))
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
        f.write_str(self.hex_digits(&mut [0u8; 64]))
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
        crate::text_serde::from_text(deserializer, "a base64 hash string", Hash::from_base64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits_match_the_hex_crate_for_every_byte() {
        let mut bytes = [0u8; 32];
        for start in [0u8, 32, 64, 96, 128, 160, 192, 224] {
            for (n, b) in bytes.iter_mut().enumerate() {
                *b = start.wrapping_add(n as u8);
            }
            let h = Hash(bytes);
            assert_eq!(h.hex_digits(&mut [0u8; 64]), hex::encode(bytes));
            assert_eq!(h.to_hex(), hex::encode(bytes));
            assert_eq!(h.to_string(), hex::encode(bytes));
        }
    }

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
        assert_eq!(Hash::from_hex(&h.to_hex().to_uppercase()).unwrap(), h);
    }

    #[test]
    fn every_non_hex_digit_is_refused_at_full_length() {
        let good = Hash::digest(b"daylight").to_hex();
        for bad in ['g', 'G', ' ', '/', ':', '@', '`', '\u{0}'] {
            for at in [0, 1, 63] {
                let mut text = good.clone().into_bytes();
                text[at] = bad as u8;
                let text = String::from_utf8(text).unwrap();
                assert!(
                    matches!(Hash::from_hex(&text), Err(HashParseError::Encoding { .. })),
                    "{text}"
                );
            }
        }
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
