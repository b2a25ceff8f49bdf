//! Replication: what a member does with the network.
//!
//! * Gossip validation. A checkpoint message must be a note signed by the key the genesis lists
//!   for its origin; anything else is rejected, which lowers the sender's gossipsub score. A
//!   valid checkpoint that conflicts with one already held is accepted and relayed — it is
//!   evidence — and the evidence is built, stored and gossiped.
//! * Cosignature collection. Every verified witness cosignature seen on a checkpoint is stored
//!   and served with that checkpoint, by the publisher and by every mirror.
//! * Mirroring. Every other member's log is copied and verified chunk by chunk: each chunk of
//!   entries comes with a consistency proof from the tree ending with it to the signed target
//!   checkpoint, so only verified entries are ever stored and an interrupted catch-up resumes
//!   where it stopped.
//! * Witnessing. Once a mirror has verified a checkpoint, this node cosigns it (if it is one of
//!   that log's witnesses) and gossips the cosigned note.
//! * Serving `/daylight/sync/1` requests from the logs this node holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use daylight_genesis::Genesis;
use daylight_verifier::checkpoint::SignedCheckpoint;
use daylight_verifier::cosignature;
use daylight_verifier::evidence::Evidence;
use daylight_verifier::merkle::{
    Frontier, leaf_hash, prove_consistency, tree_hash, verify_consistency,
};
use daylight_verifier::note::Note;
use daylight_verifier::policy::LogPolicy;
use daylight_verifier::{Hash, VerifierKey};
use libp2p::PeerId;
use libp2p::gossipsub::MessageAcceptance;
use tokio::sync::{mpsc, watch};

use crate::p2p::protocol::MAX_ENTRIES_PER_REQUEST;
use crate::p2p::{Network, NetworkEvent, SyncRequest, SyncResponse, Topic};
use crate::sequencer::SignedHead;
use crate::shutdown::Shutdown;
use crate::storage::{Batch, NewEntry, Store};
use crate::witness::{AddOutcome, Refusal, Witness};

/// One log of the network, as this node holds it.
#[derive(Clone, Debug)]
pub struct HeldLog {
    /// The member whose log it is.
    pub member: String,
    /// Its storage number.
    pub number: u32,
    /// Its trust policy (log key, witnesses, quorum).
    pub policy: LogPolicy,
    /// The member's peer id, if the genesis gives a valid one.
    pub peer: Option<PeerId>,
}

