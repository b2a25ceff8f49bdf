//! # daylight-verifier-wasm
//!
//! `daylight-verifier` and `daylight-genesis` compiled to WebAssembly for the portal (DESIGN
//! §7a): the page fetches bytes from the node's read API and these functions check them, so
//! a record or a household receipt is verified in the browser, not on trust in the server.
//! Every check is the verifier's own code; nothing here re-implements Merkle trees, notes or
//! records.
//!
//! Every exported function takes bytes or text and returns a JSON string (the page calls
//! `JSON.parse`); none throws for bad input and none panics: a failure is a result with
//! `ok: false` and, per check, `{id, ok, code, detail}` ([`check::Check`]). Sizes and
//! indexes are JavaScript numbers (whole, below 2^53); hashes are lowercase hex. Tiles are
//! passed as one byte array with a JSON list of their paths and a `Uint32Array` of their
//! lengths.
//!
//! Modules: [`check`] (the check shape), [`genesis`] (pin and follow the genesis chain),
//! [`checkpoint`] (log signature and witness quorum), [`tiles`] (which tiles a proof needs,
//! proofs from tiles), [`entry`] (canonical form and signatures), [`receipt`] (household
//! receipts, offline); `tests` (host tests of every export, garbage input
//! included). `verify.js` in the portal is the JavaScript side.

#![deny(missing_docs)]

pub mod check;
pub mod checkpoint;
pub mod entry;
pub mod genesis;
pub mod receipt;
pub mod tiles;

use daylight_verifier::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use daylight_verifier::policy::LogPolicy;
use daylight_verifier::receipt_code;
use daylight_verifier::{Hash, VerifierKey};
use serde_json::json;
use wasm_bindgen::prelude::wasm_bindgen;

use check::{Check, whole};

fn error(detail: impl Into<String>) -> String {
    json!({"ok": false, "error": detail.into()}).to_string()
}

fn hash(hex_text: &str, what: &str) -> Result<Hash, String> {
    Hash::from_hex(hex_text).map_err(|e| format!("{what} is not a 32-byte hash in hex: {e}"))
}

fn hashes(json_list: &str, what: &str) -> Result<Vec<Hash>, String> {
    let list: Vec<String> = serde_json::from_str(json_list)
        .map_err(|e| format!("{what} must be a JSON list of hex hashes: {e}"))?;
    list.iter().map(|h| hash(h, what)).collect()
}

fn tile_reader(paths: &str, tiles: &[u8], lengths: &[u32]) -> Result<tiles::TileReader, String> {
    let paths: Vec<String> = serde_json::from_str(paths)
        .map_err(|e| format!("tile paths must be a JSON list of strings: {e}"))?;
    tiles::TileReader::new(&paths, tiles, lengths)
}

fn pinned(id: &str) -> Option<&str> {
    Some(id).filter(|id| !id.is_empty())
}

/// This build's crate version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// First visit: verifies the served genesis chain (JSON of `GET /v1/genesis`) from version 1.
/// `{ok, firstVisit, networkId, versionId, sequence, network, members, checks:[genesis]}`.
#[wasm_bindgen(js_name = pinGenesis)]
pub fn pin_genesis(served: &[u8]) -> String {
    genesis::pin(served).to_string()
}

/// Later visits: the served chain must contain the pinned version id and validly extend it.
/// Same result shape as [`pin_genesis`], `firstVisit` false.
#[wasm_bindgen(js_name = followGenesis)]
pub fn follow_genesis(pinned_id: &str, served: &[u8]) -> String {
    genesis::follow(pinned_id, served).to_string()
}

/// Checks a checkpoint note (with its cosignatures) of member `log` (empty: found by the
/// checkpoint's origin) against the genesis chain `chain`, followed from `pinned_id` (empty:
/// verified from version 1). `{ok, checks:[checkpoint_signature, witness_quorum],
/// checkpoint:{origin,size,root}, cosigners}`.
#[wasm_bindgen(js_name = verifyCheckpoint)]
pub fn verify_checkpoint(chain: &[u8], pinned_id: &str, log: &str, note: &[u8]) -> String {
    match genesis::open_chain(chain, pinned(pinned_id)) {
        Ok(chain) => checkpoint::verify(&chain, log, note).to_json().to_string(),
        Err(check) => json!({"ok": false, "checks": [check]}).to_string(),
    }
}

