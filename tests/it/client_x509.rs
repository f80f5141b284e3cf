//! CPI's `client_x509`: an OAuth client configured with a certificate subject gets a token over
//! mutual TLS without a secret, and reaches the API with its certificate alone.

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::pki::Pki;
use crate::common::{TestApp, users_toml};

const TOKEN: &str = "/oauth/token";
const COLLECTOR: &str = "sb-collector";

fn config(pki: &Pki) -> String {
    format!(
        r#"{users}
[[oauth_clients]]
id = "{COLLECTOR}"
certificate_subject = "CN=collector, O=ACME Corp"
roles = ["MonitoringDataRead", "HealthCheckMonitoringDataRead"]

[[oauth_clients]]
id = "sb-secret"
secret = "the-secret"
roles = ["ESBMessaging.send"]
{tls}"#,
        users = users_toml(),
        tls = pki.tls_toml(Some("optional"))
    )
}

/// A token request over `client` with `form`; the status and the JSON.
async fn request(
    app: &TestApp,
    client: &reqwest::Client,
    form: &[(&str, &str)],
) -> (StatusCode, Value, Vec<String>) {
    let response = client
        .post(app.url(TOKEN))
        .form(form)
        .send()
        .await
        .expect("token request sent");
    let status = response.status();
    let challenges = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    (status, response.json().await.unwrap(), challenges)
}

#[tokio::test]
async fn a_client_certificate_gets_a_token_without_a_secret() {
    let pki = Pki::new();
    let app = TestApp::spawn(&config(&pki)).await;
    let collector = pki.client(Some(pki.client_identity("collector")));

    let grant = [("grant_type", "client_credentials")];
    let (status, body, _) = request(&app, &collector, &grant).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["scope"],
        "iflowd.HealthCheckMonitoringDataRead iflowd.MonitoringDataRead"
    );
    let token = body["access_token"].as_str().unwrap();
    // The token reads the API from a client without any certificate.
    let plain = pki.client(None);
    let logs = plain
        .get(app.url("/api/v1/MessageProcessingLogs"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(logs.status(), 200);

    // Naming the client as RFC 8705 clients do.
    let (status, body, _) = request(
        &app,
        &collector,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", COLLECTOR),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // The certificate alone, without a token, is the client too (CPI's client certificate
    // authentication for API clients).
    let direct = collector
        .get(app.url("/api/v1/AuditLogs"))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_certificate_of_no_client_or_of_another_client_gets_invalid_client() {
    let pki = Pki::new();
    let app = TestApp::spawn(&config(&pki)).await;
    let collector = pki.client(Some(pki.client_identity("collector")));
    let stranger = pki.client(Some(pki.client_identity("stranger")));
    let plain = pki.client(None);

    let (status, body, _) = request(&app, &stranger, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("is the certificate_subject of no OAuth client"),
        "{body}"
    );
    let (status, body, _) = request(
        &app,
        &collector,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "sb-secret"),
        ],
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error_description"],
        "the client certificate 'CN=collector, O=ACME Corp' does not belong to client 'sb-secret'"
    );
    let (status, body, challenges) =
        request(&app, &plain, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 401);
    assert_eq!(challenges, [r#"Basic realm="iflowd""#], "{body}");
    let (status, body, _) = request(
        &app,
        &plain,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", COLLECTOR),
        ],
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("present the client's certificate over TLS"),
        "{body}"
    );
    // A secret, when given, decides: the certificate does not make a wrong one right.
    let wrong = collector
        .post(app.url(TOKEN))
        .basic_auth("sb-secret", Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    // A certificate from a CA iflowd does not trust never gets past the handshake.
    let rogue = pki.client(Some(pki.rogue_identity("collector")));
    assert!(
        rogue
            .post(app.url(TOKEN))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .is_err()
    );

    assert_refusals_audited(&app).await;
    app.stop().await;
}

/// The refusals above are in the audit log, with the client they named.
async fn assert_refusals_audited(app: &TestApp) {
    let audit = app
        .api_results("AuditLogs?$filter=Action%20eq%20'LOGIN_FAILED'&$orderby=ChangeId")
        .await;
    let users: Vec<&Value> = audit.iter().map(|r| &r["UserName"]).collect();
    assert_eq!(
        users,
        [
            &Value::Null,
            &Value::from("sb-secret"),
            &Value::from("sb-secret")
        ],
        "{audit:#?}"
    );
    assert_eq!(
        audit[0]["Details"],
        "refused: the client certificate 'CN=stranger, O=ACME Corp' is the certificate_subject of no OAuth client"
    );
}
