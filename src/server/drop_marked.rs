//! Closing a connection without an answer, for the `close` failure drill.
//!
//! axum handlers cannot drop a connection, so the HTTP layer marks such a response with
//! [`CloseConnection`], and [`DropMarked`] turns the mark into a service error: hyper then closes
//! the connection without writing a byte (HTTP/1.1) or resets the stream (HTTP/2).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

use axum::Router;
use axum::response::Response;
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::service::TowerToHyperService;

use crate::http::CloseConnection;

/// The router as a hyper service that drops the connection when a response says so.
#[derive(Clone)]
pub(super) struct DropMarked(pub(super) TowerToHyperService<Router>);

/// The error that makes hyper close a connection without answering.
#[derive(Debug, thiserror::Error)]
#[error("closed without an answer, as a failure drill asked")]
pub(super) struct ClosedOnPurpose;

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