/// Checks a checkpoint note against explicit keys: the log's vkey, the witnesses' vkeys (a
/// JSON list) and the quorum. `{ok, checks, checkpoint, cosigners}`, as [`verify_checkpoint`].
#[wasm_bindgen(js_name = verifyNoteWithKeys)]
pub fn verify_note_with_keys(
    note: &[u8],
    log_vkey: &str,
    witness_vkeys: &str,
    quorum: f64,
) -> String {
    let policy = (|| {
        let log_key = VerifierKey::parse(log_vkey).map_err(|e| format!("log vkey: {e}"))?;
        let list: Vec<String> = serde_json::from_str(witness_vkeys)
            .map_err(|e| format!("witness vkeys must be a JSON list: {e}"))?;
        let witnesses = list
            .iter()
            .map(|k| VerifierKey::parse(k).map_err(|e| format!("witness vkey {k}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let quorum = whole(quorum, "quorum")? as usize;
        LogPolicy::new(log_key, witnesses, quorum).map_err(|e| e.to_string())
    })();
    let policy = match policy {
        Ok(policy) => policy,
        Err(e) => return error(e),
    };
    let checks = match policy.open(note) {
        Err(e) => vec![
            Check::fail("checkpoint_signature", "bad_signature", e.to_string()),
            Check::fail(
                "witness_quorum",
                "not_checked",
                "not checked: no log signature",
            ),
        ],
        Ok(signed) => {
            let body = checkpoint::describe(&signed.checkpoint);
            let sig = Check::pass("checkpoint_signature", "signed by the log key");
            return match policy.verify_cosignatures(signed) {
                Ok(t) => {
                    let names: Vec<&str> = t.cosigners.iter().map(|c| c.name.as_str()).collect();
                    let quorum = Check::pass("witness_quorum", names.join(", "));
                    json!({"ok": true, "checks": [sig, quorum], "checkpoint": body, "cosigners": names})
                }
                Err(e) => {
                    let quorum = Check::fail("witness_quorum", "no_quorum", e.to_string());
                    json!({"ok": false, "checks": [sig, quorum], "checkpoint": body})
                }
            }
            .to_string();
        }
    };
    json!({"ok": false, "checks": checks}).to_string()
}

/// The hash tiles an inclusion proof of entry `index` in the tree of `size` needs, and the
/// entry bundle holding the entry: `{ok, tiles:[path], entryBundle: path}`.
#[wasm_bindgen(js_name = inclusionTiles)]
pub fn inclusion_tiles(index: f64, size: f64) -> String {
    let result = (|| {
        let (index, size) = (whole(index, "index")?, whole(size, "size")?);
        let bundle = tiles::entry_tile(index, size)?.path();
        Ok::<_, String>((tiles::inclusion_tiles(index, size)?, bundle))
    })();
    match result {
        Ok((paths, bundle)) => {
            json!({"ok": true, "tiles": paths, "entryBundle": bundle}).to_string()
        }
        Err(e) => error(e),
    }
}

/// The hash tiles (of the tree of `new` leaves) a consistency proof from `old` needs:
/// `{ok, tiles:[path]}` (empty when `old` is 0 or `new`).
#[wasm_bindgen(js_name = consistencyTiles)]
pub fn consistency_tiles(old: f64, new: f64) -> String {
    let result = (|| tiles::consistency_tiles(whole(old, "old size")?, whole(new, "new size")?))();
    match result {
        Ok(paths) => json!({"ok": true, "tiles": paths}).to_string(),
        Err(e) => error(e),
    }
}

/// The inclusion proof of entry `index` in the tree of `size`, built from tiles:
/// `{ok, proof:[hex]}`, the hashes of RFC 9162 §2.1.3, leaf sibling first.
#[wasm_bindgen(js_name = proveInclusion)]
pub fn prove_inclusion(
    index: f64,
    size: f64,
    paths: &str,
    tiles: &[u8],
    lengths: &[u32],
) -> String {
    let result = (|| {
        let reader = tile_reader(paths, tiles, lengths)?;
        daylight_verifier::merkle::prove_inclusion(
            whole(index, "index")?,
            whole(size, "size")?,
            &reader,
        )
        .map_err(|e| e.to_string())
    })();
    match result {
        Ok(proof) => {
            json!({"ok": true, "proof": proof.iter().map(Hash::to_hex).collect::<Vec<_>>()})
                .to_string()
        }
        Err(e) => error(e),
    }
}

/// The consistency proof from the tree of `old` leaves to that of `new`, built from the
/// tiles of the latter: `{ok, proof:[hex]}` (RFC 9162 §2.1.4).
#[wasm_bindgen(js_name = proveConsistency)]
pub fn prove_consistency(old: f64, new: f64, paths: &str, tiles: &[u8], lengths: &[u32]) -> String {
    let result = (|| {
        let reader = tile_reader(paths, tiles, lengths)?;
        daylight_verifier::merkle::prove_consistency(
            whole(old, "old size")?,
            whole(new, "new size")?,
            &reader,
        )
        .map_err(|e| e.to_string())
    })();
    match result {
        Ok(proof) => {
            json!({"ok": true, "proof": proof.iter().map(Hash::to_hex).collect::<Vec<_>>()})
                .to_string()
        }
        Err(e) => error(e),
    }
}

/// The `inclusion` check from tiles: the entry with leaf hash `leaf` is at `index` of the
/// tree of `size` with `root`. Returns one check.
#[wasm_bindgen(js_name = verifyInclusion)]
pub fn verify_inclusion_from_tiles(
    index: f64,
    size: f64,
    root: &str,
    leaf: &str,
    paths: &str,
    tiles: &[u8],
    lengths: &[u32],
) -> String {
    let result = (|| {
        let reader = tile_reader(paths, tiles, lengths)?;
        Ok::<_, String>(tiles::check_inclusion(
            whole(index, "index")?,
            whole(size, "size")?,
            &hash(leaf, "leaf")?,
            &hash(root, "root")?,
            &reader,
        ))
    })();
    let check = result.unwrap_or_else(|e| Check::fail("inclusion", "missing_tile", e));
    json!(check).to_string()
}

/// The `log_grows` check from tiles: the tree of `new` leaves with `new_root` extends the
/// tree of `old` leaves with `old_root` seen before. Returns one check.
#[wasm_bindgen(js_name = verifyConsistency)]
pub fn verify_consistency_from_tiles(
    old: f64,
    old_root: &str,
    new: f64,
    new_root: &str,
    paths: &str,
    tiles: &[u8],
    lengths: &[u32],
) -> String {
    let result = (|| {
        let reader = tile_reader(paths, tiles, lengths)?;
        Ok::<_, String>(tiles::check_grows(
            whole(old, "old size")?,
            &hash(old_root, "old root")?,
            whole(new, "new size")?,
            &hash(new_root, "new root")?,
            &reader,
        ))
    })();
    let check = result.unwrap_or_else(|e| Check::fail("log_grows", "missing_tile", e));
    json!(check).to_string()
}

/// Verifies an inclusion proof given as a JSON list of hex hashes. Returns one check.
#[wasm_bindgen(js_name = verifyInclusionProof)]
pub fn verify_inclusion_proof(
    index: f64,
    size: f64,
    leaf: &str,
    proof: &str,
    root: &str,
) -> String {
    let check = (|| {
        verify_inclusion(
            whole(index, "index")?,
            whole(size, "size")?,
            &hash(leaf, "leaf")?,
            &hashes(proof, "proof")?,
            &hash(root, "root")?,
        )
        .map_err(|e| e.to_string())
    })()
    .map_or_else(
        |e| Check::fail("inclusion", "proof_mismatch", e),
        |()| Check::pass("inclusion", "the proof leads to the root"),
    );
    json!(check).to_string()
}

/// Verifies a consistency proof given as a JSON list of hex hashes. Returns one check.
#[wasm_bindgen(js_name = verifyConsistencyProof)]
pub fn verify_consistency_proof(
    old: f64,
    new: f64,
    old_root: &str,
    new_root: &str,
    proof: &str,
) -> String {
    let check = (|| {
        verify_consistency(
            whole(old, "old size")?,
            whole(new, "new size")?,
            &hash(old_root, "old root")?,
            &hash(new_root, "new root")?,
            &hashes(proof, "proof")?,
        )
        .map_err(|e| e.to_string())
    })()
    .map_or_else(
        |e| Check::fail("log_grows", "not_consistent", e),
        |()| Check::pass("log_grows", "the proof links the two roots"),
    );
    json!(check).to_string()
}

/// The RFC 6962 leaf hash of an entry, in hex.
#[wasm_bindgen(js_name = leafHash)]
pub fn leaf_hash_hex(entry: &[u8]) -> String {
    leaf_hash(entry).to_hex()
}

/// Checks entry bytes said to be at `index` of the log of member `log` against the genesis
/// chain: `{ok, checks:[entry_canonical, entry_signatures], record, entryText, leaf}`.
#[wasm_bindgen(js_name = verifyEntry)]
pub fn verify_entry(chain: &[u8], pinned_id: &str, log: &str, index: f64, entry: &[u8]) -> String {
    let opened = genesis::open_chain(chain, pinned(pinned_id));
    let result = (|| {
        let chain = opened.map_err(|c| c.detail)?;
        Ok::<_, String>(entry::verify(&chain, log, whole(index, "index")?, entry))
    })();
    match result {
        Ok(checked) => checked.to_json().to_string(),
        Err(e) => {
            json!({"ok": false, "checks": [Check::fail("entry_canonical", "not_checked", e)]})
                .to_string()
        }
    }
}

/// [`verify_entry`] on entry `index` taken out of its entry bundle (`tile/entries/N`).
#[wasm_bindgen(js_name = verifyEntryInBundle)]
pub fn verify_entry_in_bundle(
    chain: &[u8],
    pinned_id: &str,
    log: &str,
    index: f64,
    bundle: &[u8],
) -> String {
    let entry = whole(index, "index").and_then(|i| entry::from_bundle(bundle, i));
    match entry {
        Ok(entry) => verify_entry(chain, pinned_id, log, index, &entry),
        Err(e) => {
            json!({"ok": false, "checks": [Check::fail("entry_canonical", "damaged_bundle", e)]})
                .to_string()
        }
    }
}

/// Verifies a receipt offline (household receipt JSON, tlog-proof bundle, receipt code or
/// receipt link) against the genesis chain, followed from `pinned_id` (empty: verified from
/// version 1). See [`receipt::verify`] for the result.
#[wasm_bindgen(js_name = verifyReceipt)]
pub fn verify_receipt(receipt_text: &str, chain: &[u8], pinned_id: &str) -> String {
    receipt::verify(receipt_text, chain, pinned(pinned_id)).to_string()
}

/// Decodes a receipt code (or link): `{ok, receipt: <JSON text>}` or `{ok: false, error}`.
#[wasm_bindgen(js_name = decodeReceiptCode)]
pub fn decode_receipt_code(code: &str) -> String {
    match receipt_code::decode(code) {
        Ok(text) => json!({"ok": true, "receipt": text}).to_string(),
        Err(e) => error(e.to_string()),
    }
}

/// Encodes a household receipt (JSON text) as a receipt code: `{ok, code}` or
/// `{ok: false, error}`. The QR code carries `<node origin>/receipt#<code>`.
#[wasm_bindgen(js_name = encodeReceiptCode)]
pub fn encode_receipt_code(receipt_json: &str) -> String {
    match receipt_code::encode(receipt_json) {
        Ok(code) => json!({"ok": true, "code": code}).to_string(),
        Err(e) => error(e.to_string()),
    }
}

/// Parses one of this crate's JSON results (host tests).
#[cfg(test)]
fn parsed(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("results are JSON")
}

#[cfg(test)]
mod tests;
