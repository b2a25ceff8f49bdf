//! Ed25519 keys named the C2SP signed-note way.
//!
//! A key has a *name* (for daylight, `<network>/<member>` or a longer path), a *signature type*
//! byte and a 32-byte Ed25519 public key. Its *key ID* is the first four bytes, big-endian, of
//! `SHA-256(name ‖ 0x0A ‖ type ‖ public key)`, so one Ed25519 key used as a note signer (type
//! 0x01) and as a witness cosigner (type 0x04) would have two different IDs.
//!
//! Text forms, compatible with `golang.org/x/mod/sumdb/note`:
//!
//! * verifier key (vkey): `name+<8 hex digits of key ID>+base64(type ‖ public key)`
//! * private key: `PRIVATE+KEY+name+<8 hex digits of key ID>+base64(type ‖ seed)`
//!
//! Both parsers check that the key ID in the text matches the one computed from the key, so
//! a vkey cannot be mis-typed into silently naming another key.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::Signer as _;
use sha2::{Digest, Sha256};

/// The signature type of a key: which algorithm, and over which message it signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// Type 0x01: plain Ed25519 over the note text (log keys, genesis signatures, operators).
    Ed25519,
    /// Type 0x04: timestamped Ed25519 witness cosignature (C2SP tlog-cosignature).
    Cosignature,
}

impl KeyType {
    /// The signature type byte of the C2SP signed-note registry.
    pub fn byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => 0x01,
            KeyType::Cosignature => 0x04,
        }
    }

    /// The type for a signature type byte, if daylight supports it.
    pub fn from_byte(byte: u8) -> Option<KeyType> {
        match byte {
            0x01 => Some(KeyType::Ed25519),
            0x04 => Some(KeyType::Cosignature),
            _ => None,
        }
    }
}

/// Why a key could not be created or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The name is empty or holds a space or `+`.
    #[error("invalid key name {0:?}: it must be non-empty, without spaces or '+'")]
    InvalidName(String),
    /// The text does not have the `name+id+key` shape.
    #[error("malformed {what}: expected {expected}")]
    Malformed {
        /// "verifier key" or "private key".
        what: &'static str,
        /// The expected shape.
        expected: &'static str,
    },
    /// The key ID is not 8 lowercase or uppercase hex digits.
    #[error("malformed key ID {0:?}: expected 8 hex digits")]
    BadKeyId(String),
    /// The key material is not valid base64.
    #[error("key material is not valid base64")]
    BadBase64,
    /// The type byte names an algorithm daylight does not support.
    #[error(
        "unsupported signature type 0x{0:02x}: daylight uses 0x01 (Ed25519) and 0x04 (cosignature)"
    )]
    UnsupportedType(u8),
    /// The key material has the wrong length.
    #[error("key material must be 1 type byte and 32 key bytes, got {0} bytes")]
    BadLength(usize),
    /// The bytes are not a valid Ed25519 public key, or are a weak (small-order) one.
    #[error("not a valid Ed25519 public key (or a weak, small-order one)")]
    BadPublicKey,
    /// The key ID written in the text is not the one computed from the name and key.
    #[error(
        "key ID {written:08x} does not match the key (expected {computed:08x}): the key text is corrupt"
    )]
    KeyIdMismatch {
        /// The ID written in the text.
        written: u32,
        /// The ID computed from name, type and key.
        computed: u32,
    },
    /// The system random number generator failed.
    #[error("could not read randomness from the operating system: {0}")]
    Randomness(String),
}

/// Computes a C2SP key ID: `SHA-256(name ‖ '\n' ‖ type ‖ public key)[:4]`, big-endian.
pub fn key_id(name: &str, key_type: KeyType, public_key: &[u8; 32]) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', key_type.byte()]);
    hasher.update(public_key);
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Whether `name` is a valid key name: non-empty, no Unicode white space, no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn check_name(name: &str) -> Result<(), KeyError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(KeyError::InvalidName(name.to_string()))
    }
}

