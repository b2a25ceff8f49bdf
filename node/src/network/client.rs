//! The cloneable handle the rest of the node drives the network with: each call is a
//! [`Command`] sent to the swarm task, with a reply channel where there is an answer.

use super::swarm::{SwarmTask, build_swarm};
use super::*;

/// What the handle asks of the swarm task.
pub(super) enum Command {
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

    pub(super) async fn send(&self, command: Command) -> Result<(), NetworkError> {
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
