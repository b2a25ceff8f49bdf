//! Evidence that a log showed two histories, and which logs did: once evidence against a log
//! is stored, this node never cosigns that log again.

use redb::ReadableTable;

use super::tables::{EQUIVOCATING, EVIDENCE};
use super::{StorageError, Store};

impl Store {
    /// Stores evidence and marks its log as equivocating. Returns false if already stored.
    pub fn put_evidence(&self, origin: &str, id: &str, json: &str) -> Result<bool, StorageError> {
        if self.read(|txn| Ok(txn.open_table(EVIDENCE)?.get(id)?.is_some()))? {
            return Ok(false);
        }
        self.write(|txn| {
            let mut evidence = txn.open_table(EVIDENCE)?;
            if evidence.get(id)?.is_some() {
                return Ok(false);
            }
            evidence.insert(id, json)?;
            let mut equivocating = txn.open_table(EQUIVOCATING)?;
            if equivocating.get(origin)?.is_none() {
                equivocating.insert(origin, id)?;
            }
            Ok(true)
        })
    }

    /// All stored evidence documents.
    pub fn evidence(&self) -> Result<Vec<String>, StorageError> {
        self.read(|txn| {
            let table = txn.open_table(EVIDENCE)?;
            table
                .iter()?
                .map(|row| Ok(row?.1.value().to_string()))
                .collect()
        })
    }

    /// Whether evidence shows `origin` equivocated.
    pub fn is_equivocating(&self, origin: &str) -> Result<bool, StorageError> {
        self.read(|txn| Ok(txn.open_table(EQUIVOCATING)?.get(origin)?.is_some()))
    }
}
