//! Starting and stopping a node: the pieces wired together, with graceful shutdown.
//!
//! A *member* node runs its own log (sequencer and submissions), witnesses the others, mirrors
//! every log and serves them all. An *observer* (no member in its configuration) only mirrors,
//! verifies and serves every log, read-only.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use daylight_genesis::Role;

use crate::auditor::{Auditor, FindingPublisher};
use crate::config::{Loaded, MemberKeys};
use crate::genesis::{
    ChainFile, Follower, LiveGenesis, RunningKeys, genesis_topic, member_addresses,
};
use crate::health::Health;
use crate::held::HeldLogs;
use crate::http::{AppState, Metrics, Publisher, router};
use crate::integrity::Integrity;
use crate::mirror::Replication;
use crate::network::{MAX_GOSSIP_BYTES, Network, NetworkConfig};
use crate::publish::log_writer::LogWriter;
use crate::publish::sequencer::Sequencer;
use crate::publish::submit::Submitter;
use crate::shutdown::{Shutdown, join_within};
use crate::store::Store;
use crate::witness::Witness;

/// Name of the database file in the data directory.
pub const DATABASE_FILE: &str = "node.redb";

/// How a data directory of an observer is marked.
const OBSERVER: &str = "(observer)";

/// How long the auditor, the scrub, the static publisher and then the network, replication and
/// their tasks each get to stop before shutdown goes on without them (with a warning). The HTTP
/// server bounds its own stop (crate::serve).
const STOP_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// A running node.
pub struct RunningNode {
    /// The address the HTTP API listens on.
    pub http_addr: SocketAddr,
    /// The libp2p addresses it listens on (with `/p2p/<peer id>`).
    pub p2p_addresses: Vec<libp2p::Multiaddr>,
    network: Network,
    /// The root of the node's stop signal, with every tracked task: cancelled third, for the
    /// network and replication (see crate::shutdown for the order).
    shutdown: Shutdown,
    /// The HTTP server's stop signal (a child of `shutdown`), cancelled first.
    stop_http: Shutdown,
    /// The stop signal of the auditor, the scrub and the static copy (a child of `shutdown`),
    /// cancelled second.
    stop_services: Shutdown,
    replication: tokio::task::JoinHandle<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    sequencer: Option<Sequencer>,
    store: Arc<Store>,
    auditor: Option<tokio::task::JoinHandle<()>>,
    scrub: tokio::task::JoinHandle<()>,
    /// The static copy (`[publish]`), when configured.
    static_copy: Option<tokio::task::JoinHandle<()>>,
    integrity: Arc<Integrity>,
    /// The query index (a stand-in answering 503 when it could not be opened).
    query: Arc<crate::query::QueryIndex>,
}

