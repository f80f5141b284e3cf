//! Test support: a real server on port 0, configured in code.
#![allow(dead_code)]

pub mod downstream;
pub mod in_process;
pub mod logs;
pub mod nats;
pub mod oauth;
pub mod pki;
pub mod postgres;
pub mod process;
pub mod queue;
pub mod raw;
pub mod tmpfs;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use iflowd::config::{Env, Loaded, load};
use iflowd::{App, Listener, serve_listeners};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use postgres::Backend;
pub(crate) use postgres::on_both_backends;

/// The user every test configuration has, with every role the endpoints and the monitoring API
/// need.
pub const USER: &str = "isc";
pub const PASSWORD: &str = "s3cret:with:colons";
/// A user without `ESBMessaging.send`.
pub const OUTSIDER: &str = "outsider";
pub const OUTSIDER_PASSWORD: &str = "outsider-pw";
/// A user who may read the message log but not stored bodies.
pub const MONITOR: &str = "monitor";
pub const MONITOR_PASSWORD: &str = "monitor-pw";

/// The test users, plus an endpoint `Broken` (at `/broken`, SOAP or HTTPS adapter) whose `jsonl`
/// handler `archive` writes to `/dev/full`: it opens fine and fails every write, a handler that
/// breaks at run time. `extra` is TOML added before it (more endpoints, say).
pub fn failing_archive_config(adapter: &str, extra: &str) -> String {
    format!(
        r#"{users}
{extra}
[[endpoints]]
name = "Broken"
adapter = "{adapter}"
address = "/broken"
handlers = ["log", "archive"]

[handlers.archive]
type = "jsonl"
path = "/dev/full"
"#,
        users = users_toml()
    )
}

/// [`failing_archive_config`] with the endpoint `ISC_Events` (at `/isc/events`, SOAP) beside
/// `Broken`.
pub fn isc_and_broken(adapter: &str) -> String {
    failing_archive_config(
        adapter,
        "[[endpoints]]\nname = \"ISC_Events\"\naddress = \"/isc/events\"\n",
    )
}

/// The default endpoint with a `jsonl` handler writing `events.jsonl` in the test's directory.
pub const ARCHIVED_ENDPOINT: &str = r#"
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = ["archive"]

[handlers.archive]
type = "jsonl"
path = "{dir}/events.jsonl"
"#;

/// The `[[users]]` of [`TestApp::spawn_default`]; prepend to a custom configuration.
pub fn users_toml() -> String {
    format!(
        r#"
[[users]]
name = "{USER}"
password = "{PASSWORD}"
roles = ["ESBMessaging.send", "MonitoringDataRead", "MessagePayloadsRead", "MessageReplay"]

[[users]]
name = "{MONITOR}"
password = "{MONITOR_PASSWORD}"
roles = ["MonitoringDataRead"]

[[users]]
name = "{OUTSIDER}"
password = "{OUTSIDER_PASSWORD}"
roles = ["SomethingElse"]
"#
    )
}

