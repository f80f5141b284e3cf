//! Bound sockets, how their connections are spoken to, and the TLS handshake.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::auth::ClientCertificate;

/// A bound socket and how its connections are spoken to.
pub struct Listener {
    tcp: TcpListener,
    tls: Option<TlsSettings>,
}

#[derive(Clone)]
pub(super) struct TlsSettings {
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

    pub(super) fn tls_settings(&self) -> Option<&TlsSettings> {
        self.tls.as_ref()
    }
}

/// A connection accepted on the listener at `index`, or why accepting failed.
pub(super) type Accepted = (usize, std::io::Result<(TcpStream, SocketAddr)>);

/// The first listener with a connection waiting.
pub(super) fn poll_accept_any(listeners: &[Listener], cx: &mut Context<'_>) -> Poll<Accepted> {
    for (index, listener) in listeners.iter().enumerate() {
        if let Poll::Ready(accepted) = listener.tcp.poll_accept(cx) {
            return Poll::Ready((index, accepted));
        }
    }
    Poll::Pending
}

/// Runs the TLS handshake within its time bound and reads the verified client certificate.
pub(super) async fn handshake(
    tls: &TlsSettings,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<(TlsStream<TcpStream>, Option<Arc<ClientCertificate>>)> {
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
    Some((stream, client_certificate))
}
