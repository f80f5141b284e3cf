//! OAuth 2.0 client credentials as SuccessFactors' ISC Event Connector uses them: the token
//! endpoint (both ways of sending the client's credentials, every RFC 6749 error), and the
//! token on the endpoint (roles from scopes, expiry, tampering, a key shared between instances).

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{TestApp, element_text, fixture, users_toml};
use reqwest::StatusCode;
use serde_json::Value;

const ENDPOINT: &str = "/cxf/isc/events";
const TOKEN_PATH: &str = "/oauth/token";
const CLIENT: &str = "sb-isc-connector";
const SECRET: &str = "cl:ient-secret";
/// A client whose only role is not the endpoint's.
const MONITOR: &str = "sb-monitor";
const MONITOR_SECRET: &str = "monitor-secret";

fn oauth_toml(data_dir: &str, extra: &str) -> String {
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

async fn spawn() -> TestApp {
    TestApp::spawn(&oauth_toml("{dir}/data", "")).await
}

struct TokenAnswer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    json: Value,
}

/// POSTs to the token endpoint: `form` as the body, `query` appended, `basic` as the header.
async fn request_token(
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
async fn token_for(app: &TestApp, id: &str, secret: &str) -> String {
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

async fn post_with_bearer(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .post(app.url(ENDPOINT))
        .bearer_auth(token)
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(fixture("change-in-manager.xml"))
        .send()
        .await
        .expect("request sent")
}

fn challenges(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

async fn assert_invalid_token(response: reqwest::Response, description: &str) {
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

fn assert_oauth_error(answer: &TokenAnswer, status: u16, error: &str) {
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

#[tokio::test]
async fn the_token_endpoint_takes_credentials_in_a_basic_header_and_the_token_calls_the_endpoint() {
    let app = spawn().await;
    let answer = request_token(
        &app,
        "",
        &[("grant_type", "client_credentials")],
        Some((CLIENT, SECRET)),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.headers["cache-control"], "no-store");
    let json = &answer.json;
    assert_eq!(json["token_type"], "bearer");
    assert_eq!(json["expires_in"], 3600);
    assert_eq!(json["scope"], "iflowd.ESBMessaging.send");
    assert!(
        json["jti"].as_str().is_some_and(|j| j.len() >= 16),
        "{json}"
    );
    let token = json["access_token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["client_id"], CLIENT);
    assert_eq!(
        claims["scope"],
        serde_json::json!(["iflowd.ESBMessaging.send"])
    );
    assert_eq!(claims["jti"], json["jti"]);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );

    let response = post_with_bearer(&app, token).await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert_eq!(element_text(&body, "status"), Some("200"), "{body}");
}

#[tokio::test]
async fn the_token_endpoint_takes_credentials_in_the_form_body_as_isc_validates_a_connection() {
    let app = spawn().await;
    let answer = request_token(
        &app,
        "",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ],
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    let token = answer.json["access_token"].as_str().unwrap();
    assert_eq!(post_with_bearer(&app, token).await.status(), 200);

    // grant_type in the query string, credentials in the header, no body at all.
    let answer = request_token(
        &app,
        "?grant_type=client_credentials",
        &[],
        Some((CLIENT, SECRET)),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    // Both credential styles at once, agreeing.
    let answer = request_token(
        &app,
        "",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ],
        Some((CLIENT, SECRET)),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
}

#[tokio::test]
async fn a_wrong_secret_is_invalid_client_with_a_basic_challenge_only_when_basic_was_used() {
    let app = spawn().await;
    let header = request_token(
        &app,
        "",
        &[("grant_type", "client_credentials")],
        Some((CLIENT, "wrong")),
    )
    .await;
    assert_oauth_error(&header, 401, "invalid_client");
    assert_eq!(
        header.headers["www-authenticate"],
        r#"Basic realm="iflowd""#
    );

    let body = request_token(
        &app,
        "",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", "wrong"),
        ],
        None,
    )
    .await;
    assert_oauth_error(&body, 401, "invalid_client");
    assert!(!body.headers.contains_key("www-authenticate"));

    // A Basic user is not an OAuth client; no credentials at all is invalid_client too.
    let user = request_token(
        &app,
        "",
        &[("grant_type", "client_credentials")],
        Some((common::USER, common::PASSWORD)),
    )
    .await;
    assert_oauth_error(&user, 401, "invalid_client");
    let none = request_token(&app, "", &[("grant_type", "client_credentials")], None).await;
    assert_oauth_error(&none, 401, "invalid_client");

    // Header and body naming different clients is a malformed request.
    let both = request_token(
        &app,
        "",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", MONITOR),
            ("client_secret", MONITOR_SECRET),
        ],
        Some((CLIENT, SECRET)),
    )
    .await;
    assert_oauth_error(&both, 400, "invalid_request");
}

#[tokio::test]
async fn a_missing_or_other_grant_type_is_refused_as_rfc_6749_says() {
    let app = spawn().await;
    let other = request_token(
        &app,
        "",
        &[("grant_type", "password")],
        Some((CLIENT, SECRET)),
    )
    .await;
    assert_oauth_error(&other, 400, "unsupported_grant_type");
    let missing = request_token(&app, "", &[("scope", "x")], Some((CLIENT, SECRET))).await;
    assert_oauth_error(&missing, 400, "invalid_request");
    let twice = request_token(
        &app,
        "",
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
        Some((CLIENT, SECRET)),
    )
    .await;
    assert_oauth_error(&twice, 400, "invalid_request");

    let json = app
        .client
        .post(app.url(TOKEN_PATH))
        .basic_auth(CLIENT, Some(SECRET))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 400);
    let get = app.client.get(app.url(TOKEN_PATH)).send().await.unwrap();
    assert_eq!(get.status(), 405);
}

#[tokio::test]
async fn an_unknown_scope_is_invalid_scope_and_a_granted_one_is_echoed() {
    let app = spawn().await;
    let unknown = request_token(
        &app,
        "",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "iflowd.MonitoringDataRead"),
        ],
        Some((CLIENT, SECRET)),
    )
    .await;
    assert_oauth_error(&unknown, 400, "invalid_scope");
    assert!(
        unknown.json["error_description"]
            .as_str()
            .unwrap()
            .contains("iflowd.MonitoringDataRead")
    );
    let granted = request_token(
        &app,
        "",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "iflowd.ESBMessaging.send"),
        ],
        Some((CLIENT, SECRET)),
    )
    .await;
    assert_eq!(granted.status, 200, "{}", granted.json);
    assert_eq!(granted.json["scope"], "iflowd.ESBMessaging.send");
}

