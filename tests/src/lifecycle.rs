//! Helpers for tests of a network that changes (DESIGN §6b): members a later genesis version
//! adds, versions signed by founders and new keys, records, waiting for nodes to serve a chain
//! or a cosigned checkpoint, and running the `daylight` command line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use daylight_genesis::{Genesis, GenesisBuilder, GenesisChain, Member, Role, SignedGenesis, names};
use daylight_verifier::{KeyType, SigningKey};
use serde_json::Value;

use crate::{NETWORK, NodeProcess, TestNetwork, cli_binary, get, unused_port, wait_until};

/// A member a later version adds: its keys, written where `daylight-node init` reads them.
pub struct NewMember {
    /// Its member id.
    pub id: String,
    /// Signs its log.
    pub log: SigningKey,
    /// Cosigns other logs.
    pub witness: SigningKey,
    /// Signs its records.
    pub operator: SigningKey,
    /// Where the log key is written.
    pub log_key_file: PathBuf,
    /// Where the witness key is written.
    pub witness_key_file: PathBuf,
    /// Where the libp2p identity key is written.
    pub p2p_key_file: PathBuf,
    /// Its entry in the version that adds it.
    pub member: Member,
}

impl NewMember {
    /// A county under city-1, listening at a free loopback port the version lists.
    pub fn county(network: &TestNetwork, id: &str) -> anyhow::Result<NewMember> {
        let log = SigningKey::generate(&names::log_key_name(NETWORK, id), KeyType::Ed25519)?;
        let witness =
            SigningKey::generate(&names::witness_key_name(NETWORK, id), KeyType::Cosignature)?;
        let operator = SigningKey::generate(
            &names::operator_key_name(NETWORK, id, "clerk"),
            KeyType::Ed25519,
        )?;
        let (p2p, peer) = daylight_node::network::generate_identity()?;
        let mut member = Member::new(
            id,
            Role::County,
            &format!("{id} bureau"),
            "320299",
            log.verifier(),
            witness.verifier(),
            &peer.to_string(),
        );
        member.parent = Some("city-1".into());
        member.operators = vec![operator.verifier()];
        member.addresses = vec![format!("/ip4/127.0.0.1/tcp/{}", unused_port())];
        let dir = network.dir.path();
        let (log_key_file, witness_key_file, p2p_key_file) = (
            dir.join(format!("{id}.log.key")),
            dir.join(format!("{id}.witness.key")),
            dir.join(format!("{id}.p2p.key")),
        );
        std::fs::write(&log_key_file, log.to_private_key_string())?;
        std::fs::write(&witness_key_file, witness.to_private_key_string())?;
        std::fs::write(&p2p_key_file, p2p)?;
        Ok(NewMember {
            id: id.to_string(),
            log,
            witness,
            operator,
            log_key_file,
            witness_key_file,
            p2p_key_file,
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
            .arg(&self.log_key_file)
            .arg("--witness-key")
            .arg(&self.witness_key_file)
            .arg("--p2p-key")
            .arg(&self.p2p_key_file)
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
        &[&new.log, &new.witness, &new.operator],
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
pub fn expect(code: i32, run: Run) -> Run {
    assert_eq!(
        run.code, code,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run
}

/// Asserts that `run` succeeded; returns it.
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
