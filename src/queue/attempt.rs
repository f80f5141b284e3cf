//! One attempt of a queued message: its chain, its lease kept alive meanwhile, and its end
//! recorded with what becomes of the message.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use time::OffsetDateTime;
use tokio::sync::OwnedSemaphorePermit;

use super::{Shared, policy};
use crate::clock;
use crate::endpoint::{Endpoint, Outcome};
use crate::message::{Message, MessageContext};
use crate::soap::{SoapVersion, iso_millis};
use crate::store::{AttemptEnd, Claimed, ErrorInfo, Lease, Next, Status};

/// Runs an attempt of a message a worker claimed from the store: its request is parsed again
/// first. A message that cannot run at all (its endpoint or body is gone, or the body is not an
/// `ExternalEvent` call) ends at once.
pub(super) async fn claimed(shared: &Arc<Shared>, claimed: Claimed, worker: OwnedSemaphorePermit) {
    let lease = claimed.lease;
    let Some(endpoint) = shared.endpoints.get(&claimed.endpoint).cloned() else {
        let error = format!(
            "endpoint '{}' is not configured (any more); the message is kept for a retry once it is",
            claimed.endpoint
        );
        return give(shared, &claimed.endpoint, lease, Status::Escalated, error).await;
    };
    let Some(request) = claimed.request else {
        let error = "the message's request body is no longer stored, so it cannot run".to_owned();
        return give(shared, &claimed.endpoint, lease, Status::Escalated, error).await;
    };
    let version = SoapVersion::from_content_type(&request.content_type).unwrap_or(SoapVersion::V11);
    let context = MessageContext {
        id: claimed.guid,
        endpoint: Arc::clone(&endpoint.name),
        sender: claimed.sender,
        received_at: claimed.log_start,
        received_at_text: iso_millis(claimed.log_start),
        raw_body: request.body,
        content_type: request.content_type,
    };
    match endpoint.prepare(context, version, &shared.event_types) {
        Ok(message) => run(shared, lease, &endpoint, claimed.failures, message, worker).await,
        Err(rejected) => {
            let error = match *rejected {
                Outcome::Rejected { error, .. } => {
                    format!("the stored request is not an ExternalEvent call: {error}")
                }
                _ => "the stored request cannot be read".to_owned(),
            };
            give(shared, &claimed.endpoint, lease, Status::Failed, error).await;
        }
    }
}

/// Runs attempt 1 of a message handed over in memory: waits for a worker (its lease renewed
/// meanwhile), then runs it. When the queue stops first, the attempt never starts and the message
/// is given back to the store, queued.
pub(super) async fn handed(
    shared: &Arc<Shared>,
    lease: Lease,
    endpoint: &Endpoint,
    message: Message,
    place: OwnedSemaphorePermit,
) {
    let mut stop = shared.stop.subscribe();
    let ran = renewing(shared, lease, async {
        let worker = tokio::select! {
            worker = Arc::clone(&shared.workers).acquire_owned() => worker.ok()?,
            _ = stop.wait_for(|stopping| *stopping) => return None,
        };
        let started = clock::now();
        let running = Running::new(shared);
        let outcome = endpoint.process(message).await;
        drop(running);
        drop(worker);
        Some((started, outcome))
    })
    .await;
    drop(place);
    match ran {
        Some((started, outcome)) => finish(shared, lease, endpoint, 0, started, outcome).await,
        None => {
            if let Err(error) = shared.store.release(lease, clock::now()).await {
                // Still leased: the next start queues it again.
                tracing::error!(%error, "cannot give back a message whose attempt never started");
                shared.metrics.store_error("attempt");
            }
        }
    }
}

/// Runs the chain of `endpoint` on `message` under `lease` (`failures` failed attempts before),
/// and records how it went. The worker is handed back as soon as the chain is done.
async fn run(
    shared: &Arc<Shared>,
    lease: Lease,
    endpoint: &Endpoint,
    failures: u32,
    message: Message,
    worker: OwnedSemaphorePermit,
) {
    let started = clock::now();
    let running = Running::new(shared);
    let outcome = renewing(shared, lease, endpoint.process(message)).await;
    drop(running);
    drop(worker);
    finish(shared, lease, endpoint, failures, started, outcome).await;
}

/// Counts an attempt in [`Shared::running`] while it lives (also when its task is aborted).
struct Running<'a>(&'a Shared);

