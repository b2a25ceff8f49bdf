//! Setting up a network from the genesis alone, as an agency's IT officer does (issue 14): the
//! genesis lists where each member's node listens, `daylight-node init` takes those addresses,
//! and nodes started with nothing else find each other and replicate.

use std::process::Command;
use std::time::Duration;

use daylight_genesis::Role;
use daylight_tests::{
    NodeProcess, TestNetwork, get, node_binary, post_json, set_bootstrap, signed_receipt, wait_for,
};

/// How long two fresh nodes may take to connect and mirror a record.
const DEADLINE: Duration = Duration::from_secs(60);

/// The node's configuration as TOML.
fn config_of(path: &std::path::Path) -> toml::Table {
    toml::from_str(&std::fs::read_to_string(path).expect("node.toml")).expect("valid TOML")
}

#[test]
fn nodes_initialised_from_the_genesis_find_each_other() -> anyhow::Result<()> {
    let ports = [
        ("city-1", daylight_tests::unused_port()),
        ("county-1", daylight_tests::unused_port()),
    ];
    let address = |id: &str| {
        ports
            .iter()
            .filter(|(member, _)| *member == id)
            .map(|(_, port)| format!("/ip4/127.0.0.1/tcp/{port}"))
            .collect()
    };
    let network = TestNetwork::with_members_at(
        vec![
            ("city-1".into(), Role::City, None),
            ("county-1".into(), Role::County, Some("city-1".into())),
        ],
        1,
        |_| None,
        address,
    )?;
    let city = network.init_node("city-1")?;
    let county = network.init_node("county-1")?;
    for (config, (member, port)) in [&city, &county].into_iter().zip(ports) {
        let listen = config_of(config)["p2p_listen"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert_eq!(
            listen,
            format!("/ip4/127.0.0.1/tcp/{port}"),
            "{member} listens where the genesis says"
        );
    }

    // Nothing edited, no bootstrap list: each dials the other at its genesis address.
    let city = NodeProcess::start(&city)?;
    let county = NodeProcess::start(&county)?;
    let operator = &network.keys["county-1"].operator;
    let record = signed_receipt(operator, "county-1-setup-1", 300_000);
    let reply = post_json(&county.url("/v1/records"), &serde_json::to_vec(&record)?)?;
    assert_eq!(reply.status, 201, "{}", reply.text());
    wait_for(DEADLINE, "the city to mirror the county's record", || {
        let reply = get(&city.url("/v1/records/county-1-setup-1")).ok()?;
        (reply.status == 200).then_some(())
    });
    // A county record sent to the city's node by mistake: refused, saying whose node it needs.
    let record = signed_receipt(operator, "county-1-setup-2", 300_000);
    let reply = post_json(&city.url("/v1/records"), &serde_json::to_vec(&record)?)?;
    assert_eq!(reply.status, 422, "{}", reply.text());
    assert!(
        reply.text().contains("published in the log of city-1")
            && reply.text().contains("send it to that member's node"),
        "{}",
        reply.text()
    );
    Ok(())
}

#[test]
fn init_flags_override_the_genesis_and_take_an_operator_key() -> anyhow::Result<()> {
    let network = TestNetwork::city_and_county()?;
    let keys = &network.keys["county-1"];
    let operator_file = network.dir.path().join("county-1.operator.key");
    std::fs::write(&operator_file, keys.operator.to_private_key_string())?;
    let data = network.dir.path().join("county-data");
    let out = network
        .init_command("county-1", &data)?
        .args(["--http", "127.0.0.1:0"])
        .args(["--p2p-listen", "/ip4/127.0.0.1/tcp/0"])
        .arg("--operator-key")
        .arg(&operator_file)
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = config_of(&data.join("node.toml"));
    assert_eq!(config["p2p_listen"].as_str(), Some("/ip4/127.0.0.1/tcp/0"));
    assert_eq!(config["operator_key"].as_str(), Some("keys/operator.key"));
    assert!(data.join("keys/operator.key").exists());
    // The node starts with it (the key is checked against the genesis at start).
    let node = NodeProcess::start(&data.join("node.toml"))?;
    assert_eq!(get(&node.url("/healthz"))?.status, 200);
    node.terminate()?;

    // Another member's operator key is refused, naming what the genesis accepts.
    let city_operator = network.dir.path().join("city-1.operator.key");
    std::fs::write(
        &city_operator,
        network.keys["city-1"].operator.to_private_key_string(),
    )?;
    let out = network
        .init_command("county-1", &network.dir.path().join("refused-data"))?
        .arg("--operator-key")
        .arg(&city_operator)
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(
        error.contains("is not an operator key of county-1"),
        "{error}"
    );
    Ok(())
}

#[test]
fn p2p_key_show_prints_the_peer_id_the_genesis_lists() -> anyhow::Result<()> {
    let network = TestNetwork::city_and_county()?;
    let keys = &network.keys["county-1"];
    let out = Command::new(node_binary()?)
        .args(["p2p-key", "--show"])
        .arg(&keys.p2p_key_file)
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout)?.trim(), keys.peer_id);

    let out = Command::new(node_binary()?)
        .args(["p2p-key", "--show"])
        .arg(&network.genesis_file)
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a p2p key file"));
    Ok(())
}

