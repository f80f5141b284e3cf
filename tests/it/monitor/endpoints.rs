//! `/monitor/endpoints`: what a developer pastes into SuccessFactors' Event Connector, read from
//! the configuration: the URL, how callers authenticate and who may, the handler chain, the OAuth
//! client and token URL, a curl line; and never a secret.

use http::StatusCode;

use super::{Monitor, basic};
use crate::common::oauth::{CLIENT, SECRET, oauth_toml};
use crate::common::{MONITOR, PASSWORD, USER};

const ENDPOINTS: &str = r#"
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = ["log", "archive"]

[handlers.archive]
type = "jsonl"
path = "{dir}/events.jsonl"
"#;

#[tokio::test]
async fn the_endpoints_page_names_who_may_call_the_chain_and_what_to_paste() {
    let monitor = Monitor::start_config(&oauth_toml("{dir}/data", ENDPOINTS)).await;
    let page = monitor
        .get(
            "/monitor/endpoints",
            &[("authorization", &basic(USER, PASSWORD))],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    let has = |text: &str| assert!(body.contains(text), "{text} not in {body}");

    has("<h2>ISC_Events</h2>");
    has("http://localhost/cxf/isc/events</code>");
    has(r#"href="/cxf/isc/events?wsdl""#);
    // Who may call: the role, the users and OAuth clients that have it (not the monitor-only
    // user), as names.
    has(&format!(
        "Basic or an OAuth token, with the role <code>ESBMessaging.send</code> (user <code>{USER}</code>; OAuth client <code>{CLIENT}</code>)"
    ));
    assert!(!body.contains(&format!("<code>{MONITOR}</code>")), "{body}");
    has("<code>log</code> → <code>archive</code>");
    // The Event Connector's fields, both ways, and a curl line with the user's name.
    has(&format!("<th>User Name</th><td><code>{USER}</code></td>"));
    has(&format!("<th>Client ID</th><td><code>{CLIENT}</code></td>"));
    has("<th>Token Endpoint URL</th><td><code>http://localhost/oauth/token</code></td>");
    has(&format!(
        "curl -u '{USER}:PASSWORD' -H 'Content-Type: text/xml; charset=utf-8'"
    ));
    has("--data-binary @fixtures/change-in-manager.xml http://localhost/cxf/isc/events");
    for secret in [PASSWORD, SECRET] {
        assert!(!body.contains(secret), "{secret} is shown");
    }
}
