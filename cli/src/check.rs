//! The checks `verify`, `flow` and `receipt` share: reading keys from files, fetching a record and its log's checkpoint from a [`Source`] (a node or a static copy), and verifying them against the
//! genesis (quorum-cosigned checkpoint, inclusion, entry bytes, signatures), and consistency
//! with the checkpoint this machine saw before.

use std::path::Path;

use daylight_genesis::Genesis;
use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::merkle::{leaf_hash, root_from_inclusion_proof, verify_consistency};
use daylight_verifier::policy::{PolicyError, TrustedCheckpoint};
use daylight_verifier::record::{
    AcceptedKeys, Body, MemberId, Money, SignedRecord, verify_signatures,
};
use daylight_verifier::{Hash, SigningKey};
use serde_json::{Value, json};

use crate::error::{CliError, failed, input, read_text};
use crate::output::Report;
use crate::seen::SeenStore;
use crate::source::Source;

/// Reads a private key file (`PRIVATE+KEY+...`).
pub fn read_signing_key(path: &Path) -> Result<SigningKey, CliError> {
    let text = read_text(path)?;
    SigningKey::parse(text.trim()).map_err(|e| {
        input(format!(
            "{} is not a daylight private key: {e}",
            path.display()
        ))
    })
}

/// What to look up: a record id, or the leaf hash of one exact version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A record id, e.g. `county-320206-2024-pay-0001`.
    Rid(String),
    /// A leaf hash (64 lowercase hex digits).
    Leaf(Hash),
}

impl Target {
    /// 64 hex digits are a leaf hash; anything else is a record id.
    pub fn parse(text: &str) -> Result<Target, CliError> {
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Hash::from_hex(&text.to_ascii_lowercase())
                .map(Target::Leaf)
                .map_err(|e| input(format!("bad leaf hash {text}: {e}")));
        }
        if text.is_empty() || text.len() > 128 || text.contains(['/', '?', '#', '%', ' ']) {
            return Err(input(format!(
                "{text:?} is neither a record id nor a 64-digit leaf hash"
            )));
        }
        Ok(Target::Rid(text.to_string()))
    }

    /// The node path that serves it.
    pub fn path(&self) -> String {
        match self {
            Target::Rid(rid) => format!("/v1/records/{rid}"),
            Target::Leaf(leaf) => format!("/v1/leaf/{}", leaf.to_hex()),
        }
    }

    /// How it reads in messages.
    pub fn describe(&self) -> String {
        match self {
            Target::Rid(rid) => format!("record {rid}"),
            Target::Leaf(leaf) => format!("leaf {leaf}"),
        }
    }
}

/// One version of a record as a node served it: the original or a correction or void.
#[derive(Clone, Debug)]
pub struct Version {
    /// Its index in the log.
    pub index: u64,
    /// The leaf hash the node claims.
    pub claimed_leaf: String,
    /// The entry bytes, recomputed as JCS from the JSON the node served.
    pub entry: Vec<u8>,
}

impl Version {
    /// The leaf hash of the entry bytes.
    pub fn leaf(&self) -> Hash {
        leaf_hash(&self.entry)
    }
}

/// A record as one node served it (`GET /v1/records/<rid>` or `/v1/leaf/<hash>`).
#[derive(Clone, Debug)]
pub struct Fetched {
    /// The member whose log holds it.
    pub log: String,
    /// The record id.
    pub rid: String,
    /// The version asked for (for a rid: the original record).
    pub version: Version,
    /// Later corrections and voids of it, in log order.
    pub corrections: Vec<Version>,
    /// How a static copy found it (rid index or scan, how corrections were found); empty
    /// for a node, whose own indexes answered.
    pub notes: Vec<String>,
}

/// The member whose id prefixes `rid` followed by a dash (the longest, if several do): the
/// log a record id belongs to.
pub fn member_of_rid<'a>(rid: &str, members: impl Iterator<Item = &'a str>) -> Option<String> {
    members
        .filter(|m| {
            rid.strip_prefix(m)
                .is_some_and(|rest| rest.starts_with('-'))
        })
        .max_by_key(|m| m.len())
        .map(str::to_string)
}

