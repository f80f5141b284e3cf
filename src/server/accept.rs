//! What the accept loop does when it cannot take a connection: at the connection cap it waits,
//! and when `accept` itself fails it pauses. Either is logged once per burst, not once per try.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The connection cap (`[limits] max_connections`): one permit per connection, held by the
/// connection's task until it ends.
///
/// At the cap the loop stops accepting, so new connections wait in the kernel's listen backlog
/// (their TCP handshake is already complete there) while the open ones are served; a silent one
/// frees its place after `header_read_timeout_ms`. Waiting rather than refusing means a sender
/// is served late rather than not at all, and costs no file descriptor while it waits.
pub(super) struct Admission {
    places: Arc<Semaphore>,
    max: usize,
    /// The cap has been reached and not left since (so it is logged once).
    full: bool,
}

impl Admission {
    pub(super) fn new(max: usize) -> Self {
        Self {
            places: Arc::new(Semaphore::new(max)),
            max,
            full: false,
        }
    }

    /// A place for the next connection, as soon as there is one.
    pub(super) async fn place(&mut self) -> OwnedSemaphorePermit {
        if let Ok(place) = Arc::clone(&self.places).try_acquire_owned() {
            if self.full {
                self.full = false;
                tracing::info!(
                    max_connections = self.max,
                    "below the connection limit again"
                );
            }
            return place;
        }
        if !self.full {
            self.full = true;
            tracing::warn!(
                max_connections = self.max,
                "connection limit reached: new connections wait until one closes"
            );
        }
        Arc::clone(&self.places)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }
}

/// The first pause after `accept` failed for want of resources; each further failure in a row
/// doubles it, up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(10);
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// Failures of `accept` in a row.
///
/// Out of file descriptors (`EMFILE`, `ENFILE`) or memory, the connection stays in the backlog
/// and `accept` fails again at once: without a pause the loop would spin and log without end.
/// A connection that the peer aborted before it was taken is that peer's problem: no pause.
#[derive(Default)]
pub(super) struct AcceptErrors {
    failures: u64,
    pause: Duration,
}

impl AcceptErrors {
    /// Notes a failure; returns how long to pause before accepting again, if at all. The first
    /// failure of a burst is a warning, the others are `debug`.
    pub(super) fn failed(&mut self, error: &io::Error) -> Option<Duration> {
        if matches!(
            error.kind(),
            io::ErrorKind::ConnectionAborted
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::Interrupted
        ) {
            tracing::debug!(%error, "a connection went away before it was accepted");
            return None;
        }
        self.failures += 1;
        self.pause = if self.failures == 1 {
            FIRST_PAUSE
        } else {
            (self.pause * 2).min(LONGEST_PAUSE)
        };
        let pause_ms = self.pause.as_millis();
        if self.failures == 1 {
            tracing::warn!(
                %error,
                pause_ms,
                "accepting connections failed (out of file descriptors?): pausing, and trying again until it works"
            );
        } else {
            tracing::debug!(%error, failures = self.failures, pause_ms, "accepting still fails");
        }
        Some(self.pause)
    }

    /// Notes a connection accepted, which ends a burst of failures.
    pub(super) fn succeeded(&mut self) {
        if self.failures > 0 {
            tracing::info!(failures = self.failures, "accepting connections again");
            self.failures = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_a_second_and_start_again_after_a_success() {
        let mut errors = AcceptErrors::default();
        let emfile = io::Error::from_raw_os_error(24);
        let pauses: Vec<_> = (0..9)
            .map(|_| errors.failed(&emfile).unwrap().as_millis())
            .collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        errors.succeeded();
        assert_eq!(errors.failed(&emfile), Some(FIRST_PAUSE));
    }

    #[test]
    fn a_connection_aborted_by_its_peer_is_no_reason_to_pause() {
        let mut errors = AcceptErrors::default();
        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert_eq!(errors.failed(&aborted), None);
        assert_eq!(errors.failures, 0);
    }
}
