//! Prometheus metrics, one registry per [`crate::App`].
//!
//! There is no global recorder: each `App` owns its [`Metrics`], built with it, and `/metrics`
//! renders that registry. Tests run many servers in one process, and each sees exactly its own
//! counts. (This is why iflowd uses `prometheus-client`, whose registry is a plain value, rather
//! than the `metrics` facade, whose macros report to one process-wide recorder.)
//!
//! Handles for every endpoint and handler are made at start-up; a request only bumps atomics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};

use time::OffsetDateTime;

use crate::store::{Depth, QueueState, Status};

/// The `Content-Type` of [`Metrics::render`]: OpenMetrics text, which Prometheus reads.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    endpoint: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandlerLabels {
    endpoint: String,
    handler: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AliasLabels {
    alias: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    endpoint: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    endpoint: String,
    outcome: String,
}

/// The store operations whose failures are counted, each series present from the start.
pub const STORE_OPERATIONS: &[&str] = &[
    "begin", "insert", "finish", "read", "purge", "audit", "enqueue", "claim", "attempt", "requeue",
];

/// How an attempt of a queued message ended, as `iflowd_queue_attempts` counts it.
pub const ATTEMPT_OUTCOMES: &[&str] = &["completed", "failed", "interrupted"];

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// 0.25 ms to about 8 s, doubling.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// The metrics of one running service.
#[derive(Clone)]
pub struct Metrics {
    shared: Arc<Shared>,
}

struct Shared {
    registry: Registry,
    endpoints: HashMap<String, EndpointMetrics>,
    messages: Family<MessageLabels, Counter>,
    store_errors: Family<OperationLabels, Counter>,
    handler_durations: HistogramFamily<HandlerLabels>,
    handler_failures: Family<HandlerLabels, Counter>,
    certificate_expiry: Family<AliasLabels, Gauge>,
    /// Each certificate's gauge and the moment it expires: the gauge is set when rendered.
    certificates: Mutex<Vec<(Gauge, OffsetDateTime)>>,
    queue: QueueMetrics,
}

/// The delivery queue's families.
struct QueueMetrics {
    depth: Family<QueueLabels, Gauge>,
    attempts: Family<AttemptLabels, Counter>,
    escalations: Family<EndpointLabels, Counter>,
}

impl QueueMetrics {
    /// Registers the queue's families, every endpoint's series present (at zero).
    fn register<'a>(registry: &mut Registry, endpoints: impl Iterator<Item = &'a str>) -> Self {
        let queue = Self {
            depth: register(
                registry,
                "iflowd_queue_depth",
                "Queued messages by endpoint and state (queued: waiting for an attempt; running: an attempt holds it; retry: waiting for the next attempt after a failed one), read from the message log when scraped",
                Family::default(),
            ),
            attempts: register(
                registry,
                "iflowd_queue_attempts",
                "Attempts of queued messages that ended, by endpoint and outcome (completed, failed, interrupted: iflowd stopped or the lease ran out)",
                Family::default(),
            ),
            escalations: register(
                registry,
                "iflowd_queue_escalations",
                "Queued messages ESCALATED after their last failed attempt (the dead letters)",
                Family::default(),
            ),
        };
        for endpoint in endpoints {
            for state in QueueState::ALL {
                queue.depth.get_or_create_owned(&QueueLabels {
                    endpoint: endpoint.to_owned(),
                    state: state.as_str().to_owned(),
                });
            }
            for outcome in ATTEMPT_OUTCOMES {
                queue.attempts.get_or_create_owned(&AttemptLabels {
                    endpoint: endpoint.to_owned(),
                    outcome: (*outcome).to_owned(),
                });
            }
            queue.escalations.get_or_create_owned(&EndpointLabels {
                endpoint: endpoint.to_owned(),
            });
        }
        queue
    }
}

/// Pre-made handles for one endpoint.
#[derive(Clone)]
struct EndpointMetrics {
    request_duration: Histogram,
    duplicates: Counter,
    copies_waiting: Gauge,
    messages: Vec<(Status, Counter)>,
}

/// Registers `metric` under `name` and hands back the handle the code counts with.
fn register<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

