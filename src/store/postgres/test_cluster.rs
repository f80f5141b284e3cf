//! A real PostgreSQL for the tests, never mocked: one cluster per test binary run, started on
//! first use by `tests/support/postgres.sh` (initdb in a temporary directory, a port of its own),
//! and a database of its own for every test that asks, so tests run in parallel.
//!
//! The script waits on a pipe this process holds open until it exits; when the test binary ends,
//! however it ends, the pipe closes and the script stops the server and removes its directory.
//! `scripts/test` installs Debian's `postgresql` package when the server programs are missing; a
//! test that finds them missing fails and says so.
//!
//! Shared by the library's unit tests and the integration tests (`tests/it/common/postgres.rs`
//! includes this file).

use std::io::{BufRead, BufReader};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

struct Cluster {
    port: u16,
    /// Held open for as long as this process runs (see the module documentation).
    _alive: ChildStdin,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
/// A second cluster with TLS on, for the tests of `sslmode=require`.
#[allow(dead_code)]
static TLS_CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static DATABASES: AtomicU64 = AtomicU64::new(0);

fn start() -> Result<Cluster, String> {
    start_with(None)
}

/// Starts a cluster; with `ssl`, a directory holding `server.crt` and `server.key`, TLS is on.
fn start_with(ssl: Option<&std::path::Path>) -> Result<Cluster, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/postgres.sh");
    let dir = tempfile::Builder::new()
        .prefix("iflowd-postgres-")
        .tempdir()
        .map_err(|e| format!("a temporary directory: {e}"))?
        .keep();
    let mut command = Command::new("bash");
    if let Some(ssl) = ssl {
        command.env("POSTGRES_SSL_DIR", ssl);
    }
    let mut child = command
        .arg(script)
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {script}: {e}"))?;
    let alive = child.stdin.take().ok_or("no pipe to the script")?;
    let stdout = child.stdout.take().ok_or("no pipe from the script")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("reading {script}: {e}"))?;
    let port = line
        .trim()
        .strip_prefix("ready ")
        .and_then(|port| port.parse().ok())
        .ok_or(
            "PostgreSQL did not start (see the lines above); run scripts/test, which installs \
             Debian's postgresql package when initdb and pg_ctl are missing",
        )?;
    Ok(Cluster {
        port,
        _alive: alive,
    })
}

/// The port of this run's cluster, starting it on first use; panics with what to do when
/// PostgreSQL cannot be started.
pub fn port() -> u16 {
    match CLUSTER.get_or_init(start) {
        Ok(cluster) => cluster.port,
        Err(message) => panic!("{message}"),
    }
}

/// A url of the cluster's superuser for `database`.
pub fn url(database: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{}/{database}", port())
}

/// A new, empty database of the test's own: its url.
pub async fn database() -> String {
    let port = port();
    let name = format!(
        "test_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::SeqCst)
    );
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"),
        tokio_postgres::NoTls,
    )
    .await
    .expect("connect to the test cluster");
    let driver = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("CREATE DATABASE");
    drop(client);
    let _ = driver.await;
    url(&name)
}

/// The port of a cluster with TLS on whose certificate and key are `ssl`'s `server.crt` and
/// `server.key` (the first caller's: one such cluster per run).
#[allow(dead_code)]
pub fn tls_port(ssl: &std::path::Path) -> u16 {
    match TLS_CLUSTER.get_or_init(|| start_with(Some(ssl))) {
        Ok(cluster) => cluster.port,
        Err(message) => panic!("{message}"),
    }
}
