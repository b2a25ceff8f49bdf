//! The logs a node holds: one list, kept up to date with the genesis chain, that every part of
//! the node asks "which logs, and how do I find one" — by origin (gossip, the sync protocol,
//! evidence), by member id (the HTTP paths `/log/<member>/...`, the auditor, static
//! publication) or by storage number (the integrity checks).
//!
//! Every member of the genesis has a log, and a node holds all of them: its own (if it is a
//! member) and a mirror of every other. An observer holds mirrors only. A later genesis
//! version (DESIGN §6b) may add members, whose logs are then added here, or change a log's
//! policy (keys, witnesses, quorum) or peer, which replaces its entry; a retired member's log
//! stays held and served. Nothing is ever removed.

mod slots;

use std::collections::HashMap;
use std::sync::RwLock;

use daylight_genesis::Genesis;
use daylight_verifier::VerifierKey;
use daylight_verifier::policy::LogPolicy;
use libp2p::PeerId;

use crate::store::Store;
use slots::Slots;

/// One log of the network, as this node holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// What [`HeldLogs::register_more`] changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Members whose logs were added.
    pub added: Vec<String>,
    /// Members whose log entry was replaced (new policy or peer).
    pub changed: Vec<String>,
}

/// Every log a node holds, in member order, with lookups by origin, member and number.
///
/// Invariant (kept here, by `HeldLogs::update` alone): logs are only ever added, or replaced
/// by a newer entry for the same member, origin and storage number; none is ever removed.
/// Every entry ever made stays in `entries` (append-only, never moved) until the list is
/// dropped, so the references lookups hand out stay valid while updates go on; a reader sees
/// either the entry before an update or the one after. Origins, members and numbers are each
/// unique (the genesis refuses duplicate members, and storage numbers are assigned one per
/// origin). Memory grows by one entry per log per genesis version that changes it.
#[derive(Default)]
pub struct HeldLogs {
    /// Every entry ever made, current or replaced.
    entries: Slots<HeldLog>,
    /// Which entries are current; updates take the write lock.
    index: RwLock<Index>,
}

/// The current entries: positions in [`HeldLogs::entries`].
#[derive(Default)]
struct Index {
    /// In member order.
    order: Vec<usize>,
    by_origin: HashMap<String, usize>,
    by_member: HashMap<String, usize>,
    by_number: HashMap<u32, usize>,
}

impl std::fmt::Debug for HeldLogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl HeldLogs {
    /// Every log of `genesis`, registered in `store` (given a storage number) if new; `own` is
    /// the node's member id, if it is a member.
    pub fn register(
        genesis: &Genesis,
        store: &Store,
        own: Option<&str>,
    ) -> anyhow::Result<HeldLogs> {
        let logs = HeldLogs::default();
        logs.register_more(genesis, store, own)?;
        Ok(logs)
    }

    /// Brings the list up to `genesis` (a later version of the chain): the logs of new
    /// members are registered in `store` and added, and entries whose policy or peer changed
    /// are replaced. Logs of members `genesis` no longer lists stay as they were.
    pub fn register_more(
        &self,
        genesis: &Genesis,
        store: &Store,
        own: Option<&str>,
    ) -> anyhow::Result<Changes> {
        self.update(genesis, own, |origin| Ok(Some(store.log_number(origin)?)))
    }

    /// The logs of `genesis` that `store` already holds, without registering any (for tools
    /// that open a stopped node's database, perhaps read-only).
    pub fn existing(
        genesis: &Genesis,
        store: &Store,
        own: Option<&str>,
    ) -> anyhow::Result<HeldLogs> {
        let logs = HeldLogs::default();
        logs.update(genesis, own, |origin| Ok(store.find_log(origin)?))?;
        Ok(logs)
    }

