//! The monitoring API's query options over the message log: `$filter`, `$orderby`, `$top`,
//! `$skip`, `$inlinecount`, `$select`, `$count`, and malformed queries.

use std::collections::BTreeSet;

use crate::common::{
    Backend, PASSWORD, TestApp, USER, envelope, fixture, isc_and_broken, on_both_backends,
};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// `MessageProcessingLogs?` with each option's value percent-encoded.
fn logs(options: &[(&str, &str)]) -> String {
    let query: Vec<String> = options
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect();
    format!("MessageProcessingLogs?{}", query.join("&"))
}

fn ids(results: &[Value]) -> Vec<&str> {
    results
        .iter()
        .map(|r| r["ApplicationMessageId"].as_str().unwrap_or("-"))
        .collect()
}

/// Three completed (a-1..a-3), one failed in a handler (b-1), one malformed: five entries.
async fn five_messages(backend: &Backend) -> TestApp {
    let app = TestApp::spawn_on(backend, &isc_and_broken("https")).await;
    for id in ["a-1", "a-2", "a-3"] {
        let response = app
            .post_soap("/cxf/isc/events", envelope(id, 1, false))
            .await;
        assert_eq!(response.status(), 200);
    }
    let failed = app
        .post_soap("/http/broken", envelope("b-1", 2, false))
        .await;
    assert_eq!(failed.status(), 500);
    let malformed = app
        .post_soap("/cxf/isc/events", fixture("malformed.xml"))
        .await;
    assert_eq!(malformed.status(), 500);
    app
}

async fn filters_combine_comparisons_with_and_or_and_parentheses(backend: Backend) {
    let app = five_messages(&backend).await;
    let count = |filter: &'static str| {
        let app = &app;
        async move { app.api_results(&logs(&[("$filter", filter)])).await.len() }
    };
    assert_eq!(count("Status eq 'FAILED'").await, 2);
    assert_eq!(count("Status ne 'FAILED'").await, 3);
    assert_eq!(
        count("Status eq 'COMPLETED' and ApplicationMessageId eq 'a-2'").await,
        1
    );
    assert_eq!(
        count("(ApplicationMessageId eq 'a-1' or ApplicationMessageId eq 'b-1') and IntegrationArtifact/Id eq 'Broken'").await,
        1
    );
    assert_eq!(
        count("ApplicationMessageId eq 'a-1' or ApplicationMessageId eq 'b-1' and IntegrationFlowName eq 'Broken'").await,
        2,
        "and binds tighter than or"
    );
    assert_eq!(
        count("ApplicationMessageId eq null").await,
        1,
        "the malformed one"
    );
    assert_eq!(count("not (Status eq 'COMPLETED')").await, 2);
    assert_eq!(
        count("Sender eq 'isc' and CustomStatus eq 'COMPLETED'").await,
        3
    );
    assert_eq!(
        count("ApplicationMessageId gt 'a-1' and ApplicationMessageId lt 'b-1'").await,
        2
    );
    assert_eq!(
        count("ApplicationMessageId ge 'a-1' and ApplicationMessageId le 'a-3'").await,
        3
    );
    assert_eq!(count("EventCount ge 2").await, 1);

    let all = app.api_results("MessageProcessingLogs").await;
    let starts: Vec<&str> = all
        .iter()
        .map(|e| e["LogStart"].as_str().unwrap())
        .collect();
    assert_eq!(starts.len(), 5);
    let first = &all[0];
    for field in ["CorrelationId", "MessageGuid"] {
        let value = first[field].as_str().unwrap();
        let filter = format!("{field} eq '{value}'");
        let found = app.api_results(&logs(&[("$filter", &filter)])).await;
        let guids: Vec<&Value> = found.iter().map(|e| &e["MessageGuid"]).collect();
        assert_eq!(guids, [&first["MessageGuid"]], "{filter}");
    }
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let hour_ago = (now - time::Duration::hours(1)).format(&format).unwrap();
    let in_an_hour = (now + time::Duration::hours(1)).format(&format).unwrap();
    let between = format!("LogStart ge datetime'{hour_ago}' and LogEnd lt datetime'{in_an_hour}'");
    assert_eq!(
        app.api_results(&logs(&[("$filter", &between)])).await.len(),
        5
    );
    let later = format!("LogStart gt datetime'{in_an_hour}'");
    assert!(
        app.api_results(&logs(&[("$filter", &later)]))
            .await
            .is_empty()
    );
    assert!(
        app.api_results(&logs(&[(
            "$filter",
            "LogEnd le datetime'2000-01-01T00:00'"
        )]))
        .await
        .is_empty()
    );
}
on_both_backends!(filters_combine_comparisons_with_and_or_and_parentheses);

