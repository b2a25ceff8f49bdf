//! What changed from one genesis version to the next, in plain words: members added and
//! retired, keys rotated and revoked, witnesses, quorum and audit parameters. Used by
//! `genesis update` (each version passed), `genesis verify` and `show` (a version against its
//! previous one), and `genesis amend` (the draft against the version it starts from).

use std::collections::BTreeMap;

use daylight_genesis::{AuditParams, Definition, Member};

/// Every difference between `old` and `new`, one sentence each, in a stable order: network
/// rules first, then members by id, then audit parameters.
pub fn changes(old: &Definition, new: &Definition) -> Vec<String> {
    let mut out = Vec::new();
    if old.quorum() != new.quorum() {
        out.push(format!(
            "witness quorum changed from {} to {} cosignature(s) per checkpoint",
            old.quorum(),
            new.quorum()
        ));
    }
    let founders = |d: &Definition| d.founders().iter().map(|m| m.id.clone()).collect();
    let (old_founders, new_founders): (Vec<String>, Vec<String>) = (founders(old), founders(new));
    if old_founders != new_founders {
        out.push(format!(
            "founders are now {} (were {})",
            new_founders.join(", "),
            old_founders.join(", ")
        ));
    }
    if old.founder_threshold() != new.founder_threshold() {
        out.push(format!(
            "founders needed to sign the next version: {} (were {})",
            threshold_words(new),
            threshold_words(old)
        ));
    }
    for m in new.members() {
        match old.member(&m.id) {
            None => out.push(format!(
                "member {} joins: {} \"{}\", division {}{}",
                m.id,
                m.role,
                m.name,
                m.division,
                m.parent
                    .as_ref()
                    .map(|p| format!(", parent {p}"))
                    .unwrap_or_default()
            )),
            Some(before) => out.extend(member_changes(old, new, before, m)),
        }
    }
    for m in old.members() {
        if new.member(&m.id).is_none() {
            out.push(format!("member {} was removed", m.id));
        }
    }
    out.extend(audit_changes(old.audit(), new.audit()));
    out
}

/// The differences in one member that is in both versions.
fn member_changes(
    old_def: &Definition,
    new_def: &Definition,
    old: &Member,
    new: &Member,
) -> Vec<String> {
    let id = &new.id;
    let mut out = Vec::new();
    let mut field = |what: &str, before: String, after: String| {
        if before != after {
            out.push(format!("{id}: {what} changed from {before} to {after}"));
        }
    };
    field("name", quoted(&old.name), quoted(&new.name));
    field("role", old.role.to_string(), new.role.to_string());
    field("division", old.division.clone(), new.division.clone());
    field("parent", or_none(&old.parent), or_none(&new.parent));
    field("peer id", old.peer_id.clone(), new.peer_id.clone());
    field("HTTP URL", or_none(&old.http), or_none(&new.http));
    field(
        "addresses",
        list_or_none(&old.addresses),
        list_or_none(&new.addresses),
    );
    if old.log_key != new.log_key {
        out.push(format!(
            "{id}: log key rotated from {} to {}",
            old.log_key, new.log_key
        ));
    }
    if old.witness_key != new.witness_key {
        out.push(format!(
            "{id}: witness key rotated from {} to {}",
            old.witness_key, new.witness_key
        ));
    }
    let old_ops: Vec<String> = old.operators.iter().map(|k| k.to_string()).collect();
    let new_ops: Vec<String> = new.operators.iter().map(|k| k.to_string()).collect();
    for k in new_ops.iter().filter(|k| !old_ops.contains(k)) {
        out.push(format!("{id}: operator key added: {k}"));
    }
    let revoked: Vec<String> = new.revoked.iter().map(|r| r.key.to_string()).collect();
    for k in old_ops
        .iter()
        .filter(|k| !new_ops.contains(k) && !revoked.contains(k))
    {
        out.push(format!("{id}: operator key no longer listed: {k}"));
    }
    let attestor = |a: &daylight_genesis::Attestor| format!("{} {}", a.role, a.key);
    let old_att: Vec<String> = old.attestors.iter().map(attestor).collect();
    let new_att: Vec<String> = new.attestors.iter().map(attestor).collect();
    for a in new_att.iter().filter(|a| !old_att.contains(a)) {
        out.push(format!("{id}: attestor key added: {a}"));
    }
    let revoked_attestor =
        |a: &&daylight_genesis::Attestor| new.revoked.iter().any(|r| r.key == a.key);
    let not_revoked: Vec<String> = old
        .attestors
        .iter()
        .filter(|a| !revoked_attestor(a))
        .map(attestor)
        .collect();
    for a in not_revoked.iter().filter(|a| !new_att.contains(a)) {
        out.push(format!("{id}: attestor key no longer listed: {a}"));
    }
    let witnesses = |d: &Definition| -> Vec<String> {
        d.witnesses_of(id)
            .unwrap_or_default()
            .iter()
            .map(|w| w.id.clone())
            .collect()
    };
    let (before, after) = (witnesses(old_def), witnesses(new_def));
    if before != after {
        out.push(format!(
            "{id}: witnessed by {} (was {})",
            list_or_none(&after),
            list_or_none(&before)
        ));
    }
    out.extend(history_changes(old, new));
    out
}

