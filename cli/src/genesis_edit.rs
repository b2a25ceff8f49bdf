//! The edits `daylight genesis amend` and `genesis edit` make to a draft, as flags: add,
//! change, retire or remove a member, rotate a log or witness key, revoke an operator or
//! attestor key, set witnesses, quorum, founder threshold and audit parameters. Each edit
//! returns what it changed in plain words. The commands themselves are in `genesis_amend`.

use std::path::PathBuf;

use clap::Args;
use daylight_genesis::{Genesis, GenesisBuilder, GenesisError, Member, Role};

use crate::edit_values::{parse_until, point, set_audit};
use crate::error::{CliError, input};
use crate::genesis_changes::{list_or_none, or_none, quoted, unix_time};
use crate::genesis_cmd::{NewMember, new_member, resolve_key};

/// The edits, as flags; any combination, applied in the order listed in `docs/cli.md`. The
/// flags come in four groups, each under its heading in `--help`.
#[derive(Args, Debug, Default, Clone)]
pub struct Edits {
    #[command(flatten, next_help_heading = "Add or change a member")]
    member: MemberEdits,
    #[command(flatten, next_help_heading = "Retire a member")]
    retire: RetireEdits,
    #[command(flatten, next_help_heading = "Rotate or revoke a key")]
    keys: KeyEdits,
    #[command(flatten, next_help_heading = "Network rules")]
    rules: RuleEdits,
}

/// Adding a member, or changing a member's fields.
#[derive(Args, Debug, Default, Clone)]
struct MemberEdits {
    /// Add a member with this id (give --role, --name, --code, --log-key, --witness-key,
    /// --peer-id, and optionally --parent, --addr, --http, --operator, --attestor, --witness).
    #[arg(long, value_name = "ID")]
    add_member: Option<String>,
    /// Change this member's fields given with --name, --code, --parent, --peer-id, --addr,
    /// --http (replace), --operator, --attestor (add a key).
    #[arg(long, value_name = "ID", conflicts_with = "add_member")]
    set_member: Option<String>,
    /// city, county or auditor (with --add-member).
    #[arg(long, value_parser = parse_role, requires = "add_member")]
    role: Option<Role>,
    /// Display name.
    #[arg(long)]
    name: Option<String>,
    /// Administrative division code.
    #[arg(long)]
    code: Option<String>,
    /// The parent member id.
    #[arg(long)]
    parent: Option<String>,
    /// Log key (with --add-member; with --set-member only in a version-1 draft, where nothing
    /// was signed yet; later versions use --rotate-log-key).
    #[arg(long, value_name = "VKEY|FILE")]
    log_key: Option<String>,
    /// Witness key (like --log-key; later versions use --rotate-witness-key).
    #[arg(long, value_name = "VKEY|FILE")]
    witness_key: Option<String>,
    /// The libp2p peer id of the member's node (a new one rotates the node's identity).
    #[arg(long)]
    peer_id: Option<String>,
    /// A libp2p listen multiaddr (repeatable, in order of preference; with --set-member,
    /// replaces the member's addresses).
    #[arg(long = "addr", alias = "address", value_name = "MULTIADDR")]
    addresses: Vec<String>,
    /// Base URL of the member's HTTP API.
    #[arg(long)]
    http: Option<String>,
    /// An operator key to add (repeatable).
    #[arg(long = "operator", alias = "add-operator", value_name = "VKEY|FILE")]
    operators: Vec<String>,
    /// An attestor key to add, ROLE=VKEY|FILE (repeatable).
    #[arg(long = "attestor", alias = "add-attestor", value_name = "ROLE=VKEY")]
    attestors: Vec<String>,
    /// A member that witnesses the new member's log (repeatable; with --add-member).
    #[arg(long = "witness", value_name = "MEMBER", requires = "add_member")]
    witnesses: Vec<String>,
}

/// Retiring a member at a checkpoint of its log.
#[derive(Args, Debug, Default, Clone)]
struct RetireEdits {
    /// Retire this member: its log ends at the checkpoint given by --at-size and --at-root, or
    /// --at-checkpoint.
    #[arg(long, value_name = "ID")]
    retire: Option<String>,
    /// Size of the retiring log's last checkpoint.
    #[arg(long, value_name = "N", requires = "retire", requires = "at_root")]
    at_size: Option<u64>,
    /// Root of that checkpoint (base64, as in the checkpoint; or 64 hex digits).
    #[arg(long, value_name = "B64", requires = "retire", requires = "at_size")]
    at_root: Option<String>,
    /// That checkpoint, as a note signed by the member's log key (instead of --at-size and
    /// --at-root).
    #[arg(long, value_name = "FILE", requires = "retire", conflicts_with_all = ["at_size", "at_root"])]
    at_checkpoint: Option<PathBuf>,
}