/// Opens storage (checking it belongs to this member and matches its last checkpoint), starts
/// the network, replication, the member's sequencer and witness, and the HTTP server.
pub async fn start(loaded: Loaded) -> anyhow::Result<RunningNode> {
    let Loaded {
        config,
        chain,
        member,
        p2p_key,
    } = loaded;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let db_path = config.data_dir.join(DATABASE_FILE);
    let store = Arc::new(
        Store::open(&db_path).with_context(|| format!("cannot open {}", db_path.display()))?,
    );
    let health = Arc::new(Health::default());
    let me = member.as_ref().map_or(OBSERVER, |m| m.id.as_str());
    // The data directory belongs to the network (version 1's id), whatever version it runs.
    claim_data_dir(&store, me, chain.network_id())?;
    // The chain the node runs is stored before anything depends on it.
    let chain_file = ChainFile::in_dir(&config.data_dir);
    chain_file.store_if_newer(&chain)?;
    let live = LiveGenesis::new(chain, Some(chain_file));
    let genesis = live.latest();
    let own_id = member.as_ref().map(|m| m.id.clone());
    let logs = Arc::new(HeldLogs::register(&genesis, &store, own_id.as_deref())?);

    let mut operator = None;
    let (publisher, witness_key) = match member {
        Some(MemberKeys {
            id,
            log_key,
            witness_key,
            operator_key,
        }) => {
            operator = operator_key;
            let own = logs
                .own()
                .ok_or_else(|| anyhow::anyhow!("member {id} is not in the genesis"))?;
            if own.log_key() != &log_key.verifier() {
                anyhow::bail!(
                    "the log key in the configuration is not the one the genesis lists for \
                     {id}; use the key made with the genesis"
                );
            }
            let origin = own.origin.clone();
            // Hashes damaged while the node was stopped are rewritten from the entries before
            // the writer checks the tree against its last checkpoint.
            crate::integrity::repair_locally(&store, own).map_err(|e| {
                anyhow::anyhow!("refusing to start: {e}; restore the database from a backup")
            })?;
            let running_key = log_key.verifier();
            // After a log-key rotation the last checkpoint is the rotation point, signed by
            // the earlier key: the writer checks it with the log's whole policy.
            let writer =
                LogWriter::open_with_policy(store.clone(), &origin, log_key, own.policy.clone())?;
            let publisher = Publisher {
                sequencer: Sequencer::start(writer, config.max_batch, health.clone()),
                submitter: Submitter::from_genesis(&genesis, &id)?,
                origin,
                member: id,
                log_key: running_key,
            };
            (Some(publisher), Some(witness_key))
        }
        None => (None, None),
    };

    // One stop signal for every long-running task, with a child per stage that stops before
    // the others (crate::shutdown).
    let shutdown = Shutdown::new();
    let stop_http = shutdown.child();
    let stop_services = shutdown.child();
    let (network, events) = Network::start_tracked(
        NetworkConfig {
            keypair: p2p_key,
            listen: config.p2p_listen.parse().with_context(|| {
                format!("p2p_listen {:?} is not a multiaddr", config.p2p_listen)
            })?,
            bootstrap: config
                .bootstrap
                .iter()
                .map(|a| {
                    a.parse()
                        .with_context(|| format!("bootstrap address {a:?} is not a multiaddr"))
                })
                .collect::<anyhow::Result<_>>()?,
            members: member_addresses(&genesis),
            checkpoint_topic: daylight_genesis::names::checkpoint_topic(live.network_id()),
            evidence_topic: daylight_genesis::names::evidence_topic(live.network_id()),
            max_message_bytes: MAX_GOSSIP_BYTES,
        },
        &shutdown,
    )
    .await?;
    network
        .join_genesis_topic(genesis_topic(live.network_id()))
        .await?;

    let witness = match witness_key {
        Some(key) => {
            let log_keys = crate::genesis::log_keys(&genesis)?;
            Some(Arc::new(Witness::new(store.clone(), key, log_keys)))
        }
        None => None,
    };
    let replication = Arc::new(Replication::new(
        store.clone(),
        network.clone(),
        logs.clone(),
        witness.clone(),
        shutdown.clone(),
        live.clone(),
    ));
    // Each later genesis version is applied while the node runs (crate::genesis).
    let follower = Follower {
        live: live.clone(),
        store: store.clone(),
        logs: logs.clone(),
        own: own_id.clone(),
        network: network.clone(),
        witness: witness.clone(),
        submitter: publisher.as_ref().map(|p| p.submitter.clone()),
        running: match (&publisher, &witness) {
            (Some(p), Some(w)) => Some(RunningKeys {
                log_key: p.log_key.clone(),
                witness_key: w.verifier(),
                peer_id: network.local_peer,
            }),
            _ => None,
        },
        health: health.clone(),
    };
    drop(shutdown.spawn(follower.run(shutdown.clone())));
    drop(shutdown.spawn(crate::genesis::gossip::republish(
        live.clone(),
        network.clone(),
        shutdown.clone(),
    )));
    let integrity = Arc::new(Integrity::new(
        store.clone(),
        health.clone(),
        logs.clone(),
        Some(network.clone()),
    ));
    let scrub = stop_services.spawn(
        integrity
            .clone()
            .run(config.scrub_pace(), stop_services.clone()),
    );
    let static_copy = match &config.publish {
        Some(publish) => {
            let publisher = crate::static_copy::StaticPublisher::new(
                store.clone(),
                integrity.clone(),
                publish.targets()?,
                logs.iter().cloned().collect(),
            )
            .following(logs.clone());
            Some(stop_services.spawn(publisher.run(publish.interval(), stop_services.clone())))
        }
        None => None,
    };
    let auditor = match &publisher {
        Some(p) if genesis.member(&p.member).map(|m| m.role) == Some(Role::Auditor) => {
            let settle = std::time::Duration::from_secs(config.audit_settle_seconds);
            let auditor = Arc::new(start_auditor(&store, &live, &logs, p, operator, settle)?);
            let task = stop_services.spawn(auditor.clone().run(stop_services.clone()));
            Some((auditor, task))
        }
        _ => None,
    };
    // Warnings when the node is cut off or its checkpoints go uncosigned (tracked; stops
    // with the other services).
    let liveness = crate::liveness::Liveness {
        network: network.clone(),
        store: store.clone(),
        logs: logs.clone(),
        genesis: live.clone(),
        health: health.clone(),
        limits: config.liveness_limits(),
    };
    drop(stop_services.spawn(liveness.run(stop_services.clone())));
    let own_heads = publisher.as_ref().map(|p| p.sequencer.watch_checkpoints());
    // The query index beside the database, derived from the logs and rebuilt if unusable,
    // and its indexer (tracked; stops with the other services).
    let query_path = config.data_dir.join(crate::query::QUERY_FILE);
    // A node that cannot write its query index (full or read-only disk) still starts and
    // serves everything else; queries answer 503 until a restart finds the disk writable.
    let query = match crate::query::QueryIndex::open(&query_path) {
        Ok(index) => {
            let index = Arc::new(index);
            let indexer = crate::query::indexer::Indexer {
                store: store.clone(),
                logs: logs.clone(),
                integrity: integrity.clone(),
                index: index.clone(),
                own_heads: own_heads.clone(),
            };
            drop(stop_services.spawn(indexer.run(stop_services.clone())));
            index
        }
        Err(e) => {
            let reason = format!(
                "the query index {} cannot be opened or rebuilt ({e}); it is tried again at \
                 the next start",
                query_path.display()
            );
            tracing::warn!("{reason}; queries and the feed answer 503 meanwhile");
            Arc::new(crate::query::QueryIndex::stand_in(&query_path, reason)?)
        }
    };
    let replication_task = shutdown.spawn(replication.clone().run(events, own_heads));
    let sequencer = publisher.as_ref().map(|p| p.sequencer.clone());

    let state = Arc::new(AppState {
        store: store.clone(),
        publisher,
        logs,
        metrics: Metrics::default(),
        network: network.clone(),
        witness,
        replication,
        genesis: live,
        auditor: auditor.as_ref().map(|(a, _)| a.clone()),
        health: health.clone(),
        integrity: integrity.clone(),
        heads: Default::default(),
        query: query.clone(),
        stopping: stop_http.clone(),
    });
    let listener = tokio::net::TcpListener::bind(config.http_listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.http_listen))?;
    let http_addr = listener.local_addr()?;
    // The HTTP limits (connection cap within the open-file limit, timeouts, submission
    // budget) and the server that keeps them: see crate::serve.
    let guards = Arc::new(crate::serve::HttpGuards::new(config.http.clone()));
    let app = router(state, guards.clone());
    let stopped = stop_http.clone();
    let server = stop_http.spawn(async move {
        crate::serve::serve(listener, app, guards, stopped.cancelled()).await;
        Ok(())
    });
    Ok(RunningNode {
        http_addr,
        p2p_addresses: network.listen_addresses.clone(),
        network,
        shutdown,
        stop_http,
        stop_services,
        replication: replication_task,
        server,
        sequencer,
        store,
        auditor: auditor.map(|(_, task)| task),
        scrub,
        static_copy,
        integrity,
        query,
    })
}

