//! Building, signing, parsing and verifying a realistic network, and what it yields.

mod common;

use common::{NETWORK, network, sign_all};
use daylight_genesis::{Genesis, GenesisBuilder, GenesisError, Role, SignedGenesis};
use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::cosignature::cosign;
use daylight_verifier::hash::Hash;
use daylight_verifier::key::{KeyType, SigningKey};
use daylight_verifier::policy::PolicyError;

#[test]
fn sign_parse_verify_round_trip() {
    let (draft, keys) = network();
    let file = sign_all(&draft, &keys).to_text();
    let genesis = Genesis::open(file.as_bytes()).expect("valid genesis");

    assert_eq!(genesis.text(), draft.to_text());
    assert_eq!(genesis.to_text(), file);
    assert_eq!(
        genesis.id(),
        Hash::digest(draft.to_text().as_bytes()).to_hex()
    );
    assert_eq!(genesis.id().len(), 64);
    assert_eq!(genesis.network(), NETWORK);
    assert_eq!(genesis.members().len(), 4);
    assert_eq!(genesis.quorum(), 2);
    assert_eq!(genesis.note().signatures.len(), 4);

    // Parsing the text back gives the same draft, and the same bytes again.
    let reread = GenesisBuilder::from_text(genesis.text()).unwrap();
    assert_eq!(reread.to_text(), genesis.text());
    assert_eq!(reread.build().unwrap(), *genesis.definition());

    // Opening again gives the same id.
    assert_eq!(Genesis::open(file.as_bytes()).unwrap().id(), genesis.id());
}

#[test]
fn text_is_deterministic_whatever_the_order_of_additions() {
    let (draft, _keys) = network();
    let mut reversed = GenesisBuilder::new(NETWORK);
    for m in draft.members().iter().rev() {
        let mut m = m.clone();
        m.operators.reverse();
        reversed.add_member(m);
    }
    assert_eq!(reversed.to_text(), draft.to_text());
    assert_eq!(draft.to_text(), draft.clone().to_text());
    assert_eq!(draft.build().unwrap().to_text(), draft.to_text());
}

#[test]
fn canonical_text_has_the_documented_shape() {
    let (draft, _keys) = network();
    let text = draft.to_text();
    assert!(text.starts_with("version = 1\nnetwork = \"demo.daylight\"\nquorum = 2\n\n[audit]\n"));
    assert!(text.contains("\n[[members]]\nid = \"auditor-320200\"\nrole = \"auditor\"\n"));
    assert!(text.contains("duplicate_window_days = 30\n"));
    assert!(text.contains("min_notice_days = 10\n"));
    assert!(text.contains("approval_threshold = { CNY = 10000000 }\n"));
    assert!(text.ends_with("},\n]\n"));
    assert!(!text.contains('\t'));
}

#[test]
fn accessors_answer_from_the_definition() {
    let (draft, keys) = network();
    let genesis = sign_all(&draft, &keys).verify().unwrap();
    let ids: Vec<&str> = genesis.members().iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "auditor-320200",
            "city-320200",
            "county-320206",
            "county-320211"
        ]
    );
    let county = genesis.member("county-320206").unwrap();
    assert_eq!(county.role, Role::County);
    assert_eq!(county.parent.as_deref(), Some("city-320200"));
    assert_eq!(county.name, "惠山区财政局");
    assert!(genesis.member("county-999999").is_none());

    let children: Vec<&str> = genesis
        .children("city-320200")
        .iter()
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(
        children,
        ["auditor-320200", "county-320206", "county-320211"]
    );
    assert!(genesis.children("county-320206").is_empty());

    assert_eq!(
        genesis.origin("county-320206").unwrap(),
        "demo.daylight/county-320206"
    );
    assert!(matches!(
        genesis.origin("nobody"),
        Err(GenesisError::UnknownMember(_))
    ));
    let definition = genesis.definition();
    assert_eq!(
        definition
            .member_by_origin("demo.daylight/county-320211")
            .map(|m| m.id.as_str()),
        Some("county-320211")
    );
    assert!(
        definition
            .member_by_origin("other.net/county-320211")
            .is_none()
    );
    assert!(
        definition
            .member_by_origin("demo.daylightcounty-320211")
            .is_none()
    );

    let k = &keys["county-320206"];
    assert_eq!(
        genesis.operator_keys("county-320206").unwrap(),
        [k.operator.verifier()]
    );
    let attestors = genesis.attestor_keys("county-320206").unwrap();
    assert_eq!(attestors.len(), 1);
    assert_eq!(attestors[0].role, "township");
    assert_eq!(attestors[0].key, k.township.verifier());
    assert_eq!(
        county.attestors_with_role("township").collect::<Vec<_>>(),
        [&k.township.verifier()]
    );

    assert_eq!(
        genesis.checkpoint_topic(),
        format!("daylight/{}/checkpoints/1", genesis.id())
    );
    assert_eq!(
        genesis.evidence_topic(),
        format!("daylight/{}/evidence/1", genesis.id())
    );
    assert_eq!(genesis.audit().idle_red_days(), 180);
    assert_eq!(definition.founders().len(), 4);
}