/// The history entries (`retired`, `previous_log_keys`, `previous_witness_keys`, `revoked`)
/// that `new` adds to `old`. History lists only grow: earlier entries are kept as they were.
fn history_changes(old: &Member, new: &Member) -> Vec<String> {
    let id = &new.id;
    let mut out = Vec::new();
    if let (None, Some(r)) = (&old.retired, &new.retired) {
        out.push(format!(
            "{id} retires: its log ends at its checkpoint of size {} (root {})",
            r.size,
            r.root.to_base64()
        ));
    }
    for p in new
        .previous_log_keys
        .iter()
        .skip(old.previous_log_keys.len())
    {
        out.push(format!(
            "{id}: old log key {} signs checkpoints up to size {} (root {}); later ones need the new key",
            p.key,
            p.last_size,
            p.last_root.to_base64()
        ));
    }
    for p in new
        .previous_witness_keys
        .iter()
        .skip(old.previous_witness_keys.len())
    {
        out.push(format!(
            "{id}: old witness key {} counts on cosignatures made before {}",
            p.key,
            unix_time(p.until)
        ));
    }
    for r in new.revoked.iter().skip(old.revoked.len()) {
        out.push(format!(
            "{id}: key {} revoked from index {} of its log (entries before it keep their signatures)",
            r.key, r.from_index
        ));
    }
    out
}

/// The number of this version's founders who must sign the next one, in words.
pub fn threshold_words(d: &Definition) -> String {
    format!(
        "{} of its {} founder(s)",
        d.founder_threshold(),
        d.founders().len()
    )
}

/// The audit parameters of `new` that differ from `old`, as `name: before -> after`.
pub fn audit_changes(old: &AuditParams, new: &AuditParams) -> Vec<String> {
    let mut out = Vec::new();
    let days = [
        (
            "transfer_receipt_days",
            old.transfer_receipt_days,
            new.transfer_receipt_days,
        ),
        ("idle_days", old.idle_days, new.idle_days),
        (
            "duplicate_window_days",
            old.duplicate_window_days,
            new.duplicate_window_days,
        ),
        (
            "split_window_days",
            old.split_window_days,
            new.split_window_days,
        ),
        (
            "split_margin_percent",
            old.split_margin_percent,
            new.split_margin_percent,
        ),
        ("min_notice_days", old.min_notice_days, new.min_notice_days),
        (
            "max_backdate_days",
            old.max_backdate_days,
            new.max_backdate_days,
        ),
        ("max_future_days", old.max_future_days, new.max_future_days),
    ];
    for (name, before, after) in days {
        if before != after {
            out.push(format!(
                "audit parameter {name} changed from {before} to {after}"
            ));
        }
    }
    for (name, before, after) in [
        (
            "approval_threshold",
            &old.approval_threshold,
            &new.approval_threshold,
        ),
        (
            "entitlement_cap",
            &old.entitlement_cap,
            &new.entitlement_cap,
        ),
    ] {
        out.extend(amount_changes(name, before, after));
    }
    out
}

fn amount_changes(
    name: &str,
    old: &BTreeMap<String, u64>,
    new: &BTreeMap<String, u64>,
) -> Vec<String> {
    let mut out = Vec::new();
    let currencies: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for c in currencies {
        match (old.get(c), new.get(c)) {
            (Some(a), Some(b)) if a != b => out.push(format!(
                "audit parameter {name}.{c} changed from {a} to {b} minor units"
            )),
            (None, Some(b)) => {
                out.push(format!("audit parameter {name}.{c} set to {b} minor units"))
            }
            (Some(a), None) => out.push(format!(
                "audit parameter {name}.{c} removed (was {a} minor units)"
            )),
            _ => {}
        }
    }
    out
}

