//! `iflowd messages show` and `iflowd messages --follow`, the real binary reading the log of a
//! running server, on both backends.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

use crate::common::downstream::{Downstream, Reply};
use crate::common::process::{BOUND, iflowd, run};
use crate::common::{
    ARCHIVED_ENDPOINT, Backend, TestApp, fixture, isc_and_broken, message_id, on_both_backends,
    users_toml,
};

async fn messages(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    run(iflowd()
        .arg("messages")
        .args(args)
        .arg("--config")
        .arg(app.path("iflowd.toml")))
    .await
}

async fn show_prints_every_field_the_error_and_both_bodies_under_headings(backend: Backend) {
    // The store's url in the file too: the command reads the log the file names.
    let config = format!("{}{}", isc_and_broken("soap"), backend.store_toml());
    let app = TestApp::spawn_on(&backend, &config).await;
    let answer = app.post_soap("/cxf/broken", fixture("hire.xml")).await;
    assert_eq!(answer.status(), 500);
    let id = message_id(&answer);
    let answer_body = answer.bytes().await.unwrap();

    let (ok, out, err) = messages(&app, &["show", &id]).await;
    assert!(ok, "{err}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(format!("Message {id}").as_str()));
    for field in [
        "  Status             FAILED",
        "  Custom status      FAILED",
        "  Endpoint           Broken",
        "  Sender             isc",
        "  Event type         com.successfactors.Employment.AssignmentInformation.Hire",
        "  External event ID  c4a1f7e2-90b3-4d6c-8e5f-1a2b3c4d5e6f",
        "  Events             1",
        "  Repost             false",
        "  Original message   -",
    ] {
        assert!(out.lines().any(|l| l == field), "{field:?} in\n{out}");
    }
    for field in [
        "Correlation ID",
        "Transaction ID",
        "Started (UTC)",
        "Ended (UTC)",
        "Took",
    ] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(field))
            .unwrap_or_else(|| panic!("{field} in\n{out}"));
        assert!(!line.ends_with(" -"), "{line}");
    }
    let error = app.error_text(&id).await;
    assert!(
        out.contains(&format!("\nError\n  {error}\n  (in handler 'archive')\n")),
        "{out}"
    );
    // The fixture is laid out as iflowd lays XML out (an element a line, two spaces a level), so
    // it reads back the same, indented under its heading.
    let request = String::from_utf8(fixture("hire.xml")).unwrap();
    let indented: String = request
        .trim_end()
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect();
    let heading = format!(
        "\nRequest (text/xml; charset=utf-8, {} bytes, stored ",
        request.len()
    );
    let at = out.find(&heading).unwrap_or_else(|| panic!("{out}"));
    assert!(out[at..].contains(&format!(")\n{indented}")), "{out}");
    // The answer was sent on one line; it is shown an element a line.
    let answer_text = std::str::from_utf8(&answer_body).unwrap();
    assert_eq!(answer_text.lines().count(), 1, "{answer_text}");
    let heading = format!(
        "\nAnswer (text/xml; charset=utf-8, {} bytes, stored ",
        answer_body.len()
    );
    let at = out.find(&heading).unwrap_or_else(|| panic!("{out}"));
    let shown = &out[at..];
    for line in [
        "\n    <soap:Body>\n",
        "\n      <soap:Fault>\n",
        "\n        <faultcode>soap:Server</faultcode>\n",
        "\n  </soap:Envelope>\n",
    ] {
        assert!(shown.contains(line), "{line:?} in\n{shown}");
    }
    assert!(out.ends_with("  </soap:Envelope>\n"), "{out}");

    // --raw: the bytes as kept, and nothing else.
    let raw = iflowd()
        .args(["messages", "show", &id, "--raw", "request", "--config"])
        .arg(app.path("iflowd.toml"))
        .output()
        .await
        .unwrap();
    assert!(raw.status.success());
    assert_eq!(raw.stdout, fixture("hire.xml"));
    let raw = iflowd()
        .args(["messages", "show", &id, "--raw", "answer", "--config"])
        .arg(app.path("iflowd.toml"))
        .output()
        .await
        .unwrap();
    assert_eq!(raw.stdout, answer_body);
}
on_both_backends!(show_prints_every_field_the_error_and_both_bodies_under_headings);

