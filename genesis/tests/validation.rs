//! One test per validation rule: each broken definition is refused with its own error.

mod common;

use common::{NETWORK, keys_for, member, network, sign_all};
use daylight_genesis::{
    Attestor, Genesis, GenesisBuilder, GenesisError, MAX_GENESIS_BYTES, Member, Role,
    SignedGenesis, names,
};
use daylight_verifier::key::{KeyType, SigningKey};

fn refused(draft: &GenesisBuilder) -> GenesisError {
    match draft.build() {
        Ok(_) => panic!("draft accepted:\n{}", draft.to_text()),
        Err(e) => {
            // Signing refuses it the same way.
            let key = SigningKey::generate("x", KeyType::Ed25519).unwrap();
            assert_eq!(draft.sign(&key).unwrap_err(), e);
            e
        }
    }
}

fn text_refused(text: &str) -> GenesisError {
    match GenesisBuilder::from_text(text).and_then(|d| d.build()) {
        Ok(_) => panic!("text accepted:\n{text}"),
        Err(e) => e,
    }
}

fn member_mut<'a>(draft: &'a mut GenesisBuilder, id: &str) -> &'a mut Member {
    draft.member_mut(id).expect("member exists")
}

const COUNTY: &str = "county-320206";

#[test]
fn invalid_toml_is_refused() {
    let e = text_refused("version = 1\nnetwork = \"demo.daylight\nquorum = 2\n");
    assert!(matches!(e, GenesisError::Toml(_)), "{e}");
}

#[test]
fn unknown_fields_are_refused_everywhere() {
    let (draft, _) = network();
    let text = draft.to_text();
    let cases = [
        text.replacen("quorum = 2\n", "quorum = 2\nextra = 1\n", 1),
        text.replacen("idle_days = 90\n", "idle_days = 90\nsurprise = 1\n", 1),
        text.replacen(
            "role = \"county\"\n",
            "role = \"county\"\nnickname = \"x\"\n",
            1,
        ),
        text.replacen(
            "{ role = \"township\",",
            "{ weight = 2, role = \"township\",",
            1,
        ),
    ];
    for case in cases {
        assert_ne!(case, text);
        let e = text_refused(&case);
        assert!(
            matches!(&e, GenesisError::Toml(m) if m.contains("unknown field")),
            "{e}"
        );
    }
}

#[test]
fn missing_fields_are_refused() {
    let (draft, _) = network();
    let text = draft.to_text();
    for line in [
        "quorum = 2\n",
        "idle_days = 90\n",
        "division = \"320206\"\n",
    ] {
        let e = text_refused(&text.replacen(line, "", 1));
        assert!(
            matches!(&e, GenesisError::Toml(m) if m.contains("missing field")),
            "{e}"
        );
    }
}

#[test]
fn unsupported_version_is_refused() {
    let (draft, _) = network();
    let text = draft.to_text().replacen("version = 1", "version = 2", 1);
    assert_eq!(text_refused(&text), GenesisError::UnsupportedVersion(2));
}

#[test]
fn invalid_network_name_is_refused() {
    let draft = GenesisBuilder::new("Demo/Daylight");
    assert!(matches!(
        refused(&draft),
        GenesisError::InvalidNetworkName(_)
    ));
}

#[test]
fn empty_network_is_refused() {
    assert_eq!(
        refused(&GenesisBuilder::new(NETWORK)),
        GenesisError::NoMembers
    );
}

#[test]
fn invalid_member_id_is_refused() {
    let (mut draft, _) = network();
    member_mut(&mut draft, COUNTY).id = "County 320206".into();
    assert!(matches!(refused(&draft), GenesisError::InvalidMemberId(_)));
}

#[test]
fn duplicate_member_ids_are_refused() {
    let (mut draft, _) = network();
    let keys = keys_for("county-320211", None);
    let mut twin = member(2, &keys);
    twin.id = COUNTY.into();
    draft.add_member(twin);
    assert_eq!(
        refused(&draft),
        GenesisError::DuplicateMember(COUNTY.into())
    );
}

#[test]
fn unknown_parent_is_refused() {
    let (mut draft, _) = network();
    member_mut(&mut draft, COUNTY).parent = Some("city-999999".into());
    assert_eq!(
        refused(&draft),
        GenesisError::UnknownParent {
            member: COUNTY.into(),
            parent: "city-999999".into()
        }
    );
}

