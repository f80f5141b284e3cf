//! The path the monitor is served under in its users' eyes: empty, or the path of a `[proxy]
//! public_url` (`https://example.com/iflowd` → `/iflowd`) when a proxy adds a prefix and strips
//! it again before iflowd. Every link, form action, redirect and cookie path the monitor writes
//! goes through [`at`]; the prefix is set for the length of each request by [`scope`].

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::App;

tokio::task_local! {
    static PREFIX: Arc<str>;
}

/// `path` (which starts with `/`) as the browser must ask for it.
pub fn at(path: &str) -> String {
    PREFIX
        .try_with(|prefix| format!("{prefix}{path}"))
        .unwrap_or_else(|_| path.to_owned())
}

/// The prefix `app` is configured with, made once when the routes are built (the state of
/// [`scope`]).
pub fn of(app: &App) -> Arc<str> {
    Arc::from(app.proxy().path_prefix())
}

/// Middleware: runs the request's handler with the prefix.
pub async fn scope(State(prefix): State<Arc<str>>, request: Request, next: Next) -> Response {
    PREFIX.scope(prefix, next.run(request)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_path_gets_the_prefix_of_its_request_and_none_outside_one() {
        assert_eq!(at("/monitor/"), "/monitor/");
        let inside = PREFIX.scope(Arc::from("/iflowd"), async { at("/monitor/live?x=1") });
        assert_eq!(inside.await, "/iflowd/monitor/live?x=1");
    }
}