/// The replication service of one node.
pub struct Replication {
    store: Arc<Store>,
    network: Network,
    /// Logs by origin (shared with request-serving tasks without copying).
    logs: Arc<HashMap<String, HeldLog>>,
    own_origin: Option<String>,
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
}

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
    /// The replication service for the logs of `genesis`, of which `own_origin` (if any) is
    /// this node's own log. It stops, and its tasks with it, when `shutdown` is cancelled.
    pub fn new(
        store: Arc<Store>,
        network: Network,
        genesis: &Genesis,
        own_origin: Option<String>,
        witness: Option<Arc<Witness>>,
        shutdown: Shutdown,
    ) -> anyhow::Result<Replication> {
        let mut logs = HashMap::new();
        for member in genesis.members() {
            let origin = genesis.origin(&member.id)?;
            let number = store.log_number(&origin)?;
            logs.insert(
                origin,
                HeldLog {
                    member: member.id.clone(),
                    number,
                    policy: genesis.policy_for(&member.id)?,
                    peer: member.peer_id.parse().ok(),
                },
            );
        }
        Ok(Replication {
            store,
            network,
            logs: Arc::new(logs),
            own_origin,
            witness,
            syncing: Mutex::new(HashMap::new()),
            fetched: std::sync::atomic::AtomicU64::new(0),
            wanted: Mutex::new(HashMap::new()),
            pulls: std::sync::atomic::AtomicU64::new(0),
            handled_notes: Mutex::new(std::collections::HashSet::new()),
            shutdown,
        })
    }

    /// Entries fetched from peers and stored since this node started.
    pub fn entries_fetched(&self) -> u64 {
        self.fetched.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The logs held, by origin.
    pub fn logs(&self) -> &HashMap<String, HeldLog> {
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
                    self.clone().retry_wanted();
                    let this = self.clone();
                    self.shutdown.spawn_until_cancelled(async move { this.pull_heads().await });
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
                let shutdown = self.shutdown.clone();
                shutdown.spawn_until_cancelled(async move { self.catch_up_from(peer).await });
            }
        }
    }

    /// Restarts the catch-up of every log whose largest seen checkpoint is not yet reached.
    fn retry_wanted(self: Arc<Self>) {
        let wanted: Vec<SignedCheckpoint> = {
            let mut wanted = self.wanted.lock().unwrap_or_else(|e| e.into_inner());
            wanted.retain(|origin, target| {
                let held = self
                    .logs
                    .get(origin)
                    .and_then(|log| self.store.size(log.number).ok())
                    .unwrap_or(0);
                held < target.checkpoint.size
            });
            wanted.values().cloned().collect()
        };
        for target in wanted {
            self.clone().start_sync(target, None);
        }
    }

    /// Asks one connected peer (a different one each time) for the heads of every log and
    /// treats them as if gossiped: gossip reaches peers outside a topic's mesh only lazily,
    /// so this bounds how long any node can miss a checkpoint.
    async fn pull_heads(self: Arc<Self>) {
        let peers = self.network.peers().await.unwrap_or_default();
        if peers.is_empty() {
            return;
        }
        let turn = self
            .pulls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed) as usize;
        let Ok(peer) = peers[turn % peers.len()].peer_id.parse::<PeerId>() else {
            return;
        };
        if let Ok(SyncResponse::Heads(notes)) = self.network.request(peer, SyncRequest::Heads).await
        {
            for note in notes.iter().take(self.logs.len()) {
                let _ = self.checkpoint_seen(note.as_bytes(), Some(peer)).await;
            }
        }
    }

    /// Re-cosigns the latest mirrored checkpoint of every log this node witnesses.
    async fn refresh_cosignatures(&self) {
        for (origin, log) in self.logs.iter() {
            if self.own_origin.as_deref() == Some(origin.as_str()) {
                continue;
            }
            if let Ok(Some((_, note))) = self.store.latest_checkpoint(log.number)
                && let Ok(signed) = SignedCheckpoint::open(note.as_bytes(), log.policy.log_key())
            {
                self.cosign_and_publish(&signed).await;
            }
        }
    }

    /// On a new connection: publish our head, and ask the peer for its latest checkpoint of
    /// every log.
    async fn catch_up_from(self: Arc<Self>, peer: PeerId) {
        if let Some(origin) = &self.own_origin
            && let Some(log) = self.logs.get(origin)
            && let Ok(Some((_, note))) = self.store.latest_checkpoint(log.number)
        {
            let _ = self
                .network
                .publish(Topic::Checkpoints, note.into_bytes())
                .await;
        }
        let origins: Vec<String> = self.logs.keys().cloned().collect();
        for origin in origins {
            let request = SyncRequest::Checkpoint { origin };
            if let Ok(SyncResponse::Checkpoint(Some(note))) =
                self.network.request(peer, request).await
            {
                let _ = self.checkpoint_seen(note.as_bytes(), Some(peer)).await;
            }
        }
    }

    /// A checkpoint note arrived (gossip or answer). Err means it is not a valid checkpoint of
    /// a known log and must be rejected.
    async fn checkpoint_seen(
        self: &Arc<Self>,
        data: &[u8],
        source: Option<PeerId>,
    ) -> Result<(), String> {
        let digest = Hash::digest(data);
        if self
            .handled_notes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&digest)
        {
            return Ok(());
        }
        let outcome = self.handle_checkpoint(data, source).await;
        if outcome.is_ok() {
            let mut handled = self.handled_notes.lock().unwrap_or_else(|e| e.into_inner());
            if handled.len() >= HANDLED_NOTES_LIMIT {
                handled.clear();
            }
            handled.insert(digest);
        }
        outcome
    }

    async fn handle_checkpoint(
        self: &Arc<Self>,
        data: &[u8],
        source: Option<PeerId>,
    ) -> Result<(), String> {
        let note = Note::parse(data).map_err(|e| e.to_string())?;
        let body = daylight_verifier::Checkpoint::parse(&note.text).map_err(|e| e.to_string())?;
        let log = self
            .logs
            .get(&body.origin)
            .ok_or_else(|| format!("unknown origin {:?}", body.origin))?;
        let signed =
            SignedCheckpoint::open(data, log.policy.log_key()).map_err(|e| e.to_string())?;
        let checkpoint = &signed.checkpoint;

        // Collect every valid cosignature by one of this log's witnesses.
        for witness in log.policy.witnesses() {
            for line in note.signatures.iter().filter(|s| s.is_by(witness)) {
                if cosignature::verify(witness, &note.text, line).is_ok() {
                    let _ = self.store.put_cosignature(
                        log.number,
                        checkpoint.size,
                        &checkpoint.root,
                        witness.name(),
                        &line.to_line(),
                    );
                }
            }
        }

        // A different root for a size already held is equivocation. (The held checkpoint's
        // body is compared first; its signature is checked only when building evidence.)
        if let Ok(Some(held)) = self.store.checkpoint_at(log.number, checkpoint.size)
            && !held.starts_with(note.text.as_str())
            && let Ok(held) = SignedCheckpoint::open(held.as_bytes(), log.policy.log_key())
            && held.checkpoint.root != checkpoint.root
        {
            if let Ok(evidence) = Evidence::conflicting_roots(&held, &signed) {
                self.record_evidence(evidence).await;
            }
            return Ok(());
        }

        let is_own = self.own_origin.as_deref() == Some(checkpoint.origin.as_str());
        let held_size = self.store.size(log.number).map_err(|e| e.to_string())?;
        if !is_own && checkpoint.size > held_size {
            self.clone()
                .start_sync(log_signed_only(&signed, log.policy.log_key()), source);
        } else if !is_own && checkpoint.size == held_size && checkpoint.size > 0 {
            // Already mirrored: cosign if not yet done (e.g. after a restart).
            self.cosign_and_publish(&signed).await;
        }
        Ok(())
    }

    fn start_sync(self: Arc<Self>, target: SignedCheckpoint, hint: Option<PeerId>) {
        {
            let mut syncing = self.syncing.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(pending) = syncing.get_mut(&target.checkpoint.origin) {
                let larger = pending
                    .as_ref()
                    .is_none_or(|p| p.checkpoint.size < target.checkpoint.size);
                if larger {
                    *pending = Some(target);
                }
                return;
            }
            syncing.insert(target.checkpoint.origin.clone(), None);
        }
        let shutdown = self.shutdown.clone();
        shutdown.spawn_until_cancelled(async move {
            let origin = target.checkpoint.origin.clone();
            let mut next = Some(target);
            while let Some(target) = next.take() {
                if let Err(e) = self.sync(&target, hint).await {
                    tracing::warn!("sync of {origin} to {}: {e}", target.checkpoint.size);
                }
                let mut syncing = self.syncing.lock().unwrap_or_else(|e| e.into_inner());
                match syncing.get_mut(&origin).and_then(Option::take) {
                    Some(more) => next = Some(more),
                    None => {
                        syncing.remove(&origin);
                    }
                }
            }
        });
    }

    /// Brings the mirror of `target`'s log up to `target`, verifying every chunk.
    async fn sync(
        self: &Arc<Self>,
        target: &SignedCheckpoint,
        hint: Option<PeerId>,
    ) -> anyhow::Result<()> {
        let origin = &target.checkpoint.origin;
        let log = self.logs[origin].clone();
        let goal = target.checkpoint.size;
        let mut size = self.store.size(log.number)?;
        if size >= goal {
            return Ok(());
        }
        let mut frontier = Frontier::load(size, &self.store.hash_reader(log.number))?;
        // Ask the log's own node and the peer that told us first; then every connected peer.
        // A peer may not have caught up yet itself, so rounds without progress back off and
        // retry until a deadline, instead of giving up at the first refusal.
        let mut peers: Vec<PeerId> = log.peer.into_iter().chain(hint).collect();
        let mut attempt = 0usize;
        let mut pause = std::time::Duration::from_millis(50);
        let deadline = tokio::time::Instant::now() + SYNC_PATIENCE;
        while size < goal {
            if attempt.is_multiple_of(peers.len().max(1)) {
                for p in self.network.peers().await.unwrap_or_default() {
                    if let Ok(peer) = p.peer_id.parse::<PeerId>()
                        && !peers.contains(&peer)
                    {
                        peers.push(peer);
                    }
                }
                if attempt > 0 {
                    anyhow::ensure!(
                        tokio::time::Instant::now() < deadline,
                        "no peer served verifiable entries of {origin} in {SYNC_PATIENCE:?}"
                    );
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(2));
                }
            }
            let Some(&peer) = peers.get(attempt % peers.len().max(1)) else {
                anyhow::bail!("no peer to sync {origin} from");
            };
            attempt += 1;
            let request = SyncRequest::Entries {
                origin: origin.clone(),
                start: size,
                count: (goal - size).min(MAX_ENTRIES_PER_REQUEST),
                prove_to: goal,
            };
            let verified = match self.network.request(peer, request).await {
                Ok(SyncResponse::Entries { entries, proof }) => {
                    verify_chunk(&frontier, size, entries, &proof, target)
                }
                Ok(other) => Err(format!("unexpected answer {other:?}")),
                Err(e) => Err(e.to_string()),
            };
            let (entries, chunk_frontier, hashes) = match verified {
                Ok(chunk) => chunk,
                Err(reason) => {
                    tracing::debug!("sync {origin} from {peer}: {reason}");
                    continue;
                }
            };
            attempt = 0;
            pause = std::time::Duration::from_millis(50);
            let new_size = chunk_frontier.size();
            let batch = Batch {
                log: log.number,
                start: size,
                entries,
                hashes,
                checkpoint: (new_size == goal).then(|| target.note.to_text()),
                mirrored: true,
            };
            // The commit fsyncs: off the async workers.
            let store = self.store.clone();
            let owner = origin.clone();
            tokio::task::spawn_blocking(move || store.commit_batch(&batch, &owner)).await??;
            self.fetched
                .fetch_add(new_size - size, std::sync::atomic::Ordering::Relaxed);
            frontier = chunk_frontier;
            size = new_size;
        }
        self.cosign_and_publish(target).await;
        Ok(())
    }

    /// Cosigns a mirrored, verified checkpoint (if this node witnesses that log) and gossips
    /// the cosigned note.
    async fn cosign_and_publish(&self, signed: &SignedCheckpoint) {
        let Some(witness) = &self.witness else { return };
        let log = &self.logs[&signed.checkpoint.origin];
        let me = witness.verifier();
        if !log.policy.witnesses().contains(&me) {
            return;
        }
        // Cosigning swaps the witness state durably (an fsync): off the async workers.
        let (store, number, target) = (self.store.clone(), log.number, signed.clone());
        let (witness, name) = (witness.clone(), me.name().to_string());
        let cosigned = tokio::task::spawn_blocking(move || {
            let cosigned = witness.cosign_mirrored(&target, &store.hash_reader(number));
            if let Ok(line) = &cosigned {
                let checkpoint = &target.checkpoint;
                let _ = store.put_cosignature(
                    number,
                    checkpoint.size,
                    &checkpoint.root,
                    &name,
                    &line.to_line(),
                );
            }
            cosigned
        })
        .await;
        let Ok(cosigned) = cosigned else {
            tracing::error!("witness: the cosigning task failed");
            return;
        };
        match cosigned {
            Ok(line) => {
                let mut note = log_signed_only(signed, log.policy.log_key()).note;
                note.signatures.push(line);
                let _ = self
                    .network
                    .publish(Topic::Checkpoints, note.to_text().into_bytes())
                    .await;
            }
            Err(Refusal::Evidence(evidence)) => self.record_evidence(*evidence).await,
            Err(Refusal::Stale | Refusal::Equivocating) => {}
            Err(Refusal::Storage(e)) => tracing::error!("witness: {e}"),
        }
    }

    /// Stores new evidence, stops cosigning the log, and gossips it.
    pub async fn record_evidence(&self, evidence: Evidence) {
        let id = evidence.id().to_hex();
        let json = evidence.to_json();
        let (store, origin, key, document) = (
            self.store.clone(),
            evidence.origin.clone(),
            id.clone(),
            json.clone(),
        );
        let stored =
            tokio::task::spawn_blocking(move || store.put_evidence(&origin, &key, &document)).await;
        let Ok(stored) = stored else {
            tracing::error!("storing evidence {id}: the storage task failed");
            return;
        };
        match stored {
            Ok(true) => {
                tracing::warn!("evidence {id}: log {} equivocated", evidence.origin);
                let _ = self
                    .network
                    .publish(Topic::Evidence, json.into_bytes())
                    .await;
            }
            Ok(false) => {}
            Err(e) => tracing::error!("storing evidence: {e}"),
        }
    }

    async fn evidence_seen(&self, data: &[u8]) -> Result<(), String> {
        let evidence = Evidence::from_json(data).map_err(|e| e.to_string())?;
        let log = self
            .logs
            .get(&evidence.origin)
            .ok_or_else(|| format!("unknown origin {:?}", evidence.origin))?;
        evidence
            .verify(log.policy.log_key())
            .map_err(|e| e.to_string())?;
        self.record_evidence(evidence).await;
        Ok(())
    }

    /// Answers a `/daylight/sync/1` request.
    async fn answer(&self, request: SyncRequest) -> SyncResponse {
        let store = self.store.clone();
        let logs = self.logs.clone();
        let witness = self.witness.clone();
        let answer =
            tokio::task::spawn_blocking(move || serve(&store, &logs, witness.as_deref(), request))
                .await
                .unwrap_or_else(|e| (SyncResponse::Refused(e.to_string()), None));
        if let (_, Some(evidence)) = &answer {
            self.record_evidence((**evidence).clone()).await;
        }
        answer.0
    }
}

