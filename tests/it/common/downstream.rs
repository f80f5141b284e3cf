//! A real HTTP server standing in for the system `forward` posts to: it records every request
//! into a channel and answers from a script.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};

/// One answer of the script.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    /// This status with a `Retry-After` header of this value.
    RetryAfter(u16, &'static str),
    /// This status with a `Retry-After` date this many seconds ahead of the reply (by
    /// `iflowd::clock`, which follows tokio's paused clock).
    RetryAfterDate(u16, u64),
    /// Never answers.
    Hang,
    /// Waits until the test opens the gate ([`Downstream::open_gate`]), then answers this status.
    Gated(u16),
}

/// A request as the downstream saw it.
#[derive(Debug)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

pub struct Downstream {
    pub address: SocketAddr,
    pub seen: mpsc::UnboundedReceiver<Seen>,
    gate: Arc<Semaphore>,
}

#[derive(Clone)]
struct Shared {
    script: Arc<Mutex<VecDeque<Reply>>>,
    seen: mpsc::UnboundedSender<Seen>,
    /// Closed until the test opens it: a permit per [`Reply::Gated`] answer let through.
    gate: Arc<Semaphore>,
}

impl Downstream {
    /// Answers with `script` in order, then 200 to everything.
    pub async fn spawn(script: &[Reply]) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let gate = Arc::new(Semaphore::new(0));
        let shared = Shared {
            script: Arc::new(Mutex::new(script.iter().cloned().collect())),
            seen: tx,
            gate: Arc::clone(&gate),
        };
        let router = Router::new().fallback(record).with_state(shared);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let address = listener.local_addr().expect("local address");
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            address,
            seen: rx,
            gate,
        }
    }

    /// Lets `count` held [`Reply::Gated`] answers (now or later) go out.
    pub fn open_gate(&self, count: usize) {
        self.gate.add_permits(count);
    }

    /// The next request, within a bound.
    pub async fn next(&mut self) -> Seen {
        tokio::time::timeout(std::time::Duration::from_secs(60), self.seen.recv())
            .await
            .expect("a request reaches the downstream")
            .expect("the downstream runs")
    }

    /// A URL on this server; IP literal, so no name lookup runs off the test's runtime.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Every request received so far, without waiting.
    pub fn received(&mut self) -> Vec<Seen> {
        let mut all = Vec::new();
        while let Ok(seen) = self.seen.try_recv() {
            all.push(seen);
        }
        all
    }
}

async fn record(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let _ = shared.seen.send(Seen {
        path: parts.uri.path().to_owned(),
        headers: parts.headers,
        body,
    });
    let reply = shared.script.lock().unwrap().pop_front();
    match reply {
        None => StatusCode::OK.into_response(),
        Some(Reply::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap();
            (status, format!("downstream says {code}")).into_response()
        }
        Some(Reply::RetryAfter(code, after)) => {
            let status = StatusCode::from_u16(code).unwrap();
            (
                status,
                [("retry-after", after)],
                format!("downstream says {code}"),
            )
                .into_response()
        }
        Some(Reply::RetryAfterDate(code, seconds)) => {
            let at = std::time::SystemTime::from(iflowd::clock::now())
                + std::time::Duration::from_secs(seconds);
            let status = StatusCode::from_u16(code).unwrap();
            let date = httpdate::fmt_http_date(at);
            (status, [("retry-after", date)], "").into_response()
        }
        Some(Reply::Hang) => std::future::pending().await,
        Some(Reply::Gated(code)) => {
            shared
                .gate
                .acquire()
                .await
                .expect("the gate stays")
                .forget();
            let status = StatusCode::from_u16(code).unwrap();
            (status, format!("downstream says {code}")).into_response()
        }
    }
}
