//! The message page's Replay and Retry buttons: shown to a user with `MessageReplay`, refused
//! without the session's CSRF token or the role, running the monitoring API's operations (a
//! replay is a new message naming its original, both audited with the user), and the queue's
//! attempts, statuses and links on the pages.

use http::StatusCode;
use serde_json::Value;

use super::{Answer, Monitor, basic};
use crate::common::{MONITOR, MONITOR_PASSWORD, PASSWORD, USER, fixture, users_toml};

/// `ISC_Events` (sync, completes) and `Broken` (sync, its archive handler writes to /dev/full;
/// one attempt when a replay is queued, so a replay of it is escalated at once).
fn config(extra: &str) -> String {
    format!(
        r#"{extra}
{users}
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"

[[endpoints]]
name = "Broken"
address = "/broken"
handlers = ["log", "archive"]

[endpoints.retry]
max_attempts = 1

[handlers.archive]
type = "jsonl"
path = "/dev/full"
"#,
        users = users_toml()
    )
}

async fn api(monitor: &Monitor, path: &str) -> Value {
    let auth = basic(USER, PASSWORD);
    let answer = monitor
        .get(&format!("/api/v1/{path}"), &[("authorization", &auth)])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    serde_json::from_str(&answer.body).unwrap()
}

/// The REPLAY or RETRY records of the audit log: (user, object, details).
async fn audited(monitor: &Monitor, action: &str) -> Vec<(String, String, String)> {
    let path = format!("AuditLogs?$filter=Action%20eq%20'{action}'&$orderby=Timestamp%20asc");
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    api(monitor, &path).await["d"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                text(&r["UserName"]),
                text(&r["ObjectName"]),
                text(&r["Details"]),
            )
        })
        .collect()
}

async fn press(monitor: &Monitor, cookie: &str, guid: &str, button: &str, csrf: &str) -> Answer {
    let path = format!("/monitor/messages/{guid}/{button}");
    let form: Vec<(&str, &str)> = if csrf.is_empty() {
        vec![]
    } else {
        vec![("csrf", csrf)]
    };
    monitor.post_form(&path, &[("cookie", cookie)], &form).await
}

