//! The audit parameters of DESIGN §8, fixed by the genesis so every auditor replaying the same
//! logs reaches the same findings.

use std::collections::BTreeMap;

use crate::error::GenesisError;

/// Longest period any day-count parameter may take (100 years), to catch typos.
pub const MAX_DAYS: u32 = 36_500;

/// Thresholds for the deterministic audit rules (DESIGN §8).
///
/// Amounts are integer minor units (fen for CNY) per ISO 4217 currency code, like every amount
/// in daylight; never floats. The defaults ([`AuditParams::default`]) are placeholders that
/// match common practice; a real network sets them from its own regulations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditParams {
    /// An allocation not matched by a receipt in the payee's log within this many days is
    /// flagged (transfer not received). Default 30.
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
    /// A record whose event date is more than this many days before its publication is
    /// long-backdated. Default 30.
    pub max_backdate_days: u32,
    /// A record whose event date is more than this many days after its publication is
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

    /// Checks every parameter is in range and every currency code is three capital letters.
    pub fn validate(&self) -> Result<(), GenesisError> {
        let days = [
            ("transfer_receipt_days", self.transfer_receipt_days, 1),
            ("idle_days", self.idle_days, 1),
            ("duplicate_window_days", self.duplicate_window_days, 1),
            ("split_window_days", self.split_window_days, 1),
            ("min_notice_days", self.min_notice_days, 0),
            ("max_backdate_days", self.max_backdate_days, 0),
            ("max_future_days", self.max_future_days, 0),
        ];
        for (field, value, min) in days {
            if !(min..=MAX_DAYS).contains(&value) {
                return Err(invalid(
                    field,
                    format!("{value} days is out of range; use {min} to {MAX_DAYS}"),
                ));
            }
        }
        if !(1..=99).contains(&self.split_margin_percent) {
            return Err(invalid(
                "split_margin_percent",
                format!("{} is out of range; use 1 to 99", self.split_margin_percent),
            ));
        }
        for (table, amounts) in [
            ("approval_threshold", &self.approval_threshold),
            ("entitlement_cap", &self.entitlement_cap),
        ] {
            for (currency, &amount) in amounts {
                let field = format!("{table}.{currency}");
                if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(invalid(
                        &field,
                        "currency must be an ISO 4217 code of three capital letters, e.g. CNY"
                            .to_string(),
                    ));
                }
                if amount == 0 || amount > i64::MAX as u64 {
                    return Err(invalid(
                        &field,
                        format!(
                            "{amount} minor units is out of range; use 1 to {}",
                            i64::MAX
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn invalid(field: &str, reason: String) -> GenesisError {
    GenesisError::InvalidAudit {
        field: field.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let params = AuditParams::default();
        assert_eq!(params.validate(), Ok(()));
        assert_eq!(params.idle_red_days(), 180);
        assert_eq!(params.duplicate_window_days, 30);
        assert_eq!(params.min_notice_days, 10);
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let p = AuditParams {
            idle_days: 0,
            ..AuditParams::default()
        };
        assert!(
            matches!(p.validate(), Err(GenesisError::InvalidAudit { field, .. }) if field == "idle_days")
        );
        let p = AuditParams {
            split_margin_percent: 100,
            ..AuditParams::default()
        };
        assert!(p.validate().is_err());
        let mut p = AuditParams::default();
        p.approval_threshold.insert("cny".into(), 5);
        assert!(p.validate().is_err());
        let mut p = AuditParams::default();
        p.entitlement_cap.insert("USD".into(), u64::MAX);
        assert!(p.validate().is_err());
        let mut p = AuditParams::default();
        p.entitlement_cap.insert("USD".into(), 0);
        assert!(p.validate().is_err());
    }
}
