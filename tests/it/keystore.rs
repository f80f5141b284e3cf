//! `KeystoreEntries` (the `[tls]` chain, the client CA, the OAuth signing key) and the
//! certificate-expiry metric, with `HealthCheckMonitoringDataRead` as CPI's health collectors
//! read them.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::Value;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::common::pki::Pki;
use crate::common::{OUTSIDER, OUTSIDER_PASSWORD, TestApp, users_toml};

/// A user with only the health-check role, as SAP Cloud ALM is given.
const HEALTH: &str = "calm";
const HEALTH_PASSWORD: &str = "calm-pw";

fn config(pki: &Pki) -> String {
    format!(
        r#"{users}
[[users]]
name = "{HEALTH}"
password = "{HEALTH_PASSWORD}"
roles = ["HealthCheckMonitoringDataRead"]

[[oauth_clients]]
id = "sb-client"
secret = "client-secret"
{tls}"#,
        users = users_toml(),
        tls = pki.tls_toml(Some("optional"))
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn date_ms(value: &Value) -> i64 {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a date: {value}"));
    text.trim_start_matches("/Date(")
        .trim_end_matches(")/")
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_keystore_lists_the_tls_chain_the_client_ca_and_the_signing_key() {
    let pki = Pki::new();
    let app = TestApp::spawn(&config(&pki)).await;
    let entries = app.api_results("KeystoreEntries").await;
    let aliases: Vec<&str> = entries
        .iter()
        .map(|e| e["Alias"].as_str().unwrap())
        .collect();
    assert_eq!(aliases, ["server", "client_ca_1", "oauth_signing_key"]);

    let pem = std::fs::read(&pki.server_cert).unwrap();
    let der = CertificateDer::from_pem_slice(&pem).unwrap();
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    let server = &entries[0];
    assert_eq!(server["Hexalias"], hex(b"server"));
    assert_eq!(server["Type"], "KeyPair");
    assert_eq!(server["Owner"], "Tenant");
    assert_eq!(server["KeyType"], "EC");
    assert_eq!(server["KeySize"], 256);
    assert_eq!(server["Subject"], cert.subject().to_string());
    assert_eq!(server["Issuer"], cert.issuer().to_string());
    assert_eq!(
        server["SerialNumber"],
        cert.tbs_certificate.serial.to_string()
    );
    assert_eq!(
        date_ms(&server["ValidNotAfter"]),
        cert.validity().not_after.timestamp() * 1000
    );
    assert_eq!(
        date_ms(&server["ValidNotBefore"]),
        cert.validity().not_before.timestamp() * 1000
    );
    assert_eq!(server["FingerprintSha256"], hex(&Sha256::digest(&der)));

    let ca = &entries[1];
    assert_eq!(ca["Type"], "Certificate");
    assert_eq!(ca["Subject"], "CN=iflowd test client CA");

    let key = std::fs::read_to_string(app.path("data/oauth-signing.key")).unwrap();
    use base64::Engine;
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key.trim())
        .unwrap();
    let signing = &entries[2];
    assert_eq!(signing["Type"], "SecretKey");
    assert_eq!(signing["KeyType"], "HMAC");
    assert_eq!(signing["KeySize"], 256);
    assert_eq!(signing["FingerprintSha256"], hex(&Sha256::digest(&key)));
    assert_eq!(signing["ValidNotAfter"], Value::Null);
    let text = app.api("KeystoreEntries").await.to_string();
    assert!(
        !text.contains(&hex(&key)) && !text.contains(key_text(&app).trim()),
        "the key itself is never shown"
    );

    assert_declared(&app, server).await;

    // By key, one property, and a filter on the expiry.
    let one = app
        .api(&format!("KeystoreEntries('{}')", hex(b"client_ca_1")))
        .await;
    assert_eq!(one["d"]["Alias"], "client_ca_1");
    let subject = app
        .api(&format!("KeystoreEntries('{}')/Subject", hex(b"server")))
        .await;
    assert_eq!(subject["d"]["Subject"], server["Subject"]);
    let expiring = app
        .api_results("KeystoreEntries?$filter=ValidNotAfter%20lt%20datetime'9999-01-01T00:00:00'&$orderby=ValidNotAfter")
        .await;
    assert_eq!(expiring.len(), 2, "the two certificates, not the key");
    app.stop().await;
}

/// Asserts that `entry` has exactly the properties `$metadata` declares for `KeystoreEntry`.
async fn assert_declared(app: &TestApp, server: &Value) {
    let metadata = app
        .client
        .get(app.url("/api/v1/$metadata"))
        .basic_auth(crate::common::USER, Some(crate::common::PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let declared = metadata
        .split(r#"<EntityType Name="KeystoreEntry">"#)
        .nth(1)
        .and_then(|rest| rest.split("</EntityType>").next())
        .expect("KeystoreEntry in $metadata");
    let keys: Vec<&String> = server
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "__metadata")
        .collect();
    assert_eq!(declared.matches("<Property ").count(), keys.len());
    for key in keys {
        assert!(
            declared.contains(&format!(r#"<Property Name="{key}""#)),
            "{key}"
        );
    }
}

fn key_text(app: &TestApp) -> String {
    std::fs::read_to_string(app.path("data/oauth-signing.key")).unwrap()
}

#[tokio::test]
async fn the_health_check_role_reads_the_keystore_and_nothing_else() {
    let pki = Pki::new();
    let app = TestApp::spawn(&config(&pki)).await;
    for (path, status) in [
        ("KeystoreEntries", 200),
        ("$metadata", 200),
        ("", 200),
        (
            &*format!("KeystoreEntries('{}')/Alias", hex(b"server")),
            200,
        ),
        ("MessageProcessingLogs", 403),
        ("AuditLogs", 403),
        ("IntegrationPackages", 403),
    ] {
        let response = app.api_as(HEALTH, HEALTH_PASSWORD, path).await;
        assert_eq!(response.status(), status, "{path}");
    }
    let refused = app.api_as(HEALTH, HEALTH_PASSWORD, "AuditLogs").await;
    let error: Value = refused.json().await.unwrap();
    assert_eq!(
        error["error"]["message"]["value"],
        "user 'calm' does not have the role 'MonitoringDataRead' this requires"
    );
    let outsider = app
        .api_as(OUTSIDER, OUTSIDER_PASSWORD, "KeystoreEntries")
        .await;
    assert_eq!(outsider.status(), 403);
    let anonymous = app
        .client
        .get(app.url("/api/v1/KeystoreEntries"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn metrics_count_the_seconds_until_each_certificate_expires() {
    let pki = Pki::new();
    let app = TestApp::spawn(&config(&pki)).await;
    let entries = app.api_results("KeystoreEntries").await;
    let metrics = app.metrics().await;
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    for alias in ["server", "client_ca_1"] {
        let line = metrics
            .lines()
            .find(|l| {
                l.starts_with(&format!(
                    "iflowd_certificate_expiry_seconds{{alias=\"{alias}\"}} "
                ))
            })
            .unwrap_or_else(|| panic!("no series for {alias} in\n{metrics}"));
        let seconds: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        let entry = entries.iter().find(|e| e["Alias"] == alias).unwrap();
        let expected = (date_ms(&entry["ValidNotAfter"]) - now_ms) / 1000;
        assert!(
            (seconds - expected).abs() <= 60,
            "{alias}: {seconds} s, expected about {expected}"
        );
        assert!(seconds > 0);
    }
    assert!(
        !metrics.contains("alias=\"oauth_signing_key\""),
        "a key does not expire"
    );
    app.stop().await;
}
