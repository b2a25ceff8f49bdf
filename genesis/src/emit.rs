//! Writes a definition as canonical TOML text.
//!
//! The writer is ours rather than a TOML library's serializer so that the bytes, and with them
//! the genesis id, depend only on this file and `docs/genesis.md`, not on a dependency's
//! formatting choices. Canonical means: fixed key order, members sorted by id, sets (founders,
//! witnesses, operators, attestors) sorted, optional fields omitted when absent or empty,
//! strings as TOML basic strings with only `"`, `\` and control characters escaped.
//!
//! The keys of later genesis versions (`sequence`, `previous`, `founder_threshold`, and per
//! member `retired`, `previous_log_keys`, `previous_witness_keys`, `revoked`) are written only
//! when set, so a version-1 definition without them has exactly the text it always had.
//! History lists keep their order (oldest first): later versions extend them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::builder::GenesisBuilder;
use crate::member::Member;

/// The format version written in every definition.
pub const FORMAT_VERSION: u64 = 1;

/// The canonical text of a draft: deterministic, ending in one newline, no trailing blank line.
pub(crate) fn definition_text(draft: &GenesisBuilder) -> String {
    let mut out = String::new();
    line(&mut out, "version", &FORMAT_VERSION.to_string());
    line(&mut out, "network", &string(&draft.network));
    if draft.sequence != 1 {
        line(&mut out, "sequence", &draft.sequence.to_string());
    }
    if let Some(previous) = &draft.previous {
        line(&mut out, "previous", &string(previous));
    }
    if let Some(threshold) = draft.founder_threshold {
        line(&mut out, "founder_threshold", &threshold.to_string());
    }
    line(&mut out, "quorum", &draft.quorum.to_string());
    if let Some(founders) = &draft.founders {
        line(&mut out, "founders", &sorted_array(founders.iter(), false));
    }

    let audit = &draft.audit;
    out.push_str("\n[audit]\n");
    for (key, value) in [
        ("transfer_receipt_days", audit.transfer_receipt_days),
        ("idle_days", audit.idle_days),
        ("duplicate_window_days", audit.duplicate_window_days),
        ("split_window_days", audit.split_window_days),
        ("split_margin_percent", audit.split_margin_percent),
        ("min_notice_days", audit.min_notice_days),
        ("max_backdate_days", audit.max_backdate_days),
        ("max_future_days", audit.max_future_days),
    ] {
        line(&mut out, key, &value.to_string());
    }
    line(
        &mut out,
        "approval_threshold",
        &amounts(&audit.approval_threshold),
    );
    line(
        &mut out,
        "entitlement_cap",
        &amounts(&audit.entitlement_cap),
    );

    let mut members: Vec<&Member> = draft.members.iter().collect();
    members.sort_by(|a, b| a.id.cmp(&b.id));
    for member in members {
        out.push_str("\n[[members]]\n");
        write_member(&mut out, member);
    }
    out
}

fn write_member(out: &mut String, m: &Member) {
    line(out, "id", &string(&m.id));
    line(out, "role", &string(m.role.as_str()));
    line(out, "name", &string(&m.name));
    line(out, "division", &string(&m.division));
    if let Some(parent) = &m.parent {
        line(out, "parent", &string(parent));
    }
    line(out, "log_key", &string(&m.log_key.to_string()));
    line(out, "witness_key", &string(&m.witness_key.to_string()));
    line(out, "peer_id", &string(&m.peer_id));
    if !m.addresses.is_empty() {
        let items: Vec<String> = m.addresses.iter().map(|a| string(a)).collect();
        line(out, "addresses", &format!("[{}]", items.join(", ")));
    }
    if let Some(http) = &m.http {
        line(out, "http", &string(http));
    }
    if let Some(witnesses) = &m.witnesses {
        line(out, "witnesses", &sorted_array(witnesses.iter(), false));
    }
    if !m.operators.is_empty() {
        let keys: Vec<String> = m.operators.iter().map(|k| k.to_string()).collect();
        line(out, "operators", &sorted_array(keys.iter(), true));
    }
    if !m.attestors.is_empty() {
        let mut attestors: Vec<(&str, String)> = m
            .attestors
            .iter()
            .map(|a| (a.role.as_str(), a.key.to_string()))
            .collect();
        attestors.sort();
        let mut value = String::from("[\n");
        for (role, key) in attestors {
            let _ = writeln!(
                value,
                "  {{ role = {}, key = {} }},",
                string(role),
                string(&key)
            );
        }
        value.push(']');
        line(out, "attestors", &value);
    }
    write_history(out, m);
}

