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
//!
//! The parts:
//! * this file: what goes in and out (events, topics, errors, the configuration);
//! * `client`: [`Network`], the cloneable handle; each call is a command to the task;
//! * `swarm`: the task that owns the swarm (its construction, then one loop over commands,
//!   swarm events and the redial timer);
//! * `changes`: what a new genesis version changes (members dialled, the genesis topic);
//! * `keyfile`: the node's libp2p identity and its key file;
//! * [`protocol`]: the `/daylight/sync/1` request-response messages.

mod changes;
mod client;
mod keyfile;
pub mod protocol;
mod swarm;

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

pub use client::Network;
pub use keyfile::{generate_identity, identity_from_secret, parse_identity};
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
