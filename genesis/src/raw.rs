//! Reads definition text into a draft: TOML syntax, the schema (unknown fields refused), and
//! key parsing. Cross-member rules are checked later, by [`crate::Definition::new`].

use std::collections::BTreeMap;

use daylight_verifier::hash::Hash;
use daylight_verifier::key::VerifierKey;
use serde::Deserialize;

use crate::audit::AuditParams;
use crate::builder::GenesisBuilder;
use crate::emit::FORMAT_VERSION;
use crate::error::GenesisError;
use crate::member::{
    Attestor, Member, PreviousLogKey, PreviousWitnessKey, Retirement, RevokedKey, Role,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGenesis {
    version: u64,
    network: String,
    sequence: Option<u64>,
    previous: Option<String>,
    founder_threshold: Option<usize>,
    quorum: usize,
    founders: Option<Vec<String>>,
    audit: RawAudit,
    #[serde(default)]
    members: Vec<RawMember>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    transfer_receipt_days: u32,
    idle_days: u32,
    duplicate_window_days: u32,
    split_window_days: u32,
    split_margin_percent: u32,
    min_notice_days: u32,
    max_backdate_days: u32,
    max_future_days: u32,
    approval_threshold: BTreeMap<String, u64>,
    entitlement_cap: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMember {
    id: String,
    role: String,
    name: String,
    division: String,
    parent: Option<String>,
    log_key: String,
    witness_key: String,
    peer_id: String,
    #[serde(default)]
    addresses: Vec<String>,
    http: Option<String>,
    witnesses: Option<Vec<String>>,
    #[serde(default)]
    operators: Vec<String>,
    #[serde(default)]
    attestors: Vec<RawAttestor>,
    retired: Option<RawRetired>,
    #[serde(default)]
    previous_log_keys: Vec<RawPreviousLogKey>,
    #[serde(default)]
    previous_witness_keys: Vec<RawPreviousWitnessKey>,
    #[serde(default)]
    revoked: Vec<RawRevoked>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetired {
    size: u64,
    root: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreviousLogKey {
    key: String,
    last_size: u64,
    last_root: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreviousWitnessKey {
    key: String,
    until: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRevoked {
    key: String,
    from_index: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttestor {
    role: String,
    key: String,
}

/// Parses definition text into a draft. Never panics; every defect is a typed error.
pub(crate) fn parse_draft(text: &str) -> Result<GenesisBuilder, GenesisError> {
    let raw: RawGenesis = toml::from_str(text)
        .map_err(|e| GenesisError::Toml(e.to_string().trim_end().to_string()))?;
    if raw.version != FORMAT_VERSION {
        return Err(GenesisError::UnsupportedVersion(raw.version));
    }
    let audit = AuditParams {
        transfer_receipt_days: raw.audit.transfer_receipt_days,
        idle_days: raw.audit.idle_days,
        duplicate_window_days: raw.audit.duplicate_window_days,
        split_window_days: raw.audit.split_window_days,
        split_margin_percent: raw.audit.split_margin_percent,
        min_notice_days: raw.audit.min_notice_days,
        max_backdate_days: raw.audit.max_backdate_days,
        max_future_days: raw.audit.max_future_days,
        approval_threshold: raw.audit.approval_threshold,
        entitlement_cap: raw.audit.entitlement_cap,
    };
    let members = raw
        .members
        .into_iter()
        .map(member)
        .collect::<Result<Vec<_>, _>>()?;
    let mut draft = GenesisBuilder::new(&raw.network);
    draft
        .set_version(raw.sequence.unwrap_or(1), raw.previous)
        .set_founder_threshold(raw.founder_threshold)
        .set_quorum(raw.quorum)
        .set_founders(raw.founders)
        .set_audit(audit);
    for m in members {
        draft.add_member(m);
    }
    Ok(draft)
}

fn member(raw: RawMember) -> Result<Member, GenesisError> {
    let id = raw.id;
    let role: Role = raw
        .role
        .parse()
        .map_err(|reason| GenesisError::InvalidField {
            member: id.clone(),
            field: "role".to_string(),
            reason,
        })?;
    let key = |field: String, text: &str| {
        VerifierKey::parse(text).map_err(|source| GenesisError::MalformedKey {
            member: id.clone(),
            field,
            source,
        })
    };
    let log_key = key("log_key".to_string(), &raw.log_key)?;
    let witness_key = key("witness_key".to_string(), &raw.witness_key)?;
    let operators = raw
        .operators
        .iter()
        .enumerate()
        .map(|(i, text)| key(format!("operators[{i}]"), text))
        .collect::<Result<Vec<_>, _>>()?;
    let attestors = raw
        .attestors
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            Ok(Attestor {
                key: key(format!("attestors[{i}].key"), &a.key)?,
                role: a.role,
            })
        })
        .collect::<Result<Vec<_>, GenesisError>>()?;
    let root = |field: String, text: &str| {
        Hash::from_base64(text).map_err(|_| GenesisError::InvalidField {
            member: id.clone(),
            field,
            reason: format!("{text:?} is not the base64 root hash of a checkpoint (32 bytes)"),
        })
    };
    let retired = match raw.retired {
        None => None,
        Some(r) => Some(Retirement {
            size: r.size,
            root: root("retired.root".to_string(), &r.root)?,
        }),
    };
    let previous_log_keys = raw
        .previous_log_keys
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Ok(PreviousLogKey {
                key: key(format!("previous_log_keys[{i}].key"), &p.key)?,
                last_size: p.last_size,
                last_root: root(format!("previous_log_keys[{i}].last_root"), &p.last_root)?,
            })
        })
        .collect::<Result<Vec<_>, GenesisError>>()?;
    let previous_witness_keys = raw
        .previous_witness_keys
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Ok(PreviousWitnessKey {
                key: key(format!("previous_witness_keys[{i}].key"), &p.key)?,
                until: p.until,
            })
        })
        .collect::<Result<Vec<_>, GenesisError>>()?;
    let revoked = raw
        .revoked
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Ok(RevokedKey {
                key: key(format!("revoked[{i}].key"), &r.key)?,
                from_index: r.from_index,
            })
        })
        .collect::<Result<Vec<_>, GenesisError>>()?;
    Ok(Member {
        retired,
        previous_log_keys,
        previous_witness_keys,
        revoked,
        role,
        name: raw.name,
        division: raw.division,
        parent: raw.parent,
        log_key,
        witness_key,
        peer_id: raw.peer_id,
        addresses: raw.addresses,
        http: raw.http,
        operators,
        attestors,
        witnesses: raw.witnesses,
        id,
    })
}
