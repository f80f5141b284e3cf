//! Who asks for a token: the client's id and secret (Basic header or form body), or, without a
//! secret, the TLS client certificate of the connection (CPI's `client_x509`).

use std::collections::HashMap;

use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::OAuthError;
use crate::app::App;
use crate::audit::FailedLogin;
use crate::auth::{AuthError, ClientCertificate, OAuthClient, parse_basic};
use crate::http::ConnectionInfo;
use crate::http::origin::client_address;

/// The client of a token request, or the refusal to answer. Refused credentials (not a request
/// without any, nor one that could not be read) are recorded in the audit log first.
pub(super) async fn client(
    app: &App,
    parts: &Parts,
    form: &HashMap<String, String>,
) -> Result<OAuthClient, OAuthError> {
    let refusal = match identify(app, parts, form).await {
        Ok(client) => return Ok(client),
        Err(refusal) => refusal,
    };
    if let Some(named) = &refusal.audited {
        let source = parts
            .extensions
            .get::<ConnectionInfo>()
            .and_then(|c| client_address(app.proxy(), &parts.headers, c));
        app.audit()
            .login_failed(FailedLogin {
                user: named.as_deref(),
                object: parts.uri.path(),
                source,
                reason: &refusal.error.description,
            })
            .await;
    }
    Err(refusal.error)
}

/// A refused client authentication: the answer, and, when credentials were presented, the name
/// they gave (`Some(None)`: none) for the audit log.
struct Refusal {
    error: OAuthError,
    audited: Option<Option<String>>,
}

impl From<OAuthError> for Refusal {
    /// A request that could not be read: nothing to record.
    fn from(error: OAuthError) -> Self {
        Self {
            error,
            audited: None,
        }
    }
}

/// The client of a token request: by its secret when it sent one, else by the TLS client
/// certificate of the connection.
async fn identify(
    app: &App,
    parts: &Parts,
    form: &HashMap<String, String>,
) -> Result<OAuthClient, Refusal> {
    let certificate = parts
        .extensions
        .get::<ConnectionInfo>()
        .and_then(|c| c.client_certificate.as_deref());
    match Credentials::of(&parts.headers, form) {
        Ok(Presented::Secret(credentials)) => {
            authenticate(app, &credentials)
                .await
                .map_err(|error| Refusal {
                    error,
                    audited: Some(Some(credentials.id.clone())),
                })
        }
        Ok(Presented::Id(id)) => match certificate {
            Some(certificate) => by_certificate(app, certificate, id.as_deref()),
            None => Err(Refusal::from(match id {
                Some(_) => OAuthError::invalid_client(
                    "client_secret is missing; send it, or present the client's certificate over TLS (client_x509)",
                    false,
                ),
                None => OAuthError::invalid_client(
                    "client authentication required: send the client id and secret in an Authorization: Basic header or as client_id and client_secret in the body, or present a client certificate over TLS",
                    true,
                ),
            })),
        },
        Err(error) => Err(Refusal {
            audited: error.challenge.then_some(None),
            error,
        }),
    }
}

/// The client a verified certificate authenticates (`id`: the one the request names).
fn by_certificate(
    app: &App,
    certificate: &ClientCertificate,
    id: Option<&str>,
) -> Result<OAuthClient, Refusal> {
    app.auth()
        .certificate_client(certificate, id)
        .map_err(|refused| Refusal {
            error: OAuthError::invalid_client(refused.to_string(), false),
            audited: Some(id.map(str::to_owned)),
        })
}

/// How a token request authenticates its client: a secret, or (without one) a client id or
/// nothing, for a client certificate to settle.
enum Presented {
    Secret(Credentials),
    Id(Option<String>),
}

/// The client's id and secret, and whether they came in the Basic header (then a refusal
/// carries a `WWW-Authenticate` challenge).
struct Credentials {
    id: String,
    secret: String,
    from_header: bool,
}

impl Credentials {
    /// Client authentication: the Basic header, the form body, or both when they agree.
    fn of(headers: &HeaderMap, form: &HashMap<String, String>) -> Result<Presented, OAuthError> {
        let header_credentials = match headers.get(header::AUTHORIZATION) {
            None => None,
            Some(value) => Some(parse_basic(value).map_err(|e| {
                let reason = match e {
                    AuthError::UnsupportedScheme => {
                        "client authentication at the token endpoint uses the Basic scheme"
                            .to_owned()
                    }
                    other => other.to_string(),
                };
                OAuthError::invalid_client(reason, true)
            })?),
        };
        let body_credentials = match (form.get("client_id"), form.get("client_secret")) {
            (Some(id), Some(secret)) => Some((id.clone(), secret.clone())),
            (None, None) => None,
            (Some(id), None) => match &header_credentials {
                None => return Ok(Presented::Id(Some(id.clone()))),
                Some((header_id, _)) if header_id != id => {
                    return Err(OAuthError::invalid_request(
                        "the Authorization header and the body's client_id name different clients",
                    ));
                }
                Some(_) => None,
            },
            (None, Some(_)) => return Err(OAuthError::invalid_request("client_id is missing")),
        };
        let from_header = header_credentials.is_some();
        let (id, secret) = match (header_credentials, body_credentials) {
            (Some(h), Some(b)) if h != b => {
                return Err(OAuthError::invalid_request(
                    "client credentials are in both the Authorization header and the body, and they differ",
                ));
            }
            (Some(credentials), _) | (None, Some(credentials)) => credentials,
            (None, None) => return Ok(Presented::Id(None)),
        };
        Ok(Presented::Secret(Self {
            id,
            secret,
            from_header,
        }))
    }
}

/// The client the credentials name, if the secret is right.
async fn authenticate(app: &App, credentials: &Credentials) -> Result<OAuthClient, OAuthError> {
    let Credentials {
        id,
        secret,
        from_header,
    } = credentials;
    let mut client = app.auth().authenticate_client(id, secret).await;
    if client.is_err() && *from_header {
        // RFC 6749 §2.3.1 has clients form-encode id and secret before the Basic encoding; most
        // do not. Try the decoded form too when it differs.
        let decode = |s: &str| -> String {
            form_urlencoded::parse(format!("v={}", s.replace('&', "%26")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let (decoded_id, decoded_secret) = (decode(id), decode(secret));
        if decoded_id != *id || decoded_secret != *secret {
            client = app
                .auth()
                .authenticate_client(&decoded_id, &decoded_secret)
                .await;
        }
    }
    client.map_err(|_| OAuthError::invalid_client("wrong client id or secret", *from_header))
}
