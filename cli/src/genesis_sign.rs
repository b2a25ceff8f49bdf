//! `daylight genesis sign` and `genesis verify`, for every version of a genesis.
//!
//! Version 1 is signed by every founder with its log key and verifies alone. A later version
//! (DESIGN §6b) is signed by the founder threshold of the previous version's founders, with
//! the log keys the previous version lists, and by every key it introduces (proof of
//! possession: a note signature for log, operator and attestor keys, a cosignature line for a
//! witness key); so signing and verifying it needs the previous version (`--previous FILE`:
//! version 1's file, or a JSON chain holding the previous version).

use std::path::Path;

use daylight_genesis::{
    Definition, Genesis, GenesisBuilder, GenesisChain, GenesisError, NextSignatures, SignedGenesis,
};
use daylight_verifier::{SigningKey, VerifierKey};
use serde_json::json;

use crate::check::read_signing_key;
use crate::error::{CliError, failed, input, read_file};
use crate::genesis_changes::changes;
use crate::genesis_cmd::write;
use crate::output::Report;

/// A genesis file as read: signed (perhaps partly) or an unsigned draft.
enum Parsed {
    Signed(SignedGenesis),
    Draft(GenesisBuilder),
}

impl Parsed {
    fn read(file: &Path) -> Result<Parsed, CliError> {
        let bytes = read_file(file)?;
        match SignedGenesis::parse(&bytes) {
            Ok(signed) => Ok(Parsed::Signed(signed)),
            Err(GenesisError::NotANote(_)) => {
                let text = String::from_utf8(bytes)
                    .map_err(|_| input(format!("{} is not UTF-8 text", file.display())))?;
                GenesisBuilder::from_text(&text)
                    .map(Parsed::Draft)
                    .map_err(|e| input(format!("{}: {e}", file.display())))
            }
            Err(e) => Err(input(format!("{}: {e}", file.display()))),
        }
    }

    fn sequence(&self) -> u64 {
        match self {
            Parsed::Signed(s) => s.definition().sequence(),
            Parsed::Draft(d) => d.sequence(),
        }
    }
}

/// The version before version `sequence`, from `--previous FILE` (verified: version 1's file
/// or a JSON chain).
pub fn previous_version(
    previous: Option<&Path>,
    sequence: u64,
    file: &Path,
) -> Result<Genesis, CliError> {
    let before = sequence - 1;
    let Some(path) = previous else {
        return Err(input(format!(
            "{} is genesis version {sequence}; give the version before it with --previous FILE \
             (version 1's genesis file, or the chain JSON holding version {before}, as \
             `daylight genesis update` writes it)",
            file.display()
        )));
    };
    let chain = crate::pin::read(path)?;
    chain.version(before).cloned().ok_or_else(|| {
        input(format!(
            "{} holds genesis versions 1 to {}, but version {sequence} follows version {before}; \
             update it first (`daylight genesis update --pinned {} --node URL`)",
            path.display(),
            chain.latest().sequence(),
            path.display()
        ))
    })
}

/// Runs `genesis sign`: a founder's signature, or for a later version also a new key's proof
/// of possession.
pub fn sign(
    file: &Path,
    key: &Path,
    previous: Option<&Path>,
    out: Option<&Path>,
) -> Result<Report, CliError> {
    let key = read_signing_key(key)?;
    let parsed = Parsed::read(file)?;
    let sequence = parsed.sequence();
    let target = out.unwrap_or(file);
    if sequence == 1 {
        return sign_first(parsed, &key, target);
    }
    let previous = previous_version(previous, sequence, file)?;
    let signed = match parsed {
        Parsed::Signed(mut signed) => {
            signed
                .sign_next(&previous, &key)
                .map_err(|e| input(e.to_string()))?;
            signed
        }
        Parsed::Draft(draft) => draft
            .sign_next(&previous, &key)
            .map_err(|e| input(e.to_string()))?,
    };
    let status = signed
        .next_signatures(&previous)
        .map_err(|e| failed(e.to_string()))?;
    write(target, &signed.to_text())?;
    let public = key.verifier();
    let role = signer_role(&previous, signed.definition(), &public);
    let mut report = Report::new(json!({
        "id": signed.id(), "sequence": sequence, "signed_by": key.name(), "as": role,
        "out": target.display().to_string(), "signatures": status_json(&status),
    }));
    report.line(format!(
        "Signed genesis version {sequence} ({}) with {} as {role}; wrote {}.",
        signed.id(),
        key.name(),
        target.display()
    ));
    for (what, ok, detail) in status_checks(&status, sequence) {
        report.line(if ok {
            format!("{}: {detail}.", capitalized(what))
        } else {
            format!("{}: still needed: {detail}.", capitalized(what))
        });
    }
    if status.is_complete() {
        report.line(format!(
            "Version {sequence} is completely signed: check it with `daylight genesis verify {} \
             --previous FILE`, then give it to any node with `daylight genesis submit --node URL \
             {}`.",
            target.display(),
            target.display()
        ));
    }
    Ok(report)
}

