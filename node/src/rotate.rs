//! `daylight-node rotate-key`: installs a member's new log, witness or p2p key, once a genesis
//! version names it (DESIGN §6b), on a STOPPED node; and `--show-point`, the log's last
//! checkpoint, which a log-key rotation names as the last one the old key signs.
//!
//! The steps of a log-key rotation: stop the node; `rotate-key --show-point` prints the size
//! and root; the founders sign a version with `daylight genesis amend --rotate-log-key` naming
//! that point; `rotate-key --log-key NEW.key --genesis that-version` checks the version lists
//! the new key and names exactly the node's last checkpoint as the rotation point, installs
//! the key (mode 0600, in the data directory's `keys/`), rewrites `node.toml` to name it and
//! stores the chain; the node restarts, signs its next checkpoint with the new key, and every
//! earlier record still verifies (the policy keeps the old key up to the rotation point).
//! The old key file is renamed, never deleted.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use daylight_genesis::Genesis;
use daylight_verifier::Hash;
use daylight_verifier::checkpoint::Checkpoint;
use daylight_verifier::note::Note;

use crate::config::{NodeConfig, edit_config, read_chain, read_key, read_p2p_key, write_private};
use crate::genesis::{Chain, ChainFile, KeyRole, Offered};
use crate::store::{StorageError, Store};

/// The new key files `rotate-key` installs (at least one).
#[derive(Clone, Copy, Debug, Default)]
pub struct NewKeys<'a> {
    /// A new log key file.
    pub log: Option<&'a Path>,
    /// A new witness key file.
    pub witness: Option<&'a Path>,
    /// A new libp2p identity key file.
    pub p2p: Option<&'a Path>,
}

/// The last checkpoint of a log: what a log-key rotation names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RotationPoint {
    /// Its size.
    pub size: u64,
    /// Its root.
    pub root: Hash,
}

impl std::fmt::Display for RotationPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "size {} root {}", self.size, self.root.to_base64())
    }
}

/// `rotate-key --show-point`: the last checkpoint of the node's own log.
pub fn show_point(config_path: &Path) -> anyhow::Result<RotationPoint> {
    let node = StoppedNode::open(config_path, None)?;
    node.last_checkpoint()
}

