//! HTTPS and client certificates through real TLS connections: a certificate made by
//! `iflowd cert`, TLS 1.2/1.3 only, the handshake's time bound, two listeners, and mTLS (a user
//! mapped from a certificate, an endpoint's allow-list, `client_auth = "required"`), with ECDSA
//! and RSA keys.

use crate::common;

use std::time::Duration;

use crate::common::pki::Pki;
use crate::common::process::{iflowd, run};
use crate::common::{
    ARCHIVED_ENDPOINT, PASSWORD, TestApp, USER, element_text, envelope, fixture, users_toml,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ENDPOINT: &str = "/cxf/isc/events";
/// Generous bound for things that happen at once on an idle machine.
const BOUND: Duration = Duration::from_secs(10);

async fn post(
    client: &reqwest::Client,
    url: String,
    auth: bool,
) -> reqwest::Result<reqwest::Response> {
    let mut request = client
        .post(url)
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(fixture("change-in-manager.xml"));
    if auth {
        request = request.basic_auth(USER, Some(PASSWORD));
    }
    request.send().await
}

#[tokio::test]
async fn https_works_end_to_end_with_a_certificate_from_iflowd_cert() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = run(iflowd()
        .args([
            "cert",
            "--host",
            "localhost",
            "--host",
            "127.0.0.1",
            "--out",
        ])
        .arg(dir.path()))
    .await;
    assert!(ok, "{stdout}\n{stderr}");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let config = format!(
        "{}\n[tls]\ncert = {:?}\nkey = {:?}\n",
        users_toml(),
        cert.display().to_string(),
        key.display().to_string()
    );
    let app = TestApp::spawn(&config).await;
    assert_eq!(app.scheme, "https");

    // A client trusting the generated certificate, by IP address and by name.
    for url in [
        app.url(ENDPOINT),
        format!("https://localhost:{}{ENDPOINT}", app.address.port()),
    ] {
        let response = post(&app.client, url, true).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.text().await.unwrap();
        assert_eq!(element_text(&body, "status"), Some("200"), "{body}");
    }

    // The WSDL names the https address it was fetched from.
    let wsdl = app
        .client
        .get(app.url(&format!("{ENDPOINT}?wsdl")))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        wsdl.contains(&format!(r#"location="https://{}{ENDPOINT}""#, app.address)),
        "{wsdl}"
    );

    // A client that does not trust it, and plain HTTP on the TLS port, get nowhere.
    let stranger = iflowd::tls::client_builder()
        .tls_certs_only([common::pki::Pki::new().server_certificate()])
        .build()
        .unwrap();
    assert!(post(&stranger, app.url(ENDPOINT), true).await.is_err());
    let plain = post(
        &common::http_client(),
        format!("http://{}{ENDPOINT}", app.address),
        true,
    )
    .await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);
}

