//! C2SP tlog-proof bundles (`.tlog-proof`): an offline-checkable proof that an entry is in a
//! log, with a checkpoint cosigned by witnesses.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64, optional>
//! index <leaf index>
//! <base64 proof hash, from the leaf's sibling up>
//! ...
//! <blank line>
//! <the cosigned checkpoint note, verbatim>
//! ```
//!
//! daylight puts the entry bytes in `extra` when a receipt should be self-contained. The extra
//! data is not authenticated by the bundle: a verifier recomputes the leaf hash from it and the
//! inclusion proof then authenticates it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::checkpoint::parse_canonical_u64;
use crate::hash::Hash;
use crate::merkle::{ProofError, verify_inclusion};
use crate::policy::{LogPolicy, PolicyError, TrustedCheckpoint};

/// The first line of every bundle.
pub const BUNDLE_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A bundle holds at most this many proof hashes (a tree of 2^63 leaves needs 63).
const MAX_PROOF_HASHES: usize = 64;

/// Why a bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// The text is not a well-formed bundle.
    #[error("malformed tlog-proof bundle, line {line}: {reason}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The checkpoint is not trusted under the log's policy.
    #[error("bundle checkpoint not trusted: {0}")]
    Checkpoint(#[from] PolicyError),
    /// The inclusion proof does not connect the entry to the checkpoint.
    #[error("entry is not proven included at index {index}: {source}")]
    Proof {
        /// The bundle's index.
        index: u64,
        /// The proof failure.
        source: ProofError,
    },
}

/// A parsed tlog-proof bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofBundle {
    /// Opaque, unauthenticated extra data (daylight: the entry bytes).
    pub extra: Option<Vec<u8>>,
    /// Zero-based leaf index.
    pub index: u64,
    /// Inclusion proof hashes, leaf sibling first.
    pub proof: Vec<Hash>,
    /// The cosigned checkpoint note, verbatim.
    pub checkpoint: String,
}

impl ProofBundle {
    /// Parses a bundle. Structure only; [`ProofBundle::verify`] checks it.
    pub fn parse(bytes: &[u8]) -> Result<ProofBundle, BundleError> {
        let bad = |line, reason| BundleError::Malformed { line, reason };
        let text = std::str::from_utf8(bytes).map_err(|_| bad(1, "not valid UTF-8"))?;
        let mut rest = text;
        let mut line_no = 0;
        let mut next_line = |what: &'static str| -> Result<(usize, &str), BundleError> {
            line_no += 1;
            let (line, tail) = rest.split_once('\n').ok_or(bad(line_no, what))?;
            rest = tail;
            Ok((line_no, line))
        };
        let (_, header) = next_line("missing header line")?;
        if header != BUNDLE_HEADER {
            return Err(bad(1, "first line must be c2sp.org/tlog-proof@v1"));
        }
        let (mut n, mut line) = next_line("missing index line")?;
        let mut extra = None;
        if let Some(data) = line.strip_prefix("extra ") {
            extra = Some(
                BASE64
                    .decode(data)
                    .map_err(|_| bad(n, "extra data is not valid base64"))?,
            );
            (n, line) = next_line("missing index line")?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_canonical_u64)
            .ok_or(bad(n, "expected 'index <decimal without leading zeros>'"))?;
        let mut proof = Vec::new();
        loop {
            let (n, line) = next_line("missing blank line before the checkpoint")?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_HASHES {
                return Err(bad(n, "too many proof hashes"));
            }
            proof.push(
                Hash::from_base64(line)
                    .map_err(|_| bad(n, "proof line is not base64 of a 32-byte hash"))?,
            );
        }
        let checkpoint = rest.to_string();
        if checkpoint.is_empty() {
            return Err(bad(line_no + 1, "missing checkpoint"));
        }
        Ok(ProofBundle {
            extra,
            index,
            proof,
            checkpoint,
        })
    }

    /// The bundle text.
    pub fn to_text(&self) -> String {
        let mut out = String::from(BUNDLE_HEADER);
        out.push('\n');
        if let Some(extra) = &self.extra {
            out.push_str("extra ");
            out.push_str(&BASE64.encode(extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index));
        for hash in &self.proof {
            out.push_str(&hash.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Checks that the checkpoint satisfies `policy` and that `leaf` is at `index` in it.
    pub fn verify(
        &self,
        policy: &LogPolicy,
        leaf: &Hash,
    ) -> Result<TrustedCheckpoint, BundleError> {
        let trusted = policy.verify(self.checkpoint.as_bytes())?;
        let checkpoint = &trusted.checkpoint;
        verify_inclusion(
            self.index,
            checkpoint.size,
            leaf,
            &self.proof,
            &checkpoint.root,
        )
        .map_err(|source| BundleError::Proof {
            index: self.index,
            source,
        })?;
        Ok(trusted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_shaped_bundle_round_trips() {
        let text = "c2sp.org/tlog-proof@v1\nextra AAEC\nindex 7\n\
            gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n\n\
            example.com/log\n9\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n— example.com/log AAAA\n";
        let bundle = ProofBundle::parse(text.as_bytes()).unwrap();
        assert_eq!(bundle.extra, Some(vec![0, 1, 2]));
        assert_eq!(bundle.index, 7);
        assert_eq!(bundle.proof.len(), 1);
        assert!(bundle.checkpoint.starts_with("example.com/log\n9\n"));
        assert_eq!(bundle.to_text(), text);
    }

    #[test]
    fn malformed_bundles_name_the_line() {
        let cases = [
            ("", 1),
            ("c2sp.org/tlog-proof@v2\n", 1),
            ("c2sp.org/tlog-proof@v1\nindex 01\n\nx\n", 2),
            ("c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\nx\n", 2),
            ("c2sp.org/tlog-proof@v1\nindex 1\nnot-a-hash\n\nx\n", 3),
            ("c2sp.org/tlog-proof@v1\nindex 1\n\n", 4),
            ("c2sp.org/tlog-proof@v1\nindex 1\n", 3),
        ];
        for (text, line) in cases {
            match ProofBundle::parse(text.as_bytes()) {
                Err(BundleError::Malformed { line: got, .. }) => {
                    assert_eq!(got, line, "{text:?}")
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }
}