/// The auditor role of an auditor member's node: it audits every held log and, with an
/// operator key configured, publishes its findings in its own log.
fn start_auditor(
    store: &Arc<Store>,
    genesis: &LiveGenesis,
    logs: &Arc<HeldLogs>,
    publisher: &Publisher,
    operator: Option<daylight_verifier::SigningKey>,
    settle: std::time::Duration,
) -> anyhow::Result<Auditor> {
    let finding_publisher = match operator {
        Some(operator) => Some(FindingPublisher {
            member: publisher
                .member
                .parse()
                .map_err(|e| anyhow::anyhow!("member id {:?}: {e}", publisher.member))?,
            submitter: publisher.submitter.clone(),
            sequencer: publisher.sequencer.clone(),
            operator,
        }),
        None => {
            tracing::warn!(
                "no operator_key in the configuration: this auditor reports findings but \
                 publishes none"
            );
            None
        }
    };
    Auditor::new(
        store.clone(),
        genesis.clone(),
        logs.clone(),
        finding_publisher,
        settle,
    )
}

/// Compacts the database when a quarter or more of its file is free space.
fn compact_if_worthwhile(store: Arc<Store>) {
    let Ok(mut store) = Arc::try_unwrap(store) else {
        tracing::warn!("database still in use at shutdown; not compacting");
        return;
    };
    let (Ok(space), Ok(file)) = (store.space(), store.file_bytes()) else {
        return;
    };
    if file.saturating_sub(space.allocated) * 4 >= file
        && let Err(e) = store.compact()
    {
        tracing::warn!("could not compact the database: {e}");
    }
}

