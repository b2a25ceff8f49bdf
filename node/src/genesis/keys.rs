//! Keys a later genesis version replaced: a node configured with one is told so, with the
//! command that installs the new key, instead of a bare "does not match".

use super::Chain;

/// Which of a member's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRole {
    /// The log key (signs the member's checkpoints).
    Log,
    /// The witness key (cosigns other logs).
    Witness,
    /// The libp2p identity (given as its peer id).
    P2p,
}

impl KeyRole {
    /// The `rotate-key` flag that installs a new key of this role.
    pub fn flag(self) -> &'static str {
        match self {
            KeyRole::Log => "--log-key",
            KeyRole::Witness => "--witness-key",
            KeyRole::P2p => "--p2p-key",
        }
    }

    /// How the key is named in messages.
    pub fn name(self) -> &'static str {
        match self {
            KeyRole::Log => "log key",
            KeyRole::Witness => "witness key",
            KeyRole::P2p => "p2p key (peer id)",
        }
    }

    /// The key of this role `member` has in `genesis`, as text (a vkey, or a peer id).
    pub fn of(self, genesis: &daylight_genesis::Genesis, member: &str) -> Option<String> {
        let entry = genesis.member(member)?;
        Some(match self {
            KeyRole::Log => entry.log_key.to_string(),
            KeyRole::Witness => entry.witness_key.to_string(),
            KeyRole::P2p => entry.peer_id.clone(),
        })
    }
}

/// If `key` (a vkey, or a peer id for [`KeyRole::P2p`]) is `member`'s key of that role in an
/// earlier version of `chain` but not in the newest, says so and what to do.
pub fn superseded(chain: &Chain, member: &str, role: KeyRole, key: &str) -> Option<String> {
    let latest = chain.latest();
    let current = role.of(latest, member)?;
    if current == key {
        return None;
    }
    let was = chain
        .versions()
        .rev()
        .find(|g| role.of(g, member).as_deref() == Some(key))?
        .sequence();
    Some(format!(
        "the {} in the configuration ({key}) is member {member}'s key of genesis version {was}, \
         superseded in version {} by {current}. Stop the node and install the new key with \
         `daylight-node rotate-key --config <node.toml> {} NEW.key`",
        role.name(),
        chain.sequence(),
        role.flag()
    ))
}
