//! Logging in and out.
//!
//! The login form is protected against login CSRF (another site logging a browser into an
//! account of its choosing) with a double-submit token: showing the form sets a random cookie
//! and puts the same value in the form, and a login must send both; a page of another site can
//! neither read the cookie nor set it. Both cookies are `HttpOnly`, `SameSite=Strict`, limited
//! to the monitor's paths, and `Secure` when the browser came over HTTPS.
//!
//! A refused login says only "wrong user name or password" and logs one line without the name
//! (a password typed into the name field must not reach the log). The check is the
//! authenticator's: constant time over the accounts, argon2 for hashed passwords.

use axum::body::{Body, to_bytes};
use axum::extract::{Extension, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::Monitor;
use super::page;
use super::prefix::at;
use super::session::{self, COOKIE, LIFETIME, random_token, same_secret};
use super::viewer::{Viewer, cross_site, session_id};
use crate::app::App;
use crate::audit::FailedLogin;
use crate::auth::AuthError;
use crate::config::MONITORING_ROLE;
use crate::http::ConnectionInfo;
use crate::http::origin::{client_address, origin};

/// The login form's double-submit cookie.
const LOGIN_COOKIE: &str = "iflowd_login";
/// The largest form body read (a user name, a password, two tokens).
const FORM_LIMIT: usize = 16 * 1024;

/// The `next` parameter of the login form's query string: where the login was asked for.
fn next_of(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(key, _)| key == "next")
        .map(|(_, value)| value.into_owned())
}

/// Where to go after logging in: a monitor page, never another site.
fn destination(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with("/monitor/")
                && !path.starts_with("/monitor/login")
                && !path.contains("//")
                && !path.contains('\\') =>
        {
            path
        }
        _ => "/monitor/",
    }
}

/// `GET /monitor/login`: the form, with a fresh double-submit token.
pub async fn form(
    State(app): State<App>,
    Extension(monitor): Extension<Monitor>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    let next = next_of(query.as_deref());
    let headers = request.headers();
    if session_id(headers).is_some_and(|id| monitor.sessions.get(id).is_some()) {
        return Redirect::to(destination(next.as_deref())).into_response();
    }
    form_page(
        StatusCode::OK,
        next.as_deref(),
        None,
        secure(&app, &request),
    )
}

fn form_page(
    status: StatusCode,
    next: Option<&str>,
    problem: Option<&str>,
    secure: bool,
) -> Response {
    let token = random_token();
    let body = page::bare("Log in", login_form(&token, destination(next), problem));
    let mut response = (status, body).into_response();
    set_cookie(
        response.headers_mut(),
        &cookie_text(
            LOGIN_COOKIE,
            &token,
            &at("/monitor/login"),
            Some(3600),
            secure,
        ),
    );
    response
}

fn login_form(token: &str, next: &str, problem: Option<&str>) -> Markup {
    html! {
        main.login {
            h1 { "iflowd monitor" }
            @if let Some(problem) = problem {
                p.problem role="alert" { (problem) }
            }
            form method="post" action=(at("/monitor/login")) {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(next);
                label { "User" input type="text" name="user" autocomplete="username" required autofocus; }
                label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                button type="submit" { "Log in" }
            }
            p.hint { "A user of " code { "[[users]]" } " with the role " code { (MONITORING_ROLE) } "." }
        }
    }
}

/// Records a refused login in the audit log: the name given, never the password.
async fn refused(app: &App, parts: &Parts, user: &str, error: &AuthError) {
    let source = parts
        .extensions
        .get::<ConnectionInfo>()
        .and_then(|c| client_address(app.proxy(), &parts.headers, c));
    app.audit()
        .login_failed(FailedLogin {
            user: Some(user),
            object: parts.uri.path(),
            source,
            reason: &error.to_string(),
        })
        .await;
}