/// A client for plain HTTP. Test clients start at `iflowd::tls::client_builder`, as iflowd's own
/// do: it installs ring as rustls's provider, which reqwest (built without one) needs before its
/// first client; `reqwest::Client::new()` panics in a test that runs first or alone.
pub fn http_client() -> reqwest::Client {
    iflowd::tls::client_builder().build().expect("client")
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
    /// The running service, for waiting on its background work (`app.purges()`).
    pub app: App,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    /// The built-in defaults (endpoint `/cxf/isc/events`) plus the test users.
    pub async fn spawn_default() -> Self {
        Self::spawn(&users_toml()).await
    }

    /// Starts a server from configuration text. `{dir}` in the text is replaced by the test's
    /// temporary directory, for handler files. Unless the text sets `data_dir`, the message log
    /// goes to `{dir}/data`, so no two tests share one.
    pub async fn spawn(config: &str) -> Self {
        Self::spawn_with_env(config, Env::default()).await
    }

    /// Like [`TestApp::spawn`], with an environment built in code (for `${VAR}` settings).
    pub async fn spawn_with_env(config: &str, env: Env) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        Self::spawn_in_with_env(dir, config, env, &Backend::Sqlite).await
    }

    /// Like [`TestApp::spawn`], in a directory of the caller's (to start again on the same data).
    pub async fn spawn_in(dir: tempfile::TempDir, config: &str) -> Self {
        Self::spawn_in_with_env(dir, config, Env::default(), &Backend::Sqlite).await
    }

    /// Like [`TestApp::spawn`], with the message log on `backend` (for PostgreSQL, `[store] url`
    /// set to its database, whatever else `[store]` in the text says).
    pub async fn spawn_on(backend: &Backend, config: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        Self::spawn_in_with_env(dir, config, Env::default(), backend).await
    }

    /// [`TestApp::spawn_default`] with the message log on `backend`.
    pub async fn spawn_default_on(backend: &Backend) -> Self {
        Self::spawn_on(backend, &users_toml()).await
    }

    /// [`TestApp::spawn_in`] with the message log on `backend`.
    pub async fn spawn_in_on(backend: &Backend, dir: tempfile::TempDir, config: &str) -> Self {
        Self::spawn_in_with_env(dir, config, Env::default(), backend).await
    }

    async fn spawn_in_with_env(
        dir: tempfile::TempDir,
        config: &str,
        env: Env,
        backend: &Backend,
    ) -> Self {
        let mut loaded = load_in(dir.path(), config, &env);
        if let Some(url) = backend.url() {
            loaded.config.store.url = Some(url.into());
        }
        let app = App::build(&loaded.config).await.expect("app builds");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let address = listener.local_addr().expect("local address");
        let mut listeners = Vec::new();
        let mut http_address = None;
        let (scheme, client) = match &loaded.config.tls {
            None => {
                listeners.push(Listener::plain(listener));
                ("http", http_client())
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
                let client = iflowd::tls::client_builder()
                    .tls_certs_only(trusted)
                    .build()
                    .expect("client");
                ("https", client)
            }
        };
        let (tx, rx) = oneshot::channel();
        let server = tokio::spawn(serve_listeners(listeners, app.clone(), async {
            let _ = rx.await;
        }));
        Self {
            address,
            scheme,
            http_address,
            dir,
            client,
            app,
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

    /// A SOAP 1.1 POST to `path` with the test user's credentials, without its body.
    pub fn soap_request(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(path))
            .basic_auth(USER, Some(PASSWORD))
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", "\"\"")
    }

    /// POSTs `body` as SOAP 1.1 with the test user's credentials.
    pub async fn post_soap(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.soap_request(path)
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    /// POSTs `count` envelopes of `events` events each to `path`, with the externalEventIds
    /// `page-0000`, `page-0001`, ..., at most 16 at a time, and asserts that each is answered 200.
    pub async fn post_pages(&self, path: &str, count: usize, events: usize) {
        let mut posts = tokio::task::JoinSet::new();
        for i in 0..count {
            let request =
                self.soap_request(path)
                    .body(envelope(&format!("page-{i:04}"), events, false));
            posts.spawn(async move { request.send().await.map(|r| r.status().as_u16()) });
            if posts.len() >= 16 {
                assert_eq!(posts.join_next().await.unwrap().unwrap().unwrap(), 200);
            }
        }
        while let Some(status) = posts.join_next().await {
            assert_eq!(status.unwrap().unwrap(), 200);
        }
    }

    /// POSTs an envelope given as text to the default endpoint.
    pub async fn post_fixture_text(&self, body: &str) -> reqwest::Response {
        self.post_soap("/cxf/isc/events", body.to_owned()).await
    }

    /// POSTs a fixture to the default endpoint.
    pub async fn post_fixture(&self, name: &str) -> reqwest::Response {
        self.post_soap("/cxf/isc/events", fixture(name)).await
    }

    /// GETs a monitoring API path (below `/api/v1/`) as `user`.
    pub async fn api_as(&self, user: &str, password: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/api/v1/{path}")))
            .basic_auth(user, Some(password))
            .send()
            .await
            .expect("request sent")
    }

    /// GETs a monitoring API path as the test user and reads the JSON, asserting a 200.
    pub async fn api(&self, path: &str) -> serde_json::Value {
        let response = self.api_as(USER, PASSWORD, path).await;
        let status = response.status();
        let text = response.text().await.expect("body");
        assert_eq!(status, 200, "GET /api/v1/{path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
    }

    /// The `d.results` of a collection query.
    pub async fn api_results(&self, path: &str) -> Vec<serde_json::Value> {
        let json = self.api(path).await;
        json["d"]["results"]
            .as_array()
            .unwrap_or_else(|| panic!("no d.results in {json}"))
            .clone()
    }

    /// A stored body of the entry `guid` (`kind`: `request` or `response`), as the test user.
    pub async fn stored_body(&self, guid: &str, kind: &str) -> reqwest::Response {
        self.api_as(
            USER,
            PASSWORD,
            &format!("MessageStoreEntries('{guid}.{kind}')/$value"),
        )
        .await
    }

    /// `GET /metrics`, its text.
    pub async fn metrics(&self) -> String {
        let response = self.client.get(self.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// Asserts that `/metrics` has each of these lines, whole.
    pub async fn assert_metrics(&self, lines: &[&str]) {
        let text = self.metrics().await;
        for line in lines {
            assert!(text.lines().any(|l| l == *line), "{line} in\n{text}");
        }
    }

    /// The error text of a log entry (`ErrorInformation/$value`), asserting it has one.
    pub async fn error_text(&self, id: &str) -> String {
        let path = format!("MessageProcessingLogs('{id}')/ErrorInformation/$value");
        let response = self.api_as(USER, PASSWORD, &path).await;
        assert_eq!(response.status(), 200, "{path}");
        response.text().await.unwrap()
    }

    /// One log entry, by the id an answer carried.
    pub async fn log_entry(&self, id: &str) -> serde_json::Value {
        self.api(&format!("MessageProcessingLogs('{id}')")).await["d"].clone()
    }

    /// Stops the server the way SIGTERM does and waits for it to finish.
    pub async fn stop(mut self) {
        self.begin_shutdown();
        self.stopped().await.expect("server ended cleanly");
    }

    /// Stops the server and hands back its directory, to start another on the same data.
    pub async fn stop_keeping_dir(mut self) -> tempfile::TempDir {
        self.begin_shutdown();
        self.stopped().await.expect("server ended cleanly");
        self.dir
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

/// Loads configuration text the way every test does: written to `dir/iflowd.toml` with `{dir}`
/// replaced by `dir`, and, unless the text sets `data_dir`, the message log in `{dir}/data`, so
/// no two tests share one.
pub fn load_in(dir: &Path, config: &str, env: &Env) -> Loaded {
    let config = if config
        .lines()
        .any(|l| l.trim_start().starts_with("data_dir"))
    {
        config.to_owned()
    } else {
        format!("data_dir = \"{{dir}}/data\"\n{config}")
    };
    let text = config.replace("{dir}", &dir.display().to_string());
    let path = dir.join("iflowd.toml");
    std::fs::write(&path, text).expect("write configuration");
    load(Some(&path), env).expect("valid test configuration")
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

/// The message id an answer carries in `SAP_MessageProcessingLogID`.
pub fn message_id(response: &reqwest::Response) -> String {
    response.headers()["sap_messageprocessinglogid"]
        .to_str()
        .expect("ASCII id")
        .to_owned()
}

/// An `ExternalEvent` envelope with `count` Hire events, under `external_event_id`.
pub fn envelope(external_event_id: &str, count: usize, repost: bool) -> String {
    let events: String = (0..count)
        .map(|i| {
            format!(
                "<ns:event><ns:eventId>ev-{i}</ns:eventId><ns:entityType>EmpEmployment</ns:entityType>\
                 <ns:entityKeys><ns:entityKey><name>userId</name><value>{}</value></ns:entityKey></ns:entityKeys></ns:event>",
                100_000 + i
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns:ExternalEvent xmlns:ns="http://notification.event.successfactors.com"><ns:externalEventMeta><ns:externalEventId>{external_event_id}</ns:externalEventId><ns:type>com.successfactors.Employment.AssignmentInformation.Hire</ns:type><ns:repost>{repost}</ns:repost></ns:externalEventMeta><ns:events>{events}</ns:events></ns:ExternalEvent></S:Body></S:Envelope>"#
    )
}

/// Makes a named pipe (FIFO) at `path` with the real `mkfifo`.
pub fn make_fifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Opens the reading end of a FIFO without waiting for a writer. A `jsonl` handler writing to
/// the FIFO blocks once the pipe's buffer (64 KiB) is full, until this end reads: a handler the
/// test holds in the middle of its work.
pub fn open_fifo_reader(path: &Path) -> tokio::net::unix::pipe::Receiver {
    tokio::net::unix::pipe::OpenOptions::new()
        .open_receiver(path)
        .expect("open the FIFO for reading")
}

/// Waits until the FIFO's writer has written something: its handler is running.
pub async fn wait_for_writer(reader: &mut tokio::net::unix::pipe::Receiver) {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = tokio::time::timeout(std::time::Duration::from_secs(30), reader.read(&mut buf))
            .await
            .expect("the handler starts writing")
            .expect("read the FIFO");
        if n > 0 {
            return;
        }
        // No writer has the FIFO open yet (end of file): wait until one does.
        reader.readable().await.expect("readable");
    }
}
