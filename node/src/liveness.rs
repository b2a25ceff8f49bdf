//! Liveness warnings (issue 14): a node that cannot reach anyone, or whose own checkpoints go
//! uncosigned, still serves what it holds, but its operator must hear about it and learn the
//! likely cause. Every few seconds this task looks at two things:
//!
//! * **isolated** — no peer connected for [`LivenessLimits::peer`] (30 s by default): the
//!   addresses in the genesis are wrong or unreachable, or this node does not listen where the
//!   genesis says;
//! * **quorum missing** — the node's own latest checkpoint has had fewer cosignatures from its
//!   witnesses than the quorum for [`LivenessLimits::quorum`] (60 s by default), naming each
//!   witness still missing and when it was last heard from.
//!
//! Each is raised as a [`Warning`] in [`Health`] (a log line the first time; `/healthz` and
//! `/v1/network` show it) and cleared when it is over.

use std::sync::Arc;
use std::time::{Duration, Instant};

use daylight_verifier::Hash;

use crate::health::{Health, Warning};
use crate::held::HeldLogs;
use crate::network::Network;
use crate::shutdown::Shutdown;
use crate::store::Store;

/// How often the watcher looks.
const LOOK_EVERY: Duration = Duration::from_secs(2);

/// How long a condition must last before it is a warning.
#[derive(Clone, Copy, Debug)]
pub struct LivenessLimits {
    /// With no peer connected.
    pub peer: Duration,
    /// With the own latest checkpoint short of its quorum.
    pub quorum: Duration,
}

impl Default for LivenessLimits {
    fn default() -> Self {
        LivenessLimits {
            peer: Duration::from_secs(30),
            quorum: Duration::from_secs(60),
        }
    }
}

/// The watcher's inputs.
pub struct Liveness {
    /// The node's network handle (peers, members last heard from).
    pub network: Network,
    /// The database (stored cosignatures).
    pub store: Arc<Store>,
    /// The logs held; the own one is watched for its quorum.
    pub logs: Arc<HeldLogs>,
    /// The genesis chain; the newest version says which member each witness key belongs to.
    pub genesis: crate::genesis::LiveGenesis,
    /// Where warnings are raised.
    pub health: Arc<Health>,
    /// When conditions become warnings.
    pub limits: LivenessLimits,
}

impl Liveness {
    /// Watches until `stop` is cancelled.
    pub async fn run(self, stop: Shutdown) {
        let started = Instant::now();
        let mut last_peer = started;
        // The own checkpoint being waited on (size, root) and since when.
        let mut waiting: Option<((u64, Hash), Instant)> = None;
        let mut ticker = tokio::time::interval(LOOK_EVERY);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let peers = self.network.peers().await.unwrap_or_default();
            if peers.is_empty() {
                let alone = last_peer.elapsed();
                if alone >= self.limits.peer {
                    self.health.warn(Warning::Isolated, isolated(alone));
                }
            } else {
                last_peer = Instant::now();
                self.health.clear_warning(Warning::Isolated);
            }
            let Some(own) = self.logs.own() else { continue };
            let (number, policy) = (own.number, own.policy.clone());
            let store = self.store.clone();
            let head = tokio::task::spawn_blocking(move || {
                let (_, note) = store.latest_checkpoint(number).ok()??;
                let signed = policy.open(note.as_bytes()).ok()?;
                let c = &signed.checkpoint;
                let lines = store.cosignatures(number, c.size, &c.root).ok()?;
                Some(((c.size, c.root), lines))
            })
            .await
            .ok()
            .flatten();
            let Some((head, lines)) = head else { continue };
            let missing = self.missing_witnesses(&own.policy, &lines);
            let quorum = own.policy.quorum();
            let have = own.policy.witnesses().len() - missing.len();
            if have >= quorum {
                waiting = None;
                self.health.clear_warning(Warning::QuorumMissing);
                continue;
            }
            let since = match waiting {
                Some((seen, since)) if seen == head => since,
                _ => {
                    waiting = Some((head, Instant::now()));
                    Instant::now()
                }
            };
            if since.elapsed() >= self.limits.quorum {
                let links = self.network.members().await.unwrap_or_default();
                let named: Vec<String> = missing
                    .iter()
                    .map(|member| {
                        let heard = self
                            .genesis
                            .latest()
                            .member(member)
                            .and_then(|m| links.iter().find(|l| l.peer_id == m.peer_id))
                            .and_then(|l| l.last_seen.clone());
                        match heard {
                            Some(at) => format!("{member} (last heard {at})"),
                            None => format!("{member} (not heard since this node started)"),
                        }
                    })
                    .collect();
                self.health.warn(
                    Warning::QuorumMissing,
                    format!(
                        "this node's checkpoint of size {} has {have} of the {quorum} \
                         cosignatures it needs after {} s; no cosignature yet from {}: check \
                         that those witnesses' nodes run and can reach this one",
                        head.0,
                        since.elapsed().as_secs(),
                        named.join(", ")
                    ),
                );
            }
        }
    }

    /// The member ids of the witnesses in `policy` with no valid line among `lines`.
    fn missing_witnesses(
        &self,
        policy: &daylight_verifier::policy::LogPolicy,
        lines: &[String],
    ) -> Vec<String> {
        policy
            .witnesses()
            .iter()
            .filter(|w| {
                let prefix = format!("— {} ", w.name());
                !lines.iter().any(|l| l.starts_with(&prefix))
            })
            .map(|w| {
                self.genesis
                    .latest()
                    .members()
                    .iter()
                    .find(|m| &m.witness_key == w)
                    .map_or_else(|| w.name().to_string(), |m| m.id.clone())
            })
            .collect()
    }
}

/// The isolated warning, with the likely causes.
fn isolated(alone: Duration) -> String {
    format!(
        "no peer has been connected for {} s: this node cannot mirror, witness or be \
         witnessed. Check that it listens where the genesis says (p2p_listen in node.toml), \
         that the other members' addresses in the genesis are right and reachable from here, \
         and that no firewall blocks them",
        alone.as_secs()
    )
}
