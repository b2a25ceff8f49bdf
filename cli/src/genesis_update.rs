//! `daylight genesis update --pinned FILE --node URL`: follow the genesis chain a node serves
//! from the version pinned in FILE, say what each later version changed, and move the pin.
//!
//! The pin becomes the whole chain as JSON (the form nodes serve at `GET /v1/genesis`):
//! version 1 and every later version, each verified against the one before. A later version
//! alone cannot be verified (it is signed by the previous version's founders), so the chain is
//! what lets every command, offline too, check it again from version 1. The old pin is kept as
//! `FILE.<its sequence>.bak`. A chain that does not verify changes nothing (exit 1).

use std::path::{Path, PathBuf};

use daylight_genesis::GenesisChain;
use serde_json::json;

use crate::client::Client;
use crate::error::{CliError, input, read_file};
use crate::genesis_changes::changes;
use crate::output::Report;
use crate::pin::{self, Followed, Served, short};
use crate::seen::write_atomic;

/// Runs `genesis update`.
pub fn update(pinned: &Path, node: &str) -> Result<Report, CliError> {
    let old_bytes = read_file(pinned)?;
    let ours = pin::read(pinned)?;
    let latest = ours.latest();
    let client = Client::new(node)?;
    let bytes = match pin::fetch(&client)? {
        Served::Chain(bytes) => bytes,
        Served::None(why) => {
            return Err(input(format!(
                "{why}; ask a daylight node (any member's or observer's) for the chain"
            )));
        }
    };
    let mut report = Report::new(json!({
        "file": pinned.display().to_string(), "node": client.base(),
        "network_id": ours.network_id(),
        "pinned": {"sequence": latest.sequence(), "id": latest.id()},
    }));
    report.line(format!(
        "Your pin {} is version {} ({}) of network {}.",
        pinned.display(),
        latest.sequence(),
        short(latest.id()),
        latest.network()
    ));
    match pin::follow(&ours, client.base(), &bytes)? {
        Followed::Same => {
            report.pass(
                "genesis chain",
                format!(
                    "{} serves version {} as its latest: your pin is up to date",
                    client.base(),
                    latest.sequence()
                ),
            );
            report.json["latest"] = json!({"sequence": latest.sequence(), "id": latest.id()});
        }
        Followed::Behind(sequence) => {
            report.pass(
                "genesis chain",
                format!(
                    "{} serves versions up to {sequence} only, behind your pin: nothing to \
                     update (it has not caught up; ask another node)",
                    client.base()
                ),
            );
            report.json["latest"] = json!({"sequence": latest.sequence(), "id": latest.id()});
        }
        Followed::Ahead(chain) => {
            move_pin(pinned, &old_bytes, &ours, &chain, &mut report)?;
        }
    }
    Ok(report)
}

/// Reports each version after our latest, backs up the old pin and writes the chain.
fn move_pin(
    pinned: &Path,
    old_bytes: &[u8],
    ours: &GenesisChain,
    chain: &GenesisChain,
    report: &mut Report,
) -> Result<(), CliError> {
    let from = ours.latest().sequence();
    let to = chain.latest();
    report.pass(
        "genesis chain",
        format!(
            "{} follow{} from your pin, each signed by enough founders of the version before it \
             and by every key it introduces",
            if to.sequence() == from + 1 {
                format!("version {}", to.sequence())
            } else {
                format!("versions {} to {}", from + 1, to.sequence())
            },
            if to.sequence() == from + 1 { "s" } else { "" }
        ),
    );
    let mut versions = Vec::new();
    for pair in chain.versions().windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        if after.sequence() <= from {
            continue;
        }
        let changed = changes(before.definition(), after.definition());
        report.line(format!(
            "Version {} ({}):",
            after.sequence(),
            short(after.id())
        ));
        for c in &changed {
            report.line(format!("  - {c}"));
        }
        if changed.is_empty() {
            report.line("  - no change to members, keys or rules");
        }
        versions.push(json!({"sequence": after.sequence(), "id": after.id(), "changes": changed}));
    }
    let backup = backup_path(pinned, from);
    write_atomic(&backup, old_bytes)
        .map_err(|e| input(format!("cannot write {}: {e}", backup.display())))?;
    write_atomic(pinned, chain.to_json().as_bytes())
        .map_err(|e| input(format!("cannot write {}: {e}", pinned.display())))?;
    report.line(format!(
        "Moved your pin from version {from} to version {} ({}): {} now holds the genesis chain \
         (JSON, versions 1 to {}); the old pin is kept as {}.",
        to.sequence(),
        to.id(),
        pinned.display(),
        to.sequence(),
        backup.display()
    ));
    report.json["latest"] = json!({"sequence": to.sequence(), "id": to.id()});
    report.json["versions"] = json!(versions);
    report.json["backup"] = json!(backup.display().to_string());
    Ok(())
}

/// `FILE.<sequence>.bak`, beside the pinned file.
fn backup_path(pinned: &Path, sequence: u64) -> PathBuf {
    let mut name = pinned.as_os_str().to_owned();
    name.push(format!(".{sequence}.bak"));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backup_sits_beside_the_pin() {
        assert_eq!(
            backup_path(Path::new("/a/genesis.note"), 1),
            PathBuf::from("/a/genesis.note.1.bak")
        );
    }
}
