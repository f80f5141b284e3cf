//! The SOAP endpoint as a sender sees it: acknowledgements, faults and status codes.

use crate::common;

use crate::common::{TestApp, element_text, fixture};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const ENDPOINT: &str = "/cxf/isc/events";

#[tokio::test]
async fn a_change_in_manager_call_is_acknowledged_the_way_successfactors_expects() {
    let app = TestApp::spawn_default().await;
    let before = OffsetDateTime::now_utc();
    let response = app.post_fixture("change-in-manager.xml").await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/xml; charset=utf-8"
    );
    let id = response.headers()["sap_messageprocessinglogid"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        id.starts_with("AG") && id.len() == 28,
        "CPI-like message id: {id}"
    );
    let body = response.text().await.unwrap();
    assert!(
        body.contains(r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">"#),
        "{body}"
    );
    assert!(
        body.contains(
            r#"<ns:ExternalEventResponse xmlns:ns="http://notification.event.successfactors.com">"#
        ),
        "{body}"
    );
    assert_eq!(element_text(&body, "status"), Some("200"));
    assert_eq!(
        element_text(&body, "statusDetails"),
        Some(format!("accepted 1 event; message id {id}").as_str())
    );
    assert_eq!(element_text(&body, "errorCode"), None);
    let date = element_text(&body, "statusDate").unwrap();
    assert!(date.ends_with('Z'), "UTC: {date}");
    let date = OffsetDateTime::parse(date, &Rfc3339).unwrap();
    assert!(date >= before - time::Duration::seconds(1) && date <= OffsetDateTime::now_utc());
    app.stop().await;
}