/// `text` in double quotes.
pub fn quoted(text: &str) -> String {
    format!("\"{text}\"")
}

/// The value, or `none`.
pub fn or_none(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "none".to_string())
}

/// The values joined with commas, or `none`.
pub fn list_or_none(values: &[String]) -> String {
    if values.is_empty() {
        "none".to_string()
    } else {
        values.join(", ")
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC (unix N)`, for people.
pub fn unix_time(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    match daylight_verifier::record::Date::from_days_since_epoch(days) {
        Some(date) => format!(
            "{date} {:02}:{:02}:{:02} UTC (unix {seconds})",
            rest / 3600,
            rest % 3600 / 60,
            rest % 60
        ),
        None => format!("unix {seconds}"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use daylight_genesis::{Genesis, GenesisBuilder, Member, Role, names};
    use daylight_verifier::{Hash, KeyType, SigningKey};

    use super::*;

    const NETWORK: &str = "words.daylight";

    fn key(name: &str, kind: KeyType) -> SigningKey {
        SigningKey::generate(name, kind).unwrap()
    }

    /// Member `id` of `network`, the `n`th (which numbers its peer id), named after its id,
    /// with new log and witness keys; a county's parent is city-1. Returns its log key too.
    pub(crate) fn member(network: &str, n: usize, id: &str, role: Role) -> (Member, SigningKey) {
        let log = key(&names::log_key_name(network, id), KeyType::Ed25519);
        let witness = key(&names::witness_key_name(network, id), KeyType::Cosignature);
        let mut m = Member::new(
            id,
            role,
            id,
            "320200",
            log.verifier(),
            witness.verifier(),
            &format!("12D3KooWPeer{n}"),
        );
        if role == Role::County {
            m.parent = Some("city-1".into());
        }
        (m, log)
    }

    /// A signed version 1 of a city and two counties, with an operator key for county-1.
    fn first() -> (Genesis, SigningKey) {
        let mut draft = GenesisBuilder::new(NETWORK);
        draft.set_quorum(1);
        let mut logs = Vec::new();
        let operator = key(
            &names::operator_key_name(NETWORK, "county-1", "clerk"),
            KeyType::Ed25519,
        );
        for (n, (id, role)) in [
            ("city-1", Role::City),
            ("county-1", Role::County),
            ("county-2", Role::County),
        ]
        .into_iter()
        .enumerate()
        {
            let (mut m, log) = member(NETWORK, n, id, role);
            if id == "county-1" {
                m.operators.push(operator.verifier());
            }
            draft.add_member(m);
            logs.push(log);
        }
        let mut signed = draft.sign(&logs[0]).unwrap();
        for k in &logs[1..] {
            signed.sign(k).unwrap();
        }
        (signed.verify().unwrap(), operator)
    }

    #[test]
    fn each_change_is_said_in_words() {
        let (v1, operator) = first();
        let mut draft = GenesisBuilder::next_version(&v1);
        let root = Hash::digest(b"root");
        let new_log = key(&names::log_key_name(NETWORK, "county-1"), KeyType::Ed25519);
        draft
            .rotate_log_key("county-1", new_log.verifier(), 5, root)
            .unwrap();
        draft
            .revoke_key("county-1", &operator.verifier(), 7)
            .unwrap();
        draft.retire_member("county-2", 3, root).unwrap();
        draft.set_founder_threshold(Some(1));
        draft.audit_mut().idle_days = 60;
        draft.member_mut("city-1").unwrap().name = "City One".into();
        let v2 = draft.build_next(&v1).unwrap();
        let said = changes(v1.definition(), &v2).join("\n");
        for wanted in [
            "county-1: log key rotated from",
            "county-1: old log key",
            "signs checkpoints up to size 5",
            "revoked from index 7",
            "county-2 retires: its log ends at its checkpoint of size 3",
            "founders needed to sign the next version: 1 of its 2 founder(s)",
            "audit parameter idle_days changed from 90 to 60",
            "city-1: name changed from \"city-1\" to \"City One\"",
        ] {
            assert!(said.contains(wanted), "{wanted:?} not in:\n{said}");
        }
        assert!(!said.contains("no longer listed"), "{said}");
        assert!(changes(v1.definition(), v1.definition()).is_empty());
    }

    #[test]
    fn times_are_dates() {
        assert_eq!(unix_time(0), "1970-01-01 00:00:00 UTC (unix 0)");
        assert_eq!(
            unix_time(1_800_000_000),
            "2027-01-15 08:00:00 UTC (unix 1800000000)"
        );
    }
}
