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

use std::path::Path;

use daylight_genesis::Genesis;
use daylight_verifier::bundle::{BUNDLE_HEADER, ProofBundle};
use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::merkle::leaf_hash;
use daylight_verifier::note::Note;
use daylight_verifier::policy::PolicyError;
use daylight_verifier::record::Opening;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::check::{Target, check_entry, check_inclusion, describe_record, record_json};
use crate::error::{CliError, input, read_file};
use crate::output::Report;
use crate::seen::write_atomic;
use crate::source::Source;

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

/// Runs `daylight receipt fetch`. From a node, the node's receipt; from a static copy, one
/// assembled here from the entry bundle, the hash tiles (each checked against the copy's
/// checkpoint root) and the checkpoint note, byte for byte the bundle a node would serve for
/// the same checkpoint. With `genesis`, the receipt is verified as `receipt verify` would
/// before it is written, and one that does not verify is not written (exit 1).
pub fn fetch(
    node: &str,
    which: Which,
    out: &Path,
    opening: Option<&Opening>,
    genesis: Option<&Genesis>,
) -> Result<Report, CliError> {
    let source = Source::new(node)?;
    let described = source.describe()?;
    let mut notes = Vec::new();
    let (log, index) = match which {
        Which::Index { log, index } => (log, index),
        Which::Rid(rid) => {
            let target = Target::parse(&rid)?;
            let fetched = source
                .record(&target, genesis)?
                .map_err(crate::error::failed)?;
            notes = fetched.notes;
            (fetched.log, fetched.version.index)
        }
    };
    let body = source.receipt(&log, index)?;
    let bundle = ProofBundle::parse(&body).map_err(|e| CliError::Refused {
        url: format!("{}/log/{log}/receipt/{index}", source.base()),
        status: 200,
        detail: format!("the receipt is malformed: {e}"),
    })?;
    let mut report = Report::new(json!({
        "log": log, "index": index, "out": out.display().to_string(),
        "household": opening.is_some(), "source": source.kind()?, "notes": notes,
    }));
    report.line(format!("source: {described}"));
    for note in &notes {
        report.line(format!("  {note}"));
    }
    if let Some(genesis) = genesis {
        let parsed = parse_bundle(&body).map_err(|u| {
            crate::error::failed(format!(
                "the receipt of entry {index} of log {log} from {described} is not a whole \
                 receipt: {}",
                match u {
                    Unusable::Damaged(what) => what,
                    Unusable::NoEntry => "it carries no entry".to_string(),
                    Unusable::Empty | Unusable::NotAReceipt =>
                        "it is not a tlog-proof bundle".to_string(),
                }
            ))
        })?;
        let verified = verify_parsed(genesis, parsed, opening)?;
        report.checks.extend(verified.checks.iter().cloned());
        report.lines.extend(verified.lines.iter().cloned());
        if let Some(failure) = verified.failure {
            report.failure = Some(failure);
            report.line(format!(
                "Did not write {}: the receipt does not verify against genesis {}.",
                out.display(),
                genesis.id()
            ));
            return Ok(report);
        }
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    let bytes = match opening {
        None => body.clone(),
        Some(opening) => {
            let receipt = HouseholdReceipt {
                format: HOUSEHOLD_FORMAT.into(),
                bundle: text,
                opening: opening.clone(),
            };
            let mut json = serde_json::to_vec_pretty(&receipt)
                .map_err(|e| input(format!("cannot write the receipt: {e}")))?;
            json.push(b'\n');
            json
        }
    };
    write_atomic(out, &bytes).map_err(|e| input(format!("cannot write {}: {e}", out.display())))?;
    report.line(format!(
        "Wrote the receipt of entry {index} of log {log} ({} proof hashes{}) to {}.",
        bundle.proof.len(),
        if opening.is_some() {
            ", with the household's opening"
        } else {
            ""
        },
        out.display()
    ));
    if genesis.is_none() {
        if source.is_static()? {
            report.line(
                "Assembled from the static copy: its entry and proof were checked against the \
                 copy's checkpoint root, but the checkpoint's signatures are not checked yet.",
            );
        }
        report.line(format!(
            "Not verified yet: run `daylight receipt verify --genesis GENESIS {}` (offline).",
            out.display()
        ));
    }
    Ok(report)
}

/// Why a receipt file cannot be checked at all: it is not a receipt, or not a whole one.
/// Every one of these is bad input (exit 2), never a verification failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// The file is empty.
    Empty,
    /// The file is neither a tlog-proof bundle nor a household receipt.
    NotAReceipt,
    /// The file is a bundle without the entry (`extra` line), so it shows nothing logged.
    NoEntry,
    /// The file starts like a receipt but is cut short, garbled or changed in transit.
    Damaged(String),
}

