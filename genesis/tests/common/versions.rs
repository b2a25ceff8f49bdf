//! A network of three genesis versions: version 2 adds a county, version 3 rotates a county's
//! log key, rotates another county's witness key and revokes its operator key (adding a new
//! one).

use std::collections::BTreeMap;

use daylight_genesis::{
    Attestor, Genesis, GenesisBuilder, GenesisChain, Member, Role, SignedGenesis, names,
};
use daylight_verifier::cosignature::cosign;
use daylight_verifier::hash::Hash;
use daylight_verifier::key::{KeyType, SigningKey};
use daylight_verifier::note::Note;

use super::{Keys, NETWORK, keys_for, network, sign_all};

/// The county version 2 adds.
pub const NEW_COUNTY: &str = "county-320213";
/// The county whose log key version 3 rotates.
pub const ROTATED: &str = "county-320206";
/// The county whose witness key version 3 rotates and whose operator key it revokes.
pub const REVOKING: &str = "county-320211";
/// The rotation point of the log key.
pub const ROTATION_SIZE: u64 = 10;
/// Old witness-key cosignatures count before this time.
pub const WITNESS_UNTIL: u64 = 1_800_000_000;
/// The index from which the revoked operator key stops counting.
pub const REVOKED_FROM: u64 = 5;

/// The root of the last checkpoint the old log key signed.
pub fn rotation_root() -> Hash {
    Hash::digest(b"root of size 10")
}

/// Everything about the three versions.
pub struct Versions {
    /// Every member's original keys, by id (including the county version 2 adds).
    pub keys: BTreeMap<String, Keys>,
    /// Version 3's new log key for [`ROTATED`].
    pub new_log: SigningKey,
    /// Version 3's new witness key for [`REVOKING`].
    pub new_witness: SigningKey,
    /// Version 3's new operator key for [`REVOKING`].
    pub new_operator: SigningKey,
    /// The signed versions.
    pub signed: [SignedGenesis; 3],
    /// The drafts of versions 2 and 3.
    pub drafts: [GenesisBuilder; 2],
}

impl Versions {
    /// Version 1, verified alone.
    pub fn v1(&self) -> Genesis {
        self.signed[0].clone().verify().expect("version 1 verifies")
    }

    /// The verified chain of all three versions.
    pub fn chain(&self) -> GenesisChain {
        let mut chain = GenesisChain::new(self.v1()).unwrap();
        for next in &self.signed[1..] {
            assert!(chain.extend(next.clone()).expect("version verifies"));
        }
        chain
    }

    /// The log key of member `id` (its original one).
    pub fn log(&self, id: &str) -> &SigningKey {
        &self.keys[id].log
    }

    /// The log keys of members `ids` (their original ones).
    pub fn logs(&self, ids: &[&str]) -> Vec<&SigningKey> {
        ids.iter().map(|id| self.log(id)).collect()
    }
}

/// The member version 2 adds, with `keys`.
pub fn new_county(keys: &Keys) -> Member {
    let mut m = Member::new(
        NEW_COUNTY,
        Role::County,
        "新吴区财政局",
        "320213",
        keys.log.verifier(),
        keys.witness.verifier(),
        "12D3KooWNewCountyPeer320213",
    );
    m.parent = Some("city-320200".to_string());
    m.operators = vec![keys.operator.verifier()];
    m.attestors = vec![Attestor {
        role: "township".to_string(),
        key: keys.township.verifier(),
    }];
    m
}

/// Signs a later-version draft with `signers` in turn (founders of `previous`, new keys).
pub fn sign_next(
    draft: &GenesisBuilder,
    previous: &Genesis,
    signers: &[&SigningKey],
) -> SignedGenesis {
    let mut signed = draft
        .sign_next(previous, signers[0])
        .expect("draft follows previous");
    for key in &signers[1..] {
        signed.sign_next(previous, key).expect("a version signer");
    }
    signed
}

/// A version forged by hand: `text` signed by `keys` (note signatures, or cosignatures for
/// witness keys), with no check at all.
pub fn forge(text: &str, keys: &[&SigningKey]) -> SignedGenesis {
    let mut note = Note {
        text: text.to_string(),
        signatures: Vec::new(),
    };
    for key in keys {
        match key.key_type() {
            KeyType::Ed25519 => note.add_signature(key).unwrap(),
            KeyType::Cosignature => note.signatures.push(cosign(key, text, 0).unwrap()),
        }
    }
    SignedGenesis::parse(note.to_text().as_bytes()).expect("a valid definition")
}

/// Builds the three versions.
pub fn versions() -> Versions {
    let (draft, mut keys) = network();
    let v1_signed = sign_all(&draft, &keys);
    let v1 = v1_signed.clone().verify().unwrap();

    let added = keys_for(NEW_COUNTY, None);
    let mut d2 = GenesisBuilder::next_version(&v1);
    d2.add_member(new_county(&added));
    let v2_signed = sign_next(
        &d2,
        &v1,
        &[
            &keys["city-320200"].log,
            &keys[ROTATED].log,
            &keys["auditor-320200"].log,
            &added.log,
            &added.witness,
            &added.operator,
            &added.township,
        ],
    );
    keys.insert(NEW_COUNTY.to_string(), added);
    let mut chain = GenesisChain::new(v1).unwrap();
    chain.extend(v2_signed.clone()).expect("version 2 verifies");
    let v2 = chain.latest().clone();

    let new_log =
        SigningKey::generate(&names::log_key_name(NETWORK, ROTATED), KeyType::Ed25519).unwrap();
    let new_witness = SigningKey::generate(
        &names::witness_key_name(NETWORK, REVOKING),
        KeyType::Cosignature,
    )
    .unwrap();
    let new_operator = SigningKey::generate(
        &names::operator_key_name(NETWORK, REVOKING, "clerk2"),
        KeyType::Ed25519,
    )
    .unwrap();
    let mut d3 = GenesisBuilder::next_version(&v2);
    d3.rotate_log_key(ROTATED, new_log.verifier(), ROTATION_SIZE, rotation_root())
        .unwrap()
        .rotate_witness_key(REVOKING, new_witness.verifier(), WITNESS_UNTIL)
        .unwrap()
        .revoke_key(REVOKING, &keys[REVOKING].operator.verifier(), REVOKED_FROM)
        .unwrap();
    d3.member_mut(REVOKING)
        .unwrap()
        .operators
        .push(new_operator.verifier());
    let v3_signed = sign_next(
        &d3,
        &v2,
        &[
            &keys["city-320200"].log,
            &keys[REVOKING].log,
            &keys[NEW_COUNTY].log,
            &new_log,
            &new_witness,
            &new_operator,
        ],
    );
    Versions {
        keys,
        new_log,
        new_witness,
        new_operator,
        signed: [v1_signed, v2_signed, v3_signed],
        drafts: [d2, d3],
    }
}
