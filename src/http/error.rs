//! JSON errors for everything that happens before a SOAP envelope is read.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::AuthError;

/// `{"error": {"code": "...", "message": "..."}}` with a status code. The message is a sentence
/// meant for the person sending the request.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"iflowd\""),
            );
        }
        response
    }
}

/// The 401 for a failed authentication, with the challenge that fits what the caller tried: a
/// refused Bearer token gets `Bearer error="invalid_token"` (RFC 6750), Basic credentials get
/// `Basic`, and a caller that sent nothing usable learns every scheme on offer.
pub fn unauthorized(error: &AuthError, bearer_offered: bool) -> Response {
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", error.to_string()).into_response();
    let headers = response.headers_mut();
    headers.remove(header::WWW_AUTHENTICATE);
    if let AuthError::InvalidToken(reason) = error {
        let value = format!(
            "Bearer realm=\"iflowd\", error=\"invalid_token\", error_description=\"{reason}\""
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(header::WWW_AUTHENTICATE, value);
        }
        return response;
    }
    headers.append(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"iflowd\""),
    );
    if bearer_offered && matches!(error, AuthError::Missing | AuthError::UnsupportedScheme) {
        headers.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"iflowd\""),
        );
    }
    response
}
