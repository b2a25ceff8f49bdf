//! The lifecycle keys of one version (`sequence`, `previous`, `founder_threshold`, and per
//! member `retired`, `previous_log_keys`, `previous_witness_keys`, `revoked`): how they are
//! written and read, the rules they follow, the amending edits, and the trust policy and
//! accepted keys they give.

mod common;

use common::versions::{
    REVOKED_FROM, REVOKING, ROTATED, ROTATION_SIZE, WITNESS_UNTIL, rotation_root, versions,
};
use common::{NETWORK, network, sign_all};
use daylight_genesis::{
    Genesis, GenesisBuilder, GenesisError, PreviousLogKey, PreviousWitnessKey, Retirement,
    RevokedKey, names,
};
use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::cosignature::cosign;
use daylight_verifier::hash::Hash;
use daylight_verifier::key::{KeyType, SigningKey};
use daylight_verifier::policy::PolicyError;
use daylight_verifier::record::{MemberId, Record, prepare_signatures};

const COUNTY: &str = "county-320206";

fn docs_example() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/genesis.md");
    let doc = std::fs::read_to_string(path).expect("docs/genesis.md exists");
    let start = doc
        .find("<!-- example:begin -->\n```text\n")
        .expect("marker")
        + "<!-- example:begin -->\n```text\n".len();
    let end = doc[start..]
        .find("```\n<!-- example:end -->")
        .expect("marker");
    doc[start..start + end].to_string()
}

fn key(name: &str, key_type: KeyType) -> SigningKey {
    SigningKey::generate(name, key_type).unwrap()
}

fn refused(draft: &GenesisBuilder) -> GenesisError {
    match draft.build() {
        Ok(_) => panic!("draft accepted:\n{}", draft.to_text()),
        Err(e) => e,
    }
}

#[test]
fn a_first_version_without_new_keys_keeps_its_text_and_id() {
    let file = docs_example();
    let genesis = Genesis::open(file.as_bytes()).unwrap();
    let text = genesis.text();
    assert_eq!(GenesisBuilder::from_text(text).unwrap().to_text(), text);
    assert_eq!(genesis.definition().to_text(), text);
    assert_eq!(
        genesis.id(),
        "ef841bb413fb330b60912f1408aa1a61be722396fc70655b6f29a17ed8f82145"
    );
    assert_eq!(genesis.network_id(), genesis.id());
    assert_eq!(genesis.sequence(), 1);
    assert_eq!(genesis.previous(), None);
    for absent in [
        "sequence",
        "previous",
        "founder_threshold",
        "retired",
        "revoked",
        "previous_",
    ] {
        assert!(!text.contains(absent), "{absent}");
    }
    // `sequence = 1` may be written; the canonical text omits it.
    let explicit = text.replacen(
        "network = \"demo.daylight\"\n",
        "network = \"demo.daylight\"\nsequence = 1\n",
        1,
    );
    assert_ne!(explicit, text);
    assert_eq!(
        GenesisBuilder::from_text(&explicit).unwrap().to_text(),
        text
    );
    // A first version with a majority threshold of its 4 founders.
    assert_eq!(genesis.definition().founder_threshold(), 3);
}