#[test]
fn parent_cycles_are_refused() {
    let (mut draft, _) = network();
    member_mut(&mut draft, COUNTY).parent = Some("county-320211".into());
    member_mut(&mut draft, "county-320211").parent = Some(COUNTY.into());
    match refused(&draft) {
        GenesisError::ParentCycle { cycle } => {
            assert_eq!(cycle.first(), cycle.last());
            assert_eq!(cycle.len(), 3);
        }
        other => panic!("{other}"),
    }
    let (mut draft, _) = network();
    member_mut(&mut draft, "city-320200").parent = Some("city-320200".into());
    assert_eq!(
        refused(&draft),
        GenesisError::ParentCycle {
            cycle: vec!["city-320200".into(), "city-320200".into()]
        }
    );
}

#[test]
fn role_rules_are_enforced() {
    let cases: [(&str, Option<&str>, &str); 4] = [
        (COUNTY, None, "a county must have a city as parent"),
        (
            COUNTY,
            Some("auditor-320200"),
            "a county must have a city as parent",
        ),
        (
            "city-320200",
            Some("auditor-320200"),
            "a city has no parent; remove its parent",
        ),
        (
            "auditor-320200",
            Some("auditor-320200x"),
            "an auditor's parent, if any, must be a city or a county",
        ),
    ];
    for (id, parent, rule) in cases {
        let (mut draft, _) = network();
        if parent == Some("auditor-320200x") {
            let keys = keys_for("auditor-320200x", None);
            let mut second = member(3, &keys);
            second.id = "auditor-320200x".into();
            second.peer_id = "12D3KooWSecondAuditor".into();
            draft.add_member(second);
        }
        if id == "city-320200" {
            member_mut(&mut draft, "auditor-320200").parent = None;
        }
        member_mut(&mut draft, id).parent = parent.map(str::to_string);
        assert_eq!(
            refused(&draft),
            GenesisError::ParentRole {
                member: id.into(),
                rule
            },
            "{id} with parent {parent:?}"
        );
    }
    // An auditor without parent is fine.
    let (mut draft, _) = network();
    member_mut(&mut draft, "auditor-320200").parent = None;
    draft.build().unwrap();
}

fn field_of(e: GenesisError) -> String {
    match e {
        GenesisError::InvalidField { field, .. } => field,
        other => panic!("expected InvalidField, got {other}"),
    }
}

#[test]
fn invalid_plain_fields_are_refused() {
    type Edit = fn(&mut Member);
    let cases: [(Edit, &str); 9] = [
        (|m| m.name = "  ".into(), "name"),
        (|m| m.name = "tab\there".into(), "name"),
        (|m| m.division = "32O206".into(), "division"),
        (|m| m.division = String::new(), "division"),
        (|m| m.peer_id = "12D3 KooW".into(), "peer_id"),
        (
            |m| m.addresses.push("127.0.0.1:4001".into()),
            "addresses[1]",
        ),
        (|m| m.http = Some("ftp://example.org".into()), "http"),
        (|m| m.http = Some("http://".into()), "http"),
        (
            |m| {
                m.attestors[0].role = "operator".into();
            },
            "attestors[0].role",
        ),
    ];
    for (edit, field) in cases {
        let (mut draft, _) = network();
        edit(member_mut(&mut draft, COUNTY));
        assert_eq!(field_of(refused(&draft)), field);
    }
}

#[test]
fn unknown_role_is_refused() {
    let (draft, _) = network();
    let text = draft
        .to_text()
        .replacen("role = \"county\"", "role = \"province\"", 1);
    assert_eq!(field_of(text_refused(&text)), "role");
}

#[test]
fn malformed_keys_are_refused() {
    let (draft, keys) = network();
    let text = draft.to_text();
    let vkey = keys[COUNTY].log.verifier().to_string();
    // Change one character of the key material: the key ID no longer matches.
    let mut broken = vkey.clone();
    let last = broken.pop().unwrap();
    broken.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [
        broken.as_str(),
        "not a key",
        "demo.daylight/county-320206+zz+AAAA",
    ] {
        match text_refused(&text.replacen(&vkey, bad, 1)) {
            GenesisError::MalformedKey { member, field, .. } => {
                assert_eq!((member.as_str(), field.as_str()), (COUNTY, "log_key"))
            }
            other => panic!("expected MalformedKey, got {other}"),
        }
    }
    let op = keys[COUNTY].operator.verifier().to_string();
    match text_refused(&text.replacen(&op, "junk", 1)) {
        GenesisError::MalformedKey { field, .. } => assert_eq!(field, "operators[0]"),
        other => panic!("expected MalformedKey, got {other}"),
    }
}