/// `rotate-key`: checks the newest genesis version (the stored chain, extended by `genesis`
/// when given) names each new key for this member, and installs them. Returns one line per
/// key installed, for the operator.
pub fn rotate_key(
    config_path: &Path,
    keys: NewKeys<'_>,
    genesis: Option<&Path>,
) -> anyhow::Result<Vec<String>> {
    if keys.log.is_none() && keys.witness.is_none() && keys.p2p.is_none() {
        bail!("nothing to rotate: give --log-key, --witness-key and/or --p2p-key");
    }
    let node = StoppedNode::open(config_path, genesis)?;
    let latest = node.chain.latest();
    let member = latest.member(&node.member).with_context(|| {
        format!(
            "member {} is not in genesis version {}",
            node.member,
            node.chain.sequence()
        )
    })?;
    let mut installs = Vec::new();
    if let Some(path) = keys.log {
        let new = read_key(path)?;
        let listed = member.log_key.clone();
        if new.verifier() != listed {
            bail!(not_listed(&node, KeyRole::Log, &new.verifier().to_string()));
        }
        let old = node
            .config
            .log_key
            .as_deref()
            .map(read_key)
            .transpose()?
            .context("the configuration names no log key")?;
        if old.verifier() == new.verifier() {
            bail!(
                "{} is already the node's log key; nothing to rotate",
                path.display()
            );
        }
        {
            let previous = member
                .previous_log_keys
                .iter()
                .find(|p| p.key == old.verifier())
                .with_context(|| {
                    format!(
                        "genesis version {} does not list the node's current log key {} among \
                         {}'s previous log keys, so it names no rotation point for it; the \
                         version must rotate from this key",
                        node.chain.sequence(),
                        old.verifier(),
                        node.member
                    )
                })?;
            let named = RotationPoint {
                size: previous.last_size,
                root: previous.last_root,
            };
            let last = node.last_checkpoint()?;
            if named != last {
                bail!(
                    "the rotation point must be the node's last checkpoint: genesis version {} \
                     names {named} as the last checkpoint of the old key, but this node's last \
                     checkpoint is {last}; amend the version with that point \
                     (`daylight genesis amend --rotate-log-key`)",
                    node.chain.sequence()
                );
            }
        }
        installs.push(Install {
            role: KeyRole::Log,
            from: path.to_path_buf(),
            text: new.to_private_key_string(),
        });
    }
    if let Some(path) = keys.witness {
        let new = read_key(path)?;
        if new.verifier() != member.witness_key {
            bail!(not_listed(
                &node,
                KeyRole::Witness,
                &new.verifier().to_string()
            ));
        }
        installs.push(Install {
            role: KeyRole::Witness,
            from: path.to_path_buf(),
            text: new.to_private_key_string(),
        });
    }
    if let Some(path) = keys.p2p {
        let peer = read_p2p_key(path)?.public().to_peer_id().to_string();
        if peer != member.peer_id {
            bail!(not_listed(&node, KeyRole::P2p, &peer));
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        installs.push(Install {
            role: KeyRole::P2p,
            from: path.to_path_buf(),
            text: text.trim().to_string(),
        });
    }
    // The chain first: at the next start, the node checks its keys against its newest version.
    ChainFile::in_dir(&node.config.data_dir).store_if_newer(&node.chain)?;
    installs
        .iter()
        .map(|install| install.apply(config_path, &node))
        .collect()
}

/// Why a new key is refused: the newest version lists another.
fn not_listed(node: &StoppedNode, role: KeyRole, key: &str) -> String {
    let listed = role
        .of(node.chain.latest(), &node.member)
        .unwrap_or_default();
    format!(
        "genesis version {} (the newest this node holds{}) lists {listed} as the {} of {}, not \
         {key}; give the version that names the new key with --genesis FILE (a signed note, or \
         the chain from GET /v1/genesis)",
        node.chain.sequence(),
        if node.given_genesis {
            " or was given"
        } else {
            ""
        },
        role.name(),
        node.member
    )
}

/// A key file to install.
struct Install {
    role: KeyRole,
    from: PathBuf,
    text: String,
}

impl Install {
    /// Writes the key in the data directory's `keys/`, names it in the configuration, and
    /// renames the key file it replaces (when that one is in `keys/` too).
    fn apply(&self, config_path: &Path, node: &StoppedNode) -> anyhow::Result<String> {
        let (stem, current) = match self.role {
            KeyRole::Log => ("log", node.config.log_key.clone()),
            KeyRole::Witness => ("witness", node.config.witness_key.clone()),
            KeyRole::P2p => ("p2p", Some(node.config.p2p_key.clone())),
        };
        let keys = node.config.data_dir.join("keys");
        std::fs::create_dir_all(&keys)
            .with_context(|| format!("cannot create {}", keys.display()))?;
        let sequence = node.chain.sequence();
        let target = (0..)
            .map(|n| {
                let suffix = if n == 0 {
                    String::new()
                } else {
                    format!("-{n}")
                };
                keys.join(format!("{stem}-v{sequence}{suffix}.key"))
            })
            .find(|p| !p.exists())
            .unwrap_or_else(|| keys.join(format!("{stem}.key")));
        if current.as_deref() == Some(target.as_path()) {
            return Ok(format!("{} already installed", self.role.name()));
        }
        write_private(&target, &self.text)?;
        let base = config_path.parent().unwrap_or(Path::new("."));
        let named = target
            .strip_prefix(base)
            .map_or_else(|_| target.clone(), Path::to_path_buf);
        let role = self.role;
        let named_in_config = named.clone();
        edit_config(config_path, move |config| match role {
            KeyRole::Log => config.log_key = Some(named_in_config),
            KeyRole::Witness => config.witness_key = Some(named_in_config),
            KeyRole::P2p => config.p2p_key = named_in_config,
        })?;
        let mut line = format!(
            "installed the new {} from {} as {}",
            self.role.name(),
            self.from.display(),
            target.components().collect::<PathBuf>().display()
        );
        if let Some(old) = current.filter(|old| old.starts_with(&keys) && old.exists()) {
            let kept = old.with_extension(format!("key.superseded-v{sequence}"));
            std::fs::rename(&old, &kept).with_context(|| {
                format!("cannot rename {} to {}", old.display(), kept.display())
            })?;
            line.push_str(&format!("; the old key is kept as {}", kept.display()));
        }
        Ok(line)
    }
}

/// A stopped member node's configuration, chain and database.
struct StoppedNode {
    config: NodeConfig,
    member: String,
    chain: Chain,
    /// Whether `--genesis` was given.
    given_genesis: bool,
    store: Store,
}

impl StoppedNode {
    /// Opens the node of `config_path`, refusing when it runs (its database is locked); its
    /// chain is the stored one, the configured one and `genesis`, whichever is longest (they
    /// must not conflict).
    fn open(config_path: &Path, genesis: Option<&Path>) -> anyhow::Result<StoppedNode> {
        let config = NodeConfig::read(config_path)?;
        let member = config.member.clone().with_context(|| {
            format!(
                "{} is an observer's configuration: an observer has no log or witness key to \
                 rotate",
                config_path.display()
            )
        })?;
        let configured = read_chain(&config.genesis)?;
        let mut chain =
            ChainFile::in_dir(&config.data_dir).reconcile(configured, &config.genesis)?;
        if let Some(path) = genesis {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            chain = match chain.offer(&bytes).with_context(|| {
                format!(
                    "genesis {} does not extend this node's chain",
                    path.display()
                )
            })? {
                Offered::Known(_) => chain,
                Offered::Extended { chain, .. } => chain,
            };
        }
        let db_path = config.data_dir.join(crate::node::DATABASE_FILE);
        if !db_path.exists() {
            bail!(
                "{} does not exist: this node has no database yet; start it once first",
                db_path.display()
            );
        }
        let store = match Store::open(&db_path) {
            Ok(store) if !store.is_read_only() => store,
            Ok(_) | Err(StorageError::Database(redb::Error::DatabaseAlreadyOpen)) => bail!(
                "the database {} is in use: rotate-key needs the node stopped; stop it first",
                db_path.display()
            ),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot open {}", db_path.display()));
            }
        };
        Ok(StoppedNode {
            config,
            member,
            chain,
            given_genesis: genesis.is_some(),
            store,
        })
    }

    /// The last stored checkpoint of the node's own log.
    fn last_checkpoint(&self) -> anyhow::Result<RotationPoint> {
        let origin = own_origin(self.chain.latest(), &self.member);
        let number = self.store.find_log(&origin)?.with_context(|| {
            format!("this node's database holds no log {origin} yet: start the node once first")
        })?;
        let (size, note) = self
            .store
            .latest_checkpoint(number)?
            .with_context(|| format!("log {origin} has no checkpoint yet"))?;
        let note = Note::parse(note.as_bytes())
            .map_err(|e| anyhow::anyhow!("the stored checkpoint of {origin}: {e}"))?;
        let checkpoint = Checkpoint::parse(&note.text)
            .map_err(|e| anyhow::anyhow!("the stored checkpoint of {origin}: {e}"))?;
        Ok(RotationPoint {
            size,
            root: checkpoint.root,
        })
    }
}

