//! Who is looking: a session (the login form's cookie) or, for scripts, an `Authorization`
//! header or a client certificate mapped to a user, as the monitoring API takes them. Every page
//! behind [`require`] knows its [`Viewer`].

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::Monitor;
use super::page;
use super::prefix::at;
use super::session::{COOKIE, Session, cookie};
use crate::app::App;
use crate::auth::Principal;
use crate::config::{MONITORING_ROLE, PAYLOADS_ROLE};
use crate::http::origin::origin;
use crate::http::{ConnectionInfo, access, unauthorized};

/// The caller of a monitor page.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub principal: Principal,
    /// Present when the caller came with the session cookie (a browser); scripts have none, and
    /// so cannot make state-changing requests.
    pub session: Option<Session>,
    /// `scheme://host[:port]` as the caller sees this server.
    pub origin: String,
}

impl Viewer {
    /// May this viewer see stored bodies (and the events read from them)?
    pub fn reads_payloads(&self) -> bool {
        self.principal.has_role(PAYLOADS_ROLE)
    }

    /// The CSRF token forms must carry; none without a session.
    pub fn csrf(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.csrf.as_str())
    }
}

/// Finds the viewer of a monitor request, or answers for it: a page asked for without any
/// credentials redirects to the login form, anything else without them is a 401; wrong
/// credentials are a 401 with the challenge the monitoring API sends; a caller without
/// `MonitoringDataRead` gets a 403.
pub async fn require(
    State(app): State<App>,
    axum::extract::Extension(monitor): axum::extract::Extension<Monitor>,
    mut request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let viewer = match identify(&app, &monitor, &parts).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    if !viewer.principal.has_role(MONITORING_ROLE) {
        let message = format!(
            "User '{}' may not read the message log: that needs the role {MONITORING_ROLE}.",
            viewer.principal.name
        );
        return page::error(&viewer, StatusCode::FORBIDDEN, "Forbidden", &message).into_response();
    }
    request = Request::from_parts(parts, body);
    request.extensions_mut().insert(viewer);
    next.run(request).await
}

async fn identify(app: &App, monitor: &Monitor, parts: &Parts) -> Result<Viewer, Response> {
    let connection = parts
        .extensions
        .get::<ConnectionInfo>()
        .cloned()
        .unwrap_or_default();
    let origin = origin(app.proxy(), &parts.headers, &parts.uri, &connection);
    if let Some(session) = session_id(&parts.headers).and_then(|id| monitor.sessions.get(id)) {
        return Ok(Viewer {
            principal: session.principal.clone(),
            session: Some(session),
            origin,
        });
    }
    let scripted = parts.headers.contains_key(header::AUTHORIZATION)
        || connection.client_certificate.is_some();
    if scripted {
        return match access::caller(app, &parts.headers, &connection, parts.uri.path()).await {
            Ok(principal) => Ok(Viewer {
                principal,
                session: None,
                origin,
            }),
            Err(error) => Err(unauthorized(&error, app.auth().tokens().is_some())),
        };
    }
    if parts.method == Method::GET && parts.uri.path() != "/monitor/live" {
        let wanted = parts
            .uri
            .path_and_query()
            .map_or("/monitor/", |p| p.as_str());
        let next = form_urlencoded::Serializer::new(String::new())
            .append_pair("next", wanted)
            .finish();
        return Err(Redirect::to(&at(&format!("/monitor/login?{next}"))).into_response());
    }
    // No challenge: a browser would open its Basic dialog, and the form is the way in.
    Err((
        StatusCode::UNAUTHORIZED,
        "not logged in, or the session has ended: log in at /monitor/login",
    )
        .into_response())
}

/// The session id the request's cookie carries.
pub fn session_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| cookie(value, COOKIE))
}

/// Whether a state-changing request may have come from a page of another site (or a sibling
/// subdomain): the browser's `Sec-Fetch-Site` says anything but `same-origin` (or `none`, typed by
/// the user); or, from a browser too old to send it, the `Origin` it sends with every POST names
/// another host than the request's `Host`. A second line behind the CSRF token, which reads only
/// what the browser says about the request, so it holds behind any proxy.
pub fn cross_site(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return site != "same-origin" && site != "none";
    }
    header("origin").is_some_and(|sent| {
        let host = sent.split_once("://").map_or(sent, |(_, host)| host);
        header("host") != Some(host)
    })
}