fn mismatch_field(e: GenesisError) -> String {
    match e {
        GenesisError::KeyNameMismatch { field, .. } => field,
        other => panic!("expected KeyNameMismatch, got {other}"),
    }
}

#[test]
fn keys_named_for_another_place_are_refused() {
    let other = |name: &str, t| SigningKey::generate(name, t).unwrap().verifier();
    type Edit = Box<dyn Fn(&mut Member)>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(move |m| m.log_key = other("demo.daylight/county-320211", KeyType::Ed25519)),
            "log_key",
        ),
        (
            Box::new(move |m| m.log_key = other("other.net/county-320206", KeyType::Ed25519)),
            "log_key",
        ),
        (
            Box::new(move |m| {
                m.witness_key = other("demo.daylight/county-320206/witnes", KeyType::Cosignature)
            }),
            "witness_key",
        ),
        (
            Box::new(move |m| {
                m.operators.push(other(
                    "demo.daylight/county-320206/clerk/a",
                    KeyType::Ed25519,
                ))
            }),
            "operators[1]",
        ),
        (
            Box::new(move |m| {
                m.operators.push(other(
                    "demo.daylight/county-320206/operator/",
                    KeyType::Ed25519,
                ))
            }),
            "operators[1]",
        ),
        (
            Box::new(move |m| {
                m.attestors.push(Attestor {
                    role: "village_committee".into(),
                    key: other("demo.daylight/county-320206/township/b", KeyType::Ed25519),
                })
            }),
            "attestors[1].key",
        ),
    ];
    for (edit, field) in cases {
        let (mut draft, _) = network();
        edit(member_mut(&mut draft, COUNTY));
        assert_eq!(mismatch_field(refused(&draft)), field);
    }
}

#[test]
fn keys_of_the_wrong_type_are_refused() {
    let (mut draft, _) = network();
    let witness_as_log =
        SigningKey::generate(&names::log_key_name(NETWORK, COUNTY), KeyType::Cosignature).unwrap();
    member_mut(&mut draft, COUNTY).log_key = witness_as_log.verifier();
    assert!(matches!(
        refused(&draft),
        GenesisError::WrongKeyType { field, .. } if field == "log_key"
    ));

    let (mut draft, _) = network();
    let log_as_witness =
        SigningKey::generate(&names::witness_key_name(NETWORK, COUNTY), KeyType::Ed25519).unwrap();
    member_mut(&mut draft, COUNTY).witness_key = log_as_witness.verifier();
    assert!(matches!(
        refused(&draft),
        GenesisError::WrongKeyType { field, .. } if field == "witness_key"
    ));

    let (mut draft, _) = network();
    let name = names::operator_key_name(NETWORK, COUNTY, "clerk2");
    let cosigner = SigningKey::generate(&name, KeyType::Cosignature).unwrap();
    member_mut(&mut draft, COUNTY)
        .operators
        .push(cosigner.verifier());
    assert!(matches!(
        refused(&draft),
        GenesisError::WrongKeyType { field, .. } if field == "operators[1]"
    ));
}

#[test]
fn a_key_used_twice_is_refused() {
    // The same operator key accepted by two members (re-named, same public key).
    let (mut draft, _) = network();
    let seed = [9u8; 32];
    let a = SigningKey::from_seed(
        &names::operator_key_name(NETWORK, COUNTY, "shared"),
        KeyType::Ed25519,
        seed,
    )
    .unwrap();
    let b = SigningKey::from_seed(
        &names::operator_key_name(NETWORK, "county-320211", "shared"),
        KeyType::Ed25519,
        seed,
    )
    .unwrap();
    member_mut(&mut draft, COUNTY).operators.push(a.verifier());
    member_mut(&mut draft, "county-320211")
        .operators
        .push(b.verifier());
    assert_eq!(
        refused(&draft),
        GenesisError::DuplicateKey {
            first: "county-320206 operators[1]".into(),
            second: "county-320211 operators[1]".into(),
        }
    );

    // A witness key that is the log key under another name and type.
    let (mut draft, _) = network();
    let seed = [7u8; 32];
    let log = SigningKey::from_seed(
        &names::log_key_name(NETWORK, COUNTY),
        KeyType::Ed25519,
        seed,
    )
    .unwrap();
    let witness = SigningKey::from_seed(
        &names::witness_key_name(NETWORK, COUNTY),
        KeyType::Cosignature,
        seed,
    )
    .unwrap();
    let m = member_mut(&mut draft, COUNTY);
    m.log_key = log.verifier();
    m.witness_key = witness.verifier();
    assert!(matches!(refused(&draft), GenesisError::DuplicateKey { .. }));
}