/// A ClientHello offering only `version` (no supported_versions extension, so nothing newer),
/// with ECDHE-ECDSA suites that fit the server's P-256 certificate.
fn client_hello(version: [u8; 2]) -> Vec<u8> {
    let mut extensions = Vec::new();
    // supported_groups: x25519, secp256r1
    extensions.extend_from_slice(&[0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17]);
    // ec_point_formats: uncompressed
    extensions.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
    // signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, rsa_pkcs1_sha256
    extensions.extend_from_slice(&[
        0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01,
    ]);
    let mut body = Vec::new();
    body.extend_from_slice(&version);
    body.extend_from_slice(&[0x42; 32]); // random
    body.push(0); // no session id
    // ECDHE-ECDSA-AES128-GCM-SHA256 (TLS 1.2), ECDHE-ECDSA-AES128-SHA (TLS 1.0/1.1)
    body.extend_from_slice(&[0x00, 0x04, 0xc0, 0x2b, 0xc0, 0x09]);
    body.extend_from_slice(&[0x01, 0x00]); // compression: null
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(&extensions);
    let mut handshake = vec![0x01];
    handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Sends a ClientHello and returns the first five bytes of the answer's record (type, version,
/// length) plus the first two of its content.
async fn first_record(app: &TestApp, hello: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream.write_all(hello).await.unwrap();
    let mut answer = vec![0u8; 7];
    tokio::time::timeout(BOUND, stream.read_exact(&mut answer))
        .await
        .expect("the server answers the ClientHello")
        .expect("a TLS record");
    answer
}

#[tokio::test]
async fn tls_1_1_is_refused_while_1_2_and_1_3_are_accepted() {
    let pki = Pki::new();
    let app = TestApp::spawn(&format!("{}{}", users_toml(), pki.tls_toml(None))).await;

    // TLS 1.1: a fatal protocol_version alert (record type 21, level 2, description 70).
    let answer = first_record(&app, &client_hello([0x03, 0x02])).await;
    assert_eq!(answer[0], 21, "an alert record: {answer:?}");
    assert_eq!(
        &answer[5..7],
        &[2, 70],
        "fatal protocol_version: {answer:?}"
    );
    // TLS 1.0 too.
    let answer = first_record(&app, &client_hello([0x03, 0x01])).await;
    assert_eq!(&answer[5..7], &[2, 70], "{answer:?}");

    // The same hello saying TLS 1.2 gets a ServerHello (handshake record, type 2).
    let answer = first_record(&app, &client_hello([0x03, 0x03])).await;
    assert_eq!(answer[0], 22, "a handshake record: {answer:?}");
    assert_eq!(answer[5], 2, "ServerHello: {answer:?}");

    // Real clients limited to TLS 1.2, or requiring TLS 1.3, succeed.
    for builder in [
        iflowd::tls::client_builder().tls_version_max(reqwest::tls::Version::TLS_1_2),
        iflowd::tls::client_builder().tls_version_min(reqwest::tls::Version::TLS_1_3),
    ] {
        let client = builder
            .tls_certs_only([pki.server_certificate()])
            .build()
            .unwrap();
        let response = post(&client, app.url(ENDPOINT), true).await.unwrap();
        assert_eq!(response.status(), 200);
    }
}

/// Certificates from a CA are often RSA, with the key in PKCS#1 PEM: the server's (PKCS#1) and a
/// client's (PKCS#8) work over TLS 1.2 and 1.3, and the client certificate maps to its user.
#[tokio::test]
async fn rsa_certificates_work_over_tls_1_2_and_1_3() {
    let pki = Pki::rsa();
    let config = format!(
        r#"{users}
[[users]]
name = "sfsf-cert"
certificate_subject = "CN=sfsf-event-sender,O=ACME Corp"
roles = ["ESBMessaging.send"]
{ARCHIVED_ENDPOINT}{tls}"#,
        users = users_toml(),
        tls = pki.tls_toml(Some("required"))
    );
    let app = TestApp::spawn(&config).await;
    for (version, builder) in [
        (
            "1.2",
            iflowd::tls::client_builder().tls_version_max(reqwest::tls::Version::TLS_1_2),
        ),
        (
            "1.3",
            iflowd::tls::client_builder().tls_version_min(reqwest::tls::Version::TLS_1_3),
        ),
    ] {
        let client = builder
            .tls_certs_only([pki.server_certificate()])
            .identity(pki.rsa_client_identity("sfsf-event-sender"))
            .build()
            .unwrap();
        let response = client
            .post(app.url(ENDPOINT))
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(envelope(&format!("rsa-tls-{version}"), 1, false))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "TLS {version}");
    }
    let archived = std::fs::read_to_string(app.path("events.jsonl")).unwrap();
    assert_eq!(archived.lines().count(), 2, "{archived}");
    for line in archived.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["sender"], "sfsf-cert");
    }
}

