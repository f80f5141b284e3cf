//! `fault`: failure drills. The endpoint fails on purpose, deterministically, so an integrator can
//! watch how SuccessFactors retries and what its audit log shows.
//!
//! A drill acts once per message (one delivery). Deliveries are counted per `externalEventId`
//! (a message without one counts under its first `eventId`, else under one shared anonymous key).
//! Which deliveries are drilled:
//!
//! * neither `first` nor `percent`: every delivery;
//! * `first = N`: deliveries 1..=N of each key, so the sender's N+1st try succeeds;
//! * `percent = P`: a share P of deliveries, decided by a hash of `seed`, the key and the
//!   delivery number, so the same run of deliveries is drilled the same way every time;
//! * both: a delivery is drilled when either says so.
//!
//! A drilled delivery waits `delay_ms`, then fails the way `mode` says (or, for `delay`, goes on
//! down the chain). Failures are logged once by the chain (as every handler failure is) with the
//! drill's words; a `delay` drill logs its own line. The HTTP layer turns the chosen
//! [`FailureReply`] into the answer.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::{FailureReply, Handler, HandlerError};
use crate::config::{FaultConfig, FaultMode};
use crate::message::{Ack, Message};

/// How many keys the delivery counter remembers; the oldest are forgotten first.
const REMEMBERED_KEYS: usize = 100_000;

pub struct FaultHandler {
    name: Arc<str>,
    mode: FaultMode,
    first: Option<u32>,
    percent: Option<f64>,
    seed: u64,
    delay: Duration,
    error_code: String,
    error_message: Option<String>,
    deliveries: Mutex<Deliveries>,
}

impl FaultHandler {
    pub fn new(name: Arc<str>, config: &FaultConfig) -> Self {
        Self {
            name,
            mode: config.mode,
            first: config.first,
            percent: config.percent,
            seed: config.seed,
            delay: Duration::from_millis(config.delay_ms),
            error_code: config
                .error_code
                .clone()
                .unwrap_or_else(|| "500".to_owned()),
            error_message: config.error_message.clone(),
            deliveries: Mutex::default(),
        }
    }

    /// Whether delivery `n` (1-based) of `key` is drilled.
    fn picks(&self, key: &str, n: u32) -> bool {
        if self.first.is_none() && self.percent.is_none() {
            return true;
        }
        if self.first.is_some_and(|first| n <= first) {
            return true;
        }
        self.percent
            .is_some_and(|percent| share(self.seed, key, n) * 100.0 < percent)
    }
}