fn sign_first(parsed: Parsed, key: &SigningKey, target: &Path) -> Result<Report, CliError> {
    let signed = match parsed {
        Parsed::Signed(mut signed) => {
            signed.sign(key).map_err(|e| input(e.to_string()))?;
            signed
        }
        Parsed::Draft(draft) => draft.sign(key).map_err(|e| input(e.to_string()))?,
    };
    let missing = signed
        .missing_founders()
        .map_err(|e| failed(e.to_string()))?;
    write(target, &signed.to_text())?;
    let mut report = Report::new(json!({
        "id": signed.id(), "sequence": 1, "signed_by": key.name(), "missing": missing,
        "out": target.display().to_string(),
    }));
    report.line(format!(
        "Signed genesis {} with {}; wrote {}.",
        signed.id(),
        key.name(),
        target.display()
    ));
    if missing.is_empty() {
        report.line("Every founder has signed: the genesis is complete.");
    } else {
        report.line(format!("Still to sign: {}.", missing.join(", ")));
    }
    Ok(report)
}

/// In which capacity `key` signs the version after `previous`, in words.
fn signer_role(previous: &Genesis, next: &Definition, key: &VerifierKey) -> String {
    if let Some(f) = previous
        .definition()
        .founders()
        .iter()
        .find(|f| &f.log_key == key)
    {
        return format!(
            "founder {} of version {} (its log key)",
            f.id,
            previous.sequence()
        );
    }
    for m in next.members() {
        let fields = [("log key", &m.log_key), ("witness key", &m.witness_key)]
            .into_iter()
            .chain(m.operators.iter().map(|k| ("operator key", k)))
            .chain(m.attestors.iter().map(|a| ("attestor key", &a.key)));
        for (field, listed) in fields {
            if listed == key {
                return format!("proof of possession of {}'s new {field}", m.id);
            }
        }
    }
    "a signer of this version".to_string()
}

/// The signature checks of a later version: founders against the threshold, then proofs of
/// possession. Each is (what, held, detail).
fn status_checks(status: &NextSignatures, sequence: u64) -> Vec<(&'static str, bool, String)> {
    let before = sequence - 1;
    let signed = status.founders_signed.len();
    let founders = if signed >= status.required {
        (
            true,
            format!(
                "{signed} founder(s) of version {before} signed ({}), {} required",
                list(&status.founders_signed),
                status.required
            ),
        )
    } else {
        (
            false,
            format!(
                "{} more founder signature(s) of version {before}: {signed} of {} required so far \
                 ({}); can still sign, each with the log key version {before} lists for it: {}",
                status.required - signed,
                status.required,
                list(&status.founders_signed),
                list(&status.founders_unsigned)
            ),
        )
    };
    let proofs = if status.proofs_missing.is_empty() {
        (
            true,
            "every key this version introduces signed it (proof of possession)".to_string(),
        )
    } else {
        let missing: Vec<String> = status
            .proofs_missing
            .iter()
            .map(|k| format!("{} {} {}", k.member, k.field, k.key))
            .collect();
        (
            false,
            format!(
                "proof of possession by {} new key(s), each signing with `daylight genesis sign \
                 --key FILE`: {}",
                missing.len(),
                missing.join("; ")
            ),
        )
    };
    vec![
        ("founder signatures", founders.0, founders.1),
        ("proofs of possession", proofs.0, proofs.1),
    ]
}

