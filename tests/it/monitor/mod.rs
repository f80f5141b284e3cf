//! The monitor, in process: `iflowd::http::router` driven with `oneshot`, as a browser or a
//! script would call it (the browser itself is in `monitor_browser.rs`): who gets in (login,
//! sessions, Basic, roles), CSRF refusals and the security headers (`access.rs`); escaping of
//! attacker-controlled payloads, filters, the live fragment, what a reader without
//! `MessagePayloadsRead` sees, a message's page (`pages.rs`). This file is their support.

mod access;
mod endpoints;
mod filters;
mod pages;
mod proxy_prefix;
mod replay;

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode, header};
use iflowd::App;
use iflowd::config::Env;
use tower::ServiceExt;

use crate::common::{Backend, PASSWORD, USER, isc_and_broken, load_in};

/// A userId and a param that would run script if a page put them into HTML unescaped: each
/// either sets the title or adds an element with the id `pwned`.
pub const SCRIPT_USER_ID: &str = "<script>document.title='pwned'</script>";
pub const SCRIPT_PARAM: &str =
    r#""><img src=x onerror="document.body.appendChild(document.createElement('b')).id='pwned'">"#;

/// A Hire envelope under `external_id` whose userId and param carry [`SCRIPT_USER_ID`] and
/// [`SCRIPT_PARAM`] (XML-escaped, as a sender would write them).
pub fn hostile_envelope(external_id: &str) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns:ExternalEvent xmlns:ns="http://notification.event.successfactors.com"><ns:externalEventMeta><ns:externalEventId>{external_id}</ns:externalEventId><ns:type>com.successfactors.Employment.AssignmentInformation.Hire</ns:type></ns:externalEventMeta><ns:events><ns:event><ns:entityKeys><ns:entityKey><name>userId</name><value>{user}</value></ns:entityKey></ns:entityKeys><ns:params><ns:param><name>note</name><value>{param}</value></ns:param></ns:params></ns:event></ns:events></ns:ExternalEvent></S:Body></S:Envelope>"#,
        external_id = escape(external_id),
        user = escape(SCRIPT_USER_ID),
        param = escape(SCRIPT_PARAM),
    )
}

/// An iflowd router (the endpoints `ISC_Events` and `Broken` and the test users), called in
/// process. Clones share the monitor's sessions.
pub struct Monitor {
    router: Router,
    /// The service behind the router (its queue, to wait on).
    pub app: App,
    _dir: tempfile::TempDir,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `name=value` of each `Set-Cookie` named `name`, with its attributes.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }
}

/// `name=value` of a `Set-Cookie` line.
pub fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or("").to_owned()
}

pub use crate::common::in_process::basic;

impl Monitor {
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    /// With `extra` TOML (a `[proxy]` table, say) before the endpoints and users.
    pub async fn start_with(extra: &str) -> Self {
        Self::start_on(&Backend::Sqlite, extra).await
    }

    /// [`Monitor::start_with`] with the message log on `backend`.
    pub async fn start_on(backend: &Backend, extra: &str) -> Self {
        let config = format!("{extra}\n{}", isc_and_broken("soap"));
        Self::start_config_on(backend, &config).await
    }

    /// With this whole configuration.
    pub async fn start_config(config: &str) -> Self {
        Self::start_config_on(&Backend::Sqlite, config).await
    }

    /// With this whole configuration and the message log on `backend`.
    pub async fn start_config_on(backend: &Backend, config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut loaded = load_in(dir.path(), config, &Env::default());
        if let Some(url) = backend.url() {
            loaded.config.store.url = Some(url.into());
        }
        let app = App::build(&loaded.config).await.expect("app builds");
        Self {
            router: iflowd::http::router(app.clone()),
            app,
            _dir: dir,
        }
    }

    /// Waits until the queue has ended `count` attempts in all.
    pub async fn attempts_ended(&self, count: u64) {
        let mut ended = self.app.queue().expect("a queue").ended();
        tokio::time::timeout(
            std::time::Duration::from_secs(600),
            ended.wait_for(|&n| n >= count),
        )
        .await
        .expect("attempts end in time")
        .expect("the queue runs");
    }

    pub async fn call(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// GET `path` with these headers (`Cookie`, `Authorization`...).
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.call(request.body(Body::empty()).unwrap()).await
    }

    /// The list's live fragment for `query` as the test user (Basic): its HTML, after a 200.
    pub async fn live(&self, query: &str) -> String {
        let auth = basic(USER, PASSWORD);
        let page = self
            .get(
                &format!("/monitor/live?{query}"),
                &[("authorization", &auth)],
            )
            .await;
        assert_eq!(page.status, 200, "{query}: {}", page.body);
        page.body
    }

    /// POST a form to `path`.
    pub async fn post_form(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.call(request.body(Body::from(body)).unwrap()).await
    }

    /// POSTs an envelope to an endpoint as the test user; the message id of the answer.
    pub async fn post_envelope(&self, path: &str, body: impl Into<Body>) -> String {
        let request = Request::post(path)
            .header(header::AUTHORIZATION, basic(USER, PASSWORD))
            .header(header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .body(body.into())
            .unwrap();
        let answer = self.call(request).await;
        answer.headers["sap_messageprocessinglogid"]
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// The login form's token and its cookie.
    pub async fn login_form(&self) -> (String, String) {
        let form = self.get("/monitor/login", &[]).await;
        assert_eq!(form.status, 200);
        let cookie = pair(&form.set_cookie("iflowd_login").expect("a login cookie"));
        let token = cookie.split_once('=').unwrap().1.to_owned();
        assert!(
            form.body
                .contains(&format!("name=\"csrf\" value=\"{token}\""))
        );
        (token, cookie)
    }

    /// Logs in with the form; the answer (a redirect and the session cookie on success).
    pub async fn log_in(&self, user: &str, password: &str) -> Answer {
        let (token, cookie) = self.login_form().await;
        self.post_form(
            "/monitor/login",
            &[("cookie", &cookie)],
            &[
                ("csrf", &token),
                ("user", user),
                ("password", password),
                ("next", "/monitor/endpoints"),
            ],
        )
        .await
    }

    /// A session of `user`: the `Cookie` header value, and the CSRF token its pages carry.
    pub async fn session(&self, user: &str, password: &str) -> (String, String) {
        let answer = self.log_in(user, password).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let cookie = pair(&answer.set_cookie("iflowd_session").unwrap());
        let page = self.get("/monitor/", &[("cookie", &cookie)]).await;
        (cookie, csrf_token(&page.body))
    }
}

/// The CSRF token a page's forms carry (the first form's: the logout button's on every page).
pub fn csrf_token(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form's CSRF token")
        .to_owned()
}
