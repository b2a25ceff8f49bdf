//! C2SP signed notes: text signed by one or more keys.
//!
//! ```text
//! <text, one or more lines, each ending in '\n'>
//! <blank line>
//! — <key name> base64(key ID ‖ signature)
//! — ...
//! ```
//!
//! The text is separated from the signatures by the *last* blank line. A whole note is UTF-8
//! with no ASCII control character other than newline. Signature lines are kept as parsed;
//! [`Note::verify`] checks those whose (name, key ID) match a known key and ignores the rest,
//! as the specification requires. A note is rejected if any known key's signature fails, or
//! if no known key signed it.

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::cosignature;
use crate::key::{KeyType, SigningKey, VerifierKey};

/// The em dash and space that open every signature line.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// At most this many signature lines are read from one note. The specification asks for at
/// least 16; a network of a city and its counties with witnesses stays far below this.
pub const MAX_SIGNATURES: usize = 256;

/// Why a note could not be parsed, signed or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The bytes are not valid UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// The note holds a control character other than newline.
    #[error("note contains the control character 0x{0:02x}; only newline is allowed")]
    ControlCharacter(u8),
    /// There is no blank line separating the text from the signatures.
    #[error("note has no blank line before its signatures")]
    NoSignatureBlock,
    /// The text is empty or does not end with a newline.
    #[error("note text must be non-empty and end with a newline")]
    BadText,
    /// A signature line is not `— name base64`.
    #[error("malformed signature line {line}: {reason}")]
    BadSignatureLine {
        /// 1-based number of the signature line.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More signature lines than [`MAX_SIGNATURES`].
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A known key's signature does not verify: the note was altered or forged.
    #[error(
        "signature by {name} (key ID {key_id:08x}) does not verify: the note was altered or the signature forged"
    )]
    InvalidSignature {
        /// The signer's name.
        name: String,
        /// The signer's key ID.
        key_id: u32,
    },
    /// None of the known keys signed the note.
    #[error("note is not signed by any trusted key (signed by: {signers})")]
    NotSignedByTrustedKey {
        /// The names that did sign it, comma-separated, or "nobody".
        signers: String,
    },
    /// A key of the wrong type was asked to sign.
    #[error("key {0} is a witness key (type 0x04); use cosignature::cosign for it")]
    WrongKeyType(String),
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    /// The signer's key name.
    pub name: String,
    /// The signer's key ID (the first four bytes of the base64 blob).
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The signature line, without its trailing newline.
    pub fn to_line(&self) -> String {
        let mut blob = Vec::with_capacity(4 + self.signature.len());
        blob.extend_from_slice(&self.key_id.to_be_bytes());
        blob.extend_from_slice(&self.signature);
        format!("{SIGNATURE_PREFIX}{} {}", self.name, BASE64.encode(blob))
    }

    /// Whether this signature is by `key` (same name and key ID); does not check the bytes.
    pub fn is_by(&self, key: &VerifierKey) -> bool {
        self.name == key.name() && self.key_id == key.key_id()
    }
}

/// A parsed signed note. Parsing checks structure only; [`Note::verify`] checks signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

/// The outcome of [`Note::verify`]: which signatures were checked and which were ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    /// The signed text.
    pub text: String,
    /// Signatures by known keys, all verified (one per key, duplicates dropped).
    pub verified: Vec<NoteSignature>,
    /// Signatures by keys not in the known set, not checked.
    pub unknown: Vec<NoteSignature>,
}

fn check_characters(text: &str) -> Result<(), NoteError> {
    match text.bytes().find(|&b| b < 0x20 && b != b'\n') {
        Some(b) => Err(NoteError::ControlCharacter(b)),
        None => Ok(()),
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    check_characters(text)?;
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::BadText);
    }
    Ok(())
}

