//! What a new genesis version changes in the swarm (DESIGN §6b): which members are dialled
//! and at which addresses, and the gossip topic that carries genesis versions. Driven, like
//! everything else, by commands to the one task that owns the swarm.

use libp2p::gossipsub::{self, IdentTopic};
use libp2p::{Multiaddr, PeerId};

use super::client::Command;
use super::swarm::SwarmTask;
use super::{Network, NetworkError};

impl Network {
    /// Replaces the list of members the node keeps connected to (their peer ids and the
    /// addresses the genesis gives): a new member is dialled by the redial loop, a member
    /// whose peer id changed is dialled under its new one. Addresses learnt before stay known.
    pub async fn set_members(
        &self,
        members: Vec<(PeerId, Vec<Multiaddr>)>,
    ) -> Result<(), NetworkError> {
        self.send(Command::SetMembers { members }).await
    }

    /// Subscribes to the genesis gossip topic `name` (`daylight/<network id>/genesis/1`);
    /// messages on it then arrive as [`super::NetworkEvent::Genesis`]. Messages are bounded
    /// like every gossip message ([`super::NetworkConfig::max_message_bytes`]).
    pub async fn join_genesis_topic(&self, name: String) -> Result<(), NetworkError> {
        self.send(Command::JoinGenesis { name }).await
    }
}

impl SwarmTask {
    /// Takes `members` as the members to keep connected to.
    pub(super) fn set_members(&mut self, members: Vec<(PeerId, Vec<Multiaddr>)>) {
        let local = *self.swarm.local_peer_id();
        self.members = members.iter().map(|(peer, _)| *peer).collect();
        for (peer, addresses) in members {
            if peer == local {
                continue;
            }
            let known = self.known.entry(peer).or_default();
            for address in addresses {
                if !known.contains(&address) {
                    known.push(address);
                }
            }
        }
    }

    /// Subscribes to the genesis topic, scored like the other topics (an invalid message
    /// lowers its sender's score).
    pub(super) fn join_genesis(&mut self, name: String) {
        let topic = IdentTopic::new(name);
        let gossip = &mut self.swarm.behaviour_mut().gossip;
        let params = gossipsub::TopicScoreParams {
            topic_weight: 1.0,
            invalid_message_deliveries_weight: -100.0,
            invalid_message_deliveries_decay: 0.9,
            ..Default::default()
        };
        if let Err(e) = gossip.set_topic_params(topic.clone(), params) {
            tracing::warn!("genesis topic scoring: {e:?}");
        }
        if let Err(e) = gossip.subscribe(&topic) {
            tracing::warn!("cannot subscribe to the genesis topic: {e}");
            return;
        }
        self.genesis_topic = Some(topic);
    }
}
