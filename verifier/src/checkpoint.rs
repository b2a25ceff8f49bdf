//! C2SP tlog-checkpoint: the signed statement "log `origin` has `size` entries with root `root`".
//!
//! ```text
//! demo.daylight/county-320206
//! 40
//! 0hutPWwdlnFGZTUNYrz/UgWwalxX30V4HmiTirQtvqg=
//! ```
//!
//! Parsing is strict, so that one checkpoint has exactly one text: the size has no leading
//! zeros, the root is canonical base64 of 32 bytes, extension lines are non-empty.

use crate::hash::Hash;
use crate::key::{SigningKey, VerifierKey};
use crate::note::{Note, NoteError, VerifiedNote};

/// Why a checkpoint text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The text has fewer than three lines or does not end with a newline.
    #[error("a checkpoint is at least three lines (origin, size, root), each ending in a newline")]
    TooShort,
    /// The origin line is empty.
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    /// The size line is not a canonical decimal.
    #[error("checkpoint size {0:?} is not a decimal number without leading zeros")]
    BadSize(String),
    /// The root line is not base64 of 32 bytes.
    #[error("checkpoint root {0:?} is not base64 of a 32-byte hash")]
    BadRoot(String),
    /// An extension line is empty.
    #[error("checkpoint extension line {0} is empty")]
    EmptyExtension(usize),
    /// The signed note is broken or not signed by the log.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    /// The checkpoint's origin is not the one expected.
    #[error("checkpoint is for log {found:?}, expected {expected:?}")]
    WrongOrigin {
        /// The origin wanted.
        expected: String,
        /// The origin in the checkpoint.
        found: String,
    },
}

/// A checkpoint body: the three mandatory lines and any extension lines.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// The log's origin line, `<network>/<member id>` for daylight logs.
    pub origin: String,
    /// Number of entries in the tree.
    pub size: u64,
    /// RFC 6962 root hash of the tree of `size` entries.
    pub root: Hash,
    /// Opaque extension lines (daylight writes none).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint with no extension lines.
    pub fn new(origin: &str, size: u64, root: Hash) -> Checkpoint {
        Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// Parses a checkpoint body (the note text, ending in a newline).
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::TooShort)?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::TooShort);
        };
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size =
            parse_canonical_u64(size).ok_or_else(|| CheckpointError::BadSize(size.into()))?;
        let root = Hash::from_base64(root).map_err(|_| CheckpointError::BadRoot(root.into()))?;
        let mut extensions = Vec::new();
        for (i, line) in lines.enumerate() {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtension(i + 1));
            }
            extensions.push(line.to_string());
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }

    /// The checkpoint body text, each line ending in a newline.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Signs the checkpoint with the log key, giving the signed note.
    pub fn sign(&self, log_key: &SigningKey) -> Result<Note, NoteError> {
        Note::sign(&self.to_text(), &[log_key])
    }
}

/// A checkpoint whose log signature has been verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The parsed body.
    pub checkpoint: Checkpoint,
    /// The whole note as received (log signature and any cosignatures).
    pub note: Note,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint note and verifies the log's signature on it.
    ///
    /// The origin must equal the log key's name (daylight names log keys by origin).
    /// Other signatures (cosignatures, unknown keys) are kept in `note` unchecked.
    pub fn open(
        message: &[u8],
        log_key: &VerifierKey,
    ) -> Result<SignedCheckpoint, CheckpointError> {
        let note = Note::parse(message)?;
        let checkpoint = Checkpoint::parse(&note.text)?;
        if checkpoint.origin != log_key.name() {
            return Err(CheckpointError::WrongOrigin {
                expected: log_key.name().to_string(),
                found: checkpoint.origin,
            });
        }
        let _: VerifiedNote = note.verify(std::slice::from_ref(log_key))?;
        Ok(SignedCheckpoint { checkpoint, note })
    }
}

/// Parses an unsigned decimal with no sign, no leading zeros (except "0") and no overflow.
pub fn parse_canonical_u64(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format_round_trip() {
        let text = "example.com/log\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\next one\n";
        let c = Checkpoint::parse(text).unwrap();
        assert_eq!(c.size, 12);
        assert_eq!(c.extensions, vec!["ext one".to_string()]);
        assert_eq!(c.to_text(), text);
    }

    #[test]
    fn strictness() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        let bad = [
            format!("o\n12\n{root}"),
            format!("\n12\n{root}\n"),
            format!("o\n012\n{root}\n"),
            format!("o\n+12\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            "o\n12\nAAAA\n".to_string(),
            format!("o\n12\n{root}\n\n"),
            "o\n12\n".to_string(),
        ];
        for text in &bad {
            assert!(Checkpoint::parse(text).is_err(), "{text:?} accepted");
        }
        assert!(Checkpoint::parse(&format!("o\n0\n{root}\n")).is_ok());
    }

    #[test]
    fn canonical_decimal() {
        assert_eq!(parse_canonical_u64("0"), Some(0));
        assert_eq!(parse_canonical_u64("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "00", "01", "-1", " 1", "1 ", "1e3"] {
            assert_eq!(parse_canonical_u64(bad), None, "{bad:?}");
        }
    }
}
