//! The OAuth 2.0 token endpoint (RFC 6749 §4.4, client credentials), as XSUAA answers CPI's
//! callers and as SuccessFactors' ISC Event Connector calls it.
//!
//! ISC sends the client id and secret in an `Authorization: Basic` header at run time
//! (`client_secret_basic`) but in the form body when the connection is validated on saving
//! (`client_secret_post`), so both are accepted; when both are present they must agree.
//! Without a secret, a client certificate verified during the TLS handshake authenticates the
//! client whose `certificate_subject` it has (CPI's `client_x509`, RFC 8705's mutual-TLS client
//! authentication); a `client_id` sent with it must name that client. `grant_type` and `scope`
//! may come in the form body or the query string. Answers are the JSON of RFC 6749 §5.1, errors
//! those of §5.2, never cached. Refused client credentials are recorded in the audit log.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

mod client;

use super::body::{self, BodyError};
use crate::app::App;
use crate::auth::{OAuthClient, TokenService};
use crate::excerpt::Excerpt;
use client::client;

/// A token request is a few parameters; anything longer is not one.
const MAX_FORM_BYTES: usize = 8 * 1024;

/// An RFC 6749 §5.2 error. `challenge` is set when the client tried the Basic header, which then
/// gets `WWW-Authenticate` back with the 401.
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    challenge: bool,
}

impl OAuthError {
    fn invalid_request(description: impl Into<String>) -> Self {
        Self::bad_request("invalid_request", description)
    }

    fn bad_request(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            challenge: false,
        }
    }

    fn invalid_client(description: impl Into<String>, challenge: bool) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
            challenge,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body =
            serde_json::json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, no_store(), axum::Json(body)).into_response();
        if self.challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"iflowd\""),
            );
        }
        response
    }
}

fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ]
}

/// `POST <oauth.token_path>`.
pub async fn token(State(app): State<App>, request: Request) -> Response {
    match issue(&app, request).await {
        Ok(response) => response,
        Err(error) => {
            tracing::info!(error = error.error, reason = %error.description, "token request refused");
            error.into_response()
        }
    }
}

async fn issue(app: &App, request: Request) -> Result<Response, OAuthError> {
    let (parts, body) = request.into_parts();
    let params = Parameters::read(app, &parts, body).await?;
    match params.get("grant_type")? {
        None => return Err(OAuthError::invalid_request("grant_type is missing")),
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                format!(
                    "grant_type '{}' is not supported; use client_credentials",
                    Excerpt(other)
                ),
            ));
        }
    }
    let client = client(app, &parts, &params.form).await?;
    let tokens = app
        .auth()
        .tokens()
        .ok_or_else(|| OAuthError::invalid_client("no OAuth clients are configured", false))?;
    let scopes = scopes(params.get("scope")?, &client, tokens)?;
    let issued = tokens
        .issue(&client.id, scopes, client.token_lifetime_s)
        .map_err(|error| {
            tracing::error!(%error, "token not issued");
            OAuthError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                error: "server_error",
                description: "the token could not be issued".to_owned(),
                challenge: false,
            }
        })?;
    tracing::info!(client = %client.id, jti = %issued.jti, expires_in = issued.expires_in, "token issued");
    let body = serde_json::json!({
        "access_token": issued.access_token,
        "token_type": "bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scopes.join(" "),
        "jti": issued.jti,
    });
    Ok((StatusCode::OK, no_store(), axum::Json(body)).into_response())
}

/// A token request's parameters: the form body's and the query string's.
struct Parameters {
    form: HashMap<String, String>,
    query: HashMap<String, String>,
}

impl Parameters {
    /// Reads the query string and the body (within [`MAX_FORM_BYTES`] and the body time limit),
    /// which must be a form when it is not empty.
    async fn read(app: &App, parts: &Parts, body: Body) -> Result<Self, OAuthError> {
        let query = parameters(parts.uri.query().unwrap_or("").as_bytes(), "query string")?;
        let timeout = Duration::from_millis(app.limits().body_read_timeout_ms);
        let body = body::read(body, MAX_FORM_BYTES, timeout)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge => OAuthError::invalid_request(format!(
                    "the request body is larger than {MAX_FORM_BYTES} bytes"
                )),
                BodyError::TimedOut => {
                    OAuthError::invalid_request("the request body did not arrive in time")
                }
                BodyError::Broken | BodyError::Undecodable => {
                    OAuthError::invalid_request("the request body could not be read")
                }
            })?;
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let is_form = content_type.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
        if !body.is_empty() && !is_form {
            return Err(OAuthError::invalid_request(
                "send the parameters as application/x-www-form-urlencoded",
            ));
        }
        let form = parameters(&body, "body")?;
        Ok(Self { form, query })
    }

    /// A parameter from the body or the query string; both may give it only when they agree.
    fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        match (self.form.get(name), self.query.get(name)) {
            (Some(a), Some(b)) if a != b => Err(OAuthError::invalid_request(format!(
                "{name} is given in both the body and the query string, with different values"
            ))),
            (Some(value), _) | (None, Some(value)) => Ok(Some(value.as_str())),
            (None, None) => Ok(None),
        }
    }
}

/// The scopes to grant: all of the client's roles as scopes, or those `requested` (each must be
/// one of them).
fn scopes(
    requested: Option<&str>,
    client: &OAuthClient,
    tokens: &TokenService,
) -> Result<Vec<String>, OAuthError> {
    let granted: Vec<String> = {
        let mut roles: Vec<&String> = client.roles.iter().collect();
        roles.sort();
        roles.into_iter().map(|r| tokens.scope_of(r)).collect()
    };
    let requested = match requested {
        Some(requested) if !requested.trim().is_empty() => requested,
        _ => return Ok(granted),
    };
    let mut scopes = Vec::new();
    for scope in requested.split_whitespace() {
        if !granted.iter().any(|g| g == scope) {
            return Err(OAuthError::bad_request(
                "invalid_scope",
                format!(
                    "scope '{}' is not granted to client '{}' (it may request: {})",
                    Excerpt(scope),
                    client.id,
                    granted.join(" ")
                ),
            ));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

/// The `application/x-www-form-urlencoded` pairs of `bytes`; a parameter given twice is an
/// error (RFC 6749 §3.2).
fn parameters(bytes: &[u8], place: &str) -> Result<HashMap<String, String>, OAuthError> {
    let mut map = HashMap::new();
    for (name, value) in form_urlencoded::parse(bytes) {
        if map.insert(name.to_string(), value.into_owned()).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter '{}' appears more than once in the {place}",
                Excerpt(&name)
            )));
        }
    }
    Ok(map)
}
