//! A real `nats-server -js` per test, in the test's temporary directory on a port of its own, and
//! a client of the test's to make streams and read back what iflowd published with a pull
//! consumer. Nothing of NATS is mocked.
//!
//! `scripts/test` installs Debian's `nats-server` when it is missing; a test that does not find it
//! fails and says so.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use async_nats::{ConnectOptions, HeaderMap};
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};

/// How long a server has to say it is ready.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// How the test's own client gets in.
#[derive(Clone)]
pub enum Access {
    Open,
    User(String, String),
    /// TLS with a client certificate: the CA that signed the server's certificate, and the
    /// client's certificate and key.
    Tls {
        ca: PathBuf,
        cert: PathBuf,
        key: PathBuf,
    },
}

pub struct NatsServer {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// The client port, the same across a [`NatsServer::restart`].
    pub port: u16,
    conf: String,
    access: Access,
    log: Arc<Mutex<String>>,
}

impl NatsServer {
    /// A server with JetStream and no authentication.
    pub async fn start() -> Self {
        Self::start_with("", Access::Open).await
    }

    /// A server with `conf` as its configuration file (authorization, TLS, ...), reached by the
    /// test's client as `access` says.
    pub async fn start_with(conf: &str, access: Access) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut server = Self {
            child: None,
            dir,
            port: 0,
            conf: conf.to_owned(),
            access,
            log: Arc::default(),
        };
        server.launch().await;
        server
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Kills the server and waits until it has gone; its port refuses connections afterwards.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill nats-server");
        }
    }

    /// Starts the server again, on the same port, with the same JetStream directory.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.launch().await;
    }

    async fn launch(&mut self) {
        let conf = self.dir.path().join("nats.conf");
        std::fs::write(&conf, &self.conf).expect("write nats.conf");
        let port = match self.port {
            0 => "-1".to_owned(),
            port => port.to_string(),
        };
        let store = self.dir.path().join("jetstream");
        let args = [
            "-c".as_ref(),
            conf.as_os_str(),
            "-js".as_ref(),
            "-sd".as_ref(),
            store.as_os_str(),
            "-a".as_ref(),
            "127.0.0.1".as_ref(),
            "-p".as_ref(),
            port.as_ref(),
        ];
        let mut child = spawn(&args);
        let stderr = child.stderr.take().expect("piped stderr");
        self.port = wait_until_ready(stderr, Arc::clone(&self.log), self.port).await;
        self.child = Some(child);
    }

    /// A client of the test's, connected as [`Access`] says.
    pub async fn client(&self) -> async_nats::Client {
        let options = match &self.access {
            Access::Open => ConnectOptions::new(),
            Access::User(user, password) => {
                ConnectOptions::with_user_and_password(user.clone(), password.clone())
            }
            Access::Tls { ca, cert, key } => ConnectOptions::new()
                .require_tls(true)
                .tls_client_config(client_tls(ca, cert, key)),
        };
        options
            .connect(self.url())
            .await
            .unwrap_or_else(|e| panic!("the test's client connects to {}: {e}", self.url()))
    }

    pub async fn jetstream(&self) -> jetstream::Context {
        jetstream::new(self.client().await)
    }

    /// Creates the stream `name` (file storage, the default duplicate window of 2 minutes)
    /// taking `subjects`.
    pub async fn create_stream(&self, name: &str, subjects: &[&str]) {
        self.jetstream()
            .await
            .create_stream(stream::Config {
                name: name.to_owned(),
                subjects: subjects.iter().map(|s| (*s).to_owned()).collect(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("create stream {name}: {e}"));
    }

    /// How many messages the stream holds.
    pub async fn stream_messages(&self, name: &str) -> u64 {
        let mut stream = self
            .jetstream()
            .await
            .get_stream(name)
            .await
            .expect("stream");
        stream.info().await.expect("stream info").state.messages
    }

    /// Every message in the stream, in order, read by a new pull consumer.
    pub async fn read(&self, name: &str) -> Vec<Published> {
        let count = self.stream_messages(name).await;
        let stream = self
            .jetstream()
            .await
            .get_stream(name)
            .await
            .expect("stream");
        let consumer = stream
            .create_consumer(consumer::pull::Config {
                deliver_policy: consumer::DeliverPolicy::All,
                ack_policy: consumer::AckPolicy::None,
                ..Default::default()
            })
            .await
            .expect("pull consumer");
        let mut messages = consumer
            .batch()
            .max_messages(usize::try_from(count).unwrap().max(1))
            .expires(Duration::from_secs(5))
            .messages()
            .await
            .expect("batch");
        let mut read = Vec::new();
        use tokio_stream::StreamExt;
        while read.len() < count as usize {
            let message = tokio::time::timeout(Duration::from_secs(10), messages.next())
                .await
                .expect("the stream's messages within 10 s")
                .expect("a message")
                .expect("not an error");
            read.push(Published {
                subject: message.subject.to_string(),
                headers: message.headers.clone().unwrap_or_default(),
                payload: message.payload.clone(),
            });
        }
        read
    }
}

/// One message read back from a stream.
#[derive(Debug)]
pub struct Published {
    pub subject: String,
    pub headers: HeaderMap,
    pub payload: Bytes,
}

impl Published {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).expect("JSON payload")
    }
}

/// Runs `nats-server` from the PATH, or from /usr/sbin where Debian puts it (not on every user's
/// PATH).
fn spawn(args: &[&std::ffi::OsStr]) -> Child {
    for program in ["nats-server", "/usr/sbin/nats-server"] {
        match Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(child) => return child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("cannot run {program}: {e}"),
        }
    }
    panic!(
        "nats-server is not installed (not on PATH, not in /usr/sbin): run scripts/test, which installs it (apt-get install nats-server)"
    );
}

/// Reads the server's log until it is ready, and returns the port it listens on; the rest of the
/// log is kept in `log` by a task of its own (which also keeps the pipe from filling up).
async fn wait_until_ready(stderr: ChildStderr, log: Arc<Mutex<String>>, asked: u16) -> u16 {
    let mut lines = BufReader::new(stderr).lines();
    let mut port = (asked != 0).then_some(asked);
    let ready = tokio::time::timeout(READY_WITHIN, async {
        while let Some(line) = lines.next_line().await.expect("read nats-server's log") {
            log.lock().unwrap().push_str(&format!("{line}\n"));
            if let Some((_, address)) = line.split_once("Listening for client connections on ") {
                port = address
                    .trim()
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok());
            }
            if line.contains("Server is ready") {
                return true;
            }
        }
        false
    })
    .await;
    let text = log.lock().unwrap().clone();
    match ready {
        Ok(true) => {}
        Ok(false) => panic!("nats-server exited before it was ready:\n{text}"),
        Err(_) => panic!("nats-server not ready within {READY_WITHIN:?}:\n{text}"),
    }
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            log.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
    port.unwrap_or_else(|| panic!("no client port in nats-server's log:\n{text}"))
}

/// The test client's TLS: trusts `ca`, presents `cert` and `key`, with iflowd's crypto provider.
fn client_tls(ca: &Path, cert: &Path, key: &Path) -> async_nats::rustls::ClientConfig {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = async_nats::rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let chain = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    async_nats::rustls::ClientConfig::builder_with_provider(iflowd::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, PrivateKeyDer::from_pem_file(key).unwrap())
        .unwrap()
}
