//! Several iflowd instances on one PostgreSQL message log behave as one: a duplicate sent to one
//! instance of a message completed on another is answered as a duplicate, a copy arriving at one
//! while the first runs on another is not run twice, the monitoring API of either shows every
//! message, and a killed instance's running message is taken over by the next copy.

use std::process::Stdio;

use tokio::io::AsyncReadExt;

use crate::common::process::{BOUND, banner, iflowd, run, stop_with_sigterm, url_starting};
use crate::common::{
    Backend, PASSWORD, TestApp, USER, element_text, envelope, http_client, make_fifo, message_id,
    open_fifo_reader, users_toml, wait_for_writer,
};

/// The endpoint `ISC_Events` at `/cxf/isc/events`, archiving every event to `archive`.
fn config(archive: &str) -> String {
    format!(
        r#"{}
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = ["archive"]

[handlers.archive]
type = "jsonl"
path = "{archive}"
"#,
        users_toml()
    )
}

/// The events an instance's handler archived to its `events.jsonl` (a line each).
fn archived(app: &TestApp) -> usize {
    std::fs::read_to_string(app.path("events.jsonl"))
        .map(|text| text.lines().count())
        .unwrap_or(0)
}

/// The `MessageGuid`s of `app`'s API's entries of `external_id`, oldest first, with their status.
async fn entries_of(app: &TestApp, external_id: &str) -> Vec<(String, String)> {
    app.api_results(&format!(
        "MessageProcessingLogs?$filter=ApplicationMessageId%20eq%20'{external_id}'&$orderby=LogStart"
    ))
    .await
    .iter()
    .map(|e| {
        (
            e["MessageGuid"].as_str().unwrap().to_owned(),
            e["Status"].as_str().unwrap().to_owned(),
        )
    })
    .collect()
}

#[tokio::test]
async fn a_message_completed_on_one_instance_is_a_duplicate_on_the_other_and_both_show_both() {
    let backend = Backend::postgres().await;
    let a = TestApp::spawn_on(&backend, &config("{dir}/events.jsonl")).await;
    let b = TestApp::spawn_on(&backend, &config("{dir}/events.jsonl")).await;

    let first = a
        .post_soap("/cxf/isc/events", envelope("shared-1", 1, false))
        .await;
    assert_eq!(first.status(), 200);
    let first_id = message_id(&first);
    let first_ack = first.text().await.unwrap();

    let copy = b
        .post_soap("/cxf/isc/events", envelope("shared-1", 1, true))
        .await;
    assert_eq!(copy.status(), 200);
    let copy_id = message_id(&copy);
    let copy_ack = copy.text().await.unwrap();
    assert_eq!(
        element_text(&copy_ack, "entityId"),
        element_text(&first_ack, "entityId")
    );
    assert_eq!(archived(&b), 0, "instance B's handler never ran");

    for app in [&a, &b] {
        let seen = entries_of(app, "shared-1").await;
        assert_eq!(
            seen,
            [
                (first_id.clone(), "COMPLETED".to_owned()),
                (copy_id.clone(), "DISCARDED".to_owned())
            ]
        );
        assert_eq!(
            app.log_entry(&copy_id).await["OriginalMessageGuid"],
            first_id.as_str()
        );
        // The monitor's list on either instance shows both.
        let list = app
            .client
            .get(app.url("/monitor/"))
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(list.status(), 200);
        let list = list.text().await.unwrap();
        for id in [&first_id, &copy_id] {
            assert!(list.contains(&format!("/monitor/messages/{id}\"")), "{id}");
        }
    }
    let body = b.stored_body(&first_id, "request").await;
    assert_eq!(body.status(), 200, "A's bodies are readable on B");
}

