//! When a failed attempt is retried, and what a queued message's `CustomStatus` says.

use std::time::Duration;

use crate::config::RetryConfig;

/// The wait after the `failures`-th failed attempt (1-based): `interval_ms`, doubled for each
/// failure after the first when `exponential`, never more than `max_interval_ms`.
pub fn delay(retry: &RetryConfig, failures: u32) -> Duration {
    let mut wait = retry.interval_ms;
    if retry.exponential {
        for _ in 1..failures {
            wait = wait.saturating_mul(2);
            if wait >= retry.max_interval_ms {
                break;
            }
        }
    }
    Duration::from_millis(wait.min(retry.max_interval_ms))
}

/// Whether the `failures`-th failed attempt was the last one allowed.
pub fn exhausted(retry: &RetryConfig, failures: u32) -> bool {
    failures >= retry.max_attempts
}

/// `RETRY 2/5`, `ESCALATED 5/5`: the status with the failed attempts of the allowed.
pub fn custom_status(status: &str, retry: &RetryConfig, failures: u32) -> String {
    format!("{status} {failures}/{}", retry.max_attempts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry(interval_ms: u64, exponential: bool, max_interval_ms: u64) -> RetryConfig {
        RetryConfig {
            interval_ms,
            exponential,
            max_interval_ms,
            max_attempts: 5,
        }
    }

    #[test]
    fn the_wait_doubles_up_to_the_cap() {
        let waits: Vec<u64> = (1..=6)
            .map(|n| delay(&retry(1000, true, 5000), n).as_millis() as u64)
            .collect();
        assert_eq!(waits, [1000, 2000, 4000, 5000, 5000, 5000]);
    }

    #[test]
    fn without_exponential_the_wait_stays() {
        let waits: Vec<u64> = (1..=3)
            .map(|n| delay(&retry(700, false, 5000), n).as_millis() as u64)
            .collect();
        assert_eq!(waits, [700, 700, 700]);
    }

    #[test]
    fn a_huge_count_neither_overflows_nor_loops_long() {
        let wait = delay(&retry(u64::MAX / 2, true, u64::MAX), u32::MAX);
        assert_eq!(wait, Duration::from_millis(u64::MAX));
    }

    #[test]
    fn the_last_attempt_and_the_custom_status() {
        let policy = retry(1000, true, 5000);
        assert!(!exhausted(&policy, 4));
        assert!(exhausted(&policy, 5));
        assert_eq!(custom_status("RETRY", &policy, 2), "RETRY 2/5");
    }
}
