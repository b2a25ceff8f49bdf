//! `daylight genesis submit --node URL FILE`: hand a signed genesis version (or a JSON chain)
//! to a node (`POST /v1/genesis`) and say, in plain words, what the node made of it.
//!
//! The node verifies the version against the chain it holds (enough founders of the previous
//! version, a proof of possession by every new key, a `previous` naming its newest version),
//! applies it and gossips it to the others. Exit codes: 0 when the node took it (or held it
//! already), 1 when it conflicts with the node's chain (409: another version with that number,
//! or versions missing in between), 2 when the node found it invalid (400) or refused it for
//! another reason, 3 when the node cannot be reached.

use std::path::Path;

use daylight_genesis::{Definition, GenesisChain};
use serde_json::json;

use crate::client::{Client, Reply};
use crate::error::{CliError, failed, input, read_file};
use crate::genesis_changes::changes;
use crate::output::Report;
use crate::pin::short;

/// Runs `genesis submit`.
pub fn submit(node: &str, file: &Path) -> Result<Report, CliError> {
    let body = read_file(file)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(input(format!(
            "{} is empty: give a signed genesis version (the file `genesis sign` wrote) or a \
             chain (JSON)",
            file.display()
        )));
    }
    let client = Client::new(node)?;
    // The node reads a version's note or a chain's JSON from the body whatever its declared
    // type.
    let reply = client.post_json("/v1/genesis", &body)?;
    let accepted = answer(&reply, file)?;
    // What the added versions changed, from the chain the node now serves (best effort: the
    // node already said it took them).
    let chain = client
        .get_ok("/v1/genesis")
        .ok()
        .and_then(|r| GenesisChain::from_json(&r.body).ok());
    Ok(describe(client.base(), file, &accepted, chain.as_ref()))
}

/// The node's answer: its acceptance on 200, else the error with the exit code it calls for.
fn answer(reply: &Reply, file: &Path) -> Result<daylight_api::GenesisAccepted, CliError> {
    match reply.status {
        200 => reply.parse("genesis acceptance"),
        409 => Err(failed(format!(
            "{} did not take {}: it conflicts with the genesis chain the node holds: {}",
            base_of(&reply.url),
            file.display(),
            node_detail(reply)
        ))),
        400 => Err(input(format!(
            "{} refused {} as invalid: {}",
            base_of(&reply.url),
            file.display(),
            node_detail(reply)
        ))),
        _ => Err(reply.refusal()),
    }
}

/// The node's `detail` (or its body).
fn node_detail(reply: &Reply) -> String {
    match serde_json::from_slice::<daylight_api::ErrorBody>(&reply.body) {
        Ok(e) => e.detail,
        Err(_) => String::from_utf8_lossy(&reply.body).trim().to_string(),
    }
}

/// `http://host:port` of a request URL.
fn base_of(url: &str) -> String {
    url.strip_suffix("/v1/genesis").unwrap_or(url).to_string()
}

/// The members `new` has that `old` does not, as `id (name)`.
fn added_members(old: &Definition, new: &Definition) -> Vec<(String, String)> {
    new.members()
        .iter()
        .filter(|m| old.member(&m.id).is_none())
        .map(|m| (m.id.clone(), m.name.clone()))
        .collect()
}

/// The report for a version (or versions) the node took.
fn describe(
    base: &str,
    file: &Path,
    accepted: &daylight_api::GenesisAccepted,
    chain: Option<&GenesisChain>,
) -> Report {
    let mut report = Report::new(json!({
        "node": base, "file": file.display().to_string(),
        "sequence": accepted.sequence, "id": accepted.id, "added": accepted.added,
    }));
    if accepted.added.is_empty() {
        report.line(format!(
            "{base} already holds {}: nothing new. Its newest genesis version is {} (id {}).",
            file.display(),
            accepted.sequence,
            accepted.id
        ));
        report.json["members_added"] = json!([]);
        return report;
    }
    let versions: Vec<String> = accepted.added.iter().map(u64::to_string).collect();
    report.line(format!(
        "{base} took genesis version {} and passes it on to the other nodes. Its newest \
         version is now {} (id {}).",
        versions.join(", "),
        accepted.sequence,
        accepted.id
    ));
    let mut members = Vec::new();
    for &sequence in &accepted.added {
        let pair =
            chain.and_then(|c| Some((c.version(sequence.checked_sub(1)?)?, c.version(sequence)?)));
        let Some((before, after)) = pair else {
            continue;
        };
        report.line(format!("Version {sequence} ({}):", short(after.id())));
        let changed = changes(before.definition(), after.definition());
        for c in &changed {
            report.line(format!("  - {c}"));
        }
        if changed.is_empty() {
            report.line("  - no change to members, keys or rules");
        }
        for (id, name) in added_members(before.definition(), after.definition()) {
            members.push(json!({"sequence": sequence, "id": id, "name": name}));
        }
    }
    let names: Vec<String> = members
        .iter()
        .map(|m| m["id"].as_str().unwrap_or_default().to_string())
        .collect();
    report.line(if names.is_empty() {
        "Members added: none.".to_string()
    } else {
        format!("Members added: {}.", names.join(", "))
    });
    report.json["members_added"] = json!(members);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            url: "http://127.0.0.1:7201/v1/genesis".into(),
            status,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn each_answer_has_its_exit_code() {
        let file = Path::new("v2.note");
        let ok = reply(200, r#"{"sequence":2,"id":"ab","added":[2]}"#);
        assert_eq!(answer(&ok, file).unwrap().added, vec![2]);
        let conflict = reply(
            409,
            r#"{"error":"genesis_conflict","detail":"another version 2"}"#,
        );
        let e = answer(&conflict, file).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(e.to_string().contains("another version 2"), "{e}");
        assert!(
            e.to_string()
                .starts_with("http://127.0.0.1:7201 did not take")
        );
        let invalid = reply(
            400,
            r#"{"error":"invalid_genesis","detail":"missing 1 more founder signature"}"#,
        );
        let e = answer(&invalid, file).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("refused v2.note as invalid"), "{e}");
        assert_eq!(
            answer(&reply(503, "busy"), file).unwrap_err().exit_code(),
            2
        );
    }

    #[test]
    fn a_version_already_held_is_said_so() {
        let accepted = daylight_api::GenesisAccepted {
            sequence: 3,
            id: "cd".into(),
            added: Vec::new(),
        };
        let report = describe("http://n", Path::new("v2.note"), &accepted, None);
        assert!(report.ok());
        assert!(
            report.lines[0].contains("already holds v2.note"),
            "{report:?}"
        );
        assert!(report.lines[0].contains("version is 3"), "{report:?}");
    }

    #[test]
    fn a_node_that_is_not_there_is_unreachable() {
        let dir = std::env::temp_dir().join(format!("daylight-submit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("v2.note");
        std::fs::write(&file, "version = 2\n").unwrap();
        let e = submit("http://127.0.0.1:1", &file).unwrap_err();
        assert_eq!(e.exit_code(), 3, "{e}");
        let e = submit("http://127.0.0.1:1", &dir.join("missing")).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
