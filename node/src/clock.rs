//! The node's calendar: today's date and the current instant in UTC, in the record types.
//!
//! Records carry dates and instants as text; audit rules judge them against a date; witnesses
//! timestamp cosignatures in seconds; `/v1/network` says when a peer was last heard from. The
//! node reads the system clock only here, so what "now" means is decided in one place.

use std::time::{SystemTime, UNIX_EPOCH};

use daylight_verifier::record::{Date, Instant};

const SECONDS_PER_DAY: u64 = 86_400;

/// Seconds since the Unix epoch now (what a cosignature's timestamp holds).
pub fn seconds_since_epoch() -> u64 {
    seconds_at(SystemTime::now())
}

/// Seconds since the Unix epoch at `time` (0 before the epoch).
pub fn seconds_at(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Today's date in UTC.
pub fn today() -> Date {
    let days = (seconds_since_epoch() / SECONDS_PER_DAY) as i64;
    Date::from_days_since_epoch(days).unwrap_or_else(|| Date::new(1970, 1, 1).expect("a real date"))
}

/// The date `days` days before today (UTC).
pub fn days_ago(days: i64) -> Date {
    Date::from_days_since_epoch(today().days_since_epoch() - days).unwrap_or_else(today)
}

/// The current instant in UTC, to the second: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now() -> Instant {
    instant_at(SystemTime::now())
}

/// The instant `time` in UTC, to the second: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn instant_at(time: SystemTime) -> Instant {
    let seconds = seconds_at(time);
    let date = Date::from_days_since_epoch((seconds / SECONDS_PER_DAY) as i64)
        .unwrap_or_else(|| Date::new(1970, 1, 1).expect("a real date"));
    let of_day = seconds % SECONDS_PER_DAY;
    let text = format!(
        "{date}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
    Instant::parse(&text).expect("the clock formats a valid instant")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_a_whole_second_of_today() {
        let instant = now();
        assert_eq!(instant.as_str().len(), 20, "{}", instant.as_str());
        // Midnight may pass between the two readings.
        let apart = today().days_since_epoch() - instant.date().days_since_epoch();
        assert!((0..=1).contains(&apart));
        assert_eq!(days_ago(3).days_until(&today()), 3);
        let epoch = instant_at(UNIX_EPOCH + std::time::Duration::from_secs(86_400 + 3_723));
        assert_eq!(epoch.as_str(), "1970-01-02T01:02:03Z");
    }
}