/// Whether a note signature by `key` over `text` is valid, for either key type.
pub fn signature_is_valid(key: &VerifierKey, text: &str, signature: &[u8]) -> bool {
    match key.key_type() {
        KeyType::Ed25519 => key.verify_raw(text.as_bytes(), signature),
        KeyType::Cosignature => cosignature::verify_signature_bytes(key, text, signature).is_ok(),
    }
}

impl Note {
    /// Parses a signed note's structure. Never panics; every defect is a typed error.
    pub fn parse(message: &[u8]) -> Result<Note, NoteError> {
        let message = std::str::from_utf8(message).map_err(|_| NoteError::NotUtf8)?;
        check_characters(message)?;
        let split = message.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let text = &message[..=split];
        let block = &message[split + 2..];
        if !block.ends_with('\n') {
            return Err(NoteError::BadSignatureLine {
                line: block.lines().count().max(1),
                reason: "the last signature line must end with a newline",
            });
        }
        let mut signatures = Vec::new();
        for (number, line) in block[..block.len() - 1].split('\n').enumerate() {
            let line_no = number + 1;
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(parse_signature_line(line, line_no)?);
        }
        if signatures.is_empty() {
            return Err(NoteError::NoSignatureBlock);
        }
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// Signs `text` with each of `signers` (all of type 0x01).
    pub fn sign(text: &str, signers: &[&SigningKey]) -> Result<Note, NoteError> {
        check_text(text)?;
        let mut note = Note {
            text: text.to_string(),
            signatures: Vec::with_capacity(signers.len()),
        };
        for signer in signers {
            note.add_signature(signer)?;
        }
        Ok(note)
    }

    /// Adds a type-0x01 signature by `signer` over the text.
    pub fn add_signature(&mut self, signer: &SigningKey) -> Result<(), NoteError> {
        if signer.key_type() != KeyType::Ed25519 {
            return Err(NoteError::WrongKeyType(signer.name().to_string()));
        }
        self.signatures.push(NoteSignature {
            name: signer.name().to_string(),
            key_id: signer.key_id(),
            signature: signer.sign_raw(self.text.as_bytes()).to_vec(),
        });
        Ok(())
    }

    /// The whole note: text, blank line, one line per signature.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 1 + self.signatures.len() * 120);
        out.push_str(&self.text);
        out.push('\n');
        for signature in &self.signatures {
            out.push_str(&signature.to_line());
            out.push('\n');
        }
        out
    }

    /// Checks every signature by a key in `known`, and ignores signatures by other keys.
    ///
    /// Fails if any known key's signature does not verify, or if no known key signed.
    /// Repeated signatures by one key count once.
    pub fn verify(&self, known: &[VerifierKey]) -> Result<VerifiedNote, NoteError> {
        check_text(&self.text)?;
        let mut verified = Vec::new();
        let mut unknown = Vec::new();
        let mut seen = HashSet::new();
        for signature in &self.signatures {
            let Some(key) = known.iter().find(|k| signature.is_by(k)) else {
                if !unknown.contains(signature) {
                    unknown.push(signature.clone());
                }
                continue;
            };
            if !seen.insert((key.name(), key.key_id())) {
                continue;
            }
            if !signature_is_valid(key, &self.text, &signature.signature) {
                return Err(NoteError::InvalidSignature {
                    name: signature.name.clone(),
                    key_id: signature.key_id,
                });
            }
            verified.push(signature.clone());
        }
        if verified.is_empty() {
            let mut names: Vec<&str> = unknown.iter().map(|s| s.name.as_str()).collect();
            names.dedup();
            let signers = if names.is_empty() {
                "nobody".to_string()
            } else {
                names.join(", ")
            };
            return Err(NoteError::NotSignedByTrustedKey { signers });
        }
        Ok(VerifiedNote {
            text: self.text.clone(),
            verified,
            unknown,
        })
    }

    /// Parses and verifies in one step.
    pub fn open(message: &[u8], known: &[VerifierKey]) -> Result<VerifiedNote, NoteError> {
        Note::parse(message)?.verify(known)
    }
}