/// The note with only the log's own signature (cosignatures are stored separately).
fn log_signed_only(signed: &SignedCheckpoint, log_key: &VerifierKey) -> SignedCheckpoint {
    let mut signed = signed.clone();
    signed.note.signatures.retain(|s| s.is_by(log_key));
    signed
}

type Chunk = (
    Vec<NewEntry>,
    Frontier,
    Vec<(daylight_verifier::merkle::NodeId, Hash)>,
);

/// The fields of a mirrored entry that the node indexes: its rid, and the record it corrects
/// or voids. Everything else is ignored; the publisher checked the record, and a mirror must
/// copy whatever the signed log holds, so an entry that is not a record is stored unindexed.
#[derive(serde::Deserialize)]
struct IndexedFields {
    rid: Option<String>,
    corrects: Option<PinnedVersion>,
    voids: Option<PinnedVersion>,
}

#[derive(serde::Deserialize)]
struct PinnedVersion {
    rid: String,
    leaf: String,
}

/// A mirrored entry with its rid and amendment indexed, so `/v1/records/<rid>` and leaf
/// lookups work for every held log.
fn mirrored_entry(bytes: Vec<u8>) -> NewEntry {
    let fields: Option<IndexedFields> = serde_json::from_slice(&bytes).ok();
    let mut entry = NewEntry::plain(bytes, None);
    let Some(fields) = fields else { return entry };
    let amendment = |pin: PinnedVersion, void: bool| {
        Some(crate::storage::Amendment {
            target: pin.rid,
            pinned: Hash::from_hex(&pin.leaf).ok()?,
            void,
        })
    };
    entry.amends = match (fields.corrects, fields.voids) {
        (Some(pin), None) => amendment(pin, false),
        (None, Some(pin)) => amendment(pin, true),
        _ => None,
    };
    entry.rid = fields.rid;
    entry
}

