//! What one sender's input may cost: a refused body is kept only in part, and no fault or error
//! repeats more than a short excerpt of what was sent (issue 18, item 4).

use axum::body::Body;
use axum::http::Request;

use crate::common::in_process::{InProcess, basic};
use crate::common::{PASSWORD, USER};

const ENDPOINT: &str = "/cxf/isc/events";
/// What an answer that repeats at most an excerpt of the input stays under.
const SMALL: usize = 2048;

/// A name of `n` letters, starting with a marker the excerpt keeps.
fn long_name(n: usize) -> String {
    format!("Start{}", "x".repeat(n))
}

/// A stored body of `id` (`request` or `response`), as the test user reads it.
async fn stored(app: &InProcess, id: &str, kind: &str) -> bytes::Bytes {
    let request = Request::get(format!("/api/v1/MessageStoreEntries('{id}.{kind}')/$value"))
        .header("authorization", basic(USER, PASSWORD))
        .body(Body::empty())
        .unwrap();
    let answer = app.send(request).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.body
}

/// The error text of the entry `id`.
async fn error_text(app: &InProcess, id: &str) -> String {
    let request = Request::get(format!(
        "/api/v1/MessageProcessingLogs('{id}')/ErrorInformation/$value"
    ))
    .header("authorization", basic(USER, PASSWORD))
    .body(Body::empty())
    .unwrap();
    let answer = app.send(request).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.text().to_owned()
}

#[tokio::test]
async fn a_refused_megabyte_costs_the_log_a_bounded_entry() {
    let app = InProcess::default().await;
    // Just under the 1 MiB limit: not an envelope, its root element's name the whole body.
    let body = format!("<{}/>", long_name(1_000_000));
    let answer = app.post_soap(ENDPOINT, body.clone()).await;
    assert_eq!(answer.status, 500, "a Client fault");
    assert!(answer.body.len() < SMALL, "{} bytes", answer.body.len());
    assert!(answer.text().contains("the root element is Start"));
    let id = answer.message_id().to_owned();
    assert_eq!(app.log_entry(&id).await["Status"], "FAILED");

    let request = stored(&app, &id, "request").await;
    assert_eq!(request.len(), iflowd::message_log::REFUSED_BODY_KEPT);
    assert_eq!(&request[..], &body.as_bytes()[..request.len()]);
    let response = stored(&app, &id, "response").await;
    assert_eq!(response, answer.body, "the answer as sent");
    let error = error_text(&app, &id).await;
    assert!(error.len() < SMALL, "{} bytes", error.len());
    assert!(
        error.contains(&format!(
            "the request body ({} bytes) is kept only in part: its first 16384 bytes",
            body.len()
        )),
        "{error}"
    );
}

#[tokio::test]
async fn a_refused_body_under_the_bound_is_kept_whole() {
    let app = InProcess::default().await;
    let body = "<NotAnEnvelope/>";
    let answer = app.post_soap(ENDPOINT, body).await;
    let id = answer.message_id().to_owned();
    assert_eq!(stored(&app, &id, "request").await, body.as_bytes());
    assert!(!error_text(&app, &id).await.contains("kept only in part"));
}

/// Envelopes that are wrong by one long name: each fault names it by an excerpt.
fn hostile_envelopes(name: &str) -> Vec<(&'static str, &'static str, String)> {
    let soap11 = "http://schemas.xmlsoap.org/soap/envelope/";
    let soap12 = "http://www.w3.org/2003/05/soap-envelope";
    let text_xml = "text/xml; charset=utf-8";
    vec![
        ("root element", text_xml, format!("<{name}/>")),
        (
            "envelope namespace",
            text_xml,
            format!(r#"<Envelope xmlns="urn:{name}"><Body/></Envelope>"#),
        ),
        (
            "body child",
            text_xml,
            format!(r#"<s:Envelope xmlns:s="{soap11}"><s:Body><{name}/></s:Body></s:Envelope>"#),
        ),
        (
            "entity",
            text_xml,
            format!(r#"<s:Envelope xmlns:s="{soap11}"><s:Body>&{name};</s:Body></s:Envelope>"#),
        ),
        (
            "character reference",
            text_xml,
            format!(r#"<s:Envelope xmlns:s="{soap11}"><s:Body>&#x{name};</s:Body></s:Envelope>"#),
        ),
        (
            "prefix",
            text_xml,
            format!(r#"<s:Envelope xmlns:s="{soap11}"><s:Body><{name}:x/></s:Body></s:Envelope>"#),
        ),
        (
            "encoding",
            "text/xml",
            format!(r#"<?xml version="1.0" encoding="{name}"?><Envelope/>"#),
        ),
        (
            "end tag",
            text_xml,
            format!(r#"<s:Envelope xmlns:s="{soap11}"><s:Body><a></{name}></s:Body></s:Envelope>"#),
        ),
        (
            "mustUnderstand header",
            "application/soap+xml; charset=utf-8",
            format!(
                r#"<e:Envelope xmlns:e="{soap12}"><e:Header><h:{name} xmlns:h="urn:{name}" e:mustUnderstand="true"/></e:Header><e:Body/></e:Envelope>"#
            ),
        ),
    ]
}

#[tokio::test]
async fn no_fault_repeats_more_than_an_excerpt_of_the_input() {
    let app = InProcess::default().await;
    let name = long_name(200_000);
    let mut repeated = Vec::new();
    for (case, content_type, body) in hostile_envelopes(&name) {
        let answer = app.post(ENDPOINT, content_type, body).await;
        assert!(
            answer.status.is_server_error() || answer.status.is_client_error(),
            "{case}: {}",
            answer.status
        );
        let error = error_text(&app, answer.message_id()).await;
        if answer.body.len() >= SMALL || error.len() >= SMALL {
            repeated.push(format!(
                "{case}: a fault of {} bytes, an error text of {} bytes",
                answer.body.len(),
                error.len()
            ));
        }
        assert!(
            error.contains("Start") || case == "end tag",
            "{case}: names the input by its start: {error}"
        );
    }
    assert!(repeated.is_empty(), "{repeated:#?}");
}

#[tokio::test]
async fn refusals_before_the_body_repeat_only_an_excerpt_of_headers_and_paths() {
    let app = InProcess::default().await;
    let name = long_name(8_000);
    let answer = app
        .post(ENDPOINT, &format!("application/{name}"), "<x/>")
        .await;
    assert_eq!(answer.status, 415);
    assert!(answer.body.len() < SMALL, "{} bytes", answer.body.len());
    let error = error_text(&app, answer.message_id()).await;
    assert!(
        error.len() < SMALL && error.contains("application/Start"),
        "{error}"
    );

    let path = format!("/cxf/{name}");
    let request = Request::post(&path)
        .header("authorization", basic(USER, PASSWORD))
        .body(Body::empty())
        .unwrap();
    let answer = app.send(request).await;
    assert_eq!(answer.status, 404);
    assert!(answer.body.len() < SMALL, "{} bytes", answer.body.len());
    assert!(answer.text().contains("/cxf/Start"), "{}", answer.text());

    let request = Request::get(format!("/api/v1/MessageProcessingLogs('{name}')"))
        .header("authorization", basic(USER, PASSWORD))
        .body(Body::empty())
        .unwrap();
    let answer = app.send(request).await;
    assert_eq!(answer.status, 404);
    assert!(answer.body.len() < SMALL, "{} bytes", answer.body.len());
}