#[test]
fn witnesses_default_to_every_other_member_and_can_be_listed() {
    let (mut draft, keys) = network();
    let witnesses = |d: &daylight_genesis::Definition, id: &str| -> Vec<String> {
        d.witnesses_of(id)
            .unwrap()
            .iter()
            .map(|m| m.id.clone())
            .collect()
    };
    let d = draft.build().unwrap();
    assert_eq!(
        witnesses(&d, "county-320206"),
        ["auditor-320200", "city-320200", "county-320211"]
    );

    draft.member_mut("county-320206").unwrap().witnesses =
        Some(vec!["city-320200".into(), "auditor-320200".into()]);
    let d = draft.build().unwrap();
    assert_eq!(
        witnesses(&d, "county-320206"),
        ["auditor-320200", "city-320200"]
    );
    let by: Vec<String> = d
        .witnessed_by("county-320211")
        .unwrap()
        .iter()
        .map(|m| m.id.clone())
        .collect();
    assert_eq!(by, ["auditor-320200", "city-320200"]);
    assert!(
        draft
            .to_text()
            .contains("witnesses = [\"auditor-320200\", \"city-320200\"]\n")
    );

    let genesis = sign_all(&draft, &keys).verify().unwrap();
    let policy = genesis.policy_for("county-320206").unwrap();
    assert_eq!(policy.witnesses().len(), 2);
}

#[test]
fn policy_accepts_quorum_and_refuses_less() {
    let (draft, keys) = network();
    let genesis = sign_all(&draft, &keys).verify().unwrap();
    let log = "county-320206";
    let policy = genesis.policy_for(log).unwrap();
    assert_eq!(policy.origin(), "demo.daylight/county-320206");
    assert_eq!(policy.quorum(), 2);
    assert_eq!(policy.witnesses().len(), 3);
    assert_eq!(policy.log_key(), &keys[log].log.verifier());

    let root = Hash::digest(b"some root");
    let origin = genesis.origin(log).unwrap();
    let mut note = Checkpoint::new(&origin, 7, root)
        .sign(&keys[log].log)
        .unwrap();

    // Log signature alone: refused.
    assert!(matches!(
        policy.verify(note.to_text().as_bytes()),
        Err(PolicyError::QuorumNotMet(_))
    ));
    // One witness: still refused.
    let cosig = cosign(&keys["city-320200"].witness, &note.text, 1_750_000_000).unwrap();
    note.signatures.push(cosig);
    assert!(matches!(
        policy.verify(note.to_text().as_bytes()),
        Err(PolicyError::QuorumNotMet(_))
    ));
    // A cosignature by the log's own witness key does not count: it is not its witness.
    let own = cosign(&keys[log].witness, &note.text, 1_750_000_000).unwrap();
    note.signatures.push(own);
    assert!(policy.verify(note.to_text().as_bytes()).is_err());
    // Two witnesses: trusted.
    let cosig = cosign(&keys["auditor-320200"].witness, &note.text, 1_750_000_001).unwrap();
    note.signatures.push(cosig);
    let trusted = policy.verify(note.to_text().as_bytes()).unwrap();
    assert_eq!(trusted.cosigners.len(), 2);
    assert_eq!(trusted.checkpoint.size, 7);

    // Another log's policy refuses this checkpoint.
    let other = genesis.policy_for("county-320211").unwrap();
    assert!(other.verify(note.to_text().as_bytes()).is_err());
    assert!(matches!(
        genesis.policy_for("county-000000"),
        Err(GenesisError::UnknownMember(_))
    ));
}

