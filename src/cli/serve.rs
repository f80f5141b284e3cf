//! `iflowd serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::config::{self, Adapter, Env, Loaded};
use crate::{App, serve, server, telemetry};

pub fn run(config: Option<PathBuf>) -> anyhow::Result<()> {
    let env = Env::from_process();
    let loaded = config::load(config.as_deref(), &env)?;
    let filter = env
        .log
        .clone()
        .or_else(|| loaded.config.log.level.clone())
        .unwrap_or_else(|| "info".to_owned());
    telemetry::init(loaded.config.log.format, &filter);
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }

    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let app = App::build(&loaded.config).await?;
        let listen = loaded.config.listen;
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let address = listener.local_addr()?;
        print_banner(address, &loaded);
        tracing::info!(%address, "listening");
        serve(listener, app, server::shutdown_signal()).await?;
        Ok(())
    })
}

/// What a person needs to send a first event: the endpoint URLs, the credentials if they were
/// generated (printed this once, never logged), and a curl line.
fn print_banner(address: SocketAddr, loaded: &Loaded) {
    let host = if address.ip().is_unspecified() {
        format!("localhost:{}", address.port())
    } else {
        address.to_string()
    };
    let base = format!("http://{host}");
    let config = &loaded.config;
    println!("iflowd {} listening on {base}", env!("CARGO_PKG_VERSION"));
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
    if config.store.enabled {
        println!(
            "  message log: {}  (API: {base}/api/v1/MessageProcessingLogs, metrics: {base}/metrics)",
            config.data_dir.join(crate::store::DATABASE_FILE).display()
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
    println!("  try:");
    println!(
        "    curl -u '{credentials}' -H 'Content-Type: text/xml' --data-binary @fixtures/change-in-manager.xml {base}{first_path}"
    );
}