/// `POST /monitor/login`.
pub async fn submit(
    State(app): State<App>,
    Extension(monitor): Extension<Monitor>,
    request: Request,
) -> Response {
    let secure = secure(&app, &request);
    let (parts, body) = request.into_parts();
    let fields = match read_form(body).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let next = field("next");
    let cookie_token = parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| session::cookie(v, LOGIN_COOKIE));
    let token_ok = matches!((cookie_token, field("csrf")), (Some(a), Some(b)) if same_secret(a, b));
    if !token_ok || cross_site(&parts.headers) {
        return form_page(
            StatusCode::FORBIDDEN,
            next,
            Some("The login form had expired or came from another site. Please log in again."),
            secure,
        );
    }
    let (user, password) = (field("user").unwrap_or(""), field("password").unwrap_or(""));
    let principal = match app.auth().password(user, password).await {
        Ok(principal) => principal,
        Err(error) => {
            tracing::info!("monitor login refused: wrong user name or password");
            refused(&app, &parts, user, &error).await;
            return form_page(
                StatusCode::UNAUTHORIZED,
                next,
                Some("Wrong user name or password."),
                secure,
            );
        }
    };
    if !principal.has_role(MONITORING_ROLE) {
        tracing::info!(user = %principal.name, "monitor login refused: no {MONITORING_ROLE}");
        let problem = format!(
            "User '{}' may not read the message log: that needs the role {MONITORING_ROLE}.",
            principal.name
        );
        return form_page(StatusCode::FORBIDDEN, next, Some(&problem), secure);
    }
    tracing::info!(user = %principal.name, "monitor login");
    let (id, _) = monitor.sessions.start(principal);
    let mut response = Redirect::to(&at(destination(next))).into_response();
    let lifetime = LIFETIME.as_secs();
    set_cookie(
        response.headers_mut(),
        &cookie_text(COOKIE, &id, &at("/monitor"), Some(lifetime), secure),
    );
    set_cookie(
        response.headers_mut(),
        &cookie_text(LOGIN_COOKIE, "", &at("/monitor/login"), Some(0), secure),
    );
    response
}

/// `POST /monitor/logout`: needs the session's CSRF token, like every state-changing request.
pub async fn logout(
    Extension(monitor): Extension<Monitor>,
    Extension(viewer): Extension<Viewer>,
    request: Request,
) -> Response {
    let secure = viewer.origin.starts_with("https://");
    let (parts, body) = request.into_parts();
    let fields = match read_form(body).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let token = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if let Some(refusal) = csrf_refusal(&viewer, &parts.headers, token) {
        return refusal;
    }
    if let Some(id) = session_id(&parts.headers) {
        monitor.sessions.end(id);
    }
    let mut response = Redirect::to(&at("/monitor/login")).into_response();
    set_cookie(
        response.headers_mut(),
        &cookie_text(COOKIE, "", &at("/monitor"), Some(0), secure),
    );
    response
}

/// The refusal of a state-changing request without this session's CSRF token (form field `csrf`
/// or header `X-CSRF-Token`), from another site, or without a session at all: a 403 with
/// `X-CSRF-Token: Required`, as CPI answers. `None` when the request may go on.
pub fn csrf_refusal(viewer: &Viewer, headers: &HeaderMap, field: Option<&str>) -> Option<Response> {
    let sent = field.or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()));
    let valid = match (&viewer.session, sent) {
        (Some(session), Some(token)) => session.csrf_matches(token),
        _ => false,
    };
    if valid && !cross_site(headers) {
        return None;
    }
    let message = if viewer.session.is_none() {
        "This request changes something, so it needs a session: log in with the form."
    } else {
        "The request did not carry this session's CSRF token, or came from another site. Reload the page and try again."
    };
    let mut response =
        page::error(viewer, StatusCode::FORBIDDEN, "Forbidden", message).into_response();
    response
        .headers_mut()
        .insert("x-csrf-token", HeaderValue::from_static("Required"));
    Some(response)
}

/// An `application/x-www-form-urlencoded` body, at most [`FORM_LIMIT`] bytes.
pub(super) async fn read_form(body: Body) -> Result<Vec<(String, String)>, Response> {
    let bytes = to_bytes(body, FORM_LIMIT).await.map_err(|_| {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a form body of more than {FORM_LIMIT} bytes"),
        )
            .into_response()
    })?;
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}

/// Whether the browser came over HTTPS (directly, or through a trusted proxy that says so, or
/// to a `[proxy] public_url` that is HTTPS), so cookies get `Secure`.
fn secure(app: &App, request: &Request) -> bool {
    let connection = request
        .extensions()
        .get::<ConnectionInfo>()
        .cloned()
        .unwrap_or_default();
    origin(app.proxy(), request.headers(), request.uri(), &connection).starts_with("https://")
}

fn cookie_text(name: &str, value: &str, path: &str, max_age: Option<u64>, secure: bool) -> String {
    let mut text = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        text.push_str("; Secure");
    }
    text
}

fn set_cookie(headers: &mut HeaderMap, text: &str) {
    if let Ok(value) = HeaderValue::from_str(text) {
        headers.append(header::SET_COOKIE, value);
    }
}
