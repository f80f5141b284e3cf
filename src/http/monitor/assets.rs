//! The monitor's stylesheet and script, compiled into the binary: no build step, no files to
//! deploy, and nothing inline for the Content-Security-Policy to allow.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("assets/monitor.css");
const JS: &str = include_str!("assets/monitor.js");

/// `GET /monitor/assets/<file>`. Public: the login page needs the stylesheet.
pub async fn serve(Path(file): Path<String>) -> Response {
    let (content_type, text) = match file.as_str() {
        "monitor.css" => ("text/css; charset=utf-8", CSS),
        "monitor.js" => ("text/javascript; charset=utf-8", JS),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            // A new iflowd may bring new files under the same names: a short cache only.
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        text,
    )
        .into_response()
}
