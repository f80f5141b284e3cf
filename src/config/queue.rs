//! The delivery queue's settings: each endpoint's `delivery` and `[endpoints.retry]`, and
//! `[queue]`, with their checks.
//!
//! The retry settings are those of CPI's JMS sender adapter: a first interval, doubled after each
//! failed attempt when `exponential`, never longer than `max_interval_ms`, and, unlike CPI (whose
//! JMS queue retries for ever unless the flow counts), at most `max_attempts` attempts before the
//! message is `ESCALATED`.

use serde::Deserialize;

use super::{Config, StoreConfig};

/// How an endpoint's calls are delivered to its handler chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    /// The chain runs while the sender waits; the answer says how it went.
    #[default]
    Sync,
    /// The call is acknowledged once it is queued (durably); the chain runs afterwards, with
    /// retries.
    Async,
}

/// `[endpoints.retry]`: how a queued message is retried. Used by `delivery = "async"` endpoints
/// and by replays of any endpoint's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// The wait after the first failed attempt.
    pub interval_ms: u64,
    /// Double the wait after each further failed attempt.
    pub exponential: bool,
    /// The longest wait between two attempts.
    pub max_interval_ms: u64,
    /// Attempts before the message is `ESCALATED` (the dead letter: kept, never retried by
    /// itself).
    pub max_attempts: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            interval_ms: 60_000,
            exponential: true,
            max_interval_ms: 3_600_000,
            max_attempts: 10,
        }
    }
}

/// The most attempts a message may be given.
pub const MAX_ATTEMPTS: u32 = 1_000;
/// The longest wait between two attempts that may be configured: seven days.
pub const MAX_INTERVAL_MS: u64 = 7 * 24 * 3_600_000;

/// `[queue]`: the workers that run queued messages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Attempts that run at once, over all endpoints.
    pub workers: usize,
    /// How long a running attempt holds its message before another worker may take it over. A
    /// running attempt renews its lease every third of this, so only an attempt whose worker is
    /// gone loses it.
    pub lease_ms: u64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            workers: 8,
            lease_ms: 60_000,
        }
    }
}

/// The most workers `[queue] workers` may ask for.
pub const MAX_WORKERS: usize = 1_024;

pub(super) fn validate_queue(config: &Config, errors: &mut Vec<String>) {
    let queue = &config.queue;
    if queue.workers == 0 || queue.workers > MAX_WORKERS {
        errors.push(format!(
            "queue.workers must be between 1 and {MAX_WORKERS} (it is {})",
            queue.workers
        ));
    }
    if queue.lease_ms < 1_000 {
        errors.push(format!(
            "queue.lease_ms must be at least 1000 (it is {})",
            queue.lease_ms
        ));
    }
    for (i, endpoint) in config.endpoints.iter().enumerate() {
        let key = format!("endpoints[{i}]");
        validate_retry(&key, &endpoint.retry, errors);
        if endpoint.delivery == Delivery::Async {
            validate_async_store(&key, &config.store, errors);
        }
    }
}

fn validate_retry(key: &str, retry: &RetryConfig, errors: &mut Vec<String>) {
    if retry.interval_ms == 0 {
        errors.push(format!("{key}.retry.interval_ms must be at least 1"));
    }
    if retry.max_interval_ms > MAX_INTERVAL_MS {
        errors.push(format!(
            "{key}.retry.max_interval_ms must be at most {MAX_INTERVAL_MS} (seven days; it is {})",
            retry.max_interval_ms
        ));
    }
    if retry.max_interval_ms < retry.interval_ms {
        errors.push(format!(
            "{key}.retry.max_interval_ms ({}) must be at least retry.interval_ms ({})",
            retry.max_interval_ms, retry.interval_ms
        ));
    }
    if retry.max_attempts == 0 || retry.max_attempts > MAX_ATTEMPTS {
        errors.push(format!(
            "{key}.retry.max_attempts must be between 1 and {MAX_ATTEMPTS} (it is {})",
            retry.max_attempts
        ));
    }
}

fn validate_async_store(key: &str, store: &StoreConfig, errors: &mut Vec<String>) {
    if !store.enabled {
        errors.push(format!(
            "{key}.delivery = \"async\" needs the message log, which holds the queue; remove [store] enabled = false"
        ));
    }
}
