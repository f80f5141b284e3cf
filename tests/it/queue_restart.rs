//! The delivery queue across restarts: retry timers live in the store, a graceful stop leaves
//! waiting messages queued, and after a real SIGKILL every acknowledged message is processed; and
//! on a full disk, where nothing is acknowledged that is not queued.

use std::process::Stdio;

use crate::common::process::{BOUND, banner, iflowd, url_starting};
use crate::common::queue::{archive, async_config, attempts, ended, flaky, millis};
use crate::common::{
    Backend, PASSWORD, TestApp, USER, envelope, make_fifo, message_id, on_both_backends,
    open_fifo_reader, wait_for_writer,
};

const PATH: &str = "/cxf/queued";

fn fresh_client() -> reqwest::Client {
    iflowd::tls::client_builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_retry_scheduled_before_a_restart_runs_at_its_time_after_it() {
    let retry = "interval_ms = 45000\nmax_attempts = 3";
    let mut app = TestApp::spawn(&async_config("\"flaky\"", retry, &flaky(None))).await;
    app.client = fresh_client();
    let id = message_id(&app.post_soap(PATH, envelope("restart-1", 1, false)).await);
    ended(&app, 1).await;
    assert_eq!(app.log_entry(&id).await["Status"], "RETRY");
    let dir = app.stop_keeping_dir().await;

    // The same data directory, the chain fixed: nothing in memory knows about the retry.
    let config = async_config("\"archive\"", retry, &archive("{dir}/events.jsonl"));
    let mut app = TestApp::spawn_in(dir, &config).await;
    app.client = fresh_client();
    ended(&app, 1).await;
    let list = attempts(&app, &id).await;
    let statuses: Vec<&str> = list.iter().map(|a| a["Status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["FAILED", "COMPLETED"]);
    let wait = millis(&list[1]["Start"]) - millis(&list[0]["End"]);
    assert!((45_000..45_100).contains(&wait), "{wait} ms");
    assert_eq!(app.log_entry(&id).await["Status"], "COMPLETED");
    let archived = std::fs::read_to_string(app.path("events.jsonl")).unwrap();
    assert!(archived.contains(&id), "{archived}");
}

async fn a_graceful_stop_finishes_the_running_attempt_and_leaves_the_rest_queued(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    make_fifo(&dir.path().join("pipe"));
    let mut reader = open_fifo_reader(&dir.path().join("pipe"));
    let config = async_config(
        "\"archive\"",
        "",
        &format!("{}\n[queue]\nworkers = 1\n", archive("{dir}/pipe")),
    );
    let mut app = TestApp::spawn_in_on(&backend, dir, &config).await;
    let running = message_id(&app.post_soap(PATH, envelope("stop-1", 300, false)).await);
    wait_for_writer(&mut reader).await;
    let waiting = message_id(&app.post_soap(PATH, envelope("stop-2", 300, false)).await);

    // What SIGTERM does to the queue (serve_listeners calls it), with the handler let go while
    // it waits: the running attempt finishes, the scheduler takes nothing more.
    let queue = app.app.clone();
    let drain = async move {
        use tokio::io::AsyncReadExt;
        let mut rest = Vec::new();
        let _ = reader.read_to_end(&mut rest).await;
    };
    tokio::select! {
        biased;
        () = queue.shut_down_queue(std::time::Duration::from_secs(60)) => {}
        () = drain => panic!("the pipe stays open while iflowd runs"),
    }
    app.begin_shutdown();
    app.stopped().await.unwrap();

    let settings = iflowd::config::StoreConfig {
        url: backend.url().map(Into::into),
        ..Default::default()
    };
    let store = iflowd::store::open(&settings, &app.path("data"))
        .await
        .unwrap();
    let finished = store.get(&running).await.unwrap().unwrap();
    assert_eq!(finished.status.as_str(), "COMPLETED");
    let queued = store.get(&waiting).await.unwrap().unwrap();
    assert_eq!(queued.status.as_str(), "PROCESSING");
    assert_eq!(queued.custom_status, "QUEUED");
    assert_eq!(store.attempts(&waiting).await.unwrap(), Some(Vec::new()));
}
on_both_backends!(a_graceful_stop_finishes_the_running_attempt_and_leaves_the_rest_queued);

fn crash_config(archive_path: &str) -> String {
    format!(
        "data_dir = \"{{dir}}/data\"\n{}",
        async_config(
            "\"archive\"",
            "",
            &format!("{}\n[queue]\nworkers = 1\n", archive(archive_path)),
        )
    )
}

async fn after_kill_9_every_acknowledged_message_is_processed(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    make_fifo(&fifo);
    let mut reader = open_fifo_reader(&fifo);
    let file = dir.path().join("iflowd.toml");
    let text = crash_config("{dir}/pipe").replace("{dir}", &dir.path().display().to_string());
    std::fs::write(&file, text + &backend.store_toml()).unwrap();
    let mut child = iflowd()
        .args(["serve", "--config"])
        .arg(&file)
        .env("IFLOWD_LISTEN", "127.0.0.1:0")
        .env("IFLOWD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = url_starting(&banner(&mut child).await, "http://127.0.0.1:");
    let client = crate::common::http_client();
    let mut acknowledged = Vec::new();
    for i in 0..3 {
        let response = client
            .post(format!("{base}{PATH}"))
            .basic_auth(USER, Some(PASSWORD))
            .header("Content-Type", "text/xml")
            .body(envelope(&format!("crash-{i}"), 300, false))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        acknowledged.push(message_id(&response));
        if i == 0 {
            // The first one's attempt is running (its handler stuck in the pipe); the others
            // wait in memory for the only worker.
            wait_for_writer(&mut reader).await;
        }
    }
    child.start_kill().unwrap();
    tokio::time::timeout(BOUND, child.wait())
        .await
        .unwrap()
        .unwrap();

    // PostgreSQL: the killed instance's connections are closed, so its lock is free.
    backend.wait_for_instances(0).await;
    let app = TestApp::spawn_in_on(&backend, dir, &crash_config("{dir}/events.jsonl")).await;
    ended(&app, 3).await;
    let archived = std::fs::read_to_string(app.path("events.jsonl")).unwrap();
    for id in &acknowledged {
        assert_eq!(app.log_entry(id).await["Status"], "COMPLETED", "{id}");
        assert!(archived.contains(id.as_str()), "{id} processed");
    }
    // Each was taken by this instance when it died (the first running, the others waiting in
    // memory for the only worker): each ran again after the restart.
    for id in &acknowledged {
        let list = attempts(&app, id).await;
        let statuses: Vec<&str> = list.iter().map(|a| a["Status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["INTERRUPTED", "COMPLETED"], "{id}");
        assert!(
            list[0]["Error"]
                .as_str()
                .unwrap()
                .starts_with("iflowd stopped during this attempt"),
            "{list:?}"
        );
    }
    app.assert_metrics(&[
        r#"iflowd_queue_attempts_total{endpoint="Queued",outcome="interrupted"} 3"#,
        r#"iflowd_messages_total{endpoint="Queued",status="ABANDONED"} 0"#,
    ])
    .await;
}
on_both_backends!(after_kill_9_every_acknowledged_message_is_processed);

#[tokio::test]
async fn on_a_full_disk_an_async_call_is_refused_not_acknowledged_and_queued_once_there_is_room() {
    let dir = tempfile::tempdir().unwrap();
    let disk = crate::common::tmpfs::Tmpfs::mount(&dir.path().join("data"), "4m");
    let config = async_config("\"archive\"", "", &archive("{dir}/events.jsonl"));
    let app = TestApp::spawn_in(dir, &config).await;
    let before = message_id(&app.post_soap(PATH, envelope("before", 1, false)).await);
    ended(&app, 1).await;

    let filler = disk.fill();
    let refused = app.post_soap(PATH, envelope("while-full", 1, false)).await;
    assert_eq!(
        refused.status(),
        500,
        "never acknowledged without its queued entry"
    );
    let fault = refused.text().await.unwrap();
    assert!(
        fault.contains("The message log cannot be written now"),
        "{fault}"
    );

    std::fs::remove_file(filler).unwrap();
    let store = app.app.store().expect("a store");
    let mut writes = store.writes();
    let after = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            let response = app.post_soap(PATH, envelope("after", 1, false)).await;
            if response.status() == 200 {
                return message_id(&response);
            }
            writes.changed().await.unwrap();
        }
    })
    .await
    .expect("queued again once there is room");
    ended(&app, 2).await;
    let archived = std::fs::read_to_string(app.path("events.jsonl")).unwrap();
    for id in [&before, &after] {
        assert_eq!(app.log_entry(id).await["Status"], "COMPLETED");
        assert!(archived.contains(id.as_str()));
    }
    assert!(
        !archived.contains("while-full"),
        "the refused call was not processed"
    );
    drop(app);
}