#[test]
fn founders_sign_one_after_another() {
    let (draft, keys) = network();
    let mut signed = draft.sign(&keys["city-320200"].log).unwrap();
    assert_eq!(
        signed.missing_founders().unwrap(),
        ["auditor-320200", "county-320206", "county-320211"]
    );
    // Passing the partly signed file along and signing it.
    let text = signed.to_text();
    signed = SignedGenesis::parse(text.as_bytes()).unwrap();
    signed.sign(&keys["county-320206"].log).unwrap();
    signed.sign(&keys["county-320206"].log).unwrap(); // idempotent
    assert_eq!(signed.note().signatures.len(), 2);
    match Genesis::open(signed.to_text().as_bytes()) {
        Err(GenesisError::MissingFounderSignatures { members }) => {
            assert_eq!(members, ["auditor-320200", "county-320211"])
        }
        other => panic!("expected missing founders, got {other:?}"),
    }
    signed.sign(&keys["county-320211"].log).unwrap();
    signed.sign(&keys["auditor-320200"].log).unwrap();
    assert!(signed.missing_founders().unwrap().is_empty());
    assert_eq!(
        signed.id(),
        Hash::digest(draft.to_text().as_bytes()).to_hex()
    );
    Genesis::open(signed.to_text().as_bytes()).unwrap();
}

#[test]
fn explicit_founders_only_need_their_own_signatures() {
    let (mut draft, keys) = network();
    draft.set_founders(Some(vec!["county-320206".into(), "city-320200".into()]));
    assert!(
        draft
            .to_text()
            .contains("founders = [\"city-320200\", \"county-320206\"]\n")
    );
    let mut signed = draft.sign(&keys["city-320200"].log).unwrap();
    assert!(matches!(
        signed.sign(&keys["auditor-320200"].log),
        Err(GenesisError::NotAFounderKey(_))
    ));
    signed.sign(&keys["county-320206"].log).unwrap();
    let genesis = Genesis::open(signed.to_text().as_bytes()).unwrap();
    assert_eq!(genesis.definition().founders().len(), 2);
}

#[test]
fn unknown_signers_are_ignored() {
    let (draft, keys) = network();
    let mut signed = sign_all(&draft, &keys);
    let stranger = SigningKey::generate("someone.else/log", KeyType::Ed25519).unwrap();
    let mut note = signed.note().clone();
    note.add_signature(&stranger).unwrap();
    signed = SignedGenesis::parse(note.to_text().as_bytes()).unwrap();
    let genesis = signed.verify().unwrap();
    assert_eq!(genesis.note().signatures.len(), 5);
}

#[test]
fn a_draft_survives_text_at_every_stage() {
    let empty = GenesisBuilder::new(NETWORK);
    let back = GenesisBuilder::from_text(&empty.to_text()).unwrap();
    assert_eq!(back, empty);
    assert!(matches!(back.build(), Err(GenesisError::NoMembers)));

    let (mut draft, _keys) = network();
    draft.set_quorum(3).audit_mut().idle_days = 60;
    draft
        .audit_mut()
        .entitlement_cap
        .insert("USD".into(), 500_000);
    let back = GenesisBuilder::from_text(&draft.to_text()).unwrap();
    assert_eq!(back.to_text(), draft.to_text());
    let d = back.build().unwrap();
    assert_eq!(d.quorum(), 3);
    assert_eq!(d.audit().idle_days, 60);
    assert_eq!(d.audit().entitlement_cap["USD"], 500_000);
    assert_eq!(d.to_builder().to_text(), draft.to_text());
}
