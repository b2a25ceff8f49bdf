//! The genesis chain kept in the data directory, beside the database: `genesis-chain.json`,
//! the same JSON as `GET /v1/genesis`.
//!
//! A file rather than a table in `node.redb`, because the chain is needed where the database
//! cannot be opened: `NodeConfig::load` checks the node's keys against the newest version
//! before the database is opened, and `daylight-node rotate-key` reads it on a stopped node
//! without taking the database's lock. It is small, changes a few times in a network's life,
//! and an operator can read it (and back it up) with any tool. It is replaced atomically —
//! written to a temporary file, fsync'd, renamed over the old one, and the directory fsync'd —
//! so after a crash it holds either the old chain or the new one, never a torn write. Each
//! version in it is verified again whenever it is read, so a damaged or edited file is refused,
//! never trusted.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::chain::{Chain, ChainError, MAX_CHAIN_BYTES, Offered};

/// The chain's file name in the data directory.
pub const CHAIN_FILE: &str = "genesis-chain.json";

/// Why the stored chain could not be read, written or reconciled.
#[derive(Debug, thiserror::Error)]
pub enum ChainFileError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The stored file does not hold a valid chain.
    #[error(
        "{path} does not hold a valid genesis chain: {source}; restore it from a backup, or \
         remove it to start again from the configured genesis file"
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: ChainError,
    },
    /// The configured genesis file conflicts with the chain the data directory holds.
    #[error(
        "the configured genesis file {configured} conflicts with the genesis chain this data \
         directory holds ({stored}): {reason}. Point `genesis` in node.toml at this network's \
         genesis (version 1 or the JSON chain from GET /v1/genesis of one of its nodes)"
    )]
    Conflict {
        /// The configured file.
        configured: PathBuf,
        /// The stored chain's file.
        stored: PathBuf,
        /// What differs.
        reason: String,
    },
}

/// The chain file of a data directory.
#[derive(Clone, Debug)]
pub struct ChainFile {
    path: PathBuf,
}

impl ChainFile {
    /// The chain file of the data directory `data_dir`.
    pub fn in_dir(data_dir: &Path) -> ChainFile {
        ChainFile {
            path: data_dir.join(CHAIN_FILE),
        }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored chain, verified; `None` when there is none yet.
    pub fn load(&self) -> Result<Option<Chain>, ChainFileError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ChainFileError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        if bytes.len() > MAX_CHAIN_BYTES {
            return Err(ChainFileError::Invalid {
                path: self.path.clone(),
                source: ChainError::Invalid(format!("it is {} bytes", bytes.len())),
            });
        }
        Chain::from_json(&bytes)
            .map(Some)
            .map_err(|source| ChainFileError::Invalid {
                path: self.path.clone(),
                source,
            })
    }

    /// Replaces the stored chain with `chain`, durably and atomically (see the module doc).
    pub fn save(&self, chain: &Chain) -> Result<(), ChainFileError> {
        let io = |source| ChainFileError::Io {
            path: self.path.clone(),
            source,
        };
        let temporary = self.path.with_extension("json.new");
        {
            let mut file = std::fs::File::create(&temporary).map_err(io)?;
            file.write_all(chain.to_json().as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        std::fs::rename(&temporary, &self.path).map_err(io)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io)?;
        }
        Ok(())
    }

    /// The chain a starting node runs: the stored chain and the `configured` one (read from
    /// the configuration's `genesis` file at `configured_path`), whichever is longer when one
    /// extends the other. A configured chain that conflicts with the stored one is refused.
    /// Writes nothing: the node stores the chain it runs when it starts
    /// ([`ChainFile::store_if_newer`]).
    pub fn reconcile(
        &self,
        configured: Chain,
        configured_path: &Path,
    ) -> Result<Chain, ChainFileError> {
        let Some(stored) = self.load()? else {
            return Ok(configured);
        };
        match stored.merge(&configured) {
            Ok(Offered::Known(_)) => Ok(stored),
            Ok(Offered::Extended { chain, .. }) => Ok(chain),
            Err(e) => Err(ChainFileError::Conflict {
                configured: configured_path.to_path_buf(),
                stored: self.path.clone(),
                reason: e.to_string(),
            }),
        }
    }

    /// Stores `chain` unless the file already holds it or a longer one.
    pub fn store_if_newer(&self, chain: &Chain) -> Result<(), ChainFileError> {
        let stored = self.load()?;
        if stored.is_none_or(|s| s.sequence() < chain.sequence()) {
            self.save(chain)?;
        }
        Ok(())
    }
}
