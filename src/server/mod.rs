//! Putting the router on sockets, and taking it off again gracefully.
//!
//! [`serve`] takes the listener and a shutdown future as parameters (mini-redis style), so tests
//! bind port 0 and stop the server themselves, and `main` passes [`shutdown_signal`].
//! [`serve_listeners`] does the same for several listeners at once, each plain HTTP or TLS
//! ([`Listener`], in `listener.rs`), sharing one graceful shutdown.
//!
//! Every step a client could stall is bounded:
//!
//! * at most `max_connections` connections at once; further ones wait in the listen backlog
//!   (`accept.rs`), and a failing `accept` (out of file descriptors) pauses the loop instead of
//!   spinning it;
//! * a TLS handshake within `[tls] handshake_timeout_ms`, on the connection's own task, so it
//!   never holds up the accept loop;
//! * a connection without a request in progress is closed after `header_read_timeout_ms`,
//!   counted from its accept (or handshake) and from the end of each answer (`connection.rs`);
//! * the body within `body_read_timeout_ms` and `max_body_bytes` (in [`crate::http`]), and an
//!   unread rest drained within `drain_timeout_ms` and `drain_max_bytes` (`drain.rs`), so that an
//!   early answer reaches a client that writes its whole body first;
//! * a shutdown within `shutdown_timeout_ms`.
//!
//! Connections are served by hyper-util's auto (HTTP/1.1 and h2) builder rather than
//! `axum::serve`, which exposes none of these. Every request carries a [`ConnectionInfo`]
//! extension (TLS or not, the verified client certificate parsed once per connection, the peer
//! and local addresses), put there by `service.rs`, which also carries out the `close` drill.

mod accept;
mod connection;
mod drain;
mod listener;
mod service;

use std::future::{Future, poll_fn};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::OwnedSemaphorePermit;

use crate::app::App;
use crate::audit::AuditEvent;
#[cfg(doc)]
use crate::http::ConnectionInfo;
use crate::http::router;
use accept::{AcceptErrors, Admission};
use connection::Connections;
pub use listener::Listener;
use listener::{Accepted, poll_accept_any};

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
/// in flight and the delivery queue's running attempts finish for up to
/// `limits.shutdown_timeout_ms`, and returns. The audit log records the start (before the first
/// accept) and the stop (after the last connection).
pub async fn serve_listeners(
    listeners: Vec<Listener>,
    app: App,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = app.limits().clone();
    let audit = app.audit().clone();
    let addresses: Vec<_> = listeners
        .iter()
        .filter_map(|l| Some((l.local_addr().ok()?, l.is_tls())))
        .collect();
    audit.record(AuditEvent::started(&addresses)).await;
    let queue = app.clone();
    let mut connections = Connections::new(router(app), &limits);
    let mut admission = Admission::new(limits.max_connections);
    let mut errors = AcceptErrors::default();
    // A place under the cap, taken before accepting, so that at the cap nothing is accepted.
    let mut place: Option<OwnedSemaphorePermit> = None;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            () = connections.reap() => {}
            taken = admission.place(), if place.is_none() => place = Some(taken),
            accepted = poll_fn(|cx| poll_accept_any(&listeners, cx)), if place.is_some() => {
                let Some(pause) = take(accepted, &listeners, &mut connections, &mut place, &mut errors)
                else {
                    continue;
                };
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = &mut shutdown => break,
                }
            }
        }
    }
    drop(listeners);
    let timeout = Duration::from_millis(limits.shutdown_timeout_ms);
    // Requests in flight and the delivery queue's running attempts share the time.
    tokio::join!(
        connections.shut_down(timeout),
        queue.shut_down_queue(timeout)
    );
    audit.record(AuditEvent::stopped()).await;
    Ok(())
}

/// Hands an accepted connection its place and its task; or, when accepting failed, says how long
/// to pause.
fn take(
    (index, accepted): Accepted,
    listeners: &[Listener],
    connections: &mut Connections,
    place: &mut Option<OwnedSemaphorePermit>,
    errors: &mut AcceptErrors,
) -> Option<Duration> {
    match accepted {
        Ok((stream, peer)) => {
            errors.succeeded();
            if let Some(place) = place.take() {
                let tls = listeners[index].tls_settings().cloned();
                connections.start(stream, peer, tls, place);
            }
            None
        }
        Err(error) => errors.failed(&error),
    }
}

/// Completes on Ctrl-C or SIGTERM (what `docker stop` and Kubernetes send).
///
/// The handlers are installed when this is called, not when the future is first polled: `serve`
/// calls it before it prints its banner, so a SIGTERM sent as soon as the banner is read is a
/// clean stop, not the default action that kills the process. Call it on the runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let stopped = {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        async fn received(signal: std::io::Result<Signal>) {
            match signal {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        }
        let interrupt = received(signal(SignalKind::interrupt()));
        let terminate = received(signal(SignalKind::terminate()));
        async move {
            tokio::select! {
                () = interrupt => {},
                () = terminate => {},
            }
        }
    };
    #[cfg(not(unix))]
    let stopped = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    async move {
        stopped.await;
        tracing::info!("shutting down");
    }
}