async fn show_names_what_is_missing(backend: Backend) {
    let url = backend
        .url()
        .map_or(String::new(), |url| format!("url = \"{url}\"\n"));
    let config = format!("{}\n[store]\npayloads = false\n{url}", users_toml());
    let app = TestApp::spawn_on(&backend, &config).await;
    let id = message_id(&app.post_fixture("hire.xml").await);
    let (ok, out, err) = messages(&app, &["show", &id]).await;
    assert!(ok, "{err}");
    assert!(out.contains("\nError\n  (none)\n"), "{out}");
    assert!(out.contains("\nRequest\n  (not stored)\n"), "{out}");
    assert!(out.ends_with("\nAnswer\n  (not stored)\n"), "{out}");

    let (ok, out, err) = messages(&app, &["show", &id, "--raw", "request"]).await;
    assert!(!ok);
    assert_eq!(out, "");
    assert!(
        err.contains(&format!("message {id} has no stored request")),
        "{err}"
    );
    let (ok, _, err) = messages(&app, &["show", "AGnothing"]).await;
    assert!(!ok);
    assert!(
        err.contains("there is no message AGnothing in the log"),
        "{err}"
    );
    let (ok, _, err) = messages(&app, &["show", &id, "--raw", "headers"]).await;
    assert!(!ok);
    assert!(err.contains("invalid value 'headers'"), "{err}");
}
on_both_backends!(show_names_what_is_missing);

/// `iflowd messages --follow` on `app`'s log, its standard output read line by line.
struct Follower {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    /// Every line read so far.
    read: Vec<String>,
}

impl Follower {
    fn start(app: &TestApp) -> Self {
        let mut child = iflowd()
            .args(["messages", "--follow", "--config"])
            .arg(app.path("iflowd.toml"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("iflowd runs");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            child,
            lines,
            read: Vec::new(),
        }
    }

    async fn next_line(&mut self) -> String {
        let line = tokio::time::timeout(BOUND, self.lines.next_line())
            .await
            .expect("a line in time")
            .unwrap()
            .expect("still running");
        self.read.push(line.clone());
        line
    }

    /// The next line about `id`, after lines about others.
    async fn line_about(&mut self, id: &str) -> String {
        loop {
            let line = self.next_line().await;
            if line.contains(id) {
                return line;
            }
        }
    }

    /// Stops it as Ctrl-C does; it exits 0. Every line it printed.
    async fn interrupt(mut self) -> Vec<String> {
        let pid = nix::unistd::Pid::from_raw(self.child.id().unwrap() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
        let status = tokio::time::timeout(BOUND, self.child.wait())
            .await
            .expect("stops on Ctrl-C")
            .unwrap();
        assert!(status.success(), "{status:?}");
        while let Some(line) = self.lines.next_line().await.unwrap() {
            self.read.push(line);
        }
        self.read
    }
}

fn status_of(line: &str) -> &str {
    line.split_whitespace().nth(2).unwrap()
}

async fn follow_prints_entries_as_they_are_written_and_their_changes_until_ctrl_c(
    backend: Backend,
) {
    let mut downstream = Downstream::spawn(&[Reply::Gated(200)]).await;
    let config = format!(
        "{}{ARCHIVED_ENDPOINT}\n[[endpoints]]\nname = \"Held\"\naddress = \"/held\"\nhandlers = [\"hold\"]\n\n[handlers.hold]\ntype = \"forward\"\nurl = \"{}\"\n{}",
        users_toml(),
        downstream.url("/"),
        backend.store_toml()
    );
    let app = TestApp::spawn_on(&backend, &config).await;
    let before = message_id(&app.post_fixture("hire.xml").await);

    let mut follower = Follower::start(&app);
    assert!(follower.next_line().await.starts_with("TIME (UTC)"));
    let line = follower.next_line().await;
    assert!(
        line.contains(&before) && status_of(&line) == "COMPLETED",
        "{line}"
    );

    let failed = message_id(&app.post_fixture("malformed.xml").await);
    let line = follower.line_about(&failed).await;
    assert_eq!(status_of(&line), "FAILED", "{line}");
    assert!(
        line.contains("the request is not well-formed XML"),
        "{line}"
    );

    // A message held in its chain: first PROCESSING, then, once it completes, COMPLETED.
    let request = app
        .soap_request("/cxf/held")
        .body(fixture("termination.xml"));
    let held = tokio::spawn(async move { request.send().await.unwrap() });
    downstream.next().await;
    let processing = app
        .api_results("MessageProcessingLogs?$filter=Status%20eq%20'PROCESSING'")
        .await;
    let held_id = processing[0]["MessageGuid"].as_str().unwrap().to_owned();
    let line = follower.line_about(&held_id).await;
    assert_eq!(status_of(&line), "PROCESSING", "{line}");
    downstream.open_gate(1);
    assert_eq!(held.await.unwrap().status(), 200);
    let line = follower.line_about(&held_id).await;
    assert_eq!(status_of(&line), "COMPLETED", "{line}");

    // One more, so that the log was read again after everything above was printed.
    let last = message_id(&app.post_fixture("rehire.xml").await);
    follower.line_about(&last).await;
    let printed = follower.interrupt().await;
    let mut rows: Vec<(&str, &str)> = printed[1..]
        .iter()
        .map(|l| (l.split_whitespace().last().unwrap(), status_of(l)))
        .collect();
    let count = rows.len();
    rows.sort();
    rows.dedup();
    assert_eq!(rows.len(), count, "no row printed twice: {printed:#?}");
}
on_both_backends!(follow_prints_entries_as_they_are_written_and_their_changes_until_ctrl_c);
