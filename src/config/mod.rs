//! Configuration: the TOML file, the environment, and the embedded defaults.
//!
//! Raw configuration stops here. [`load`] reads an optional file, applies the `IFLOWD_*`
//! overrides captured in an [`Env`] (tests build one in code; only [`Env::from_process`] reads the
//! real environment), fills in the defaults that make a no-config run useful, and validates the
//! whole thing. Every error names the file and the key.
//!
//! The types are plain serde data with `deny_unknown_fields`; the runtime objects (endpoints,
//! handler chains, the authenticator) are built from them once, at start-up, by [`crate::app`].

mod defaults;
mod deployment;
mod env;
mod expand;
#[cfg(test)]
mod handler_tests;
mod handlers;
mod load;
mod nats;
#[cfg(test)]
mod nats_tests;
mod proxy;
mod queue;
#[cfg(test)]
mod queue_tests;
mod security;
#[cfg(test)]
mod security_tests;
mod subject;
mod template;
#[cfg(test)]
mod tests;
mod validate;
mod validate_handlers;
mod validate_security;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use crate::soap::MustUnderstand;

pub use defaults::{
    DEFAULT_ENDPOINT_ADDRESS, DEFAULT_ENDPOINT_NAME, DEFAULT_ROLE, DEFAULT_USER, HEALTH_CHECK_ROLE,
    MONITORING_ROLE, PAYLOADS_ROLE, REPLAY_ROLE,
};
pub use deployment::DeploymentConfig;
pub use env::{Env, EnvVars};
pub use expand::EnvString;
pub use handlers::{
    ExecConfig, FaultConfig, FaultMode, ForwardAuth, ForwardBody, ForwardConfig, HandlerConfig,
    JsonlConfig, LogHandlerConfig, RespondConfig, TypePattern, When,
};
pub use load::{ConfigError, Loaded, load};
pub use nats::{NatsAuth, NatsConfig, NatsConnect, NatsPayload, NatsTls};
pub use proxy::{ProxyConfig, PublicUrl, TrustedProxy};
pub use queue::{Delivery, MAX_ATTEMPTS, MAX_INTERVAL_MS, MAX_WORKERS, QueueConfig, RetryConfig};
pub use security::{ClientAuth, OAuthClientConfig, OAuthConfig, TlsConfig};
pub use subject::{SubjectField, SubjectPart, SubjectTemplate};
pub use template::{Field, Part, Template};
pub use validate::endpoint_path;

/// The whole configuration, as in `iflowd.example.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on. `IFLOWD_LISTEN` overrides it.
    #[serde(default = "defaults::listen")]
    pub listen: SocketAddr,
    /// Where iflowd keeps its state (the message log's SQLite database, the generated token
    /// signing key). Created on first start; relative paths are relative to the working directory.
    #[serde(default = "defaults::data_dir")]
    pub data_dir: PathBuf,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub limits: Limits,
    /// The workers of the delivery queue (`delivery = "async"` endpoints, replays).
    #[serde(default)]
    pub queue: QueueConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub users: Vec<UserConfig>,
    #[serde(default)]
    pub endpoints: Vec<EndpointConfig>,
    #[serde(default, deserialize_with = "handlers::named_handlers")]
    pub handlers: BTreeMap<String, HandlerConfig>,
    #[serde(default)]
    pub events: EventsConfig,
    #[serde(default)]
    pub soap: SoapConfig,
    /// OAuth clients of the client-credentials grant.
    #[serde(default)]
    pub oauth_clients: Vec<OAuthClientConfig>,
    #[serde(default)]
    pub oauth: OAuthConfig,
    /// HTTPS and client certificates; plain HTTP without it.
    pub tls: Option<TlsConfig>,
    /// How iflowd names itself behind a reverse proxy (the WSDL's address, the monitoring API's
    /// links).
    #[serde(default)]
    pub proxy: ProxyConfig,
    /// How the monitoring API describes the endpoints as deployed content.
    #[serde(default)]
    pub deployment: DeploymentConfig,
    /// The file this configuration was read from (`None`: the built-in defaults only); set by
    /// [`load`], never read from the file. The audit log names it.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// The message processing log (`[store]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Keep a message log at all. Off, nothing is written to disk, duplicates are not detected and
    /// the monitoring API has no messages to show (meant for throughput comparisons).
    pub enabled: bool,
    /// Keep request and response bodies with each entry.
    pub payloads: bool,
    /// Entries (with their bodies) older than this many days are deleted.
    pub retention_days: u32,
    /// Stored bodies older than this many days are deleted; the entries stay. Bodies never outlive
    /// their entry, whatever this says.
    pub payload_retention_days: u32,
    /// A delivery whose `externalEventId` completed on the same endpoint within this many days
    /// is a duplicate.
    pub duplicate_window_days: u32,
    /// How long a copy of a delivery whose `externalEventId` is being processed right now waits
    /// for that first delivery to end (then it is answered as its duplicate, or processed if
    /// the first failed). Past it, the copy gets a fault the sender retries. 0 answers at once.
    pub duplicate_wait_ms: u64,
    /// The most the log may take on disk, in MiB (its database's pages in use plus its WAL):
    /// above it, the oldest bodies and then the oldest entries are deleted, as soon as it is
    /// crossed. None: no limit, only the days above.
    pub max_size_mb: Option<u32>,
    /// `postgres://user:password@host:port/database`: keep the log in PostgreSQL (shared by every
    /// instance given the same url) instead of SQLite in `data_dir`. `${VAR}` is expanded (put
    /// the password in the environment); never printed or logged.
    pub url: Option<EnvString>,
    /// Connections each instance keeps to PostgreSQL at most.
    pub pool_size: usize,
    /// With `sslmode=require` in the url: PEM certificates to trust for the server instead of
    /// the system's.
    pub ca: Option<PathBuf>,
}

