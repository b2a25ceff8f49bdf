//! The genesis chain: three versions verify; each forged version is refused with a message
//! saying what is wrong; a pinned version is followed; the JSON form round-trips and is never
//! trusted.

mod common;

use common::versions::{
    NEW_COUNTY, REVOKED_FROM, REVOKING, ROTATED, forge, new_county, sign_next, versions,
};
use common::{keys_for, sign_all};
use daylight_genesis::{Genesis, GenesisBuilder, GenesisChain, GenesisError, SignedGenesis};
use daylight_verifier::SigningKey;
use daylight_verifier::hash::Hash;

#[test]
fn three_versions_verify() {
    let v = versions();
    let chain = v.chain();
    assert_eq!(chain.versions().len(), 3);
    let (v1, v3) = (chain.version(1).unwrap(), chain.latest());
    assert_eq!(v3.sequence(), 3);
    assert_eq!(v3.previous(), Some(chain.version(2).unwrap().id()));
    assert_eq!(chain.network_id(), v1.id());
    for version in chain.versions() {
        assert_eq!(version.network_id(), v1.id());
        assert_eq!(version.checkpoint_topic(), v1.checkpoint_topic());
        assert_eq!(version.evidence_topic(), v1.evidence_topic());
    }
    assert_ne!(v3.id(), v1.id());
    assert!(v3.member(NEW_COUNTY).is_some());
    assert_eq!(v3.member(ROTATED).unwrap().log_key, v.new_log.verifier());
    assert_eq!(v3.member(ROTATED).unwrap().previous_log_keys.len(), 1);
    assert_eq!(chain.version_by_id(v1.id()), Some(v1));
    assert!(chain.version(0).is_none() && chain.version(4).is_none());

    // Extending with a version already held changes nothing.
    let mut again = chain.clone();
    assert!(!again.extend(v.signed[1].clone()).unwrap());
    assert!(!again.extend(v.signed[2].clone()).unwrap());
    assert_eq!(again, chain);

    // The revocation names the version that made it.
    let operator = v.keys[REVOKING].operator.verifier();
    assert_eq!(v3.revoked_in(&operator), Some(3));
    let keys = v3.accepted_keys(REVOKING).unwrap();
    let revocation = keys.revocation(&operator).expect("revoked");
    assert_eq!(revocation.from_index, REVOKED_FROM);
    assert_eq!(revocation.genesis_version, Some(3));
    assert!(!keys.is_operator(&operator));
    assert!(keys.at_index(REVOKED_FROM - 1).is_operator(&operator));
    assert!(keys.is_operator(&v.new_operator.verifier()));
}

