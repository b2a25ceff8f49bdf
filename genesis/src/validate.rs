//! The network rules a definition must follow, checked in a fixed order so the first error
//! reported is stable. See `docs/genesis.md` for the list.

use std::collections::{BTreeMap, BTreeSet};

use daylight_verifier::key::{KeyType, VerifierKey};
use daylight_verifier::note::MAX_SIGNATURES;

use crate::audit::AuditParamsExt;
use crate::builder::GenesisBuilder;
use crate::error::GenesisError;
use crate::member::{Member, Role};
use crate::names;

/// Checks every rule; `Ok` means the draft can be a [`crate::Definition`].
pub(crate) fn validate(draft: &GenesisBuilder) -> Result<(), GenesisError> {
    if !names::is_valid_network_name(&draft.network) {
        return Err(GenesisError::InvalidNetworkName(draft.network.clone()));
    }
    draft.audit.validate()?;
    if draft.members.is_empty() {
        return Err(GenesisError::NoMembers);
    }
    let mut ids = BTreeSet::new();
    for member in &draft.members {
        if !names::is_valid_member_id(&member.id) {
            return Err(GenesisError::InvalidMemberId(member.id.clone()));
        }
        if !ids.insert(member.id.as_str()) {
            return Err(GenesisError::DuplicateMember(member.id.clone()));
        }
    }
    for member in &draft.members {
        check_fields(member)?;
        check_keys(&draft.network, member)?;
    }
    check_unique_keys(&draft.members)?;
    check_unique_peer_ids(&draft.members)?;
    check_parents(&draft.members)?;
    check_witnesses(draft)?;
    check_founders(draft)?;
    crate::lifecycle::check(draft)
}

fn field_error(member: &Member, field: &str, reason: impl Into<String>) -> GenesisError {
    GenesisError::InvalidField {
        member: member.id.clone(),
        field: field.to_string(),
        reason: reason.into(),
    }
}

fn check_fields(m: &Member) -> Result<(), GenesisError> {
    let name = &m.name;
    if name.trim().is_empty() || name.trim() != name || name.chars().any(char::is_control) {
        return Err(field_error(
            m,
            "name",
            "the display name must be non-empty, without control characters or surrounding spaces",
        ));
    }
    if name.chars().count() > 200 {
        return Err(field_error(
            m,
            "name",
            "the display name is longer than 200 characters",
        ));
    }
    if !(1..=12).contains(&m.division.len()) || !m.division.bytes().all(|b| b.is_ascii_digit()) {
        return Err(field_error(
            m,
            "division",
            "the administrative division code must be 1 to 12 digits, e.g. 320206",
        ));
    }
    if !(1..=128).contains(&m.peer_id.len())
        || !m.peer_id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(field_error(
            m,
            "peer_id",
            "a libp2p peer id is 1 to 128 letters and digits, e.g. 12D3KooW...",
        ));
    }
    for (i, address) in m.addresses.iter().enumerate() {
        let ok = address.len() <= 256
            && address.len() > 1
            && address.starts_with('/')
            && !address.ends_with('/')
            && !address.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(field_error(
                m,
                &format!("addresses[{i}]"),
                format!("{address:?} is not a multiaddr, e.g. /ip4/127.0.0.1/tcp/4001"),
            ));
        }
    }
    if let Some(http) = &m.http {
        let host = http
            .strip_prefix("http://")
            .or_else(|| http.strip_prefix("https://"));
        let ok = http.len() <= 256
            && host.is_some_and(|h| !h.is_empty() && !h.starts_with('/'))
            && !http.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(field_error(
                m,
                "http",
                format!("{http:?} is not an http:// or https:// URL, e.g. http://127.0.0.1:8080"),
            ));
        }
    }
    for (i, attestor) in m.attestors.iter().enumerate() {
        if !names::is_valid_attestor_role(&attestor.role) {
            return Err(field_error(
                m,
                &format!("attestors[{i}].role"),
                format!(
                    "{:?} is not an attestor role: use a-z 0-9 _ starting with a letter, e.g. village_committee (not operator or witness)",
                    attestor.role
                ),
            ));
        }
    }
    Ok(())
}

const TYPE_NOTE: &str = "0x01 (Ed25519 note signatures)";
const TYPE_WITNESS: &str = "0x04 (Ed25519 cosignatures)";

