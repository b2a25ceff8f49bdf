//! libp2p networking: one task owns the [`Swarm`]; the rest of the node drives it through a
//! cloneable [`Network`] handle (commands with replies) and receives [`NetworkEvent`]s.
//!
//! Transport TCP + Noise + Yamux; behaviours: identify (peers tell each other their listen
//! addresses), ping, gossipsub with *manual* validation and peer scoring (the node decides
//! whether each message is valid; invalid ones lower the sender's score), and request-response
//! `/daylight/sync/1` ([`protocol`]).
//!
//! Peers are found from the genesis file's addresses, from configured bootstrap addresses and
//! from identify; members we know an address for but are not connected to are redialled with
//! exponential backoff. A new genesis version changes the members dialled, and genesis versions
//! travel on their own topic, joined after start (`changes`: [`Network::set_members`],
//! [`Network::join_genesis_topic`]).
//!
//! A connection whose pings go unanswered is closed (libp2p's ping only reports failures, and
//! only the second in a row), so a member cut off by the network shows as disconnected within
//! `2 × PING_INTERVAL + PING_TIMEOUT` plus libp2p's 10 s stream negotiation timeout (30 s), not
//! when TCP gives up (a quarter of an hour); the redial loop reconnects it once the network
//! heals. [`Network::members`] reports each member's connectivity and when it was last heard from.

mod changes;
pub mod protocol;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use libp2p::futures::StreamExt as _;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, identify, identity, noise, ping, tcp, yamux,
};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use crate::shutdown::Shutdown;

pub use protocol::{SyncRequest, SyncResponse};

/// Largest gossip message accepted (a checkpoint is a few hundred bytes; evidence a few KiB).
pub const MAX_GOSSIP_BYTES: usize = 64 * 1024;

/// How often each connection is pinged (libp2p's default is 15 s).
pub const PING_INTERVAL: Duration = Duration::from_secs(5);

/// How long a ping may go unanswered; after two failures in a row the connection is closed.
pub const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a network operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NetworkError {
    /// The network task has stopped.
    #[error("the network task has stopped")]
    Stopped,
    /// The request could not be delivered or answered.
    #[error("request to {peer} failed: {reason}")]
    Request {
        /// The peer asked.
        peer: PeerId,
        /// What went wrong.
        reason: String,
    },
    /// The node could not listen or configure libp2p.
    #[error("network setup failed: {0}")]
    Setup(String),
}

/// What the network task reports to the node.
#[derive(Debug)]
pub enum NetworkEvent {
    /// A gossiped checkpoint note, awaiting the node's verdict ([`Network::report`]).
    Checkpoint {
        /// The peer that forwarded it.
        source: PeerId,
        /// Its message id (content-addressed).
        id: MessageId,
        /// The note bytes.
        data: Vec<u8>,
    },
    /// A gossiped evidence document, awaiting the node's verdict.
    Evidence {
        /// The peer that forwarded it.
        source: PeerId,
        /// Its message id.
        id: MessageId,
        /// The JSON bytes.
        data: Vec<u8>,
    },
    /// A gossiped genesis version (its signed note), awaiting the node's verdict.
    Genesis {
        /// The peer that forwarded it.
        source: PeerId,
        /// Its message id.
        id: MessageId,
        /// The note bytes.
        data: Vec<u8>,
    },
    /// A peer's request; answer with [`Network::respond`].
    Request {
        /// Who asks.
        peer: PeerId,
        /// What it asks.
        request: SyncRequest,
        /// Where the answer goes.
        channel: ResponseChannel<SyncResponse>,
    },
    /// A connection to a peer was established.
    Connected(PeerId),
}

/// Which gossip topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// `daylight/<genesis id>/checkpoints/1`.
    Checkpoints,
    /// `daylight/<genesis id>/evidence/1`.
    Evidence,
    /// `daylight/<network id>/genesis/1`, once joined ([`Network::join_genesis_topic`]).
    Genesis,
}

/// A connected peer, for `/v1/network`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PeerInfo {
    /// Its peer id.
    pub peer_id: String,
    /// Its gossipsub score (lower after invalid messages).
    pub score: Option<f64>,
}

/// A genesis member's connectivity, for `/v1/network`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MemberLink {
    /// The member's peer id.
    pub peer_id: String,
    /// Whether a connection to it is open.
    pub connected: bool,
    /// When it was last heard from (connection, ping, gossip or request), RFC 3339 UTC; `None`
    /// if never since this node started.
    pub last_seen: Option<String>,
}

