//! Test support: a real server on port 0, configured in code.
#![allow(dead_code)]

pub mod oauth;
pub mod pki;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use iflowd::config::{Env, load};
use iflowd::{App, Listener, serve_listeners};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The user every test configuration has, with every role the endpoints need.
pub const USER: &str = "isc";
pub const PASSWORD: &str = "s3cret:with:colons";
/// A user without `ESBMessaging.send`.
pub const OUTSIDER: &str = "outsider";
pub const OUTSIDER_PASSWORD: &str = "outsider-pw";

/// The `[[users]]` of [`TestApp::spawn_default`]; prepend to a custom configuration.
pub fn users_toml() -> String {
    format!(
        r#"
[[users]]
name = "{USER}"
password = "{PASSWORD}"
roles = ["ESBMessaging.send"]

[[users]]
name = "{OUTSIDER}"
password = "{OUTSIDER_PASSWORD}"
roles = ["SomethingElse"]
"#
    )
}

/// A running iflowd with its own temporary directory.
pub struct TestApp {
    pub address: SocketAddr,
    /// `https` when the configuration has `[tls]`, else `http`.
    pub scheme: &'static str,
    /// The plain-HTTP listener of `[tls] http_listen` (bound to port 0 whatever it says).
    pub http_address: Option<SocketAddr>,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    /// The built-in defaults (endpoint `/cxf/isc/events`) plus the test users.
    pub async fn spawn_default() -> Self {
        Self::spawn(&users_toml()).await
    }

    /// Starts a server from configuration text. `{dir}` in the text is replaced by the test's
    /// temporary directory, for handler files.
    pub async fn spawn(config: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let text = config.replace("{dir}", &dir.path().display().to_string());
        let path = dir.path().join("iflowd.toml");
        std::fs::write(&path, text).expect("write configuration");
        let loaded = load(Some(&path), &Env::default()).expect("valid test configuration");
        let app = App::build(&loaded.config).await.expect("app builds");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let address = listener.local_addr().expect("local address");
        let mut listeners = Vec::new();
        let mut http_address = None;
        let (scheme, client) = match &loaded.config.tls {
            None => {
                listeners.push(Listener::plain(listener));
                ("http", reqwest::Client::new())
            }
            Some(tls) => {
                let config = iflowd::tls::server_config(tls).expect("TLS configuration");
                let timeout = Duration::from_millis(tls.handshake_timeout_ms);
                listeners.push(Listener::tls(listener, config, timeout));
                if tls.http_listen.is_some() {
                    let plain = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
                    http_address = Some(plain.local_addr().expect("local address"));
                    listeners.push(Listener::plain(plain));
                }
                let pem = std::fs::read(&tls.cert).expect("server certificate");
                let trusted = reqwest::Certificate::from_pem_bundle(&pem).expect("PEM");
                let client = reqwest::Client::builder()
                    .tls_certs_only(trusted)
                    .build()
                    .expect("client");
                ("https", client)
            }
        };
        let (tx, rx) = oneshot::channel();
        let server = tokio::spawn(serve_listeners(listeners, app, async {
            let _ = rx.await;
        }));
        Self {
            address,
            scheme,
            http_address,
            dir,
            client,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.address)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// POSTs `body` as SOAP 1.1 with the test user's credentials.
    pub async fn post_soap(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .basic_auth(USER, Some(PASSWORD))
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", "\"\"")
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    /// POSTs a fixture to the default endpoint.
    pub async fn post_fixture(&self, name: &str) -> reqwest::Response {
        self.post_soap("/cxf/isc/events", fixture(name)).await
    }

    /// Stops the server the way SIGTERM does and waits for it to finish.
    pub async fn stop(mut self) {
        self.begin_shutdown();
        self.stopped().await.expect("server ended cleanly");
    }

    /// Sends the shutdown signal without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits until `serve` has returned.
    pub async fn stopped(&mut self) -> std::io::Result<()> {
        match self.server.take() {
            Some(server) => server.await.expect("server task"),
            None => Ok(()),
        }
    }
}

/// A file from `fixtures/`.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The text of a single element in an XML answer, for assertions that do not care about prefixes.
pub fn element_text<'a>(xml: &'a str, local_name: &str) -> Option<&'a str> {
    let open = xml
        .find(&format!(":{local_name}>"))
        .or_else(|| xml.find(&format!("<{local_name}>")))?;
    let start = xml[open..].find('>')? + open + 1;
    let end = xml[start..].find('<')? + start;
    Some(&xml[start..end])
}
