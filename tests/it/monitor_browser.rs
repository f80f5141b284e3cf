//! The monitor in a real browser: Debian's headless Chromium, driven through chromedriver by
//! Selenium (`tests/interop/monitor_browser.py`). The test starts iflowd and chromedriver (on
//! free ports, waiting for chromedriver with a bounded readiness probe), runs the script, and
//! sends the messages while the script has the list open: they must appear without a reload.
//! Then the script filters, opens the failed message (its error, its laid-out request), presses
//! Replay and reads the new message's page (linked to the original, its failed attempt and the
//! next one's time), and opens a message whose userId and param carry script, which must not run.
//!
//! Screenshots of the list, of the failed message and of its replay are written to
//! `target/monitor-screenshots/`.
//! Chromium, chromedriver and Selenium are installed by `scripts/test`; without them this test
//! fails, on purpose: it is never skipped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::common::{PASSWORD, TestApp, USER, fixture, isc_and_broken};
use crate::monitor::{SCRIPT_PARAM, SCRIPT_USER_ID, hostile_envelope};

/// How long chromedriver may take to say it is ready.
const DRIVER_READY: Duration = Duration::from_secs(30);
/// The whole browser scenario, cold Chromium included, on a busy 2-core machine.
const SCENARIO: Duration = Duration::from_secs(240);

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where the screenshots go.
pub fn screenshots() -> PathBuf {
    repository().join("target/monitor-screenshots")
}

/// chromedriver on a free port, once it answers `/status` with `ready: true`.
async fn chromedriver() -> (Child, String) {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        probe.local_addr().expect("its address").port()
    };
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start chromedriver ({e}): run scripts/test, which installs chromium and chromium-driver")
        });
    let url = format!("http://127.0.0.1:{port}");
    let client = crate::common::http_client();
    let ready = async {
        loop {
            let status = client.get(format!("{url}/status")).send().await;
            if let Ok(response) = status
                && let Ok(body) = response.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return;
            }
            // A readiness probe: the process is starting, ask again shortly.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(DRIVER_READY, ready)
        .await
        .unwrap_or_else(|_| panic!("chromedriver did not become ready within {DRIVER_READY:?}"));
    (child, url)
}

/// The script's next line, as JSON.
async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>, child: &mut Child) -> Value {
    let line = lines.next_line().await.expect("read the script's output");
    let Some(line) = line else {
        let mut stderr = String::new();
        if let Some(mut err) = child.stderr.take() {
            use tokio::io::AsyncReadExt;
            let _ = err.read_to_string(&mut stderr).await;
        }
        panic!("the browser script ended early; stderr:\n{stderr}");
    };
    let value: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    assert!(
        value.get("error").is_none(),
        "the browser script failed: {}\n{}\npage: {}",
        value["error"],
        value["trace"].as_str().unwrap_or(""),
        value["page"]
    );
    value
}