#[test]
fn a_later_version_does_not_open_alone() {
    let v = versions();
    let text = v.signed[1].to_text();
    let e = Genesis::open(text.as_bytes()).unwrap_err();
    assert!(
        matches!(e, GenesisError::NeedsPreviousVersion { sequence: 2, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("daylight genesis update"), "{e}");
    let e = GenesisChain::parse_any(text.as_bytes()).unwrap_err();
    assert!(
        matches!(e, GenesisError::NeedsPreviousVersion { .. }),
        "{e}"
    );
    // Nor can it be signed or listed as a first version.
    let mut signed = v.signed[1].clone();
    assert!(matches!(
        signed.sign(v.log("city-320200")),
        Err(GenesisError::NeedsPreviousVersion { .. })
    ));
    assert!(signed.missing_founders().is_err());
    let e = GenesisChain::new(v.chain().latest().clone()).unwrap_err();
    assert_eq!(e, GenesisError::NotFirstVersion(3));
}

#[test]
fn too_few_founder_signatures_are_refused() {
    let v = versions();
    let v1 = v.v1();
    let added = &v.keys[NEW_COUNTY];
    // Two of the four founders of version 1; three (a majority) are needed.
    let signed = sign_next(
        &v.drafts[0],
        &v1,
        &[
            v.log("city-320200"),
            v.log(ROTATED),
            &added.log,
            &added.witness,
            &added.operator,
            &added.township,
        ],
    );
    let status = signed.next_signatures(&v1).unwrap();
    assert_eq!(status.required, 3);
    assert_eq!(status.founders_signed.len(), 2);
    assert!(!status.is_complete());
    let e = GenesisChain::new(v1).unwrap().extend(signed).unwrap_err();
    assert!(
        matches!(&e, GenesisError::TooFewFounderSignatures { required: 3, signed, .. } if signed.len() == 2),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("signed by 2 founder(s) of version 1"),
        "{text}"
    );
    assert!(text.contains("3 required"), "{text}");
    assert!(text.contains("auditor-320200, county-320211"), "{text}");
}

#[test]
fn a_founder_threshold_changes_how_many_sign_the_next_version() {
    let v = versions();
    let chain = v.chain();
    let mut draft = GenesisBuilder::next_version(chain.latest());
    draft.set_founder_threshold(Some(1));
    // The threshold is for the next version: version 4 itself needs version 3's majority.
    let one = sign_next(&draft, chain.latest(), &[v.log("city-320200")]);
    let mut chain4 = chain.clone();
    assert!(chain4.extend(one).is_err());
    let signed = sign_next(
        &draft,
        chain.latest(),
        &[v.log("city-320200"), v.log(REVOKING), v.log(NEW_COUNTY)],
    );
    chain4.extend(signed).unwrap();
    assert_eq!(chain4.latest().definition().founder_threshold(), 1);
    // Version 5 needs one founder of version 4.
    let draft = GenesisBuilder::next_version(chain4.latest());
    let signed = sign_next(&draft, chain4.latest(), &[v.log("auditor-320200")]);
    chain4.extend(signed).unwrap();
    assert_eq!(chain4.latest().sequence(), 5);
}

#[test]
fn a_missing_proof_of_possession_is_refused() {
    let v = versions();
    let chain = v.chain();
    let v2 = chain.version(2).unwrap();
    let founders = [v.log("city-320200"), v.log(REVOKING), v.log(NEW_COUNTY)];

    // The new log key did not sign.
    let mut signers: Vec<_> = founders.to_vec();
    signers.extend([&v.new_witness, &v.new_operator]);
    let signed = sign_next(&v.drafts[1], v2, &signers);
    let missing = signed.next_signatures(v2).unwrap().proofs_missing;
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].field, "log_key");
    let mut held = GenesisChain::follow(v2.id(), &v.signed[..2]).unwrap();
    let e = held.extend(signed).unwrap_err();
    assert!(
        matches!(&e, GenesisError::MissingProofOfPossession { member, field, .. } if member == ROTATED && field == "log_key"),
        "{e}"
    );
    assert!(e.to_string().contains("proof of possession"), "{e}");
    assert!(
        e.to_string().contains(&v.new_log.verifier().to_string()),
        "{e}"
    );

    // The new witness key did not cosign.
    let mut signers: Vec<_> = founders.to_vec();
    signers.extend([&v.new_log, &v.new_operator]);
    let signed = sign_next(&v.drafts[1], v2, &signers);
    let e = held.extend(signed).unwrap_err();
    assert!(
        matches!(&e, GenesisError::MissingProofOfPossession { member, field, .. } if member == REVOKING && field == "witness_key"),
        "{e}"
    );

    // A note signature by a witness key is no proof: it must be a cosignature.
    let mut signers: Vec<_> = founders.to_vec();
    signers.extend([&v.new_log, &v.new_operator]);
    let mut signed = sign_next(&v.drafts[1], v2, &signers);
    let mut wrong = signed.note().clone();
    let witness_as_note = daylight_verifier::key::SigningKey::from_seed(
        v.new_witness.name(),
        daylight_verifier::key::KeyType::Ed25519,
        [9; 32],
    )
    .unwrap();
    wrong.add_signature(&witness_as_note).unwrap();
    signed = SignedGenesis::parse(wrong.to_text().as_bytes()).unwrap();
    assert!(matches!(
        held.extend(signed),
        Err(GenesisError::MissingProofOfPossession { .. })
    ));
}