/// Fetches a log's checkpoint from a source and applies the genesis policy: signed by the
/// log key its size calls for (the log's key history), cosigned by a quorum of its witnesses,
/// and, after a log-key rotation, extending the last checkpoint the earlier key signed (a
/// consistency proof from the source). `Ok(Err(reason))` is a verification failure; `Err(e)`
/// a transport or input error.
pub fn trusted_checkpoint(
    source: &Source,
    genesis: &Genesis,
    member: &str,
) -> Result<Result<TrustedCheckpoint, String>, CliError> {
    let policy = genesis
        .policy_for(member)
        .map_err(|e| failed(format!("log {member:?}: {e}")))?;
    let note = source.checkpoint(member)?;
    let trusted = match check_checkpoint_note(&policy, &note) {
        Ok(trusted) => trusted,
        Err(reason) => {
            return Ok(Err(match missing_cosigners(&policy, &note) {
                Some(missing) if !missing.is_empty() => {
                    format!("{reason}; {}", why_missing(source, genesis, &missing))
                }
                _ => reason,
            }));
        }
    };
    let size = trusted.checkpoint.size;
    if let Some((old, root)) = policy.rotation_point_before(size) {
        let proof = source.consistency(member, old, size)?;
        if let Err(e) = verify_consistency(old, size, &root, &trusted.checkpoint.root, &proof) {
            return Ok(Err(format!(
                "the checkpoint of size {size}, signed by the current log key, does not extend \
                 the last checkpoint the earlier log key signed (size {old}, root {root}, named \
                 by the genesis): {e}"
            )));
        }
    }
    Ok(Ok(trusted))
}

/// The member ids of the log's witnesses with no valid cosignature on `note`, if it is a
/// checkpoint signed by the log at all.
fn missing_cosigners(policy: &daylight_verifier::LogPolicy, note: &[u8]) -> Option<Vec<String>> {
    let signed = policy.open(note).ok()?;
    match policy.verify_cosignatures(signed) {
        Err(PolicyError::QuorumNotMet(s)) => Some(s.missing),
        _ => None,
    }
}

/// Why witnesses (by key name) have not cosigned, as far as the source can tell: when each
/// was last heard from by the node asked, or that a static copy cannot say.
fn why_missing(source: &Source, genesis: &Genesis, missing: &[String]) -> String {
    let member_of = |key_name: &str| {
        genesis
            .members()
            .iter()
            .find(|m| m.witness_key.name() == key_name)
            .map(|m| m.id.clone())
    };
    let Some(info) = source.network_info() else {
        return "the witnesses' nodes may be down or unable to reach the log's node; ask a                 node (not a static copy) when it last heard from them"
            .to_string();
    };
    let heard: Vec<String> = missing
        .iter()
        .map(|key| {
            let member = member_of(key).unwrap_or_else(|| key.clone());
            let link = info.members.iter().find(|l| l.member == member);
            match link {
                Some(l) if l.connected => format!("{member}: connected to {}", source.base()),
                Some(l) => match &l.last_seen {
                    Some(at) => format!("{member}: last heard by {} at {at}", source.base()),
                    None => format!(
                        "{member}: not heard by {} since it started (down, or unreachable)",
                        source.base()
                    ),
                },
                None if info.member.as_deref() == Some(member.as_str()) => {
                    format!("{member}: the node asked is this witness itself")
                }
                None => format!("{member}: unknown to {}", source.base()),
            }
        })
        .collect();
    format!("why: {}", heard.join("; "))
}

