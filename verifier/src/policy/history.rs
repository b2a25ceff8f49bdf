//! A log's history in its trust policy (DESIGN §6b): earlier log keys with their rotation
//! points, earlier witness keys with the time their cosignatures stop counting, and a
//! retirement point. [`LogPolicy::open`](super::LogPolicy::open) and
//! [`LogPolicy::verify_cosignatures`](super::LogPolicy::verify_cosignatures) apply them.

use crate::cosignature;
use crate::hash::Hash;
use crate::key::{KeyType, VerifierKey};
use crate::note::NoteSignature;

use super::{LogPolicy, PolicyError};

/// A log key the log used before its current one, and the last checkpoint it signed.
///
/// Checkpoints of sizes up to `last_size` (and above the rotation point before it) are signed by
/// `key`; the checkpoint of size `last_size` has root `last_root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviousLogKey {
    /// The earlier key (type 0x01, named by the log's origin like the current key).
    pub key: VerifierKey,
    /// The size of the last checkpoint it signed: the rotation point.
    pub last_size: u64,
    /// The root of that checkpoint.
    pub last_root: Hash,
}

/// A witness key a witness used before its current one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviousWitnessKey {
    /// The earlier key (type 0x04, named like the witness's current key).
    pub key: VerifierKey,
    /// Cosignatures by `key` count only when their timestamp (Unix seconds) is below this.
    pub until: u64,
}

/// Where a retired log ends: its last accepted checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retirement {
    /// The size of the last checkpoint accepted.
    pub size: u64,
    /// Its root.
    pub root: Hash,
}

impl LogPolicy {
    /// Adds an earlier log key and its rotation point: the last checkpoint it signed has size
    /// `last_size` and root `last_root`. Add earlier keys oldest first; rotation points must
    /// strictly increase, and every key must be distinct from the others and from the current
    /// key. The key must be a type 0x01 key named by the log's origin.
    pub fn with_previous_log_key(
        mut self,
        key: VerifierKey,
        last_size: u64,
        last_root: Hash,
    ) -> Result<LogPolicy, PolicyError> {
        if key.key_type() != KeyType::Ed25519 || key.name() != self.origin() {
            return Err(invalid(format!(
                "earlier log key {key} must be an Ed25519 note key (type 0x01) named {}",
                self.origin()
            )));
        }
        let used =
            std::iter::once(&self.log_key).chain(self.previous_log_keys.iter().map(|p| &p.key));
        if used.into_iter().any(|k| k.public_key() == key.public_key()) {
            return Err(invalid(format!(
                "earlier log key {key} is listed twice or is the current log key"
            )));
        }
        if let Some(last) = self.previous_log_keys.last()
            && last.last_size >= last_size
        {
            return Err(invalid(format!(
                "rotation point {last_size} of earlier log key {key} is not after the previous rotation point {}; list earlier keys oldest first",
                last.last_size
            )));
        }
        if let Some(r) = self.retirement {
            check_retirement_after(r, last_size, last_root)?;
        }
        self.previous_log_keys.push(PreviousLogKey {
            key,
            last_size,
            last_root,
        });
        Ok(self)
    }

    /// Adds an earlier witness key: cosignatures by `key` count for the witness whose current
    /// key has the same name when their timestamp is below `until` (Unix seconds). Add a
    /// witness's earlier keys oldest first, with increasing `until`.
    pub fn with_previous_witness_key(
        mut self,
        key: VerifierKey,
        until: u64,
    ) -> Result<LogPolicy, PolicyError> {
        if key.key_type() != KeyType::Cosignature {
            return Err(invalid(format!(
                "earlier witness key {key} must be a cosignature key (type 0x04)"
            )));
        }
        if !self.witnesses.iter().any(|w| w.name() == key.name()) {
            return Err(invalid(format!(
                "earlier witness key {key} belongs to no witness of log {}: its name must be that of a current witness key",
                self.origin()
            )));
        }
        let used = self
            .witnesses
            .iter()
            .chain(self.previous_witness_keys.iter().map(|p| &p.key));
        if used.into_iter().any(|k| k.public_key() == key.public_key()) {
            return Err(invalid(format!(
                "earlier witness key {key} is listed twice or is a current witness key"
            )));
        }
        if let Some(last) = self
            .previous_witness_keys
            .iter()
            .rev()
            .find(|p| p.key.name() == key.name())
            && last.until >= until
        {
            return Err(invalid(format!(
                "earlier witness key {key} ends at {until}, not after the key before it ({}); list earlier keys oldest first",
                last.until
            )));
        }
        self.previous_witness_keys
            .push(PreviousWitnessKey { key, until });
        Ok(self)
    }