/// `envelope` with its externalEventId replaced by `id`.
fn with_external_id(envelope: &[u8], id: &str) -> String {
    let text = String::from_utf8(envelope.to_vec()).expect("UTF-8 fixture");
    let start = text.find("externalEventId>").expect("an externalEventId") + 16;
    let end = start + text[start..].find('<').expect("its end");
    format!("{}{id}{}", &text[..start], &text[end..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_shows_messages_live_filters_opens_them_and_runs_no_payload() {
    let python = repository().join("tests/interop/.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test (it creates the venv with selenium)",
        python.display()
    );
    let app = TestApp::spawn(&isc_and_broken("soap")).await;
    let (_driver, webdriver) = chromedriver().await;
    let mut script = Command::new(&python)
        .arg(repository().join("tests/interop/monitor_browser.py"))
        .arg(app.url(""))
        .arg(&webdriver)
        .args(["--user", USER, "--password", PASSWORD])
        .arg("--screenshots")
        .arg(screenshots())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the browser script");
    let mut lines = BufReader::new(script.stdout.take().expect("stdout")).lines();
    let mut stdin = script.stdin.take().expect("stdin");

    let run = async {
        let ready = next_line(&mut lines, &mut script).await;
        assert_eq!(ready, json!({"ready": "live"}));
        // The list is open in the browser: send the messages now.
        let normal = "browser-normal-1";
        let response = app
            .post_fixture_text(&with_external_id(&fixture("change-in-manager.xml"), normal))
            .await;
        assert_eq!(response.status(), 200);
        let hostile_ext = "browser-hostile-1";
        let response = app.post_fixture_text(&hostile_envelope(hostile_ext)).await;
        assert_eq!(response.status(), 200);
        let failed = "browser-failed-1";
        let response = app
            .post_soap(
                "/cxf/broken",
                with_external_id(&fixture("termination.xml"), failed),
            )
            .await;
        assert_eq!(response.status(), 500);
        let sent = json!({
            "normal": normal, "hostile_ext": hostile_ext, "failed": failed, "user_id": "103221"
        });
        stdin
            .write_all(format!("{sent}\n").as_bytes())
            .await
            .expect("tell the script");
        next_line(&mut lines, &mut script).await
    };
    let seen = tokio::time::timeout(SCENARIO, run)
        .await
        .unwrap_or_else(|_| panic!("the browser scenario did not finish within {SCENARIO:?}"));

    // Logging in: the form, then the list.
    assert!(
        seen["login_url"]
            .as_str()
            .unwrap()
            .contains("/monitor/login?next="),
        "{seen}"
    );
    assert!(
        seen["after_login_url"]
            .as_str()
            .unwrap()
            .ends_with("/monitor/"),
        "{seen}"
    );
    // Live: the three messages appeared while the page stayed loaded.
    assert_eq!(
        seen["marker_after_live_update"], "kept",
        "the page was not reloaded"
    );
    let live = seen["rows_live"].as_array().unwrap();
    assert_eq!(live.len(), 3, "{seen}");
    assert_eq!(live[0][0], "FAILED", "newest first: {seen}");
    assert_eq!(live[0][1], "browser-failed-1");
    // Filters.
    let failed_rows = seen["rows_failed"].as_array().unwrap();
    assert_eq!(failed_rows.len(), 1, "{seen}");
    assert_eq!(failed_rows[0][1], "browser-failed-1");
    let user_rows = seen["rows_user"].as_array().unwrap();
    assert_eq!(user_rows.len(), 1, "{seen}");
    assert_eq!(user_rows[0][1], "browser-normal-1");
    // The failed message: its error and handler, its request laid out, its events.
    assert!(
        seen["failed_error"]
            .as_str()
            .unwrap()
            .contains("No space left on device"),
        "{seen}"
    );
    assert_eq!(seen["failed_handler"], "Handler archive");
    let elements: Vec<&str> = seen["xml_elements"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        elements.contains(&"S:Envelope") && elements.contains(&"ns3:ExternalEvent"),
        "{seen}"
    );
    assert_eq!(seen["events_kinds"], json!(["termination"]));
    // Replay: the new message's page, linked to the original (also in the log), its first attempt
    // failed as the original did, the next one scheduled.
    let original = seen["failed_url"].as_str().unwrap();
    let original_guid = original.rsplit('/').next().unwrap();
    let replay_url = seen["replay_url"].as_str().unwrap();
    let new_guid = replay_url
        .rsplit('/')
        .next()
        .and_then(|last| last.strip_suffix("?notice=replayed"))
        .unwrap_or_else(|| panic!("{seen}"));
    assert_ne!(new_guid, original_guid);
    assert!(
        seen["replay_notice"]
            .as_str()
            .unwrap()
            .starts_with("Replayed"),
        "{seen}"
    );
    assert_eq!(seen["replay_original"], original, "{seen}");
    assert_eq!(seen["replay_status"], "RETRY", "{seen}");
    let attempt = seen["replay_attempt"].as_str().unwrap();
    assert!(
        attempt.starts_with("#1") && attempt.contains("FAILED"),
        "{seen}"
    );
    assert!(
        seen["replay_next"]
            .as_str()
            .unwrap()
            .starts_with("next attempt due "),
        "{seen}"
    );
    let entry = app.log_entry(new_guid).await;
    assert_eq!(entry["OriginalMessageGuid"], original_guid, "{entry}");
    // The hostile message: nothing ran, and its values read as the text they are.
    assert!(
        !seen["title_after"].as_str().unwrap().contains("pwned"),
        "{seen}"
    );
    assert!(
        seen["title_after"]
            .as_str()
            .unwrap()
            .starts_with("Message "),
        "{seen}"
    );
    assert_eq!(seen["pwned_elements"], 0, "{seen}");
    assert_eq!(seen["injected_images"], 0, "{seen}");
    assert_eq!(seen["user_cell"], SCRIPT_USER_ID);
    assert!(
        seen["params_text"].as_str().unwrap().contains(SCRIPT_PARAM),
        "{seen}"
    );

    for name in ["list.png", "detail.png", "replay.png"] {
        let path = screenshots().join(name);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "{} is a screenshot", path.display());
    }
    let status = tokio::time::timeout(SCENARIO, script.wait())
        .await
        .expect("the script ends")
        .expect("its status");
    assert!(status.success(), "{status}");
    app.stop().await;
}
