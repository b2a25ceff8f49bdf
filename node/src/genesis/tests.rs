//! Tests of the node's genesis chain: offering versions, storing the chain, reconciling it
//! with the configured file, logs added by a version, and superseded keys named as such.

use std::path::PathBuf;

use daylight_genesis::{Genesis, GenesisBuilder, Member, Role, SignedGenesis, names};
use daylight_verifier::{KeyType, SigningKey};

use super::*;
use crate::held::HeldLogs;
use crate::store::Store;

const NETWORK: &str = "test.daylight";

/// A member's keys.
pub(crate) struct Keys {
    pub(crate) log: SigningKey,
    pub(crate) witness: SigningKey,
    pub(crate) operator: SigningKey,
    /// The libp2p identity key file's text.
    pub(crate) p2p: String,
    /// Its peer id.
    pub(crate) peer: String,
}

/// Fresh keys for member `id`.
pub(crate) fn keys(id: &str) -> Keys {
    let (p2p, peer) = crate::network::generate_identity().unwrap();
    Keys {
        p2p,
        peer: peer.to_string(),
        log: SigningKey::generate(&names::log_key_name(NETWORK, id), KeyType::Ed25519).unwrap(),
        witness: SigningKey::generate(&names::witness_key_name(NETWORK, id), KeyType::Cosignature)
            .unwrap(),
        operator: SigningKey::generate(
            &names::operator_key_name(NETWORK, id, "clerk"),
            KeyType::Ed25519,
        )
        .unwrap(),
    }
}

fn member(id: &str, role: Role, parent: Option<&str>, keys: &Keys) -> Member {
    let mut member = Member::new(
        id,
        role,
        &format!("{id} bureau"),
        "320200",
        keys.log.verifier(),
        keys.witness.verifier(),
        &keys.peer,
    );
    member.parent = parent.map(str::to_string);
    member.operators = vec![keys.operator.verifier()];
    member
}

/// Version 1 of a city and two counties (every member a founder: threshold 2 of 3).
pub(crate) struct Fixture {
    /// Version 1.
    pub(crate) v1: Genesis,
    /// The keys of city-1, county-1 and county-2, in that order.
    pub(crate) founders: Vec<Keys>,
}

/// A new network: version 1 and its members' keys.
pub(crate) fn fixture() -> Fixture {
    let ids = [
        ("city-1", Role::City, None),
        ("county-1", Role::County, Some("city-1")),
    ];
    let ids = ids
        .into_iter()
        .chain([("county-2", Role::County, Some("city-1"))]);
    let mut draft = GenesisBuilder::new(NETWORK);
    draft.set_quorum(1);
    let mut founders = Vec::new();
    for (id, role, parent) in ids {
        let k = keys(id);
        draft.add_member(member(id, role, parent, &k));
        founders.push(k);
    }
    let mut signed = draft.sign(&founders[0].log).unwrap();
    for k in &founders[1..] {
        signed.sign(&k.log).unwrap();
    }
    Fixture {
        v1: signed.verify().unwrap(),
        founders,
    }
}

/// The version after `previous` adding `county-3`, signed by the first `founders` founders
/// and by the new member's keys.
fn adding_a_county(previous: &Genesis, fixture: &Fixture, founders: usize) -> SignedGenesis {
    adding(previous, fixture, founders, "county-3")
}

/// The version after `previous` adding the county `id`.
fn adding(previous: &Genesis, fixture: &Fixture, founders: usize, id: &str) -> SignedGenesis {
    let new = keys(id);
    let mut draft = GenesisBuilder::next_version(previous);
    draft.add_member(member(id, Role::County, Some("city-1"), &new));
    let mut signed = draft.sign_next(previous, &new.log).unwrap();
    signed.sign_next(previous, &new.witness).unwrap();
    signed.sign_next(previous, &new.operator).unwrap();
    for k in &fixture.founders[..founders] {
        signed.sign_next(previous, &k.log).unwrap();
    }
    signed
}

