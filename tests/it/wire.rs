//! Wire fidelity: the exact bytes other SOAP stacks send (UTF-16 with a byte order mark, Latin-1
//! from Perl SOAP::Lite, windows-1252), and the faults SOAP stacks act on (`VersionMismatch`,
//! `MustUnderstand`), through HTTP. What the handlers saw is read back from a `jsonl` archive;
//! what was received, from the message log.

use crate::common::downstream::Downstream;
use crate::common::nats::NatsServer;
use crate::common::{
    ARCHIVED_ENDPOINT, PASSWORD, TestApp, USER, element_text, fixture, message_id, users_toml,
};

const ENDPOINT: &str = "/cxf/isc/events";

async fn archived() -> TestApp {
    TestApp::spawn(&format!("{}{ARCHIVED_ENDPOINT}", users_toml())).await
}

/// POSTs `body` to `path` as the test user, with this `Content-Type`.
async fn post(app: &TestApp, path: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .basic_auth(USER, Some(PASSWORD))
        .header("Content-Type", content_type)
        .header("SOAPAction", "\"\"")
        .body(body)
        .send()
        .await
        .expect("request sent")
}

/// The event lines the `jsonl` handler wrote.
fn archive(app: &TestApp) -> Vec<serde_json::Value> {
    std::fs::read_to_string(app.path("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// Asserts a 200 acknowledgement in UTF-8, and that the log kept the request byte for byte.
async fn assert_acknowledged(app: &TestApp, response: reqwest::Response, sent: &[u8]) {
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/xml; charset=utf-8"
    );
    let id = message_id(&response);
    let bytes = response.bytes().await.unwrap();
    let text = std::str::from_utf8(&bytes).expect("the answer is UTF-8");
    assert_eq!(element_text(text, "status"), Some("200"), "{text}");
    let stored = app.stored_body(&id, "request").await;
    assert_eq!(stored.status(), 200);
    assert_eq!(&stored.bytes().await.unwrap()[..], sent, "kept as received");
}

/// Asserts a SOAP 1.1 fault with HTTP 500 and `code`, and returns its reason (unescaped).
async fn fault_reason(response: reqwest::Response, code: &str) -> String {
    assert_eq!(response.status(), 500);
    let body = response.text().await.unwrap();
    assert_eq!(element_text(&body, "faultcode"), Some(code), "{body}");
    let reason = element_text(&body, "faultstring").unwrap();
    quick_xml::escape::unescape(reason).unwrap().into_owned()
}

#[tokio::test]
async fn utf16_with_a_byte_order_mark_is_read_and_answered_in_utf8() {
    let app = archived().await;
    for name in ["utf16le-bom.xml", "utf16be-bom.xml"] {
        let body = fixture(name);
        let response = post(&app, ENDPOINT, "text/xml; charset=utf-16", body.clone()).await;
        assert_acknowledged(&app, response, &body).await;
    }
    let lines = archive(&app);
    assert_eq!(lines.len(), 2);
    for line in lines {
        assert_eq!(line["kind"], "hire");
        assert_eq!(line["keys"]["userId"], "jürgen.müller");
        assert_eq!(line["params"]["lastName"], "Müller-Lüdenscheidt");
        assert_eq!(line["params"]["city"], "Zürich");
    }
    app.stop().await;
}

#[tokio::test]
async fn latin1_from_perl_soap_lite_is_read_with_or_without_a_charset() {
    let app = archived().await;
    let body = fixture("iso-8859-1-soap-lite.xml");
    // As SOAP::Lite sends it with ->encoding('ISO-8859-1'), then with only the declaration
    // (under another externalEventId, or it would be a duplicate).
    let response = post(&app, ENDPOINT, "text/xml; charset=iso-8859-1", body.clone()).await;
    assert_acknowledged(&app, response, &body).await;
    let body = replaced(&body, b"000000008859", b"000000008860");
    let response = post(&app, ENDPOINT, "text/xml", body.clone()).await;
    assert_acknowledged(&app, response, &body).await;
    let lines = archive(&app);
    assert_eq!(lines.len(), 2);
    for line in lines {
        assert_eq!(line["keys"]["userId"], "jürgen.müller");
        assert_eq!(line["params"]["lastName"], "Müller");
        assert_eq!(line["params"]["street"], "Große Straße 5");
    }
    app.stop().await;
}

/// `bytes` with the first `from` replaced by `to` (ASCII, so the same in every encoding here).
fn replaced(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("present");
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

#[tokio::test]
async fn windows_1252_reads_the_euro_sign_and_a_conflicting_charset_is_named() {
    let app = archived().await;
    let body = fixture("windows-1252-euro.xml");
    let response = post(&app, ENDPOINT, "text/xml", body.clone()).await;
    assert_acknowledged(&app, response, &body).await;
    let lines = archive(&app);
    assert_eq!(lines[0]["params"]["bonus"], "€ 1.500");
    assert_eq!(lines[0]["params"]["lastName"], "“Ørsted”");
    assert_eq!(lines[0]["keys"]["userId"], "zoë.brontë");

    // The Content-Type's charset comes before the declaration: read as UTF-8, these bytes are not.
    let response = post(&app, ENDPOINT, "text/xml; charset=utf-8", body).await;
    let id = message_id(&response);
    let reason = fault_reason(response, "soap:Client").await;
    assert!(reason.contains("not valid UTF-8"), "{reason}");
    assert!(
        reason.contains("XML declaration says windows-1252"),
        "{reason}"
    );
    assert_eq!(app.error_text(&id).await, reason);
    assert_eq!(
        archive(&app).len(),
        1,
        "nothing of the refused call reached the handlers"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_encoding_iflowd_does_not_read_is_a_client_fault_naming_it() {
    let app = TestApp::spawn_default().await;
    let hire = String::from_utf8(fixture("hire.xml")).unwrap();
    let response = post(
        &app,
        ENDPOINT,
        "text/xml; charset=EBCDIC-CP-US",
        hire.clone().into(),
    )
    .await;
    let reason = fault_reason(response, "soap:Client").await;
    assert!(
        reason.contains("Content-Type charset names the encoding 'EBCDIC-CP-US'"),
        "{reason}"
    );
    let utf32 = hire.replace("encoding=\"UTF-8\"", "encoding=\"UTF-32\"");
    let response = post(&app, ENDPOINT, "text/xml", utf32.into()).await;
    let reason = fault_reason(response, "soap:Client").await;
    assert!(
        reason.contains("XML declaration names the encoding 'UTF-32'"),
        "{reason}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_envelope_namespace_is_a_version_mismatch_fault() {
    let app = TestApp::spawn_default().await;
    let body = fixture("version-mismatch.xml");
    let response = post(&app, ENDPOINT, "text/xml; charset=utf-8", body.clone()).await;
    let id = message_id(&response);
    let reason = fault_reason(response, "soap:VersionMismatch").await;
    assert!(
        reason.contains("http://schemas.xmlsoap.org/soap/envelope;"),
        "{reason}"
    );
    assert_eq!(app.log_entry(&id).await["Status"], "FAILED");

    // Announced as SOAP 1.2: a SOAP 1.2 fault (500, not a Sender's 400) with the versions read.
    let response = post(&app, ENDPOINT, "application/soap+xml; charset=utf-8", body).await;
    assert_eq!(response.status(), 500);
    let text = response.text().await.unwrap();
    assert_eq!(
        element_text(&text, "Value"),
        Some("soap:VersionMismatch"),
        "{text}"
    );
    assert!(
        text.contains("<soap:Upgrade><soap:SupportedEnvelope qname=\"v12:Envelope\""),
        "{text}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_header_marked_must_understand_is_a_fault_unless_its_endpoint_ignores_it() {
    let config = format!(
        r#"{users}
[[endpoints]]
name = "Strict"
address = "/isc/events"

[[endpoints]]
name = "Lenient"
address = "/isc/lenient"
must_understand = "ignore"
"#,
        users = users_toml()
    );
    let app = TestApp::spawn(&config).await;
    let soap11 = fixture("must-understand-11.xml");
    let response = post(&app, ENDPOINT, "text/xml", soap11.clone()).await;
    let reason = fault_reason(response, "soap:MustUnderstand").await;
    assert!(
        reason.contains("}Security is marked mustUnderstand"),
        "{reason}"
    );
    let response = post(&app, "/cxf/isc/lenient", "text/xml", soap11).await;
    assert_eq!(response.status(), 200);

    let soap12 = fixture("must-understand-12.xml");
    let response = post(&app, ENDPOINT, "application/soap+xml", soap12.clone()).await;
    assert_eq!(response.status(), 500);
    let text = response.text().await.unwrap();
    assert_eq!(
        element_text(&text, "Value"),
        Some("soap:MustUnderstand"),
        "{text}"
    );
    assert!(
        text.contains(r#"<soap:NotUnderstood qname="h:Action" xmlns:h="http://www.w3.org/2005/08/addressing"/>"#),
        "{text}"
    );
    let response = post(&app, "/cxf/isc/lenient", "application/soap+xml", soap12).await;
    assert_eq!(response.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn must_understand_can_be_ignored_everywhere_and_required_again_per_endpoint() {
    let config = format!(
        r#"{users}
[soap]
must_understand = "ignore"

[[endpoints]]
name = "Lenient"
address = "/isc/events"

[[endpoints]]
name = "Strict"
address = "/isc/strict"
must_understand = "fault"
"#,
        users = users_toml()
    );
    let app = TestApp::spawn(&config).await;
    let body = fixture("must-understand-11.xml");
    assert_eq!(
        post(&app, ENDPOINT, "text/xml", body.clone())
            .await
            .status(),
        200
    );
    let response = post(&app, "/cxf/isc/strict", "text/xml", body).await;
    fault_reason(response, "soap:MustUnderstand").await;
    app.stop().await;
}

#[tokio::test]
async fn a_malformed_element_in_the_body_is_reported_as_malformed_xml() {
    let app = TestApp::spawn_default().await;
    let response = app.post_fixture("malformed-in-body.xml").await;
    let reason = fault_reason(response, "soap:Client").await;
    assert!(
        reason.starts_with("the request is not well-formed XML"),
        "{reason}"
    );
    assert!(!reason.contains("the SOAP Body holds"), "{reason}");
    app.stop().await;
}

#[tokio::test]
async fn a_literal_nul_is_refused_like_its_character_reference() {
    let app = TestApp::spawn_default().await;
    let hire = String::from_utf8(fixture("hire.xml")).unwrap();
    let literal = hire.replace("ACE_USA", "ACE\0USA");
    let response = app.post_fixture_text(&literal).await;
    let reason = fault_reason(response, "soap:Client").await;
    assert!(
        reason.contains("the character U+0000 near byte"),
        "{reason}"
    );
    let reference = hire.replace("ACE_USA", "ACE&#0;USA");
    let response = app.post_fixture_text(&reference).await;
    let reason = fault_reason(response, "soap:Client").await;
    assert!(
        reason.contains("invalid character reference &#0;"),
        "{reason}"
    );
    app.stop().await;
}

#[tokio::test]
async fn forward_passes_a_latin1_envelope_on_with_the_charset_it_came_with() {
    let mut downstream = Downstream::spawn(&[]).await;
    let config = format!(
        r#"{users}
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = ["to-hr"]

[handlers.to-hr]
type = "forward"
url = "{url}"
body = "soap"
"#,
        users = users_toml(),
        url = downstream.url("/hooks")
    );
    let app = TestApp::spawn(&config).await;
    let body = fixture("iso-8859-1-soap-lite.xml");
    let response = post(&app, ENDPOINT, "text/xml; charset=iso-8859-1", body.clone()).await;
    assert_eq!(response.status(), 200);
    let seen = downstream.received();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body, body, "byte for byte");
    assert_eq!(
        seen[0].header("content-type"),
        Some("text/xml; charset=iso-8859-1"),
        "not relabelled as UTF-8"
    );
    app.stop().await;
}

#[tokio::test]
async fn nats_publishes_a_utf16_envelope_with_the_content_type_it_came_with() {
    let nats = NatsServer::start().await;
    nats.create_stream("SF", &["sf.>"]).await;
    let config = format!(
        r#"{users}
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = ["to-nats"]

[handlers.to-nats]
type = "nats"
url = "{url}"
subject = "sf.envelopes"
payload = "envelope"
"#,
        users = users_toml(),
        url = nats.url()
    );
    let app = TestApp::spawn(&config).await;
    let body = fixture("utf16be-bom.xml");
    let response = post(&app, ENDPOINT, "text/xml; charset=UTF-16", body.clone()).await;
    assert_eq!(response.status(), 200);
    let read = nats.read("SF").await;
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].payload, body, "byte for byte");
    assert_eq!(
        read[0].header("Content-Type"),
        Some("text/xml; charset=UTF-16")
    );
    app.stop().await;
}
