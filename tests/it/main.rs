//! The integration tests, one binary: every extra test binary would link the whole crate again.
//! Each module is one concern; `common` is the shared support (`TestApp`, certificates, OAuth,
//! downstream servers, log capture, running the binary itself).

mod common;

mod access_and_handlers;
mod answers;
mod audit_log;
mod bounded_input;
mod cli;
mod cli_tls;
mod client_x509;
mod compressed_bodies;
mod connections;
mod copies;
mod disk_full;
mod drills;
mod early_answers;
mod envelope_properties;
mod example_config;
mod exec;
mod forward;
mod interop;
mod keystore;
mod log_size;
mod logging;
mod message_log;
mod messages_cli;
mod metrics;
mod monitor;
mod monitor_browser;
mod monitoring_api;
mod monitoring_limits;
mod monitoring_queries;
mod monitoring_sets;
mod nats;
mod oauth_bearer;
mod oauth_token_endpoint;
mod odata_properties;
mod public_address;
mod queue;
mod queue_cli;
mod queue_replay;
mod queue_restart;
mod readme;
mod request_logging;
mod restart;
mod routing;
mod scale_out;
mod send;
mod serve_signals;
mod server_lifecycle;
mod service_key;
mod soap_endpoint;
mod store_failure;
mod tls;
mod wire;