fn parse_signature_line(line: &str, line_no: usize) -> Result<NoteSignature, NoteError> {
    let bad = |reason| NoteError::BadSignatureLine {
        line: line_no,
        reason,
    };
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(bad("it must start with an em dash and a space"))?;
    let (name, blob) = rest
        .split_once(' ')
        .ok_or(bad("expected a key name, a space and a base64 signature"))?;
    if !crate::key::is_valid_key_name(name) {
        return Err(bad("invalid key name"));
    }
    let blob = BASE64
        .decode(blob)
        .map_err(|_| bad("the signature is not valid base64"))?;
    if blob.len() < 5 {
        return Err(bad("the signature is shorter than a key ID and one byte"));
    }
    Ok(NoteSignature {
        name: name.to_string(),
        key_id: u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]),
        signature: blob[4..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, n: u8) -> SigningKey {
        SigningKey::from_seed(name, KeyType::Ed25519, [n; 32]).unwrap()
    }

    #[test]
    fn sign_format_parse_verify_round_trip() {
        let a = key("a.example/log", 1);
        let b = key("b.example/log", 2);
        let note = Note::sign("hello\n\nworld\n", &[&a, &b]).unwrap();
        let text = note.to_text();
        let parsed = Note::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed, note);
        assert_eq!(parsed.text, "hello\n\nworld\n");
        let verified = parsed.verify(&[b.verifier()]).unwrap();
        assert_eq!(verified.verified.len(), 1);
        assert_eq!(verified.unknown.len(), 1);
    }

    #[test]
    fn at_least_sixteen_signatures_are_accepted() {
        let keys: Vec<SigningKey> = (0..40).map(|i| key(&format!("k{i}"), i)).collect();
        let refs: Vec<&SigningKey> = keys.iter().collect();
        let note = Note::sign("many\n", &refs).unwrap();
        let known: Vec<VerifierKey> = keys.iter().map(|k| k.verifier()).collect();
        let verified = Note::open(note.to_text().as_bytes(), &known).unwrap();
        assert_eq!(verified.verified.len(), 40);
    }

    #[test]
    fn unknown_signer_alone_is_rejected_and_bad_known_signature_fails() {
        let a = key("a", 1);
        let b = key("b", 2);
        let note = Note::sign("text\n", &[&a]).unwrap();
        let err = note.verify(&[b.verifier()]).unwrap_err();
        assert_eq!(
            err,
            NoteError::NotSignedByTrustedKey {
                signers: "a".into()
            }
        );
        let mut tampered = note.clone();
        tampered.text = "texT\n".into();
        assert!(matches!(
            tampered.verify(&[a.verifier()]),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn same_name_other_key_is_ignored_not_failed() {
        let real = key("log", 1);
        let impostor = key("log", 2);
        let mut note = Note::sign("text\n", &[&real]).unwrap();
        note.add_signature(&impostor).unwrap();
        let verified = note.verify(&[real.verifier()]).unwrap();
        assert_eq!(verified.verified.len(), 1);
        assert_eq!(verified.unknown.len(), 1);
    }

    #[test]
    fn structural_defects_are_typed_errors() {
        let good = Note::sign("t\n", &[&key("k", 1)]).unwrap().to_text();
        assert_eq!(Note::parse(b"\xff"), Err(NoteError::NotUtf8));
        assert_eq!(
            Note::parse(b"t\r\n\n"),
            Err(NoteError::ControlCharacter(b'\r'))
        );
        assert_eq!(
            Note::parse(b"text only\n"),
            Err(NoteError::NoSignatureBlock)
        );
        assert!(matches!(
            Note::parse(good.trim_end().as_bytes()),
            Err(NoteError::BadSignatureLine { .. })
        ));
        assert!(matches!(
            Note::parse(good.replace('\u{2014}', "-").as_bytes()),
            Err(NoteError::BadSignatureLine { .. })
        ));
        assert!(Note::sign("no newline", &[&key("k", 1)]).is_err());
    }
}
