//! `daylight genesis amend`: start the next version of a network's genesis from the current
//! one (DESIGN §6b), with any edits; and `daylight genesis edit`: change a draft in place
//! (of any version, before anyone signs it). The edits themselves are in `genesis_edit`.

use std::path::Path;

use daylight_genesis::{Genesis, GenesisBuilder, SignedGenesis};
use serde_json::json;

use crate::error::{CliError, input, read_file};
use crate::genesis_cmd::{read_draft, write_draft};
use crate::genesis_edit::Edits;
use crate::genesis_sign::previous_version;
use crate::output::Report;

/// Runs `genesis amend`: a draft of the version after the latest version of `current`
/// (version 1's genesis file, or a JSON chain), with `edits` applied, written to `out`.
pub fn amend(current: &Path, out: &Path, edits: &Edits) -> Result<Report, CliError> {
    let chain = crate::pin::read(current)?;
    let previous = chain.latest().clone();
    let mut draft = GenesisBuilder::next_version(&previous);
    let said = edits.apply(&mut draft, Some(&previous))?;
    let status = write_draft(out, &draft, Some(&previous), true)?;
    let sequence = draft.sequence();
    let mut report = Report::new(json!({
        "sequence": sequence, "previous": previous.id(), "out": out.display().to_string(),
        "edits": said, "status": status,
    }));
    report.line(format!(
        "Drafted genesis version {sequence} of network {} from version {} ({}); wrote {}.",
        previous.network(),
        previous.sequence(),
        previous.id(),
        out.display()
    ));
    say_edits(&mut report, &said, out);
    report.line(sentence(&status));
    say_signers(&mut report, &previous, &draft, out, current);
    Ok(report)
}

/// Runs `genesis edit`: applies `edits` to the draft `file` in place. `previous` (the version
/// the draft follows) is needed to remove a member from a later version's draft, and lets
/// the draft be checked against it.
pub fn edit(file: &Path, previous: Option<&Path>, edits: &Edits) -> Result<Report, CliError> {
    if let Ok(signed) = SignedGenesis::parse(&read_file(file)?) {
        return Err(input(format!(
            "{} is signed already ({} signature line(s)); changing it would void them. Edit \
             the draft before anyone signs it, or start again from the current version with \
             `daylight genesis amend`",
            file.display(),
            signed.note().signatures.len()
        )));
    }
    let mut draft = read_draft(file)?;
    if edits.is_empty() {
        return Err(input(
            "no edit given: see `daylight genesis edit --help` for the edits",
        ));
    }
    let sequence = draft.sequence();
    let previous = match (sequence, previous) {
        (1, Some(_)) => {
            return Err(input(format!(
                "{} is a version-1 draft: it follows no version, leave out --previous",
                file.display()
            )));
        }
        (_, Some(path)) => Some(previous_version(Some(path), sequence, file)?),
        (_, None) => None,
    };
    if let Some(p) = &previous
        && draft.previous() != Some(p.id())
    {
        return Err(input(format!(
            "{} follows version {} with id {}, but the version {} in the --previous file has id \
             {}: it was drafted from another version",
            file.display(),
            sequence - 1,
            draft.previous().unwrap_or("none"),
            p.sequence(),
            p.id()
        )));
    }
    if sequence > 1 && previous.is_none() && edits.removes_members() {
        return Err(input(
            "--remove-member on a later version's draft needs --previous FILE, to tell a member \
             added in this draft (which can be removed) from a member of the network (which is \
             retired, never removed)",
        ));
    }
    let said = edits.apply(&mut draft, previous.as_ref())?;
    let status = write_draft(file, &draft, previous.as_ref(), false)?;
    let mut report = Report::new(json!({
        "sequence": sequence, "file": file.display().to_string(), "edits": said, "status": status,
    }));
    report.line(format!(
        "Edited the draft of genesis version {sequence} in {}.",
        file.display()
    ));
    say_edits(&mut report, &said, file);
    report.line(sentence(&status));
    Ok(report)
}

/// `text` with a capital letter and a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let first: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    format!("{first}{}.", chars.as_str())
}

fn say_edits(report: &mut Report, said: &[String], file: &Path) {
    if said.is_empty() {
        report.line(format!(
            "No changes yet: make them with `daylight genesis edit {} ...`.",
            file.display()
        ));
        return;
    }
    report.line("Changes:");
    for s in said {
        report.line(format!("  - {s}"));
    }
}

/// Who must sign the draft: the founder threshold of `previous`, and every new key.
fn say_signers(
    report: &mut Report,
    previous: &Genesis,
    draft: &GenesisBuilder,
    out: &Path,
    current: &Path,
) {
    let founders: Vec<String> = previous
        .definition()
        .founders()
        .iter()
        .map(|m| m.id.clone())
        .collect();
    let required = previous.definition().founder_threshold();
    let new_keys = introduced_keys(previous, draft);
    report.line(format!(
        "To sign: {required} of the {} founder(s) of version {} ({}), each with its log key; \
         and every key this version introduces (proof of possession){}. Each runs \
         `daylight genesis sign {} --key KEY_FILE --previous {}`.",
        founders.len(),
        previous.sequence(),
        founders.join(", "),
        if new_keys.is_empty() {
            ": none so far".to_string()
        } else {
            format!(": {}", new_keys.join("; "))
        },
        out.display(),
        current.display()
    ));
    report.json["founders_required"] = json!(required);
    report.json["founders"] = json!(founders);
    report.json["new_keys"] = json!(new_keys);
}

/// The keys listed in `draft` that `previous` does not know (current, earlier or revoked), as
/// `member kind key`, the kind in words (`log key`, `witness key`, `operator key`, `attestor key`).
fn introduced_keys(previous: &Genesis, draft: &GenesisBuilder) -> Vec<String> {
    draft
        .new_keys(previous)
        .into_iter()
        .map(|new| {
            let kind = match new.field.split('[').next() {
                Some("log_key") => "log key",
                Some("witness_key") => "witness key",
                Some("operators") => "operator key",
                _ => "attestor key",
            };
            format!("{} {kind} {}", new.member, new.key)
        })
        .collect()
}
