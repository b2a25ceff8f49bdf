//! The result of one check, in the shape the portal shows (contract: `{id, ok, code?, detail}`).

use serde::Serialize;

/// One check's outcome. `id` names the check, `code` is a stable machine reason when it
/// failed, `detail` a short English technical detail the portal shows under its own words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Which check: `genesis`, `checkpoint_signature`, `witness_quorum`, `inclusion`,
    /// `entry_canonical`, `entry_signatures`, `log_grows` or `opening`.
    pub id: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// Why it failed (absent when it passed), e.g. `bad_signature`, `no_quorum`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// What was checked, or what was wrong.
    pub detail: String,
}

impl Check {
    /// A passed check.
    pub fn pass(id: &'static str, detail: impl Into<String>) -> Check {
        Check {
            id,
            ok: true,
            code: None,
            detail: detail.into(),
        }
    }

    /// A failed check with its machine reason.
    pub fn fail(id: &'static str, code: &'static str, detail: impl Into<String>) -> Check {
        Check {
            id,
            ok: false,
            code: Some(code),
            detail: detail.into(),
        }
    }
}

/// Whether every check passed (and there was at least one).
pub fn all_ok(checks: &[Check]) -> bool {
    !checks.is_empty() && checks.iter().all(|c| c.ok)
}

/// Reads a JavaScript number as a non-negative integer index or size, refusing fractions,
/// negatives, NaN and anything beyond 2^53 (where numbers stop being exact).
pub fn whole(value: f64, what: &str) -> Result<u64, String> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    if (0.0..=MAX_SAFE).contains(&value) && value.fract() == 0.0 {
        Ok(value as u64)
    } else {
        Err(format!(
            "{what} must be a whole number from 0 to 2^53-1, got {value}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_serialize_in_the_contract_shape() {
        let pass = serde_json::to_value(Check::pass("inclusion", "at 3 of 9")).unwrap();
        assert_eq!(
            pass,
            serde_json::json!({"id": "inclusion", "ok": true, "detail": "at 3 of 9"})
        );
        let fail = serde_json::to_value(Check::fail("opening", "opening_mismatch", "x")).unwrap();
        assert_eq!(fail["code"], "opening_mismatch");
        assert!(!all_ok(&[]));
        assert!(!all_ok(&[Check::pass("a", ""), Check::fail("b", "c", "")]));
    }

    #[test]
    fn only_exact_whole_numbers_are_indexes() {
        assert_eq!(whole(0.0, "i"), Ok(0));
        assert_eq!(whole(1e15, "i"), Ok(1_000_000_000_000_000));
        for bad in [-1.0, 0.5, f64::NAN, f64::INFINITY, 1e300] {
            assert!(whole(bad, "i").is_err(), "{bad}");
        }
    }
}
