//! The one way feeding a [`super::Ledger`] can fail: entries out of order.
//!
//! Everything else that can be wrong with a log (an entry that is not a record, a bad
//! correction, equivocation) is a finding, not an error: the audit reports it.

use crate::record::MemberId;

/// Why entries could not be added to a [`super::Ledger`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The entry's index is not the next one of its log (a gap or a repeat).
    #[error(
        "entry {got} of log {log} is out of order: the ledger holds {expected} entries of that log, so the next entry must have index {expected}"
    )]
    OutOfOrder {
        /// The log.
        log: MemberId,
        /// The index the ledger expected (its current size for that log).
        expected: u64,
        /// The index given.
        got: u64,
    },
}