/// Bounds that keep a slow, silent or oversized client from holding the server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest accepted request body, counted after `Content-Encoding` is decoded; larger ones
    /// get 413.
    pub max_body_bytes: usize,
    /// Time a connection has to send a request's headers, counted from its accept (on a TLS
    /// listener, from the end of the handshake) or from the end of its previous answer: silent
    /// and idle connections are closed after it.
    pub header_read_timeout_ms: u64,
    /// Time a client has to send the whole body once the headers are in; then 408.
    pub body_read_timeout_ms: u64,
    /// How long a shutdown waits for requests in flight before it closes them.
    pub shutdown_timeout_ms: u64,
    /// Connections served at once, over all listeners. Further ones wait in the kernel's listen
    /// backlog until one closes; keep it well below the open-file limit (`ulimit -n`).
    pub max_connections: usize,
    /// After an answer sent before the body was read (401, 404, 413...), at most this many
    /// further body bytes are read and thrown away, so that a client still writing sees the
    /// answer instead of a reset connection; past it, the connection is closed.
    pub drain_max_bytes: u64,
    /// The time that draining may take, on the same terms.
    pub drain_timeout_ms: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (default) or `json` lines on standard error.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `iflowd=debug`; `IFLOWD_LOG` overrides it.
    pub level: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// A Basic-auth user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    /// Plain password; give this or `password_hash`.
    pub password: Option<SecretString>,
    /// An argon2 PHC string (`$argon2id$...`), as printed by `iflowd hash-password`.
    pub password_hash: Option<String>,
    #[serde(default = "defaults::roles")]
    pub roles: Vec<String>,
    /// A client certificate subject DN (e.g. `CN=isc,O=ACME`) that authenticates as this user,
    /// like CPI's certificate-to-user mapping. A user may have only this and no password.
    pub certificate_subject: Option<String>,
}

/// Where the endpoint lives, as in CPI: SOAP flows under `/cxf`, HTTPS flows under `/http`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Adapter {
    #[default]
    Soap,
    Https,
}

/// One "iFlow": a path, the role it requires, and its handler chain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    pub name: String,
    #[serde(default)]
    pub adapter: Adapter,
    /// The address below the adapter's prefix, starting with `/`.
    pub address: String,
    #[serde(default = "defaults::role")]
    pub role: String,
    /// Handler names, run in this order; `log` is built in.
    #[serde(default = "defaults::handlers")]
    pub handlers: Vec<String>,
    /// CPI's "Client Certificate" authorization: when not empty, a caller must present a TLS
    /// client certificate whose subject DN is listed here (403 otherwise), and `role` is not
    /// checked.
    #[serde(default)]
    pub client_certificates: Vec<String>,
    /// The `IntegrationPackages` entry this endpoint belongs to; `[deployment] package` when
    /// not given.
    pub package: Option<String>,
    /// Overrides `[soap] must_understand` for this endpoint.
    #[serde(default)]
    pub must_understand: Option<MustUnderstand>,
    /// `sync` (the chain runs while the sender waits) or `async` (acknowledged once queued).
    #[serde(default)]
    pub delivery: Delivery,
    /// How queued messages of this endpoint are retried (async deliveries and replays).
    #[serde(default)]
    pub retry: RetryConfig,
}

/// How SOAP requests are read (`[soap]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SoapConfig {
    /// A header block for iflowd marked `mustUnderstand`: `fault` (SOAP's rule) or `ignore`.
    pub must_understand: MustUnderstand,
}

/// Which type strings mean which event kind. A list given here replaces that kind's defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    pub change_in_manager: Vec<String>,
    pub hire: Vec<String>,
    pub rehire: Vec<String>,
    pub termination: Vec<String>,
}