impl EndpointMetrics {
    /// The handles of endpoint `name`, its series made (at zero) in the families.
    fn new(
        name: &str,
        messages: &Family<MessageLabels, Counter>,
        requests: &HistogramFamily<EndpointLabels>,
        duplicates: &Family<EndpointLabels, Counter>,
        copies_waiting: &Family<EndpointLabels, Gauge>,
    ) -> Self {
        let endpoint = EndpointLabels {
            endpoint: name.to_owned(),
        };
        let final_statuses = [
            Status::Completed,
            Status::Failed,
            Status::Discarded,
            Status::Abandoned,
            Status::Escalated,
        ];
        let messages = final_statuses
            .into_iter()
            .map(|status| {
                let labels = MessageLabels {
                    endpoint: name.to_owned(),
                    status: status.as_str().to_owned(),
                };
                (status, messages.get_or_create_owned(&labels))
            })
            .collect();
        Self {
            request_duration: requests.get_or_create_owned(&endpoint),
            duplicates: duplicates.get_or_create_owned(&endpoint),
            copies_waiting: copies_waiting.get_or_create_owned(&endpoint),
            messages,
        }
    }
}

impl Metrics {
    /// A registry for these endpoints, every series present (at zero) from the start.
    pub fn new<'a>(endpoints: impl IntoIterator<Item = &'a str>) -> Self {
        let mut registry = Registry::default();
        let messages = register(
            &mut registry,
            "iflowd_messages",
            "Messages by endpoint and final status (COMPLETED, FAILED, DISCARDED, ESCALATED: a queued message's last attempt failed; ABANDONED: a synchronous one left PROCESSING by the previous run, counted at start-up)",
            Family::<MessageLabels, Counter>::default(),
        );
        let requests = register(
            &mut registry,
            "iflowd_request_duration_seconds",
            "Time from authentication to the answer of endpoint calls, store writes included",
            HistogramFamily::<EndpointLabels>::new_with_constructor(duration_histogram),
        );
        let handler_durations = register(
            &mut registry,
            "iflowd_handler_duration_seconds",
            "Time each handler of a chain took",
            HistogramFamily::<HandlerLabels>::new_with_constructor(duration_histogram),
        );
        let handler_failures = register(
            &mut registry,
            "iflowd_handler_failures",
            "Handler runs that failed",
            Family::<HandlerLabels, Counter>::default(),
        );
        let duplicates = register(
            &mut registry,
            "iflowd_duplicates",
            "Deliveries recognised as duplicates of a completed message and not processed again",
            Family::<EndpointLabels, Counter>::default(),
        );
        let copies_waiting = register(
            &mut registry,
            "iflowd_copies_waiting",
            "Deliveries waiting for a running delivery of the same externalEventId to end",
            Family::<EndpointLabels, Gauge>::default(),
        );
        let store_errors = register(
            &mut registry,
            "iflowd_store_errors",
            "Message log operations that failed, by operation",
            Family::<OperationLabels, Counter>::default(),
        );
        let certificate_expiry = register(
            &mut registry,
            "iflowd_certificate_expiry_seconds",
            "Seconds until each keystore certificate expires (negative once it has), by alias as KeystoreEntries lists it",
            Family::<AliasLabels, Gauge>::default(),
        );
        for operation in STORE_OPERATIONS {
            store_errors.get_or_create_owned(&OperationLabels {
                operation: (*operation).to_owned(),
            });
        }
        let endpoints: Vec<&str> = endpoints.into_iter().collect();
        let queue = QueueMetrics::register(&mut registry, endpoints.iter().copied());
        let endpoints = endpoints
            .into_iter()
            .map(|name| {
                let handles =
                    EndpointMetrics::new(name, &messages, &requests, &duplicates, &copies_waiting);
                (name.to_owned(), handles)
            })
            .collect();
        Self {
            shared: Arc::new(Shared {
                registry,
                endpoints,
                messages,
                store_errors,
                handler_durations,
                handler_failures,
                certificate_expiry,
                certificates: Mutex::new(Vec::new()),
                queue,
            }),
        }
    }

    /// Watches the certificate `alias` that expires at `not_after`
    /// (`iflowd_certificate_expiry_seconds`).
    pub fn certificate_expiry(&self, alias: &str, not_after: OffsetDateTime) {
        let gauge = self
            .shared
            .certificate_expiry
            .get_or_create_owned(&AliasLabels {
                alias: alias.to_owned(),
            });
        self.shared
            .certificates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((gauge, not_after));
    }

    /// Counts a message that reached its final status.
    pub fn message(&self, endpoint: &str, status: Status) {
        self.messages(endpoint, status, 1);
    }

    /// Counts the messages a previous run left `PROCESSING`, found `ABANDONED` at start-up.
    pub fn abandoned(&self, endpoint: &str, count: u64) {
        self.messages(endpoint, Status::Abandoned, count);
    }

    fn messages(&self, endpoint: &str, status: Status, count: u64) {
        match self
            .shared
            .endpoints
            .get(endpoint)
            .and_then(|e| e.messages.iter().find(|(s, _)| *s == status))
        {
            Some((_, counter)) => {
                counter.inc_by(count);
            }
            None => {
                self.shared
                    .messages
                    .get_or_create(&MessageLabels {
                        endpoint: endpoint.to_owned(),
                        status: status.as_str().to_owned(),
                    })
                    .inc_by(count);
            }
        }
    }

    pub fn duplicate(&self, endpoint: &str) {
        if let Some(e) = self.shared.endpoints.get(endpoint) {
            e.duplicates.inc();
        }
    }

    /// Counts a copy waiting for the running delivery of its externalEventId on `endpoint`,
    /// until the returned guard is dropped.
    pub fn copy_waiting(&self, endpoint: &str) -> Option<CopyWaiting> {
        let gauge = self.shared.endpoints.get(endpoint)?.copies_waiting.clone();
        gauge.inc();
        Some(CopyWaiting(gauge))
    }

    pub fn request_duration(&self, endpoint: &str, took: Duration) {
        if let Some(e) = self.shared.endpoints.get(endpoint) {
            e.request_duration.observe(took.as_secs_f64());
        }
    }

    /// Counts a failed store operation (`begin`, `insert`, `finish`, `read`, `purge`, `audit`).
    pub fn store_error(&self, operation: &str) {
        self.shared
            .store_errors
            .get_or_create(&OperationLabels {
                operation: operation.to_owned(),
            })
            .inc();
    }

    /// Counts an attempt of a queued message of `endpoint` that ended with `outcome` (one of
    /// [`ATTEMPT_OUTCOMES`]).
    pub fn attempt(&self, endpoint: &str, outcome: &str, count: u64) {
        self.shared
            .queue
            .attempts
            .get_or_create(&AttemptLabels {
                endpoint: endpoint.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc_by(count);
    }

    /// Counts a queued message of `endpoint` that was escalated.
    pub fn escalated(&self, endpoint: &str) {
        self.shared
            .queue
            .escalations
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.to_owned(),
            })
            .inc();
        self.message(endpoint, Status::Escalated);
    }

    /// Sets `iflowd_queue_depth` to `depth`: every series it does not name is zero.
    pub fn set_queue_depth(&self, depth: &Depth) {
        let family = &self.shared.queue.depth;
        for endpoint in self.shared.endpoints.keys() {
            for state in QueueState::ALL {
                let key = (endpoint.clone(), state);
                let count = depth.get(&key).copied().unwrap_or(0);
                family
                    .get_or_create(&QueueLabels {
                        endpoint: endpoint.clone(),
                        state: state.as_str().to_owned(),
                    })
                    .set(i64::try_from(count).unwrap_or(i64::MAX));
            }
        }
        // Messages of endpoints no longer configured are still queued: show them too.
        for ((endpoint, state), count) in depth {
            if !self.shared.endpoints.contains_key(endpoint) {
                family
                    .get_or_create(&QueueLabels {
                        endpoint: endpoint.clone(),
                        state: state.as_str().to_owned(),
                    })
                    .set(i64::try_from(*count).unwrap_or(i64::MAX));
            }
        }
    }

    /// The handles for the handler `name` of `endpoint`'s chain (see
    /// `handler::timed`, which counts into them).
    pub fn handler(&self, endpoint: &str, name: &str) -> HandlerMetrics {
        let labels = HandlerLabels {
            endpoint: endpoint.to_owned(),
            handler: name.to_owned(),
        };
        HandlerMetrics {
            duration: self.shared.handler_durations.get_or_create_owned(&labels),
            failures: self.shared.handler_failures.get_or_create_owned(&labels),
        }
    }

    /// The registry in OpenMetrics text, the certificates' time left counted as of now.
    pub fn render(&self) -> String {
        let now = crate::clock::now();
        for (gauge, not_after) in self
            .shared
            .certificates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            gauge.set((*not_after - now).whole_seconds());
        }
        let mut text = String::new();
        if let Err(error) =
            prometheus_client::encoding::text::encode(&mut text, &self.shared.registry)
        {
            tracing::error!(%error, "cannot render the metrics");
        }
        text
    }
}

/// A copy counted in `iflowd_copies_waiting` while this lives.
pub struct CopyWaiting(Gauge);

impl Drop for CopyWaiting {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// What `iflowd_handler_duration_seconds` and `iflowd_handler_failures` count for one handler of
/// one endpoint's chain.
#[derive(Clone)]
pub struct HandlerMetrics {
    duration: Histogram,
    failures: Counter,
}

impl HandlerMetrics {
    /// Counts one run that took `took`, and whether it failed.
    pub fn ran(&self, took: Duration, failed: bool) {
        self.duration.observe(took.as_secs_f64());
        if failed {
            self.failures.inc();
        }
    }
}