impl Unusable {
    /// The error for the file at `path`: what is wrong and what to do.
    pub fn error(&self, path: &Path) -> CliError {
        let path = path.display();
        input(match self {
            Unusable::Empty => format!(
                "the receipt file {path} is empty; ask the publisher for the receipt again, \
                 or fetch it with `daylight receipt fetch`"
            ),
            Unusable::NotAReceipt => format!(
                "{path} is not a receipt: a receipt starts with {BUNDLE_HEADER:?} or is a \
                 household receipt (a JSON object with \"format\": {HOUSEHOLD_FORMAT:?}); \
                 check that you gave the right file"
            ),
            Unusable::NoEntry => format!(
                "the receipt file {path} carries no entry (no `extra` line), so it cannot show \
                 what was logged; fetch a complete receipt with `daylight receipt fetch`"
            ),
            Unusable::Damaged(what) => format!(
                "the receipt file {path} is damaged: {what}. It was cut short or changed after \
                 it was made; ask the publisher for it again, or fetch it again with \
                 `daylight receipt fetch`"
            ),
        })
    }
}

/// A receipt file taken apart: the bundle text (line endings restored to LF) and, for a
/// household receipt, its opening.
#[derive(Clone, Debug)]
pub struct ReceiptFile {
    /// The tlog-proof bundle text, LF line endings.
    pub bundle: Vec<u8>,
    /// The opening a household receipt carries.
    pub opening: Option<Opening>,
    /// Whether the bundle had CRLF line endings, turned back into LF.
    pub crlf: bool,
    /// Whether the file started with a UTF-8 byte order mark, dropped.
    pub bom: bool,
}