async fn orderby_top_skip_inlinecount_and_select_work_alone_and_together(backend: Backend) {
    let app = five_messages(&backend).await;
    let completed = ("$filter", "Status eq 'COMPLETED'");
    let asc = app
        .api_results(&logs(&[completed, ("$orderby", "ApplicationMessageId")]))
        .await;
    assert_eq!(ids(&asc), ["a-1", "a-2", "a-3"]);
    let desc = app
        .api_results(&logs(&[
            completed,
            ("$orderby", "ApplicationMessageId desc"),
        ]))
        .await;
    assert_eq!(ids(&desc), ["a-3", "a-2", "a-1"]);
    let newest_first = app.api_results("MessageProcessingLogs").await;
    assert_eq!(
        newest_first[0]["ApplicationMessageId"],
        Value::Null,
        "the malformed one came last"
    );
    let by_status_then_id = app
        .api_results(&logs(&[(
            "$orderby",
            "Status desc,ApplicationMessageId asc",
        )]))
        .await;
    assert_eq!(ids(&by_status_then_id), ["-", "b-1", "a-1", "a-2", "a-3"]);

    let page = app
        .api_results(&logs(&[
            completed,
            ("$orderby", "ApplicationMessageId"),
            ("$skip", "1"),
            ("$top", "1"),
        ]))
        .await;
    assert_eq!(ids(&page), ["a-2"]);

    let counted = app
        .api(&logs(&[
            ("$inlinecount", "allpages"),
            ("$top", "2"),
            ("$orderby", "LogStart asc"),
        ]))
        .await;
    assert_eq!(counted["d"]["__count"], "5");
    assert_eq!(
        ids(counted["d"]["results"].as_array().unwrap()),
        ["a-1", "a-2"]
    );
    assert!(counted["d"].get("__next").is_none());

    let selected = app
        .api_results(&logs(&[
            ("$select", "MessageGuid,Status"),
            ("$filter", "ApplicationMessageId eq 'b-1'"),
            ("$format", "json"),
        ]))
        .await;
    let keys: BTreeSet<&str> = selected[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["MessageGuid", "Status", "__metadata"])
    );
    assert_eq!(selected[0]["Status"], "FAILED");

    let guid = selected[0]["MessageGuid"].as_str().unwrap();
    let one = app
        .api(&format!(
            "MessageProcessingLogs('{guid}')?$select=ApplicationMessageId"
        ))
        .await;
    assert_eq!(one["d"]["ApplicationMessageId"], "b-1");
    assert!(one["d"].get("Status").is_none());
    assert_eq!(
        one["d"]["__metadata"]["uri"],
        app.url(&format!("/api/v1/MessageProcessingLogs('{guid}')"))
    );

    let count = app
        .api_as(
            USER,
            PASSWORD,
            &logs(&[completed]).replace("MessageProcessingLogs?", "MessageProcessingLogs/$count?"),
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(count, "3");
}
on_both_backends!(orderby_top_skip_inlinecount_and_select_work_alone_and_together);

#[tokio::test]
async fn malformed_queries_are_400_with_an_odata_error_naming_the_problem() {
    let app = TestApp::spawn_default().await;
    for (path, expected) in [
        (logs(&[("$filter", "Status eq")]), "$filter ends too early"),
        (
            logs(&[("$filter", "Nope eq 'x'")]),
            "'Nope' at position 1 is not a property",
        ),
        (
            logs(&[("$filter", "Status eq 'x' and (Sender eq 'y'")]),
            "is never closed",
        ),
        (
            logs(&[("$filter", "LogStart gt 'yesterday'")]),
            "LogStart is a date and time",
        ),
        (
            logs(&[("$filter", "LogStart gt datetime'2026-13-01T00:00:00'")]),
            "is not a date and time",
        ),
        (
            logs(&[("$filter", "startswith(Status, 'C')")]),
            "the function 'startswith'",
        ),
        (
            logs(&[("$orderby", "LogEnd sideways")]),
            "must be asc or desc",
        ),
        (logs(&[("$top", "ten")]), "$top must be a whole number"),
        (logs(&[("$skip", "-1")]), "$skip must be a whole number"),
        (logs(&[("$inlinecount", "yes")]), "allpages or none"),
        (
            logs(&[("$select", "Status,Secret")]),
            "'Secret' is not a property",
        ),
        (logs(&[("$format", "atom")]), "$format=atom is not served"),
        (
            logs(&[("$expand", "ErrorInformation")]),
            "$expand is not supported",
        ),
        (
            "MessageProcessingLogs?$top=1&$top=2".to_owned(),
            "$top is given more than once",
        ),
        (
            "MessageProcessingLogs('x')?$top=1".to_owned(),
            "$top applies to collections",
        ),
        (
            "MessageProcessingLogs(x)".to_owned(),
            "a key is a quoted string",
        ),
        (
            "MessageStoreEntries".to_owned(),
            "MessageStoreEntries is read one entry at a time",
        ),
    ] {
        let response = app.api_as(USER, PASSWORD, &path).await;
        assert_eq!(response.status(), 400, "{path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "BadRequest");
        assert_eq!(error["error"]["message"]["lang"], "en");
        let message = error["error"]["message"]["value"].as_str().unwrap();
        assert!(message.contains(expected), "{path}: {message}");
    }
    let unknown = app.api_as(USER, PASSWORD, "Nothing").await;
    assert_eq!(unknown.status(), 404);
    let missing = app
        .api_as(USER, PASSWORD, "MessageProcessingLogs('AGnothing')")
        .await;
    assert_eq!(missing.status(), 404);
    let error: Value = missing.json().await.unwrap();
    assert_eq!(
        error["error"]["message"]["value"],
        "there is no message with MessageGuid 'AGnothing'"
    );
}