fn status_json(status: &NextSignatures) -> serde_json::Value {
    json!({
        "required": status.required,
        "founders_signed": status.founders_signed,
        "founders_unsigned": status.founders_unsigned,
        "proofs_missing": status.proofs_missing.iter().map(|k| json!({
            "member": k.member, "field": k.field, "key": k.key.to_string(),
        })).collect::<Vec<_>>(),
        "complete": status.is_complete(),
    })
}

/// Runs `genesis verify`: version 1 alone, a later version against the one before it
/// (`--previous`), or a whole JSON chain from version 1.
pub fn verify(file: &Path, previous: Option<&Path>) -> Result<Report, CliError> {
    let bytes = read_file(file)?;
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return verify_chain(file, &bytes);
    }
    let signed =
        SignedGenesis::parse(&bytes).map_err(|e| input(format!("{}: {e}", file.display())))?;
    let sequence = signed.definition().sequence();
    if sequence == 1 {
        return verify_first(signed);
    }
    let previous = previous_version(previous, sequence, file)?;
    let mut report = Report::new(json!({
        "id": signed.id(), "sequence": sequence, "previous": signed.definition().previous(),
        "network": signed.definition().network(),
    }));
    report.line(format!(
        "Genesis version {sequence} ({}) of network {}, against version {} ({}).",
        signed.id(),
        signed.definition().network(),
        previous.sequence(),
        previous.id()
    ));
    match signed.next_signatures(&previous) {
        Err(e) => report.fail(&format!("version {sequence}"), e.to_string()),
        Ok(status) => {
            report.pass(
                "previous version",
                format!(
                    "names version {} ({}) and keeps every rule between versions",
                    previous.sequence(),
                    previous.id()
                ),
            );
            for (what, ok, detail) in status_checks(&status, sequence) {
                if ok {
                    report.pass(what, detail);
                } else {
                    report.fail(what, format!("missing {detail}"));
                }
            }
            report.json["signatures"] = status_json(&status);
        }
    }
    let changed = changes(previous.definition(), signed.definition());
    report.line(format!("Changes from version {}:", previous.sequence()));
    for c in &changed {
        report.line(format!("  - {c}"));
    }
    if changed.is_empty() {
        report.line("  (none)");
    }
    report.json["changes"] = json!(changed);
    Ok(report)
}

fn verify_first(signed: SignedGenesis) -> Result<Report, CliError> {
    let id = signed.id().to_string();
    let founders: Vec<String> = signed
        .definition()
        .founders()
        .iter()
        .map(|m| m.id.clone())
        .collect();
    let mut report = Report::new(json!({
        "id": id, "sequence": 1, "network": signed.definition().network(), "founders": founders,
    }));
    match signed.verify() {
        Ok(genesis) => {
            report.pass(
                "founder signatures",
                format!(
                    "all {} founders signed with their log keys: {}",
                    founders.len(),
                    founders.join(", ")
                ),
            );
            report.line(format!(
                "Genesis id {} (network {}).",
                genesis.id(),
                genesis.network()
            ));
        }
        Err(e) => report.fail("founder signatures", e.to_string()),
    }
    Ok(report)
}

fn verify_chain(file: &Path, bytes: &[u8]) -> Result<Report, CliError> {
    let mut report = Report::new(json!({"file": file.display().to_string()}));
    match GenesisChain::from_json(bytes) {
        Ok(chain) => {
            let latest = chain.latest();
            report.pass(
                "genesis chain",
                format!(
                    "{} version(s) of network {} verify from version 1, each later one signed by \
                     its founders and new keys",
                    chain.versions().len(),
                    latest.network()
                ),
            );
            for v in chain.versions() {
                report.line(format!("Version {}: {}", v.sequence(), v.id()));
            }
            report.line(format!(
                "Network id {}; latest version {} ({}).",
                chain.network_id(),
                latest.sequence(),
                latest.id()
            ));
            report.json = json!({
                "network_id": chain.network_id(), "sequence": latest.sequence(),
                "id": latest.id(), "network": latest.network(),
                "versions": chain.versions().iter().map(|v| json!({"sequence": v.sequence(), "id": v.id()})).collect::<Vec<_>>(),
            });
        }
        Err(
            e @ (GenesisError::ChainJson(_)
            | GenesisError::ChainTooLarge(_)
            | GenesisError::EmptyChain),
        ) => return Err(input(format!("{}: {e}", file.display()))),
        Err(e) => report.fail("genesis chain", e.to_string()),
    }
    Ok(report)
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
