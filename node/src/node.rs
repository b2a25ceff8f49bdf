//! Starting and stopping a node: the pieces wired together, with graceful shutdown.
//!
//! A *member* node runs its own log (sequencer and submissions), witnesses the others, mirrors
//! every log and serves them all. An *observer* (no member in its configuration) only mirrors,
//! verifies and serves every log, read-only.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use daylight_genesis::Genesis;
use tokio::sync::oneshot;

use crate::config::{Loaded, MemberKeys};
use crate::http::{AppState, Metrics, Publisher, ServedLog, router};
use crate::p2p::{MAX_GOSSIP_BYTES, Network, NetworkConfig};
use crate::replication::Replication;
use crate::sequencer::{LogWriter, Sequencer};
use crate::storage::Store;
use crate::submit::Submitter;
use crate::witness::Witness;

/// Name of the database file in the data directory.
pub const DATABASE_FILE: &str = "node.redb";

/// How a data directory of an observer is marked.
const OBSERVER: &str = "(observer)";

/// A running node.
pub struct RunningNode {
    /// The address the HTTP API listens on.
    pub http_addr: SocketAddr,
    /// The libp2p addresses it listens on (with `/p2p/<peer id>`).
    pub p2p_addresses: Vec<libp2p::Multiaddr>,
    network: Network,
    replication: tokio::task::JoinHandle<()>,
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    sequencer: Option<Sequencer>,
    store: Arc<Store>,
}

/// Opens storage (checking it belongs to this member and matches its last checkpoint), starts
/// the network, replication, the member's sequencer and witness, and the HTTP server.
pub async fn start(loaded: Loaded) -> anyhow::Result<RunningNode> {
    let Loaded {
        config,
        genesis,
        member,
        p2p_key,
    } = loaded;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let db_path = config.data_dir.join(DATABASE_FILE);
    let store = Arc::new(
        Store::open(&db_path).with_context(|| format!("cannot open {}", db_path.display()))?,
    );
    let me = member.as_ref().map_or(OBSERVER, |m| m.id.as_str());
    claim_data_dir(&store, me, genesis.id())?;

    let (publisher, witness_key) = match member {
        Some(MemberKeys {
            id,
            log_key,
            witness_key,
            operator_key: _,
        }) => {
            let origin = genesis.origin(&id)?;
            let writer = LogWriter::open(store.clone(), &origin, log_key)?;
            let publisher = Publisher {
                sequencer: Sequencer::start(writer, config.max_batch),
                submitter: Submitter::from_genesis(&genesis, &id)?,
                origin,
                member: id,
            };
            (Some(publisher), Some(witness_key))
        }
        None => (None, None),
    };

    let (network, events) = Network::start(NetworkConfig {
        keypair: p2p_key,
        listen: config
            .p2p_listen
            .parse()
            .with_context(|| format!("p2p_listen {:?} is not a multiaddr", config.p2p_listen))?,
        bootstrap: config
            .bootstrap
            .iter()
            .map(|a| {
                a.parse()
                    .with_context(|| format!("bootstrap address {a:?} is not a multiaddr"))
            })
            .collect::<anyhow::Result<_>>()?,
        members: member_addresses(&genesis),
        checkpoint_topic: genesis.checkpoint_topic(),
        evidence_topic: genesis.evidence_topic(),
        max_message_bytes: MAX_GOSSIP_BYTES,
    })
    .await?;

    let witness = match witness_key {
        Some(key) => {
            let log_keys = genesis
                .members()
                .iter()
                .map(|m| Ok((genesis.origin(&m.id)?, m.log_key.clone())))
                .collect::<anyhow::Result<HashMap<_, _>>>()?;
            Some(Arc::new(Witness::new(store.clone(), key, log_keys)))
        }
        None => None,
    };
    let replication = Arc::new(Replication::new(
        store.clone(),
        network.clone(),
        &genesis,
        publisher.as_ref().map(|p| p.origin.clone()),
        witness.clone(),
    )?);
    let logs = replication
        .logs()
        .iter()
        .map(|(origin, log)| {
            let served = ServedLog {
                number: log.number,
                origin: origin.clone(),
            };
            (log.member.clone(), served)
        })
        .collect();
    let own_heads = publisher.as_ref().map(|p| p.sequencer.watch_checkpoints());
    let replication_task = tokio::spawn(replication.clone().run(events, own_heads));
    let sequencer = publisher.as_ref().map(|p| p.sequencer.clone());

    let state = Arc::new(AppState {
        store: store.clone(),
        publisher,
        logs,
        metrics: Metrics::default(),
        network: network.clone(),
        witness,
        replication,
        genesis: Arc::new(genesis),
    });
    let listener = tokio::net::TcpListener::bind(config.http_listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.http_listen))?;
    let http_addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(state);
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .context("HTTP server failed")
    });
    Ok(RunningNode {
        http_addr,
        p2p_addresses: network.listen_addresses.clone(),
        network,
        replication: replication_task,
        stop,
        server,
        sequencer,
        store,
    })
}

/// The members' peer ids and addresses listed in the genesis (invalid ones are skipped).
fn member_addresses(genesis: &Genesis) -> Vec<(libp2p::PeerId, Vec<libp2p::Multiaddr>)> {
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

/// Records which member (or observer) and network a data directory belongs to, or checks it.
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
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        let served = self.server.await.context("HTTP task panicked")?;
        self.network.shutdown().await;
        let _ = self.replication.await;
        if let Some(sequencer) = self.sequencer {
            tokio::task::spawn_blocking(move || sequencer.shutdown()).await?;
        }
        let store = self.store;
        tokio::task::spawn_blocking(move || compact_if_worthwhile(store)).await?;
        served
    }
}
