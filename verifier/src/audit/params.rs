//! The audit parameters of DESIGN §8. They live here, beside the rules that read them, and the
//! genesis file fixes their values (`daylight_genesis` re-exports this type and validates it),
//! so every auditor replaying the same logs with the same genesis reaches the same findings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Thresholds for the deterministic audit rules (DESIGN §8).
///
/// Amounts are integer minor units (fen for CNY) per ISO 4217 currency code, like every amount
/// in daylight; never floats. The defaults ([`AuditParams::default`]) are placeholders that
/// match common practice; a real network sets them from its own regulations in its genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditParams {
    /// An allocation to a member not matched by a receipt in the payee's log within this many
    /// days is flagged (transfer not received). Default 30.
    pub transfer_receipt_days: u32,
    /// Funds received and not spent for this many days are idle: yellow; at twice this, red.
    /// Default 90.
    pub idle_days: u32,
    /// Two payments with the same payee, programme and amount within this many days are a
    /// possible duplicate. Default 30.
    pub duplicate_window_days: u32,
    /// Payments to one payee within this many days are added up when looking for an approval
    /// threshold split into smaller payments. Default 30.
    pub split_window_days: u32,
    /// A payment is "just under" a threshold when it is within this percentage below it.
    /// Default 10.
    pub split_margin_percent: u32,
    /// Shortest public notice before a household is enrolled or exited. Default 10.
    pub min_notice_days: u32,
    /// A record whose event date is more than this many days before the latest event date
    /// of the records logged before it is long-backdated. Default 30.
    pub max_backdate_days: u32,
    /// A record whose event date is more than this many days after the audit date is
    /// future-dated (1 tolerates time zones). Default 1.
    pub max_future_days: u32,
    /// Per currency: payments at or above this amount need an approval sign-off, and
    /// payments split just under it are flagged. Default CNY 100,000.00.
    pub approval_threshold: BTreeMap<String, u64>,
    /// Per currency: the most one household may receive from one programme in one calendar
    /// year. Default CNY 30,000.00.
    pub entitlement_cap: BTreeMap<String, u64>,
}

impl Default for AuditParams {
    fn default() -> AuditParams {
        AuditParams {
            transfer_receipt_days: 30,
            idle_days: 90,
            duplicate_window_days: 30,
            split_window_days: 30,
            split_margin_percent: 10,
            min_notice_days: 10,
            max_backdate_days: 30,
            max_future_days: 1,
            approval_threshold: BTreeMap::from([("CNY".to_string(), 10_000_000)]),
            entitlement_cap: BTreeMap::from([("CNY".to_string(), 3_000_000)]),
        }
    }
}

impl AuditParams {
    /// Days after which idle funds are red (twice [`AuditParams::idle_days`]).
    pub fn idle_red_days(&self) -> u64 {
        2 * u64::from(self.idle_days)
    }

    /// The approval threshold for `currency`, in minor units, if the network sets one.
    pub fn threshold(&self, currency: &str) -> Option<u64> {
        self.approval_threshold.get(currency).copied()
    }

    /// The entitlement cap for `currency`, in minor units, if the network sets one.
    pub fn cap(&self, currency: &str) -> Option<u64> {
        self.entitlement_cap.get(currency).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let p = AuditParams::default();
        assert_eq!(p.idle_red_days(), 180);
        assert_eq!(p.threshold("CNY"), Some(10_000_000));
        assert_eq!(p.cap("USD"), None);
    }
}
