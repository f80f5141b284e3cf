//! The OAuth 2.0 token endpoint as SuccessFactors' ISC Event Connector uses it: both ways of
//! sending the client's credentials, the grant type and scope rules, and every RFC 6749 error.

use crate::common;

use crate::common::element_text;
use crate::common::oauth::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

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

    // RFC 6749 §2.3.1: a client that form-encodes its secret inside the Basic header.
    let encoded = SECRET.replace(':', "%3A");
    assert_ne!(encoded, SECRET);
    let answer = request_token(
        &app,
        "",
        &[("grant_type", "client_credentials")],
        Some((CLIENT, &encoded)),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.json);

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