#[test]
fn history_keys_are_written_canonically_and_read_back() {
    let (mut draft, _) = network();
    let old_log = key(&names::log_key_name(NETWORK, COUNTY), KeyType::Ed25519);
    let old_witness = key(
        &names::witness_key_name(NETWORK, COUNTY),
        KeyType::Cosignature,
    );
    let revoked = key(
        &names::attestor_key_name(NETWORK, COUNTY, "village_committee", "old"),
        KeyType::Ed25519,
    );
    draft
        .set_version(4, Some(Hash::digest(b"v3").to_hex()))
        .set_founder_threshold(Some(2));
    let m = draft.member_mut(COUNTY).unwrap();
    m.previous_log_keys.push(PreviousLogKey {
        key: old_log.verifier(),
        last_size: 12,
        last_root: Hash::digest(b"12"),
    });
    m.previous_witness_keys.push(PreviousWitnessKey {
        key: old_witness.verifier(),
        until: 1_800_000_000,
    });
    m.revoked.push(RevokedKey {
        key: revoked.verifier(),
        from_index: 40,
    });
    m.retired = Some(Retirement {
        size: 50,
        root: Hash::digest(b"50"),
    });
    let text = draft.to_text();
    let head = format!(
        "version = 1\nnetwork = \"demo.daylight\"\nsequence = 4\nprevious = \"{}\"\nfounder_threshold = 2\nquorum = 2\n",
        Hash::digest(b"v3").to_hex()
    );
    assert!(text.starts_with(&head), "{text}");
    let member = format!(
        "retired = {{ size = 50, root = \"{}\" }}\nprevious_log_keys = [\n  {{ key = \"{}\", last_size = 12, last_root = \"{}\" }},\n]\nprevious_witness_keys = [\n  {{ key = \"{}\", until = 1800000000 }},\n]\nrevoked = [\n  {{ key = \"{}\", from_index = 40 }},\n]\n",
        Hash::digest(b"50").to_base64(),
        old_log.verifier(),
        Hash::digest(b"12").to_base64(),
        old_witness.verifier(),
        revoked.verifier(),
    );
    assert!(text.contains(&member), "{text}");
    let back = GenesisBuilder::from_text(&text).unwrap();
    assert_eq!(back.build().unwrap(), draft.build().unwrap());
    assert_eq!(back.to_text(), text);
    let d = back.build().unwrap();
    assert_eq!(d.sequence(), 4);
    assert_eq!(d.founder_threshold(), 2);
    assert!(d.member(COUNTY).unwrap().is_retired());

    // Unknown keys are refused inside the new tables too.
    for (from, to) in [
        ("{ size = 50,", "{ size = 50, when = 1,"),
        ("last_size = 12,", "last_size = 12, first_size = 1,"),
        ("until = 1800000000 }", "until = 1800000000, since = 1 }"),
        ("from_index = 40 }", "from_index = 40, reason = \"leak\" }"),
    ] {
        let e = GenesisBuilder::from_text(&text.replacen(from, to, 1)).unwrap_err();
        assert!(
            matches!(&e, GenesisError::Toml(m) if m.contains("unknown field")),
            "{e}"
        );
    }
    let e = GenesisBuilder::from_text(&text.replacen("last_root = \"", "last_root = \"x", 1))
        .unwrap_err();
    assert!(
        matches!(&e, GenesisError::InvalidField { field, .. } if field == "previous_log_keys[0].last_root"),
        "{e}"
    );
}

#[test]
fn version_fields_follow_their_rules() {
    let (mut draft, _) = network();
    draft.set_version(0, None);
    assert_eq!(refused(&draft), GenesisError::InvalidSequence(0));
    draft.set_version(2, None);
    assert_eq!(
        refused(&draft),
        GenesisError::MissingPrevious { sequence: 2 }
    );
    draft.set_version(1, Some(Hash::digest(b"x").to_hex()));
    assert_eq!(refused(&draft), GenesisError::PreviousInFirstVersion);
    draft.set_version(2, Some("ABC".into()));
    assert_eq!(refused(&draft), GenesisError::InvalidPrevious("ABC".into()));
    draft.set_version(1, None);
    for threshold in [0, 5] {
        draft.set_founder_threshold(Some(threshold));
        assert_eq!(
            refused(&draft),
            GenesisError::InvalidFounderThreshold {
                threshold,
                founders: 4
            }
        );
    }
    draft.set_founder_threshold(Some(4));
    assert!(draft.build().is_ok());
}

