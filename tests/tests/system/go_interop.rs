//! Interoperability: the node's checkpoint, tiles, entry bundles and proof endpoints are
//! checked by the Go reference implementation (golang.org/x/mod/sumdb/tlog and sumdb/note,
//! from Debian's golang-golang-x-mod-dev), which this project did not write.
//!
//! `.ci/run` installs Go and the package. Where Go is missing the test fails under CI and
//! explains how to install it elsewhere.

use daylight_tests::{NodeProcess, TestNetwork, go_reference, post_json, signed_receipt};

#[test]
fn go_reference_verifies_the_node_log() -> anyhow::Result<()> {
    if !go_reference::available() {
        let hint = "Go and the reference packages are missing: apt-get install -y golang-go golang-golang-x-mod-dev";
        assert!(std::env::var_os("CI").is_none(), "{hint}");
        eprintln!("SKIPPED outside CI: {hint}");
        return Ok(());
    }
    let network = TestNetwork::city_with_counties(1)?;
    let county = &network.keys["county-1"];
    let node = NodeProcess::start(&network.init_node("county-1")?)?;

    // 300 records: a full level-0 tile, a partial one, and a partial level-1 tile.
    for chunk in (0..300u32).collect::<Vec<_>>().chunks(100) {
        let batch: Vec<serde_json::Value> = chunk
            .iter()
            .map(|n| {
                signed_receipt(
                    &county.operator,
                    &format!("county-1-go-{n:04}"),
                    100 + u64::from(*n),
                )
            })
            .collect();
        let reply = post_json(&node.url("/v1/records"), &serde_json::to_vec(&batch)?)?;
        assert_eq!(reply.status, 201, "{}", reply.text());
    }

    let log = node.url("/log/county-1");
    let vkey = county.log.verifier().to_string();
    let stdout = go_reference::tlogcheck(&["-log", &log, "-vkey", &vkey], "the log");
    assert!(
        stdout.contains("OK test.daylight/county-1 size 300"),
        "{stdout}"
    );
    Ok(())
}
