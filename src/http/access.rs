//! Who may call an endpoint: Basic, Bearer or a client certificate, then the role or the
//! certificate allow-list. Failures become 401 or 403 here.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ConnectionInfo;
use super::error::{ApiError, unauthorized};
use super::origin::client_address;
use crate::app::App;
use crate::audit::FailedLogin;
use crate::auth::{AuthError, Principal, parse_basic};
use crate::endpoint::Endpoint;

/// The caller of `endpoint`, or the 401/403 to answer.
///
/// An endpoint with `client_certificates` accepts exactly the listed subjects (CPI's "Client
/// Certificate" authorization): no certificate is a 401, another subject a 403, and its role is
/// not checked. Any other endpoint wants a principal with its role: from the `Authorization`
/// header when there is one, else from a client certificate mapped to a user.
pub async fn authorize(
    app: &App,
    endpoint: &Endpoint,
    headers: &HeaderMap,
    connection: &ConnectionInfo,
) -> Result<Principal, Response> {
    let certificate = connection.client_certificate.as_deref();
    if !endpoint.client_certificates.is_empty() {
        let Some(certificate) = certificate else {
            let mut response = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                format!(
                    "endpoint '{}' accepts only client certificates; connect over HTTPS with a certificate its allow-list names",
                    endpoint.name
                ),
            )
            .into_response();
            // No password or token would help here, so no challenge invites one.
            response.headers_mut().remove(header::WWW_AUTHENTICATE);
            return Err(response);
        };
        if endpoint.client_certificates.contains(&certificate.subject) {
            return Ok(Principal::certificate(&certificate.subject));
        }
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "the client certificate '{}' is not in the allow-list of endpoint '{}'",
                certificate.subject, endpoint.name
            ),
        )
        .into_response());
    }

    let principal = caller(app, headers, connection, &endpoint.path)
        .await
        .map_err(|error| unauthorized(&error, app.auth().tokens().is_some()))?;
    if !principal.has_role(&endpoint.role) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "user '{}' does not have the role '{}' that endpoint '{}' requires",
                principal.name, endpoint.role, endpoint.name
            ),
        )
        .into_response());
    }
    Ok(principal)
}

/// Who is calling, for resources without a certificate allow-list (endpoints and the monitoring
/// API): the `Authorization` header when there is one, else a client certificate mapped to a
/// user. Credentials that were sent and refused are recorded in the audit log (with the name
/// they gave and `place`, the path they were sent to, never the credential) before the caller
/// learns of it; a request that sent none is not a failed login.
pub async fn caller(
    app: &App,
    headers: &HeaderMap,
    connection: &ConnectionInfo,
    place: &str,
) -> Result<Principal, AuthError> {
    let auth = app.auth();
    let mapped = connection
        .client_certificate
        .as_deref()
        .and_then(|c| auth.certificate_user(c));
    let result = match mapped {
        Some(principal) if !headers.contains_key(header::AUTHORIZATION) => Ok(principal),
        _ => auth.authenticate(headers).await,
    };
    if let Err(error) = &result
        && *error != AuthError::Missing
    {
        let named = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| parse_basic(value).ok())
            .map(|(name, _password)| name);
        let reason = error.to_string();
        app.audit()
            .login_failed(FailedLogin {
                user: named.as_deref(),
                object: place,
                source: client_address(app.proxy(), headers, connection),
                reason: &reason,
            })
            .await;
    }
    result
}
