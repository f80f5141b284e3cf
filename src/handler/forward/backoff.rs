//! How long to wait before a retry: exponential, capped, with jitter.

use std::time::Duration;

/// Retry `n` (1 for the first retry) waits `min(base * 2^(n-1), max)`, of which the second half
/// is random ("equal jitter"): never less than half the nominal wait, so retries from many
/// messages spread out without collapsing to zero.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    pub fn nominal(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    pub fn delay(&self, retry: u32) -> Duration {
        let nominal = self.nominal(retry);
        let half = nominal / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rand::random_range(0..=jitter_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_and_keep_half_of_it() {
        let backoff = Backoff {
            base: Duration::from_millis(200),
            max: Duration::from_millis(1000),
        };
        let nominal: Vec<u128> = (1..=5).map(|n| backoff.nominal(n).as_millis()).collect();
        assert_eq!(nominal, [200, 400, 800, 1000, 1000]);
        for n in 1..=5 {
            for _ in 0..50 {
                let delay = backoff.delay(n);
                assert!(
                    delay >= backoff.nominal(n) / 2 && delay <= backoff.nominal(n),
                    "{delay:?}"
                );
            }
        }
        assert_eq!(
            backoff.nominal(64),
            Duration::from_millis(1000),
            "no overflow"
        );
    }
}
