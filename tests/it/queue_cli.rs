//! `iflowd replay` (a real subprocess) against a running iflowd: named messages, `--all` with
//! a status and an endpoint, `--retry`, and what it says when a message cannot be run; and
//! `iflowd messages show` listing a queued message's attempts.

use crate::common::process::{iflowd, run};
use crate::common::queue::ended;
use crate::common::{
    Backend, MONITOR, MONITOR_PASSWORD, PASSWORD, TestApp, USER, fixture, message_id,
    on_both_backends, users_toml,
};

fn config() -> String {
    format!(
        r#"{users}
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"

[[endpoints]]
name = "Broken"
address = "/broken"
delivery = "async"
handlers = ["failing"]

[endpoints.retry]
max_attempts = 1

[handlers.failing]
type = "fault"
mode = "soap-fault"
first = 1
"#,
        users = users_toml()
    )
}

async fn replay(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    run(iflowd()
        .arg("replay")
        .args(["--url", &app.url("")])
        .args(args))
    .await
}

async fn named_messages_are_replayed_and_the_new_ids_printed(backend: Backend) {
    let app = TestApp::spawn_on(&backend, &config()).await;
    let first = message_id(&app.post_fixture("hire.xml").await);
    let second = message_id(&app.post_fixture("termination.xml").await);
    let (ok, out, err) = run(iflowd()
        .arg("replay")
        .args(["--url", &app.url("/"), "--user", USER, &first, &second])
        .env("IFLOWD_SEND_PASSWORD", PASSWORD))
    .await;
    assert!(ok, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for (line, original) in lines.iter().zip([&first, &second]) {
        let new = line
            .strip_prefix(&format!("{original} -> "))
            .unwrap_or_else(|| panic!("{line}"));
        assert_eq!(
            app.log_entry(new).await["OriginalMessageGuid"],
            original.as_str()
        );
    }
    assert_eq!(lines[2], "2 of 2 messages replayed");
}
on_both_backends!(named_messages_are_replayed_and_the_new_ids_printed);

async fn all_escalated_messages_of_an_endpoint_are_retried(backend: Backend) {
    let app = TestApp::spawn_on(&backend, &config()).await;
    let response = app.post_soap("/cxf/broken", fixture("hire.xml")).await;
    assert_eq!(response.status(), 200);
    let dead = message_id(&response);
    ended(&app, 1).await;
    assert_eq!(app.log_entry(&dead).await["Status"], "ESCALATED");
    message_id(&app.post_fixture("hire.xml").await);

    let (ok, out, err) = replay(
        &app,
        &[
            "--user",
            USER,
            "--password",
            PASSWORD,
            "--all",
            "--status",
            "escalated",
            "--endpoint",
            "Broken",
            "--retry",
        ],
    )
    .await;
    assert!(ok, "{out}{err}");
    assert_eq!(
        out,
        format!("{dead} queued again ({dead})\n1 of 1 message retried\n")
    );
    ended(&app, 2).await;
    assert_eq!(
        app.log_entry(&dead).await["Status"],
        "COMPLETED",
        "the second delivery passes the drill"
    );
}
on_both_backends!(all_escalated_messages_of_an_endpoint_are_retried);

async fn a_message_that_cannot_be_replayed_is_named_with_the_reason(backend: Backend) {
    let app = TestApp::spawn_on(&backend, &config()).await;
    let id = message_id(&app.post_fixture("hire.xml").await);
    let unknown = "AGAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let (ok, out, err) = replay(
        &app,
        &["--user", USER, "--password", PASSWORD, unknown, &id],
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "{unknown}: 404 Not Found: there is no message with MessageGuid '{unknown}'"
        )),
        "{err}"
    );
    assert!(out.contains(&format!("{id} -> AG")), "{out}");
    assert!(out.contains("1 of 2 messages replayed"), "{out}");
    assert!(
        err.contains("1 of 2 messages could not be replayed"),
        "{err}"
    );

    let (ok, _, err) = replay(
        &app,
        &["--user", MONITOR, "--password", MONITOR_PASSWORD, &id],
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains("403 Forbidden: user 'monitor' does not have the role 'MessageReplay'"),
        "{err}"
    );
}
on_both_backends!(a_message_that_cannot_be_replayed_is_named_with_the_reason);

async fn messages_show_lists_the_attempts_of_a_queued_message(backend: Backend) {
    // In the file too: `iflowd messages` reads the url from it.
    let app = TestApp::spawn_on(&backend, &(config() + &backend.store_toml())).await;
    let id = message_id(&app.post_soap("/cxf/broken", fixture("hire.xml")).await);
    ended(&app, 1).await;
    let (ok, out, err) = run(iflowd()
        .args(["messages", "show", &id, "--config"])
        .arg(app.path("iflowd.toml")))
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("  Status             ESCALATED\n"), "{out}");
    assert!(
        out.contains("  Custom status      ESCALATED 1/1\n"),
        "{out}"
    );
    let attempts = &out[out.find("\nAttempts\n").expect("an Attempts section")..];
    let mut lines = attempts.lines().skip(2);
    let first = lines.next().unwrap();
    assert!(first.starts_with("    1  FAILED       "), "{first}");
    assert!(first.ends_with(" ms)"), "{first}");
    let error = lines.next().unwrap();
    assert!(
        error.trim_start().starts_with("handler 'failing' failed:")
            && error.ends_with("(in handler 'failing')"),
        "{error}"
    );
    // A synchronous message has no such section.
    let sync = message_id(&app.post_fixture("hire.xml").await);
    let (_, out, _) = run(iflowd()
        .args(["messages", "show", &sync, "--config"])
        .arg(app.path("iflowd.toml")))
    .await;
    assert!(!out.contains("\nAttempts\n"), "{out}");
}
on_both_backends!(messages_show_lists_the_attempts_of_a_queued_message);
