//! Interop: real SOAP clients, a generic OData client and Postman's runner against a running
//! iflowd.
//!
//! zeep (Python) and node-soap (Node.js) load the WSDL from `<endpoint>?wsdl` with Basic auth and
//! call `ExternalEvent` with a Change in Manager event (`tests/interop/*_client.*`); newman runs
//! `postman/iflowd.postman_collection.json` against `iflowd.example.toml`. Each test checks what the client reports and, through
//! a `jsonl` archive handler, that the server parsed exactly what the client sent. pyodata reads
//! the monitoring API from its `$metadata` alone ([`odata`], `tests/it/interop/odata.rs`).
//!
//! The clients live in `tests/interop/.venv` and `tests/interop/node_modules`, which `scripts/test`
//! installs. Without them these tests fail, on purpose: they are never skipped.

mod odata;
mod odata_sets;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common::pki::Pki;
use crate::common::process::{serve_in, stop_with_sigterm};
use crate::common::{OUTSIDER, OUTSIDER_PASSWORD, PASSWORD, TestApp, USER, users_toml};
use serde_json::Value;

const ENDPOINT: &str = "/cxf/isc/events";
const MANAGER_CHANGED: &str = "com.successfactors.Employment.JobInformation.ManagerChanged";
/// Generous: a cold Python or Node start on a busy 2-core machine takes seconds, not minutes.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

const ARCHIVING_ENDPOINT: &str = r#"
[[endpoints]]
name = "ISC_Events"
address = "/isc/events"
handlers = ["log", "archive"]

[handlers.archive]
type = "jsonl"
path = "{dir}/events.jsonl"
"#;

async fn spawn_archiving() -> TestApp {
    TestApp::spawn(&format!("{}{ARCHIVING_ENDPOINT}", users_toml())).await
}

/// The same over HTTPS, with a certificate made as `iflowd cert` makes it.
async fn spawn_archiving_tls(pki: &Pki) -> TestApp {
    TestApp::spawn(&format!(
        "{}{ARCHIVING_ENDPOINT}{}",
        users_toml(),
        pki.tls_toml(None)
    ))
    .await
}

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// A path `scripts/test` creates; its absence fails the test with the fix.
fn installed(relative: &str) -> PathBuf {
    let path = interop_dir().join(relative);
    assert!(
        path.exists(),
        "{} is missing: the interop clients are not installed. Run scripts/test (it creates \
         tests/interop/.venv and runs npm ci in tests/interop), then run the tests again.",
        path.display()
    );
    path
}

#[derive(Clone, Copy, Debug)]
enum Client {
    Zeep,
    NodeSoap,
}

impl Client {
    fn command(self) -> Command {
        match self {
            Client::Zeep => {
                let mut command = Command::new(installed(".venv/bin/python"));
                command.arg(interop_dir().join("zeep_client.py"));
                command
            }
            Client::NodeSoap => {
                installed("node_modules/soap/package.json");
                let mut command = Command::new("node");
                command.arg(interop_dir().join("node_soap_client.js"));
                command
            }
        }
    }
}

/// Runs `command` to completion, killing it after `limit`. The wait happens on a blocking thread,
/// so the server under test keeps serving on this test's runtime meanwhile. (std's `Command`
/// because the crate's tokio has no `process` feature; with it, `tokio::process::Command` with
/// `kill_on_drop` would replace the blocking thread and the `kill`.)
async fn run(mut command: Command, limit: Duration) -> Output {
    let shown = format!("{command:?}");
    let child = command
        .current_dir(interop_dir())
        // A proxy configured for the outside world must not intercept calls to 127.0.0.1.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {shown}: {e}; run scripts/test to install the interop clients")
        });
    let pid = child.id();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output());
    match tokio::time::timeout(limit, waiting).await {
        Ok(joined) => joined
            .expect("waiting thread")
            .unwrap_or_else(|e| panic!("waiting for {shown}: {e}")),
        Err(_) => {
            // The child is not reaped until the waiting thread sees it die, so the pid is still it.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{shown} did not finish within {limit:?}");
        }
    }
}

/// What a client printed on its last line of standard output, as JSON.
fn report(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_else(|| {
            panic!(
                "client printed nothing ({}); stderr:\n{stderr}",
                output.status
            )
        });
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("client output is not JSON ({e}): {stdout}\nstderr:\n{stderr}"))
}

struct Call<'a> {
    user: &'a str,
    password: &'a str,
    external_event_id: &'a str,
    user_id: &'a str,
    soap12: bool,
    /// Use the repository's `wsdl/iflowd.wsdl` instead of fetching `?wsdl`.
    local_wsdl: bool,
    /// For HTTPS: the certificate the client trusts.
    cacert: Option<&'a Path>,
}

