//! The audit parameters of DESIGN §8, fixed by the genesis so every auditor replaying the same
//! logs reaches the same findings.

use crate::error::GenesisError;

/// Longest period any day-count parameter may take (100 years), to catch typos.
pub const MAX_DAYS: u32 = 36_500;

/// The audit parameters: defined in `daylight_verifier::audit`, beside the rules that read
/// them, and re-exported here so `daylight_genesis::AuditParams` keeps working.
pub use daylight_verifier::audit::AuditParams;

/// Genesis validation of [`AuditParams`]: the ranges a signed genesis file may hold.
///
/// A trait because the type is defined in `daylight-verifier`; bring it into scope
/// (`use daylight_genesis::AuditParamsExt`) to call `params.validate()`.
pub trait AuditParamsExt {
    /// Checks every parameter is in range and every currency code is three capital letters.
    fn validate(&self) -> Result<(), GenesisError>;
}

impl AuditParamsExt for AuditParams {
    fn validate(&self) -> Result<(), GenesisError> {
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