/// Records which member (or observer) and network (version 1's id) a data directory belongs
/// to, or checks it.
fn claim_data_dir(store: &Store, member: &str, genesis_id: &str) -> anyhow::Result<()> {
    match (store.meta("member")?, store.meta("genesis")?) {
        (None, None) => {
            store.set_meta("member", member)?;
            store.set_meta("genesis", genesis_id)?;
        }
        (Some(m), _) if m != member => bail!(
            "this data directory belongs to member {m:?}, not {member:?}; use that member's \
             configuration or another directory"
        ),
        (_, Some(g)) if g != genesis_id => {
            bail!("this data directory belongs to the network with genesis {g}, not {genesis_id}")
        }
        _ => {}
    }
    Ok(())
}

impl RunningNode {
    /// The node's integrity checker and scrub (benchmarks and tools).
    pub fn integrity(&self) -> &Arc<Integrity> {
        &self.integrity
    }

    /// The node's query index (benchmarks and tools: e.g. to wait until it has caught up).
    pub fn query(&self) -> &Arc<crate::query::QueryIndex> {
        &self.query
    }

    /// A handle to the node's log writer, for a member (benchmarks and tools that bypass HTTP).
    pub fn sequencer(&self) -> Option<&Sequencer> {
        self.sequencer.as_ref()
    }

    /// Stops the HTTP server (finishing requests in flight), the network and replication, then
    /// the sequencer (finishing the batch in hand), so nothing acknowledged is lost and nothing
    /// is left half-written.
    ///
    /// Last, if more than a quarter of the database file is free pages (left by copy-on-write
    /// growth), it compacts the file so that the disk holds little more than the live data.
    ///
    /// Every task stops on the node's one stop signal, in stages (crate::shutdown explains the
    /// order); a task that does not stop within a bound is named in a warning and left behind.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        // The server bounds its own stop: it lets requests in flight finish, then closes.
        self.stop_http.cancel();
        let served = self.server.await.context("HTTP task panicked")?;
        tracing::info!("stopping: HTTP server stopped");
        // The auditor, the scrub and the static copy stop together. A pass of the static copy
        // may stop between two writes: the checkpoint is always written last.
        self.stop_services.cancel();
        if let Some(task) = self.auditor {
            join_within("auditor", task, STOP_LIMIT).await;
        }
        join_within("scrub", self.scrub, STOP_LIMIT).await;
        tracing::info!("stopping: scrub stopped");
        if let Some(task) = self.static_copy {
            join_within("static copy", task, STOP_LIMIT).await;
            tracing::info!("stopping: static copy stopped");
        }
        // Then the network, replication and every task replication spawned.
        self.shutdown.cancel();
        self.network.shutdown().await;
        join_within("replication", self.replication, STOP_LIMIT).await;
        let left = self.shutdown.close_and_wait(STOP_LIMIT).await;
        if left > 0 {
            tracing::warn!(
                "stopping: {left} task(s) did not stop within {}s (the network, replication's \
                 catch-ups, head pulls or answers to peers, or one named above); going on \
                 without them",
                STOP_LIMIT.as_secs()
            );
        }
        tracing::info!("stopping: network and replication stopped");
        if let Some(sequencer) = self.sequencer {
            tokio::task::spawn_blocking(move || sequencer.shutdown()).await?;
        }
        // The integrity checker holds the store too; compaction needs the only reference.
        drop(self.integrity);
        tracing::info!("stopping: log writer stopped");
        let store = self.store;
        tokio::task::spawn_blocking(move || compact_if_worthwhile(store)).await?;
        served
    }
}