impl Call<'_> {
    async fn run(&self, client: Client, app: &TestApp) -> (Output, Value) {
        let mut command = client.command();
        command
            .arg(app.url(ENDPOINT))
            .arg(self.external_event_id)
            .args(["--user", self.user, "--password", self.password])
            .args(["--user-id", self.user_id]);
        if self.soap12 {
            command.arg("--soap12");
        }
        if self.local_wsdl {
            let wsdl = Path::new(env!("CARGO_MANIFEST_DIR")).join("wsdl/iflowd.wsdl");
            command.arg("--wsdl-file").arg(wsdl);
        }
        if let Some(cacert) = self.cacert {
            command.arg("--cacert").arg(cacert);
        }
        let output = run(command, CLIENT_TIMEOUT).await;
        let parsed = report(&output);
        (output, parsed)
    }
}

/// The archived events, one JSON object per line.
fn archive(app: &TestApp) -> Vec<Value> {
    let path = app.path("events.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .map(|line| serde_json::from_str(line).expect("archive line is JSON"))
        .collect()
}

/// A successful call: the client's view, then the server's record of what it received.
async fn assert_accepted(client: Client, soap12: bool, user_id: &str) {
    let app = spawn_archiving().await;
    assert_accepted_by(&app, client, soap12, user_id, None).await;
    app.stop().await;
}

/// The same over HTTPS: the client trusts the server's certificate and nothing else.
async fn assert_accepted_over_https(client: Client, soap12: bool, user_id: &str) {
    let pki = Pki::new();
    let app = spawn_archiving_tls(&pki).await;
    assert!(app.url(ENDPOINT).starts_with("https://"));
    assert_accepted_by(&app, client, soap12, user_id, Some(&pki.server_cert)).await;
    app.stop().await;
}

async fn assert_accepted_by(
    app: &TestApp,
    client: Client,
    soap12: bool,
    user_id: &str,
    cacert: Option<&Path>,
) {
    let external_event_id = format!("{client:?}-{}-{user_id}", if soap12 { "12" } else { "11" });
    let call = Call {
        user: USER,
        password: PASSWORD,
        external_event_id: &external_event_id,
        user_id,
        soap12,
        local_wsdl: false,
        cacert,
    };
    let (output, reply) = call.run(client, app).await;

    assert!(
        output.status.success(),
        "{client:?} failed ({}): {reply}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(reply["status"], 200, "{reply}");
    assert_eq!(reply["errorCode"], Value::Null, "{reply}");
    let details = reply["statusDetails"].as_str().expect("statusDetails");
    let message_id = details
        .strip_prefix("accepted 1 event; message id ")
        .unwrap_or_else(|| panic!("statusDetails {details:?}"));
    assert!(message_id.starts_with("AG"), "{details}");
    assert_eq!(reply["messageProcessingLogId"], message_id, "{reply}");
    let date = reply["statusDate"].as_str().expect("statusDate");
    assert!(
        date.len() >= 20 && date.as_bytes()[10] == b'T',
        "statusDate {date:?}"
    );
    let media_type = if soap12 {
        "application/soap+xml"
    } else {
        "text/xml"
    };
    let content_type = reply["contentType"].as_str().expect("contentType");
    assert!(content_type.starts_with(media_type), "{content_type}");

    let events = archive(app);
    assert_eq!(events.len(), 1, "one archived event: {events:?}");
    let event = &events[0];
    assert_eq!(event["messageId"], message_id);
    assert_eq!(event["sender"], USER);
    assert_eq!(event["externalEventId"], external_event_id.as_str());
    assert_eq!(event["type"], MANAGER_CHANGED);
    assert_eq!(event["kind"], "change_in_manager");
    assert_eq!(event["entityType"], "EmpJob");
    assert_eq!(event["data"]["userId"], user_id);
    assert_eq!(event["data"]["personIdExternal"], user_id);
    assert_eq!(event["keys"]["seqNumber"], "1");
    assert_eq!(event["keys"]["userId"], user_id);
    assert_eq!(event["keys"]["startDate"], "2026-12-01");
    assert_eq!(event["params"]["personIdExternal"], user_id);
}

/// A refused call: the client fails and names the HTTP status; nothing reaches the archive.
async fn assert_refused(client: Client, user: &str, password: &str, local_wsdl: bool, status: u16) {
    let app = spawn_archiving().await;
    let call = Call {
        user,
        password,
        external_event_id: "refused",
        user_id: "999",
        soap12: false,
        local_wsdl,
        cacert: None,
    };
    let (output, reply) = call.run(client, &app).await;
    assert!(!output.status.success(), "{client:?} succeeded: {reply}");
    assert_eq!(reply["httpStatus"], status, "{client:?}: {reply}");
    assert!(
        reply["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{reply}"
    );
    assert!(archive(&app).is_empty(), "a refused call archived events");
    app.stop().await;
}

#[tokio::test]
async fn zeep_soap11_change_in_manager_is_accepted_and_archived() {
    assert_accepted(Client::Zeep, false, "200101").await;
}

#[tokio::test]
async fn zeep_soap12_port_change_in_manager_is_accepted_and_archived() {
    assert_accepted(Client::Zeep, true, "200102").await;
}

#[tokio::test]
async fn node_soap_soap11_change_in_manager_is_accepted_and_archived() {
    assert_accepted(Client::NodeSoap, false, "300101").await;
}

#[tokio::test]
async fn node_soap_soap12_port_change_in_manager_is_accepted_and_archived() {
    assert_accepted(Client::NodeSoap, true, "300102").await;
}

#[tokio::test]
async fn zeep_over_https_trusting_the_generated_certificate_is_accepted_and_archived() {
    assert_accepted_over_https(Client::Zeep, false, "200111").await;
    assert_accepted_over_https(Client::Zeep, true, "200112").await;
}

#[tokio::test]
async fn node_soap_over_https_trusting_the_generated_certificate_is_accepted_and_archived() {
    assert_accepted_over_https(Client::NodeSoap, false, "300111").await;
    assert_accepted_over_https(Client::NodeSoap, true, "300112").await;
}

#[tokio::test]
async fn zeep_reports_401_for_a_wrong_password() {
    // Fetching ?wsdl is refused first; with a local WSDL, the call itself is.
    assert_refused(Client::Zeep, USER, "wrong", false, 401).await;
    assert_refused(Client::Zeep, USER, "wrong", true, 401).await;
}

#[tokio::test]
async fn node_soap_reports_401_for_a_wrong_password() {
    assert_refused(Client::NodeSoap, USER, "wrong", false, 401).await;
    assert_refused(Client::NodeSoap, USER, "wrong", true, 401).await;
}

#[tokio::test]
async fn clients_report_403_for_a_user_without_the_role() {
    for client in [Client::Zeep, Client::NodeSoap] {
        assert_refused(client, OUTSIDER, OUTSIDER_PASSWORD, true, 403).await;
    }
}

/// The collection as the README and docs/postman.md tell users to run it: `iflowd serve --config
/// iflowd.example.toml` in a directory of its own, newman with the shipped environment; only
/// `baseUrl` is overridden, for the port.
#[tokio::test]
async fn newman_runs_the_postman_collection_against_the_example_configuration() {
    let newman = installed("node_modules/.bin/newman");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workdir = tempfile::tempdir().unwrap();
    let example = repo.join("iflowd.example.toml");
    let (mut server, base) =
        serve_in(workdir.path(), &["--config", example.to_str().unwrap()]).await;
    let summary = workdir.path().join("newman.json");
    let mut command = Command::new(newman);
    command
        .arg("run")
        .arg(repo.join("postman/iflowd.postman_collection.json"))
        .arg("-e")
        .arg(repo.join("postman/iflowd-example.postman_environment.json"))
        .args(["--env-var", &format!("baseUrl={base}")])
        .args(["--reporters", "cli,json", "--reporter-json-export"])
        .arg(&summary)
        .args(["--color", "off", "--disable-unicode"]);
    let output = run(command, Duration::from_secs(180)).await;
    let cli = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "newman failed ({}):\n{cli}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    let text = std::fs::read_to_string(&summary).expect("newman's JSON report");
    let run: Value = serde_json::from_str(&text).expect("newman report is JSON");
    let stats = &run["run"]["stats"];
    assert_eq!(stats["assertions"]["failed"], 0, "{cli}");
    assert_eq!(stats["requests"]["failed"], 0, "{cli}");
    assert_eq!(
        run["run"]["failures"].as_array().map(Vec::len),
        Some(0),
        "{cli}"
    );
    // Every request ran and asserted something: an empty run cannot pass.
    let items = run["collection"]["item"]
        .as_array()
        .expect("collection items")
        .len();
    assert!(items >= 8, "the collection has {items} requests");
    assert_eq!(stats["requests"]["total"], items, "{cli}");
    let assertions = stats["assertions"]["total"]
        .as_u64()
        .expect("assertion count");
    assert!(
        assertions >= 2 * items as u64,
        "only {assertions} assertions:\n{cli}"
    );

    // The three accepted requests (SOAP 1.1 and 1.2 with Basic, SOAP 1.1 with the OAuth token)
    // reached the example's archive (events.jsonl in the working directory), each from its
    // caller.
    let archived = std::fs::read_to_string(workdir.path().join("events.jsonl")).unwrap();
    let events: Vec<Value> = archived
        .lines()
        .map(|line| serde_json::from_str(line).expect("archive line is JSON"))
        .collect();
    let ids: Vec<&str> = events
        .iter()
        .filter_map(|e| e["externalEventId"].as_str())
        .collect();
    assert_eq!(events.len(), 3, "archived: {ids:?}");
    assert!(
        ids[0].starts_with("postman-")
            && ids[1].starts_with("postman12-")
            && ids[2].starts_with("postman-oauth-"),
        "{ids:?}"
    );
    assert_eq!(events[0]["sender"], "isc");
    assert_eq!(events[0]["endpoint"], "ISC_ChangeInManager");
    assert_eq!(events[2]["sender"], "sb-isc-connector");
    for event in &events {
        assert_eq!(event["kind"], "change_in_manager");
        assert_eq!(event["data"]["userId"], "103221");
        assert_eq!(event["params"]["personIdExternal"], "103221");
    }
    stop_with_sigterm(&mut server).await;
}
