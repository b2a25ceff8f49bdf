//! `daylight attest` and `daylight sign`: add an attestor's or the operator's signature to a
//! record file without publishing it, so a record passes from signer to signer as a file
//! (the five sign-offs of a household exit) before the operator publishes it.
//!
//! Every signature covers the JCS bytes of the record without `signatures`, so signatures
//! can be added in any order. Before adding one, every signature already on the record is
//! checked against it: a record changed after someone signed it is refused, naming who.

use std::path::{Path, PathBuf};

use clap::Args;
use daylight_genesis::names;
use daylight_verifier::SigningKey;
use daylight_verifier::record::signing::signature;
use daylight_verifier::record::{Record, RecordSignature, SignedRecord, signing_bytes};
use serde_json::{Value, json};

use crate::check::read_signing_key;
use crate::clerk::files::{pretty, replace};
use crate::error::{CliError, input, read_file};
use crate::output::Report;

/// The arguments of `daylight attest` and `daylight sign`.
#[derive(Args, Debug)]
pub struct SignArgs {
    /// The signer's private key file (`daylight keygen`): for `attest` an attestor key named
    /// `<network>/<member>/<role>/<name>`, for `sign` an operator key
    /// `<network>/<member>/operator/<name>`.
    #[arg(long)]
    pub key: PathBuf,
    /// The record (JSON), with or without signatures; rewritten in place unless --out is
    /// given.
    pub record: PathBuf,
    /// Check that the key is one the genesis accepts for the record's member, in its role
    /// (version 1's file, or a chain JSON).
    #[arg(long)]
    pub genesis: Option<PathBuf>,
    /// Write the signed record here instead of over RECORD.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The parts of a key name `<network>/<member>/<role>/<name>`.
pub struct KeyName {
    /// The network name.
    pub network: String,
    /// The member id whose records the key signs.
    pub member: String,
    /// `operator`, or the attestor role.
    pub role: String,
}

/// Splits an operator or attestor key's name, or says why it is neither.
pub fn key_name(key: &SigningKey) -> Result<KeyName, CliError> {
    let name = key.name();
    let parts: Vec<&str> = name.split('/').collect();
    let bad = || {
        input(format!(
            "the key {name:?} is not an operator or attestor key: its name must be \
             <network>/<member>/<role>/<name> (create one with `daylight keygen --name ...`)"
        ))
    };
    if parts.len() != 4 {
        return Err(bad());
    }
    let role = names::holder_role(parts[0], parts[1], name).ok_or_else(bad)?;
    Ok(KeyName {
        network: parts[0].to_string(),
        member: parts[1].to_string(),
        role: role.to_string(),
    })
}

/// Reads a record file: the record and the signatures already on it, each checked.
pub fn read_record(path: &Path) -> Result<(Record, Vec<RecordSignature>), CliError> {
    let mut value: Value = serde_json::from_slice(&read_file(path)?)
        .map_err(|e| input(format!("{} is not JSON: {e}", path.display())))?;
    let Value::Object(map) = &mut value else {
        return Err(input(format!(
            "{} must hold one record (a JSON object)",
            path.display()
        )));
    };
    let signatures: Vec<RecordSignature> = match map.remove("signatures") {
        None => Vec::new(),
        Some(list) => serde_json::from_value(list)
            .map_err(|e| input(format!("{}: signatures: {e}", path.display())))?,
    };
    let record = Record::from_value(value)
        .map_err(|e| input(format!("{} is not a valid record: {e}", path.display())))?;
    let message = signing_bytes(&record);
    for (i, s) in signatures.iter().enumerate() {
        if !s.signer.verify_raw(&message, &s.sig.0) {
            return Err(input(format!(
                "{}: signatures[{i}] by {} does not match the record: it was changed after \
                 that signature was made; ask the signer to sign the record as it is now, or \
                 undo the change",
                path.display(),
                s.signer.name()
            )));
        }
    }
    Ok((record, signatures))
}

/// Checks that the genesis accepts `key` for `member` in `role`.
fn check_genesis(
    path: &Path,
    key: &SigningKey,
    name: &KeyName,
    operator: bool,
) -> Result<String, CliError> {
    let pinned = crate::pin::offline(path)?;
    let genesis = pinned.genesis();
    if genesis.network() != name.network {
        return Err(input(format!(
            "the key {} is for network {}, but the genesis {} is of network {}",
            key.name(),
            name.network,
            path.display(),
            genesis.network()
        )));
    }
    let vkey = key.verifier();
    let listed = if operator {
        genesis
            .operator_keys(&name.member)
            .map(|keys| keys.contains(&vkey))
    } else {
        genesis
            .attestor_keys(&name.member)
            .map(|list| list.iter().any(|a| a.key == vkey && a.role == name.role))
    };
    match listed {
        Ok(true) => Ok(format!(
            "the genesis (version {}) accepts this key as {} of {}",
            genesis.sequence(),
            name.role,
            name.member
        )),
        Ok(false) => Err(input(format!(
            "the genesis (version {}) does not list {} as {} key of {}: add it with `daylight \
             genesis amend` first, or use the right key",
            genesis.sequence(),
            vkey,
            if operator {
                "an operator"
            } else {
                "an attestor"
            },
            name.member
        ))),
        Err(e) => Err(input(format!("the genesis: {e}"))),
    }
}

/// Runs `daylight attest` (`operator` false) or `daylight sign` (`operator` true).
pub fn run(args: &SignArgs, operator: bool) -> Result<Report, CliError> {
    let key = read_signing_key(&args.key)?;
    let name = key_name(&key)?;
    match (operator, name.role == names::OPERATOR_ROLE) {
        (true, false) => {
            return Err(input(format!(
                "{} is an attestor key (role {}); add its signature with `daylight attest`",
                key.name(),
                name.role
            )));
        }
        (false, true) => {
            return Err(input(format!(
                "{} is an operator key; add its signature with `daylight sign` (or publish \
                 with `daylight publish`)",
                key.name()
            )));
        }
        _ => {}
    }
    let (record, mut signatures) = read_record(&args.record)?;
    if !record
        .rid
        .as_str()
        .starts_with(&format!("{}-", name.member))
    {
        return Err(input(format!(
            "the record {} is not of member {}, whose key {} is: a key signs only its \
             member's records",
            record.rid,
            name.member,
            key.name()
        )));
    }
    let mut report = Report::new(Value::Null);
    if let Some(genesis) = &args.genesis {
        report.pass("key", check_genesis(genesis, &key, &name, operator)?);
    }
    let vkey = key.verifier();
    let already = signatures.iter().any(|s| s.signer == vkey);
    if !already {
        let new = signature(&record, &key);
        if operator {
            signatures.insert(0, new);
        } else {
            signatures.push(new);
        }
    }
    let out = args.out.clone().unwrap_or_else(|| args.record.clone());
    let rid = record.rid.to_string();
    let signed = SignedRecord { record, signatures };
    if !already || args.out.is_some() {
        replace(&out, &pretty(&signed)?, false)?;
    }
    let signers: Vec<Value> = signed
        .signatures
        .iter()
        .map(|s| {
            let role = s.signer.name().split('/').nth(2).unwrap_or("?").to_string();
            json!({"signer": s.signer.to_string(), "role": role})
        })
        .collect();
    report.json = json!({
        "rid": rid, "out": out.display().to_string(), "added": !already,
        "role": name.role, "signatures": signers,
    });
    if already {
        report.line(format!(
            "{} had signed {rid} already; nothing added.",
            key.name()
        ));
    } else {
        report.line(format!(
            "Added the signature of {} ({}) to {rid}; wrote {}.",
            key.name(),
            name.role,
            out.display()
        ));
    }
    report.line(format!("{} signature(s) now:", signers.len()));
    for s in &signers {
        report.line(format!(
            "  {} {}",
            s["role"].as_str().unwrap_or(""),
            s["signer"].as_str().unwrap_or("")
        ));
    }
    Ok(report)
}
