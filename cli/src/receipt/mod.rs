//! `daylight receipt fetch` and `daylight receipt verify`: a tlog-proof bundle that proves,
//! offline and against the genesis alone, that an entry is in its log; for a household, with
//! the opening of its payment's commitment.
//!
//! A receipt file is either the plain `.tlog-proof` bundle (C2SP tlog-proof, the entry bytes
//! in `extra`), or a household receipt: one JSON object
//! `{"format": "daylight-household-receipt/v1", "bundle": "<bundle text>", "opening": {...}}`
//! whose `opening` is the commitment opening (pseudonym, rid, amount, nonce).
//!
//! A file that is not a whole receipt (empty, cut short, garbled, no entry) is bad input
//! (exit 2) with what is wrong and what to do; a whole receipt that does not verify is a
//! failed report (exit 1). CRLF line endings, which mail clients and editors write, are
//! turned back into LF (the format's only line ending) and the report says so.
//!
//! * [`mod@fetch`] — `receipt fetch`: the bundle from a node or static copy, verified before it is
//!   written when a genesis is given;
//! * [`mod@file`] — reading a receipt file: a bundle or a household receipt, whole or not;
//! * [`mod@verify`] — `receipt verify`: the checkpoint under the genesis policy, inclusion, the
//!   entry, and a household's opening.

mod fetch;
mod file;
mod verify;

pub use fetch::fetch;
pub use file::{ParsedBundle, Unusable, parse_bundle, read_receipt};
pub use verify::{verify, verify_parsed};

use std::path::Path;

use daylight_verifier::record::Opening;
use serde::{Deserialize, Serialize};

use crate::error::{CliError, input, read_file};

/// The `format` of a household receipt.
pub const HOUSEHOLD_FORMAT: &str = "daylight-household-receipt/v1";

/// A household receipt: the bundle and the opening of its payment's commitment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdReceipt {
    /// Always [`HOUSEHOLD_FORMAT`].
    pub format: String,
    /// The tlog-proof bundle text.
    pub bundle: String,
    /// The opening.
    pub opening: Opening,
}

/// Which record to fetch a receipt for.
pub enum Which {
    /// By record id (looked up on the node).
    Rid(String),
    /// By log and index.
    Index {
        /// The member id of the log.
        log: String,
        /// The entry index.
        index: u64,
    },
}