#[test]
fn a_retired_member_is_no_founder_and_no_witness() {
    let (mut draft, _) = network();
    let point = Retirement {
        size: 3,
        root: Hash::digest(b"3"),
    };
    draft.member_mut("county-320211").unwrap().retired = Some(point);
    let d = draft.build().unwrap();
    let ids = |members: Vec<&daylight_genesis::Member>| -> Vec<String> {
        members.iter().map(|m| m.id.clone()).collect()
    };
    assert_eq!(
        ids(d.founders()),
        ["auditor-320200", "city-320200", "county-320206"]
    );
    assert_eq!(
        ids(d.witnesses_of(COUNTY).unwrap()),
        ["auditor-320200", "city-320200"]
    );
    assert_eq!(
        ids(d.witnesses_of("county-320211").unwrap()),
        ["auditor-320200", "city-320200", "county-320206"]
    );
    assert!(d.witnessed_by("county-320211").unwrap().is_empty());
    assert!(
        ids(d.witnessed_by("city-320200").unwrap()).contains(&"county-320211".to_string()),
        "a retired log stays witnessed"
    );

    let mut listed = draft.clone();
    listed.set_founders(Some(vec!["county-320211".into()]));
    assert_eq!(
        refused(&listed),
        GenesisError::RetiredFounder("county-320211".into())
    );
    let mut listed = draft.clone();
    listed.member_mut(COUNTY).unwrap().witnesses =
        Some(vec!["county-320211".into(), "city-320200".into()]);
    assert_eq!(
        refused(&listed),
        GenesisError::RetiredWitness {
            member: COUNTY.into(),
            witness: "county-320211".into()
        }
    );
    // With two retired, the others have one witness left: below the quorum of 2.
    let mut two = draft.clone();
    two.member_mut("auditor-320200").unwrap().retired = Some(point);
    assert!(matches!(refused(&two), GenesisError::QuorumTooLarge { .. }));
    // With every member retired, no log has a witness left.
    let mut all = draft.clone();
    all.set_quorum(1);
    for m in ["auditor-320200", "city-320200", COUNTY] {
        all.member_mut(m).unwrap().retired = Some(point);
    }
    assert!(matches!(
        refused(&all),
        GenesisError::QuorumTooLarge { witnesses: 0, .. }
    ));
}

#[test]
fn history_keys_are_checked() {
    let base = network().0;
    let old_log = || key(&names::log_key_name(NETWORK, COUNTY), KeyType::Ed25519);
    let point = |key: &SigningKey, size| PreviousLogKey {
        key: key.verifier(),
        last_size: size,
        last_root: Hash::digest(b"r"),
    };

    // Rotation points must increase.
    let mut draft = base.clone();
    let m = draft.member_mut(COUNTY).unwrap();
    m.previous_log_keys = vec![point(&old_log(), 9), point(&old_log(), 9)];
    assert!(matches!(
        refused(&draft),
        GenesisError::InvalidField { field, .. } if field == "previous_log_keys[1].last_size"
    ));
    // Earlier keys are named like the current ones and of the same type.
    let mut draft = base.clone();
    let wrong = key("demo.daylight/county-320211", KeyType::Ed25519);
    draft.member_mut(COUNTY).unwrap().previous_log_keys = vec![point(&wrong, 1)];
    assert!(matches!(
        refused(&draft),
        GenesisError::KeyNameMismatch { .. }
    ));
    let mut draft = base.clone();
    let wrong = key(&names::witness_key_name(NETWORK, COUNTY), KeyType::Ed25519);
    draft.member_mut(COUNTY).unwrap().previous_witness_keys = vec![PreviousWitnessKey {
        key: wrong.verifier(),
        until: 1,
    }];
    assert!(matches!(refused(&draft), GenesisError::WrongKeyType { .. }));
    // A revoked key is named like an operator or attestor key of the member.
    let mut draft = base.clone();
    let wrong = key("demo.daylight/county-320206/witness", KeyType::Ed25519);
    draft.member_mut(COUNTY).unwrap().revoked = vec![RevokedKey {
        key: wrong.verifier(),
        from_index: 1,
    }];
    assert!(matches!(
        refused(&draft),
        GenesisError::KeyNameMismatch { .. }
    ));
    // No key twice, history included.
    let mut draft = base.clone();
    let operator = draft.member_mut("county-320211").unwrap().operators[0].clone();
    let reused = daylight_verifier::key::VerifierKey::new(
        &names::log_key_name(NETWORK, COUNTY),
        KeyType::Ed25519,
        operator.public_key(),
    )
    .unwrap();
    draft.member_mut(COUNTY).unwrap().previous_log_keys = vec![PreviousLogKey {
        key: reused,
        last_size: 1,
        last_root: Hash::digest(b"r"),
    }];
    assert!(matches!(refused(&draft), GenesisError::DuplicateKey { .. }));
    // A log retires at or after its last rotation.
    let mut draft = base.clone();
    let m = draft.member_mut(COUNTY).unwrap();
    m.previous_log_keys = vec![point(&old_log(), 9)];
    m.retired = Some(Retirement {
        size: 8,
        root: Hash::digest(b"8"),
    });
    assert!(matches!(
        refused(&draft),
        GenesisError::InvalidField { field, .. } if field == "retired"
    ));
}