/// Why version 1's chain refuses `draft` forged: signed by `signers` with no check at all.
fn extend_forged(v1: &Genesis, draft: &GenesisBuilder, signers: &[&SigningKey]) -> GenesisError {
    GenesisChain::new(v1.clone())
        .unwrap()
        .extend(forge(&draft.to_text(), signers))
        .unwrap_err()
}

#[test]
fn a_wrong_previous_or_sequence_is_refused() {
    let v = versions();
    let v1 = v.v1();
    let founders = v.logs(&["city-320200", ROTATED, "auditor-320200"]);

    // Names another version as previous.
    let mut draft = GenesisBuilder::next_version(&v1);
    draft.set_version(2, Some(Hash::digest(b"another version").to_hex()));
    let e = draft.build_next(&v1).unwrap_err();
    assert!(
        matches!(e, GenesisError::WrongPrevious { sequence: 2, .. }),
        "{e}"
    );
    let e = extend_forged(&v1, &draft, &founders);
    assert!(matches!(e, GenesisError::WrongPrevious { .. }), "{e}");
    assert!(e.to_string().contains(v1.id()), "{e}");

    // Claims to be version 3 right after version 1.
    let mut draft = GenesisBuilder::next_version(&v1);
    draft.set_version(3, Some(v1.id().to_string()));
    let e = draft.build_next(&v1).unwrap_err();
    assert_eq!(
        e,
        GenesisError::WrongSequence {
            expected: 2,
            found: 3
        }
    );
    let e = extend_forged(&v1, &draft, &founders);
    assert_eq!(
        e,
        GenesisError::ChainGap {
            latest: 1,
            found: 3
        }
    );
}

#[test]
fn a_dropped_member_or_key_is_refused() {
    let v = versions();
    let v1 = v.v1();
    let founders = v.logs(&["city-320200", ROTATED, "auditor-320200", REVOKING]);

    // A member disappears.
    let mut draft = GenesisBuilder::next_version(&v1);
    assert!(matches!(
        draft.remove_member(REVOKING, Some(&v1)),
        Err(GenesisError::CannotRemoveMember { .. })
    ));
    draft.remove_member(REVOKING, None).unwrap();
    let e = draft.build_next(&v1).unwrap_err();
    assert!(
        matches!(&e, GenesisError::Continuity { member, field, .. } if member == REVOKING && field == "members"),
        "{e}"
    );
    assert!(e.to_string().contains("retire it"), "{e}");
    assert_eq!(extend_forged(&v1, &draft, &founders), e);

    // An operator key disappears without being revoked.
    let mut draft = GenesisBuilder::next_version(&v1);
    draft.member_mut(REVOKING).unwrap().operators.clear();
    let e = draft.build_next(&v1).unwrap_err();
    assert!(
        matches!(&e, GenesisError::Continuity { member, field, .. } if member == REVOKING && field == "operators"),
        "{e}"
    );
    assert!(e.to_string().contains("revoke_key"), "{e}");
    assert_eq!(extend_forged(&v1, &draft, &founders), e);

    // An attestor key disappears without being revoked.
    let mut draft = GenesisBuilder::next_version(&v1);
    draft.member_mut(REVOKING).unwrap().attestors.clear();
    let e = draft.build_next(&v1).unwrap_err();
    assert!(
        matches!(&e, GenesisError::Continuity { field, .. } if field == "attestors"),
        "{e}"
    );

    // A log key changes without its history.
    let mut draft = GenesisBuilder::next_version(&v1);
    draft.member_mut(ROTATED).unwrap().log_key = v.new_log.verifier();
    let e = draft.build_next(&v1).unwrap_err();
    assert!(
        matches!(&e, GenesisError::Continuity { field, .. } if field == "previous_log_keys"),
        "{e}"
    );
}