#[tokio::test]
async fn a_valid_token_without_the_endpoints_role_is_403() {
    let app = spawn().await;
    let token = token_for(&app, MONITOR, MONITOR_SECRET).await;
    let response = post_with_bearer(&app, &token).await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ESBMessaging.send"),
        "{body}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_expired_token_is_401_invalid_token() {
    let app = spawn().await;
    let token = token_for(&app, CLIENT, SECRET).await;
    assert_eq!(post_with_bearer(&app, &token).await.status(), 200);
    tokio::time::advance(Duration::from_secs(3601)).await;
    assert_invalid_token(post_with_bearer(&app, &token).await, "expired").await;
    // A new token works again.
    let fresh = token_for(&app, CLIENT, SECRET).await;
    assert_eq!(post_with_bearer(&app, &fresh).await.status(), 200);
}

#[tokio::test]
async fn a_tampered_or_malformed_token_is_401_invalid_token() {
    let app = spawn().await;
    let token = token_for(&app, MONITOR, MONITOR_SECRET).await;
    let parts: Vec<&str> = token.split('.').collect();

    // The monitor client grants itself the endpoint's role by editing its claims.
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["scope"] = serde_json::json!(["iflowd.ESBMessaging.send"]);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap()),
        parts[2]
    );
    assert_invalid_token(post_with_bearer(&app, &forged).await, "signature").await;

    // Its signature altered.
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[0] ^= 1;
    let altered = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(signature)
    );
    assert_invalid_token(post_with_bearer(&app, &altered).await, "signature").await;

    // No signature at all ("alg": "none").
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
    );
    assert_invalid_token(post_with_bearer(&app, &none).await, "malformed").await;
    assert_invalid_token(post_with_bearer(&app, "not-a-jwt").await, "malformed").await;
}