/// How to start the network.
pub struct NetworkConfig {
    /// This node's libp2p identity.
    pub keypair: identity::Keypair,
    /// Where to listen, e.g. `/ip4/127.0.0.1/tcp/0`.
    pub listen: Multiaddr,
    /// Addresses to dial at start (may include `/p2p/<peer id>`).
    pub bootstrap: Vec<Multiaddr>,
    /// Members' peer ids and genesis addresses.
    pub members: Vec<(PeerId, Vec<Multiaddr>)>,
    /// The checkpoint gossip topic name.
    pub checkpoint_topic: String,
    /// The evidence gossip topic name.
    pub evidence_topic: String,
    /// Largest gossip message sent or accepted ([`MAX_GOSSIP_BYTES`] for nodes; tests that
    /// play a misbehaving peer raise it).
    pub max_message_bytes: usize,
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    gossip: gossipsub::Behaviour,
    sync: request_response::cbor::Behaviour<SyncRequest, SyncResponse>,
}

enum Command {
    Publish {
        topic: Topic,
        data: Vec<u8>,
    },
    Report {
        id: MessageId,
        source: PeerId,
        acceptance: MessageAcceptance,
    },
    Request {
        peer: PeerId,
        request: SyncRequest,
        reply: oneshot::Sender<Result<SyncResponse, NetworkError>>,
    },
    Respond {
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    },
    Peers {
        reply: oneshot::Sender<Vec<PeerInfo>>,
    },
    Members {
        reply: oneshot::Sender<Vec<MemberLink>>,
    },
    SetMembers {
        members: Vec<(PeerId, Vec<Multiaddr>)>,
    },
    JoinGenesis {
        name: String,
    },
    Shutdown,
}

/// A cloneable handle to the network task.
#[derive(Clone)]
pub struct Network {
    commands: mpsc::Sender<Command>,
    /// This node's peer id.
    pub local_peer: PeerId,
    /// The addresses the node listens on (with `/p2p/<peer id>`).
    pub listen_addresses: Vec<Multiaddr>,
}

/// A libp2p identity from a 32-byte Ed25519 secret.
pub fn identity_from_secret(secret: [u8; 32]) -> Result<identity::Keypair, NetworkError> {
    identity::Keypair::ed25519_from_bytes(secret).map_err(|e| NetworkError::Setup(e.to_string()))
}

/// First word of a p2p identity key file: `daylight-p2p-key-v1 <64 hex digits>`.
const IDENTITY_FILE_TAG: &str = "daylight-p2p-key-v1";

/// A fresh libp2p identity: the key file text and the peer id it gives.
pub fn generate_identity() -> Result<(String, PeerId), NetworkError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| NetworkError::Setup(e.to_string()))?;
    let keypair = identity_from_secret(secret)?;
    Ok((
        format!("{IDENTITY_FILE_TAG} {}", hex::encode(secret)),
        keypair.public().to_peer_id(),
    ))
}

/// Reads a libp2p identity key file written by [`generate_identity`].
pub fn parse_identity(text: &str) -> Result<identity::Keypair, NetworkError> {
    let bad = || {
        NetworkError::Setup(format!(
            "a p2p key file holds `{IDENTITY_FILE_TAG} <64 hex digits>`"
        ))
    };
    let hex_secret = text
        .trim()
        .strip_prefix(IDENTITY_FILE_TAG)
        .map(str::trim)
        .ok_or_else(bad)?;
    let secret: [u8; 32] = hex::decode(hex_secret)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    identity_from_secret(secret)
}

