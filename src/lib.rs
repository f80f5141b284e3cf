//! iflowd: a stand-in for an SAP Cloud Integration iFlow endpoint that receives SuccessFactors
//! Intelligent Services Center events.
//!
//! A request travels through the modules in this order:
//!
//! * [`server`]: the accept loop, timeouts and graceful shutdown.
//! * [`http`]: routes; authentication and authorisation via [`auth`]; body limits; and the only
//!   place where outcomes become status codes, SOAP faults and JSON errors.
//! * [`endpoint`]: CPI path matching, and the protocol-free core of a call
//!   ([`endpoint::Endpoint::prepare`], [`endpoint::Endpoint::process`]).
//! * [`soap`]: raw XML stops here. Parses envelopes, writes acknowledgements, faults and the WSDL.
//! * [`event`]: typed events (Change in Manager, Hire, Rehire, Termination, Other) and their JSON
//!   shape.
//! * [`handler`]: the per-endpoint handler chain and the built-in handlers.
//! * [`message_log`]: the message processing log as a call sees it: duplicates, `PROCESSING`,
//!   the final status; kept by [`store`] (one `Backend` interface; SQLite behind it, where raw SQL
//!   stops).
//! * [`queue`]: the delivery queue of `async` endpoints (and replays): workers, retries,
//!   escalation, all kept in the store.
//!
//! The monitoring API reads the same store: [`odata`] parses its query options into typed
//! values, [`http`] serves it under `/api/v1/` and the Prometheus [`metrics`] at `/metrics`.
//!
//! Around them: [`config`] (TOML, environment, defaults, validation), [`app`] (the shared state
//! built once at start-up), [`audit`] (who did what: start, stop, refused credentials),
//! [`message`] (message ids and context), [`tls`] (HTTPS and client certificates),
//! [`keystore`] (the certificates and keys held, as CPI's keystore lists them), [`clock`] (the
//! log's time), [`excerpt`] (what an error may repeat of a sender's input), [`cli`] and
//! [`telemetry`].

pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod endpoint;
pub mod event;
pub mod excerpt;
pub mod handler;
pub mod http;
pub mod keystore;
pub mod message;
pub mod message_log;
pub mod metrics;
pub mod odata;
pub mod queue;
pub mod server;
pub mod soap;
pub mod store;
pub mod telemetry;
pub mod tls;

pub use app::App;
pub use server::{Listener, serve, serve_listeners};