#[test]
fn a_peer_id_used_twice_is_refused() {
    let (mut draft, _) = network();
    let peer = draft.member_mut("city-320200").unwrap().peer_id.clone();
    member_mut(&mut draft, COUNTY).peer_id = peer.clone();
    assert_eq!(
        refused(&draft),
        GenesisError::DuplicatePeerId {
            peer_id: peer,
            first: "city-320200".into(),
            second: COUNTY.into()
        }
    );
}

#[test]
fn witness_lists_must_name_other_members_once() {
    let (mut draft, _) = network();
    member_mut(&mut draft, COUNTY).witnesses = Some(vec!["city-320200".into(), "county-1".into()]);
    assert_eq!(
        refused(&draft),
        GenesisError::UnknownWitness {
            member: COUNTY.into(),
            witness: "county-1".into()
        }
    );

    let (mut draft, _) = network();
    member_mut(&mut draft, COUNTY).witnesses = Some(vec!["city-320200".into(), COUNTY.into()]);
    assert_eq!(refused(&draft), GenesisError::SelfWitness(COUNTY.into()));

    let (mut draft, _) = network();
    member_mut(&mut draft, COUNTY).witnesses =
        Some(vec!["city-320200".into(), "city-320200".into()]);
    assert_eq!(
        refused(&draft),
        GenesisError::DuplicateWitness {
            member: COUNTY.into(),
            witness: "city-320200".into()
        }
    );
}

#[test]
fn quorum_must_be_reachable_by_every_log() {
    let (mut draft, _) = network();
    draft.set_quorum(4);
    assert!(matches!(
        refused(&draft),
        GenesisError::QuorumTooLarge {
            quorum: 4,
            witnesses: 3,
            ..
        }
    ));

    let (mut draft, _) = network();
    member_mut(&mut draft, COUNTY).witnesses = Some(vec!["city-320200".into()]);
    assert_eq!(
        refused(&draft),
        GenesisError::QuorumTooLarge {
            member: COUNTY.into(),
            quorum: 2,
            witnesses: 1
        }
    );

    let (mut draft, _) = network();
    draft.set_quorum(0);
    assert_eq!(refused(&draft), GenesisError::QuorumZero);
}

#[test]
fn founders_list_must_name_members_once() {
    let (mut draft, _) = network();
    draft.set_founders(Some(vec!["city-320200".into(), "city-9".into()]));
    assert_eq!(
        refused(&draft),
        GenesisError::UnknownFounder("city-9".into())
    );

    draft.set_founders(Some(vec!["city-320200".into(), "city-320200".into()]));
    assert_eq!(
        refused(&draft),
        GenesisError::DuplicateFounder("city-320200".into())
    );

    draft.set_founders(Some(vec![]));
    assert_eq!(refused(&draft), GenesisError::NoFounders);
}

#[test]
fn more_founders_than_a_note_can_carry_are_refused() {
    let mut draft = GenesisBuilder::new(NETWORK);
    draft.set_quorum(1);
    let city = keys_for("city-320200", None);
    draft.add_member(member(0, &city));
    for i in 0..256 {
        let id = format!("auditor-{i}");
        let log = SigningKey::generate(&names::log_key_name(NETWORK, &id), KeyType::Ed25519)
            .unwrap()
            .verifier();
        let witness =
            SigningKey::generate(&names::witness_key_name(NETWORK, &id), KeyType::Cosignature)
                .unwrap()
                .verifier();
        let m = Member::new(
            &id,
            Role::Auditor,
            "审计",
            "320200",
            log,
            witness,
            &format!("peer{i}"),
        );
        draft.add_member(m);
    }
    assert_eq!(refused(&draft), GenesisError::TooManyFounders(257));
    draft.set_founders(Some(vec!["city-320200".into()]));
    let signed = draft.sign(&city.log).unwrap();
    Genesis::open(signed.to_text().as_bytes()).unwrap();
}

#[test]
fn invalid_audit_parameters_are_refused() {
    let (mut draft, _) = network();
    draft.audit_mut().duplicate_window_days = 0;
    assert!(matches!(
        refused(&draft),
        GenesisError::InvalidAudit { field, .. } if field == "duplicate_window_days"
    ));
    let (draft, _) = network();
    let text = draft
        .to_text()
        .replacen("{ CNY = 10000000 }", "{ CNY = -5 }", 1);
    assert!(matches!(text_refused(&text), GenesisError::Toml(_)));
    let text = draft
        .to_text()
        .replacen("{ CNY = 10000000 }", "{ cny = 5 }", 1);
    assert!(matches!(
        text_refused(&text),
        GenesisError::InvalidAudit { field, .. } if field == "approval_threshold.cny"
    ));
}

