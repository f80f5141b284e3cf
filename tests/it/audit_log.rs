//! The audit log through the monitoring API (`AuditLogs`): start, configuration, refused
//! credentials and stop are recorded, found by time, user and action, read only with
//! `MonitoringDataRead`; and no credential ever reaches it.

use reqwest::StatusCode;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::common::oauth::{CLIENT, SECRET, TOKEN_PATH, oauth_toml};
use crate::common::queue::millis;
use crate::common::{
    MONITOR, MONITOR_PASSWORD, OUTSIDER, OUTSIDER_PASSWORD, PASSWORD, TestApp, USER, fixture,
    users_toml,
};

const ENDPOINT: &str = "/cxf/isc/events";

/// POSTs the fixture to the endpoint with Basic `user:password`; asserts the status.
async fn post_as(app: &TestApp, user: &str, password: &str, status: u16) {
    let response = app
        .client
        .post(app.url(ENDPOINT))
        .basic_auth(user, Some(password))
        .header("Content-Type", "text/xml")
        .body(fixture("hire.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), status, "{user}");
}

/// `AuditLogs` with `query` (already encoded), oldest first.
async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let separator = if query.is_empty() { "" } else { "&" };
    app.api_results(&format!(
        "AuditLogs?$orderby=Timestamp%20asc,ChangeId%20asc{separator}{query}"
    ))
    .await
}

fn actions(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["Action"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn start_configuration_refused_credentials_and_stop_are_recorded() {
    let app = TestApp::spawn_default().await;
    post_as(&app, USER, "wrong", 401).await;
    post_as(&app, USER, PASSWORD, 200).await;
    let nobody = app
        .client
        .post(app.url(ENDPOINT))
        .header("Content-Type", "text/xml")
        .body(fixture("hire.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(nobody.status(), 401, "no credentials: not a failed login");
    let unknown = app
        .api_as("mallory", "guess", "MessageProcessingLogs")
        .await;
    assert_eq!(unknown.status(), 401);

    let records = audit(&app, "").await;
    assert_eq!(
        actions(&records),
        [
            "CONFIGURATION_LOADED",
            "START",
            "LOGIN_FAILED",
            "LOGIN_FAILED"
        ],
        "{records:#?}"
    );
    let file = app.path("iflowd.toml").display().to_string();
    let loaded = &records[0];
    assert_eq!(loaded["ObjectName"], file.as_str());
    assert_eq!(loaded["Details"], "endpoints: ISC_Events (/cxf/isc/events)");
    assert_eq!(loaded["UserName"], "iflowd");
    assert_eq!(loaded["UserType"], "SYSTEM");
    let started = &records[1];
    assert_eq!(
        started["Details"],
        format!(
            "iflowd {} started, listening on http://{}",
            env!("CARGO_PKG_VERSION"),
            app.address
        )
    );
    let (wrong, guessed) = (&records[2], &records[3]);
    assert_eq!(wrong["UserName"], USER);
    assert_eq!(wrong["UserType"], "USER");
    assert_eq!(wrong["ObjectName"], ENDPOINT);
    assert_eq!(wrong["Source"], "127.0.0.1");
    assert_eq!(wrong["Details"], "refused: wrong user name or password");
    assert_eq!(guessed["UserName"], "mallory");
    assert_eq!(guessed["ObjectName"], "/api/v1/MessageProcessingLogs");
    assert!(
        wrong["Timestamp"]
            .as_str()
            .is_some_and(|d| d.starts_with("/Date(")),
        "{wrong}"
    );

    // The stop is in the log the next run reads.
    let dir = app.stop_keeping_dir().await;
    let app = TestApp::spawn_in(dir, &users_toml()).await;
    let records = audit(&app, "").await;
    assert_eq!(
        actions(&records)[4..],
        ["STOP", "CONFIGURATION_LOADED", "START"],
        "{records:#?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn audit_logs_are_found_by_time_user_and_action() {
    let app = TestApp::spawn_default().await;
    let before = OffsetDateTime::now_utc();
    post_as(&app, "mallory", "one", 401).await;
    post_as(&app, "eve", "two", 401).await;
    post_as(&app, "mallory", "three", 401).await;

    let mallory = audit(
        &app,
        "$filter=Action%20eq%20'LOGIN_FAILED'%20and%20UserName%20eq%20'mallory'&$inlinecount=allpages",
    )
    .await;
    assert_eq!(mallory.len(), 2);
    assert!(mallory.iter().all(|r| r["UserName"] == "mallory"));
    let failed = app
        .api("AuditLogs?$filter=Action%20eq%20'LOGIN_FAILED'&$inlinecount=allpages&$top=1")
        .await;
    assert_eq!(failed["d"]["__count"], "3");
    assert_eq!(failed["d"]["results"].as_array().unwrap().len(), 1);
    assert_eq!(
        failed["d"]["results"][0]["UserName"], "mallory",
        "newest first by default"
    );

    // The moment before the failed logins splits the system's records from them.
    let moment = (before - time::Duration::milliseconds(1))
        .format(&Rfc3339)
        .unwrap();
    let moment = moment.trim_end_matches('Z');
    let since = audit(
        &app,
        &format!("$filter=Timestamp%20ge%20datetime'{moment}'%20and%20UserType%20eq%20'USER'"),
    )
    .await;
    assert_eq!(since.len(), 3, "{since:#?}");
    // The time alone, at the first failed login's own Timestamp: exactly the records from it on,
    // as the client counts them from the whole log (which has earlier ones: the start's).
    let all = audit(&app, "").await;
    let first_login = all
        .iter()
        .find(|r| r["Action"] == "LOGIN_FAILED")
        .map(|r| millis(&r["Timestamp"]))
        .unwrap();
    let expected: Vec<&Value> = all
        .iter()
        .filter(|r| millis(&r["Timestamp"]) >= first_login)
        .collect();
    assert!(
        expected.len() < all.len(),
        "some records are older: {all:#?}"
    );
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(first_login) * 1_000_000)
        .unwrap()
        .format(&Rfc3339)
        .unwrap();
    let from_then = audit(
        &app,
        &format!(
            "$filter=Timestamp%20ge%20datetime'{}'",
            at.trim_end_matches('Z')
        ),
    )
    .await;
    assert_eq!(
        from_then.iter().collect::<Vec<_>>(),
        expected,
        "Timestamp ge {at}"
    );
    let system = audit(&app, "$filter=UserType%20eq%20'SYSTEM'").await;
    assert_eq!(actions(&system), ["CONFIGURATION_LOADED", "START"]);

    // One record by its key, and one property of it.
    let id = since[1]["ChangeId"].as_str().unwrap();
    let one = app.api(&format!("AuditLogs('{id}')")).await;
    assert_eq!(one["d"]["UserName"], "eve");
    let property = app.api(&format!("AuditLogs('{id}')/Action")).await;
    assert_eq!(property["d"]["Action"], "LOGIN_FAILED");
    let missing = app.api_as(USER, PASSWORD, "AuditLogs('999999')").await;
    assert_eq!(missing.status(), 404);
    let bad = app
        .api_as(USER, PASSWORD, "AuditLogs?$filter=Actor%20eq%20'x'")
        .await;
    assert_eq!(bad.status(), 400);
    let selected = app.api("AuditLogs?$select=Action&$top=1").await;
    let first = &selected["d"]["results"][0];
    assert!(first.get("UserName").is_none() && first["Action"].is_string());
}

#[tokio::test]
async fn reading_the_audit_log_takes_monitoring_data_read() {
    let app = TestApp::spawn_default().await;
    let anonymous = app
        .client
        .get(app.url("/api/v1/AuditLogs"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let outsider = app.api_as(OUTSIDER, OUTSIDER_PASSWORD, "AuditLogs").await;
    assert_eq!(outsider.status(), 403);
    let error: Value = outsider.json().await.unwrap();
    assert_eq!(
        error["error"]["message"]["value"],
        "user 'outsider' does not have the role 'MonitoringDataRead' this requires"
    );
    let monitor = app.api_as(MONITOR, MONITOR_PASSWORD, "AuditLogs").await;
    assert_eq!(monitor.status(), 200);
}

#[tokio::test]
async fn failed_logins_are_recorded_at_most_100_a_minute() {
    let app = TestApp::spawn_default().await;
    for _ in 0..105 {
        post_as(&app, "flood", "x", 401).await;
    }
    let flood = app
        .api("AuditLogs?$filter=UserName%20eq%20'flood'&$inlinecount=allpages&$top=0")
        .await;
    assert_eq!(flood["d"]["__count"], "100");
}

/// Distinctive secrets, each sent in one way a credential can travel.
const SECRETS: [&str; 6] = [
    "pw-in-basic-S3CR3T",
    "pw-unknown-user-S3CR3T",
    "client-secret-in-body-S3CR3T",
    "client-secret-in-header-S3CR3T",
    "bearer-token-S3CR3T",
    "malformed-basic-S3CR3T",
];

#[tokio::test]
async fn no_credential_ever_reaches_the_audit_log() {
    use base64::Engine;
    let app = TestApp::spawn(&oauth_toml("{dir}/data", "")).await;
    post_as(&app, USER, SECRETS[0], 401).await;
    post_as(&app, "nobody-we-know", SECRETS[1], 401).await;
    let token = |form: Vec<(&'static str, String)>, basic: Option<&'static str>| {
        let mut request = app.client.post(app.url(TOKEN_PATH)).form(&form);
        if let Some(secret) = basic {
            request = request.basic_auth(CLIENT, Some(secret));
        }
        request.send()
    };
    let body = token(
        vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", CLIENT.into()),
            ("client_secret", SECRETS[2].into()),
        ],
        None,
    )
    .await
    .unwrap();
    assert_eq!(body.status(), StatusCode::UNAUTHORIZED);
    let header = token(
        vec![("grant_type", "client_credentials".into())],
        Some(SECRETS[3]),
    )
    .await
    .unwrap();
    assert_eq!(header.status(), StatusCode::UNAUTHORIZED);
    let bearer = app
        .client
        .get(app.url("/api/v1/AuditLogs"))
        .bearer_auth(format!("eyJ0eXAiOiJKV1QifQ.{}.sig", SECRETS[4]))
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
    let malformed = base64::engine::general_purpose::STANDARD.encode(SECRETS[5]);
    let broken = app
        .client
        .post(app.url(ENDPOINT))
        .header("Authorization", format!("Basic {malformed}"))
        .body(fixture("hire.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::UNAUTHORIZED);
    // And the right secret, for good measure: a token request that succeeds.
    let granted = token(
        vec![("grant_type", "client_credentials".into())],
        Some(SECRET),
    )
    .await
    .unwrap();
    assert_eq!(granted.status(), StatusCode::OK);

    let text = app
        .api_as(USER, PASSWORD, "AuditLogs")
        .await
        .text()
        .await
        .unwrap();
    let records: Value = serde_json::from_str(&text).unwrap();
    let failed = records["d"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["Action"] == "LOGIN_FAILED")
        .count();
    assert_eq!(failed, SECRETS.len(), "each attempt is recorded: {text}");
    for secret in SECRETS.iter().chain([&SECRET]) {
        assert!(!text.contains(secret), "{secret} in {text}");
        assert!(!text.contains("S3CR3T"), "{text}");
    }
    // Nor the Basic headers as they travelled, base64 and all.
    let b64 = |text: String| base64::engine::general_purpose::STANDARD.encode(text);
    let headers = [
        b64(format!("{USER}:{}", SECRETS[0])),
        b64(format!("nobody-we-know:{}", SECRETS[1])),
        b64(format!("{CLIENT}:{}", SECRETS[3])),
        malformed.clone(),
        b64(format!("{CLIENT}:{SECRET}")),
    ];
    for header in &headers {
        assert!(!text.contains(header.as_str()), "{header} in {text}");
    }

    // The database and its write-ahead log, as they are on the disk now.
    let mut scanned = 0;
    for file in std::fs::read_dir(app.path("data")).unwrap() {
        let path = file.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        scanned += bytes.len();
        for secret in SECRETS
            .iter()
            .chain([&SECRET])
            .copied()
            .chain(headers.iter().map(String::as_str))
        {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} in {}",
                path.display()
            );
        }
    }
    assert!(scanned > 0);
    app.stop().await;
}

#[tokio::test]
async fn a_refused_monitor_login_is_recorded_without_its_password() {
    use crate::monitor::{Monitor, basic};
    let monitor = Monitor::start().await;
    let answer = monitor.log_in(USER, "monitor-S3CR3T").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let audit = monitor
        .get(
            "/api/v1/AuditLogs?$filter=Action%20eq%20'LOGIN_FAILED'",
            &[("authorization", &basic(USER, PASSWORD))],
        )
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    let records: Value = serde_json::from_str(&audit.body).unwrap();
    let record = &records["d"]["results"][0];
    assert_eq!(record["UserName"], USER);
    assert_eq!(record["ObjectName"], "/monitor/login");
    assert_eq!(record["Details"], "refused: wrong user name or password");
    assert!(!audit.body.contains("S3CR3T"), "{}", audit.body);
}
