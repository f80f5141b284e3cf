//! The audit log as the rest of iflowd writes it: one small API, [`Audit`], that the server, the
//! HTTP layer and the delivery queue call, and the monitoring API reads back as CPI's
//! `AuditLogs`.
//!
//! What is recorded: the start and the stop of the server, the configuration loaded (which file,
//! which endpoints), refused credentials (who they named, from where, why; never the password,
//! secret or token itself), and replays and retries a user starts. Records go to the message
//! log's store ([`crate::store::Backend::audit`]), beside the messages, and are purged with them;
//! each is also a log line (target `iflowd::audit`), which is all there is when the store is
//! turned off.
//!
//! Refused credentials are what an attacker can produce at will, so at most
//! [`FAILED_LOGINS_PER_MINUTE`] of them are recorded a minute; the number left out is written
//! with the next one recorded. A record is written before the caller learns it was refused, so
//! a flood of wrong passwords is slowed by the store rather than filling it behind its back.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::metrics::Metrics;
use crate::store::{AuditAction, NewAuditRecord, Store};

/// The most refused credentials recorded in one minute.
pub const FAILED_LOGINS_PER_MINUTE: u32 = 100;
const WINDOW: Duration = Duration::from_secs(60);
/// The longest name kept from refused credentials: whatever a caller sends is kept no longer.
const MAX_NAME_CHARS: usize = 128;
/// The name the system's own records carry (CPI's `UserType` `SYSTEM`).
pub const SYSTEM_USER: &str = "iflowd";

/// Records audit events. Cheap to clone; clones share the store and the rate limit.
#[derive(Clone)]
pub struct Audit {
    shared: Arc<Shared>,
}

struct Shared {
    store: Option<Store>,
    metrics: Metrics,
    failed_logins: Mutex<Budget>,
}

/// The failed-login records of the current minute.
struct Budget {
    started: Instant,
    used: u32,
    /// Refused credentials not recorded since the last one that was.
    left_out: u64,
}

/// Something done by a caller: who, to or with what, from where, and the rest in words.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub action: AuditAction,
    pub user: Option<String>,
    pub object: String,
    pub source: Option<String>,
    pub details: String,
}

/// Credentials that were refused, as the HTTP layer saw them. `reason` says why in iflowd's own
/// words (`wrong user name or password`, `the access token has expired`); nothing here may hold
/// the credential itself.
#[derive(Debug, Clone)]
pub struct FailedLogin<'a> {
    /// The user or client the credentials named, when they named one.
    pub user: Option<&'a str>,
    /// Where they were presented: a path, or `token endpoint`.
    pub object: &'a str,
    pub source: Option<String>,
    pub reason: &'a str,
}

impl AuditEvent {
    /// A user started a replay of messages (`object`: what was replayed).
    pub fn replay(user: &str, object: impl Into<String>, details: impl Into<String>) -> Self {
        Self::by_user(AuditAction::Replay, user, object, details)
    }

    /// A user started a retry of messages (`object`: what was retried).
    pub fn retry(user: &str, object: impl Into<String>, details: impl Into<String>) -> Self {
        Self::by_user(AuditAction::Retry, user, object, details)
    }

    fn by_user(
        action: AuditAction,
        user: &str,
        object: impl Into<String>,
        details: impl Into<String>,
    ) -> Self {
        Self {
            action,
            user: Some(user.to_owned()),
            object: object.into(),
            source: None,
            details: details.into(),
        }
    }

    fn by_system(action: AuditAction, object: impl Into<String>, details: String) -> Self {
        Self {
            action,
            user: Some(SYSTEM_USER.to_owned()),
            object: object.into(),
            source: None,
            details,
        }
    }

    /// The server listens on `addresses` (`https` marks TLS listeners).
    pub fn started(addresses: &[(SocketAddr, bool)]) -> Self {
        let listening: Vec<String> = addresses
            .iter()
            .map(|(address, tls)| format!("{}://{address}", if *tls { "https" } else { "http" }))
            .collect();
        Self::by_system(
            AuditAction::Start,
            "iflowd",
            format!(
                "iflowd {} started, listening on {}",
                env!("CARGO_PKG_VERSION"),
                listening.join(", ")
            ),
        )
    }

    /// The server stopped.
    pub fn stopped() -> Self {
        Self::by_system(AuditAction::Stop, "iflowd", "iflowd stopped".to_owned())
    }