#[test]
fn history_only_grows() {
    let v = versions();
    let chain = v.chain();
    let v3 = chain.latest();
    let founders = [v.log("city-320200"), v.log(REVOKING), v.log(NEW_COUNTY)];

    // A rotation point is rewritten.
    let mut draft = GenesisBuilder::next_version(v3);
    draft.member_mut(ROTATED).unwrap().previous_log_keys[0].last_size = 11;
    let e = draft.build_next(v3).unwrap_err();
    assert!(
        matches!(&e, GenesisError::Continuity { field, .. } if field == "previous_log_keys"),
        "{e}"
    );
    // A revocation is withdrawn.
    let mut draft = GenesisBuilder::next_version(v3);
    draft.member_mut(REVOKING).unwrap().revoked.clear();
    let e = draft.build_next(v3).unwrap_err();
    assert!(
        matches!(&e, GenesisError::Continuity { field, .. } if field == "revoked"),
        "{e}"
    );
    // Retiring works; un-retiring does not.
    let mut draft = GenesisBuilder::next_version(v3);
    draft
        .retire_member("auditor-320200", 7, Hash::digest(b"seven"))
        .unwrap();
    let signed = sign_next(&draft, v3, &founders);
    let mut chain4 = chain.clone();
    chain4.extend(signed).unwrap();
    let v4 = chain4.latest();
    assert!(
        v4.definition()
            .founders()
            .iter()
            .all(|f| f.id != "auditor-320200")
    );
    assert!(
        v4.definition()
            .witnessed_by("auditor-320200")
            .unwrap()
            .is_empty()
    );
    let mut draft = GenesisBuilder::next_version(v4);
    draft.member_mut("auditor-320200").unwrap().retired = None;
    let e = draft.build_next(v4).unwrap_err();
    assert!(
        matches!(&e, GenesisError::Continuity { member, field, .. } if member == "auditor-320200" && field == "retired"),
        "{e}"
    );
}

#[test]
fn only_founders_and_new_keys_sign_a_later_version() {
    let v = versions();
    let v1 = v.v1();
    let stranger = keys_for(NEW_COUNTY, None);
    let e = v.drafts[0].sign_next(&v1, &stranger.log).unwrap_err();
    assert!(matches!(e, GenesisError::NotAVersionSigner(_)), "{e}");
    // An operator key of version 1 is neither a founder's log key nor new.
    let e = v.drafts[0]
        .sign_next(&v1, &v.keys[REVOKING].operator)
        .unwrap_err();
    assert!(matches!(e, GenesisError::NotAVersionSigner(_)), "{e}");
}

#[test]
fn follow_from_a_pinned_version() {
    let v = versions();
    let full = v.chain();
    for pinned in 1..=3 {
        let id = full.version(pinned).unwrap().id();
        let chain = GenesisChain::follow(id, &v.signed).unwrap();
        assert_eq!(chain, full, "pinned version {pinned}");
    }
    let e = GenesisChain::follow(&Hash::digest(b"x").to_hex(), &v.signed).unwrap_err();
    assert!(matches!(e, GenesisError::PinnedNotServed(_)), "{e}");

    // A forged version after the pin is refused.
    let v2 = full.version(2).unwrap();
    let forged = forge(v.signed[2].note().text.as_str(), &[v.log("city-320200")]);
    let served = [v.signed[0].clone(), v.signed[1].clone(), forged];
    let e = GenesisChain::follow(v2.id(), &served).unwrap_err();
    assert!(
        matches!(e, GenesisError::TooFewFounderSignatures { .. }),
        "{e}"
    );
    // Pinned at version 3, its text is trusted through the pin (its id), whatever signs it.
    let pinned_late = GenesisChain::follow(full.latest().id(), &served).unwrap();
    assert_eq!(pinned_late.latest().id(), full.latest().id());

    // A version before the pin that is not the one the next names is refused.
    let (other, other_keys) = common::network();
    let other_v1 = sign_all(&other, &other_keys);
    let served = [other_v1, v.signed[1].clone(), v.signed[2].clone()];
    let e = GenesisChain::follow(v2.id(), &served).unwrap_err();
    assert!(
        matches!(e, GenesisError::WrongPrevious { sequence: 2, .. }),
        "{e}"
    );

    // Versions must be served in order.
    let served = [v.signed[1].clone(), v.signed[0].clone()];
    assert!(matches!(
        GenesisChain::follow(full.version(1).unwrap().id(), &served),
        Err(GenesisError::WrongSequence { .. })
    ));
}

