//! Mirroring: what a member does with the network, one job per submodule.
//!
//! * `gossip` — checkpoint gossip validation and cosignature collection;
//! * `catch_up` — copying other members' logs, verified chunk by chunk, with peer choice
//!   and backoff;
//! * `witnessing` — cosigning verified checkpoints and re-cosigning them;
//! * `evidence` — equivocation evidence: verified, stored, gossiped;
//! * `sync_server` — answering `/daylight/sync/1` requests.
//!
//! Gossiped genesis versions arrive on the same event stream and are handed to
//! `crate::genesis` (verified, stored, applied). Each new connection also asks the peer for
//! its genesis chain (`genesis::gossip::pull`), so a version gossiped before the
//! connection was up is not missed until the next republish.
//!
//! This file holds the [`Replication`] service itself and its event loop ([`Replication::run`]):
//! one task reads the network's events and the node's own new checkpoints and hands each to
//! its job; every task it spawns is tracked by the node's [`Shutdown`].

mod catch_up;
mod evidence;
mod gossip;
mod sync_server;
mod witnessing;

use crate::genesis::LiveGenesis;
use crate::held::HeldLogs;
use crate::network::{Network, NetworkEvent, Topic};
use crate::publish::log_writer::SignedHead;
use crate::shutdown::Shutdown;
use crate::store::Store;
use crate::witness::Witness;
use daylight_verifier::Hash;
use daylight_verifier::checkpoint::SignedCheckpoint;
use daylight_verifier::note::Note;
use libp2p::gossipsub::MessageAcceptance;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

/// The replication service of one node.
pub struct Replication {
    store: Arc<Store>,
    network: Network,
    /// The logs held (shared with request-serving tasks without copying).
    logs: Arc<HeldLogs>,
    witness: Option<Arc<Witness>>,
    /// Origins being synced, with the largest target seen while syncing.
    syncing: Mutex<HashMap<String, Option<SignedCheckpoint>>>,
    /// Entries fetched from peers and stored since start (for `/metrics`).
    fetched: std::sync::atomic::AtomicU64,
    /// The largest checkpoint seen of each mirrored log, until the mirror reaches it; a
    /// catch-up that gave up is started again from here.
    wanted: Mutex<HashMap<String, SignedCheckpoint>>,
    /// Periodic head pulls made (chooses the next peer to ask).
    pulls: std::sync::atomic::AtomicU64,
    /// Hashes of checkpoint notes already handled and found valid. The same note reaches a
    /// node many times (gossip from each peer, head pulls every few seconds); handling it
    /// again would verify every signature again and learn nothing.
    handled_notes: Mutex<std::collections::HashSet<Hash>>,
    /// The node's stop signal: [`Replication::run`] and every task it spawns stop on it.
    shutdown: Shutdown,
    /// The genesis chain, which gossiped versions extend.
    genesis: LiveGenesis,
    /// Checkpoints of unknown origins whose verdict waits for a genesis pull, at most
    /// [`UNKNOWN_ORIGIN_CHECKS`] at once; beyond that they are rejected at once, so a flood of
    /// made-up origins cannot pile up waiting tasks.
    unknown_origin_checks: Arc<tokio::sync::Semaphore>,
}

/// Most checkpoints of unknown origins judged after a genesis pull at once.
const UNKNOWN_ORIGIN_CHECKS: usize = 16;

/// Most note hashes remembered before the set is cleared (it only saves work).
const HANDLED_NOTES_LIMIT: usize = 8192;

