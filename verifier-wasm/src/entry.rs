//! A log entry against the pinned genesis: it is the canonical (RFC 8785 JCS) form of a
//! record of that log, and its signatures are by keys the genesis accepts for that log at
//! that index (a revoked key counts only before the index named in the genesis).

use daylight_genesis::GenesisChain;
use daylight_verifier::merkle::leaf_hash;
use daylight_verifier::record::{MemberId, SignedRecord, verify_signatures};
use daylight_verifier::tile::read_bundle;
use serde_json::{Value, json};

use crate::check::Check;

/// What checking one entry gave.
pub struct Entry {
    /// `entry_canonical` and `entry_signatures`.
    pub checks: Vec<Check>,
    /// The record, when the entry is a canonical record.
    pub record: Option<SignedRecord>,
    /// The entry parsed as JSON, whenever it is JSON at all (for showing what was served).
    pub json: Option<Value>,
    /// The entry text (lossy UTF-8).
    pub text: String,
    /// The entry's RFC 6962 leaf hash.
    pub leaf: daylight_verifier::Hash,
}

impl Entry {
    /// As JSON: `{ok, checks, record, entryText, leaf}` (leaf in lowercase hex).
    pub fn to_json(&self) -> Value {
        json!({
            "ok": self.checks.iter().all(|c| c.ok), "checks": self.checks,
            "record": self.json, "entryText": self.text, "leaf": self.leaf.to_hex(),
        })
    }
}

/// Checks `entry`, said to be at `index` of the log of member `log`, against the latest
/// version of `chain`.
pub fn verify(chain: &GenesisChain, log: &str, index: u64, entry: &[u8]) -> Entry {
    let genesis = chain.latest();
    let mut out = Entry {
        checks: Vec::new(),
        record: None,
        json: serde_json::from_slice(entry).ok(),
        text: String::from_utf8_lossy(entry).into_owned(),
        leaf: leaf_hash(entry),
    };
    let record = match SignedRecord::from_entry(entry) {
        Ok(record) => record,
        Err(e) => {
            out.checks.push(Check::fail(
                "entry_canonical",
                "not_canonical",
                format!("the entry is not a record in canonical (JCS) form: {e}"),
            ));
            out.checks.push(Check::fail(
                "entry_signatures",
                "not_checked",
                "not checked: the entry is not a canonical record",
            ));
            return out;
        }
    };
    out.checks.push(Check::pass(
        "entry_canonical",
        format!(
            "the entry is the canonical (JCS) form of record {} ({} bytes, leaf {})",
            record.record.rid,
            entry.len(),
            out.leaf
        ),
    ));
    let belongs = MemberId::parse(log).is_ok_and(|m| record.record.rid.belongs_to(&m));
    if !belongs {
        out.checks.push(Check::fail(
            "entry_signatures",
            "wrong_log",
            format!(
                "record {} is not a record of log {log:?}",
                record.record.rid
            ),
        ));
        out.record = Some(record);
        return out;
    }
    let keys = genesis
        .accepted_keys(log)
        .unwrap_or_default()
        .at_index(index);
    match verify_signatures(&record, &keys) {
        Ok(signed) => out.checks.push(Check::pass(
            "entry_signatures",
            format!(
                "signed by keys genesis {} accepts for {log}: {}",
                genesis.id(),
                signed.signers().join(", ")
            ),
        )),
        Err(e) => out.checks.push(Check::fail(
            "entry_signatures",
            "bad_signature",
            format!(
                "the record's signatures do not verify against the keys genesis {} accepts \
                 for {log} at index {index}: {e}",
                genesis.id()
            ),
        )),
    }
    out.record = Some(record);
    out
}

/// Entry `index` out of an entry bundle (`tile/entries/N`) that starts at entry
/// `index - index % 256`.
pub fn from_bundle(bundle: &[u8], index: u64) -> Result<Vec<u8>, String> {
    let entries = read_bundle(bundle).map_err(|e| format!("the entry bundle is damaged: {e}"))?;
    let at = (index % 256) as usize;
    entries.get(at).map(|e| e.to_vec()).ok_or_else(|| {
        format!(
            "the entry bundle holds {} entries, so not entry {index}: the node served a \
             damaged or short bundle",
            entries.len()
        )
    })
}