/// Checks a chunk of entries against the target checkpoint: appended to our tree, the tree
/// that ends with them must be a prefix of the signed one.
fn verify_chunk(
    frontier: &Frontier,
    start: u64,
    entries: Vec<serde_bytes::ByteBuf>,
    proof: &[[u8; 32]],
    target: &SignedCheckpoint,
) -> Result<Chunk, String> {
    let goal = target.checkpoint.size;
    if entries.is_empty() || start + entries.len() as u64 > goal {
        return Err(format!(
            "{} entries do not fit below size {goal}",
            entries.len()
        ));
    }
    let mut next = frontier.clone();
    let mut hashes = Vec::with_capacity(entries.len() * 2);
    let entries: Vec<NewEntry> = entries
        .into_iter()
        .map(|bytes| {
            let entry = mirrored_entry(bytes.into_vec());
            next.append(leaf_hash(&entry.bytes), &mut hashes);
            entry
        })
        .collect();
    let proof: Vec<Hash> = proof.iter().map(|h| Hash(*h)).collect();
    let root = next.root();
    if next.size() == goal {
        if root != target.checkpoint.root || !proof.is_empty() {
            return Err("entries do not hash to the signed root".into());
        }
    } else {
        verify_consistency(next.size(), goal, &root, &target.checkpoint.root, &proof)
            .map_err(|e| format!("chunk is not a prefix of the signed tree: {e}"))?;
    }
    Ok((entries, next, hashes))
}

