//! Answer shapes, in process: the router called with `oneshot`, no socket. What a sender or a
//! monitor sees for unknown paths, wrong methods and media types, acknowledgements and
//! duplicates.

use axum::body::Body;
use axum::http::Request;

use crate::common::element_text;
use crate::common::in_process::{InProcess, basic};
use crate::common::{PASSWORD, USER, envelope, fixture};

const ENDPOINT: &str = "/cxf/isc/events";

#[tokio::test]
async fn unknown_paths_are_404_and_sub_paths_of_an_endpoint_answer() {
    let iflowd = InProcess::default().await;
    let answer = iflowd
        .post_soap("/cxf/isc/other", fixture("hire.xml"))
        .await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.header("content-type"), "application/json");
    let error = answer.json();
    assert_eq!(error["error"]["code"], "not_found");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/cxf/isc/other")
    );
    assert_eq!(
        iflowd
            .post_soap("/http/isc/events", fixture("hire.xml"))
            .await
            .status,
        404
    );
    assert_eq!(
        iflowd
            .post_soap("/cxf/isc/events/", fixture("hire.xml"))
            .await
            .status,
        200
    );
    assert_eq!(
        iflowd
            .post_soap("/cxf/isc/events/any/sub", fixture("hire.xml"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn other_methods_are_405_naming_what_is_allowed() {
    let iflowd = InProcess::default().await;
    for method in ["GET", "PUT", "DELETE"] {
        let request = Request::builder()
            .method(method)
            .uri(ENDPOINT)
            .body(Body::empty())
            .unwrap();
        let answer = iflowd.send(request).await;
        assert_eq!(answer.status, 405, "{method}");
        assert_eq!(answer.header("allow"), "POST, GET", "{method}");
        let error = answer.json();
        assert_eq!(error["error"]["code"], "method_not_allowed");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{method} is not supported here"))
                && message.contains("?wsdl"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn other_content_types_get_415_naming_the_expected_ones() {
    let iflowd = InProcess::default().await;
    let answer = iflowd.post(ENDPOINT, "application/json", "{}").await;
    assert_eq!(answer.status, 415);
    let error = answer.json();
    assert_eq!(error["error"]["code"], "unsupported_media_type");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("text/xml")
    );
}

#[tokio::test]
async fn a_refused_call_names_its_failed_entry_which_keeps_the_reason() {
    let iflowd = InProcess::default().await;
    let answer = iflowd.post(ENDPOINT, "application/json", "{}").await;
    assert_eq!(answer.status, 415);
    let id = answer.message_id();
    assert!(id.starts_with("AG") && id.len() == 28, "{id}");
    let entry = iflowd.log_entry(id).await;
    assert_eq!(entry["Status"], "FAILED");
    assert_eq!(entry["IntegrationFlowName"], "ISC_Events");
    assert_eq!(entry["Sender"], USER);
    let request = Request::get(format!(
        "/api/v1/MessageProcessingLogs('{id}')/ErrorInformation/$value"
    ))
    .header("authorization", basic(USER, PASSWORD))
    .body(Body::empty())
    .unwrap();
    let reason = iflowd.send(request).await;
    assert_eq!(reason.status, 200);
    assert_eq!(
        reason.text(),
        answer.json()["error"]["message"].as_str().unwrap(),
        "the entry keeps what the sender was told"
    );
}

#[tokio::test]
async fn the_acknowledgement_names_the_log_entry_in_header_and_details() {
    let iflowd = InProcess::default().await;
    let answer = iflowd.post_soap(ENDPOINT, fixture("hire.xml")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.header("content-type"), "text/xml; charset=utf-8");
    let id = answer.message_id();
    assert!(id.starts_with("AG") && id.len() == 28, "CPI-like id: {id}");
    let body = answer.text();
    assert!(
        body.contains(
            r#"<ns:ExternalEventResponse xmlns:ns="http://notification.event.successfactors.com">"#
        ),
        "{body}"
    );
    assert_eq!(element_text(body, "status"), Some("200"));
    assert_eq!(
        element_text(body, "statusDetails"),
        Some(format!("accepted 1 event; message id {id}").as_str())
    );
    assert_eq!(iflowd.log_entry(id).await["Status"], "COMPLETED");
}

#[tokio::test]
async fn a_duplicate_gets_the_originals_acknowledgement_in_its_own_soap_version() {
    let iflowd = InProcess::default().await;
    let original = iflowd
        .post(
            ENDPOINT,
            "application/soap+xml; charset=utf-8",
            fixture("soap12.xml"),
        )
        .await;
    assert_eq!(original.status, 200, "{}", original.text());
    let original_id = original.message_id().to_owned();

    let copy = envelope("12ab34cd-56ef-4a78-9b0c-de12f3456789", 1, true);
    let duplicate = iflowd.post_soap(ENDPOINT, copy).await;
    assert_eq!(duplicate.status, 200, "{}", duplicate.text());
    assert_eq!(duplicate.header("content-type"), "text/xml; charset=utf-8");
    assert_ne!(duplicate.message_id(), original_id, "an entry of its own");
    assert_eq!(duplicate.header("x-iflowd-duplicate-of"), original_id);
    let (first, again) = (original.text(), duplicate.text());
    assert!(
        again.contains("http://schemas.xmlsoap.org/soap/envelope/")
            && !again.contains("http://www.w3.org/2003/05/soap-envelope"),
        "SOAP 1.1, as the duplicate was sent: {again}"
    );
    for element in ["status", "statusDate", "statusDetails"] {
        assert!(
            element_text(first, element).is_some(),
            "{element} in {first}"
        );
        assert_eq!(
            element_text(again, element),
            element_text(first, element),
            "{element}: the original's"
        );
    }
    let entry = iflowd.log_entry(duplicate.message_id()).await;
    assert_eq!(entry["Status"], "DISCARDED");
    assert_eq!(entry["OriginalMessageGuid"], original_id.as_str());
}

#[tokio::test]
async fn health_answers_200() {
    let iflowd = InProcess::default().await;
    let answer = iflowd
        .send(Request::get("/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text(), r#"{"status":"UP"}"#);
}
