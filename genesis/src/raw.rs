//! Reads definition text into a draft: TOML syntax, the schema (unknown fields refused), and
//! key parsing. Cross-member rules are checked later, by [`crate::Definition::new`].

use std::collections::BTreeMap;

use daylight_verifier::key::VerifierKey;
use serde::Deserialize;

use crate::audit::AuditParams;
use crate::builder::GenesisBuilder;
use crate::emit::FORMAT_VERSION;
use crate::error::GenesisError;
use crate::member::{Attestor, Member, Role};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGenesis {
    version: u64,
    network: String,
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
    Ok(Member {
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
