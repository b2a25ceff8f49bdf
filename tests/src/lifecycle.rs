//! Helpers for tests of a network that changes (DESIGN §6b): members a later genesis version
//! adds, versions signed by founders and new keys, records, waiting for nodes to serve a chain
//! or a cosigned checkpoint, and running the `daylight` command line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use daylight_genesis::{Genesis, GenesisBuilder, GenesisChain, Member, Role, SignedGenesis};
use daylight_verifier::SigningKey;
use serde_json::Value;

use crate::{MemberKeys, NodeProcess, TestNetwork, cli_binary, get, unused_port, wait_until};

/// A member a later version adds: its keys, written where `daylight-node init` reads them.
pub struct NewMember {
    /// Its member id.
    pub id: String,
    /// Its keys and their files.
    pub keys: MemberKeys,
    /// Its entry in the version that adds it.
    pub member: Member,
}

impl NewMember {
    /// A county under city-1, listening at a free loopback port the version lists.
    pub fn county(network: &TestNetwork, id: &str) -> anyhow::Result<NewMember> {
        let keys = MemberKeys::generate(network.dir.path(), id)?;
        let mut member = keys.member(id, Role::County, "320299");
        member.parent = Some("city-1".into());
        member.addresses = vec![format!("/ip4/127.0.0.1/tcp/{}", unused_port())];
        Ok(NewMember {
            id: id.to_string(),
            keys,
            member,
        })
    }

    /// Runs `daylight-node init` for this member from the genesis `chain` file (a JSON chain,
    /// as `GET /v1/genesis` serves it) into `data`, with an ephemeral HTTP port; returns the
    /// configuration file.
    pub fn init(&self, chain: &Path, data: &Path) -> anyhow::Result<PathBuf> {
        let out = Command::new(crate::node_binary()?)
            .arg("init")
            .arg("--genesis")
            .arg(chain)
            .args(["--member", &self.id, "--http", "127.0.0.1:0"])
            .arg("--data")
            .arg(data)
            .arg("--log-key")
            .arg(&self.keys.log_key_file)
            .arg("--witness-key")
            .arg(&self.keys.witness_key_file)
            .arg("--p2p-key")
            .arg(&self.keys.p2p_key_file)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "init from the chain failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(data.join("node.toml"))
    }
}

/// The version after `previous` that adds `new`, signed by the founders `founders` (with the
/// log keys `previous` lists) and by every key it introduces (proof of possession).
pub fn version_adding(
    previous: &Genesis,
    new: &NewMember,
    founders: &[&SigningKey],
) -> anyhow::Result<SignedGenesis> {
    let mut draft = GenesisBuilder::next_version(previous);
    draft.add_member(new.member.clone());
    sign_version(
        &draft,
        previous,
        &[&new.keys.log, &new.keys.witness, &new.keys.operator],
        founders,
    )
}

/// Signs the draft of the version after `previous` with `new_keys` (proofs of possession)
/// and then `founders`.
pub fn sign_version(
    draft: &GenesisBuilder,
    previous: &Genesis,
    new_keys: &[&SigningKey],
    founders: &[&SigningKey],
) -> anyhow::Result<SignedGenesis> {
    let mut keys = new_keys.iter().chain(founders).copied();
    let first = keys.next().ok_or_else(|| anyhow::anyhow!("no signer"))?;
    let mut signed = draft.sign_next(previous, first)?;
    for key in keys {
        signed.sign_next(previous, key)?;
    }
    Ok(signed)
}

/// The chain of `first` and `later` versions, each verified against the one before.
pub fn chain_of(first: &Genesis, later: &[&SignedGenesis]) -> anyhow::Result<GenesisChain> {
    let mut chain = GenesisChain::new(first.clone())?;
    for version in later {
        chain.extend((*version).clone())?;
    }
    Ok(chain)
}

/// A receipt in the log of `member`, signed by `operator`; its rid ends in `n`.
pub fn receipt(member: &str, operator: &SigningKey, n: u32) -> anyhow::Result<Value> {
    let rid = format!("{member}-chain-{n:04}");
    let record = crate::signed_receipt(operator, &rid, 1000 + u64::from(n));
    Ok(record)
}

/// The ids of the versions of the chain a node serves at `GET /v1/genesis`, oldest first.
pub fn versions_served(node: &NodeProcess) -> Result<Vec<String>, String> {
    let reply = get(&node.url("/v1/genesis")).map_err(|e| e.to_string())?;
    if reply.status != 200 {
        return Err(format!(
            "GET /v1/genesis: {} {}",
            reply.status,
            reply.text()
        ));
    }
    let chain: daylight_api::GenesisChainBody =
        serde_json::from_slice(&reply.body).map_err(|e| e.to_string())?;
    Ok(chain.versions.into_iter().map(|v| v.id).collect())
}

