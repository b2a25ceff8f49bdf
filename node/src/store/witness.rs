//! Witness state: cosignatures other members made over our checkpoints, and, per log this
//! node witnesses, the (size, root) it last cosigned, replaced only by compare-and-swap so
//! that two concurrent requests can never roll it back.

use daylight_verifier::Hash;
use redb::ReadableTable;

use super::tables::{COSIGNATURES, WITNESSED, WITNESSED_NOTES};
use super::{StorageError, Store};

impl Store {
    /// Stores a verified cosignature line of `witness` over the checkpoint of `size` with
    /// `root` (a later line from the same witness for that size replaces it).
    ///
    /// Not fsync'd on its own: a collected cosignature can always be collected again, so it
    /// becomes durable with the next durable commit instead of costing a disk flush each (a
    /// node receives one per witness per checkpoint).
    pub fn put_cosignature(
        &self,
        log: u32,
        size: u64,
        root: &Hash,
        witness: &str,
        line: &str,
    ) -> Result<(), StorageError> {
        let mut value = root.0.to_vec();
        value.extend_from_slice(line.as_bytes());
        let stored = self.write_with(redb::Durability::None, |txn| {
            txn.open_table(COSIGNATURES)?
                .insert((log, size, witness), value.as_slice())?;
            Ok(())
        });
        self.heads_changed();
        stored
    }

    /// The cosignature lines stored for the checkpoint of `size` with `root`.
    pub fn cosignatures(
        &self,
        log: u32,
        size: u64,
        root: &Hash,
    ) -> Result<Vec<String>, StorageError> {
        self.read(|txn| {
            let table = txn.open_table(COSIGNATURES)?;
            let mut lines = Vec::new();
            for row in table.range((log, size, "")..=(log, size, "\u{10FFFF}"))? {
                let (_, value) = row?;
                let value = value.value();
                if value.len() > 32 && value[..32] == root.0 {
                    lines.push(String::from_utf8_lossy(&value[32..]).into_owned());
                }
            }
            Ok(lines)
        })
    }

    /// The (size, root) this node last cosigned for `origin`, with its note.
    pub fn witnessed(&self, origin: &str) -> Result<Option<(u64, Hash, String)>, StorageError> {
        self.read(|txn| {
            let Some(state) = txn.open_table(WITNESSED)?.get(origin)?.map(|v| v.value()) else {
                return Ok(None);
            };
            let note = txn
                .open_table(WITNESSED_NOTES)?
                .get(origin)?
                .map(|v| v.value().to_string())
                .unwrap_or_default();
            Ok(Some((state.0, Hash(state.1), note)))
        })
    }

    /// Atomically replaces the witness state of `origin` if it still is `expected` (`None`:
    /// never cosigned). On a mismatch nothing changes and the current state is returned, so
    /// two concurrent add-checkpoint calls can never roll the state back.
    pub fn swap_witnessed(
        &self,
        origin: &str,
        expected: Option<(u64, Hash)>,
        new: (u64, Hash),
        note: &str,
    ) -> Result<Result<(), Option<(u64, Hash)>>, StorageError> {
        // A mismatch must abort the transaction, so it travels as an error out of `write`.
        let swapped = self.write(|txn| {
            let mut state = txn.open_table(WITNESSED)?;
            let current = state.get(origin)?.map(|v| {
                let (size, root) = v.value();
                (size, Hash(root))
            });
            if current != expected {
                return Err(StorageError::WitnessStateMoved(current));
            }
            state.insert(origin, (new.0, new.1.0))?;
            txn.open_table(WITNESSED_NOTES)?.insert(origin, note)?;
            Ok(())
        });
        match swapped {
            Ok(()) => Ok(Ok(())),
            Err(StorageError::WitnessStateMoved(current)) => Ok(Err(current)),
            Err(e) => Err(e),
        }
    }
}