fn build_swarm(config: &NetworkConfig) -> Result<Swarm<Behaviour>, NetworkError> {
    let setup = |e: &dyn std::fmt::Display| NetworkError::Setup(e.to_string());
    let gossip_config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| {
            MessageId::from(hex::encode(Sha256::digest(&m.data)))
        })
        .max_transmit_size(config.max_message_bytes)
        .heartbeat_interval(Duration::from_millis(500))
        .build()
        .map_err(|e| setup(&e))?;
    let mut gossip = gossipsub::Behaviour::new(
        gossipsub::MessageAuthenticity::Signed(config.keypair.clone()),
        gossip_config,
    )
    .map_err(|e| setup(&e))?;
    let mut scoring = gossipsub::PeerScoreParams::default();
    for name in [&config.checkpoint_topic, &config.evidence_topic] {
        let topic = IdentTopic::new(name.clone());
        let params = gossipsub::TopicScoreParams {
            topic_weight: 1.0,
            invalid_message_deliveries_weight: -100.0,
            invalid_message_deliveries_decay: 0.9,
            ..Default::default()
        };
        scoring.topics.insert(topic.hash(), params);
    }
    gossip
        .with_peer_score(scoring, gossipsub::PeerScoreThresholds::default())
        .map_err(|e| setup(&e))?;
    for name in [&config.checkpoint_topic, &config.evidence_topic] {
        gossip
            .subscribe(&IdentTopic::new(name.clone()))
            .map_err(|e| setup(&e))?;
    }
    let keypair = config.keypair.clone();
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| setup(&e))?
        .with_behaviour(|key| Behaviour {
            identify: identify::Behaviour::new(identify::Config::new(
                "/daylight/1".into(),
                key.public(),
            )),
            ping: ping::Behaviour::new(
                ping::Config::new()
                    .with_interval(PING_INTERVAL)
                    .with_timeout(PING_TIMEOUT),
            ),
            gossip,
            sync: request_response::cbor::Behaviour::new(
                [(
                    StreamProtocol::new(protocol::SYNC_PROTOCOL),
                    ProtocolSupport::Full,
                )],
                request_response::Config::default().with_request_timeout(Duration::from_secs(30)),
            ),
        })
        .map_err(|e| setup(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    Ok(swarm)
}

impl Network {
    /// Starts the network task: listens, dials the bootstrap addresses and known members, and
    /// returns the handle and the event stream once listening.
    pub async fn start(
        config: NetworkConfig,
    ) -> Result<(Network, mpsc::Receiver<NetworkEvent>), NetworkError> {
        Network::start_inner(config, None).await
    }

    /// Like [`Network::start`], with the network task tracked by `shutdown`: it also stops
    /// (connections close and the event stream ends) once `shutdown` is cancelled.
    pub async fn start_tracked(
        config: NetworkConfig,
        shutdown: &Shutdown,
    ) -> Result<(Network, mpsc::Receiver<NetworkEvent>), NetworkError> {
        Network::start_inner(config, Some(shutdown)).await
    }

    async fn start_inner(
        config: NetworkConfig,
        shutdown: Option<&Shutdown>,
    ) -> Result<(Network, mpsc::Receiver<NetworkEvent>), NetworkError> {
        let mut swarm = build_swarm(&config)?;
        swarm
            .listen_on(config.listen.clone())
            .map_err(|e| NetworkError::Setup(format!("cannot listen on {}: {e}", config.listen)))?;
        let local_peer = *swarm.local_peer_id();
        // Wait for the listener to report its address (the port may have been 0).
        let listen_addresses = loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => {
                    break vec![address.with(libp2p::multiaddr::Protocol::P2p(local_peer))];
                }
                SwarmEvent::ListenerError { error, .. } => {
                    return Err(NetworkError::Setup(error.to_string()));
                }
                _ => {}
            }
        };
        let (commands, command_rx) = mpsc::channel(1024);
        let (events, event_rx) = mpsc::channel(4096);
        let mut task = SwarmTask {
            swarm,
            events,
            pending: HashMap::new(),
            known: HashMap::new(),
            backoff: HashMap::new(),
            last_seen: HashMap::new(),
            members: config.members.iter().map(|(p, _)| *p).collect(),
            topics: (
                IdentTopic::new(config.checkpoint_topic.clone()),
                IdentTopic::new(config.evidence_topic.clone()),
            ),
            genesis_topic: None,
        };
        for (peer, addresses) in &config.members {
            if *peer != local_peer {
                task.known
                    .entry(*peer)
                    .or_default()
                    .extend(addresses.iter().cloned());
            }
        }
        for address in &config.bootstrap {
            if let Err(e) = task.swarm.dial(address.clone()) {
                tracing::warn!("cannot dial bootstrap address {address}: {e}");
            }
        }
        match shutdown {
            Some(shutdown) => {
                shutdown.spawn(task.run(command_rx, shutdown.clone()));
            }
            None => {
                tokio::spawn(task.run(command_rx, Shutdown::new()));
            }
        }
        Ok((
            Network {
                commands,
                local_peer,
                listen_addresses,
            },
            event_rx,
        ))
    }

    async fn send(&self, command: Command) -> Result<(), NetworkError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| NetworkError::Stopped)
    }

    /// Publishes on a gossip topic (ignored when no peer is subscribed yet).
    pub async fn publish(&self, topic: Topic, data: Vec<u8>) -> Result<(), NetworkError> {
        self.send(Command::Publish { topic, data }).await
    }

    /// Reports the node's verdict on a gossip message (accept relays it; reject penalises the
    /// peer that sent it).
    pub async fn report(
        &self,
        id: MessageId,
        source: PeerId,
        acceptance: MessageAcceptance,
    ) -> Result<(), NetworkError> {
        self.send(Command::Report {
            id,
            source,
            acceptance,
        })
        .await
    }

    /// Sends a request and waits for the answer.
    pub async fn request(
        &self,
        peer: PeerId,
        request: SyncRequest,
    ) -> Result<SyncResponse, NetworkError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Request {
            peer,
            request,
            reply,
        })
        .await?;
        answer.await.map_err(|_| NetworkError::Stopped)?
    }

    /// Answers a peer's request.
    pub async fn respond(
        &self,
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    ) -> Result<(), NetworkError> {
        self.send(Command::Respond { channel, response }).await
    }

    /// Stops the network task: connections close and the event stream ends.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
    }

    /// The connected peers and their scores.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>, NetworkError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Peers { reply }).await?;
        answer.await.map_err(|_| NetworkError::Stopped)
    }

    /// Every genesis member but this node (those with a valid peer id), connected or not.
    pub async fn members(&self) -> Result<Vec<MemberLink>, NetworkError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Members { reply }).await?;
        answer.await.map_err(|_| NetworkError::Stopped)
    }
}