#[tokio::test]
async fn soap_1_2_is_answered_in_soap_1_2() {
    let app = TestApp::spawn_default().await;
    let response = app
        .client
        .post(app.url(ENDPOINT))
        .basic_auth(common::USER, Some(common::PASSWORD))
        .header("Content-Type", "application/soap+xml; charset=utf-8")
        .body(fixture("soap12.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/soap+xml; charset=utf-8"
    );
    let body = response.text().await.unwrap();
    assert!(
        body.contains("http://www.w3.org/2003/05/soap-envelope"),
        "{body}"
    );
    assert_eq!(element_text(&body, "status"), Some("200"));
}

#[tokio::test]
async fn application_xml_any_soap_action_or_none_are_accepted() {
    let app = TestApp::spawn_default().await;
    for (content_type, action) in [
        ("application/xml", None),
        ("text/xml", Some("\"\"")),
        (
            "text/xml",
            Some("\"http://notification.event.successfactors.com/INotify/ExternalEventRequest\""),
        ),
        ("TEXT/XML;charset=UTF-8", Some("ExternalEvent")),
    ] {
        let mut request = app
            .client
            .post(app.url(ENDPOINT))
            .basic_auth(common::USER, Some(common::PASSWORD))
            .header("Content-Type", content_type)
            .body(fixture("hire.xml"));
        if let Some(action) = action {
            request = request.header("SOAPAction", action);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{content_type} / {action:?}");
    }
}

#[tokio::test]
async fn the_acknowledgement_uses_the_legacy_namespace_when_the_request_did() {
    let app = TestApp::spawn_default().await;
    let body = app
        .post_fixture("v1-legacy.xml")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        body.contains(
            r#"<ns:ExternalEventResponse xmlns:ns="com.successfactors.event.notification">"#
        ),
        "{body}"
    );
}

#[tokio::test]
async fn the_count_of_accepted_events_is_reported_including_zero_and_unknown_types() {
    let app = TestApp::spawn_default().await;
    for (fixture, expected) in [
        ("multiple-events.xml", "accepted 3 events"),
        ("empty-events.xml", "accepted 0 events"),
        ("unknown-type.xml", "accepted 1 event;"),
        ("node-soap-default-namespace.xml", "accepted 1 event;"),
        ("zeep-ns0.xml", "accepted 1 event;"),
    ] {
        let response = app.post_fixture(fixture).await;
        assert_eq!(response.status(), 200, "{fixture}");
        let body = response.text().await.unwrap();
        let details = element_text(&body, "statusDetails").unwrap_or_default();
        assert!(details.starts_with(expected), "{fixture}: {details}");
    }
}

#[tokio::test]
async fn a_malformed_envelope_is_a_client_fault_with_a_sentence() {
    let app = TestApp::spawn_default().await;
    let response = app.post_fixture("malformed.xml").await;
    assert_eq!(response.status(), 500, "SOAP 1.1 faults travel with 500");
    assert!(
        response
            .headers()
            .contains_key("sap_messageprocessinglogid")
    );
    let body = response.text().await.unwrap();
    assert_eq!(element_text(&body, "faultcode"), Some("soap:Client"));
    let reason = element_text(&body, "faultstring").unwrap();
    assert!(
        reason.starts_with("the request is not well-formed XML"),
        "{reason}"
    );
}

#[tokio::test]
async fn soap_1_2_client_faults_are_sender_faults_with_400() {
    let app = TestApp::spawn_default().await;
    let body = String::from_utf8(fixture("soap12.xml"))
        .unwrap()
        .replace("</env:Body>", "");
    let response = app
        .client
        .post(app.url(ENDPOINT))
        .basic_auth(common::USER, Some(common::PASSWORD))
        .header("Content-Type", "application/soap+xml")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert_eq!(element_text(&text, "Value"), Some("soap:Sender"), "{text}");
}

#[tokio::test]
async fn bodies_that_are_not_external_events_or_carry_a_dtd_are_refused_clearly() {
    let app = TestApp::spawn_default().await;
    for (fixture, reason_start) in [
        (
            "not-external-event.xml",
            "the SOAP Body holds {urn:sap-com:document:sap:rfc:functions}BAPI_USER_GET_DETAIL",
        ),
        (
            "dtd-billion-laughs.xml",
            "the request contains a document type declaration",
        ),
        (
            "xxe-external-entity.xml",
            "the request contains a document type declaration",
        ),
        (
            "undefined-entity.xml",
            "the request refers to the entity &amp;company;",
        ),
    ] {
        let response = app.post_fixture(fixture).await;
        assert_eq!(response.status(), 500, "{fixture}");
        let body = response.text().await.unwrap();
        assert_eq!(
            element_text(&body, "faultcode"),
            Some("soap:Client"),
            "{fixture}"
        );
        let reason = element_text(&body, "faultstring").unwrap();
        assert!(reason.starts_with(reason_start), "{fixture}: {reason}");
        assert!(!body.contains("root:"), "nothing of /etc/passwd");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_whether_or_not_its_length_was_announced() {
    let app = TestApp::spawn(&format!(
        "{}\n[limits]\nmax_body_bytes = 1024\n",
        common::users_toml()
    ))
    .await;
    let big = fixture("change-in-manager.xml"); // ~1.9 KB
    let announced = app.post_soap(ENDPOINT, big.clone()).await;
    assert_eq!(announced.status(), 413);
    let body = announced.text().await.unwrap();
    assert!(
        element_text(&body, "faultstring")
            .unwrap()
            .contains("limit of 1024 bytes"),
        "{body}"
    );

    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(300).map(|c| Ok(c.to_vec())).collect();
    let streamed = reqwest::Body::wrap_stream(futures_util_stream(chunks));
    assert_eq!(app.post_soap(ENDPOINT, streamed).await.status(), 413);
    // Under the limit still works.
    assert_eq!(
        app.post_soap(ENDPOINT, fixture("empty-events.xml"))
            .await
            .status(),
        200
    );
}

/// A stream without a known length, so the request goes out chunked.
fn futures_util_stream(
    chunks: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    tokio_stream::iter(chunks)
}