#[tokio::test]
async fn a_tls_handshake_that_never_finishes_is_cut_off() {
    let pki = Pki::new();
    // Headers may take a minute, so only the handshake bound can close the connection soon.
    let config = format!(
        "[limits]\nheader_read_timeout_ms = 60000\n{}{}handshake_timeout_ms = 200\n",
        users_toml(),
        pki.tls_toml(None)
    );
    let app = TestApp::spawn(&config).await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    let mut buffer = [0u8; 16];
    let read = tokio::time::timeout(BOUND, stream.read(&mut buffer))
        .await
        .expect("the server closes a silent connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

    // Meanwhile and afterwards, others are served.
    let response = post(&app.client, app.url(ENDPOINT), true).await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn plain_http_and_https_can_listen_side_by_side() {
    let pki = Pki::new();
    let config = format!(
        "{}{}http_listen = \"127.0.0.1:0\"\n",
        users_toml(),
        pki.tls_toml(None)
    );
    let app = TestApp::spawn(&config).await;
    let http = app.http_address.expect("a plain listener");
    let plain = format!("http://{http}{ENDPOINT}");
    let response = post(&common::http_client(), plain.clone(), true)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = post(&app.client, app.url(ENDPOINT), true).await.unwrap();
    assert_eq!(response.status(), 200);
    let wsdl = common::http_client()
        .get(format!("{plain}?wsdl"))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(wsdl.contains(&format!(r#"location="{plain}""#)), "{wsdl}");
    app.stop().await;
}

#[tokio::test]
async fn a_trusted_certificate_mapped_to_a_user_authenticates_without_a_password() {
    let pki = Pki::new();
    let config = format!(
        r#"{users}
[[users]]
name = "sfsf-cert"
certificate_subject = "O=ACME Corp,CN=sfsf-event-sender"
roles = ["ESBMessaging.send"]
{ARCHIVED_ENDPOINT}{tls}"#,
        users = users_toml(),
        tls = pki.tls_toml(Some("optional"))
    );
    let app = TestApp::spawn(&config).await;
    let client = pki.client(Some(pki.client_identity("sfsf-event-sender")));
    let response = post(&client, app.url(ENDPOINT), false).await.unwrap();
    assert_eq!(response.status(), 200);
    let archived = std::fs::read_to_string(app.path("events.jsonl")).unwrap();
    let event: serde_json::Value = serde_json::from_str(archived.lines().next().unwrap()).unwrap();
    assert_eq!(event["sender"], "sfsf-cert");

    // Basic credentials on the same connection count instead of the certificate.
    let response = post(&client, app.url(ENDPOINT), true).await.unwrap();
    assert_eq!(response.status(), 200);
    // A trusted certificate mapped to nobody, and no certificate, need credentials.
    let unmapped = pki.client(Some(pki.client_identity("someone-else")));
    assert_eq!(
        post(&unmapped, app.url(ENDPOINT), false)
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        post(&pki.client(None), app.url(ENDPOINT), false)
            .await
            .unwrap()
            .status(),
        401
    );
    // A certificate from a CA the server does not trust fails the handshake.
    let rogue = pki.client(Some(pki.rogue_identity("sfsf-event-sender")));
    assert!(post(&rogue, app.url(ENDPOINT), false).await.is_err());
}

#[tokio::test]
async fn an_endpoints_allow_list_admits_listed_subjects_and_answers_others_403() {
    let pki = Pki::new();
    let config = format!(
        r#"{users}
[[endpoints]]
name = "ISC_Certificates"
address = "/isc/events"
client_certificates = ["o=acme corp,  cn=SFSF-Event-Sender", "CN=other-sender,O=ACME Corp"]
{tls}"#,
        users = users_toml(),
        tls = pki.tls_toml(Some("optional"))
    );
    let app = TestApp::spawn(&config).await;
    let listed = pki.client(Some(pki.client_identity("sfsf-event-sender")));
    let response = post(&listed, app.url(ENDPOINT), false).await.unwrap();
    assert_eq!(response.status(), 200);

    let outsider = pki.client(Some(pki.client_identity("intruder")));
    let response = post(&outsider, app.url(ENDPOINT), false).await.unwrap();
    assert_eq!(response.status(), 403);
    let body: serde_json::Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("intruder") && message.contains("allow-list"),
        "{message}"
    );

    // Without a certificate, even good Basic credentials are not enough here, and the 401
    // invites no password.
    let response = post(&pki.client(None), app.url(ENDPOINT), true)
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(!response.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn client_auth_required_refuses_a_client_without_a_certificate() {
    let pki = Pki::new();
    let config = format!("{}{}", users_toml(), pki.tls_toml(Some("required")));
    let app = TestApp::spawn(&config).await;
    let error = post(&pki.client(None), app.url(ENDPOINT), true)
        .await
        .expect_err("no certificate, no connection");
    assert!(
        error.status().is_none(),
        "refused in TLS, not by HTTP: {error}"
    );
    assert!(
        post(
            &pki.client(Some(pki.rogue_identity("x"))),
            app.url(ENDPOINT),
            true
        )
        .await
        .is_err()
    );
    let trusted = pki.client(Some(pki.client_identity("sfsf-event-sender")));
    let response = post(&trusted, app.url(ENDPOINT), true).await.unwrap();
    assert_eq!(response.status(), 200);
}
