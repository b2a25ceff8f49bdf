//! The swarm task: the one owner of the libp2p [`Swarm`]. It builds the swarm (transport,
//! behaviours, gossip scoring), then runs one loop over the handle's commands, the swarm's
//! events and the redial timer, until it is told to stop.

use super::client::Command;
use super::*;

#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    pub(super) identify: identify::Behaviour,
    pub(super) ping: ping::Behaviour,
    pub(super) gossip: gossipsub::Behaviour,
    pub(super) sync: request_response::cbor::Behaviour<SyncRequest, SyncResponse>,
}

pub(super) fn build_swarm(config: &NetworkConfig) -> Result<Swarm<Behaviour>, NetworkError> {
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

/// `time` as RFC 3339 in UTC, to the second: `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339(time: SystemTime) -> String {
    crate::clock::instant_at(time).as_str().to_string()
}

pub(super) struct SwarmTask {
    pub(super) swarm: Swarm<Behaviour>,
    pub(super) events: mpsc::Sender<NetworkEvent>,
    pub(super) pending:
        HashMap<OutboundRequestId, oneshot::Sender<Result<SyncResponse, NetworkError>>>,
    pub(super) known: HashMap<PeerId, Vec<Multiaddr>>,
    pub(super) backoff: HashMap<PeerId, (Instant, Duration)>,
    /// When each peer was last heard from.
    pub(super) last_seen: HashMap<PeerId, SystemTime>,
    pub(super) members: Vec<PeerId>,
    pub(super) topics: (IdentTopic, IdentTopic),
    /// The genesis topic, once joined.
    pub(super) genesis_topic: Option<IdentTopic>,
}

impl SwarmTask {
    /// Runs until every [`Network`] handle is dropped, [`Network::shutdown`] is called or
    /// `stop` is cancelled; then the swarm closes its connections.
    pub(super) async fn run(mut self, mut commands: mpsc::Receiver<Command>, stop: Shutdown) {
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
