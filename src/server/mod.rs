//! Putting the router on sockets, and taking it off again gracefully.
//!
//! [`serve`] takes the listener and a shutdown future as parameters (mini-redis style), so tests
//! bind port 0 and stop the server themselves, and `main` passes [`shutdown_signal`].
//! [`serve_listeners`] does the same for several listeners at once, each plain HTTP or TLS
//! ([`Listener`]), sharing one graceful shutdown.
//!
//! Connections are served by hyper-util's auto (HTTP/1.1 and h2) builder rather than
//! `axum::serve`, because it exposes the header-read timeout that keeps a slow client from
//! holding a connection open forever (the body-read timeout is in [`crate::http`]). A TLS
//! handshake gets its own bound, `[tls] handshake_timeout_ms`, and runs on the connection's own
//! task, so a slow handshake never holds up the accept loop.
//!
//! Every request carries a [`ConnectionInfo`] extension saying whether it came over TLS and with
//! which verified client certificate, parsed once per connection; that is how the certificate
//! reaches authentication and the WSDL learns to say `https://`.
//!
//! A failure drill may ask for the connection to be closed without an answer; [`DropMarked`]
//! (in `drop_marked.rs`) wraps the router for that.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::app::App;
use crate::auth::ClientCertificate;
use crate::http::{ConnectionInfo, router};

mod drop_marked;
use drop_marked::DropMarked;

/// A bound socket and how its connections are spoken to.
pub struct Listener {
    tcp: TcpListener,
    tls: Option<TlsSettings>,
}

#[derive(Clone)]
struct TlsSettings {
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
}

impl Listener {
    /// Plain HTTP (HTTP/1.1 and h2c).
    pub fn plain(tcp: TcpListener) -> Self {
        Self { tcp, tls: None }
    }

    /// HTTPS with `config` (see [`crate::tls::server_config`]); a client that has not finished
    /// the handshake within `handshake_timeout` is disconnected.
    pub fn tls(
        tcp: TcpListener,
        config: Arc<rustls::ServerConfig>,
        handshake_timeout: Duration,
    ) -> Self {
        Self {
            tcp,
            tls: Some(TlsSettings {
                acceptor: TlsAcceptor::from(config),
                handshake_timeout,
            }),
        }
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// Serves `app` over plain HTTP on `listener` until `shutdown` completes (see
/// [`serve_listeners`]).
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_listeners(vec![Listener::plain(listener)], app, shutdown).await
}

/// Serves `app` on every listener until `shutdown` completes, then stops accepting, lets requests
/// in flight finish for up to `limits.shutdown_timeout_ms`, and returns.
pub async fn serve_listeners(
    listeners: Vec<Listener>,
    app: App,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = app.limits().clone();
    let service = DropMarked(TowerToHyperService::new(router(app)));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms));
    builder.http2().timer(TokioTimer::new());

    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (index, accepted) = tokio::select! {
            accepted = poll_fn(|cx| poll_accept_any(&listeners, cx)) => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: say so, and give the system a moment
                // instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        match &listeners[index].tls {
            None => {
                let service = WithConnection {
                    inner: service.clone(),
                    info: ConnectionInfo::default(),
                };
                let connection = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
            Some(tls) => {
                // The watcher keeps the shutdown waiting for this connection from the start,
                // handshake included (which is bounded, so that wait is too).
                let watcher = graceful.watcher();
                let (tls, builder, service) = (tls.clone(), builder.clone(), service.clone());
                tokio::spawn(async move {
                    let Some((stream, info)) = handshake(&tls, stream, peer).await else {
                        return;
                    };
                    let service = WithConnection {
                        inner: service,
                        info,
                    };
                    let connection = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .into_owned();
                    if let Err(error) = watcher.watch(connection).await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
        }
    }
    drop(listeners);

    let timeout = Duration::from_millis(limits.shutdown_timeout_ms);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("stopped"),
        () = tokio::time::sleep(timeout) => tracing::warn!(
            timeout_ms = limits.shutdown_timeout_ms,
            "requests still in flight at the end of the shutdown timeout were cut off"
        ),
    }
    Ok(())
}

/// The first listener with a connection waiting.
fn poll_accept_any(
    listeners: &[Listener],
    cx: &mut Context<'_>,
) -> Poll<(usize, std::io::Result<(TcpStream, SocketAddr)>)> {
    for (index, listener) in listeners.iter().enumerate() {
        if let Poll::Ready(accepted) = listener.tcp.poll_accept(cx) {
            return Poll::Ready((index, accepted));
        }
    }
    Poll::Pending
}

/// Runs the TLS handshake within its time bound and reads the verified client certificate.
async fn handshake(
    tls: &TlsSettings,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<(tokio_rustls::server::TlsStream<TcpStream>, ConnectionInfo)> {
    let stream =
        match tokio::time::timeout(tls.handshake_timeout, tls.acceptor.accept(stream)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "TLS handshake failed");
                return None;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return None;
            }
        };
    let client_certificate = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|leaf| ClientCertificate::from_der(leaf))
        .map(Arc::new);
    let info = ConnectionInfo {
        secure: true,
        client_certificate,
    };
    Some((stream, info))
}

/// The router, with the connection's [`ConnectionInfo`] put into every request.
#[derive(Clone)]
struct WithConnection<S> {
    inner: S,
    info: ConnectionInfo,
}

impl<S, B> hyper::service::Service<http::Request<B>> for WithConnection<S>
where
    S: hyper::service::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, mut request: http::Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.info.clone());
        self.inner.call(request)
    }
}

/// Completes on Ctrl-C or SIGTERM (what `docker stop` and Kubernetes send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