/// How often catch-ups that gave up are retried.
pub const SYNC_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a catch-up keeps trying peers that cannot serve it yet before giving up (a later
/// checkpoint or the periodic refresh starts it again).
pub const SYNC_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// How often a witness re-cosigns an unchanged checkpoint, so clients can tell a live log
/// from a stalled one (DESIGN §6a).
pub const COSIGNATURE_REFRESH: std::time::Duration = std::time::Duration::from_secs(60);

/// The checkpoint note of a log with every stored cosignature for it appended.
pub fn with_cosignatures(store: &Store, log: u32, note: &str) -> String {
    let Ok(parsed) = Note::parse(note.as_bytes()) else {
        return note.to_string();
    };
    let Ok(checkpoint) = daylight_verifier::Checkpoint::parse(&parsed.text) else {
        return note.to_string();
    };
    let lines = store
        .cosignatures(log, checkpoint.size, &checkpoint.root)
        .unwrap_or_default();
    let mut out = note.to_string();
    for line in lines {
        if !parsed.signatures.iter().any(|s| s.to_line() == line) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

impl Replication {
    /// The replication service for `logs` (one of which may be the node's own). It stops,
    /// and its tasks with it, when `shutdown` is cancelled.
    pub fn new(
        store: Arc<Store>,
        network: Network,
        logs: Arc<HeldLogs>,
        witness: Option<Arc<Witness>>,
        shutdown: Shutdown,
        genesis: LiveGenesis,
    ) -> Replication {
        Replication {
            store,
            network,
            logs,
            witness,
            syncing: Mutex::new(HashMap::new()),
            fetched: std::sync::atomic::AtomicU64::new(0),
            wanted: Mutex::new(HashMap::new()),
            pulls: std::sync::atomic::AtomicU64::new(0),
            handled_notes: Mutex::new(std::collections::HashSet::new()),
            shutdown,
            genesis,
            unknown_origin_checks: Arc::new(tokio::sync::Semaphore::new(UNKNOWN_ORIGIN_CHECKS)),
        }
    }

    /// Runs `read` (storage work, which may block on the disk) on the blocking pool, never on
    /// an async worker; a task that failed to run is an error like a storage error.
    async fn stored<T: Send + 'static, E: std::fmt::Display + Send + 'static>(
        &self,
        read: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, String> {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || read(&store)).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(e) => Err(format!("the storage task failed: {e}")),
        }
    }

    /// Entries fetched from peers and stored since this node started.
    pub fn entries_fetched(&self) -> u64 {
        self.fetched.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The logs held.
    pub fn logs(&self) -> &HeldLogs {
        &self.logs
    }

    /// Runs until the node's shutdown token is cancelled or the event stream ends: handles
    /// network events and publishes each new checkpoint of the node's own log.
    pub async fn run(
        self: Arc<Self>,
        mut events: mpsc::Receiver<NetworkEvent>,
        mut own_heads: Option<watch::Receiver<SignedHead>>,
    ) {
        let mut refresh = tokio::time::interval(COSIGNATURE_REFRESH);
        refresh.tick().await;
        let mut retry = tokio::time::interval(SYNC_RETRY);
        retry.tick().await;
        loop {
            let own_changed = async {
                match own_heads.as_mut() {
                    Some(heads) => heads.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                _ = refresh.tick() => self.refresh_cosignatures().await,
                _ = retry.tick() => {
                    let this = self.clone();
                    self.shutdown.spawn_until_cancelled(async move {
                        this.clone().retry_wanted().await;
                        this.pull_heads().await
                    });
                }
                event = events.recv() => match event {
                    Some(event) => self.clone().handle(event).await,
                    None => break,
                },
                changed = own_changed => {
                    if !changed {
                        own_heads = None;
                        continue;
                    }
                    if let Some(heads) = &own_heads {
                        let note = heads.borrow().note.to_string();
                        let _ = self.network.publish(Topic::Checkpoints, note.into_bytes()).await;
                    }
                }
            }
        }
    }

    async fn handle(self: Arc<Self>, event: NetworkEvent) {
        match event {
            NetworkEvent::Checkpoint { source, id, data } => {
                let acceptance = match self.checkpoint_seen(&data, Some(source)).await {
                    Ok(()) => MessageAcceptance::Accept,
                    Err(gossip::NotTaken::UnknownOrigin(origin)) => {
                        // Judged once the forwarder was asked for a newer genesis (off this
                        // loop: the verdict may wait for that answer), a bounded number at once.
                        match self.unknown_origin_checks.clone().try_acquire_owned() {
                            Ok(permit) => {
                                let this = self.clone();
                                self.shutdown.spawn_until_cancelled(async move {
                                    let acceptance = this.unknown_origin(source, &origin).await;
                                    let _ = this.network.report(id, source, acceptance).await;
                                    drop(permit);
                                });
                                return;
                            }
                            Err(_) => {
                                tracing::info!(
                                    "rejected checkpoint gossip from {source}: unknown origin \
                                     {origin:?}"
                                );
                                MessageAcceptance::Reject
                            }
                        }
                    }
                    Err(reason) => {
                        tracing::info!("rejected checkpoint gossip from {source}: {reason}");
                        MessageAcceptance::Reject
                    }
                };
                let _ = self.network.report(id, source, acceptance).await;
            }
            NetworkEvent::Evidence { source, id, data } => {
                let acceptance = match self.evidence_seen(&data).await {
                    Ok(()) => MessageAcceptance::Accept,
                    Err(reason) => {
                        tracing::info!("rejected evidence gossip from {source}: {reason}");
                        MessageAcceptance::Reject
                    }
                };
                let _ = self.network.report(id, source, acceptance).await;
            }
            NetworkEvent::Genesis { source, id, data } => {
                let this = self.clone();
                self.shutdown.spawn_until_cancelled(async move {
                    let acceptance = crate::genesis::gossip::received(
                        &this.genesis,
                        &this.network,
                        &this.shutdown,
                        source,
                        data,
                    )
                    .await;
                    let _ = this.network.report(id, source, acceptance).await;
                });
            }
            NetworkEvent::Request {
                peer: _,
                request,
                channel,
            } => {
                let this = self.clone();
                self.shutdown.spawn_until_cancelled(async move {
                    let response = this.answer(request).await;
                    let _ = this.network.respond(channel, response).await;
                });
            }
            NetworkEvent::Connected(peer) => {
                crate::genesis::gossip::pull(&self.genesis, &self.network, &self.shutdown, peer);
                let shutdown = self.shutdown.clone();
                shutdown.spawn_until_cancelled(async move { self.catch_up_from(peer).await });
            }
        }
    }
}
