//! The line the trace layer writes when a request is answered: an ERROR only when the server
//! failed, never for a client's mistake, even one SOAP 1.1 answers with HTTP 500.

use crate::common::logs::Logs;
use crate::common::{TestApp, fixture, isc_and_broken, message_id};

fn level_lines(logs: &Logs, level: &str, message: &str) -> Vec<String> {
    logs.lines_with(&[level, message])
}

#[tokio::test]
async fn client_mistakes_are_info_and_server_failures_are_errors() {
    let (logs, _guard) = Logs::capture();
    let app = TestApp::spawn(&isc_and_broken("soap")).await;

    // A malformed envelope: a SOAP 1.1 Client fault, HTTP 500.
    let malformed = app
        .post_soap("/cxf/isc/events", fixture("malformed.xml"))
        .await;
    assert_eq!(malformed.status(), 500);
    let malformed_id = message_id(&malformed);
    // No credentials: 401.
    let unauthorized = app
        .client
        .post(app.url("/cxf/isc/events"))
        .header("Content-Type", "text/xml")
        .body(fixture("hire.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    // A handler that fails: a Server fault, HTTP 500.
    let failed = app.post_soap("/cxf/broken", fixture("hire.xml")).await;
    assert_eq!(failed.status(), 500);
    let failed_id = message_id(&failed);
    // Accepted: nothing at INFO from the trace layer.
    let accepted = app.post_soap("/cxf/isc/events", fixture("hire.xml")).await;
    assert_eq!(accepted.status(), 200);

    let refused = level_lines(&logs, " INFO ", "request refused");
    assert_eq!(refused.len(), 2, "{}", logs.text());
    assert!(
        refused[0].contains("status=500") && refused[0].contains(&malformed_id),
        "{refused:?}"
    );
    assert!(refused[1].contains("status=401"), "{refused:?}");
    let errors = level_lines(&logs, "ERROR", "");
    assert_eq!(
        errors.len(),
        1,
        "only the server's failure is an error:\n{}",
        logs.text()
    );
    assert!(
        errors[0].contains("request failed")
            && errors[0].contains("status=500")
            && errors[0].contains(&failed_id),
        "{errors:?}"
    );
    app.stop().await;
}
