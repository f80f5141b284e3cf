//! The headers every monitor answer carries.
//!
//! Payloads are attacker-controlled and the monitor shows them, so besides escaping everything
//! (maud does), the browser is told to run nothing that did not come from iflowd's own files:
//! no inline script, no inline style, no plug-ins, no `<base>`, forms only to iflowd, and no
//! framing (against clickjacking). Pages carry message data, so no cache keeps them and no
//! `Referer` takes a message id to another site (`same-origin`: `no-referrer` would also make
//! the browser send `Origin: null` with the monitor's own forms, which the CSRF check refuses).

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// `default-src 'self'` with the rest spelled out: the chart is inline SVG (markup, not a
/// script), its colours come from the stylesheet's classes.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every answer of the monitor (a page, a fragment, a download, a
/// redirect, an error).
pub async fn secure(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // A download sets a stricter policy of its own.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    let set = [
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ];
    for (name, value) in set {
        headers.insert(name, value);
    }
    // The assets may be cached; everything else shows messages and must not be.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