/// The member's history keys, in the order kept: `retired`, `previous_log_keys`,
/// `previous_witness_keys`, `revoked`.
fn write_history(out: &mut String, m: &Member) {
    if let Some(r) = &m.retired {
        let value = format!(
            "{{ size = {}, root = {} }}",
            r.size,
            string(&r.root.to_base64())
        );
        line(out, "retired", &value);
    }
    let items: Vec<String> = m
        .previous_log_keys
        .iter()
        .map(|p| {
            format!(
                "{{ key = {}, last_size = {}, last_root = {} }}",
                string(&p.key.to_string()),
                p.last_size,
                string(&p.last_root.to_base64())
            )
        })
        .collect();
    table_array(out, "previous_log_keys", &items);
    let items: Vec<String> = m
        .previous_witness_keys
        .iter()
        .map(|p| {
            format!(
                "{{ key = {}, until = {} }}",
                string(&p.key.to_string()),
                p.until
            )
        })
        .collect();
    table_array(out, "previous_witness_keys", &items);
    let items: Vec<String> = m
        .revoked
        .iter()
        .map(|r| {
            format!(
                "{{ key = {}, from_index = {} }}",
                string(&r.key.to_string()),
                r.from_index
            )
        })
        .collect();
    table_array(out, "revoked", &items);
}

/// An array of inline tables, one per line, in the order given; nothing when empty.
fn table_array(out: &mut String, key: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let mut value = String::from("[\n");
    for item in items {
        let _ = writeln!(value, "  {item},");
    }
    value.push(']');
    line(out, key, &value);
}

fn line(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "{key} = {value}");
}

/// A sorted array of strings, on one line or one item per line.
fn sorted_array<'a>(items: impl Iterator<Item = &'a String>, multiline: bool) -> String {
    let mut items: Vec<&String> = items.collect();
    items.sort();
    let quoted: Vec<String> = items.into_iter().map(|s| string(s)).collect();
    if multiline {
        let mut value = String::from("[\n");
        for item in quoted {
            let _ = writeln!(value, "  {item},");
        }
        value.push(']');
        value
    } else {
        format!("[{}]", quoted.join(", "))
    }
}

/// An inline table of currency code to integer amount; codes are validated as bare keys.
fn amounts(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "{}".to_string();
    }
    let items: Vec<String> = map
        .iter()
        .map(|(currency, amount)| format!("{} = {amount}", key(currency)))
        .collect();
    format!("{{ {} }}", items.join(", "))
}

/// A TOML key: bare when it can be, quoted otherwise (only reachable for unvalidated drafts).
fn key(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        text.to_string()
    } else {
        string(text)
    }
}

/// A TOML basic string. Escapes `"`, `\`, and every control character (including DEL), so the
/// result never holds a control character and fits in a signed note.
pub(crate) fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_read_back() {
        for text in [
            "plain",
            "quote \" and \\ back",
            "tab\there\nnew\u{7f}\u{1}",
            "扬州市财政局",
        ] {
            let encoded = string(text);
            assert!(
                !encoded.bytes().any(|b| b < 0x20 || b == 0x7f),
                "{encoded:?}"
            );
            let parsed: BTreeMap<String, String> =
                toml::from_str(&format!("v = {encoded}\n")).expect("valid TOML");
            assert_eq!(parsed["v"], text);
        }
    }

    #[test]
    fn lifecycle_keys_are_written_only_when_set() {
        let mut draft = GenesisBuilder::new("demo.daylight");
        let first = definition_text(&draft);
        assert!(!first.contains("sequence") && !first.contains("previous"));
        draft.set_version(1, None).set_founder_threshold(None);
        assert_eq!(definition_text(&draft), first);
        draft.set_version(2, Some("ab".repeat(32)));
        let second = definition_text(&draft);
        assert!(second.contains(&format!(
            "network = \"demo.daylight\"\nsequence = 2\nprevious = \"{}\"\nquorum = 2\n",
            "ab".repeat(32)
        )));
    }

    #[test]
    fn empty_draft_is_valid_toml_without_trailing_blank_line() {
        let text = definition_text(&GenesisBuilder::new("demo.daylight"));
        assert!(text.ends_with('\n') && !text.ends_with("\n\n"));
        assert!(toml::from_str::<toml::Table>(&text).is_ok());
    }
}
