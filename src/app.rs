//! The running service's shared state, built once from a validated configuration.

use std::collections::HashMap;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::audit::{Audit, AuditEvent};
use crate::auth::{Authenticator, DistinguishedName, KeyError};
use crate::config::endpoint_path;
use crate::config::{Config, DeploymentConfig, EndpointConfig, Limits, ProxyConfig, SoapConfig};
use crate::endpoint::{Endpoint, EndpointTable};
use crate::event::{EventKind, EventTypes};
use crate::handler::{BuildError, Chain, Handler, build_handlers, timed};
use crate::keystore::{Keystore, KeystoreError};
use crate::message_log::MessageLog;
use crate::metrics::Metrics;
use crate::queue::Queue;
use crate::store::{Store, StoreError};

/// A cheap-to-clone handle on everything a request needs. The configuration-made parts never
/// change after start-up, so there is no lock; the message log and the metrics have their own
/// synchronisation inside.
#[derive(Clone)]
pub struct App {
    shared: Arc<Shared>,
}

struct Shared {
    endpoints: EndpointTable,
    auth: Authenticator,
    limits: Limits,
    proxy: ProxyConfig,
    event_types: EventTypes,
    message_log: MessageLog,
    audit: Audit,
    keystore: Keystore,
    deployment: DeploymentConfig,
    /// Endpoint name → the package it is in.
    packages: HashMap<String, String>,
    /// The delivery queue; `None` without a store.
    queue: Option<Queue>,
    started_at: OffsetDateTime,
    purges: Option<watch::Receiver<u64>>,
    token_path: Option<String>,
}

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Handler(#[from] BuildError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    SigningKey(#[from] KeyError),
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
}

impl App {
    /// Builds endpoints, handler chains, the authenticator, the metrics and the message log.
    /// Handlers that touch the outside world (opening files...) do it here, the OAuth signing key
    /// is read or created here, and the store is opened (and migrated) here, so a broken handler
    /// or data directory stops start-up instead of failing the first request. Entries a previous
    /// run left `PROCESSING` become `ABANDONED` (queued messages are queued again), the retention
    /// purge starts, so does the delivery queue's scheduler, and the audit log records the
    /// configuration loaded.
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        let handlers = build_handlers(&config.handlers).await?;
        let metrics = Metrics::new(config.endpoints.iter().map(|e| e.name.as_str()));
        let endpoints = config
            .endpoints
            .iter()
            .map(|e| endpoint(e, &handlers, &metrics, &config.soap))
            .collect::<Result<Vec<_>, BuildError>>()?;
        let (message_log, purges) =
            MessageLog::open(&config.store, &config.data_dir, metrics.clone()).await?;
        let audit = Audit::new(message_log.store().cloned(), metrics.clone());
        let auth = Authenticator::from_config(config)?;
        let started_at = crate::clock::now();
        let keystore = watched_keystore(config, &auth, started_at, &metrics)?;
        let queue = message_log.store().map(|store| {
            Queue::start(
                Arc::clone(store),
                endpoints.iter().cloned(),
                Self::event_types_of(config),
                metrics.clone(),
                &config.queue,
                &config.store,
                message_log.started(),
            )
        });
        let app = Self {
            shared: Arc::new(Shared {
                endpoints: EndpointTable::new(endpoints),
                auth,
                limits: config.limits.clone(),
                proxy: config.proxy.clone(),
                event_types: Self::event_types_of(config),
                message_log,
                audit,
                keystore,
                deployment: config.deployment.clone(),
                packages: packages(config),
                queue,
                started_at,
                purges,
                token_path: (!config.oauth_clients.is_empty())
                    .then(|| config.oauth.token_path.clone()),
            }),
        };
        app.audit().record(configuration_loaded(config)).await;
        Ok(app)
    }

    /// The type-string table of `[events]`.
    pub fn event_types_of(config: &Config) -> EventTypes {
        let events = &config.events;
        EventTypes::new([
            (EventKind::ChangeInManager, &events.change_in_manager),
            (EventKind::Hire, &events.hire),
            (EventKind::Rehire, &events.rehire),
            (EventKind::Termination, &events.termination),
        ])
    }

    pub fn endpoints(&self) -> &EndpointTable {
        &self.shared.endpoints
    }

    pub fn auth(&self) -> &Authenticator {
        &self.shared.auth
    }

    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// `[proxy]`: the public URL and the proxies whose forwarded headers are believed.
    pub fn proxy(&self) -> &ProxyConfig {
        &self.shared.proxy
    }

    pub fn event_types(&self) -> &EventTypes {
        &self.shared.event_types
    }

    /// The message log (which may have no store behind it).
    pub fn message_log(&self) -> &MessageLog {
        &self.shared.message_log
    }

    /// The delivery queue, unless `[store] enabled = false`.
    pub fn queue(&self) -> Option<&Queue> {
        self.shared.queue.as_ref()
    }

    /// Stops the delivery queue: running attempts get up to `timeout` to finish (see
    /// [`Queue::shut_down`]).
    pub async fn shut_down_queue(&self, timeout: std::time::Duration) {
        if let Some(queue) = &self.shared.queue {
            queue.shut_down(timeout).await;
        }
    }

    /// The message log's store, unless `[store] enabled = false`.
    pub fn store(&self) -> Option<&Store> {
        self.shared.message_log.store()
    }

    /// The audit log: start and stop, the configuration, refused credentials, replays.
    pub fn audit(&self) -> &Audit {
        &self.shared.audit
    }

    pub fn metrics(&self) -> &Metrics {
        self.shared.message_log.metrics()
    }

    /// The certificates and keys held (`KeystoreEntries`).
    pub fn keystore(&self) -> &Keystore {
        &self.shared.keystore
    }

    /// `[deployment]`: how the endpoints are described as deployed content.
    pub fn deployment(&self) -> &DeploymentConfig {
        &self.shared.deployment
    }

    /// The package endpoint `name` is in.
    pub fn package_of(&self, name: &str) -> &str {
        self.shared
            .packages
            .get(name)
            .map_or(self.shared.deployment.package.as_str(), String::as_str)
    }

    /// When this service started (the artifacts' `DeployedOn`).
    pub fn started_at(&self) -> OffsetDateTime {
        self.shared.started_at
    }

    /// Counts finished retention purges (the first runs at start-up), so a caller can wait for
    /// one. `None` without a store.
    pub fn purges(&self) -> Option<watch::Receiver<u64>> {
        self.shared.purges.clone()
    }

    /// Where the OAuth token endpoint answers; `None` without `[[oauth_clients]]`.
    pub fn token_path(&self) -> Option<&str> {
        self.shared.token_path.as_deref()
    }
}

