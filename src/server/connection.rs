//! The connections being served: each on a task of its own, closed when it is idle too long,
//! asked to finish at shutdown, and cut off when the shutdown timeout is over.
//!
//! A connection is *busy* while one of its requests is being answered or its body drained, and
//! idle otherwise. An idle connection is closed after `header_read_timeout_ms`: from its accept
//! (on TLS, from the end of the handshake, which has its own bound) until its first request's
//! headers are in, and from the end of each answer until the next request's. hyper bounds the
//! header read of HTTP/1.1 only once the first byte has come and has no idle bound for HTTP/2,
//! so without this a connection that sends nothing would be kept for ever.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::rt::{Read, Write};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::task::JoinSet;

use super::drain::DrainLimits;
use super::listener::{TlsSettings, handshake};
use super::service::ConnectionService;
use crate::config::Limits;
use crate::http::ConnectionInfo;

/// How many requests of one connection are in progress (answers being made, bodies being
/// drained), watched by its idle timer.
#[derive(Clone)]
pub(super) struct Activity(Arc<watch::Sender<usize>>);

/// One unit of a connection's work; the connection is idle when none is left.
pub(super) struct Busy(Arc<watch::Sender<usize>>);

impl Activity {
    fn new() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }

    pub(super) fn busy(&self) -> Busy {
        self.0.send_modify(|n| *n += 1);
        Busy(Arc::clone(&self.0))
    }

    /// Completes once the connection has been idle for `timeout` without a break.
    async fn idle_for(&self, timeout: Duration) {
        let mut work = self.0.subscribe();
        loop {
            // The sender lives in `self`, so neither wait can fail.
            let _ = work.wait_for(|n| *n == 0).await;
            tokio::select! {
                () = tokio::time::sleep(timeout) => return,
                _ = work.changed() => {}
            }
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// What every connection is served with.
#[derive(Clone)]
struct Setup {
    router: TowerToHyperService<Router>,
    builder: auto::Builder<TokioExecutor>,
    idle_timeout: Duration,
    drain: DrainLimits,
    stop: watch::Receiver<bool>,
}

/// The connections' tasks, and the signal that asks them to finish.
pub(super) struct Connections {
    setup: Setup,
    tasks: JoinSet<()>,
    stop: watch::Sender<bool>,
}

impl Connections {
    pub(super) fn new(router: Router, limits: &Limits) -> Self {
        let idle_timeout = Duration::from_millis(limits.header_read_timeout_ms);
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(idle_timeout);
        builder.http2().timer(TokioTimer::new());
        let (stop, stopped) = watch::channel(false);
        let setup = Setup {
            router: TowerToHyperService::new(router),
            builder,
            idle_timeout,
            drain: DrainLimits {
                max_bytes: limits.drain_max_bytes,
                timeout: Duration::from_millis(limits.drain_timeout_ms),
            },
            stop: stopped,
        };
        Self {
            setup,
            tasks: JoinSet::new(),
            stop,
        }
    }

    /// Serves `stream` on a task of its own, which holds `place` until the connection ends.
    pub(super) fn start(
        &mut self,
        stream: TcpStream,
        peer: SocketAddr,
        tls: Option<TlsSettings>,
        place: OwnedSemaphorePermit,
    ) {
        let setup = self.setup.clone();
        self.tasks.spawn(async move {
            let _place = place;
            let _ = stream.set_nodelay(true);
            let info = ConnectionInfo {
                peer: Some(peer),
                local: stream.local_addr().ok(),
                ..ConnectionInfo::default()
            };
            match tls {
                None => setup.serve(TokioIo::new(stream), info).await,
                Some(tls) => {
                    let Some((stream, client_certificate)) = handshake(&tls, stream, peer).await
                    else {
                        return;
                    };
                    let info = ConnectionInfo {
                        secure: true,
                        client_certificate,
                        ..info
                    };
                    setup.serve(TokioIo::new(stream), info).await;
                }
            }
        });
    }

    /// Takes the result of a connection's task that has ended; never completes while there are
    /// none (so it can sit in the accept loop's `select!`).
    pub(super) async fn reap(&mut self) {
        match self.tasks.join_next().await {
            Some(Err(error)) if error.is_panic() => {
                tracing::error!(%error, "a connection's task panicked");
            }
            Some(_) => {}
            None => std::future::pending().await,
        }
    }

    /// Asks every connection to finish (HTTP/1.1 closes once its answer is out, HTTP/2 sends
    /// GOAWAY), waits up to `timeout` for them, and cuts off the rest.
    pub(super) async fn shut_down(mut self, timeout: Duration) {
        self.stop.send_replace(true);
        let tasks = &mut self.tasks;
        let all_ended = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(timeout, all_ended).await.is_ok() {
            tracing::info!("stopped");
        } else {
            tracing::warn!(
                timeout_ms = timeout.as_millis(),
                "requests still in flight at the end of the shutdown timeout were cut off"
            );
            self.tasks.shutdown().await;
        }
    }
}

impl Setup {
    /// Serves one connection until it ends, is idle too long, or is asked to finish.
    async fn serve<I>(&self, io: I, info: ConnectionInfo)
    where
        I: Read + Write + Unpin + Send + 'static,
    {
        let peer = info.peer;
        let activity = Activity::new();
        let service = ConnectionService {
            router: self.router.clone(),
            info,
            activity: activity.clone(),
            drain: self.drain,
        };
        let connection = self.builder.serve_connection_with_upgrades(io, service);
        tokio::pin!(connection);
        let idle = activity.idle_for(self.idle_timeout);
        tokio::pin!(idle);
        let mut stop = self.stop.clone();
        let mut stopping = false;
        loop {
            tokio::select! {
                ended = connection.as_mut() => {
                    if let Err(error) = ended {
                        tracing::debug!(?peer, %error, "connection ended with an error");
                    }
                    return;
                }
                () = &mut idle => {
                    tracing::debug!(?peer, "closed a connection that sent no request in time");
                    return;
                }
                _ = stop.wait_for(|stop| *stop), if !stopping => {
                    stopping = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
