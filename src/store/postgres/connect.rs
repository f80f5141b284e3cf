//! Reaching the database: the url's settings with iflowd's own, TLS (rustls on ring), the pool,
//! and the connection each instance holds its instance lock on.
//!
//! The url never appears in an error or a log line: it may carry a password. Errors say what is
//! wrong with it ("invalid value for option `port`"), not what it is.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::task::JoinHandle;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::super::StoreError;

/// What every pooled connection runs first. `synchronous_commit = on` whatever the server's or
/// the role's default: "committed" must mean "on the disk" (the store's durability promise);
/// `begin` turns it off for its own transaction only (see `write.rs`). The keepalives let the
/// server notice within a minute that an instance's machine went away, which releases its
/// instance lock.
const SESSION_SETTINGS: &str = "SET synchronous_commit = on;
    SET tcp_keepalives_idle = 20; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 4";

/// How connections are secured: TLS only when the url says `sslmode=require`, and then verified
/// like libpq's `verify-full` (the server's certificate against `ca`, or the system's trust
/// anchors, and its name); `prefer` (the default) and `disable` connect in the clear.
#[derive(Clone)]
pub(super) enum Tls {
    Plain,
    Rustls(MakeRustlsConnect),
}

/// The url as a client configuration; an error that does not repeat the url.
pub(super) fn parse(url: &str) -> Result<tokio_postgres::Config, String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err("is not a postgres:// or postgresql:// url".to_owned());
    }
    let mut config = tokio_postgres::Config::from_str(url).map_err(|e| e.to_string())?;
    if config.get_dbname().is_none() {
        return Err("names no database (postgres://user@host/DATABASE)".to_owned());
    }
    if config.get_application_name().is_none() {
        config.application_name("iflowd");
    }
    Ok(config)
}

/// The TLS the url asks for; `ca` is a PEM file of the certificates to trust instead of the
/// system's.
pub(super) fn tls(config: &mut tokio_postgres::Config, ca: Option<&Path>) -> Result<Tls, String> {
    if config.get_ssl_mode() != SslMode::Require {
        config.ssl_mode(SslMode::Disable);
        return Ok(Tls::Plain);
    }
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            use rustls_pki_types::pem::PemObject;
            let certificates = rustls_pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
            for certificate in certificates {
                let certificate =
                    certificate.map_err(|e| format!("the CA file {}: {e}", path.display()))?;
                roots.add(certificate).map_err(|e| {
                    format!(
                        "the CA file {}: a certificate rustls refuses: {e}",
                        path.display()
                    )
                })?;
            }
        }
        None => {
            for certificate in rustls_native_certs::load_native_certs().certs {
                // One bad system certificate should not make the others unusable.
                let _ = roots.add(certificate);
            }
        }
    }
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Tls::Rustls(MakeRustlsConnect::new(client)))
}

/// A pool of at most `size` connections, each with [`SESSION_SETTINGS`]. Connections are made
/// when first needed, so this does not reach the database.
pub(super) fn pool(
    config: tokio_postgres::Config,
    tls: Tls,
    size: usize,
    read_only: bool,
) -> Result<Pool, StoreError> {
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = match tls {
        Tls::Plain => Manager::from_config(config, NoTls, manager_config),
        Tls::Rustls(tls) => Manager::from_config(config, tls, manager_config),
    };
    let settings = if read_only {
        // `iflowd messages`: no statement of this handle can change the log.
        "SET default_transaction_read_only = on"
    } else {
        SESSION_SETTINGS
    };
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .post_create(Hook::async_fn(move |client, _| {
            Box::pin(async move {
                client
                    .batch_execute(settings)
                    .await
                    .map_err(HookError::Backend)
            })
        }))
        .build()
        .map_err(|e| StoreError::Database(e.to_string()))
}

/// One connection of its own, outside the pool (the instance lock's), driven by a task: the
/// client, and the task, which ends when the connection does.
pub(super) async fn connect(
    config: &tokio_postgres::Config,
    tls: &Tls,
) -> Result<(Client, JoinHandle<()>), tokio_postgres::Error> {
    let (client, driver) = match tls {
        Tls::Plain => {
            let (client, connection) = config.connect(NoTls).await?;
            (client, tokio::spawn(drive(connection)))
        }
        Tls::Rustls(tls) => {
            let (client, connection) = config.connect(tls.clone()).await?;
            (client, tokio::spawn(drive(connection)))
        }
    };
    client.batch_execute(SESSION_SETTINGS).await?;
    Ok((client, driver))
}

/// Runs a connection until it closes; a connection that breaks says so in the log.
async fn drive<F>(connection: F)
where
    F: std::future::Future<Output = Result<(), tokio_postgres::Error>>,
{
    if let Err(error) = connection.await {
        tracing::error!(%error, "the message log's instance connection to PostgreSQL broke");
    }
}
