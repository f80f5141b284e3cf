//! The monitor, in process: `iflowd::http::router` driven with `oneshot`, as a browser or a
//! script would call it (the browser itself is in `monitor_browser.rs`). Who gets in (login,
//! sessions, Basic, roles), CSRF refusals, the security headers, escaping of attacker-controlled
//! payloads, filters, and what a reader without `MessagePayloadsRead` sees.

use axum::Router;
use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, Request, StatusCode, header};
use iflowd::App;
use iflowd::config::{Env, load};
use tower::ServiceExt;

use crate::common::{
    MONITOR, MONITOR_PASSWORD, OUTSIDER, OUTSIDER_PASSWORD, PASSWORD, USER, fixture, isc_and_broken,
};

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
struct Monitor {
    router: Router,
    _dir: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `name=value` of each `Set-Cookie` named `name`, with its attributes.
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }
}

/// `name=value` of a `Set-Cookie` line.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or("").to_owned()
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

impl Monitor {
    async fn start() -> Self {
        Self::start_with("").await
    }

    async fn start_with(extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "data_dir = \"{}/data\"\n{extra}\n{}",
            dir.path().display(),
            isc_and_broken("soap")
        );
        let path = dir.path().join("iflowd.toml");
        std::fs::write(&path, text).unwrap();
        let loaded = load(Some(&path), &Env::default()).expect("valid configuration");
        let app = App::build(&loaded.config).await.expect("app builds");
        Self {
            router: iflowd::http::router(app),
            _dir: dir,
        }
    }

    async fn call(&self, request: Request<Body>) -> Answer {
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
    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.call(request.body(Body::empty()).unwrap()).await
    }

    /// POST a form to `path`.
    async fn post_form(
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
    async fn post_envelope(&self, path: &str, body: impl Into<Body>) -> String {
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
    async fn login_form(&self) -> (String, String) {
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
    async fn log_in(&self, user: &str, password: &str) -> Answer {
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
    async fn session(&self, user: &str, password: &str) -> (String, String) {
        let answer = self.log_in(user, password).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let cookie = pair(&answer.set_cookie("iflowd_session").unwrap());
        let page = self.get("/monitor/", &[("cookie", &cookie)]).await;
        let token = page
            .body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the logout form's token")
            .to_owned();
        (cookie, token)
    }
}

#[tokio::test]
async fn without_a_session_pages_redirect_to_the_login_form_and_the_fragment_is_a_401() {
    let monitor = Monitor::start().await;
    let root = monitor.get("/", &[]).await;
    assert_eq!(
        (root.status, root.location()),
        (StatusCode::SEE_OTHER, "/monitor/")
    );
    let list = monitor.get("/monitor/?status=FAILED", &[]).await;
    assert_eq!(list.status, StatusCode::SEE_OTHER);
    assert_eq!(
        list.location(),
        "/monitor/login?next=%2Fmonitor%2F%3Fstatus%3DFAILED"
    );
    for path in ["/monitor/messages/AGx", "/monitor/endpoints"] {
        let page = monitor.get(path, &[]).await;
        assert!(
            page.location().starts_with("/monitor/login?next="),
            "{path}"
        );
    }
    let live = monitor.get("/monitor/live", &[]).await;
    assert_eq!(live.status, StatusCode::UNAUTHORIZED);
    assert!(
        live.headers.get(header::WWW_AUTHENTICATE).is_none(),
        "no Basic dialog"
    );
    let stale = monitor
        .get("/monitor/", &[("cookie", "iflowd_session=made-up")])
        .await;
    assert_eq!(stale.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn logging_in_gives_a_strict_http_only_session_cookie_and_goes_where_asked() {
    let monitor = Monitor::start().await;
    let answer = monitor.log_in(USER, PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/monitor/endpoints");
    let cookie = answer.set_cookie("iflowd_session").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/monitor", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let page = monitor
        .get("/monitor/endpoints", &[("cookie", &pair(&cookie))])
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Connect SuccessFactors"),
        "{}",
        page.body
    );

    // Behind a proxy that terminates TLS (its public URL is https) the cookie is Secure.
    let proxied = Monitor::start_with("[proxy]\npublic_url = \"https://iflowd.example.com\"").await;
    let (token, login) = proxied.login_form().await;
    assert!(
        proxied
            .get("/monitor/login", &[])
            .await
            .set_cookie("iflowd_login")
            .unwrap()
            .contains("; Secure")
    );
    let proxied = proxied
        .post_form(
            "/monitor/login",
            &[("cookie", &login)],
            &[("csrf", &token), ("user", USER), ("password", PASSWORD)],
        )
        .await;
    assert!(
        proxied
            .set_cookie("iflowd_session")
            .unwrap()
            .contains("; Secure")
    );
    assert_eq!(proxied.location(), "/monitor/", "no next: the list");
}

#[tokio::test]
async fn a_wrong_password_or_a_forged_form_gets_no_session() {
    let monitor = Monitor::start().await;
    for (user, password) in [(USER, "wrong"), ("nobody", PASSWORD)] {
        let answer = monitor.log_in(user, password).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert!(answer.set_cookie("iflowd_session").is_none());
        assert!(answer.body.contains("Wrong user name or password."));
        assert!(
            !answer.body.contains(&format!("value=\"{password}\"")),
            "not echoed"
        );
    }
    // A login without the form's cookie, or with another token: login CSRF.
    let (token, cookie) = monitor.login_form().await;
    for (headers, csrf) in [
        (vec![], token.as_str()),
        (vec![("cookie", cookie.as_str())], "another-token"),
        (
            vec![
                ("cookie", cookie.as_str()),
                ("origin", "https://evil.example"),
            ],
            token.as_str(),
        ),
    ] {
        let answer = monitor
            .post_form(
                "/monitor/login",
                &headers,
                &[("csrf", csrf), ("user", USER), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(answer.set_cookie("iflowd_session").is_none());
    }
    // Another site's address is no place to go after logging in.
    let (token, cookie) = monitor.login_form().await;
    let answer = monitor
        .post_form(
            "/monitor/login",
            &[("cookie", &cookie)],
            &[
                ("csrf", &token),
                ("user", USER),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(answer.location(), "/monitor/");
}

#[tokio::test]
async fn without_monitoring_data_read_the_monitor_is_forbidden() {
    let monitor = Monitor::start().await;
    let answer = monitor.log_in(OUTSIDER, OUTSIDER_PASSWORD).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.set_cookie("iflowd_session").is_none());
    assert!(
        answer.body.contains("needs the role MonitoringDataRead"),
        "{}",
        answer.body
    );

    let basic_outsider = basic(OUTSIDER, OUTSIDER_PASSWORD);
    let page = monitor
        .get("/monitor/", &[("authorization", &basic_outsider)])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let wrong = basic(USER, "wrong");
    let page = monitor.get("/monitor/", &[("authorization", &wrong)]).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(
        page.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    // A script with the role reads the list with a Basic header.
    let basic_user = basic(USER, PASSWORD);
    let page = monitor
        .get("/monitor/", &[("authorization", &basic_user)])
        .await;
    assert_eq!(page.status, 200);
}

#[tokio::test]
async fn changing_something_needs_the_sessions_csrf_token() {
    let monitor = Monitor::start().await;
    let (cookie, token) = monitor.session(USER, PASSWORD).await;
    for (headers, form) in [
        (vec![("cookie", cookie.as_str())], vec![]),
        (vec![("cookie", cookie.as_str())], vec![("csrf", "forged")]),
        (
            vec![
                ("cookie", cookie.as_str()),
                ("sec-fetch-site", "cross-site"),
            ],
            vec![("csrf", token.as_str())],
        ),
    ] {
        let answer = monitor.post_form("/monitor/logout", &headers, &form).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{headers:?} {form:?}");
        assert_eq!(answer.headers["x-csrf-token"], "Required");
    }
    // A script's Basic header reads, but cannot change anything.
    let basic_user = basic(USER, PASSWORD);
    let answer = monitor
        .post_form(
            "/monitor/logout",
            &[("authorization", &basic_user)],
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    // Still logged in; with the token (as a form field or a header), logged out for good.
    assert_eq!(
        monitor
            .get("/monitor/", &[("cookie", &cookie)])
            .await
            .status,
        200
    );
    let answer = monitor
        .post_form(
            "/monitor/logout",
            &[("cookie", &cookie), ("x-csrf-token", &token)],
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert!(
        answer
            .set_cookie("iflowd_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = monitor.get("/monitor/", &[("cookie", &cookie)]).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let monitor = Monitor::start().await;
    let id = monitor
        .post_envelope("/cxf/isc/events", fixture("hire.xml"))
        .await;
    let (cookie, _) = monitor.session(USER, PASSWORD).await;
    for path in [
        "/".to_owned(),
        "/monitor/login".to_owned(),
        "/monitor/".to_owned(),
        "/monitor/live".to_owned(),
        "/monitor/endpoints".to_owned(),
        format!("/monitor/messages/{id}"),
        format!("/monitor/messages/{id}/request"),
        "/monitor/nothing-here".to_owned(),
        "/monitor/assets/monitor.js".to_owned(),
    ] {
        let answer = monitor.get(&path, &[("cookie", &cookie)]).await;
        assert!(answer.status.as_u16() < 500, "{path}: {}", answer.status);
        let csp = answer.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(
            csp.contains("default-src 'self'") || csp.contains("default-src 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(
            answer.headers[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff",
            "{path}"
        );
        assert_eq!(answer.headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(
            answer.headers[header::REFERRER_POLICY],
            "same-origin",
            "{path}"
        );
    }
    let page = monitor.get("/monitor/", &[("cookie", &cookie)]).await;
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    assert!(
        !page.body.contains("<script>") && !page.body.contains(" style="),
        "nothing inline"
    );
    let download = monitor
        .get(
            &format!("/monitor/messages/{id}/request"),
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(
        download.headers[header::CONTENT_TYPE],
        "application/octet-stream"
    );
    assert!(
        download.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(
        download.body.as_bytes(),
        fixture("hire.xml"),
        "the exact bytes"
    );
}

#[tokio::test]
async fn payloads_are_shown_escaped_everywhere() {
    let monitor = Monitor::start().await;
    let id = monitor
        .post_envelope("/cxf/isc/events", hostile_envelope("ext-<b>bold</b>"))
        .await;
    let (cookie, _) = monitor.session(USER, PASSWORD).await;
    let list = monitor
        .get("/monitor/?period=all", &[("cookie", &cookie)])
        .await;
    assert!(
        list.body.contains("ext-&lt;b&gt;bold&lt;/b&gt;"),
        "{}",
        list.body
    );
    assert!(!list.body.contains("<b>bold"));
    let detail = monitor
        .get(&format!("/monitor/messages/{id}"), &[("cookie", &cookie)])
        .await;
    assert_eq!(detail.status, 200);
    for raw in [SCRIPT_USER_ID, SCRIPT_PARAM, "<img", "<script>"] {
        assert!(!detail.body.contains(raw), "{raw} unescaped in the page");
    }
    // The userId in the events table, as text.
    assert!(
        detail
            .body
            .contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "{}",
        detail.body
    );
    // The laid-out request shows the sender's escaping, escaped again.
    assert!(detail.body.contains("&amp;lt;script&amp;gt;"));
}

#[tokio::test]
async fn filters_find_messages_by_their_events_and_status() {
    let monitor = Monitor::start().await;
    let manager = monitor
        .post_envelope("/cxf/isc/events", fixture("change-in-manager.xml"))
        .await;
    let hire = monitor
        .post_envelope("/cxf/isc/events", fixture("hire.xml"))
        .await;
    let failed = monitor
        .post_envelope("/cxf/broken", fixture("termination.xml"))
        .await;
    let basic_user = basic(USER, PASSWORD);
    let found = |query: &'static str| {
        let monitor = &monitor;
        let auth = basic_user.clone();
        async move {
            let page = monitor
                .get(
                    &format!("/monitor/live?{query}"),
                    &[("authorization", &auth)],
                )
                .await;
            assert_eq!(page.status, 200, "{query}: {}", page.body);
            page.body
        }
    };
    for (query, wanted, unwanted) in [
        ("user=103221", &manager, &hire),
        ("kind=change_in_manager", &manager, &failed),
        ("kind=hire", &hire, &manager),
        ("status=FAILED", &failed, &hire),
        ("endpoint=Broken", &failed, &manager),
        ("ext=5e6c2a7d-8f1b-4c39-9d0e-7a4b3c2d1e0f", &manager, &hire),
    ] {
        let body = found(query).await;
        assert!(body.contains(wanted.as_str()), "{query} finds {wanted}");
        assert!(
            !body.contains(unwanted.as_str()),
            "{query} leaves out {unwanted}"
        );
    }
    // The counts ignore the status filter (each is a link to it) and the chart is there.
    let body = found("status=FAILED").await;
    assert!(
        body.contains(r#"<span class="count">3</span> all"#),
        "{body}"
    );
    assert!(body.contains("<svg"));
    let bad = monitor
        .get(
            "/monitor/?kind=promotion",
            &[("authorization", &basic_user)],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("event kind 'promotion' is not one of"));
}

#[tokio::test]
async fn the_fragment_is_not_sent_again_while_it_has_not_changed() {
    let monitor = Monitor::start().await;
    let auth = basic(USER, PASSWORD);
    let first = monitor
        .get("/monitor/live", &[("authorization", &auth)])
        .await;
    let etag = first.headers[header::ETAG].to_str().unwrap().to_owned();
    let again = monitor
        .get(
            "/monitor/live",
            &[("authorization", &auth), ("if-none-match", &etag)],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let id = monitor
        .post_envelope("/cxf/isc/events", fixture("hire.xml"))
        .await;
    let changed = monitor
        .get(
            "/monitor/live",
            &[("authorization", &auth), ("if-none-match", &etag)],
        )
        .await;
    assert_eq!(changed.status, 200);
    assert!(changed.body.contains(&id));
}

#[tokio::test]
async fn a_reader_without_payload_rights_sees_the_entry_but_not_its_bodies() {
    let monitor = Monitor::start().await;
    let id = monitor
        .post_envelope("/cxf/broken", fixture("hire.xml"))
        .await;
    let auth = basic(MONITOR, MONITOR_PASSWORD);
    let detail = monitor
        .get(
            &format!("/monitor/messages/{id}"),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(detail.status, 200);
    assert!(
        detail
            .body
            .contains("need the role <code>MessagePayloadsRead</code>"),
        "{}",
        detail.body
    );
    assert!(
        detail.body.contains("archive"),
        "the failing handler is shown"
    );
    assert!(!detail.body.contains("ExternalEvent"), "no body");
    let download = monitor
        .get(
            &format!("/monitor/messages/{id}/request"),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(download.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_failed_message_shows_its_error_its_laid_out_request_and_its_duplicates() {
    let monitor = Monitor::start().await;
    let auth = basic(USER, PASSWORD);
    let failed = monitor
        .post_envelope("/cxf/broken", fixture("hire.xml"))
        .await;
    let detail = monitor
        .get(
            &format!("/monitor/messages/{failed}"),
            &[("authorization", &auth)],
        )
        .await;
    assert!(
        detail.body.contains("Handler <code>archive</code>"),
        "{}",
        detail.body
    );
    assert!(
        detail
            .body
            .contains(r#"<span class="x-e">ns3:ExternalEvent</span>"#)
            || detail.body.contains(r#"class="x-e""#)
    );
    assert!(detail.body.contains("<h2>Answer</h2>"));

    let original = monitor
        .post_envelope("/cxf/isc/events", fixture("termination.xml"))
        .await;
    let duplicate = monitor
        .post_envelope("/cxf/isc/events", fixture("termination.xml"))
        .await;
    let page = monitor
        .get(
            &format!("/monitor/messages/{original}"),
            &[("authorization", &auth)],
        )
        .await;
    assert!(
        page.body
            .contains(&format!("/monitor/messages/{duplicate}")),
        "original → duplicate"
    );
    let page = monitor
        .get(
            &format!("/monitor/messages/{duplicate}"),
            &[("authorization", &auth)],
        )
        .await;
    assert!(page.body.contains("A duplicate of "), "{}", page.body);
    assert!(
        page.body.contains(&format!("/monitor/messages/{original}")),
        "duplicate → original"
    );
    let missing = monitor
        .get("/monitor/messages/AGnothing", &[("authorization", &auth)])
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_large_body_is_shown_cut_with_a_download_link() {
    let monitor = Monitor::start().await;
    let padding = "x".repeat(300 * 1024);
    let body =
        hostile_envelope("big").replace("<name>note</name>", &format!("<name>{padding}</name>"));
    let id = monitor.post_envelope("/cxf/isc/events", body.clone()).await;
    let auth = basic(USER, PASSWORD);
    let detail = monitor
        .get(
            &format!("/monitor/messages/{id}"),
            &[("authorization", &auth)],
        )
        .await;
    assert!(detail.body.contains("Shown cut at 256 KiB"), "cut");
    assert!(
        detail
            .body
            .contains(&format!("href=\"/monitor/messages/{id}/request\" download"))
    );
    assert!(
        detail.body.len() < body.len() + 40_000,
        "not the whole body"
    );
    let download = monitor
        .get(
            &format!("/monitor/messages/{id}/request"),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(download.body, body);
}