/// Splits `name+hexid+base64` from the right, since names cannot hold `+` but base64 can.
fn split_key_text(
    text: &str,
    what: &'static str,
) -> Result<(String, u32, KeyType, [u8; 32]), KeyError> {
    let expected = "name+keyid+base64key";
    let malformed = || KeyError::Malformed { what, expected };
    let (name, rest) = text.split_once('+').ok_or_else(malformed)?;
    let (id_hex, key_b64) = rest.split_once('+').ok_or_else(malformed)?;
    check_name(name)?;
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyError::BadKeyId(id_hex.to_string()));
    }
    let written =
        u32::from_str_radix(id_hex, 16).map_err(|_| KeyError::BadKeyId(id_hex.to_string()))?;
    let material = BASE64.decode(key_b64).map_err(|_| KeyError::BadBase64)?;
    let (&type_byte, key) = material
        .split_first()
        .ok_or(KeyError::BadLength(material.len()))?;
    let key_type = KeyType::from_byte(type_byte).ok_or(KeyError::UnsupportedType(type_byte))?;
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| KeyError::BadLength(material.len()))?;
    Ok((name.to_string(), written, key_type, key))
}

/// A public key that checks note signatures or cosignatures.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_type: KeyType,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl VerifierKey {
    /// Builds a verifier key from its parts.
    pub fn new(name: &str, key_type: KeyType, public_key: [u8; 32]) -> Result<Self, KeyError> {
        check_name(name)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&public_key)
            .map_err(|_| KeyError::BadPublicKey)?;
        // A small-order key verifies signatures it never made; no real key is one.
        if key.is_weak() {
            return Err(KeyError::BadPublicKey);
        }
        Ok(VerifierKey {
            name: name.to_string(),
            key_type,
            id: key_id(name, key_type, &public_key),
            key,
        })
    }

    /// Parses a vkey, `name+<key ID hex>+base64(type ‖ key)`, checking its key ID.
    ///
    /// Parsing decompresses a curve point, which costs about as much as the rest of checking a
    /// record; every record names its signers by vkey, and a log has few of them, so each
    /// thread remembers the keys it parsed recently.
    pub fn parse(vkey: &str) -> Result<Self, KeyError> {
        const REMEMBERED: usize = 256;
        thread_local! {
            static PARSED: std::cell::RefCell<std::collections::HashMap<String, VerifierKey>> =
                std::cell::RefCell::new(std::collections::HashMap::new());
        }
        if let Some(key) = PARSED.with(|p| p.borrow().get(vkey).cloned()) {
            return Ok(key);
        }
        let key = Self::parse_uncached(vkey)?;
        PARSED.with(|p| {
            let mut parsed = p.borrow_mut();
            if parsed.len() >= REMEMBERED {
                parsed.clear();
            }
            parsed.insert(vkey.to_string(), key.clone());
        });
        Ok(key)
    }

    fn parse_uncached(vkey: &str) -> Result<Self, KeyError> {
        let (name, written, key_type, public_key) = split_key_text(vkey, "verifier key")?;
        let parsed = VerifierKey::new(&name, key_type, public_key)?;
        if parsed.id != written {
            return Err(KeyError::KeyIdMismatch {
                written,
                computed: parsed.id,
            });
        }
        Ok(parsed)
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key's C2SP key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The signature type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Verifies a raw 64-byte Ed25519 signature over `message`, with no note framing.
    ///
    /// Uses strict verification (rejects small-order keys and non-canonical signatures).
    pub fn verify_raw(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(message, &signature).is_ok()
    }

    /// The underlying Ed25519 key, for batch verification.
    pub fn ed25519(&self) -> &ed25519_dalek::VerifyingKey {
        &self.key
    }
}

impl fmt::Display for VerifierKey {
    /// Writes the vkey text form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = Vec::with_capacity(33);
        material.push(self.key_type.byte());
        material.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.id,
            BASE64.encode(material)
        )
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl FromStr for VerifierKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        VerifierKey::parse(s)
    }
}

impl serde::Serialize for VerifierKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for VerifierKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::text_serde::from_text(deserializer, "a verifier key string", VerifierKey::parse)
    }
}

/// A private key that signs notes (type 0x01) or cosigns checkpoints (type 0x04).
///
/// Its `Debug` output never shows the secret.
#[derive(Clone)]
pub struct SigningKey {
    name: String,
    key_type: KeyType,
    id: u32,
    key: ed25519_dalek::SigningKey,
}

const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

impl SigningKey {
    /// Makes a key from a 32-byte Ed25519 seed. Deterministic: the same seed gives the same key.
    pub fn from_seed(name: &str, key_type: KeyType, seed: [u8; 32]) -> Result<Self, KeyError> {
        check_name(name)?;
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        Ok(SigningKey {
            name: name.to_string(),
            key_type,
            id: key_id(name, key_type, key.verifying_key().as_bytes()),
            key,
        })
    }

