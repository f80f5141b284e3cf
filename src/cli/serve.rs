//! `iflowd serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::config::{self, Adapter, Env, Loaded};
use crate::server::Listener;
use crate::{App, serve_listeners, server, telemetry};

pub fn run(config: Option<PathBuf>) -> anyhow::Result<()> {
    let env = Env::from_process();
    let loaded = config::load(config.as_deref(), &env)?;
    let filter = env
        .log
        .clone()
        .or_else(|| loaded.config.log.level.clone())
        .unwrap_or_else(|| "info".to_owned());
    // Held until the runtime is gone: dropping it writes out the last queued log lines.
    let _log = telemetry::init(loaded.config.log.format, &filter);
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }

    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let app = App::build(&loaded.config).await?;
        let config = &loaded.config;
        let listen = config.listen;
        let tcp = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let address = tcp.local_addr()?;
        let mut listeners = Vec::new();
        let mut http_address = None;
        match &config.tls {
            None => listeners.push(Listener::plain(tcp)),
            Some(tls) => {
                let server_config = crate::tls::server_config(tls)?;
                let timeout = Duration::from_millis(tls.handshake_timeout_ms);
                listeners.push(Listener::tls(tcp, server_config, timeout));
                if let Some(http) = tls.http_listen {
                    let tcp = TcpListener::bind(http)
                        .await
                        .with_context(|| format!("cannot listen on {http} (tls.http_listen)"))?;
                    http_address = Some(tcp.local_addr()?);
                    listeners.push(Listener::plain(tcp));
                }
            }
        }
        // Before the banner: whoever reads it may stop the server at once.
        let shutdown = server::shutdown_signal();
        print_banner(address, http_address, &loaded);
        tracing::info!(%address, tls = config.tls.is_some(), "listening");
        if let Some(http) = http_address {
            tracing::info!(address = %http, "listening (plain HTTP)");
        }
        serve_listeners(listeners, app, shutdown).await?;
        Ok(())
    })
}

/// What a person needs to send a first event: the endpoint URLs, the credentials if they were
/// generated (printed this once, never logged), and a curl line.
fn print_banner(address: SocketAddr, http_address: Option<SocketAddr>, loaded: &Loaded) {
    let config = &loaded.config;
    let base = base_url(address, config.tls.is_some());
    println!("iflowd {} listening on {base}", env!("CARGO_PKG_VERSION"));
    if let Some(http) = http_address {
        println!("  and on {} (plain HTTP)", base_url(http, false));
    }
    for endpoint in &config.endpoints {
        let path = config::endpoint_path(endpoint.adapter, &endpoint.address);
        let kind = match endpoint.adapter {
            Adapter::Soap => "SOAP",
            Adapter::Https => "HTTPS",
        };
        println!(
            "  {kind} endpoint {}: {base}{path}  (WSDL: {base}{path}?wsdl)",
            endpoint.name
        );
    }
    if !config.oauth_clients.is_empty() {
        println!(
            "  OAuth token endpoint: {base}{}  (clients: {})",
            config.oauth.token_path,
            config
                .oauth_clients
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if config.store.enabled {
        println!(
            "  message log: {}  (API: {base}/api/v1/MessageProcessingLogs, metrics: {base}/metrics)",
            crate::store::describe(&config.store, &config.data_dir)
        );
    } else {
        println!("  message log: off ([store] enabled = false); metrics: {base}/metrics");
    }
    let Some(user) = config.users.first() else {
        return;
    };
    let first_path = config
        .endpoints
        .first()
        .map(|e| config::endpoint_path(e.adapter, &e.address))
        .unwrap_or_default();
    let credentials = match &loaded.generated_password {
        Some(password) => {
            println!(
                "  user '{}' with generated password: {}",
                user.name,
                password.expose_secret()
            );
            println!("  (set IFLOWD_PASSWORD to choose one)");
            format!("{}:{}", user.name, password.expose_secret())
        }
        None => format!("{}:<password>", user.name),
    };
    let cacert = match &config.tls {
        Some(tls) => format!("--cacert {} ", tls.cert.display()),
        None => String::new(),
    };
    println!("  try:");
    println!(
        "    curl {cacert}-u '{credentials}' -H 'Content-Type: text/xml' --data-binary @fixtures/change-in-manager.xml {base}{first_path}"
    );
}

/// `scheme://host:port` of a listener (`localhost` for an unspecified address).
pub(super) fn base_url(address: SocketAddr, tls: bool) -> String {
    let host = if address.ip().is_unspecified() {
        format!("localhost:{}", address.port())
    } else {
        address.to_string()
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{host}")
}
