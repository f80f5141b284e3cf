//! `exec` with real scripts: what the program is given, how its failure reaches the log, and that
//! a time-out kills the program and its children. Scripts run through `/bin/sh script`, so no test
//! executes a file it has just written (which races with other tests' forks: "text file busy").

use std::time::Duration;

use crate::common::logs::Logs;
use crate::common::{TestApp, fixture, users_toml};

/// An endpoint `/cxf/e` running `["log", "script"]`, where the script is `script` and sees only
/// the variables given here (plus iflowd's own).
fn config(script: &str, settings: &str) -> String {
    format!(
        r#"{}
[[endpoints]]
name = "ISC_Exec"
address = "/e"
handlers = ["log", "script"]

[handlers.script]
type = "exec"
command = ["/bin/sh", "{{dir}}/script.sh", "first arg"]
inherit_env = false
env = {{ PATH = "/usr/bin:/bin", OUT = "{{dir}}" }}
{settings}
"#,
        users_toml()
    )
    .replace("{script}", script)
}

async fn spawn(script: &str, settings: &str) -> TestApp {
    let app = TestApp::spawn(&config(script, settings)).await;
    std::fs::write(app.path("script.sh"), script).unwrap();
    app
}

#[tokio::test]
async fn the_program_gets_each_event_on_stdin_its_arguments_and_iflowd_variables() {
    let app = spawn(
        r#"id="$IFLOWD_EVENT_ID"
cat > "$OUT/stdin-$id.json"
{ echo "arg=$1"; env | grep '^IFLOWD_' | sort; } > "$OUT/env-$id"
"#,
        "",
    )
    .await;
    let response = app
        .post_soap("/cxf/e", fixture("multiple-events.xml"))
        .await;
    assert_eq!(response.status(), 200);
    let id = response.headers()["sap_messageprocessinglogid"]
        .to_str()
        .unwrap()
        .to_owned();

    for event_id in ["evt-0001", "evt-0002", "evt-0003"] {
        let stdin = std::fs::read_to_string(app.path(&format!("stdin-{event_id}.json"))).unwrap();
        assert!(stdin.ends_with('\n'), "one JSON line");
        let event: serde_json::Value = serde_json::from_str(&stdin).unwrap();
        assert_eq!(event["eventId"], event_id);
        assert_eq!(event["messageId"], id.as_str());

        let env = std::fs::read_to_string(app.path(&format!("env-{event_id}"))).unwrap();
        for expected in [
            "arg=first arg".to_owned(),
            format!("IFLOWD_MESSAGE_ID={id}"),
            "IFLOWD_ENDPOINT=ISC_Exec".to_owned(),
            "IFLOWD_EVENT_TYPE=com.successfactors.Employment.JobInformation.ManagerChanged"
                .to_owned(),
            "IFLOWD_EVENT_KIND=change_in_manager".to_owned(),
            format!("IFLOWD_EVENT_ID={event_id}"),
            "IFLOWD_EXTERNAL_EVENT_ID=77aa88bb-99cc-4ddd-8eee-ff0011223344".to_owned(),
            "IFLOWD_SENDER=isc".to_owned(),
        ] {
            assert!(env.lines().any(|l| l == expected), "{expected} in\n{env}");
        }
    }
}

#[tokio::test]
async fn a_non_zero_exit_fails_the_message_and_the_log_has_the_stderr_tail() {
    let (logs, _guard) = Logs::capture();
    let app = spawn(
        "cat > /dev/null\necho \"$IFLOWD_EVENT_ID\" >> \"$OUT/ran\"\necho 'looking up 600001' >&2\necho 'no such employee: 600001' >&2\nexit 3\n",
        "",
    )
    .await;
    let response = app
        .post_soap("/cxf/e", fixture("multiple-events.xml"))
        .await;
    assert_eq!(response.status(), 500);
    let id = response.headers()["sap_messageprocessinglogid"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.text().await.unwrap();
    assert!(
        !body.contains("no such employee"),
        "the sender learns only the id: {body}"
    );

    let failures = logs.lines_with(&["handler failed", &id]);
    assert_eq!(failures.len(), 1, "{}", logs.text());
    let line = &failures[0];
    assert!(line.contains("handler=script"), "{line}");
    assert!(line.contains("/bin/sh exited with status 3"), "{line}");
    assert!(line.contains("no such employee: 600001"), "{line}");
    assert_eq!(
        std::fs::read_to_string(app.path("ran")).unwrap(),
        "evt-0001\n",
        "the first failing event stops the handler"
    );
}

#[tokio::test]
async fn a_program_past_its_timeout_is_killed_with_its_whole_process_group() {
    let app = spawn(
        // Both the script and its background child hold the FIFO open for writing; the reader
        // sees its end only when every one of them is gone.
        "exec 3>\"$OUT/alive\"\nsleep 60 &\nsleep 60\n",
        "timeout_ms = 500",
    )
    .await;
    let fifo = app.path("alive");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Opening a FIFO for reading waits for a writer, then reading waits for the last writer to
    // go: both block, so they run on a blocking thread.
    let watcher = tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut reader = std::fs::File::open(fifo).unwrap();
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap();
    });

    let started = std::time::Instant::now();
    let response = app.post_soap("/cxf/e", fixture("hire.xml")).await;
    assert_eq!(response.status(), 500);
    assert!(started.elapsed() >= Duration::from_millis(500));
    tokio::time::timeout(Duration::from_secs(20), watcher)
        .await
        .expect("the script and its background child were killed, well before their 60 s")
        .unwrap();
}

#[tokio::test]
async fn a_program_that_cannot_start_fails_the_message() {
    let app = TestApp::spawn(&format!(
        "{}\n[[endpoints]]\nname = \"E\"\naddress = \"/e\"\nhandlers = [\"run\"]\n\n[handlers.run]\ntype = \"exec\"\ncommand = [\"no-such-program-iflowd\"]\ninherit_env = false\n",
        users_toml()
    ))
    .await;
    let response = app.post_soap("/cxf/e", fixture("hire.xml")).await;
    assert_eq!(response.status(), 500);
}