#[tokio::test]
async fn a_token_of_one_instance_is_accepted_by_another_sharing_the_data_directory() {
    let shared = tempfile::tempdir().unwrap();
    let data_dir = shared.path().display().to_string();
    let first = TestApp::spawn(&oauth_toml(&data_dir, "")).await;
    let token = token_for(&first, CLIENT, SECRET).await;
    assert!(shared.path().join("oauth-signing.key").exists());

    // A second instance on the same directory, and the first one restarted.
    let second = TestApp::spawn(&oauth_toml(&data_dir, "")).await;
    assert_eq!(post_with_bearer(&second, &token).await.status(), 200);
    first.stop().await;
    let restarted = TestApp::spawn(&oauth_toml(&data_dir, "")).await;
    assert_eq!(post_with_bearer(&restarted, &token).await.status(), 200);

    // An instance with a key of its own does not accept it.
    let stranger = spawn().await;
    assert_invalid_token(post_with_bearer(&stranger, &token).await, "signature").await;
}

#[tokio::test]
async fn instances_configured_with_the_same_signing_key_accept_each_others_tokens() {
    let key = "[oauth]\nsigning_key = \"0123456789abcdef0123456789abcdef-shared\"\n";
    let first = TestApp::spawn(&oauth_toml("{dir}/data", key)).await;
    let second = TestApp::spawn(&oauth_toml("{dir}/data", key)).await;
    let token = token_for(&first, CLIENT, SECRET).await;
    assert_eq!(post_with_bearer(&second, &token).await.status(), 200);
    assert!(
        !second.path("data/oauth-signing.key").exists(),
        "a configured key is not written to disk"
    );
}

#[tokio::test]
async fn an_oauth_clients_id_and_secret_work_as_basic_credentials() {
    let app = spawn().await;
    let response = app
        .client
        .post(app.url(ENDPOINT))
        .basic_auth(CLIENT, Some(SECRET))
        .header("Content-Type", "text/xml")
        .body(fixture("hire.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn challenges_fit_the_scheme_the_caller_tried() {
    let app = spawn().await;
    let send = |auth: Option<String>| {
        let mut request = app
            .client
            .post(app.url(ENDPOINT))
            .header("Content-Type", "text/xml")
            .body(fixture("hire.xml"));
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        request.send()
    };
    let anonymous = send(None).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        challenges(&anonymous),
        [r#"Basic realm="iflowd""#, r#"Bearer realm="iflowd""#]
    );
    let basic = send(Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("isc:wrong")
    )))
    .await
    .unwrap();
    assert_eq!(challenges(&basic), [r#"Basic realm="iflowd""#]);
    let bearer = send(Some("Bearer abc.def.ghi".to_owned())).await.unwrap();
    let bearer_challenges = challenges(&bearer);
    assert_eq!(bearer_challenges.len(), 1);
    assert!(bearer_challenges[0].starts_with(r#"Bearer realm="iflowd", error="invalid_token""#));
}

#[tokio::test]
async fn the_token_path_and_scope_prefix_are_configurable() {
    let extra = "[oauth]\ntoken_path = \"/uaa/oauth/token\"\napp_name = \"it-rt-sandbox!b42\"\n";
    let app = TestApp::spawn(&oauth_toml("{dir}/data", extra)).await;
    let response = app
        .client
        .post(app.url("/uaa/oauth/token"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["scope"], "it-rt-sandbox!b42.ESBMessaging.send");
    let token = json["access_token"].as_str().unwrap();
    assert_eq!(post_with_bearer(&app, token).await.status(), 200);
    // The default path is now just an endpoint-less path.
    let old = app.client.post(app.url(TOKEN_PATH)).send().await.unwrap();
    assert_eq!(old.status(), 404);
}
