//! The router as each connection's hyper service.
//!
//! For every request it puts the connection's [`ConnectionInfo`] into the extensions (the only
//! way a client certificate or a peer address reaches the HTTP layer: no header can claim one),
//! counts the request as the connection's work for the idle timeout, wraps the body so that an
//! unread rest is drained ([`Drained`]), and carries out the `close` failure drill: axum handlers
//! cannot drop a connection, so the HTTP layer marks such a response with [`CloseConnection`]
//! and this service turns the mark into an error, on which hyper closes the connection without
//! writing a byte (HTTP/1.1) or resets the stream (HTTP/2).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

use axum::Router;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::{Request, Version, header};
use hyper_util::service::TowerToHyperService;

use super::connection::Activity;
use super::drain::{DrainLimits, Drained};
use crate::http::{CloseConnection, ConnectionInfo};

#[derive(Clone)]
pub(super) struct ConnectionService {
    pub(super) router: TowerToHyperService<Router>,
    pub(super) info: ConnectionInfo,
    pub(super) activity: Activity,
    pub(super) drain: DrainLimits,
}

/// The error that makes hyper close a connection without answering.
#[derive(Debug, thiserror::Error)]
#[error("closed without an answer, as a failure drill asked")]
pub(super) struct ClosedOnPurpose;

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response;
    type Error = ClosedOnPurpose;
    type Future = Pin<Box<dyn Future<Output = Result<Response, ClosedOnPurpose>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let busy = self.activity.busy();
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(self.info.clone());
        let expects = parts.version <= Version::HTTP_11
            && parts
                .headers
                .get(header::EXPECT)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let body = Drained::new(body, self.drain, self.activity.busy(), expects);
        let answer = self.router.call(Request::from_parts(parts, body));
        Box::pin(async move {
            let response = answer
                .await
                .unwrap_or_else(|never: Infallible| match never {});
            drop(busy);
            if response.extensions().get::<CloseConnection>().is_some() {
                Err(ClosedOnPurpose)
            } else {
                Ok(response)
            }
        })
    }
}