/// Waits until `node` serves a chain of `versions` versions; returns their ids.
pub fn wait_versions(node: &NodeProcess, versions: usize, deadline: Duration) -> Vec<String> {
    wait_until(
        deadline,
        &format!("{} serving {versions} genesis versions", node.http),
        || {
            let ids = versions_served(node)?;
            if ids.len() == versions {
                Ok(ids)
            } else {
                Err(format!("{} versions", ids.len()))
            }
        },
    )
}

/// Waits until `node` serves a checkpoint of `member`'s log of at least `size` entries that
/// `chain`'s latest version trusts (signed by the log and cosigned to its quorum); returns
/// its size.
pub fn wait_quorum(
    node: &NodeProcess,
    chain: &GenesisChain,
    member: &str,
    size: u64,
    deadline: Duration,
) -> u64 {
    let policy = chain
        .latest()
        .policy_for(member)
        .expect("a member's policy");
    wait_until(
        deadline,
        &format!(
            "{} serving {member}'s log at size {size}, cosigned",
            node.http
        ),
        || {
            let reply =
                get(&node.url(&format!("/log/{member}/checkpoint"))).map_err(|e| e.to_string())?;
            match policy.verify(&reply.body) {
                Ok(t) if t.checkpoint.size >= size => Ok(t.checkpoint.size),
                Ok(t) => Err(format!("size {}", t.checkpoint.size)),
                Err(e) => Err(format!("{} {}: {e}", reply.status, reply.text())),
            }
        },
    )
}

/// One run of the `daylight` command line.
pub struct Run {
    /// Its exit code.
    pub code: i32,
    /// What it printed on standard output.
    pub stdout: String,
    /// What it printed on standard error.
    pub stderr: String,
}

impl Run {
    /// Standard output as JSON (`Null` when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or(Value::Null)
    }

    /// Everything it printed: standard output, then standard error.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs the `daylight` binary of this build with `args` (without `DAYLIGHT_HOME`).
pub fn daylight(args: &[&str]) -> Run {
    let out = Command::new(cli_binary().expect("build the CLI: cargo build -p daylight-cli"))
        .args(args)
        .env_remove("DAYLIGHT_HOME")
        .output()
        .expect("run daylight");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Asserts that `run` exited with `code`; returns it.
#[track_caller]
pub fn expect(code: i32, run: Run) -> Run {
    assert_eq!(
        run.code, code,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run
}

/// Asserts that `run` succeeded; returns it.
#[track_caller]
pub fn ok(run: Run) -> Run {
    expect(0, run)
}

/// A path as a command-line argument.
pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Asserts that `text` contains `wanted`.
pub fn assert_contains(text: &str, wanted: &str) {
    assert!(text.contains(wanted), "{wanted:?} not in:\n{text}");
}

/// `daylight genesis amend --genesis CURRENT --out DRAFT` with the edit flags `edits`.
pub fn genesis_amend(current: &Path, draft: &Path, edits: &[&str]) -> Run {
    let mut args = vec![
        "genesis",
        "amend",
        "--genesis",
        p(current),
        "--out",
        p(draft),
    ];
    args.extend(edits);
    daylight(&args)
}

/// `daylight genesis update --pinned PIN --node NODE`.
pub fn genesis_update(pin: &Path, node: &str) -> Run {
    daylight(&["genesis", "update", "--pinned", p(pin), "--node", node])
}

/// `daylight [--json] --data-dir DATA verify --genesis PIN --node NODE RID`.
pub fn verify_at_node(json: bool, data: &Path, pin: &Path, node: &str, rid: &str) -> Run {
    let args = [
        "--data-dir",
        p(data),
        "verify",
        "--genesis",
        p(pin),
        "--node",
        node,
        rid,
    ];
    match json {
        true => daylight(&[&["--json"][..], &args].concat()),
        false => daylight(&args),
    }
}

/// `daylight receipt fetch --genesis PIN --node NODE RID --out RECEIPT`.
pub fn receipt_fetch(pin: &Path, node: &str, rid: &str, receipt: &Path) -> Run {
    daylight(&[
        "receipt",
        "fetch",
        "--genesis",
        p(pin),
        "--node",
        node,
        rid,
        "--out",
        p(receipt),
    ])
}

/// `daylight receipt verify --genesis PIN RECEIPT`.
pub fn receipt_verify(pin: &Path, receipt: &Path) -> Run {
    daylight(&["receipt", "verify", "--genesis", p(pin), p(receipt)])
}

/// `daylight genesis sign DRAFT --key KEY --previous PREVIOUS`.
pub fn genesis_sign(draft: &Path, key: &Path, previous: &Path) -> Run {
    daylight(&[
        "genesis",
        "sign",
        p(draft),
        "--key",
        p(key),
        "--previous",
        p(previous),
    ])
}