/// Rotating a log or witness key, revoking an operator or attestor key.
#[derive(Args, Debug, Default, Clone)]
struct KeyEdits {
    /// Rotate this member's log key to --key; the old key signs checkpoints up to the one
    /// given by --last-size and --last-root (or --last-checkpoint).
    #[arg(long, value_name = "ID", requires = "key")]
    rotate_log_key: Option<String>,
    /// Size of the last checkpoint the old log key signed.
    #[arg(
        long,
        value_name = "N",
        requires = "rotate_log_key",
        requires = "last_root"
    )]
    last_size: Option<u64>,
    /// Root of that checkpoint (base64 or 64 hex digits).
    #[arg(
        long,
        value_name = "B64",
        requires = "rotate_log_key",
        requires = "last_size"
    )]
    last_root: Option<String>,
    /// That checkpoint, as a note signed by the old log key (instead of --last-size and
    /// --last-root).
    #[arg(long, value_name = "FILE", requires = "rotate_log_key", conflicts_with_all = ["last_size", "last_root"])]
    last_checkpoint: Option<PathBuf>,
    /// Rotate this member's witness key to --key; the old key's cosignatures count when made
    /// before --until.
    #[arg(
        long,
        value_name = "ID",
        requires = "key",
        conflicts_with = "rotate_log_key"
    )]
    rotate_witness_key: Option<String>,
    /// Unix time (seconds) from which the old witness key's cosignatures stop counting, or
    /// `now` (the default).
    #[arg(long, value_name = "UNIX|now", requires = "rotate_witness_key")]
    until: Option<String>,
    /// Revoke an operator or attestor key (--key) of this member from --from-index of its log.
    #[arg(long, value_name = "ID", requires = "key", requires = "from_index", conflicts_with_all = ["rotate_log_key", "rotate_witness_key"])]
    revoke: Option<String>,
    /// The first index of the log at which the revoked key's signatures stop counting.
    #[arg(long, value_name = "N", requires = "revoke")]
    from_index: Option<u64>,
    /// The key for --rotate-log-key, --rotate-witness-key (the new key) or --revoke (the
    /// revoked key; also its key name): a vkey, or a file holding the vkey or private key.
    #[arg(long, value_name = "VKEY|FILE")]
    key: Option<String>,
}

/// Witnesses, quorum, founder threshold, audit parameters, and removing a member.
#[derive(Args, Debug, Default, Clone)]
struct RuleEdits {
    /// Set the witnesses of a log: ID then a comma-separated list of member ids, or
    /// `default` (every other member that is not retired). Repeatable.
    #[arg(long, num_args = 2, value_names = ["ID", "MEMBERS"])]
    set_witnesses: Vec<String>,
    /// The witness cosignatures a citizen requires on each checkpoint.
    #[arg(long, value_name = "N")]
    quorum: Option<usize>,
    /// How many of this version's founders must sign the next version (default: a majority).
    #[arg(long, value_name = "N")]
    founder_threshold: Option<usize>,
    /// Set an audit parameter, e.g. idle_days=60 or approval_threshold.CNY=5000000 (`none`
    /// removes a currency). Repeatable.
    #[arg(long = "audit", value_name = "NAME=VALUE")]
    audit: Vec<String>,
    /// Remove a member from the draft (one added by mistake; a member of an earlier version
    /// is retired, never removed). Repeatable.
    #[arg(long, value_name = "ID")]
    remove_member: Vec<String>,
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

impl Edits {
    /// Whether any edit was asked for.
    pub fn is_empty(&self) -> bool {
        let (member, keys, rules) = (&self.member, &self.keys, &self.rules);
        member.field_flag().is_none()
            && member.add_member.is_none()
            && member.set_member.is_none()
            && self.retire.retire.is_none()
            && keys.rotate_log_key.is_none()
            && keys.rotate_witness_key.is_none()
            && keys.revoke.is_none()
            && rules.set_witnesses.is_empty()
            && rules.quorum.is_none()
            && rules.founder_threshold.is_none()
            && rules.audit.is_empty()
            && rules.remove_member.is_empty()
    }