/// A fresh temporary directory.
pub(crate) fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "daylight-genesis-{label}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_version_is_taken_once_and_forged_or_gapped_ones_are_refused() {
    let fixture = fixture();
    let chain = Chain::new(fixture.v1.clone()).unwrap();
    let v2 = adding_a_county(&fixture.v1, &fixture, 2);

    let Offered::Extended { chain: two, added } = chain.offer(v2.to_text().as_bytes()).unwrap()
    else {
        panic!("v2 extends the chain");
    };
    assert_eq!(added, [2]);
    assert_eq!(two.sequence(), 2);
    assert_eq!(
        two.network_id(),
        fixture.v1.id(),
        "the network id stays version 1's"
    );
    assert!(two.latest().member("county-3").is_some());
    assert_eq!(
        two.offer(v2.to_text().as_bytes()).unwrap(),
        Offered::Known(2)
    );
    assert_eq!(
        two.offer(fixture.v1.to_text().as_bytes()).unwrap(),
        Offered::Known(2)
    );

    // One founder of three is below the majority threshold.
    let forged = adding_a_county(&fixture.v1, &fixture, 1);
    let refused = chain.offer(forged.to_text().as_bytes()).unwrap_err();
    assert!(matches!(refused, ChainError::Invalid(_)), "{refused}");
    // A different version 2 where one is held conflicts.
    let other = adding_a_county(&fixture.v1, &fixture, 2);
    assert!(matches!(
        two.offer(other.to_text().as_bytes()).unwrap_err(),
        ChainError::Conflict(_)
    ));
    // Version 3 cannot be checked against version 1.
    let v3 = adding(two.latest(), &fixture, 2, "county-4");
    assert_eq!(
        chain.offer(v3.to_text().as_bytes()).unwrap_err(),
        ChainError::Gap {
            held: 1,
            offered: 3
        }
    );
    // The JSON chain carries both.
    let Offered::Extended { added, .. } = chain.offer(two.to_json().as_bytes()).unwrap() else {
        panic!("the JSON chain extends version 1");
    };
    assert_eq!(added, [2]);
    // Garbage is invalid, not a conflict.
    assert!(matches!(
        chain.offer(b"not a genesis").unwrap_err(),
        ChainError::Invalid(_)
    ));
}

#[test]
fn the_live_chain_is_stored_before_it_is_published_and_reconciled_at_start() {
    let fixture = fixture();
    let dir = temp_dir("live");
    let file = ChainFile::in_dir(&dir);
    let v1 = Chain::new(fixture.v1.clone()).unwrap();
    file.store_if_newer(&v1).unwrap();
    let live = LiveGenesis::new(v1.clone(), Some(file.clone()));
    let mut changes = live.subscribe();
    let v2 = adding_a_county(&fixture.v1, &fixture, 2);
    assert!(matches!(
        live.offer(v2.to_text().as_bytes()).unwrap(),
        Offered::Extended { .. }
    ));
    assert!(changes.has_changed().unwrap());
    assert_eq!(changes.borrow_and_update().sequence(), 2);
    assert_eq!(live.network_id(), fixture.v1.id());
    let stored = file.load().unwrap().unwrap();
    assert_eq!(stored.sequence(), 2, "stored durably");

    // A node configured with version 1 runs the longer stored chain.
    let config = dir.join("genesis.note");
    assert_eq!(file.reconcile(v1.clone(), &config).unwrap().sequence(), 2);
    // A forged file is refused.
    let other = fixture_chain_of_another_network();
    let error = file.reconcile(other, &config).unwrap_err().to_string();
    assert!(
        error.contains("conflicts with the genesis chain"),
        "{error}"
    );
    // A damaged stored file is refused, not trusted.
    std::fs::write(file.path(), b"{\"network_id\":\"00\",\"versions\":[]}").unwrap();
    assert!(file.load().is_err());
    std::fs::remove_dir_all(dir).unwrap();
}

fn fixture_chain_of_another_network() -> Chain {
    Chain::new(fixture().v1).unwrap()
}