    /// The configuration `file` (`None`: the built-in defaults) was loaded with these endpoints
    /// (name and path).
    pub fn configuration_loaded<'a>(
        file: Option<&Path>,
        endpoints: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let object = file.map_or_else(
            || "built-in defaults".to_owned(),
            |f| f.display().to_string(),
        );
        let endpoints: Vec<String> = endpoints
            .into_iter()
            .map(|(name, path)| format!("{name} ({path})"))
            .collect();
        Self::by_system(
            AuditAction::ConfigurationLoaded,
            object,
            format!("endpoints: {}", endpoints.join(", ")),
        )
    }
}

impl Audit {
    /// Records into `store` (none: log lines only); store failures are counted in `metrics`.
    pub fn new(store: Option<Store>, metrics: Metrics) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                metrics,
                failed_logins: Mutex::new(Budget {
                    started: Instant::now(),
                    used: 0,
                    left_out: 0,
                }),
            }),
        }
    }

    /// Whether records are kept anywhere but the log lines.
    pub fn is_stored(&self) -> bool {
        self.shared.store.is_some()
    }

    /// Records `event` now. A store failure is logged and counted (`iflowd_store_errors_total`,
    /// operation `audit`), never the caller's problem.
    pub async fn record(&self, event: AuditEvent) {
        tracing::info!(
            target: "iflowd::audit",
            action = event.action.as_str(),
            user = event.user.as_deref().unwrap_or("-"),
            object = %event.object,
            source = event.source.as_deref().unwrap_or("-"),
            details = %event.details,
            "audit"
        );
        let Some(store) = &self.shared.store else {
            return;
        };
        let record = NewAuditRecord {
            at: crate::clock::now(),
            action: event.action,
            user: event.user,
            object: event.object,
            source: event.source,
            details: event.details,
        };
        if let Err(error) = store.audit(record).await {
            tracing::error!(%error, "audit record not written");
            self.shared.metrics.store_error("audit");
        }
    }

    /// Records refused credentials, within [`FAILED_LOGINS_PER_MINUTE`].
    pub async fn login_failed(&self, login: FailedLogin<'_>) {
        let Some(left_out) = self.take_failed_login() else {
            return;
        };
        let mut details = format!("refused: {}", login.reason);
        if left_out > 0 {
            details.push_str(&format!(
                " ({left_out} earlier refusals were not recorded: more than {FAILED_LOGINS_PER_MINUTE} a minute)"
            ));
        }
        self.record(AuditEvent {
            action: AuditAction::LoginFailed,
            user: login.user.map(printable_name),
            object: login.object.to_owned(),
            source: login.source,
            details,
        })
        .await;
    }

    /// A place in this minute's budget: `Some(left out before)` when there is one.
    fn take_failed_login(&self) -> Option<u64> {
        let mut budget = self
            .shared
            .failed_logins
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if now.duration_since(budget.started) >= WINDOW {
            budget.started = now;
            budget.used = 0;
        }
        if budget.used >= FAILED_LOGINS_PER_MINUTE {
            budget.left_out += 1;
            return None;
        }
        budget.used += 1;
        Some(std::mem::take(&mut budget.left_out))
    }
}

/// A name a caller sent, as the audit log keeps it: control characters replaced, at most
/// [`MAX_NAME_CHARS`] characters.
fn printable_name(name: &str) -> String {
    name.chars()
        .take(MAX_NAME_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_short_and_printable() {
        assert_eq!(printable_name("isc"), "isc");
        assert_eq!(printable_name("a\nb\u{7}"), "a?b?");
        assert_eq!(printable_name(&"x".repeat(1000)).len(), MAX_NAME_CHARS);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_logins_are_recorded_within_a_budget_and_the_rest_counted() {
        let audit = Audit::new(None, Metrics::new([]));
        for _ in 0..FAILED_LOGINS_PER_MINUTE {
            assert_eq!(audit.take_failed_login(), Some(0));
        }
        assert_eq!(audit.take_failed_login(), None);
        assert_eq!(audit.take_failed_login(), None);
        tokio::time::advance(WINDOW).await;
        assert_eq!(
            audit.take_failed_login(),
            Some(2),
            "the next minute's first record tells how many were left out"
        );
        assert_eq!(audit.take_failed_login(), Some(0));
    }
}
