//! `daylight genesis init|add-member|sign|verify|show`: assemble a network definition,
//! collect the founders' signatures, check and inspect the result (format in docs/genesis.md).

use std::path::Path;

use daylight_genesis::{
    Attestor, GenesisBuilder, GenesisError, Member, Role, SignedGenesis, names,
};
use daylight_verifier::VerifierKey;
use serde_json::{Value, json};

use crate::check::read_signing_key;
use crate::error::{CliError, failed, input, read_file, read_text};
use crate::output::Report;
use crate::seen::write_atomic;

/// What `genesis add-member` adds.
pub struct NewMember {
    /// Member id.
    pub id: String,
    /// Role.
    pub role: Role,
    /// Display name.
    pub name: String,
    /// Administrative division code.
    pub code: String,
    /// Parent member id.
    pub parent: Option<String>,
    /// Log key: a vkey or a file holding a vkey or private key.
    pub log_key: String,
    /// Witness key: a vkey or a file holding one.
    pub witness_key: String,
    /// libp2p peer id.
    pub peer_id: String,
    /// libp2p multiaddrs.
    pub addresses: Vec<String>,
    /// HTTP base URL.
    pub http: Option<String>,
    /// Operator keys (vkeys or files).
    pub operators: Vec<String>,
    /// Attestors as `ROLE=KEY`.
    pub attestors: Vec<String>,
    /// Witnesses of this log (member ids); none = every other member.
    pub witnesses: Vec<String>,
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

fn write_new(path: &Path, text: &str) -> Result<(), CliError> {
    if path.exists() {
        return Err(input(format!(
            "{} already exists; choose another --out",
            path.display()
        )));
    }
    write_atomic(path, text.as_bytes())
        .map_err(|e| input(format!("cannot write {}: {e}", path.display())))
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    write_atomic(path, text.as_bytes())
        .map_err(|e| input(format!("cannot write {}: {e}", path.display())))
}

fn read_draft(path: &Path) -> Result<GenesisBuilder, CliError> {
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

/// Runs `genesis add-member`.
pub fn add_member(file: &Path, new: NewMember) -> Result<Report, CliError> {
    let mut draft = read_draft(file)?;
    if draft.members().iter().any(|m| m.id == new.id) {
        return Err(input(format!(
            "member {:?} is already in the draft",
            new.id
        )));
    }
    let mut member = Member::new(
        &new.id,
        new.role,
        &new.name,
        &new.code,
        resolve_key(&new.log_key, "--log-key")?,
        resolve_key(&new.witness_key, "--witness-key")?,
        &new.peer_id,
    );
    member.parent = new.parent;
    member.addresses = new.addresses;
    member.http = new.http;
    for k in &new.operators {
        member.operators.push(resolve_key(k, "--operator")?);
    }
    for a in &new.attestors {
        let (role, key) = a
            .split_once('=')
            .ok_or_else(|| input(format!("--attestor {a:?}: write it ROLE=VKEY")))?;
        member.attestors.push(Attestor {
            role: role.to_string(),
            key: resolve_key(key, "--attestor")?,
        });
    }
    if !new.witnesses.is_empty() {
        member.witnesses = Some(new.witnesses);
    }
    draft.add_member(member);
    // Rules that need every member (quorum, parents) may not hold yet; say so, do not fail.
    let status = match draft.build() {
        Ok(_) => "the draft is valid and ready to sign".to_string(),
        Err(e) => format!("the draft is not valid yet: {e}"),
    };
    // Refuse what can never become valid: the member's own fields.
    let text = draft.to_text();
    GenesisBuilder::from_text(&text).map_err(|e| input(format!("member {}: {e}", new.id)))?;
    write(file, &text)?;
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

/// Runs `genesis sign`: adds a founder's signature with its log key.
pub fn sign(file: &Path, key: &Path, out: Option<&Path>) -> Result<Report, CliError> {
    let key = read_signing_key(key)?;
    let bytes = read_file(file)?;
    let signed = match SignedGenesis::parse(&bytes) {
        Ok(mut signed) => {
            signed.sign(&key).map_err(|e| input(e.to_string()))?;
            signed
        }
        Err(GenesisError::NotANote(_)) => {
            let text = String::from_utf8(bytes)
                .map_err(|_| input(format!("{} is not UTF-8 text", file.display())))?;
            let draft = GenesisBuilder::from_text(&text)
                .map_err(|e| input(format!("{}: {e}", file.display())))?;
            draft.sign(&key).map_err(|e| input(e.to_string()))?
        }
        Err(e) => return Err(input(format!("{}: {e}", file.display()))),
    };
    let missing = signed
        .missing_founders()
        .map_err(|e| failed(e.to_string()))?;
    let target = out.unwrap_or(file);
    write(target, &signed.to_text())?;
    let mut report = Report::new(json!({
        "id": signed.id(), "signed_by": key.name(), "missing": missing, "out": target.display().to_string(),
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

/// Runs `genesis verify`: every founder signed with its listed log key.
pub fn verify(file: &Path) -> Result<Report, CliError> {
    let signed = SignedGenesis::parse(&read_file(file)?)
        .map_err(|e| input(format!("{}: {e}", file.display())))?;
    let id = signed.id().to_string();
    let founders: Vec<String> = signed
        .definition()
        .founders()
        .iter()
        .map(|m| m.id.clone())
        .collect();
    let mut report = Report::new(
        json!({"id": id, "network": signed.definition().network(), "founders": founders}),
    );
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

/// Runs `genesis show`: everything the definition says, and whether it is fully signed.
pub fn show(file: &Path) -> Result<Report, CliError> {
    let bytes = read_file(file)?;
    let (definition, id, signed_status) = match SignedGenesis::parse(&bytes) {
        Ok(signed) => {
            let status = match signed.clone().verify() {
                Ok(_) => "verified: every founder signed".to_string(),
                Err(e) => format!("NOT verified: {e}"),
            };
            (
                signed.definition().clone(),
                Some(signed.id().to_string()),
                status,
            )
        }
        Err(GenesisError::NotANote(_)) => {
            let draft = read_draft(file)?;
            let definition = draft
                .build()
                .map_err(|e| input(format!("draft {}: {e}", file.display())))?;
            (definition, None, "unsigned draft".to_string())
        }
        Err(e) => return Err(input(format!("{}: {e}", file.display()))),
    };
    let mut report = Report::new(Value::Null);
    report.line(format!("Network {}", definition.network()));
    match &id {
        Some(id) => report.line(format!("Genesis id {id} ({signed_status})")),
        None => report.line(format!("No id yet ({signed_status})")),
    }
    report.line(format!(
        "Witness quorum: {} valid cosignature(s) per checkpoint",
        definition.quorum()
    ));
    let founders: Vec<String> = definition.founders().iter().map(|m| m.id.clone()).collect();
    report.line(format!("Founders: {}", founders.join(", ")));
    let mut members = Vec::new();
    for m in definition.members() {
        let witnesses: Vec<String> = definition
            .witnesses_of(&m.id)
            .unwrap_or_default()
            .iter()
            .map(|w| w.id.clone())
            .collect();
        report.line(format!("Member {} ({}): {}", m.id, m.role, m.name));
        report.line(format!(
            "  division {}{}",
            m.division,
            m.parent
                .as_ref()
                .map(|p| format!(", parent {p}"))
                .unwrap_or_default()
        ));
        report.line(format!("  log key      {}", m.log_key));
        report.line(format!("  witness key  {}", m.witness_key));
        report.line(format!("  peer id      {}", m.peer_id));
        for a in &m.addresses {
            report.line(format!("  address      {a}"));
        }
        if let Some(h) = &m.http {
            report.line(format!("  http         {h}"));
        }
        for k in &m.operators {
            report.line(format!("  operator     {k}"));
        }
        for a in &m.attestors {
            report.line(format!("  attestor     {} {}", a.role, a.key));
        }
        report.line(format!("  witnessed by {}", witnesses.join(", ")));
        members.push(json!({
            "id": m.id, "role": m.role.as_str(), "name": m.name, "division": m.division,
            "parent": m.parent, "log_key": m.log_key.to_string(), "witness_key": m.witness_key.to_string(),
            "peer_id": m.peer_id, "addresses": m.addresses, "http": m.http,
            "operators": m.operators.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
            "attestors": m.attestors.iter().map(|a| json!({"role": a.role, "key": a.key.to_string()})).collect::<Vec<_>>(),
            "witnesses": witnesses,
        }));
    }
    let a = definition.audit();
    let audit = json!({
        "transfer_receipt_days": a.transfer_receipt_days, "idle_days": a.idle_days,
        "duplicate_window_days": a.duplicate_window_days, "split_window_days": a.split_window_days,
        "split_margin_percent": a.split_margin_percent, "min_notice_days": a.min_notice_days,
        "max_backdate_days": a.max_backdate_days, "max_future_days": a.max_future_days,
        "approval_threshold": a.approval_threshold, "entitlement_cap": a.entitlement_cap,
    });
    report.line(format!(
        "Audit: transfer receipt {} d, idle {} d, duplicate window {} d, split window {} d / {}%, notice {} d, backdate {} d, future {} d, approval threshold {:?}, entitlement cap {:?}",
        a.transfer_receipt_days, a.idle_days, a.duplicate_window_days, a.split_window_days,
        a.split_margin_percent, a.min_notice_days, a.max_backdate_days, a.max_future_days,
        a.approval_threshold, a.entitlement_cap
    ));
    report.json = json!({
        "network": definition.network(), "id": id, "status": signed_status,
        "quorum": definition.quorum(), "founders": founders, "members": members, "audit": audit,
    });
    Ok(report)
}
