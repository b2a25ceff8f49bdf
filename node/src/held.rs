//! The logs a node holds: one list, built once from the genesis, that every part of the node
//! asks "which logs, and how do I find one" — by origin (gossip, the sync protocol, evidence),
//! by member id (the HTTP paths `/log/<member>/...`, the auditor, static publication) or by
//! storage number (the integrity checks).
//!
//! Every member of the genesis has a log, and a node holds all of them: its own (if it is a
//! member) and a mirror of every other. An observer holds mirrors only.

use std::collections::HashMap;

use daylight_genesis::Genesis;
use daylight_verifier::VerifierKey;
use daylight_verifier::policy::LogPolicy;
use libp2p::PeerId;

use crate::store::Store;

/// One log of the network, as this node holds it.
#[derive(Clone, Debug)]
pub struct HeldLog {
    /// The member whose log it is (the `<member>` of `/log/<member>/...`).
    pub member: String,
    /// The log's origin line (`<network>/<member>`), as its checkpoints name it.
    pub origin: String,
    /// The log's number in storage.
    pub number: u32,
    /// Its trust policy: the log key, the witnesses and the quorum.
    pub policy: LogPolicy,
    /// The member's libp2p peer id, if the genesis gives a valid one.
    pub peer: Option<PeerId>,
    /// Whether this is the node's own log (it writes it) rather than a mirror.
    pub own: bool,
}

impl HeldLog {
    /// The key that signs the log's checkpoints.
    pub fn log_key(&self) -> &VerifierKey {
        self.policy.log_key()
    }
}

/// Every log a node holds, in member order, with lookups by origin, member and number.
///
/// Invariant: built once and never changed while the node runs; origins, members and numbers
/// are each unique (the genesis refuses duplicate members, and storage numbers are assigned one
/// per origin).
#[derive(Clone, Debug, Default)]
pub struct HeldLogs {
    logs: Vec<HeldLog>,
    by_origin: HashMap<String, usize>,
    by_member: HashMap<String, usize>,
    by_number: HashMap<u32, usize>,
}

impl HeldLogs {
    /// Every log of `genesis`, registered in `store` (given a storage number) if new; `own` is
    /// the node's member id, if it is a member.
    pub fn register(
        genesis: &Genesis,
        store: &Store,
        own: Option<&str>,
    ) -> anyhow::Result<HeldLogs> {
        HeldLogs::numbered(genesis, own, |origin| Ok(Some(store.log_number(origin)?)))
    }

    /// The logs of `genesis` that `store` already holds, without registering any (for tools
    /// that open a stopped node's database, perhaps read-only).
    pub fn existing(
        genesis: &Genesis,
        store: &Store,
        own: Option<&str>,
    ) -> anyhow::Result<HeldLogs> {
        HeldLogs::numbered(genesis, own, |origin| Ok(store.find_log(origin)?))
    }

    /// The logs of `genesis` to which `number` gives a storage number (`None`: not held).
    fn numbered(
        genesis: &Genesis,
        own: Option<&str>,
        number: impl Fn(&str) -> anyhow::Result<Option<u32>>,
    ) -> anyhow::Result<HeldLogs> {
        let mut logs = Vec::new();
        for member in genesis.members() {
            let origin = genesis.origin(&member.id)?;
            if let Some(number) = number(&origin)? {
                logs.push(held(genesis, member, origin, number, own)?);
            }
        }
        Ok(HeldLogs::from_logs(logs))
    }

    /// A list of the given logs (sorted by member).
    pub fn from_logs(mut logs: Vec<HeldLog>) -> HeldLogs {
        logs.sort_by(|a, b| a.member.cmp(&b.member));
        let index = |key: fn(&HeldLog) -> String| -> HashMap<String, usize> {
            logs.iter().enumerate().map(|(i, l)| (key(l), i)).collect()
        };
        HeldLogs {
            by_origin: index(|l| l.origin.clone()),
            by_member: index(|l| l.member.clone()),
            by_number: logs
                .iter()
                .enumerate()
                .map(|(i, l)| (l.number, i))
                .collect(),
            logs,
        }
    }

    /// The log whose checkpoints carry `origin`.
    pub fn by_origin(&self, origin: &str) -> Option<&HeldLog> {
        self.by_origin.get(origin).map(|&i| &self.logs[i])
    }

    /// The log of member `member`.
    pub fn by_member(&self, member: &str) -> Option<&HeldLog> {
        self.by_member.get(member).map(|&i| &self.logs[i])
    }

    /// The log stored under `number`.
    pub fn by_number(&self, number: u32) -> Option<&HeldLog> {
        self.by_number.get(&number).map(|&i| &self.logs[i])
    }

    /// The node's own log, if it is a member.
    pub fn own(&self) -> Option<&HeldLog> {
        self.logs.iter().find(|l| l.own)
    }

    /// Every held log, in member order.
    pub fn iter(&self) -> std::slice::Iter<'_, HeldLog> {
        self.logs.iter()
    }

    /// How many logs are held.
    pub fn len(&self) -> usize {
        self.logs.len()
    }

    /// Whether no log is held.
    pub fn is_empty(&self) -> bool {
        self.logs.is_empty()
    }
}

impl<'a> IntoIterator for &'a HeldLogs {
    type Item = &'a HeldLog;
    type IntoIter = std::slice::Iter<'a, HeldLog>;

    fn into_iter(self) -> Self::IntoIter {
        self.logs.iter()
    }
}

/// The held log of `member`.
fn held(
    genesis: &Genesis,
    member: &daylight_genesis::Member,
    origin: String,
    number: u32,
    own: Option<&str>,
) -> anyhow::Result<HeldLog> {
    Ok(HeldLog {
        policy: genesis.policy_for(&member.id)?,
        peer: member.peer_id.parse().ok(),
        own: own == Some(member.id.as_str()),
        member: member.id.clone(),
        origin,
        number,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use daylight_verifier::{KeyType, SigningKey};

    fn log(member: &str, number: u32, own: bool) -> HeldLog {
        let origin = format!("net/{member}");
        let key = SigningKey::from_seed(&origin, KeyType::Ed25519, [number as u8; 32]).unwrap();
        HeldLog {
            member: member.to_string(),
            origin,
            number,
            policy: LogPolicy::new(key.verifier(), Vec::new(), 0).unwrap(),
            peer: None,
            own,
        }
    }

    #[test]
    fn every_lookup_finds_the_same_log() {
        let logs = HeldLogs::from_logs(vec![log("b", 0, true), log("a", 1, false)]);
        assert_eq!(logs.len(), 2);
        let members: Vec<_> = logs.iter().map(|l| l.member.as_str()).collect();
        assert_eq!(members, ["a", "b"], "member order");
        for l in &logs {
            assert_eq!(logs.by_origin(&l.origin).unwrap().number, l.number);
            assert_eq!(logs.by_member(&l.member).unwrap().number, l.number);
            assert_eq!(logs.by_number(l.number).unwrap().member, l.member);
        }
        assert_eq!(logs.own().unwrap().member, "b");
        assert!(logs.by_origin("net/c").is_none());
        assert!(logs.by_member("net/a").is_none(), "members are not origins");
    }
}