#[test]
fn json_round_trips_and_is_never_trusted() {
    let v = versions();
    let chain = v.chain();
    let json = chain.to_json();
    assert_eq!(GenesisChain::from_json(json.as_bytes()).unwrap(), chain);
    assert_eq!(GenesisChain::parse_any(json.as_bytes()).unwrap(), chain);
    let pinned = chain.version(2).unwrap().id();
    assert_eq!(
        GenesisChain::follow_json(pinned, json.as_bytes()).unwrap(),
        chain
    );

    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["network_id"], chain.network_id());
    assert_eq!(value["versions"][2]["sequence"], 3);
    assert_eq!(value["versions"][1]["id"], pinned);
    assert_eq!(value["versions"][0]["note"], v.signed[0].to_text());

    let tamper = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut value = value.clone();
        edit(&mut value);
        GenesisChain::from_json(value.to_string().as_bytes()).unwrap_err()
    };
    let e = tamper(&|j| j["versions"][1]["id"] = Hash::digest(b"x").to_hex().into());
    assert!(
        matches!(
            e,
            GenesisError::ChainMismatch {
                field: "id",
                position: 2,
                ..
            }
        ),
        "{e}"
    );
    let e = tamper(&|j| j["versions"][2]["sequence"] = 4.into());
    assert!(
        matches!(
            e,
            GenesisError::ChainMismatch {
                field: "sequence",
                ..
            }
        ),
        "{e}"
    );
    let e = tamper(&|j| j["network_id"] = Hash::digest(b"x").to_hex().into());
    assert!(
        matches!(
            e,
            GenesisError::ChainMismatch {
                field: "network_id",
                ..
            }
        ),
        "{e}"
    );
    // A note changed consistently with its stated id still fails its signatures.
    let forged = forge(
        &v.signed[1].note().text.replace("新吴区财政局", "新吴区"),
        &[v.log("city-320200")],
    );
    let e = tamper(&|j| {
        j["versions"][1]["note"] = forged.to_text().into();
        j["versions"][1]["id"] = forged.id().into();
    });
    assert!(
        matches!(e, GenesisError::TooFewFounderSignatures { .. }),
        "{e}"
    );
    let e = tamper(&|j| j["versions"] = serde_json::json!([]));
    assert_eq!(e, GenesisError::EmptyChain);
    let e = tamper(&|j| j["extra"] = 1.into());
    assert!(matches!(e, GenesisError::ChainJson(_)), "{e}");
    let e = tamper(&|j| {
        j["versions"].as_array_mut().unwrap().remove(0);
    });
    assert!(
        matches!(
            e,
            GenesisError::ChainMismatch { .. } | GenesisError::NotFirstVersion(2)
        ),
        "{e}"
    );

    // A single version-1 note is a chain of one.
    let single = GenesisChain::parse_any(v.signed[0].to_text().as_bytes()).unwrap();
    assert_eq!(single.versions().len(), 1);
    assert_eq!(single.network_id(), chain.network_id());
}

#[test]
fn a_new_member_is_witnessed_and_witnesses_by_default() {
    let v = versions();
    let v2 = v.chain().version(2).unwrap().clone();
    let witnesses: Vec<&str> = v2
        .definition()
        .witnesses_of("city-320200")
        .unwrap()
        .iter()
        .map(|m| m.id.as_str())
        .collect();
    assert!(witnesses.contains(&NEW_COUNTY));
    assert_eq!(v2.definition().founders().len(), 5);
    assert_eq!(v2.definition().founder_threshold(), 3);
    // The draft of version 2 written as text reads back to the same draft.
    let text = v.drafts[0].to_text();
    assert!(text.contains("\nsequence = 2\nprevious = \""), "{text}");
    assert_eq!(GenesisBuilder::from_text(&text).unwrap().to_text(), text);
    let _ = new_county(&v.keys[NEW_COUNTY]);
}
