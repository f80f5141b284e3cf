//! The handler's NATS connection: credentials, TLS and when to connect, from the configuration,
//! once, at start-up.
//!
//! With `connect = "at-start"` the first connection is made before iflowd listens, so no server,
//! refused credentials or a failed TLS handshake stop start-up with the reason. With
//! `connect = "background"` the client starts disconnected and keeps trying. Either way, once
//! connected, the client reconnects by itself for as long as iflowd runs (async-nats waits up to
//! 4 s between attempts), and connection changes are logged with the handler's name.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_nats::rustls::{ClientConfig, RootCertStore};
use async_nats::{Client, ConnectOptions, Event, ServerAddr};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{NatsAuth, NatsConfig, NatsConnect, NatsTls};

/// Connects (or starts connecting) as `config` says. The error names what failed.
pub async fn connect(name: &Arc<str>, config: &NatsConfig) -> Result<Client, String> {
    let servers = config
        .url
        .iter()
        .map(|url| ServerAddr::from_url(url.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("url: {e}"))?;
    let shown = shown_servers(config);
    let mut options = ConnectOptions::new()
        .name(concat!("iflowd/", env!("CARGO_PKG_VERSION")))
        .connection_timeout(Duration::from_millis(config.timeout_ms))
        .tls_client_config(tls_config(config.tls.as_ref())?)
        .event_callback({
            let name = Arc::clone(name);
            move |event| {
                log_event(&name, event);
                std::future::ready(())
            }
        });
    if config.tls.is_some() {
        options = options.require_tls(true);
    }
    options = with_auth(options, config.auth.as_ref()).await?;
    match config.connect {
        NatsConnect::AtStart => async_nats::connect_with_options(servers, options)
            .await
            .map_err(|e| {
                format!(
                    "cannot connect to {shown}: {} (connect = \"background\" starts iflowd without a server)",
                    super::chain(&e)
                )
            }),
        NatsConnect::Background => {
            tracing::info!(handler = %name, servers = %shown, "nats connects in the background");
            async_nats::connect_with_options(servers, options.retry_on_initial_connect())
                .await
                .map_err(|e| format!("cannot set up the connection to {shown}: {e}"))
        }
    }
}

/// The servers, for messages (the configuration refuses URLs with credentials).
fn shown_servers(config: &NatsConfig) -> String {
    let urls: Vec<&str> = config.url.iter().map(url::Url::as_str).collect();
    urls.join(", ")
}

async fn with_auth(
    options: ConnectOptions,
    auth: Option<&NatsAuth>,
) -> Result<ConnectOptions, String> {
    Ok(match auth {
        None => options,
        Some(NatsAuth::User { user, password }) => {
            options.user_and_password(user.expose().to_owned(), password.expose().to_owned())
        }
        Some(NatsAuth::Token { token }) => options.token(token.expose().to_owned()),
        Some(NatsAuth::Nkey { seed }) => options.nkey(seed.expose().to_owned()),
        Some(NatsAuth::Creds { path }) => options
            .credentials_file(path)
            .await
            .map_err(|e| format!("auth.path {}: {e}", path.display()))?,
    })
}

/// The TLS set-up, used whenever a server asks for TLS or the URL is `tls://`: `ca`, else the
/// system's trust anchors; the client certificate when given. Built here rather than by
/// async-nats so it uses iflowd's crypto provider ([`crate::tls::provider`]) and a broken file
/// stops start-up with its name.
fn tls_config(tls: Option<&NatsTls>) -> Result<ClientConfig, String> {
    let tls = tls.cloned().unwrap_or_default();
    let mut roots = RootCertStore::empty();
    match &tls.ca {
        Some(ca) => {
            for cert in certificates(ca).map_err(|e| format!("tls.ca {}: {e}", ca.display()))? {
                roots
                    .add(cert)
                    .map_err(|e| format!("tls.ca {}: {e}", ca.display()))?;
            }
        }
        None => {
            // Unreadable system certificates only matter to a TLS connection, which then fails
            // verification and says so.
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    let builder = ClientConfig::builder_with_provider(crate::tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("tls: {e}"))?
        .with_root_certificates(roots);
    match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            let chain =
                certificates(cert).map_err(|e| format!("tls.cert {}: {e}", cert.display()))?;
            let private = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                format!("tls.key {}: no usable PEM private key ({e})", key.display())
            })?;
            builder
                .with_client_auth_cert(chain, private)
                .map_err(|e| format!("tls.key {}: does not fit tls.cert ({e})", key.display()))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read PEM certificates ({e})"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("is not valid PEM ({e})"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate".to_owned());
    }
    Ok(certs)
}

/// Logs the connection's changes: a lost or refused connection is worth a warning, a repeated
/// failed attempt (every few seconds while no server answers) only a debug line.
fn log_event(name: &str, event: Event) {
    match event {
        Event::Connected => tracing::info!(handler = %name, "nats connected"),
        Event::Disconnected => tracing::warn!(handler = %name, "nats disconnected; reconnecting"),
        Event::ServerError(e) => tracing::warn!(handler = %name, "nats server error: {e}"),
        Event::LameDuckMode => {
            tracing::warn!(handler = %name, "nats server is shutting down (lame duck mode)")
        }
        other => tracing::debug!(handler = %name, "nats: {other}"),
    }
}
