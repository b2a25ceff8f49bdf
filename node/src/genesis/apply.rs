//! What a new genesis version changes in a running node, applied by one task, the
//! [`Follower`], each time the chain grows:
//!
//! * a new member's log is registered and held ([`HeldLogs::register_more`]): from then on its
//!   checkpoints are accepted from gossip, mirrored and served; a changed policy (rotated log
//!   or witness key, witness set, quorum) replaces the log's entry; a retired member's log
//!   stays held and served;
//! * the witness learns the current log keys, so it cosigns new members' logs and checks
//!   rotated logs with their new key;
//! * submissions are checked against the newest accepted keys (a revoked operator key is
//!   refused from then on);
//! * the swarm is told the members to keep connected to, so a new member is dialled.
//!
//! The auditor and the liveness watcher read the newest version themselves at each pass.

use std::collections::HashMap;
use std::sync::Arc;

use daylight_genesis::Genesis;
use daylight_verifier::VerifierKey;
use libp2p::{Multiaddr, PeerId};

use super::{Chain, LiveGenesis};
use crate::health::{Health, Warning};
use crate::held::{Changes, HeldLogs};
use crate::network::Network;
use crate::publish::submit::Submitter;
use crate::shutdown::Shutdown;
use crate::store::Store;
use crate::witness::Witness;

/// The members' peer ids and addresses listed in `genesis` (invalid ones are skipped).
pub fn member_addresses(genesis: &Genesis) -> Vec<(PeerId, Vec<Multiaddr>)> {
    genesis
        .members()
        .iter()
        .filter_map(|m| {
            let peer = m.peer_id.parse().ok()?;
            let addresses = m.addresses.iter().filter_map(|a| a.parse().ok()).collect();
            Some((peer, addresses))
        })
        .collect()
}

/// Every log's origin and current log key in `genesis`, for the witness.
pub fn log_keys(genesis: &Genesis) -> anyhow::Result<HashMap<String, VerifierKey>> {
    genesis
        .members()
        .iter()
        .map(|m| {
            Ok((
                genesis.origin(&m.id)?,
                genesis.policy_for(&m.id)?.log_key().clone(),
            ))
        })
        .collect()
}

/// Applies each new genesis version to the running node (see the module doc).
pub struct Follower {
    /// The chain followed.
    pub live: LiveGenesis,
    /// The database (new logs get a storage number).
    pub store: Arc<Store>,
    /// The logs held.
    pub logs: Arc<HeldLogs>,
    /// The node's member id; `None` on an observer.
    pub own: Option<String>,
    /// The swarm.
    pub network: Network,
    /// The node's witness, on a member.
    pub witness: Option<Arc<Witness>>,
    /// The submission checks of the node's own log, on a member.
    pub submitter: Option<Submitter>,
    /// The keys this member node runs with, compared with each new version; `None` on an
    /// observer.
    pub running: Option<RunningKeys>,
    /// Where a version that rotated one of those keys is reported.
    pub health: Arc<Health>,
}

/// The keys a member node runs with: a version that names others for the member means the
/// node must be stopped and given the new keys, which it cannot do by itself (the private
/// halves are the operator's).
#[derive(Clone, Debug)]
pub struct RunningKeys {
    /// The log key the sequencer signs with.
    pub log_key: VerifierKey,
    /// The witness key the node cosigns with.
    pub witness_key: VerifierKey,
    /// The node's libp2p identity.
    pub peer_id: PeerId,
}

impl RunningKeys {
    /// The keys `latest` lists for `member` that differ from the running ones, in words; empty
    /// when every key is current.
    pub fn superseded_in(&self, latest: &Genesis, member: &str) -> Vec<String> {
        let Some(listed) = latest.member(member) else {
            return Vec::new();
        };
        let mut stale = Vec::new();
        if listed.log_key != self.log_key {
            stale.push(format!("log key (now {})", listed.log_key));
        }
        if listed.witness_key != self.witness_key {
            stale.push(format!("witness key (now {})", listed.witness_key));
        }
        if listed.peer_id != self.peer_id.to_string() {
            stale.push(format!("p2p identity (now peer id {})", listed.peer_id));
        }
        stale
    }
}

impl Follower {
    /// Applies every new version until `stop` is cancelled. A version that cannot be applied
    /// (a storage failure while registering a log) is logged and tried again with the next.
    pub async fn run(self, stop: Shutdown) {
        let mut changes = self.live.subscribe();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                changed = changes.changed() => if changed.is_err() { return },
            }
            let chain = changes.borrow_and_update().clone();
            match self.apply(&chain).await {
                Ok(done) => tracing::info!(
                    "applied genesis version {} ({}): logs added {:?}, changed {:?}",
                    chain.sequence(),
                    chain.latest().id(),
                    done.added,
                    done.changed
                ),
                Err(e) => tracing::error!(
                    "cannot apply genesis version {}: {e:#}; it is stored and will be applied \
                     at the next version or restart",
                    chain.sequence()
                ),
            }
        }
    }

    /// Applies the newest version of `chain`; returns which logs it added or changed.
    pub async fn apply(&self, chain: &Chain) -> anyhow::Result<Changes> {
        let latest = chain.latest_shared();
        let (store, logs, own, version) = (
            self.store.clone(),
            self.logs.clone(),
            self.own.clone(),
            latest.clone(),
        );
        let changes = tokio::task::spawn_blocking(move || {
            logs.register_more(&version, &store, own.as_deref())
        })
        .await??;
        if let Some(witness) = &self.witness {
            witness.set_log_keys(log_keys(&latest)?);
        }
        if let (Some(submitter), Some(own)) = (&self.submitter, &self.own) {
            submitter.set_keys(latest.accepted_keys(own)?);
        }
        // The node's own entry is left out: after a rotation of its p2p identity it would
        // name a peer id this node does not have until it restarts with the new key.
        let own_peer = self
            .own
            .as_deref()
            .and_then(|own| latest.member(own))
            .and_then(|m| m.peer_id.parse::<PeerId>().ok());
        let members = member_addresses(&latest)
            .into_iter()
            .filter(|(peer, _)| Some(peer) != own_peer.as_ref())
            .collect();
        self.network.set_members(members).await?;
        self.report_rotated_keys(&latest);
        Ok(changes)
    }
}

impl Follower {
    /// Warns (log line, `/healthz`, `/v1/network`) while the newest version names keys for
    /// this member other than the running ones, and clears the warning once they match.
    fn report_rotated_keys(&self, latest: &Genesis) {
        let (Some(running), Some(own)) = (&self.running, &self.own) else {
            return;
        };
        let stale = running.superseded_in(latest, own);
        if stale.is_empty() {
            self.health.clear_warning(Warning::KeysRotated);
            return;
        }
        self.health.warn(
            Warning::KeysRotated,
            format!(
                "genesis version {} rotated this node's {}; it keeps running with the old \
                 keys, which stop counting at the version's effective points: stop the node \
                 and install the new keys with `daylight-node rotate-key`",
                latest.sequence(),
                stale.join(", ")
            ),
        );
    }
}