#[test]
fn a_version_adding_a_member_adds_its_log_and_earlier_references_stay_valid() {
    let fixture = fixture();
    let dir = temp_dir("held");
    let store = Store::open(&dir.join("node.redb")).unwrap();
    let logs = HeldLogs::register(&fixture.v1, &store, Some("county-1")).unwrap();
    let before = logs.by_member("city-1").unwrap();
    assert_eq!(logs.len(), 3);
    let v2 = Chain::new(fixture.v1.clone())
        .unwrap()
        .offer(
            adding_a_county(&fixture.v1, &fixture, 2)
                .to_text()
                .as_bytes(),
        )
        .unwrap();
    let Offered::Extended { chain, .. } = v2 else {
        panic!("extends");
    };
    let changes = logs
        .register_more(chain.latest(), &store, Some("county-1"))
        .unwrap();
    assert_eq!(changes.added, ["county-3"]);
    assert_eq!(logs.len(), 4);
    let added = logs.by_member("county-3").unwrap();
    assert_eq!(logs.by_origin(&added.origin).unwrap().number, added.number);
    assert_eq!(logs.by_number(added.number).unwrap().member, "county-3");
    assert_eq!(
        before.member, "city-1",
        "a reference taken before stays valid"
    );
    assert_eq!(logs.own().unwrap().member, "county-1");
    let members: Vec<_> = logs.iter().map(|l| l.member.clone()).collect();
    assert_eq!(members, ["city-1", "county-1", "county-2", "county-3"]);
    // Applying the same version again changes nothing.
    let again = logs
        .register_more(chain.latest(), &store, Some("county-1"))
        .unwrap();
    assert!(again.added.is_empty() && again.changed.is_empty());
    drop(store);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_rotated_key_is_named_as_superseded() {
    let fixture = fixture();
    let old = fixture.founders[1].log.verifier().to_string();
    let new = keys("county-1");
    let root = daylight_verifier::Hash::digest(b"");
    let mut draft = GenesisBuilder::next_version(&fixture.v1);
    draft
        .rotate_log_key("county-1", new.log.verifier(), 0, root)
        .unwrap();
    let chain = extended_from_v1(&fixture, &draft, &new.log);
    let message = superseded(&chain, "county-1", KeyRole::Log, &old).unwrap();
    assert!(message.contains("genesis version 1"), "{message}");
    assert!(message.contains("rotate-key"), "{message}");
    assert!(message.contains("--log-key"), "{message}");
    let current = new.log.verifier().to_string();
    assert_eq!(superseded(&chain, "county-1", KeyRole::Log, &current), None);
    assert_eq!(
        superseded(&chain, "county-1", KeyRole::Log, "unknown"),
        None
    );
}

#[test]
fn running_keys_a_version_rotated_are_named_for_the_operator() {
    let fixture = fixture();
    let county = &fixture.founders[1];
    let running = RunningKeys {
        log_key: county.log.verifier(),
        witness_key: county.witness.verifier(),
        peer_id: county.peer.parse().unwrap(),
    };
    assert!(running.superseded_in(&fixture.v1, "county-1").is_empty());
    let new = keys("county-1");
    let mut draft = GenesisBuilder::next_version(&fixture.v1);
    draft
        .rotate_witness_key("county-1", new.witness.verifier(), 4_000_000_000)
        .unwrap();
    draft.member_mut("county-1").unwrap().peer_id = new.peer.clone();
    let chain = extended_from_v1(&fixture, &draft, &new.witness);
    let stale = running.superseded_in(chain.latest(), "county-1");
    assert_eq!(stale.len(), 2, "{stale:?}");
    assert!(stale[0].starts_with("witness key"), "{stale:?}");
    assert!(stale[1].contains(&new.peer), "{stale:?}");
}

/// The version after `previous` renaming the city, signed by two founders of three.
fn renaming(previous: &Genesis, fixture: &Fixture, name: &str) -> SignedGenesis {
    let mut draft = GenesisBuilder::next_version(previous);
    draft.member_mut("city-1").unwrap().name = name.to_string();
    let mut signed = draft.sign_next(previous, &fixture.founders[0].log).unwrap();
    signed
        .sign_next(previous, &fixture.founders[1].log)
        .unwrap();
    signed
}

/// Version 1's chain extended with `draft`, signed by `new_key` (proof of possession) and
/// the first two founders of version 1.
fn extended_from_v1(fixture: &Fixture, draft: &GenesisBuilder, new_key: &SigningKey) -> Chain {
    let mut signed = draft.sign_next(&fixture.v1, new_key).unwrap();
    for k in &fixture.founders[..2] {
        signed.sign_next(&fixture.v1, &k.log).unwrap();
    }
    extended(&Chain::new(fixture.v1.clone()).unwrap(), &signed)
}

/// The chain with `version` added.
fn extended(chain: &Chain, version: &SignedGenesis) -> Chain {
    match chain.offer(version.to_text().as_bytes()).unwrap() {
        Offered::Extended { chain, .. } => chain,
        Offered::Known(_) => panic!("the version is new"),
    }
}

/// A gossiped version that does not follow the newest one held is not taken, and the chain
/// is asked of the peer that forwarded it (over the sync protocol) and verified from version 1.
#[tokio::test]
async fn on_a_gap_the_chain_is_asked_of_the_sender() {
    let fixture = fixture();
    // The sender holds versions 1 to 4; this node holds 1 and 2 and is sent version 4.
    let mut draft = GenesisBuilder::next_version(&fixture.v1);
    draft.member_mut("city-1").unwrap().name = "City finance".into();
    let mut v2 = draft
        .sign_next(&fixture.v1, &fixture.founders[0].log)
        .unwrap();
    v2.sign_next(&fixture.v1, &fixture.founders[1].log).unwrap();
    let two = extended(&Chain::new(fixture.v1.clone()).unwrap(), &v2);
    let three = extended(&two, &renaming(two.latest(), &fixture, "City bureau"));
    let v4 = renaming(three.latest(), &fixture, "City finance bureau");
    let four = extended(&three, &v4);

    let start = |secret: u8, bootstrap: Vec<libp2p::Multiaddr>| {
        crate::network::Network::start(crate::network::NetworkConfig {
            keypair: crate::network::identity_from_secret([secret; 32]).unwrap(),
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            bootstrap,
            members: Vec::new(),
            checkpoint_topic: "c".into(),
            evidence_topic: "e".into(),
            max_message_bytes: crate::network::MAX_GOSSIP_BYTES,
        })
    };
    // The sender: a peer that answers the chain request with versions 1 to 4.
    let (sender, mut sender_events) = start(8, Vec::new()).await.unwrap();
    let answering = sender.clone();
    let served = four.to_json();
    tokio::spawn(async move {
        while let Some(event) = sender_events.recv().await {
            if let crate::network::NetworkEvent::Request {
                request: crate::network::SyncRequest::Genesis,
                channel,
                ..
            } = event
            {
                let answer = crate::network::SyncResponse::Genesis(served.clone());
                let _ = answering.respond(channel, answer).await;
            }
        }
    });
    let (network, mut events) = start(7, sender.listen_addresses.clone()).await.unwrap();
    loop {
        match events.recv().await {
            Some(crate::network::NetworkEvent::Connected(peer)) if peer == sender.local_peer => {
                break;
            }
            Some(_) => {}
            None => panic!("the network stopped before connecting to the sender"),
        }
    }

    let live = LiveGenesis::new(two, None);
    let stop = crate::shutdown::Shutdown::new();
    let note = v4.to_text().into_bytes();
    let source = sender.local_peer;
    let verdict = gossip::received(&live, &network, &stop, source, note).await;
    assert_eq!(verdict, libp2p::gossipsub::MessageAcceptance::Ignore);
    let mut changed = live.subscribe();
    while live.current().sequence() < 4 {
        tokio::time::timeout(std::time::Duration::from_secs(20), changed.changed())
            .await
            .expect("the chain was fetched within 20 s")
            .unwrap();
    }
    assert_eq!(live.current().to_json(), four.to_json());
    // A version that does not verify is rejected (its sender's score drops).
    let verdict = gossip::received(&live, &network, &stop, source, b"garbage".to_vec()).await;
    assert_eq!(verdict, libp2p::gossipsub::MessageAcceptance::Reject);
    stop.cancel();
    network.shutdown().await;
}