/// `time` as RFC 3339 in UTC, to the second: `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339(time: SystemTime) -> String {
    crate::clock::instant_at(time).as_str().to_string()
}

struct SwarmTask {
    swarm: Swarm<Behaviour>,
    events: mpsc::Sender<NetworkEvent>,
    pending: HashMap<OutboundRequestId, oneshot::Sender<Result<SyncResponse, NetworkError>>>,
    known: HashMap<PeerId, Vec<Multiaddr>>,
    backoff: HashMap<PeerId, (Instant, Duration)>,
    /// When each peer was last heard from.
    last_seen: HashMap<PeerId, SystemTime>,
    members: Vec<PeerId>,
    topics: (IdentTopic, IdentTopic),
    /// The genesis topic, once joined.
    genesis_topic: Option<IdentTopic>,
}

impl SwarmTask {
    /// Runs until every [`Network`] handle is dropped, [`Network::shutdown`] is called or
    /// `stop` is cancelled; then the swarm closes its connections.
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, stop: Shutdown) {
        let mut redial = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                command = commands.recv() => match command {
                    Some(Command::Shutdown) | None => break,
                    Some(command) => self.command(command),
                },
                event = self.swarm.select_next_some() => self.swarm_event(event),
                _ = redial.tick() => self.redial(),
            }
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Publish { topic, data } => {
                let topic = match topic {
                    Topic::Checkpoints => self.topics.0.clone(),
                    Topic::Evidence => self.topics.1.clone(),
                    Topic::Genesis => match &self.genesis_topic {
                        Some(topic) => topic.clone(),
                        None => return,
                    },
                };
                if let Err(e) = self.swarm.behaviour_mut().gossip.publish(topic, data) {
                    tracing::debug!("gossip publish: {e}");
                }
            }
            Command::Report {
                id,
                source,
                acceptance,
            } => {
                self.swarm
                    .behaviour_mut()
                    .gossip
                    .report_message_validation_result(&id, &source, acceptance);
            }
            Command::Request {
                peer,
                request,
                reply,
            } => {
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.pending.insert(id, reply);
            }
            Command::Respond { channel, response } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response);
            }
            Command::Shutdown => {}
            Command::SetMembers { members } => self.set_members(members),
            Command::JoinGenesis { name } => self.join_genesis(name),
            Command::Peers { reply } => {
                let gossip = &self.swarm.behaviour().gossip;
                let peers = self
                    .swarm
                    .connected_peers()
                    .map(|p| PeerInfo {
                        peer_id: p.to_string(),
                        score: gossip.peer_score(p),
                    })
                    .collect();
                let _ = reply.send(peers);
            }
            Command::Members { reply } => {
                let local = *self.swarm.local_peer_id();
                let members = self
                    .members
                    .iter()
                    .filter(|p| **p != local)
                    .map(|p| MemberLink {
                        peer_id: p.to_string(),
                        connected: self.swarm.is_connected(p),
                        last_seen: self.last_seen.get(p).copied().map(rfc3339),
                    })
                    .collect();
                let _ = reply.send(members);
            }
        }
    }

    /// Notes that `peer` was heard from just now.
    fn seen(&mut self, peer: PeerId) {
        self.last_seen.insert(peer, SystemTime::now());
    }

    fn swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                self.backoff.remove(&peer_id);
                self.seen(peer_id);
                self.deliver(NetworkEvent::Connected(peer_id));
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                cause,
                ..
            } => {
                tracing::info!(
                    "disconnected from {peer_id}{}",
                    cause.map(|c| format!(": {c}")).unwrap_or_default()
                );
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                peer,
                connection,
                result,
            })) => match result {
                Ok(_) => self.seen(peer),
                // A peer without ping (any libp2p client may read the gossip) stays connected.
                Err(ping::Failure::Unsupported) => {}
                Err(failure) => {
                    tracing::info!("closing a connection to {peer}: {failure}");
                    self.swarm.close_connection(connection);
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                let known = self.known.entry(peer_id).or_default();
                for address in info.listen_addrs {
                    if !known.contains(&address) {
                        known.push(address.clone());
                        self.swarm.add_peer_address(peer_id, address);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                self.seen(propagation_source);
                let event = if message.topic == self.topics.0.hash() {
                    NetworkEvent::Checkpoint {
                        source: propagation_source,
                        id: message_id,
                        data: message.data,
                    }
                } else if message.topic == self.topics.1.hash() {
                    NetworkEvent::Evidence {
                        source: propagation_source,
                        id: message_id,
                        data: message.data,
                    }
                } else if self
                    .genesis_topic
                    .as_ref()
                    .is_some_and(|t| message.topic == t.hash())
                {
                    NetworkEvent::Genesis {
                        source: propagation_source,
                        id: message_id,
                        data: message.data,
                    }
                } else {
                    self.swarm
                        .behaviour_mut()
                        .gossip
                        .report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            MessageAcceptance::Reject,
                        );
                    return;
                };
                self.deliver(event);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.sync_event(event),
            _ => {}
        }
    }

    fn sync_event(&mut self, event: request_response::Event<SyncRequest, SyncResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => {
                self.seen(peer);
                match message {
                    request_response::Message::Request {
                        request, channel, ..
                    } => self.deliver(NetworkEvent::Request {
                        peer,
                        request,
                        channel,
                    }),
                    request_response::Message::Response {
                        request_id,
                        response,
                    } => {
                        if let Some(reply) = self.pending.remove(&request_id) {
                            let _ = reply.send(Ok(response));
                        }
                    }
                }
            }
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(NetworkError::Request {
                        peer,
                        reason: error.to_string(),
                    }));
                }
            }
            _ => {}
        }
    }

    /// Hands an event to the node without ever waiting: the swarm must keep running even when
    /// the node is saturated (and the node may itself be waiting to send this task a command).
    /// When the queue is full, gossip is ignored (neither relayed nor held against the peer)
    /// and requests are answered "busy".
    fn deliver(&mut self, event: NetworkEvent) {
        let Err(mpsc::error::TrySendError::Full(event)) = self.events.try_send(event) else {
            return;
        };
        tracing::warn!("node saturated; shedding a network event");
        match event {
            NetworkEvent::Checkpoint { source, id, .. }
            | NetworkEvent::Evidence { source, id, .. }
            | NetworkEvent::Genesis { source, id, .. } => {
                self.swarm
                    .behaviour_mut()
                    .gossip
                    .report_message_validation_result(&id, &source, MessageAcceptance::Ignore);
            }
            NetworkEvent::Request { channel, .. } => {
                let busy = SyncResponse::Refused("the node is busy; try again".into());
                let _ = self.swarm.behaviour_mut().sync.send_response(channel, busy);
            }
            NetworkEvent::Connected(_) => {}
        }
    }

    /// Dials members we know an address for and are not connected to, with exponential
    /// backoff per peer (0.5 s doubling to 30 s).
    fn redial(&mut self) {
        let now = Instant::now();
        let targets: Vec<PeerId> = self
            .members
            .iter()
            .filter(|p| *p != self.swarm.local_peer_id() && !self.swarm.is_connected(p))
            .filter(|p| self.known.get(*p).is_some_and(|a| !a.is_empty()))
            .copied()
            .collect();
        for peer in targets {
            let (next, wait) = self
                .backoff
                .get(&peer)
                .copied()
                .unwrap_or((now, Duration::from_millis(500)));
            if now < next {
                continue;
            }
            self.backoff
                .insert(peer, (now + wait, (wait * 2).min(Duration::from_secs(30))));
            let addresses = self.known.get(&peer).cloned().unwrap_or_default();
            let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                .addresses(addresses)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!("dial {peer}: {e}");
            }
        }
    }
}