#[test]
fn a_fresh_network_with_no_records_audits_green() -> anyhow::Result<()> {
    let network = TestNetwork::city_and_county()?;
    let city = NodeProcess::start(&network.init_node("city-1")?)?;
    let county = network.init_node("county-1")?;
    set_bootstrap(&county, std::slice::from_ref(&city.p2p))?;
    let county = NodeProcess::start(&county)?;
    // Every log, though empty, is signed at size 0 and cosigned by the other member; the
    // city's node serves both (its own, and the county's mirrored).
    for member in ["city-1", "county-1"] {
        wait_for(
            DEADLINE,
            &format!("{member}'s size-0 checkpoint, cosigned"),
            || {
                let note = get(&city.url(&format!("/log/{member}/checkpoint"))).ok()?;
                let lines = note.text().lines().filter(|l| l.starts_with('—')).count();
                (note.status == 200 && note.text().lines().nth(1) == Some("0") && lines >= 2)
                    .then_some(())
            },
        );
    }
    let out = Command::new(daylight_tests::cli_binary()?)
        .arg("audit")
        .arg("--genesis")
        .arg(&network.genesis_file)
        .arg("--node")
        .arg(city.url(""))
        .output()?;
    assert!(
        out.status.success(),
        "audit of a fresh network: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    drop(county);
    Ok(())
}

#[test]
fn a_node_warns_when_alone_or_uncosigned_and_names_the_cause() -> anyhow::Result<()> {
    let network = TestNetwork::city_and_county()?;
    let county = network.init_node("county-1")?;
    daylight_node::config::edit_config(&county, |c| {
        c.warn_alone_seconds = 1;
        c.warn_quorum_seconds = 1;
    })?;
    let county = NodeProcess::start(&county)?;
    // Alone: still serving (200), with both warnings and their likely causes.
    let warnings = |node: &NodeProcess| -> Option<daylight_api::Health> {
        let reply = get(&node.url("/healthz")).ok()?;
        (reply.status == 200).then(|| serde_json::from_str(&reply.text()).ok())?
    };
    let health = wait_for(DEADLINE, "the isolated and quorum warnings", || {
        let health = warnings(&county)?;
        (health.warnings.len() == 2).then_some(health)
    });
    let isolated = &health.warnings.iter().find(|w| w.kind == "isolated");
    let isolated = isolated.map(|w| w.detail.as_str()).unwrap_or_default();
    assert!(isolated.contains("p2p_listen"), "{isolated}");
    let quorum = health.warnings.iter().find(|w| w.kind == "quorum_missing");
    let quorum = quorum.map(|w| w.detail.as_str()).unwrap_or_default();
    assert!(
        quorum.contains("0 of the 1 cosignatures") && quorum.contains("city-1"),
        "{quorum}"
    );
    let info: daylight_api::NetworkInfo =
        serde_json::from_str(&get(&county.url("/v1/network"))?.text())?;
    assert_eq!(info.warnings.len(), 2, "/v1/network shows them too");
    // The CLI, asked to audit, says which witness is missing and when the node last heard it.
    let out = Command::new(daylight_tests::cli_binary()?)
        .arg("audit")
        .arg("--genesis")
        .arg(&network.genesis_file)
        .arg("--node")
        .arg(county.url(""))
        .arg("county-1")
        .output()?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("city-1: not heard by") && said.contains("since it started"),
        "{said}"
    );

    // The city comes up and connects: both warnings clear by themselves.
    let city = network.init_node("city-1")?;
    set_bootstrap(&city, std::slice::from_ref(&county.p2p))?;
    let city = NodeProcess::start(&city)?;
    wait_for(DEADLINE, "the warnings to clear", || {
        warnings(&county)?.warnings.is_empty().then_some(())
    });
    drop(city);
    Ok(())
}