fn check_type(
    m: &Member,
    field: &str,
    key: &VerifierKey,
    want: KeyType,
) -> Result<(), GenesisError> {
    if key.key_type() == want {
        return Ok(());
    }
    Err(GenesisError::WrongKeyType {
        member: m.id.clone(),
        field: field.to_string(),
        expected: if want == KeyType::Ed25519 {
            TYPE_NOTE
        } else {
            TYPE_WITNESS
        },
    })
}

fn name_mismatch(m: &Member, field: &str, expected: String, key: &VerifierKey) -> GenesisError {
    GenesisError::KeyNameMismatch {
        member: m.id.clone(),
        field: field.to_string(),
        expected,
        found: key.name().to_string(),
    }
}

fn check_keys(network: &str, m: &Member) -> Result<(), GenesisError> {
    check_type(m, "log_key", &m.log_key, KeyType::Ed25519)?;
    let expected = names::log_key_name(network, &m.id);
    if m.log_key.name() != expected {
        return Err(name_mismatch(m, "log_key", expected, &m.log_key));
    }
    check_type(m, "witness_key", &m.witness_key, KeyType::Cosignature)?;
    let expected = names::witness_key_name(network, &m.id);
    if m.witness_key.name() != expected {
        return Err(name_mismatch(m, "witness_key", expected, &m.witness_key));
    }
    let holder_keys = m
        .operators
        .iter()
        .enumerate()
        .map(|(i, k)| (format!("operators[{i}]"), names::OPERATOR_ROLE, k))
        .chain(
            m.attestors
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("attestors[{i}].key"), a.role.as_str(), &a.key)),
        );
    for (field, role, key) in holder_keys {
        check_type(m, &field, key, KeyType::Ed25519)?;
        let prefix = names::attestor_key_name(network, &m.id, role, "");
        let holder = key.name().strip_prefix(&prefix);
        if !holder.is_some_and(names::is_valid_key_holder_name) {
            let expected = names::attestor_key_name(network, &m.id, role, "<name>");
            return Err(name_mismatch(m, &field, expected, key));
        }
    }
    check_history_keys(network, m)
}

/// Earlier log and witness keys are named like the current ones; revoked keys like operator
/// or attestor keys.
fn check_history_keys(network: &str, m: &Member) -> Result<(), GenesisError> {
    for (i, p) in m.previous_log_keys.iter().enumerate() {
        let field = format!("previous_log_keys[{i}].key");
        check_type(m, &field, &p.key, KeyType::Ed25519)?;
        let expected = names::log_key_name(network, &m.id);
        if p.key.name() != expected {
            return Err(name_mismatch(m, &field, expected, &p.key));
        }
    }
    for (i, p) in m.previous_witness_keys.iter().enumerate() {
        let field = format!("previous_witness_keys[{i}].key");
        check_type(m, &field, &p.key, KeyType::Cosignature)?;
        let expected = names::witness_key_name(network, &m.id);
        if p.key.name() != expected {
            return Err(name_mismatch(m, &field, expected, &p.key));
        }
    }
    for (i, r) in m.revoked.iter().enumerate() {
        let field = format!("revoked[{i}].key");
        check_type(m, &field, &r.key, KeyType::Ed25519)?;
        if names::holder_role(network, &m.id, r.key.name()).is_none() {
            let expected = names::attestor_key_name(network, &m.id, "<operator or role>", "<name>");
            return Err(name_mismatch(m, &field, expected, &r.key));
        }
    }
    Ok(())
}

fn check_unique_keys(members: &[Member]) -> Result<(), GenesisError> {
    let mut seen: BTreeMap<[u8; 32], String> = BTreeMap::new();
    for m in members {
        for (field, key) in m.all_keys() {
            let place = format!("{} {field}", m.id);
            if let Some(first) = seen.insert(key.public_key(), place.clone()) {
                return Err(GenesisError::DuplicateKey {
                    first,
                    second: place,
                });
            }
        }
    }
    Ok(())
}

fn check_unique_peer_ids(members: &[Member]) -> Result<(), GenesisError> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for m in members {
        if let Some(first) = seen.insert(&m.peer_id, &m.id) {
            return Err(GenesisError::DuplicatePeerId {
                peer_id: m.peer_id.clone(),
                first: first.to_string(),
                second: m.id.clone(),
            });
        }
    }
    Ok(())
}