/// Applies a log's policy to a checkpoint note, with a reason that says which part failed.
pub fn check_checkpoint_note(
    policy: &daylight_verifier::LogPolicy,
    note: &[u8],
) -> Result<TrustedCheckpoint, String> {
    let signed = policy.open(note).map_err(|e| {
        format!(
            "checkpoint is not validly signed by the log key of {}: {e}",
            policy.origin()
        )
    })?;
    policy.verify_cosignatures(signed).map_err(|e| match e {
        PolicyError::QuorumNotMet(s) => format!(
            "cosignatures: {} of {} required valid (cosigned by: {}; missing: {}{})",
            s.cosigned_by.len(),
            s.required,
            list(&s.cosigned_by),
            list(&s.missing),
            if s.invalid.is_empty() {
                String::new()
            } else {
                format!("; invalid: {}", list(&s.invalid))
            }
        ),
        other => other.to_string(),
    })
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Describes a trusted checkpoint in one line.
pub fn describe_checkpoint(trusted: &TrustedCheckpoint) -> String {
    let names: Vec<&str> = trusted.cosigners.iter().map(|c| c.name.as_str()).collect();
    format!(
        "size {}, root {}, cosigned by {} witness(es): {}",
        trusted.checkpoint.size,
        trusted.checkpoint.root,
        names.len(),
        names.join(", ")
    )
}

/// The checkpoint as JSON.
pub fn checkpoint_json(trusted: &TrustedCheckpoint) -> Value {
    json!({
        "origin": trusted.checkpoint.origin,
        "size": trusted.checkpoint.size,
        "root": trusted.checkpoint.root.to_hex(),
        "cosigners": trusted.cosigners.iter().map(|c| json!({"name": c.name, "timestamp": c.timestamp})).collect::<Vec<_>>(),
    })
}

/// Checks that `leaf` at `index` is in the checkpoint's tree, with a reason naming what did
/// not match.
pub fn check_inclusion(
    index: u64,
    leaf: &Hash,
    proof: &[Hash],
    checkpoint: &Checkpoint,
) -> Result<(), String> {
    let computed = root_from_inclusion_proof(index, checkpoint.size, leaf, proof)
        .map_err(|e| format!("inclusion proof for index {index} is unusable: {e}"))?;
    if computed != checkpoint.root {
        return Err(format!(
            "inclusion proof does not lead to the checkpoint root: it gives {computed}, the checkpoint of size {} says {}",
            checkpoint.size, checkpoint.root
        ));
    }
    Ok(())
}

/// The keys whose signatures count on records of `member`, from the genesis (none for a
/// member the genesis does not list).
pub fn accepted_keys(genesis: &Genesis, member: &str) -> AcceptedKeys {
    genesis.accepted_keys(member).unwrap_or_default()
}

/// Checks an entry at `index` of the log `member`: a canonical record of that log, signed by
/// keys the genesis accepts there (a revoked key counts only before its `from_index`).
/// Returns the record and a description of who signed.
pub fn check_entry(
    genesis: &Genesis,
    member: &str,
    index: u64,
    entry: &[u8],
) -> Result<(SignedRecord, String), String> {
    let record = SignedRecord::from_entry(entry)
        .map_err(|e| format!("entry is not a valid canonical record: {e}"))?;
    let member_id = MemberId::parse(member).map_err(|e| format!("log id {member:?}: {e}"))?;
    if !record.record.rid.belongs_to(&member_id) {
        return Err(format!(
            "record id {} does not belong to log {member}",
            record.record.rid
        ));
    }
    let keys = accepted_keys(genesis, member).at_index(index);
    let signed = verify_signatures(&record, &keys).map_err(|e| {
        format!("record signatures do not verify against the genesis keys of {member}: {e}")
    })?;
    Ok((record, signed.signers().join(", ")))
}

/// The body a version states: a correction's replacement body, else the record's own.
pub fn effective_body(record: &SignedRecord) -> &Body {
    match &record.record.body {
        Body::Correction(c) => &c.replacement.body,
        other => other,
    }
}

/// One line describing a record for people.
pub fn describe_record(record: &SignedRecord) -> String {
    let r = &record.record;
    let body = effective_body(record);
    let amount = body
        .amount()
        .map(|m: &Money| format!(", amount {m}"))
        .unwrap_or_default();
    let kind = if let Body::Correction(_) = &r.body {
        format!("correction (replacing with a {})", body.kind())
    } else {
        r.kind().to_string()
    };
    format!(
        "{kind} {}, dated {}, programme {}{amount}",
        r.rid, r.event_date, r.program
    )
}

/// The record as JSON for `--json`: kind, rid, date, programme, amount.
pub fn record_json(record: &SignedRecord) -> Value {
    let body = effective_body(record);
    json!({
        "rid": record.record.rid.as_str(),
        "kind": record.record.kind().as_str(),
        "event_date": record.record.event_date.to_string(),
        "program": record.record.program.as_str(),
        "amount": body.amount().map(|m| json!({"minor": m.minor.to_string(), "currency": m.currency.code()})),
    })
}

/// Checks a trusted checkpoint against the one this machine saw before for its log, fetching
/// a consistency proof from `source` if the sizes differ, and stores it if it is larger.
/// Adds one check to the report.
pub fn check_seen(
    report: &mut Report,
    label: &str,
    store: &SeenStore,
    genesis: &Genesis,
    member: &str,
    source: &Source,
    trusted: &TrustedCheckpoint,
) -> Result<(), CliError> {
    let policy = genesis
        .policy_for(member)
        .map_err(|e| failed(format!("log {member:?}: {e}")))?;
    let origin = policy.origin().to_string();
    let new = &trusted.checkpoint;
    let Some(stored) = store.load(&origin)? else {
        store.store(&origin, &trusted.note.to_text())?;
        report.pass(
            label,
            format!(
                "first checkpoint of {origin} seen on this machine (size {}); remembered",
                new.size
            ),
        );
        return Ok(());
    };
    let old = match policy.open(stored.as_bytes()) {
        Ok(s) => s.checkpoint,
        Err(e) => {
            return Err(input(format!(
                "the checkpoint stored in {} is not signed by the log key of {origin} ({e}); remove the file",
                store.path(&origin).display()
            )));
        }
    };
    if old.size > new.size {
        report.pass(
            label,
            format!(
                "this machine saw a larger checkpoint before (size {} > {}); the node is behind, its consistency with that one cannot be checked here",
                old.size, new.size
            ),
        );
        return Ok(());
    }
    let result = if old.size == 0 {
        Ok(())
    } else if old.size == new.size {
        if old.root == new.root {
            Ok(())
        } else {
            Err(format!(
                "the log shows a different tree of size {} than this machine saw before (root {} now, {} before): the log equivocated",
                new.size, new.root, old.root
            ))
        }
    } else {
        let proof = source.consistency(member, old.size, new.size)?;
        verify_consistency(old.size, new.size, &old.root, &new.root, &proof).map_err(|e| {
            format!(
                "the log of size {} does not extend the checkpoint of size {} this machine saw before ({e})",
                new.size, old.size
            )
        })
    };
    match result {
        Ok(()) => {
            if new.size > old.size {
                store.store(&origin, &trusted.note.to_text())?;
            }
            report.pass(
                label,
                format!(
                    "consistent with the checkpoint of size {} this machine saw before{}",
                    old.size,
                    if new.size > old.size {
                        "; remembered the new one"
                    } else {
                        ""
                    }
                ),
            );
        }
        Err(reason) => report.fail(label, reason),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let hex = "ab".repeat(32);
        assert!(matches!(Target::parse(&hex).unwrap(), Target::Leaf(_)));
        assert_eq!(
            Target::parse("county-1-2024-pay-1").unwrap(),
            Target::Rid("county-1-2024-pay-1".into())
        );
        assert_eq!(Target::parse("a/b").unwrap_err().exit_code(), 2);
        assert_eq!(Target::parse("").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn a_rid_belongs_to_the_longest_member_id_prefixing_it() {
        let members = ["county-1", "county-12", "city-1"];
        let of = |rid: &str| member_of_rid(rid, members.iter().copied());
        assert_eq!(of("county-12-2024-pay-1").as_deref(), Some("county-12"));
        assert_eq!(of("county-1-2024-pay-1").as_deref(), Some("county-1"));
        assert_eq!(of("county-123-2024"), None);
        assert_eq!(of("county-1"), None);
    }
}