async fn page(monitor: &Monitor, cookie: &str, path: &str) -> String {
    let answer = monitor.get(path, &[("cookie", cookie)]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

#[tokio::test]
async fn replay_makes_a_new_message_linked_to_its_original_and_retry_queues_an_escalated_one() {
    let monitor = Monitor::start_config(&config("")).await;
    let failed = monitor
        .post_envelope("/cxf/broken", fixture("hire.xml"))
        .await;
    let (cookie, token) = monitor.session(USER, PASSWORD).await;
    let detail = page(&monitor, &cookie, &format!("/monitor/messages/{failed}")).await;
    assert!(
        detail.contains(&format!("action=\"/monitor/messages/{failed}/replay\"")),
        "{detail}"
    );
    assert!(
        !detail.contains("/retry\""),
        "no Retry for a FAILED message"
    );

    // Without the token, or with another, nothing happens.
    for csrf in ["", "forged"] {
        let answer = press(&monitor, &cookie, &failed, "replay", csrf).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "csrf {csrf:?}");
        assert_eq!(answer.headers["x-csrf-token"], "Required");
    }
    // A script's Basic credentials may read, never press a button.
    let auth = basic(USER, PASSWORD);
    let path = format!("/monitor/messages/{failed}/replay");
    let scripted = monitor
        .post_form(&path, &[("authorization", &auth)], &[("csrf", &token)])
        .await;
    assert_eq!(scripted.status, StatusCode::FORBIDDEN);
    assert!(audited(&monitor, "REPLAY").await.is_empty());

    // Replay: to the new message's page, which names its original.
    let answer = press(&monitor, &cookie, &failed, "replay", &token).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let location = answer.location().to_owned();
    let new = location
        .strip_prefix("/monitor/messages/")
        .and_then(|rest| rest.strip_suffix("?notice=replayed"))
        .unwrap_or_else(|| panic!("{location}"))
        .to_owned();
    assert_ne!(new, failed);
    monitor.attempts_ended(1).await;
    let entry = api(&monitor, &format!("MessageProcessingLogs('{new}')")).await;
    assert_eq!(entry["d"]["OriginalMessageGuid"], failed.as_str());
    assert_eq!(entry["d"]["Status"], "ESCALATED");
    let shown = page(&monitor, &cookie, &location).await;
    assert!(
        shown.contains("Replayed: this is the new message"),
        "{shown}"
    );
    assert!(shown.contains(&format!(
        "A replay of <a href=\"/monitor/messages/{failed}\">{failed}</a>"
    )));
    // Its attempt in the timeline, with the handler that failed; and the Retry button.
    assert!(
        shown.contains("<span class=\"n\">#1</span><span class=\"status s-failed\">FAILED</span>"),
        "{shown}"
    );
    assert!(shown.contains("Handler <code>archive</code>"));
    assert!(shown.contains(&format!("action=\"/monitor/messages/{new}/retry\"")));
    // The original lists its replay.
    let original = page(&monitor, &cookie, &format!("/monitor/messages/{failed}")).await;
    assert!(original.contains("Replays of this message"), "{original}");
    assert!(original.contains(&format!("href=\"/monitor/messages/{new}\"")));

    // The list counts the escalated message, and filters by it.
    let list = page(&monitor, &cookie, "/monitor/?period=all").await;
    assert!(
        list.contains(
            "<span class=\"count\">1</span> <span class=\"status s-escalated\">ESCALATED</span>"
        ),
        "{list}"
    );
    let escalated = page(&monitor, &cookie, "/monitor/?period=all&status=ESCALATED").await;
    assert!(escalated.contains(&new) && !escalated.contains(&format!(">{failed}<")));

    // Retry: the escalated message runs again (a second attempt), back to its page.
    let answer = press(&monitor, &cookie, &new, "retry", &token).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(
        answer.location(),
        format!("/monitor/messages/{new}?notice=retried")
    );
    monitor.attempts_ended(2).await;
    let shown = page(&monitor, &cookie, answer.location()).await;
    assert!(shown.contains("Queued again"), "{shown}");
    assert!(shown.contains("<span class=\"n\">#2</span>"), "{shown}");

    // A FAILED message cannot be retried: the queue's reason, as a 409.
    let answer = press(&monitor, &cookie, &failed, "retry", &token).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert!(
        answer
            .body
            .contains("only ESCALATED messages can be retried")
    );

    // Both are in the audit log, with the user.
    let replays = audited(&monitor, "REPLAY").await;
    assert_eq!(replays.len(), 1);
    assert_eq!(
        (replays[0].0.as_str(), replays[0].1.as_str()),
        (USER, failed.as_str())
    );
    assert!(replays[0].2.contains(&new));
    let retries = audited(&monitor, "RETRY").await;
    assert_eq!(retries.len(), 1);
    assert_eq!(
        (retries[0].0.as_str(), retries[0].1.as_str()),
        (USER, new.as_str())
    );
}

#[tokio::test]
async fn without_message_replay_there_are_no_buttons_and_a_post_is_forbidden() {
    let monitor = Monitor::start_config(&config("")).await;
    let failed = monitor
        .post_envelope("/cxf/broken", fixture("hire.xml"))
        .await;
    let (cookie, token) = monitor.session(MONITOR, MONITOR_PASSWORD).await;
    let detail = page(&monitor, &cookie, &format!("/monitor/messages/{failed}")).await;
    assert!(detail.contains("Broken"), "{detail}");
    assert!(!detail.contains("/replay\"") && !detail.contains(">Replay<"));
    let answer = press(&monitor, &cookie, &failed, "replay", &token).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(
        answer.body.contains("needs the role MessageReplay"),
        "{}",
        answer.body
    );
    assert!(audited(&monitor, "REPLAY").await.is_empty());
    let replays = api(
        &monitor,
        &format!("MessageProcessingLogs?$filter=OriginalMessageGuid%20eq%20'{failed}'"),
    )
    .await;
    assert_eq!(replays["d"]["results"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_message_whose_request_was_not_kept_says_why_it_cannot_be_replayed() {
    let monitor = Monitor::start_config(&config("[store]\npayloads = false\n")).await;
    let id = monitor
        .post_envelope("/cxf/isc/events", fixture("hire.xml"))
        .await;
    let (cookie, token) = monitor.session(USER, PASSWORD).await;
    let detail = page(&monitor, &cookie, &format!("/monitor/messages/{id}")).await;
    assert!(!detail.contains("/replay\""), "{detail}");
    assert!(
        detail.contains("Replay is not available: message ")
            && detail.contains("has no stored request body: none was kept"),
        "{detail}"
    );
    let answer = press(&monitor, &cookie, &id, "replay", &token).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
}
