//! The embedded defaults: what a run without a configuration file gets.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use super::{EventsConfig, Limits, OAuthConfig, StoreConfig};
use crate::event::{DEFAULT_CHANGE_IN_MANAGER, DEFAULT_HIRE, DEFAULT_REHIRE, DEFAULT_TERMINATION};

pub const DEFAULT_USER: &str = "isc";
pub const DEFAULT_ROLE: &str = "ESBMessaging.send";
pub const DEFAULT_ENDPOINT_NAME: &str = "ISC_Events";
/// Served as `/cxf/isc/events`.
pub const DEFAULT_ENDPOINT_ADDRESS: &str = "/isc/events";
/// Reads the message log's monitoring API (CPI's role name).
pub const MONITORING_ROLE: &str = "MonitoringDataRead";
/// Reads stored request and response bodies, in addition to [`MONITORING_ROLE`].
pub const PAYLOADS_ROLE: &str = "MessagePayloadsRead";
/// Reads the health-check data (certificate expiry, and the queues' state) without the rest of
/// the monitoring data: CPI's role for health-monitoring collectors (SAP Cloud ALM).
pub const HEALTH_CHECK_ROLE: &str = "HealthCheckMonitoringDataRead";
/// Replays stored messages and retries escalated ones through the monitoring API (iflowd's own
/// role; CPI has none for this), in addition to [`MONITORING_ROLE`].
pub const REPLAY_ROLE: &str = "MessageReplay";

pub fn listen() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 8080))
}

pub fn role() -> String {
    DEFAULT_ROLE.to_owned()
}

pub fn roles() -> Vec<String> {
    vec![role()]
}

/// The built-in user of a run without `[[users]]`: it may send, read the log, payloads and the
/// health-check data, and replay messages.
pub fn default_user_roles() -> Vec<String> {
    vec![
        role(),
        MONITORING_ROLE.to_owned(),
        PAYLOADS_ROLE.to_owned(),
        HEALTH_CHECK_ROLE.to_owned(),
        REPLAY_ROLE.to_owned(),
    ]
}

pub fn data_dir() -> PathBuf {
    PathBuf::from("iflowd-data")
}

pub fn handlers() -> Vec<String> {
    vec!["log".to_owned()]
}

pub fn token_lifetime_s() -> u64 {
    3600
}

pub fn handshake_timeout_ms() -> u64 {
    10_000
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            token_path: "/oauth/token".to_owned(),
            app_name: "iflowd".to_owned(),
            signing_key: None,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            shutdown_timeout_ms: 5_000,
            max_connections: 512,
            drain_max_bytes: 16 * 1024 * 1024,
            drain_timeout_ms: 10_000,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            payloads: true,
            retention_days: 90,
            payload_retention_days: 30,
            duplicate_window_days: 90,
            duplicate_wait_ms: 30_000,
            max_size_mb: None,
            url: None,
            pool_size: crate::store::DEFAULT_POOL_SIZE,
            ca: None,
        }
    }
}

impl Default for EventsConfig {
    fn default() -> Self {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        Self {
            change_in_manager: owned(DEFAULT_CHANGE_IN_MANAGER),
            hire: owned(DEFAULT_HIRE),
            rehire: owned(DEFAULT_REHIRE),
            termination: owned(DEFAULT_TERMINATION),
        }
    }
}