    /// Marks the log retired at its checkpoint of size `size` and root `root`: larger
    /// checkpoints, and checkpoints of that size with another root, are refused. The point
    /// must not come before the last log-key rotation point.
    pub fn with_retirement(mut self, size: u64, root: Hash) -> Result<LogPolicy, PolicyError> {
        let retirement = Retirement { size, root };
        if let Some(last) = self.previous_log_keys.last() {
            check_retirement_after(retirement, last.last_size, last.last_root)?;
        }
        self.retirement = Some(retirement);
        Ok(self)
    }

    /// The earlier log keys with their rotation points, oldest first.
    pub fn previous_log_keys(&self) -> &[PreviousLogKey] {
        &self.previous_log_keys
    }

    /// The earlier witness keys, in the order added.
    pub fn previous_witness_keys(&self) -> &[PreviousWitnessKey] {
        &self.previous_witness_keys
    }

    /// The retirement point, if the log is retired.
    pub fn retirement(&self) -> Option<Retirement> {
        self.retirement
    }

    /// The log key that must sign a checkpoint of `size`: the first earlier key whose rotation
    /// point is at least `size`, else the current key.
    pub fn log_key_for(&self, size: u64) -> &VerifierKey {
        self.previous_log_keys
            .iter()
            .find(|p| p.last_size >= size)
            .map_or(&self.log_key, |p| &p.key)
    }

    /// The last rotation point (size, root) strictly before `size`, if any: a checkpoint of
    /// `size` must extend it. Callers that can fetch a consistency proof check that it does,
    /// so a new key cannot rewrite what the old key signed.
    pub fn rotation_point_before(&self, size: u64) -> Option<(u64, Hash)> {
        self.previous_log_keys
            .iter()
            .rev()
            .find(|p| p.last_size < size)
            .map(|p| (p.last_size, p.last_root))
    }

    /// A valid cosignature by an earlier key of `witness` made before that key's `until`: its
    /// timestamp; whether a valid one made too late was seen; whether any line by an earlier
    /// key of the witness was seen.
    pub(super) fn earlier_cosignature(
        &self,
        witness: &VerifierKey,
        text: &str,
        lines: &[NoteSignature],
    ) -> (Option<u64>, bool, bool) {
        let (mut late, mut seen) = (false, false);
        let earlier = self
            .previous_witness_keys
            .iter()
            .filter(|p| p.key.name() == witness.name());
        for previous in earlier {
            for line in lines.iter().filter(|s| s.is_by(&previous.key)) {
                seen = true;
                match cosignature::verify(&previous.key, text, line) {
                    Ok(timestamp) if timestamp < previous.until => {
                        return (Some(timestamp), late, true);
                    }
                    Ok(_) => late = true,
                    Err(_) => {}
                }
            }
        }
        (None, late, seen)
    }
}

fn invalid(reason: String) -> PolicyError {
    PolicyError::InvalidPolicy(reason)
}

/// A retirement point must not come before the last rotation point, nor differ from it at the
/// same size.
fn check_retirement_after(
    retirement: Retirement,
    last_size: u64,
    last_root: Hash,
) -> Result<(), PolicyError> {
    if retirement.size < last_size || (retirement.size == last_size && retirement.root != last_root)
    {
        return Err(invalid(format!(
            "retirement point (size {}) comes before, or differs from, the log-key rotation point at size {last_size}",
            retirement.size
        )));
    }
    Ok(())
}