#[test]
fn amending_edits_refuse_what_the_rules_forbid() {
    let (draft, keys) = network();
    let v1 = sign_all(&draft, &keys).verify().unwrap();
    let mut next = GenesisBuilder::next_version(&v1);
    assert_eq!(next.sequence(), 2);
    assert_eq!(next.previous(), Some(v1.id()));
    let root = Hash::digest(b"r");
    assert!(matches!(
        next.retire_member("county-999999", 1, root),
        Err(GenesisError::UnknownMember(_))
    ));
    assert!(matches!(
        next.rotate_log_key(COUNTY, keys[COUNTY].log.verifier(), 1, root),
        Err(GenesisError::InvalidField { .. })
    ));
    assert!(matches!(
        next.rotate_witness_key(COUNTY, keys[COUNTY].witness.verifier(), 1),
        Err(GenesisError::InvalidField { .. })
    ));
    let e = next
        .revoke_key(COUNTY, &keys["county-320211"].operator.verifier(), 1)
        .unwrap_err();
    assert!(
        e.to_string().contains("is not an operator or attestor key"),
        "{e}"
    );
    assert!(matches!(
        next.set_witnesses("nobody", None),
        Err(GenesisError::UnknownMember(_))
    ));
    // Retiring takes the member off founders and witness lists.
    next.set_founders(Some(vec![COUNTY.into(), "city-320200".into()]));
    next.set_witnesses(
        "city-320200",
        Some(vec![COUNTY.into(), "auditor-320200".into()]),
    )
    .unwrap();
    next.set_quorum(1);
    next.retire_member(COUNTY, 4, root).unwrap();
    next.retire_member(COUNTY, 4, root).unwrap(); // the same point again: fine
    assert!(next.retire_member(COUNTY, 5, root).is_err());
    let d = next.build_next(&v1).unwrap();
    assert_eq!(d.founders().len(), 1);
    assert_eq!(d.witnesses_of("city-320200").unwrap().len(), 1);
    // A rotation point must come after the previous one.
    let mut next = GenesisBuilder::next_version(&v1);
    let k = |seed| {
        SigningKey::from_seed(
            &names::log_key_name(NETWORK, COUNTY),
            KeyType::Ed25519,
            [seed; 32],
        )
        .unwrap()
    };
    next.rotate_log_key(COUNTY, k(1).verifier(), 10, root)
        .unwrap();
    assert!(
        next.rotate_log_key(COUNTY, k(2).verifier(), 10, root)
            .is_err()
    );
}

/// A checkpoint of the rotated log, signed by `log`, cosigned by two of its witnesses.
fn checkpoint(v: &common::versions::Versions, log: &SigningKey, size: u64, root: Hash) -> String {
    let origin = names::origin(NETWORK, ROTATED);
    let mut note = Checkpoint::new(&origin, size, root).sign(log).unwrap();
    for w in ["city-320200", "auditor-320200"] {
        note.signatures
            .push(cosign(&v.keys[w].witness, &note.text, 1_700_000_000).unwrap());
    }
    note.to_text()
}

