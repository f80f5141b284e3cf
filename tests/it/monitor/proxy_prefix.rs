//! The monitor behind a proxy that adds a path prefix (`[proxy] public_url` with a path) and
//! strips it before iflowd: every link, form, redirect and cookie names the prefix, so a browser
//! that only reaches iflowd through the proxy can use the whole monitor.

use http::StatusCode;

use super::{Monitor, csrf_token, pair};
use crate::common::{PASSWORD, USER, envelope};

const PROXY: &str = "[proxy]\npublic_url = \"https://sfsf.example.com/iflowd/\"\n";

/// The values of every `href`, `action`, `src` and `data-src` attribute that is a path.
fn paths(html: &str) -> Vec<&str> {
    ["href=\"", "action=\"", "src=\""]
        .iter()
        .flat_map(|attribute| html.split(attribute).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .filter(|value| value.starts_with('/'))
        .collect()
}

#[tokio::test]
async fn behind_a_proxy_with_a_path_prefix_every_link_redirect_and_cookie_carries_it() {
    let monitor = Monitor::start_with(PROXY).await;
    assert_eq!(monitor.get("/", &[]).await.location(), "/iflowd/monitor/");
    let asked = monitor.get("/monitor/endpoints", &[]).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    assert_eq!(
        asked.location(),
        "/iflowd/monitor/login?next=%2Fmonitor%2Fendpoints"
    );

    let form = monitor.get("/monitor/login", &[]).await;
    assert!(form.body.contains(r#"action="/iflowd/monitor/login""#));
    assert!(paths(&form.body).contains(&"/iflowd/monitor/assets/monitor.css"));
    let login_cookie = form.set_cookie("iflowd_login").unwrap();
    assert!(
        login_cookie.contains("; Path=/iflowd/monitor/login;"),
        "{login_cookie}"
    );

    let answer = monitor.log_in(USER, PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location(), "/iflowd/monitor/endpoints");
    let session = answer.set_cookie("iflowd_session").unwrap();
    assert!(session.contains("; Path=/iflowd/monitor;"), "{session}");

    let id = monitor
        .post_envelope("/cxf/isc/events", envelope("prefixed-1", 1, false))
        .await;
    let cookie = pair(&session);
    let detail = format!("/monitor/messages/{id}");
    for page in ["/monitor/", "/monitor/live", "/monitor/endpoints", &detail] {
        let shown = monitor.get(page, &[("cookie", &cookie)]).await;
        assert_eq!(shown.status, StatusCode::OK, "{page}: {}", shown.body);
        let links = paths(&shown.body);
        assert!(!links.is_empty(), "{page} has links");
        for link in links {
            assert!(link.starts_with("/iflowd/"), "{page} links to {link}");
        }
    }
    let endpoints = monitor
        .get("/monitor/endpoints", &[("cookie", &cookie)])
        .await;
    assert!(
        endpoints
            .body
            .contains("href=\"/iflowd/cxf/isc/events?wsdl\"")
    );
    let list = monitor.get("/monitor/", &[("cookie", &cookie)]).await;
    assert!(
        list.body
            .contains(&format!("href=\"/iflowd/monitor/messages/{id}\""))
    );

    let token = csrf_token(&list.body);
    let out = monitor
        .post_form(
            "/monitor/logout",
            &[("cookie", &cookie)],
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(out.location(), "/iflowd/monitor/login");
    assert!(
        out.set_cookie("iflowd_session")
            .unwrap()
            .contains("; Path=/iflowd/monitor;")
    );
}