    /// Generates a fresh key from the operating system's random number generator.
    pub fn generate(name: &str, key_type: KeyType) -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Randomness(e.to_string()))?;
        Self::from_seed(name, key_type, seed)
    }

    /// Parses `PRIVATE+KEY+name+<key ID hex>+base64(type ‖ seed)`, checking the key ID.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let rest = text
            .trim_end_matches('\n')
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or(KeyError::Malformed {
                what: "private key",
                expected: "PRIVATE+KEY+name+keyid+base64key",
            })?;
        let (name, written, key_type, seed) = split_key_text(rest, "private key")?;
        let parsed = SigningKey::from_seed(&name, key_type, seed)?;
        if parsed.id != written {
            return Err(KeyError::KeyIdMismatch {
                written,
                computed: parsed.id,
            });
        }
        Ok(parsed)
    }

    /// The private key text form. Keep it secret: it is the whole key.
    pub fn to_private_key_string(&self) -> String {
        let mut material = Vec::with_capacity(33);
        material.push(self.key_type.byte());
        material.extend_from_slice(self.key.as_bytes());
        format!(
            "{PRIVATE_KEY_PREFIX}{}+{:08x}+{}",
            self.name,
            self.id,
            BASE64.encode(material)
        )
    }

    /// The matching public verifier key.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_type: self.key_type,
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key's C2SP key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The signature type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// Signs `message` with plain Ed25519 (64 bytes), with no note framing.
    pub fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKey({}+{:08x}, {:?}, secret hidden)",
            self.name, self.id, self.key_type
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_VKEY: &str =
        "demo.daylight/county-320206+fa9a3be6+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";

    fn seed(start: u8) -> [u8; 32] {
        std::array::from_fn(|i| start + i as u8)
    }

    #[test]
    fn vector_seed_gives_vector_vkey() {
        let key = SigningKey::from_seed("demo.daylight/county-320206", KeyType::Ed25519, seed(0))
            .unwrap();
        assert_eq!(key.verifier().to_string(), VECTOR_VKEY);
        assert_eq!(VerifierKey::parse(VECTOR_VKEY).unwrap(), key.verifier());
    }

    #[test]
    fn private_key_round_trips() {
        let key = SigningKey::generate("example.org/log", KeyType::Cosignature).unwrap();
        let text = key.to_private_key_string();
        assert!(text.starts_with("PRIVATE+KEY+example.org/log+"));
        let back = SigningKey::parse(&text).unwrap();
        assert_eq!(back.verifier(), key.verifier());
        assert!(!format!("{key:?}").contains(&text[30..]));
    }

    #[test]
    fn key_id_depends_on_type() {
        let a = SigningKey::from_seed("n", KeyType::Ed25519, seed(1)).unwrap();
        let b = SigningKey::from_seed("n", KeyType::Cosignature, seed(1)).unwrap();
        assert_ne!(a.key_id(), b.key_id());
    }

    #[test]
    fn malformed_vkeys_are_refused_with_reasons() {
        let cases = [
            ("", "malformed"),
            ("name", "malformed"),
            ("name+abc", "malformed"),
            (
                "+fa9a3be6+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4",
                "invalid key name",
            ),
            (
                "a b+fa9a3be6+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4",
                "invalid key name",
            ),
            (
                "demo.daylight/county-320206+fa9a3be+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4",
                "key ID",
            ),
            ("demo.daylight/county-320206+fa9a3be6+!!!", "base64"),
            ("demo.daylight/county-320206+fa9a3be6+AQOh", "32 key bytes"),
            (
                "demo.daylight/county-320206+fa9a3be6+AgOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4",
                "unsupported",
            ),
            (
                "demo.daylight/county-320207+fa9a3be6+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4",
                "does not match",
            ),
        ];
        for (text, reason) in cases {
            let err = VerifierKey::parse(text).expect_err(text).to_string();
            assert!(err.contains(reason), "{text:?}: {err:?} lacks {reason:?}");
        }
    }

    #[test]
    fn weak_public_keys_are_refused() {
        // The identity point (small order): it would "verify" forged signatures.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            VerifierKey::new("n", KeyType::Ed25519, identity),
            Err(KeyError::BadPublicKey)
        );
    }

    #[test]
    fn raw_signatures_verify_and_tampering_fails() {
        let key = SigningKey::from_seed("n", KeyType::Ed25519, seed(9)).unwrap();
        let sig = key.sign_raw(b"message");
        let v = key.verifier();
        assert!(v.verify_raw(b"message", &sig));
        assert!(!v.verify_raw(b"messagE", &sig));
        assert!(!v.verify_raw(b"message", &sig[..63]));
    }
}