/// Serves one request from storage; returns evidence when an add-checkpoint revealed some.
fn serve(
    store: &Store,
    logs: &HashMap<String, HeldLog>,
    witness: Option<&Witness>,
    request: SyncRequest,
) -> (SyncResponse, Option<Box<Evidence>>) {
    let refused = |why: String| (SyncResponse::Refused(why), None);
    let held = |origin: &str| logs.get(origin).map(|l| l.number);
    match request {
        SyncRequest::Checkpoint { origin } => {
            let Some(log) = held(&origin) else {
                return (SyncResponse::Checkpoint(None), None);
            };
            let note = store
                .latest_checkpoint(log)
                .ok()
                .flatten()
                .map(|(_, note)| with_cosignatures(store, log, &note));
            (SyncResponse::Checkpoint(note), None)
        }
        SyncRequest::Heads => {
            let notes = logs
                .values()
                .filter_map(|log| {
                    let (_, note) = store.latest_checkpoint(log.number).ok().flatten()?;
                    Some(with_cosignatures(store, log.number, &note))
                })
                .collect();
            (SyncResponse::Heads(notes), None)
        }
        SyncRequest::Entries {
            origin,
            start,
            count,
            prove_to,
        } => {
            let Some(log) = held(&origin) else {
                return refused(format!("this node does not hold {origin}"));
            };
            let size = store.size(log).unwrap_or(0);
            if prove_to > size || start >= prove_to {
                return refused(format!("need start < prove_to <= {size}"));
            }
            let end = start
                + count
                    .clamp(1, MAX_ENTRIES_PER_REQUEST)
                    .min(prove_to - start);
            let entries = match store.entries(log, start..end) {
                Ok(e) => e,
                Err(e) => return refused(e.to_string()),
            };
            let proof = if end == prove_to {
                Vec::new()
            } else {
                match prove_consistency(end, prove_to, &store.hash_reader(log)) {
                    Ok(p) => p,
                    Err(e) => return refused(e.to_string()),
                }
            };
            (
                SyncResponse::Entries {
                    entries: entries
                        .into_iter()
                        .map(serde_bytes::ByteBuf::from)
                        .collect(),
                    proof: proof.into_iter().map(|h| h.0).collect(),
                },
                None,
            )
        }
        SyncRequest::Consistency { origin, old, new } => {
            let Some(log) = held(&origin) else {
                return refused(format!("this node does not hold {origin}"));
            };
            let reader = store.hash_reader(log);
            let size = store.size(log).unwrap_or(0);
            if new > size {
                return refused(format!("this node holds {size} entries of {origin}"));
            }
            match (
                tree_hash(old, &reader),
                prove_consistency(old, new, &reader),
            ) {
                (Ok(root), Ok(proof)) => (
                    SyncResponse::Consistency {
                        old_root: root.0,
                        proof: proof.into_iter().map(|h| h.0).collect(),
                    },
                    None,
                ),
                (Err(e), _) | (_, Err(e)) => refused(e.to_string()),
            }
        }
        SyncRequest::AddCheckpoint {
            old,
            proof,
            checkpoint,
        } => {
            let Some(witness) = witness else {
                return refused("this node is not a witness".into());
            };
            let proof: Vec<Hash> = proof.into_iter().map(Hash).collect();
            match witness.add_checkpoint(old, &proof, checkpoint.as_bytes()) {
                AddOutcome::Cosigned(lines) => (
                    SyncResponse::Cosigned(lines.iter().map(|l| l.to_line()).collect()),
                    None,
                ),
                AddOutcome::Conflict { latest, evidence } => {
                    (SyncResponse::Conflict(latest), evidence)
                }
                other => refused(format!("{other:?}")),
            }
        }
    }
}