fn check_parents(members: &[Member]) -> Result<(), GenesisError> {
    let by_id: BTreeMap<&str, &Member> = members.iter().map(|m| (m.id.as_str(), m)).collect();
    for m in members {
        if let Some(parent) = &m.parent
            && !by_id.contains_key(parent.as_str())
        {
            return Err(GenesisError::UnknownParent {
                member: m.id.clone(),
                parent: parent.clone(),
            });
        }
    }
    for m in members {
        let mut chain = vec![m.id.as_str()];
        let mut current = m;
        while let Some(parent) = current.parent.as_deref() {
            if let Some(start) = chain.iter().position(|&id| id == parent) {
                let mut cycle: Vec<String> = chain[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(parent.to_string());
                return Err(GenesisError::ParentCycle { cycle });
            }
            chain.push(parent);
            current = by_id[parent];
        }
    }
    for m in members {
        let parent_role = m.parent.as_deref().map(|p| by_id[p].role);
        let rule = match (m.role, parent_role) {
            (Role::City, Some(_)) => Some("a city has no parent; remove its parent"),
            (Role::County, Some(Role::City)) => None,
            (Role::County, _) => Some("a county must have a city as parent"),
            (Role::Auditor, Some(Role::Auditor)) => {
                Some("an auditor's parent, if any, must be a city or a county")
            }
            _ => None,
        };
        if let Some(rule) = rule {
            return Err(GenesisError::ParentRole {
                member: m.id.clone(),
                rule,
            });
        }
    }
    Ok(())
}

fn check_witnesses(draft: &GenesisBuilder) -> Result<(), GenesisError> {
    if draft.quorum == 0 {
        return Err(GenesisError::QuorumZero);
    }
    let ids: BTreeSet<&str> = draft.members.iter().map(|m| m.id.as_str()).collect();
    let retired: BTreeSet<&str> = draft
        .members
        .iter()
        .filter(|m| m.is_retired())
        .map(|m| m.id.as_str())
        .collect();
    for m in &draft.members {
        let count = match &m.witnesses {
            // Every member that is not retired, except the log itself.
            None => {
                draft.members.len() - retired.len() - usize::from(!retired.contains(m.id.as_str()))
            }
            Some(list) => {
                let mut seen = BTreeSet::new();
                for w in list {
                    if w == &m.id {
                        return Err(GenesisError::SelfWitness(m.id.clone()));
                    }
                    if !ids.contains(w.as_str()) {
                        return Err(GenesisError::UnknownWitness {
                            member: m.id.clone(),
                            witness: w.clone(),
                        });
                    }
                    if retired.contains(w.as_str()) {
                        return Err(GenesisError::RetiredWitness {
                            member: m.id.clone(),
                            witness: w.clone(),
                        });
                    }
                    if !seen.insert(w) {
                        return Err(GenesisError::DuplicateWitness {
                            member: m.id.clone(),
                            witness: w.clone(),
                        });
                    }
                }
                list.len()
            }
        };
        if draft.quorum > count {
            return Err(GenesisError::QuorumTooLarge {
                member: m.id.clone(),
                quorum: draft.quorum,
                witnesses: count,
            });
        }
    }
    Ok(())
}

fn check_founders(draft: &GenesisBuilder) -> Result<(), GenesisError> {
    let count = match &draft.founders {
        None => draft.members.iter().filter(|m| !m.is_retired()).count(),
        Some(list) => {
            if list.is_empty() {
                return Err(GenesisError::NoFounders);
            }
            let mut seen = BTreeSet::new();
            for f in list {
                let Some(member) = draft.members.iter().find(|m| &m.id == f) else {
                    return Err(GenesisError::UnknownFounder(f.clone()));
                };
                if member.is_retired() {
                    return Err(GenesisError::RetiredFounder(f.clone()));
                }
                if !seen.insert(f) {
                    return Err(GenesisError::DuplicateFounder(f.clone()));
                }
            }
            list.len()
        }
    };
    if count > MAX_SIGNATURES {
        return Err(GenesisError::TooManyFounders(count));
    }
    Ok(())
}
