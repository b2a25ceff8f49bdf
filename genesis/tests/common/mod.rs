//! A realistic test network: a city, two of its counties and the city's audit office.

#![allow(dead_code)]

pub mod versions;

use std::collections::BTreeMap;

use daylight_genesis::{Attestor, GenesisBuilder, Member, Role, SignedGenesis, names};
use daylight_verifier::key::{KeyType, SigningKey};

/// The network name used by every test.
pub const NETWORK: &str = "demo.daylight";

/// The private keys of one member.
pub struct Keys {
    /// Log key (type 0x01), signs checkpoints and the genesis.
    pub log: SigningKey,
    /// Witness key (type 0x04), cosigns other logs.
    pub witness: SigningKey,
    /// One operator key.
    pub operator: SigningKey,
    /// One township attestor key.
    pub township: SigningKey,
}

/// (id, role, display name, division, parent)
pub const MEMBERS: [(&str, Role, &str, &str, Option<&str>); 4] = [
    ("city-320200", Role::City, "无锡市财政局", "320200", None),
    (
        "county-320206",
        Role::County,
        "惠山区财政局",
        "320206",
        Some("city-320200"),
    ),
    (
        "county-320211",
        Role::County,
        "滨湖区财政局",
        "320211",
        Some("city-320200"),
    ),
    (
        "auditor-320200",
        Role::Auditor,
        "无锡市审计局",
        "320200",
        Some("city-320200"),
    ),
];

/// Syntactically valid libp2p peer ids (Ed25519 identity multihashes of arbitrary bytes).
pub const PEER_IDS: [&str; 4] = [
    "12D3KooWNCwatBu2dqidu1ZLToByLrgGSDJFyfimRY6nt2WDki5x",
    "12D3KooWR8Q7vNvhjEv9SVSV59gAn3bcBKMzwUUECdgyP9k83s5K",
    "12D3KooWRZrmJcDNiYFebjaCMusoxCn8gLhDYZJKWdMH7HMpzEX6",
    "12D3KooWLNXErswccstujgcW3imymw75oVveX2c7rB3W39iqcKNm",
];

fn key(name: &str, key_type: KeyType, seed: Option<[u8; 32]>) -> SigningKey {
    match seed {
        Some(seed) => SigningKey::from_seed(name, key_type, seed).expect("valid name"),
        None => SigningKey::generate(name, key_type).expect("randomness"),
    }
}

/// Keys for member `id`: fresh, or derived from `seed` (deterministic, for the docs example).
pub fn keys_for(id: &str, seed: Option<u8>) -> Keys {
    let s = |k: u8| seed.map(|s| [s.wrapping_mul(4).wrapping_add(k); 32]);
    Keys {
        log: key(&names::log_key_name(NETWORK, id), KeyType::Ed25519, s(0)),
        witness: key(
            &names::witness_key_name(NETWORK, id),
            KeyType::Cosignature,
            s(1),
        ),
        operator: key(
            &names::operator_key_name(NETWORK, id, "clerk1"),
            KeyType::Ed25519,
            s(2),
        ),
        township: key(
            &names::attestor_key_name(NETWORK, id, "township", "office"),
            KeyType::Ed25519,
            s(3),
        ),
    }
}

/// A member with all fields filled, using `keys`.
pub fn member(index: usize, keys: &Keys) -> Member {
    let (id, role, name, division, parent) = MEMBERS[index];
    let mut m = Member::new(
        id,
        role,
        name,
        division,
        keys.log.verifier(),
        keys.witness.verifier(),
        PEER_IDS[index],
    );
    m.parent = parent.map(str::to_string);
    m.addresses = vec![format!("/ip4/127.0.0.1/tcp/{}", 4001 + index)];
    m.http = Some(format!("http://127.0.0.1:{}", 8081 + index));
    m.operators = vec![keys.operator.verifier()];
    m.attestors = vec![Attestor {
        role: "township".to_string(),
        key: keys.township.verifier(),
    }];
    m
}

/// The draft network and every member's keys, by id. `seed` None gives fresh keys.
pub fn network_with(seed: Option<u8>) -> (GenesisBuilder, BTreeMap<String, Keys>) {
    let mut draft = GenesisBuilder::new(NETWORK);
    let mut all = BTreeMap::new();
    for (index, (id, ..)) in MEMBERS.iter().enumerate() {
        let keys = keys_for(id, seed.map(|s| s.wrapping_add(index as u8 * 16)));
        draft.add_member(member(index, &keys));
        all.insert(id.to_string(), keys);
    }
    (draft, all)
}

/// The draft network with fresh keys.
pub fn network() -> (GenesisBuilder, BTreeMap<String, Keys>) {
    network_with(None)
}

/// Signs the draft with every member's log key.
pub fn sign_all(draft: &GenesisBuilder, keys: &BTreeMap<String, Keys>) -> SignedGenesis {
    let mut iter = keys.values();
    let first = iter.next().expect("members");
    let mut signed = draft.sign(&first.log).expect("valid draft");
    for k in iter {
        signed.sign(&k.log).expect("founder key");
    }
    signed
}
