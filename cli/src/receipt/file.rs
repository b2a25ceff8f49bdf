//! Reading a receipt file: a plain bundle or a household receipt, and what makes one unusable.

use std::path::Path;

use daylight_verifier::bundle::{BUNDLE_HEADER, ProofBundle};
use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::note::Note;
use daylight_verifier::record::Opening;

use crate::error::{CliError, input};

use super::{HOUSEHOLD_FORMAT, HouseholdReceipt};

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