impl<'a> Running<'a> {
    fn new(shared: &'a Shared) -> Self {
        shared.running.fetch_add(1, Ordering::Relaxed);
        Self(shared)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Records how the attempt that `started` under `lease` went.
async fn finish(
    shared: &Shared,
    lease: Lease,
    endpoint: &Endpoint,
    failures: u32,
    started: OffsetDateTime,
    outcome: Outcome,
) {
    // One instant for the attempt's end and its retry time, so the wait between them is the
    // policy's, exactly.
    let ended = clock::now();
    let next = match outcome {
        Outcome::Accepted { .. } => Next::Complete {
            keep_request: shared.keep_bodies,
        },
        Outcome::Failed { failure, .. } => {
            let error = ErrorInfo {
                text: format!("handler '{}' failed: {}", failure.handler, failure.error),
                step: Some(failure.handler.to_string()),
            };
            failed(&endpoint.retry, failures + 1, error, ended)
        }
        // `process` never rejects: the message parsed before it was queued.
        Outcome::Rejected { error, .. } => Next::Give {
            error: ErrorInfo {
                text: error.to_string(),
                step: None,
            },
            status: Status::Failed,
            custom_status: Status::Failed.as_str().to_owned(),
        },
    };
    end(shared, &endpoint.name, lease, (started, ended), next).await;
}

/// What becomes of a message whose `failures`-th counted attempt failed with `error`, ended
/// at `ended`.
fn failed(
    retry: &crate::config::RetryConfig,
    failures: u32,
    error: ErrorInfo,
    ended: OffsetDateTime,
) -> Next {
    if policy::exhausted(retry, failures) {
        return Next::Give {
            error,
            status: Status::Escalated,
            custom_status: policy::custom_status("ESCALATED", retry, failures),
        };
    }
    Next::Retry {
        error,
        at: later(ended, policy::delay(retry, failures)),
        custom_status: policy::custom_status("RETRY", retry, failures),
    }
}

/// `now` plus `wait`, or the far future when that is beyond the calendar.
fn later(now: OffsetDateTime, wait: std::time::Duration) -> OffsetDateTime {
    now.checked_add(time::Duration::try_from(wait).unwrap_or(time::Duration::MAX))
        .unwrap_or(now)
}

/// Ends an attempt that could not run the chain at all.
async fn give(shared: &Shared, endpoint: &str, lease: Lease, status: Status, text: String) {
    let started = clock::now();
    tracing::warn!(endpoint, error = %text, status = status.as_str(), "a queued message cannot run");
    let next = Next::Give {
        error: ErrorInfo { text, step: None },
        status,
        custom_status: status.as_str().to_owned(),
    };
    end(shared, endpoint, lease, (started, clock::now()), next).await;
}

/// Records the end of the attempt (its start and end times) and counts it.
async fn end(
    shared: &Shared,
    endpoint: &str,
    lease: Lease,
    (started, ended): (OffsetDateTime, OffsetDateTime),
    next: Next,
) {
    let (outcome, final_status) = match &next {
        Next::Complete { .. } => ("completed", Some(Status::Completed)),
        Next::Retry { .. } => ("failed", None),
        Next::Give { status, .. } => ("failed", Some(*status)),
    };
    let retry_at = match &next {
        Next::Retry { at, .. } => Some(*at),
        _ => None,
    };
    let end = AttemptEnd {
        started,
        at: ended,
        next,
    };
    match shared.store.end_attempt(lease, end).await {
        Ok(true) => {
            shared.metrics.attempt(endpoint, outcome, 1);
            match final_status {
                Some(Status::Escalated) => {
                    tracing::warn!(
                        endpoint,
                        attempt = lease.attempt,
                        "message escalated after its last attempt"
                    );
                    shared.metrics.escalated(endpoint);
                }
                Some(status) => shared.metrics.message(endpoint, status),
                None => {}
            }
            if retry_at.is_some() {
                // The scheduler may be asleep until later than this retry.
                shared.wake.notify_one();
            }
        }
        Ok(false) => tracing::warn!(
            endpoint,
            attempt = lease.attempt,
            "an attempt ended after its lease was lost; another worker runs the message"
        ),
        Err(error) => {
            tracing::error!(endpoint, %error, "cannot record the end of an attempt; the message runs again after a restart");
            shared.metrics.store_error("attempt");
        }
    }
    shared.ended.send_modify(|n| *n += 1);
}

/// Awaits `work`, renewing `lease` every third of the lease time meanwhile.
async fn renewing<T>(shared: &Shared, lease: Lease, work: impl Future<Output = T>) -> T {
    let every = shared.lease / 3;
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            () = tokio::time::sleep(every) => {
                let until = clock::now() + shared.lease;
                match shared.store.renew(lease, until).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(attempt = lease.attempt, "an attempt lost its lease; it goes on, but another worker may run the message too"),
                    Err(error) => {
                        tracing::error!(%error, "cannot renew an attempt's lease");
                        shared.metrics.store_error("attempt");
                    }
                }
            }
        }
    }
}
