//! Putting the router on a socket, and taking it off again gracefully.
//!
//! [`serve`] takes the listener and a shutdown future as parameters (mini-redis style), so tests
//! bind port 0 and stop the server themselves, and `main` passes [`shutdown_signal`].
//!
//! Connections are served by hyper-util's auto (HTTP/1.1 and h2c) builder rather than
//! `axum::serve`, because it exposes the header-read timeout that keeps a slow client from
//! holding a connection open forever (the body-read timeout is in [`crate::http`]).
//!
//! A failure drill may ask for the connection to be closed without an answer. axum handlers
//! cannot do that, so the HTTP layer marks such a response with [`CloseConnection`], and
//! [`DropMarked`] here turns the mark into a service error: hyper then closes the connection
//! without writing a byte (HTTP/1.1) or resets the stream (HTTP/2).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::Router;
use axum::response::Response;
use hyper::Request;
use hyper::body::Incoming;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::app::App;
use crate::http::{CloseConnection, router};

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets requests in
/// flight finish for up to `limits.shutdown_timeout_ms`, and returns.
pub async fn serve(
    listener: TcpListener,
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
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                // Out of file descriptors and the like: say so, and give the system a moment
                // instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service.clone())
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);

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

/// The router as a hyper service that drops the connection when a response says so.
#[derive(Clone)]
struct DropMarked(TowerToHyperService<Router>);

/// The error that makes hyper close a connection without answering.
#[derive(Debug, thiserror::Error)]
#[error("closed without an answer, as a failure drill asked")]
struct ClosedOnPurpose;

impl hyper::service::Service<Request<Incoming>> for DropMarked {
    type Response = Response;
    type Error = ClosedOnPurpose;
    type Future = Pin<Box<dyn Future<Output = Result<Response, ClosedOnPurpose>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let answer = self.0.call(request);
        Box::pin(async move {
            let response = answer
                .await
                .unwrap_or_else(|never: Infallible| match never {});
            if response.extensions().get::<CloseConnection>().is_some() {
                Err(ClosedOnPurpose)
            } else {
                Ok(response)
            }
        })
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
