//! Who gets into the monitor: the login form and its session cookie, redirects and 401s, Basic
//! for scripts, the role, CSRF refusals, and the headers every answer carries.

use http::{StatusCode, header};

use super::{Monitor, basic, pair};
use crate::common::{OUTSIDER, OUTSIDER_PASSWORD, PASSWORD, USER, fixture};

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
