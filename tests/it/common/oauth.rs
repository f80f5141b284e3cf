//! OAuth test support: a configuration with two clients, token requests, bearer calls and the
//! assertions on RFC 6749 / RFC 6750 errors.

use reqwest::StatusCode;
use serde_json::Value;

use super::{TestApp, fixture, users_toml};

pub const ENDPOINT: &str = "/cxf/isc/events";
pub const TOKEN_PATH: &str = "/oauth/token";
pub const CLIENT: &str = "sb-isc-connector";
pub const SECRET: &str = "cl:ient-secret";
/// A client whose only role is not the endpoint's.
pub const MONITOR: &str = "sb-monitor";
pub const MONITOR_SECRET: &str = "monitor-secret";

pub fn oauth_toml(data_dir: &str, extra: &str) -> String {
    format!(
        r#"data_dir = "{data_dir}"
{extra}
{users}
[[oauth_clients]]
id = "{CLIENT}"
secret = "{SECRET}"
roles = ["ESBMessaging.send"]
token_lifetime_s = 3600

[[oauth_clients]]
id = "{MONITOR}"
secret = "{MONITOR_SECRET}"
roles = ["MonitoringDataRead"]
"#,
        users = users_toml()
    )
}

pub async fn spawn() -> TestApp {
    TestApp::spawn(&oauth_toml("{dir}/data", "")).await
}

pub struct TokenAnswer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

/// POSTs to the token endpoint: `form` as the body, `query` appended, `basic` as the header.
pub async fn request_token(
    app: &TestApp,
    query: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> TokenAnswer {
    let mut request = app.client.post(app.url(&format!("{TOKEN_PATH}{query}")));
    if !form.is_empty() {
        request = request.form(form);
    }
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.expect("token request sent");
    let status = response.status();
    let headers = response.headers().clone();
    let json = response.json().await.expect("token endpoint answers JSON");
    TokenAnswer {
        status,
        headers,
        json,
    }
}

/// A token for `id`, fetched the way ISC does at run time.
pub async fn token_for(app: &TestApp, id: &str, secret: &str) -> String {
    let answer = request_token(
        app,
        "",
        &[("grant_type", "client_credentials")],
        Some((id, secret)),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    answer.json["access_token"].as_str().unwrap().to_owned()
}

pub async fn post_with_bearer(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .post(app.url(ENDPOINT))
        .bearer_auth(token)
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(fixture("change-in-manager.xml"))
        .send()
        .await
        .expect("request sent")
}

pub fn challenges(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

pub async fn assert_invalid_token(response: reqwest::Response, description: &str) {
    assert_eq!(response.status(), 401);
    let challenge = challenges(&response).join(" | ");
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(description), "{message}");
}

pub fn assert_oauth_error(answer: &TokenAnswer, status: u16, error: &str) {
    assert_eq!(answer.status, status, "{}", answer.json);
    assert_eq!(answer.json["error"], error, "{}", answer.json);
    assert!(
        answer.json["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{}",
        answer.json
    );
    assert_eq!(answer.headers["cache-control"], "no-store");
}
