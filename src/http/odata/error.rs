//! OData v2 error bodies: `{"error": {"code": ..., "message": {"lang": "en", "value": ...}}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error of the monitoring API, with its status code.
#[derive(Debug)]
pub struct ODataError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// The `Allow` header of a 405.
    allow: Option<&'static str>,
}

impl ODataError {
    pub fn new(status: StatusCode, code: &'static str, message: String) -> Self {
        Self {
            status,
            code,
            message,
            allow: None,
        }
    }

    /// A 405 says which methods are allowed.
    pub fn with_allow(self, allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..self
        }
    }

    /// A query or path that cannot be read; the message names the problem.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", message.into())
    }

    pub fn forbidden(user: &str, role: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!("user '{user}' does not have the role '{role}' this requires"),
        )
    }
}

impl IntoResponse for ODataError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": { "code": self.code, "message": { "lang": "en", "value": self.message } }
        });
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
            body.to_string(),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert("DataServiceVersion", HeaderValue::from_static("1.0"));
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"iflowd\""),
            );
        }
        response
    }
}