    /// Whether a member is to be removed.
    pub fn removes_members(&self) -> bool {
        !self.rules.remove_member.is_empty()
    }

    /// Applies every edit to `draft`, in a fixed order, and says what each changed.
    /// `previous` is the version the draft follows, when known (it decides which members may
    /// be removed). Anything that can never be valid is bad input (exit 2).
    pub fn apply(
        &self,
        draft: &mut GenesisBuilder,
        previous: Option<&Genesis>,
    ) -> Result<Vec<String>, CliError> {
        let (member, keys) = (&self.member, &self.keys);
        let mut said = Vec::new();
        if let Some(id) = &member.add_member {
            said.push(member.add(draft, id)?);
        } else if let Some(id) = &member.set_member {
            said.extend(member.set(draft, id)?);
        } else if let Some(flag) = member.field_flag() {
            return Err(input(format!(
                "{flag} changes a member: name it with --add-member ID or --set-member ID"
            )));
        }
        let later_only = [
            (keys.rotate_log_key.is_some(), "--rotate-log-key"),
            (keys.rotate_witness_key.is_some(), "--rotate-witness-key"),
            (keys.revoke.is_some(), "--revoke"),
            (self.retire.retire.is_some(), "--retire"),
        ];
        if draft.sequence() == 1
            && let Some((_, flag)) = later_only.iter().find(|(given, _)| *given)
        {
            return Err(input(format!(
                "{flag} applies to later versions of a running network; this draft is version 1, \
                 where nothing was logged yet: change the member with --set-member instead"
            )));
        }
        if let Some(id) = &keys.rotate_log_key {
            said.push(keys.rotate_log(draft, id)?);
        }
        if let Some(id) = &keys.rotate_witness_key {
            said.push(keys.rotate_witness(draft, id)?);
        }
        if let Some(id) = &keys.revoke {
            said.push(keys.revoke(draft, id)?);
        }
        if let Some(id) = &self.retire.retire {
            said.push(self.retire.retire(draft, id)?);
        }
        said.extend(self.rules.apply(draft, previous)?);
        Ok(said)
    }
}

impl RuleEdits {
    /// Sets witnesses, quorum, founder threshold and audit parameters, and removes members.
    fn apply(
        &self,
        draft: &mut GenesisBuilder,
        previous: Option<&Genesis>,
    ) -> Result<Vec<String>, CliError> {
        let mut said = Vec::new();
        for pair in self.set_witnesses.chunks(2) {
            said.push(set_witnesses(draft, &pair[0], &pair[1])?);
        }
        if let Some(quorum) = self.quorum {
            let before = draft.build().ok().map(|d| d.quorum());
            draft.set_quorum(quorum);
            said.push(format!(
                "witness quorum set to {quorum} cosignature(s) per checkpoint{}",
                before.map_or(String::new(), |q| format!(" (was {q})"))
            ));
        }
        if let Some(threshold) = self.founder_threshold {
            draft.set_founder_threshold(Some(threshold));
            said.push(format!(
                "{threshold} founder(s) of this version must sign the next version"
            ));
        }
        for assignment in &self.audit {
            said.push(set_audit(draft.audit_mut(), assignment)?);
        }
        for id in &self.remove_member {
            draft.remove_member(id, previous).map_err(|e| match e {
                GenesisError::CannotRemoveMember { sequence, .. } => input(format!(
                    "member {id} is in version {sequence}, and a member is never removed from a \
                     network (what it logged must stay verifiable): retire it with --retire {id} \
                     --at-size N --at-root ROOT (its last cosigned checkpoint)"
                )),
                other => input(other.to_string()),
            })?;
            said.push(format!("removed member {id} from the draft"));
        }
        Ok(said)
    }
}

impl MemberEdits {
    /// The first member field flag given, for the message when no member is named.
    fn field_flag(&self) -> Option<&'static str> {
        [
            (self.name.is_some(), "--name"),
            (self.code.is_some(), "--code"),
            (self.parent.is_some(), "--parent"),
            (self.log_key.is_some(), "--log-key"),
            (self.witness_key.is_some(), "--witness-key"),
            (self.peer_id.is_some(), "--peer-id"),
            (!self.addresses.is_empty(), "--addr"),
            (self.http.is_some(), "--http"),
            (!self.operators.is_empty(), "--operator"),
            (!self.attestors.is_empty(), "--attestor"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    fn add(&self, draft: &mut GenesisBuilder, id: &str) -> Result<String, CliError> {
        if draft.members().iter().any(|m| m.id == id) {
            return Err(input(format!("member {id:?} is already in the draft")));
        }
        let need = |value: &Option<String>, flag: &str| {
            value
                .clone()
                .ok_or_else(|| input(format!("--add-member {id} needs {flag}")))
        };
        let new = NewMember {
            id: id.to_string(),
            role: self
                .role
                .ok_or_else(|| input(format!("--add-member {id} needs --role")))?,
            name: need(&self.name, "--name")?,
            code: need(&self.code, "--code")?,
            parent: self.parent.clone(),
            log_key: need(&self.log_key, "--log-key")?,
            witness_key: need(&self.witness_key, "--witness-key")?,
            peer_id: need(&self.peer_id, "--peer-id")?,
            addresses: self.addresses.clone(),
            http: self.http.clone(),
            operators: self.operators.clone(),
            attestors: self.attestors.clone(),
            witnesses: self.witnesses.clone(),
        };
        let member = new_member(&new)?;
        let said = format!(
            "added member {id}: {} \"{}\", division {}{}{}",
            member.role,
            member.name,
            member.division,
            member
                .parent
                .as_ref()
                .map(|p| format!(", parent {p}"))
                .unwrap_or_default(),
            if draft.sequence() > 1 {
                "; each of its new keys must sign this version (proof of possession)"
            } else {
                ""
            }
        );
        draft.add_member(member);
        Ok(said)
    }

    fn set(&self, draft: &mut GenesisBuilder, id: &str) -> Result<Vec<String>, CliError> {
        let later = draft.sequence() > 1;
        if later && (self.log_key.is_some() || self.witness_key.is_some()) {
            return Err(input(
                "a later version changes a log or witness key with --rotate-log-key or \
                 --rotate-witness-key, which record from when the new key counts",
            ));
        }
        let log_key = self
            .log_key
            .as_deref()
            .map(|k| resolve_key(k, "--log-key"))
            .transpose()?;
        let witness_key = self
            .witness_key
            .as_deref()
            .map(|k| resolve_key(k, "--witness-key"))
            .transpose()?;
        let mut operators = Vec::new();
        for k in &self.operators {
            operators.push(resolve_key(k, "--operator")?);
        }
        let mut attestors = Vec::new();
        for a in &self.attestors {
            attestors.push(crate::genesis_cmd::parse_attestor(a)?);
        }
        let member = member_mut(draft, id)?;
        let mut said = Vec::new();
        let mut change = |what: &str, before: String, after: String| {
            said.push(format!("{id}: {what} set to {after} (was {before})"));
        };
        if let Some(name) = &self.name {
            change("name", quoted(&member.name), quoted(name));
            member.name = name.clone();
        }
        if let Some(code) = &self.code {
            change("division", member.division.clone(), code.clone());
            member.division = code.clone();
        }
        if let Some(parent) = &self.parent {
            change("parent", or_none(&member.parent), parent.clone());
            member.parent = Some(parent.clone());
        }
        if let Some(peer_id) = &self.peer_id {
            change("peer id", member.peer_id.clone(), peer_id.clone());
            member.peer_id = peer_id.clone();
        }
        if !self.addresses.is_empty() {
            change(
                "addresses",
                list_or_none(&member.addresses),
                self.addresses.join(", "),
            );
            member.addresses = self.addresses.clone();
        }
        if let Some(http) = &self.http {
            change("HTTP URL", or_none(&member.http), http.clone());
            member.http = Some(http.clone());
        }
        if let Some(key) = log_key {
            change("log key", member.log_key.to_string(), key.to_string());
            member.log_key = key;
        }
        if let Some(key) = witness_key {
            change(
                "witness key",
                member.witness_key.to_string(),
                key.to_string(),
            );
            member.witness_key = key;
        }
        let proof = if later {
            "; it must sign this version (proof of possession)"
        } else {
            ""
        };
        for key in operators {
            said.push(format!("{id}: operator key added: {key}{proof}"));
            member.operators.push(key);
        }
        for a in attestors {
            said.push(format!(
                "{id}: {} attestor key added: {}{proof}",
                a.role, a.key
            ));
            member.attestors.push(a);
        }
        if said.is_empty() {
            return Err(input(format!(
                "--set-member {id} changes nothing: add --name, --code, --parent, --peer-id, \
                 --addr, --http, --operator or --attestor"
            )));
        }
        Ok(said)
    }
}

impl KeyEdits {
    fn rotate_log(&self, draft: &mut GenesisBuilder, id: &str) -> Result<String, CliError> {
        let new_key = resolve_key(self.key.as_deref().unwrap_or_default(), "--key")?;
        let old_key = member_mut(draft, id)?.log_key.clone();
        let (size, root) = point(
            draft.network(),
            id,
            &old_key,
            self.last_size,
            self.last_root.as_deref(),
            self.last_checkpoint.as_deref(),
            "--last-size and --last-root, or --last-checkpoint",
        )?;
        draft
            .rotate_log_key(id, new_key.clone(), size, root)
            .map_err(|e| input(e.to_string()))?;
        Ok(format!(
            "{id}: log key rotated to {new_key}; the old key {old_key} signs checkpoints up to \
             size {size} (root {}), later checkpoints need the new key, which must sign this \
             version (proof of possession)",
            root.to_base64()
        ))
    }

    fn rotate_witness(&self, draft: &mut GenesisBuilder, id: &str) -> Result<String, CliError> {
        let new_key = resolve_key(self.key.as_deref().unwrap_or_default(), "--key")?;
        let until = parse_until(self.until.as_deref())?;
        let old_key = member_mut(draft, id)?.witness_key.clone();
        draft
            .rotate_witness_key(id, new_key.clone(), until)
            .map_err(|e| input(e.to_string()))?;
        Ok(format!(
            "{id}: witness key rotated to {new_key}; cosignatures by the old key {old_key} count \
             when made before {}; the new key must cosign this version (proof of possession)",
            unix_time(until)
        ))
    }

    fn revoke(&self, draft: &mut GenesisBuilder, id: &str) -> Result<String, CliError> {
        let text = self.key.as_deref().unwrap_or_default();
        let member = member_mut(draft, id)?;
        let listed = member
            .operators
            .iter()
            .chain(member.attestors.iter().map(|a| &a.key))
            .find(|k| k.name() == text || k.to_string() == text)
            .cloned();
        let key = match listed {
            Some(key) => key,
            None => resolve_key(text, "--key")?,
        };
        let from_index = self.from_index.unwrap_or_default();
        draft
            .revoke_key(id, &key, from_index)
            .map_err(|e| input(e.to_string()))?;
        Ok(format!(
            "{id}: key {key} revoked: its signatures count only on entries before index \
             {from_index} of the log (records logged before stay valid; later ones are refused \
             by the nodes and flagged by the audit)"
        ))
    }
}

impl RetireEdits {
    fn retire(&self, draft: &mut GenesisBuilder, id: &str) -> Result<String, CliError> {
        let log_key = member_mut(draft, id)?.log_key.clone();
        let (size, root) = point(
            draft.network(),
            id,
            &log_key,
            self.at_size,
            self.at_root.as_deref(),
            self.at_checkpoint.as_deref(),
            "--at-size and --at-root, or --at-checkpoint",
        )?;
        draft
            .retire_member(id, size, root)
            .map_err(|e| input(e.to_string()))?;
        Ok(format!(
            "{id} retired: its log ends at its checkpoint of size {size} (root {}) and stays \
             verifiable up to it; it is no longer a founder or a witness",
            root.to_base64()
        ))
    }
}

fn member_mut<'a>(draft: &'a mut GenesisBuilder, id: &str) -> Result<&'a mut Member, CliError> {
    let ids: Vec<String> = draft.members().iter().map(|m| m.id.clone()).collect();
    draft.member_mut(id).ok_or_else(|| {
        input(format!(
            "no member {id:?} in the draft (members: {})",
            ids.join(", ")
        ))
    })
}

fn set_witnesses(draft: &mut GenesisBuilder, id: &str, list: &str) -> Result<String, CliError> {
    let before = member_mut(draft, id)?.witnesses.clone();
    let witnesses = match list.trim() {
        "default" => None,
        text => Some(
            text.split(',')
                .map(|w| w.trim().to_string())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>(),
        ),
    };
    draft
        .set_witnesses(id, witnesses.clone())
        .map_err(|e| input(e.to_string()))?;
    let words = |w: &Option<Vec<String>>| match w {
        None => "every other member that is not retired".to_string(),
        Some(list) => list_or_none(list),
    };
    Ok(format!(
        "{id} is now witnessed by {} (was {})",
        words(&witnesses),
        words(&before)
    ))
}
