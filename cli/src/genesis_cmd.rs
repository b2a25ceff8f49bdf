//! `daylight genesis init|add-member`: assemble the draft of a network definition (format in
//! docs/genesis.md), and the draft and key helpers the other genesis commands share. Signing
//! and verifying are in `genesis_sign`, showing in `genesis_show`, later versions in
//! `genesis_amend` and `genesis_update`.

use std::path::Path;

use daylight_genesis::{Attestor, GenesisBuilder, Member, Role, names};
use daylight_verifier::VerifierKey;
use serde_json::json;

use crate::check::read_signing_key;
use crate::error::{CliError, input, read_text};
use crate::output::Report;
use crate::seen::write_atomic;

/// What `genesis add-member` (and `genesis amend --add-member`) adds.
#[derive(clap::Args, Debug, Clone)]
pub struct NewMember {
    /// Member id, e.g. county-320206.
    #[arg(long)]
    pub id: String,
    /// city, county or auditor.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// Display name, e.g. the bureau's official name.
    #[arg(long)]
    pub name: String,
    /// Administrative division code, e.g. 320206.
    #[arg(long)]
    pub code: String,
    /// The parent member id (a county's city).
    #[arg(long)]
    pub parent: Option<String>,
    /// Log key: a vkey, or a file holding the vkey or the private key.
    #[arg(long, value_name = "VKEY|FILE")]
    pub log_key: String,
    /// Witness key: a vkey, or a file holding the vkey or the private key.
    #[arg(long, value_name = "VKEY|FILE")]
    pub witness_key: String,
    /// The libp2p peer id of the member's node (`daylight-node p2p-key` prints it).
    #[arg(long)]
    pub peer_id: String,
    /// A libp2p listen multiaddr (repeatable, in order of preference).
    #[arg(long = "addr")]
    pub addresses: Vec<String>,
    /// Base URL of the member's HTTP API.
    #[arg(long)]
    pub http: Option<String>,
    /// An operator key whose signature publishes in this log (repeatable).
    #[arg(long = "operator", value_name = "VKEY|FILE")]
    pub operators: Vec<String>,
    /// An attestor key with its role, ROLE=VKEY (repeatable).
    #[arg(long = "attestor", value_name = "ROLE=VKEY")]
    pub attestors: Vec<String>,
    /// A member that witnesses this log (repeatable; default: every other member).
    #[arg(long = "witness", value_name = "MEMBER")]
    pub witnesses: Vec<String>,
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

/// A vkey given inline, or a file holding a vkey or a private key (whose public half is used).
pub fn resolve_key(arg: &str, what: &str) -> Result<VerifierKey, CliError> {
    if let Ok(key) = VerifierKey::parse(arg) {
        return Ok(key);
    }
    let path = Path::new(arg);
    if !path.exists() {
        return Err(input(format!(
            "{what} {arg:?} is neither a vkey (name+id+key) nor an existing key file"
        )));
    }
    let text = read_text(path)?;
    let text = text.trim();
    if text.starts_with("PRIVATE+KEY+") {
        return Ok(read_signing_key(path)?.verifier());
    }
    VerifierKey::parse(text)
        .map_err(|e| input(format!("{what}: {} holds no vkey: {e}", path.display())))
}

pub fn write_new(path: &Path, text: &str) -> Result<(), CliError> {
    if path.exists() {
        return Err(input(format!(
            "{} already exists; choose another --out",
            path.display()
        )));
    }
    write_atomic(path, text.as_bytes())
        .map_err(|e| input(format!("cannot write {}: {e}", path.display())))
}

pub fn write(path: &Path, text: &str) -> Result<(), CliError> {
    write_atomic(path, text.as_bytes())
        .map_err(|e| input(format!("cannot write {}: {e}", path.display())))
}

pub fn read_draft(path: &Path) -> Result<GenesisBuilder, CliError> {
    GenesisBuilder::from_text(&read_text(path)?).map_err(|e| {
        input(format!(
            "{} is not a genesis draft (signed files cannot take new members): {e}",
            path.display()
        ))
    })
}

/// Runs `genesis init`: an empty draft with default audit parameters.
pub fn init(network: &str, quorum: usize, out: &Path) -> Result<Report, CliError> {
    if !names::is_valid_network_name(network) {
        return Err(input(format!(
            "invalid network name {network:?}: use 1-64 of a-z 0-9 . - starting with a letter or digit"
        )));
    }
    let mut draft = GenesisBuilder::new(network);
    draft.set_quorum(quorum);
    write_new(out, &draft.to_text())?;
    let mut report = Report::new(
        json!({"network": network, "quorum": quorum, "out": out.display().to_string()}),
    );
    report.line(format!(
        "Wrote a draft genesis for network {network} (quorum {quorum}, default audit parameters) to {}.",
        out.display()
    ));
    report.line("Add members with `daylight genesis add-member`, then each founder signs with `daylight genesis sign`.");
    Ok(report)
}

/// The member `new` describes, its keys resolved; its own fields are checked when the draft
/// is read back.
pub fn new_member(new: &NewMember) -> Result<Member, CliError> {
    let mut member = Member::new(
        &new.id,
        new.role,
        &new.name,
        &new.code,
        resolve_key(&new.log_key, "--log-key")?,
        resolve_key(&new.witness_key, "--witness-key")?,
        &new.peer_id,
    );
    member.parent = new.parent.clone();
    member.addresses = new.addresses.clone();
    member.http = new.http.clone();
    for k in &new.operators {
        member.operators.push(resolve_key(k, "--operator")?);
    }
    for a in &new.attestors {
        member.attestors.push(parse_attestor(a)?);
    }
    if !new.witnesses.is_empty() {
        member.witnesses = Some(new.witnesses.clone());
    }
    Ok(member)
}

/// An attestor given as `ROLE=VKEY|FILE`.
pub fn parse_attestor(text: &str) -> Result<Attestor, CliError> {
    let (role, key) = text
        .split_once('=')
        .ok_or_else(|| input(format!("--attestor {text:?}: write it ROLE=VKEY")))?;
    Ok(Attestor {
        role: role.to_string(),
        key: resolve_key(key, "--attestor")?,
    })
}

/// Writes a draft after an edit: refuses what can never become valid (a member's own fields,
/// a malformed key), and says whether the draft is valid yet (rules that need every member,
/// such as the quorum, may not hold until the last one is added).
pub fn write_draft(
    file: &Path,
    draft: &GenesisBuilder,
    previous: Option<&daylight_genesis::Genesis>,
    new_file: bool,
) -> Result<String, CliError> {
    let status = match previous {
        Some(previous) => draft.build_next(previous).map(|_| ()),
        None => draft.build().map(|_| ()),
    };
    let status = match status {
        Ok(()) => "the draft is valid and ready to sign".to_string(),
        Err(e) => format!("the draft is not valid yet: {e}"),
    };
    let text = draft.to_text();
    GenesisBuilder::from_text(&text).map_err(|e| input(e.to_string()))?;
    if new_file {
        write_new(file, &text)?;
    } else {
        write(file, &text)?;
    }
    Ok(status)
}

/// Runs `genesis add-member`.
pub fn add_member(file: &Path, new: NewMember) -> Result<Report, CliError> {
    let mut draft = read_draft(file)?;
    if draft.members().iter().any(|m| m.id == new.id) {
        return Err(input(format!(
            "member {:?} is already in the draft",
            new.id
        )));
    }
    draft.add_member(new_member(&new)?);
    let status = write_draft(file, &draft, None, false)
        .map_err(|e| input(format!("member {}: {e}", new.id)))?;
    let mut report =
        Report::new(json!({"member": new.id, "members": draft.members().len(), "status": status}));
    report.line(format!(
        "Added {} ({}) to {}; {} member(s) now.",
        new.id,
        new.role,
        file.display(),
        draft.members().len()
    ));
    report.line(status);
    Ok(report)
}