/// Splits a receipt file into its bundle text and, for a household receipt, its opening, and
/// undoes what mail clients and editors do to line endings: the tlog-proof format is LF-only
/// and never holds a carriage return, so CRLF is turned back into LF (and a leading UTF-8
/// byte order mark dropped) without losing anything the signatures cover.
pub fn read_receipt(bytes: &[u8]) -> Result<ReceiptFile, Unusable> {
    let (bytes, bom) = match bytes.strip_prefix(b"\xef\xbb\xbf") {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    if start == bytes.len() {
        return Err(Unusable::Empty);
    }
    if bytes[start] == b'{' {
        let receipt: HouseholdReceipt = serde_json::from_slice(bytes).map_err(|e| {
            Unusable::Damaged(format!(
                "it starts like a household receipt (JSON) but is not a whole one: {e}"
            ))
        })?;
        if receipt.format != HOUSEHOLD_FORMAT {
            return Err(Unusable::Damaged(format!(
                "household receipt format {:?} is not {HOUSEHOLD_FORMAT:?}",
                receipt.format
            )));
        }
        let (bundle, crlf) = to_lf(receipt.bundle.as_bytes())?;
        return Ok(ReceiptFile {
            bundle,
            opening: Some(receipt.opening),
            crlf,
            bom,
        });
    }
    let (bundle, crlf) = to_lf(bytes)?;
    let header = BUNDLE_HEADER.as_bytes();
    if !bundle.starts_with(header) {
        if header.starts_with(&bundle) {
            return Err(Unusable::Damaged(format!(
                "it ends after {} bytes, inside its first line {BUNDLE_HEADER:?}",
                bundle.len()
            )));
        }
        return Err(Unusable::NotAReceipt);
    }
    Ok(ReceiptFile {
        bundle,
        opening: None,
        crlf,
        bom,
    })
}

/// Turns CRLF line endings into LF; refuses a carriage return anywhere else. Returns the
/// text and whether any CRLF was found.
fn to_lf(bytes: &[u8]) -> Result<(Vec<u8>, bool), Unusable> {
    if !bytes.contains(&b'\r') {
        return Ok((bytes.to_vec(), false));
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut line = 1;
    let mut iter = bytes.iter().peekable();
    while let Some(&b) = iter.next() {
        match b {
            b'\r' if iter.peek() == Some(&&b'\n') => {}
            b'\r' => {
                return Err(Unusable::Damaged(format!(
                    "line {line} holds a carriage return (CR) that does not end a line; the \
                     tlog-proof format uses LF line endings only"
                )));
            }
            b'\n' => {
                line += 1;
                out.push(b);
            }
            _ => out.push(b),
        }
    }
    Ok((out, true))
}

/// A bundle whose structure was checked: the entry is there and the checkpoint is a signed
/// note with a well-formed checkpoint body. Nothing is verified yet.
#[derive(Clone, Debug)]
pub struct ParsedBundle {
    /// The bundle.
    pub bundle: ProofBundle,
    /// The entry bytes (the bundle's `extra`).
    pub entry: Vec<u8>,
    /// The checkpoint body, not yet trusted.
    pub checkpoint: Checkpoint,
}

/// Checks a bundle's structure, so that a receipt cut short or garbled is told apart from one
/// that is whole but does not verify.
pub fn parse_bundle(bytes: &[u8]) -> Result<ParsedBundle, Unusable> {
    let bundle = ProofBundle::parse(bytes).map_err(|e| Unusable::Damaged(e.to_string()))?;
    let Some(entry) = bundle.extra.clone() else {
        return Err(Unusable::NoEntry);
    };
    let note = Note::parse(bundle.checkpoint.as_bytes()).map_err(|e| {
        Unusable::Damaged(format!("its checkpoint is not a whole signed note: {e}"))
    })?;
    let checkpoint = Checkpoint::parse(&note.text)
        .map_err(|e| Unusable::Damaged(format!("its checkpoint is malformed: {e}")))?;
    Ok(ParsedBundle {
        bundle,
        entry,
        checkpoint,
    })
}

/// Runs `daylight receipt verify`, offline. A file that is not a whole receipt is bad input
/// (exit 2); a whole receipt that does not verify is a failed report (exit 1).
pub fn verify(
    genesis: &Genesis,
    receipt: &Path,
    opening_file: Option<&Path>,
) -> Result<Report, CliError> {
    let file = read_receipt(&read_file(receipt)?).map_err(|u| u.error(receipt))?;
    let parsed = parse_bundle(&file.bundle).map_err(|u| u.error(receipt))?;
    let opening = match opening_file {
        Some(path) => Some(read_opening(path)?),
        None => file.opening,
    };
    let mut report = verify_parsed(genesis, parsed, opening.as_ref())?;
    report.json["line_endings_converted"] = json!(file.crlf);
    report.json["byte_order_mark_removed"] = json!(file.bom);
    if file.crlf {
        report.lines.insert(
            1,
            "Note: this receipt file had Windows (CRLF) line endings, as some mail clients and \
             editors write them. The tlog-proof format uses LF only, so they were turned back \
             into LF before checking; the signatures below show whether anything else changed."
                .to_string(),
        );
    }
    if file.bom {
        report.lines.insert(
            1,
            "Note: this receipt file started with a byte order mark (U+FEFF), as some editors \
             add; it is not part of the receipt and was dropped before checking."
                .to_string(),
        );
    }
    Ok(report)
}

/// Verifies a well-formed bundle (and an opening) against a genesis: the checks of
/// `receipt verify`.
pub fn verify_parsed(
    genesis: &Genesis,
    parsed: ParsedBundle,
    opening: Option<&Opening>,
) -> Result<Report, CliError> {
    let ParsedBundle {
        bundle,
        entry,
        checkpoint,
    } = parsed;
    let mut report = Report::new(json!({"genesis": genesis.id(), "household": opening.is_some()}));
    report.line(format!(
        "Verifying a receipt offline against genesis {} ({}).",
        genesis.id(),
        genesis.network()
    ));
    let Some(member) = genesis.definition().member_by_origin(&checkpoint.origin) else {
        report.fail(
            "checkpoint",
            format!(
                "the checkpoint is for log {:?}, which the genesis does not list",
                checkpoint.origin
            ),
        );
        return Ok(report);
    };
    let member = member.id.clone();
    let policy = genesis
        .policy_for(&member)
        .map_err(|e| input(format!("genesis policy for {member}: {e}")))?;
    let leaf = leaf_hash(&entry);
    report.json["log"] = json!(member);
    report.json["origin"] = json!(checkpoint.origin);
    report.json["index"] = json!(bundle.index);
    report.json["leaf"] = json!(leaf.to_hex());
    report.json["checkpoint"] = json!({"size": checkpoint.size, "root": checkpoint.root.to_hex()});

    // 1. The log signed the checkpoint; 2. a quorum of its witnesses cosigned it.
    match policy.open(bundle.checkpoint.as_bytes()) {
        Ok(signed) => {
            report.pass(
                "log signature",
                format!(
                    "checkpoint of {} (size {}) is signed by the log key in the genesis",
                    checkpoint.origin, checkpoint.size
                ),
            );
            match policy.verify_cosignatures(signed) {
                Ok(t) => {
                    let names: Vec<&str> = t.cosigners.iter().map(|c| c.name.as_str()).collect();
                    report.pass(
                        "cosignatures",
                        format!(
                            "{} of {} required valid: {}",
                            names.len(),
                            policy.quorum(),
                            names.join(", ")
                        ),
                    );
                }
                Err(PolicyError::QuorumNotMet(s)) => report.fail(
                    "cosignatures",
                    format!(
                        "{} of {} required valid (cosigned by: {}; missing: {}{}); a receipt \
                         fetched before its witnesses cosigned, or cut short after a signature \
                         line, lacks cosignatures: fetch it again",
                        s.cosigned_by.len(),
                        s.required,
                        join(&s.cosigned_by),
                        join(&s.missing),
                        if s.invalid.is_empty() {
                            String::new()
                        } else {
                            format!("; invalid: {}", join(&s.invalid))
                        }
                    ),
                ),
                Err(e) => report.fail("cosignatures", e.to_string()),
            }
        }
        Err(e) => report.fail(
            "log signature",
            format!(
                "checkpoint is not validly signed by the log key of {}: {e}",
                checkpoint.origin
            ),
        ),
    }
    // 3. The entry is the canonical record its signers signed.
    let record = match check_entry(genesis, &member, bundle.index, &entry) {
        Ok((record, who)) => {
            report.pass(
                "entry",
                format!("canonical record, leaf {leaf}, signed by {who}"),
            );
            Some(record)
        }
        Err(reason) => {
            report.fail(
                "entry",
                format!("the entry was altered or is not a record of {member}: {reason}"),
            );
            None
        }
    };
    // 4. The entry's leaf is at `index` in the checkpoint's tree.
    match check_inclusion(bundle.index, &leaf, &bundle.proof, &checkpoint) {
        Ok(()) => report.pass(
            "inclusion",
            format!(
                "the entry's leaf is at index {} of the tree of size {}",
                bundle.index, checkpoint.size
            ),
        ),
        Err(reason) => report.fail(
            "inclusion",
            format!("{reason} (the entry or the proof was altered)"),
        ),
    }
    // 5. For a household: its opening matches the payment's commitment.
    if let Some(opening) = opening {
        match &record {
            Some(r) => match opening.verify(r) {
                Ok(()) => report.pass(
                    "opening",
                    format!(
                        "the payment {} of {} to household {} is the one this opening commits to",
                        opening.rid, opening.amount, opening.pseudonym
                    ),
                ),
                Err(e) => report.fail(
                    "opening",
                    format!("the opening does not match the payment: {e}"),
                ),
            },
            None => report.fail("opening", "not checked: the entry did not verify"),
        }
    }
    if let Some(r) = &record {
        report.line(format!(
            "Entry {} of log {member}: {}",
            bundle.index,
            describe_record(r)
        ));
        report.json["record"] = record_json(r);
    }
    Ok(report)
}

fn join(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