    /// Adds or replaces the logs of `genesis` to which `number` gives a storage number
    /// (`None`: not held), keeping the invariant of [`HeldLogs`].
    fn update(
        &self,
        genesis: &Genesis,
        own: Option<&str>,
        number: impl Fn(&str) -> anyhow::Result<Option<u32>>,
    ) -> anyhow::Result<Changes> {
        let mut fresh = Vec::new();
        for member in genesis.members() {
            let origin = genesis.origin(&member.id)?;
            if let Some(number) = number(&origin)? {
                fresh.push(held(genesis, member, origin, number, own)?);
            }
        }
        let mut changes = Changes::default();
        let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
        for log in fresh {
            let current = index.by_member.get(&log.member).copied();
            match current.and_then(|i| self.entries.get(i)) {
                Some(old) if *old == log => continue,
                Some(old) if old.origin != log.origin || old.number != log.number => {
                    anyhow::bail!(
                        "genesis version {} gives member {} the origin {} (storage {}), but its \
                         log is held as {} (storage {})",
                        genesis.id(),
                        log.member,
                        log.origin,
                        log.number,
                        old.origin,
                        old.number
                    );
                }
                Some(_) => changes.changed.push(log.member.clone()),
                None => changes.added.push(log.member.clone()),
            }
            let (member, origin, number) = (log.member.clone(), log.origin.clone(), log.number);
            let at = self.entries.push(log);
            index.by_member.insert(member, at);
            index.by_origin.insert(origin, at);
            index.by_number.insert(number, at);
        }
        if !changes.added.is_empty() {
            let mut order: Vec<(String, usize)> = index
                .by_member
                .iter()
                .map(|(member, &at)| (member.clone(), at))
                .collect();
            order.sort();
            index.order = order.into_iter().map(|(_, at)| at).collect();
        } else if !changes.changed.is_empty() {
            let Index {
                order, by_member, ..
            } = &mut *index;
            for at in order.iter_mut() {
                if let Some(member) = self.entries.get(*at).map(|l| l.member.as_str())
                    && let Some(&now) = by_member.get(member)
                {
                    *at = now;
                }
            }
        }
        Ok(changes)
    }

    /// A list of the given logs (sorted by member).
    pub fn from_logs(logs: Vec<HeldLog>) -> HeldLogs {
        let held = HeldLogs::default();
        {
            let mut index = held.index.write().unwrap_or_else(|e| e.into_inner());
            let mut logs = logs;
            logs.sort_by(|a, b| a.member.cmp(&b.member));
            for log in logs {
                let (member, origin, number) = (log.member.clone(), log.origin.clone(), log.number);
                let at = held.entries.push(log);
                index.order.push(at);
                index.by_member.insert(member, at);
                index.by_origin.insert(origin, at);
                index.by_number.insert(number, at);
            }
        }
        held
    }

    fn find(&self, lookup: impl FnOnce(&Index) -> Option<usize>) -> Option<&HeldLog> {
        let at = lookup(&self.index.read().unwrap_or_else(|e| e.into_inner()))?;
        self.entries.get(at)
    }

    /// The log whose checkpoints carry `origin`.
    pub fn by_origin(&self, origin: &str) -> Option<&HeldLog> {
        self.find(|index| index.by_origin.get(origin).copied())
    }

    /// The log of member `member`.
    pub fn by_member(&self, member: &str) -> Option<&HeldLog> {
        self.find(|index| index.by_member.get(member).copied())
    }

    /// The log stored under `number`.
    pub fn by_number(&self, number: u32) -> Option<&HeldLog> {
        self.find(|index| index.by_number.get(&number).copied())
    }

    /// The node's own log, if it is a member.
    pub fn own(&self) -> Option<&HeldLog> {
        self.iter().find(|l| l.own)
    }

    /// Every log held now, in member order (a snapshot: logs added later are not in it).
    pub fn iter(&self) -> std::vec::IntoIter<&HeldLog> {
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        let logs: Vec<&HeldLog> = index
            .order
            .iter()
            .filter_map(|&at| self.entries.get(at))
            .collect();
        logs.into_iter()
    }

    /// How many logs are held.
    pub fn len(&self) -> usize {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .order
            .len()
    }

    /// Whether no log is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'a> IntoIterator for &'a HeldLogs {
    type Item = &'a HeldLog;
    type IntoIter = std::vec::IntoIter<&'a HeldLog>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
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