/// The origin of `member`'s log.
fn own_origin(genesis: &Genesis, member: &str) -> String {
    daylight_genesis::names::origin(genesis.network(), member)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use daylight_genesis::GenesisBuilder;
    use daylight_verifier::SigningKey;

    use super::*;
    use crate::config::{InitKeys, init};
    use crate::genesis::tests::{fixture, keys, temp_dir};
    use crate::publish::log_writer::LogWriter;

    /// A stopped county-1 node whose log holds its size-0 checkpoint, and what made it.
    struct Stopped {
        dir: PathBuf,
        config: PathBuf,
        fixture: crate::genesis::tests::Fixture,
    }

    fn stopped_county() -> Stopped {
        let fixture = fixture();
        let dir = temp_dir("rotate");
        let genesis = dir.join("genesis.note");
        std::fs::write(&genesis, fixture.v1.to_text()).unwrap();
        let county = &fixture.founders[1];
        let (log, witness, p2p) = (dir.join("log.key"), dir.join("w.key"), dir.join("p2p.key"));
        std::fs::write(&log, county.log.to_private_key_string()).unwrap();
        std::fs::write(&witness, county.witness.to_private_key_string()).unwrap();
        std::fs::write(&p2p, &county.p2p).unwrap();
        let keys = InitKeys {
            log: Some(&log),
            witness: Some(&witness),
            p2p: Some(&p2p),
        };
        let config = init(&genesis, Some("county-1"), &dir.join("data"), keys, None).unwrap();
        let store =
            Arc::new(Store::open(&dir.join("data").join(crate::node::DATABASE_FILE)).unwrap());
        let origin = daylight_genesis::names::origin(fixture.v1.network(), "county-1");
        drop(LogWriter::open(store, &origin, county.log.clone()).unwrap());
        Stopped {
            dir,
            config,
            fixture,
        }
    }

    /// Version 2 rotating county-1's log key to `new` at `point`, written to a file.
    fn rotation(stopped: &Stopped, new: &SigningKey, point: RotationPoint) -> PathBuf {
        let v1 = &stopped.fixture.v1;
        let mut draft = GenesisBuilder::next_version(v1);
        draft
            .rotate_log_key("county-1", new.verifier(), point.size, point.root)
            .unwrap();
        let mut signed = draft.sign_next(v1, new).unwrap();
        for k in &stopped.fixture.founders[..2] {
            signed.sign_next(v1, &k.log).unwrap();
        }
        let path = stopped.dir.join(format!("v2-{}.note", point.size));
        std::fs::write(&path, signed.to_text()).unwrap();
        path
    }

    #[test]
    fn a_log_key_is_rotated_at_the_last_checkpoint_only() {
        let stopped = stopped_county();
        let point = show_point(&stopped.config).unwrap();
        assert_eq!(point.size, 0);
        assert_eq!(point.root, Hash::digest(b""));

        let new = keys("county-1").log;
        let new_file = stopped.dir.join("new-log.key");
        std::fs::write(&new_file, new.to_private_key_string()).unwrap();
        let keys = NewKeys {
            log: Some(&new_file),
            ..NewKeys::default()
        };

        // Without the version that names it, the new key is refused.
        let error = rotate_key(&stopped.config, keys, None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("--genesis FILE"), "{error}");
        // A version naming another point is refused, with the node's point printed.
        let wrong = RotationPoint {
            size: 5,
            root: Hash::digest(b"elsewhere"),
        };
        let error = rotate_key(
            &stopped.config,
            keys,
            Some(&rotation(&stopped, &new, wrong)),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("the rotation point must be the node's last checkpoint"),
            "{error}"
        );
        assert!(error.contains(&point.to_string()), "{error}");

        let v2 = rotation(&stopped, &new, point);
        let lines = rotate_key(&stopped.config, keys, Some(&v2)).unwrap();
        assert!(lines[0].contains("installed the new log key"), "{lines:?}");
        let data = stopped.dir.join("data");
        assert!(data.join("keys/log-v2.key").exists());
        assert!(
            data.join("keys/log.key.superseded-v2").exists(),
            "the old key is kept"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(data.join("keys/log-v2.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // The node loads: the stored chain holds version 2, which lists the new key, and the
        // writer takes the head the old key signed as the rotation point.
        let loaded = NodeConfig::load(&stopped.config).unwrap();
        assert_eq!(loaded.chain.sequence(), 2);
        let member = loaded.member.unwrap();
        assert_eq!(member.log_key.verifier(), new.verifier());
        let store = Arc::new(Store::open(&data.join(crate::node::DATABASE_FILE)).unwrap());
        let origin = daylight_genesis::names::origin(loaded.chain.latest().network(), "county-1");
        let policy = loaded.chain.latest().policy_for("county-1").unwrap();
        LogWriter::open_with_policy(store.clone(), &origin, member.log_key, policy).unwrap();
        drop(store);

        // A configuration naming the old key is told to run rotate-key.
        crate::config::edit_config(&stopped.config, |c| {
            c.log_key = Some("keys/log.key.superseded-v2".into())
        })
        .unwrap();
        let error = format!("{:#}", NodeConfig::load(&stopped.config).err().unwrap());
        assert!(error.contains("superseded in version 2"), "{error}");
        assert!(error.contains("rotate-key"), "{error}");
        std::fs::remove_dir_all(&stopped.dir).unwrap();
    }
}
