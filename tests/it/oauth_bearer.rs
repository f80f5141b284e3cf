//! Bearer tokens on the endpoint: roles from scopes, expiry on tokio's paused clock, tampering,
//! a signing key shared between instances and kept across restarts, and the challenges of 401s.

use std::time::Duration;

use crate::common::oauth::*;
use crate::common::{TestApp, fixture};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

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