#[test]
fn missing_founding_signatures_are_refused() {
    let (draft, keys) = network();
    let signed = draft.sign(&keys["county-320211"].log).unwrap();
    let e = Genesis::open(signed.to_text().as_bytes()).unwrap_err();
    assert_eq!(
        e,
        GenesisError::MissingFounderSignatures {
            members: vec![
                "auditor-320200".into(),
                "city-320200".into(),
                "county-320206".into()
            ]
        }
    );
    assert!(e.to_string().contains("daylight genesis sign"));
}

#[test]
fn a_founding_signature_that_does_not_verify_is_refused() {
    let (draft, keys) = network();
    let file = sign_all(&draft, &keys).to_text();
    // Still a valid definition, but not the text that was signed.
    let altered = file.replacen("惠山区财政局", "惠山区财政局（改）", 1);
    assert_ne!(altered, file);
    let parsed = SignedGenesis::parse(altered.as_bytes()).unwrap();
    assert!(matches!(
        parsed.verify(),
        Err(GenesisError::BadFounderSignature(_))
    ));
    assert!(matches!(
        Genesis::open(altered.as_bytes()),
        Err(GenesisError::BadFounderSignature(_))
    ));
}

#[test]
fn signing_with_a_key_that_is_not_a_founders_log_key_is_refused() {
    let (draft, keys) = network();
    // Right name, wrong key.
    let impostor =
        SigningKey::generate(&names::log_key_name(NETWORK, COUNTY), KeyType::Ed25519).unwrap();
    assert!(matches!(
        draft.sign(&impostor),
        Err(GenesisError::NotAFounderKey(_))
    ));
    // A founder's witness or operator key is not its log key.
    let mut signed = draft.sign(&keys[COUNTY].log).unwrap();
    assert!(matches!(
        signed.sign(&keys[COUNTY].witness),
        Err(GenesisError::NotAFounderKey(_))
    ));
    assert!(matches!(
        signed.sign(&keys[COUNTY].operator),
        Err(GenesisError::NotAFounderKey(_))
    ));
    // An impostor's signature line, appended by hand, does not count for the founder.
    let mut note = signed.note().clone();
    note.add_signature(&impostor).unwrap();
    let parsed = SignedGenesis::parse(note.to_text().as_bytes()).unwrap();
    assert!(
        !parsed
            .missing_founders()
            .unwrap()
            .contains(&COUNTY.to_string())
    );
    let (draft2, keys2) = network();
    let mut only_impostor = draft2
        .sign(&keys2["city-320200"].log)
        .unwrap()
        .note()
        .clone();
    let impostor2 =
        SigningKey::generate(&names::log_key_name(NETWORK, COUNTY), KeyType::Ed25519).unwrap();
    only_impostor.add_signature(&impostor2).unwrap();
    let parsed = SignedGenesis::parse(only_impostor.to_text().as_bytes()).unwrap();
    assert!(
        parsed
            .missing_founders()
            .unwrap()
            .contains(&COUNTY.to_string())
    );
}

#[test]
fn files_that_are_not_signed_notes_are_refused() {
    let (draft, _) = network();
    assert!(matches!(
        SignedGenesis::parse(draft.to_text().as_bytes()),
        Err(GenesisError::NotANote(_))
    ));
    assert!(matches!(
        Genesis::open(b"\xff\xfe"),
        Err(GenesisError::NotANote(_))
    ));
    let huge = vec![b'a'; MAX_GENESIS_BYTES + 1];
    assert_eq!(
        Genesis::open(&huge),
        Err(GenesisError::TooLarge(MAX_GENESIS_BYTES + 1))
    );
}

#[test]
fn messages_say_what_to_do() {
    let (mut draft, _) = network();
    draft.set_quorum(4);
    let message = refused(&draft).to_string();
    assert!(
        message.contains("lower the quorum or add witnesses"),
        "{message}"
    );
    let (mut draft, _) = network();
    member_mut(&mut draft, COUNTY).parent = None;
    let message = refused(&draft).to_string();
    assert!(
        message.contains("county-320206") && message.contains("city"),
        "{message}"
    );
}