/// The keystore of `config`, each certificate's expiry watched by `metrics`.
fn watched_keystore(
    config: &Config,
    auth: &Authenticator,
    started_at: OffsetDateTime,
    metrics: &Metrics,
) -> Result<Keystore, KeystoreError> {
    let keystore = Keystore::read(config, auth.tokens(), started_at)?;
    for entry in keystore.entries() {
        if let Some(not_after) = entry.not_after {
            metrics.certificate_expiry(&entry.alias, not_after);
        }
    }
    Ok(keystore)
}

/// Endpoint name → its package (`[deployment] package` unless the endpoint names one).
fn packages(config: &Config) -> HashMap<String, String> {
    config
        .endpoints
        .iter()
        .map(|e| {
            let package = e.package.as_ref().unwrap_or(&config.deployment.package);
            (e.name.clone(), package.clone())
        })
        .collect()
}

/// The audit record of `config` being loaded: its file and its endpoints.
fn configuration_loaded(config: &Config) -> AuditEvent {
    let paths: Vec<(&str, String)> = config
        .endpoints
        .iter()
        .map(|e| (e.name.as_str(), endpoint_path(e.adapter, &e.address)))
        .collect();
    AuditEvent::configuration_loaded(
        config.source.as_deref(),
        paths.iter().map(|(name, path)| (*name, path.as_str())),
    )
}

/// One endpoint with its chain: the built handlers it names, in order, each timed; `soap` holds
/// the defaults of what the endpoint does not set itself.
fn endpoint(
    config: &EndpointConfig,
    handlers: &HashMap<String, Arc<dyn Handler>>,
    metrics: &Metrics,
    soap: &SoapConfig,
) -> Result<Arc<Endpoint>, BuildError> {
    let steps = config
        .handlers
        .iter()
        .map(|name| {
            // Validation guarantees every name resolves.
            let handler = handlers.get(name).cloned().ok_or_else(|| BuildError {
                name: name.clone(),
                message: format!("is not defined (endpoint '{}')", config.name),
            })?;
            let handler = timed(handler, metrics.handler(&config.name, name));
            Ok((Arc::from(name.as_str()), handler))
        })
        .collect::<Result<Vec<_>, BuildError>>()?;
    Ok(Arc::new(Endpoint {
        name: Arc::from(config.name.as_str()),
        adapter: config.adapter,
        path: endpoint_path(config.adapter, &config.address),
        role: config.role.clone(),
        // Validation has parsed every subject already.
        client_certificates: config
            .client_certificates
            .iter()
            .filter_map(|dn| DistinguishedName::parse(dn).ok())
            .collect(),
        must_understand: config.must_understand.unwrap_or(soap.must_understand),
        delivery: config.delivery,
        retry: config.retry,
        chain: Chain::new(steps),
    }))
}
