//! `iflowd service-key`: the key a monitoring tool is configured with, and the key at work.

use serde_json::Value;

use crate::common::process::{iflowd, run};
use crate::common::{TestApp, users_toml};

const PUBLIC: &str = "https://iflowd.example.com";

fn config() -> String {
    format!(
        r#"{users}
[proxy]
public_url = "{PUBLIC}"

[[oauth_clients]]
id = "sb-monitoring"
secret = "monitoring-secret"
roles = ["MonitoringDataRead", "MessagePayloadsRead", "HealthCheckMonitoringDataRead"]

[[oauth_clients]]
id = "sb-hashed"
secret_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
"#,
        users = users_toml()
    )
}

/// Writes `text` as a configuration in `dir` and runs `iflowd service-key <client>` on it.
async fn service_key(dir: &std::path::Path, text: &str, client: &str) -> (bool, String, String) {
    let file = dir.join("service-key.toml");
    std::fs::write(&file, text.replace("{dir}", &dir.display().to_string())).unwrap();
    run(iflowd()
        .args(["service-key", client, "--config"])
        .arg(&file))
    .await
}

#[tokio::test]
async fn the_printed_key_configures_a_client_that_reads_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("data_dir = \"{{dir}}/data\"\n{}", config());
    let (ok, stdout, stderr) = service_key(dir.path(), &text, "sb-monitoring").await;
    assert!(ok, "{stderr}");
    let key: Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    let oauth = &key["oauth"];
    assert_eq!(oauth["clientid"], "sb-monitoring");
    assert_eq!(oauth["clientsecret"], "monitoring-secret");
    assert_eq!(oauth["url"], PUBLIC);
    assert_eq!(oauth["tokenurl"], format!("{PUBLIC}/oauth/token"));
    let created = time::OffsetDateTime::parse(
        oauth["createdate"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("createdate is RFC 3339");
    assert!(created <= time::OffsetDateTime::now_utc());
    assert!(
        stderr.contains("HealthCheckMonitoringDataRead"),
        "the roles are named: {stderr}"
    );

    // What a collector does with it, against a server run from the same configuration: the
    // key's URLs, with the test server's address standing in for the public one.
    let app = TestApp::spawn(&text).await;
    let here = |url: &Value| url.as_str().unwrap().replace(PUBLIC, &app.url(""));
    let token: Value = app
        .client
        .post(here(&oauth["tokenurl"]))
        .basic_auth(
            oauth["clientid"].as_str().unwrap(),
            oauth["clientsecret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().expect("a token");
    for set in [
        "MessageProcessingLogs",
        "KeystoreEntries",
        "AuditLogs",
        "JmsBrokers('Broker1')",
    ] {
        let response = app
            .client
            .get(format!("{}/api/v1/{set}", here(&oauth["url"])))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{set}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_hashed_secret_cannot_be_printed_and_an_unknown_client_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = service_key(dir.path(), &config(), "sb-hashed").await;
    assert!(ok, "{stderr}");
    let key: Value = serde_json::from_str(&stdout).unwrap();
    assert!(key["oauth"].get("clientsecret").is_none(), "{stdout}");
    assert!(!stdout.contains("argon2"), "{stdout}");
    assert!(
        stderr.contains("has only a secret_hash")
            && stderr.contains("add \"clientsecret\": \"<the secret you hashed>\""),
        "{stderr}"
    );

    let (ok, _, stderr) = service_key(dir.path(), &config(), "sb-nobody").await;
    assert!(!ok);
    assert!(
        stderr.contains(
            "there is no OAuth client 'sb-nobody'; the configuration has sb-monitoring, sb-hashed"
        ),
        "{stderr}"
    );

    let listen = "listen = \"0.0.0.0:8443\"\n[[oauth_clients]]\nid = \"sb-x\"\nsecret = \"s\"\n";
    let (ok, stdout, stderr) = service_key(dir.path(), listen, "sb-x").await;
    assert!(ok, "{stderr}");
    let key: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(key["oauth"]["url"], "http://localhost:8443");
    assert!(stderr.contains("set [proxy] public_url"), "{stderr}");
}