/// A number in [0, 1) that depends only on its inputs (SHA-256, so it is the same on every
/// machine and every version).
fn share(seed: u64, key: &str, n: u32) -> f64 {
    let mut hash = Sha256::new();
    hash.update(seed.to_be_bytes());
    hash.update(n.to_be_bytes());
    hash.update(key.as_bytes());
    let digest = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// Deliveries seen per key, bounded.
#[derive(Default)]
struct Deliveries {
    counts: HashMap<String, u32>,
    order: VecDeque<String>,
}

impl Deliveries {
    /// Counts one more delivery of `key` and returns its number.
    fn next(&mut self, key: &str) -> u32 {
        if let Some(count) = self.counts.get_mut(key) {
            *count = count.saturating_add(1);
            return *count;
        }
        if self.order.len() >= REMEMBERED_KEYS
            && let Some(oldest) = self.order.pop_front()
        {
            self.counts.remove(&oldest);
        }
        self.order.push_back(key.to_owned());
        self.counts.insert(key.to_owned(), 1);
        1
    }
}

#[async_trait]
impl Handler for FaultHandler {
    async fn handle(&self, message: &Message, _ack: &mut Ack) -> Result<(), HandlerError> {
        let envelope = &message.envelope;
        let key = envelope
            .meta
            .external_event_id
            .as_deref()
            .or_else(|| {
                envelope
                    .events
                    .first()
                    .and_then(|e| e.record().event_id.as_deref())
            })
            .unwrap_or("");
        // The lock is only held to count, never across the delay below.
        let n = self
            .deliveries
            .lock()
            .map(|mut d| d.next(key))
            .unwrap_or_else(|poisoned| poisoned.into_inner().next(key));
        if !self.picks(key, n) {
            tracing::debug!(
                message_id = %message.context.id,
                handler = %self.name,
                external_event_id = key,
                delivery = n,
                "drill lets this delivery pass"
            );
            return Ok(());
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let mode = self.mode.as_str();
        let what = format!(
            "drill '{}' ({mode}): delivery {n} of externalEventId '{key}'",
            self.name
        );
        let reply = match self.mode {
            FaultMode::Delay => {
                tracing::info!(
                    message_id = %message.context.id,
                    endpoint = %message.context.endpoint,
                    handler = %self.name,
                    delay_ms = self.delay.as_millis() as u64,
                    "{what} answered late on purpose"
                );
                return Ok(());
            }
            FaultMode::SoapFault => FailureReply::Fault,
            FaultMode::Http503 => FailureReply::Unavailable,
            FaultMode::Close => FailureReply::Close,
            FaultMode::ErrorResponse => FailureReply::ErrorResponse {
                code: self.error_code.clone(),
                message: self.error_message.clone().unwrap_or_else(|| {
                    format!(
                        "Failed on purpose by iflowd drill '{}'. The MPL ID for the failed message is : {}",
                        self.name, message.context.id
                    )
                }),
            },
        };
        Err(HandlerError {
            message: format!("{what} fails on purpose"),
            reply,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drill(first: Option<u32>, percent: Option<f64>, seed: u64) -> FaultHandler {
        FaultHandler::new(
            "drill".into(),
            &FaultConfig {
                mode: FaultMode::SoapFault,
                first,
                percent,
                seed,
                delay_ms: 0,
                error_code: None,
                error_message: None,
                when: None,
            },
        )
    }

    #[test]
    fn first_n_deliveries_of_each_key_are_drilled() {
        let drill = drill(Some(2), None, 0);
        let mut deliveries = Deliveries::default();
        let picked: Vec<bool> = ["a", "a", "b", "a", "b", "b"]
            .iter()
            .map(|key| drill.picks(key, deliveries.next(key)))
            .collect();
        assert_eq!(picked, [true, true, true, false, true, false]);
    }

    #[test]
    fn percent_is_deterministic_and_close_to_the_share() {
        let thirty = drill(None, Some(30.0), 7);
        let picks: Vec<bool> = (0..2000)
            .map(|i| thirty.picks(&format!("id-{i}"), 1))
            .collect();
        let again: Vec<bool> = (0..2000)
            .map(|i| thirty.picks(&format!("id-{i}"), 1))
            .collect();
        assert_eq!(picks, again, "same seed, same decisions");
        let share = picks.iter().filter(|p| **p).count();
        assert!((500..700).contains(&share), "{share} of 2000");
        let other_seed: Vec<bool> = (0..2000)
            .map(|i| drill(None, Some(30.0), 8).picks(&format!("id-{i}"), 1))
            .collect();
        assert_ne!(picks, other_seed);
        assert!(!(0..500).any(|i| drill(None, Some(0.0), 1).picks(&format!("k{i}"), 1)));
        assert!((0..500).all(|i| drill(None, Some(100.0), 1).picks(&format!("k{i}"), 1)));
    }

    #[test]
    fn without_first_or_percent_every_delivery_is_drilled() {
        let drill = drill(None, None, 0);
        assert!((1..10).all(|n| drill.picks("x", n)));
    }

    #[test]
    fn the_counter_forgets_the_oldest_keys_first() {
        let mut deliveries = Deliveries::default();
        for i in 0..=REMEMBERED_KEYS {
            deliveries.next(&i.to_string());
        }
        assert_eq!(deliveries.counts.len(), REMEMBERED_KEYS);
        assert_eq!(deliveries.next("0"), 1, "forgotten, counts afresh");
        assert_eq!(deliveries.next(&REMEMBERED_KEYS.to_string()), 2);
    }
}