/// A copy sent to one instance while the first delivery runs on another waits for it, as a copy
/// within one instance does: answered as its duplicate once it completed; with no wait left
/// (`duplicate_wait_ms = 0` on B), it gets the running-copy fault at once. Neither runs.
#[tokio::test]
async fn a_copy_arriving_at_one_instance_while_the_first_runs_on_the_other_waits_and_is_not_run() {
    let backend = Backend::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    make_fifo(&dir.path().join("pipe"));
    let mut reader = open_fifo_reader(&dir.path().join("pipe"));
    let a = TestApp::spawn_in_on(&backend, dir, &config("{dir}/pipe")).await;
    let no_wait = format!(
        "{}\n[store]\nduplicate_wait_ms = 0\n",
        config("{dir}/events.jsonl")
    );
    let b = TestApp::spawn_on(&backend, &no_wait).await;
    let c = TestApp::spawn_on(&backend, &config("{dir}/events.jsonl")).await;

    let request = a
        .client
        .post(a.url("/cxf/isc/events"))
        .basic_auth(USER, Some(PASSWORD))
        .header("Content-Type", "text/xml")
        .body(envelope("busy-1", 300, false));
    let mut first = tokio::spawn(request.send());
    wait_for_writer(&mut reader).await;
    let running = entries_of(&b, "busy-1").await;
    assert_eq!(running.len(), 1);
    let (first_id, status) = &running[0];
    assert_eq!(status, "PROCESSING", "A's running message, seen on B");

    let copy = b
        .post_soap("/cxf/isc/events", envelope("busy-1", 1, true))
        .await;
    assert_eq!(copy.status(), 500);
    let copy_id = message_id(&copy);
    let fault = copy.text().await.unwrap();
    assert_eq!(element_text(&fault, "faultcode"), Some("soap:Server"));
    assert!(
        element_text(&fault, "faultstring")
            .unwrap()
            .contains(&format!("MPL ID {first_id}")),
        "{fault}"
    );

    let waiting = tokio::spawn(
        c.client
            .post(c.url("/cxf/isc/events"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Content-Type", "text/xml")
            .body(envelope("busy-1", 1, true))
            .send(),
    );
    copy_waiting_on(&c).await;

    // Let A's finish: drain the pipe until its answer is in.
    let mut buf = vec![0u8; 65536];
    let answer = loop {
        tokio::select! {
            answer = &mut first => break answer.unwrap().unwrap(),
            read = reader.read(&mut buf) => { read.unwrap(); }
        }
    };
    assert_eq!(answer.status(), 200);
    let first_ack = answer.text().await.unwrap();
    let waited = waiting.await.unwrap().unwrap();
    assert_eq!(waited.status(), 200, "answered as the duplicate it is");
    let waited_id = message_id(&waited);
    let waited_ack = waited.text().await.unwrap();
    assert_eq!(
        element_text(&waited_ack, "entityId"),
        element_text(&first_ack, "entityId")
    );

    for app in [&a, &b, &c] {
        assert_eq!(
            entries_of(app, "busy-1").await,
            [
                (first_id.clone(), "COMPLETED".to_owned()),
                (copy_id.clone(), "FAILED".to_owned()),
                (waited_id.clone(), "DISCARDED".to_owned())
            ]
        );
    }
    for id in [&copy_id, &waited_id] {
        assert_eq!(
            c.log_entry(id).await["OriginalMessageGuid"],
            first_id.as_str()
        );
    }
    assert_eq!(archived(&b) + archived(&c), 0, "neither B nor C ran it");
}

/// Waits until a copy on `app` is waiting for a delivery running elsewhere (its
/// `iflowd_copies_waiting` gauge): a readiness probe with a bound.
async fn copy_waiting_on(app: &TestApp) {
    for _ in 0..1000 {
        let metrics = app.metrics().await;
        if metrics
            .lines()
            .any(|l| l == "iflowd_copies_waiting{endpoint=\"ISC_Events\"} 1")
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no copy waiting after 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_sent_to_two_instances_at_once_are_processed_once() {
    let backend = Backend::postgres().await;
    let a = TestApp::spawn_on(&backend, &config("{dir}/events.jsonl")).await;
    let b = TestApp::spawn_on(&backend, &config("{dir}/events.jsonl")).await;
    for round in 0..10 {
        let id = format!("race-{round}");
        let mut posts = tokio::task::JoinSet::new();
        for copy in 0..6 {
            let app = if copy % 2 == 0 { &a } else { &b };
            let request = app
                .client
                .post(app.url("/cxf/isc/events"))
                .basic_auth(USER, Some(PASSWORD))
                .header("Content-Type", "text/xml")
                .body(envelope(&id, 1, copy > 0));
            posts.spawn(request.send());
        }
        while let Some(answer) = posts.join_next().await {
            answer.unwrap().unwrap();
        }
        let statuses: Vec<String> = entries_of(&a, &id)
            .await
            .into_iter()
            .map(|(_, status)| status)
            .collect();
        assert_eq!(statuses.len(), 6, "{statuses:?}");
        assert_eq!(
            statuses.iter().filter(|s| *s == "COMPLETED").count(),
            1,
            "round {round}: processed once: {statuses:?}"
        );
        assert!(
            statuses
                .iter()
                .all(|s| ["COMPLETED", "DISCARDED", "FAILED"].contains(&s.as_str())),
            "{statuses:?}"
        );
    }
    // Every processed copy wrote its events once, over both instances' archives.
    assert_eq!(archived(&a) + archived(&b), 10);
}

#[tokio::test]
async fn a_killed_instances_running_message_is_abandoned_and_its_copy_runs_on_the_other() {
    let backend = Backend::postgres().await;
    let b = TestApp::spawn_on(&backend, &config("{dir}/events.jsonl")).await;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    make_fifo(&fifo);
    let mut reader = open_fifo_reader(&fifo);
    let file = dir.path().join("iflowd.toml");
    let text = format!(
        "data_dir = \"{}/data\"\n{}{}",
        dir.path().display(),
        config(&fifo.display().to_string()),
        backend.store_toml()
    );
    std::fs::write(&file, text).unwrap();
    let mut a = iflowd()
        .args(["serve", "--config"])
        .arg(&file)
        .env("IFLOWD_LISTEN", "127.0.0.1:0")
        .env("IFLOWD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = url_starting(&banner(&mut a).await, "http://127.0.0.1:");
    let stuck = tokio::spawn(
        http_client()
            .post(format!("{base}/cxf/isc/events"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Content-Type", "text/xml")
            .body(envelope("lost-1", 300, false))
            .send(),
    );
    wait_for_writer(&mut reader).await;
    let running = entries_of(&b, "lost-1").await;
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].1, "PROCESSING");
    backend.wait_for_instances(2).await;

    a.start_kill().unwrap();
    tokio::time::timeout(BOUND, a.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(stuck.await.unwrap().is_err(), "A never answered");
    backend.wait_for_instances(1).await;

    // SuccessFactors sends it again, to B this time.
    let again = b
        .post_soap("/cxf/isc/events", envelope("lost-1", 1, true))
        .await;
    assert_eq!(again.status(), 200);
    let again_id = message_id(&again);
    assert_eq!(
        entries_of(&b, "lost-1").await,
        [
            (running[0].0.clone(), "ABANDONED".to_owned()),
            (again_id, "COMPLETED".to_owned())
        ]
    );
    let reason = b.error_text(&running[0].0).await;
    assert!(
        reason.starts_with("iflowd stopped while the message was being processed"),
        "{reason}"
    );
}

/// The url's password comes from the environment (`${VAR}`) and is shown nowhere: not in the
/// banner, the logs (at debug), `check-config`, or the error of a database that cannot be
/// reached.
#[tokio::test]
async fn the_urls_password_comes_from_the_environment_and_is_shown_nowhere() {
    const SECRET: &str = "hunter2-not-for-logs";
    let backend = Backend::postgres().await;
    let url = backend
        .url()
        .unwrap()
        .replace("postgres@", "postgres:${IFLOWD_TEST_DB_PASSWORD}@");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("iflowd.toml");
    std::fs::write(
        &file,
        format!("{}\n[store]\nurl = \"{url}\"\n", users_toml()),
    )
    .unwrap();

    let (ok, out, err) = run(iflowd()
        .args(["check-config"])
        .arg(&file)
        .env("IFLOWD_TEST_DB_PASSWORD", SECRET))
    .await;
    assert!(ok, "{err}");
    assert!(!out.contains(SECRET) && !err.contains(SECRET), "{out}{err}");

    let mut child = iflowd()
        .args(["serve", "--config"])
        .arg(&file)
        .current_dir(dir.path())
        .env("IFLOWD_LISTEN", "127.0.0.1:0")
        .env("IFLOWD_LOG", "debug")
        .env("IFLOWD_TEST_DB_PASSWORD", SECRET)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let shown = banner(&mut child).await;
    assert!(
        shown.contains("message log: PostgreSQL postgres@127.0.0.1:"),
        "{shown}"
    );
    let base = url_starting(&shown, "http://127.0.0.1:");
    let answer = http_client()
        .post(format!("{base}/cxf/isc/events"))
        .basic_auth(USER, Some(PASSWORD))
        .header("Content-Type", "text/xml")
        .body(envelope("secret-1", 1, false))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    stop_with_sigterm(&mut child).await;
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .await
        .unwrap();
    assert!(
        !shown.contains(SECRET) && !logs.contains(SECRET),
        "{shown}\n{logs}"
    );

    // A database that cannot be reached: start-up fails, saying why, without the password.
    let unreachable = format!(
        "{}\n[store]\nurl = \"postgres://iflowd:${{IFLOWD_TEST_DB_PASSWORD}}@127.0.0.1:1/iflowd\"\n",
        users_toml()
    );
    std::fs::write(&file, unreachable).unwrap();
    let (ok, out, err) = run(iflowd()
        .args(["serve", "--config"])
        .arg(&file)
        .env("IFLOWD_LISTEN", "127.0.0.1:0")
        .env("IFLOWD_TEST_DB_PASSWORD", SECRET))
    .await;
    assert!(!ok);
    assert!(
        err.contains("[store] url") && err.contains("connect"),
        "{err}"
    );
    assert!(!out.contains(SECRET) && !err.contains(SECRET), "{out}{err}");
}