/// The household's opening in the file at `path` (`receipt fetch --opening`).
pub fn read_opening(path: &Path) -> Result<Opening, CliError> {
    serde_json::from_slice(&read_file(path)?).map_err(|e| {
        input(format!(
            "{} is not a commitment opening (pseudonym, rid, amount, nonce): {e}",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use daylight_verifier::bundle::ProofBundle;
    use daylight_verifier::checkpoint::Checkpoint;
    use daylight_verifier::{Hash, KeyType, SigningKey};

    /// A structurally whole receipt: entry, two proof hashes, a checkpoint signed by a log
    /// key and one more signature line (as a witness's cosignature line looks). Returns the
    /// text and the byte offsets just after each signature line.
    fn whole_receipt() -> (String, Vec<usize>) {
        let origin = "test.daylight/county-1";
        let log = SigningKey::from_seed(origin, KeyType::Ed25519, [3; 32]).unwrap();
        let other =
            SigningKey::from_seed("test.daylight/city-1", KeyType::Ed25519, [4; 32]).unwrap();
        let mut note = Checkpoint::new(origin, 3, Hash::digest(b"root"))
            .sign(&log)
            .unwrap();
        note.add_signature(&other).unwrap();
        let bundle = ProofBundle {
            extra: Some(br#"{"rid":"county-1-2024-rcpt-0001"}"#.to_vec()),
            index: 1,
            proof: vec![Hash::digest(b"a"), Hash::digest(b"b")],
            checkpoint: note.to_text(),
        };
        let text = bundle.to_text();
        let signatures_start = text.rfind("\n\n").unwrap() + 2;
        let ends = text[signatures_start..]
            .match_indices('\n')
            .map(|(i, _)| signatures_start + i + 1)
            .collect();
        (text, ends)
    }

    fn check(bytes: &[u8]) -> Result<ParsedBundle, Unusable> {
        parse_bundle(&read_receipt(bytes)?.bundle)
    }

    #[test]
    fn a_receipt_cut_short_anywhere_is_damaged_input() {
        let (text, signature_ends) = whole_receipt();
        assert_eq!(signature_ends.len(), 2);
        assert_eq!(*signature_ends.last().unwrap(), text.len());
        check(text.as_bytes()).expect("the whole receipt is well formed");
        for cut in 0..text.len() {
            let result = check(&text.as_bytes()[..cut]);
            if signature_ends.contains(&cut) {
                // Cut right after the log's signature line: a whole note with fewer
                // signatures, which verification reports (missing cosignatures).
                assert!(result.is_ok(), "cut at {cut}: {result:?}");
                continue;
            }
            let unusable = result.expect_err(&format!("cut at {cut} must be refused"));
            let error = unusable.error(Path::new("r.tlog-proof"));
            assert_eq!(error.exit_code(), 2, "cut at {cut}: {error}");
            if cut > 0 {
                assert!(
                    error.to_string().contains("is damaged")
                        && error.to_string().contains("ask the publisher for it again"),
                    "cut at {cut}: {error}"
                );
            }
        }
    }

    #[test]
    fn crlf_line_endings_are_turned_back_into_lf_and_said_so() {
        let (text, _) = whole_receipt();
        let crlf = text.replace('\n', "\r\n");
        let file = read_receipt(crlf.as_bytes()).unwrap();
        assert!(file.crlf && !file.bom);
        assert_eq!(file.bundle, text.as_bytes());
        // Only some lines converted (a file edited by hand), or a byte order mark in front.
        let mixed = text.replacen('\n', "\r\n", 2);
        assert_eq!(
            read_receipt(mixed.as_bytes()).unwrap().bundle,
            text.as_bytes()
        );
        let bom = format!("\u{feff}{text}");
        let file = read_receipt(bom.as_bytes()).unwrap();
        assert!(file.bom && !file.crlf);
        assert_eq!(file.bundle, text.as_bytes());
        // An untouched file is not reported as converted.
        let file = read_receipt(text.as_bytes()).unwrap();
        assert!(!file.crlf && !file.bom);
        // A carriage return that ends no line is damage, named by its line.
        let stray = text.replacen("index 1", "index\r1", 1);
        match read_receipt(stray.as_bytes()) {
            Err(Unusable::Damaged(what)) => assert!(what.contains("line 3"), "{what}"),
            other => panic!("{other:?}"),
        }
        // A CRLF file cut short is still damaged, not a verification failure.
        let cut = &crlf.as_bytes()[..crlf.len() / 2];
        assert!(matches!(check(cut), Err(Unusable::Damaged(_))));
    }

    #[test]
    fn garbage_and_other_files_are_bad_input_that_says_so() {
        let path = Path::new("r");
        let message = |bytes: &[u8]| {
            let error = check(bytes).unwrap_err().error(path);
            assert_eq!(error.exit_code(), 2, "{error}");
            error.to_string()
        };
        assert!(message(b"").contains("is empty"));
        assert!(message(b"  \n").contains("is empty"));
        assert!(message(b"hello").contains("is not a receipt"));
        assert!(message(&[0, 159, 146, 150, 7]).contains("is not a receipt"));
        assert!(message(b"{\"x\":1}").contains("household receipt"));
        assert!(
            message(b"c2sp.org/tlog-proof@v1\nextra AAEC\nindex 0\n\nx\n").contains("is damaged")
        );
        assert!(
            message(b"c2sp.org/tlog-proof@v1\nindex 0\n\nx\n\n\xe2\x80\x94 k AAAA\n")
                .contains("carries no entry")
        );
        assert!(message(b"c2sp.org/tlog-pr").contains("inside its first line"));
    }
}