#[test]
fn the_latest_policy_verifies_the_whole_history() {
    let v = versions();
    let chain = v.chain();
    let policy = chain.latest().policy_for(ROTATED).unwrap();
    let old = v.log(ROTATED);
    let root = rotation_root();
    // Up to the rotation point, the old key.
    assert!(
        policy
            .verify(checkpoint(&v, old, 4, Hash::digest(b"4")).as_bytes())
            .is_ok()
    );
    assert!(
        policy
            .verify(checkpoint(&v, old, ROTATION_SIZE, root).as_bytes())
            .is_ok()
    );
    // At the point, another root is refused.
    let e = policy
        .verify(checkpoint(&v, old, ROTATION_SIZE, Hash::digest(b"x")).as_bytes())
        .unwrap_err();
    assert!(matches!(e, PolicyError::RotationRootMismatch { .. }), "{e}");
    // After it, the old key is refused and the new one needed.
    let e = policy
        .verify(checkpoint(&v, old, 11, Hash::digest(b"11")).as_bytes())
        .unwrap_err();
    assert!(matches!(e, PolicyError::SignedAfterRotation { .. }), "{e}");
    assert!(
        policy
            .verify(checkpoint(&v, &v.new_log, 11, Hash::digest(b"11")).as_bytes())
            .is_ok()
    );
    assert_eq!(
        policy.rotation_point_before(11),
        Some((ROTATION_SIZE, root))
    );
    // Version 1's policy knew only the old key.
    let v1_policy = chain.version(1).unwrap().policy_for(ROTATED).unwrap();
    assert!(
        v1_policy
            .verify(checkpoint(&v, &v.new_log, 11, Hash::digest(b"11")).as_bytes())
            .is_err()
    );

    // The rotated witness key counts on cosignatures made before its `until`.
    let policy = chain.latest().policy_for(ROTATED).unwrap();
    let origin = names::origin(NETWORK, ROTATED);
    let cosigned = |at: u64| {
        let mut note = Checkpoint::new(&origin, 12, Hash::digest(b"12"))
            .sign(&v.new_log)
            .unwrap();
        note.signatures
            .push(cosign(&v.keys["city-320200"].witness, &note.text, at).unwrap());
        note.signatures
            .push(cosign(&v.keys[REVOKING].witness, &note.text, at).unwrap());
        note.to_text()
    };
    assert!(
        policy
            .verify(cosigned(WITNESS_UNTIL - 1).as_bytes())
            .is_ok()
    );
    let e = policy
        .verify(cosigned(WITNESS_UNTIL).as_bytes())
        .unwrap_err();
    assert!(e.to_string().contains("earlier witness key"), "{e}");
}

#[test]
fn a_retired_log_ends_at_its_retirement_point() {
    let v = versions();
    let chain = v.chain();
    let v3 = chain.latest();
    let mut draft = GenesisBuilder::next_version(v3);
    let end = Hash::digest(b"end");
    draft.retire_member(ROTATED, 20, end).unwrap();
    let signed = common::versions::sign_next(
        &draft,
        v3,
        &[
            v.log("city-320200"),
            v.log(REVOKING),
            v.log("county-320213"),
        ],
    );
    let mut chain = chain.clone();
    chain.extend(signed).unwrap();
    let policy = chain.latest().policy_for(ROTATED).unwrap();
    assert!(
        policy
            .verify(checkpoint(&v, &v.new_log, 20, end).as_bytes())
            .is_ok()
    );
    assert!(
        policy
            .verify(checkpoint(&v, v.log(ROTATED), 3, Hash::digest(b"3")).as_bytes())
            .is_ok()
    );
    let e = policy
        .verify(checkpoint(&v, &v.new_log, 21, end).as_bytes())
        .unwrap_err();
    assert!(
        matches!(
            e,
            PolicyError::BeyondRetirement {
                retired_size: 20,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("retired"), "{e}");
    let e = policy
        .verify(checkpoint(&v, &v.new_log, 20, Hash::digest(b"other")).as_bytes())
        .unwrap_err();
    assert!(
        matches!(e, PolicyError::RetirementRootMismatch { .. }),
        "{e}"
    );
}

#[test]
fn a_revoked_operator_key_signs_only_before_its_index() {
    let v = versions();
    let keys = v.chain().latest().accepted_keys(REVOKING).unwrap();
    let member = MemberId::parse(REVOKING).unwrap();
    let record = Record::from_value(serde_json::json!({
        "v": 1, "rid": "county-320211-a-1", "kind": "allocation",
        "event_date": "2024-03-05", "program": "r24",
        "payer": {"member": REVOKING},
        "payee": {"org": {"name": "Coop"}},
        "amount": {"minor": "100000", "currency": "CNY"},
        "purpose": "Road repair"
    }))
    .unwrap()
    .sign(&v.keys[REVOKING].operator);
    // A new submission is refused, naming the revocation.
    let e = prepare_signatures(&record, &keys).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains(
            "was revoked from index 5 (genesis version 3); sign with a current operator key"
        ),
        "{text}"
    );
    // Entries logged before the index keep their signature; from it on they do not.
    let before = prepare_signatures(&record, &keys.at_index(REVOKED_FROM - 1)).unwrap();
    assert!(before.verify().is_ok());
    assert!(prepare_signatures(&record, &keys.at_index(REVOKED_FROM)).is_err());
    let _ = member;
}
