//! The binary as a user runs it.

use crate::common;

use std::process::Stdio;

use crate::common::process::{BOUND, banner, iflowd, run, stop_with_sigterm, url_starting};
use crate::common::{element_text, fixture, fixtures_dir};

#[tokio::test]
async fn version_is_printed() {
    let (ok, out, _) = run(iflowd().arg("--version")).await;
    assert!(ok);
    assert_eq!(out.trim(), format!("iflowd {}", env!("CARGO_PKG_VERSION")));
}

#[tokio::test]
async fn check_config_accepts_the_example_and_names_the_key_and_file_of_an_error() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/iflowd.example.toml");
    let (ok, out, err) = run(iflowd().args(["check-config", example])).await;
    assert!(ok, "{err}");
    assert_eq!(err, "", "nothing to warn about in the example as shipped");
    assert!(
        out.contains("iflowd.example.toml: ok (3 endpoints, 2 users, 4 handlers)"),
        "{out}"
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[endpoints]]\nname = \"x\"\naddres = \"/x\"\n").unwrap();
    let (ok, _, err) = run(iflowd().arg("check-config").arg(&bad)).await;
    assert!(!ok);
    assert!(err.contains("bad.toml"), "{err}");
    assert!(err.contains("unknown field `addres`"), "{err}");
}

/// What `check-config` says about a file is what `serve` does with it, in the same environment:
/// the same refusal with the same words (every problem at once), or "ok" and a server that starts.
#[tokio::test]
async fn check_config_and_serve_agree_and_both_list_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("iflowd.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:0\"\n\
         [[users]]\nname = \"isc\"\npassword = \"pw\"\n\
         [[endpoints]]\nname = \"E\"\naddress = \"e\"\nhandlers = [\"log\", \"to-hr\"]\n\
         [handlers.to-hr]\ntype = \"forward\"\nurl = \"http://127.0.0.1:9/x\"\n\
         headers = { \"X-Api-Key\" = \"${HR_API_KEY}\" }\n",
    )
    .unwrap();

    let (ok, _, check_err) = run(iflowd().arg("check-config").arg(&file)).await;
    assert!(!ok, "an unset variable fails the check");
    let (ok, _, serve_err) = run(iflowd()
        .arg("serve")
        .arg("--config")
        .arg(&file)
        .current_dir(dir.path()))
    .await;
    assert!(!ok, "and stops serve");
    let expected = format!(
        "iflowd: {}: 2 problems:\n  \
         - handlers.to-hr.headers.X-Api-Key: the environment variable HR_API_KEY is not set\n  \
         - endpoints[0].address 'e' must start with '/'\n",
        file.display()
    );
    assert_eq!(check_err, expected);
    assert_eq!(serve_err, expected);

    // Fixed, with the variable set: both say yes.
    let fixed = std::fs::read_to_string(&file)
        .unwrap()
        .replace("address = \"e\"", "address = \"/e\"");
    std::fs::write(&file, fixed).unwrap();
    let (ok, out, err) = run(iflowd()
        .arg("check-config")
        .arg(&file)
        .env("HR_API_KEY", "k"))
    .await;
    assert!(ok, "{err}");
    assert!(
        out.contains(": ok (1 endpoint, 1 user, 1 handler)"),
        "{out}"
    );
    let mut server = iflowd()
        .arg("serve")
        .arg("--config")
        .arg(&file)
        .current_dir(dir.path())
        .env("HR_API_KEY", "k")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let banner = banner(&mut server).await;
    assert!(banner.contains("SOAP endpoint E: "), "{banner}");
    let base = url_starting(&banner, "http://127.0.0.1:");
    let health = common::http_client()
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    stop_with_sigterm(&mut server).await;
}

/// `[tls]` files are read by `check-config` as by `serve`: a missing certificate fails both.
#[tokio::test]
async fn check_config_reads_the_tls_files_like_serve() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("iflowd.toml");
    std::fs::write(
        &file,
        "[tls]\ncert = \"missing/cert.pem\"\nkey = \"missing/key.pem\"\n",
    )
    .unwrap();
    let (ok, _, err) = run(iflowd()
        .arg("check-config")
        .arg(&file)
        .current_dir(dir.path()))
    .await;
    assert!(!ok);
    assert!(err.contains("tls.cert missing/cert.pem"), "{err}");
    let (ok, _, serve_err) = run(iflowd()
        .arg("serve")
        .arg("--config")
        .arg(&file)
        .current_dir(dir.path())
        .env("IFLOWD_LISTEN", "127.0.0.1:0"))
    .await;
    assert!(!ok);
    assert!(
        serve_err.contains("tls.cert missing/cert.pem"),
        "{serve_err}"
    );
}

#[tokio::test]
async fn parse_prints_typed_events_as_json() {
    let (ok, out, _) = run(iflowd()
        .arg("parse")
        .arg(fixtures_dir().join("change-in-manager.xml")))
    .await;
    assert!(ok);
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed["soapVersion"], "1.1");
    assert_eq!(parsed["events"][0]["kind"], "change_in_manager");
    assert_eq!(parsed["events"][0]["data"]["userId"], "103221");
    assert!(
        parsed["events"][0].get("messageId").is_none(),
        "no message context outside the server"
    );

    let (ok, _, err) = run(iflowd()
        .arg("parse")
        .arg(fixtures_dir().join("malformed.xml")))
    .await;
    assert!(!ok);
    assert!(err.contains("the request is not well-formed XML"), "{err}");
}

#[tokio::test]
async fn parse_uses_the_event_types_of_a_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("iflowd.toml");
    std::fs::write(
        &config,
        "[events]\nhire = [\"com.successfactors.Employment.JobInformation.LocationChanged\"]\n",
    )
    .unwrap();
    let (ok, out, err) = run(iflowd()
        .arg("parse")
        .arg(fixtures_dir().join("unknown-type.xml"))
        .arg("--config")
        .arg(&config))
    .await;
    assert!(ok, "{err}");
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed["events"][0]["kind"], "hire");
}

#[tokio::test]
async fn hash_password_prints_an_argon2id_hash_that_configuration_accepts() {
    let mut child = iflowd()
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"pa:ss word\n").await.unwrap();
    }
    let output = tokio::time::timeout(BOUND, child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(output.status.success());
    let hash = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    let app = common::TestApp::spawn(&format!(
        "[[users]]\nname = \"hashed\"\npassword_hash = \"{hash}\"\n"
    ))
    .await;
    let response = app
        .client
        .post(app.url("/cxf/isc/events"))
        .basic_auth("hashed", Some("pa:ss word"))
        .header("Content-Type", "text/xml")
        .body(fixture("hire.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// The README's run command: no configuration, a generated password printed once, a working
/// endpoint, a health check, and a clean stop on SIGTERM.
#[tokio::test]
async fn serve_without_configuration_prints_what_a_first_call_needs_and_stops_on_sigterm() {
    let workdir = tempfile::tempdir().unwrap();
    let mut child = iflowd()
        .arg("serve")
        .current_dir(workdir.path())
        .env("IFLOWD_LISTEN", "127.0.0.1:0")
        .env("IFLOWD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let banner = banner(&mut child).await;
    let base = url_starting(&banner, "http://127.0.0.1:");
    assert!(
        banner.contains(&format!("SOAP endpoint ISC_Events: {base}/cxf/isc/events")),
        "{banner}"
    );
    let password = banner
        .lines()
        .find_map(|l| l.split("generated password: ").nth(1))
        .expect("generated password in banner")
        .trim()
        .to_owned();
    assert!(
        banner.contains(&format!(
            "curl -u 'isc:{password}' -H 'Content-Type: text/xml'"
        )),
        "{banner}"
    );

    let response = common::http_client()
        .post(format!("{base}/cxf/isc/events"))
        .basic_auth("isc", Some(&password))
        .header("Content-Type", "text/xml")
        .body(fixture("change-in-manager.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        element_text(&response.text().await.unwrap(), "status"),
        Some("200")
    );

    let (ok, _, err) =
        run(iflowd().args(["healthcheck", "--url", &format!("{base}/health")])).await;
    assert!(ok, "{err}");

    // The message log lives in ./iflowd-data, and the built-in user may read it, bodies included.
    assert!(
        workdir.path().join("iflowd-data/messages.db").is_file(),
        "data directory created in the working directory"
    );
    assert!(
        banner.contains("message log: iflowd-data/messages.db"),
        "{banner}"
    );
    let logs: serde_json::Value = common::http_client()
        .get(format!("{base}/api/v1/MessageProcessingLogs"))
        .basic_auth("isc", Some(&password))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entry = &logs["d"]["results"][0];
    assert_eq!(entry["Status"], "COMPLETED", "{logs}");
    let guid = entry["MessageGuid"].as_str().unwrap();
    let body = common::http_client()
        .get(format!(
            "{base}/api/v1/MessageStoreEntries('{guid}.request')/$value"
        ))
        .basic_auth("isc", Some(&password))
        .send()
        .await
        .unwrap();
    assert_eq!(body.status(), 200);
    assert_eq!(
        body.bytes().await.unwrap(),
        fixture("change-in-manager.xml")
    );

    // `iflowd messages` in the same directory reads the same log.
    let (ok, out, err) = run(iflowd().arg("messages").current_dir(workdir.path())).await;
    assert!(ok, "{err}");
    assert!(out.contains("COMPLETED") && out.contains(guid), "{out}");

    stop_with_sigterm(&mut child).await;
}

/// Log lines are written by a thread of their own; the last ones before a SIGTERM (the event's
/// line, then "stopped") still reach standard error, without colour codes in a pipe.
#[tokio::test]
async fn serve_writes_its_last_log_lines_before_it_exits_on_sigterm() {
    let workdir = tempfile::tempdir().unwrap();
    let mut child = iflowd()
        .arg("serve")
        .current_dir(workdir.path())
        .env("IFLOWD_LISTEN", "127.0.0.1:0")
        .env("IFLOWD_PASSWORD", "log-secret")
        .env("IFLOWD_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text)
            .await
            .unwrap();
        text
    });
    let base = url_starting(&banner(&mut child).await, "http://127.0.0.1:");

    let response = common::http_client()
        .post(format!("{base}/cxf/isc/events"))
        .basic_auth("isc", Some("log-secret"))
        .header("Content-Type", "text/xml")
        .body(fixture("change-in-manager.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = common::message_id(&response);

    stop_with_sigterm(&mut child).await;
    let text = tokio::time::timeout(BOUND, stderr)
        .await
        .expect("standard error closed")
        .unwrap();
    assert!(
        text.lines()
            .any(|line| line.contains("event received") && line.contains(&id)),
        "{text}"
    );
    assert!(
        text.lines()
            .last()
            .is_some_and(|line| line.contains("stopped")),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour codes in a pipe: {text}");
}

#[tokio::test]
async fn healthcheck_fails_when_nothing_listens() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let (ok, _, err) = run(iflowd()
        .arg("healthcheck")
        .env("IFLOWD_LISTEN", address.to_string()))
    .await;
    assert!(!ok);
    assert!(err.contains("cannot connect"), "{err}");
}

async fn messages_prints_the_latest_entries_of_the_log_as_a_table(backend: common::Backend) {
    let app = common::TestApp::spawn_default_on(&backend).await;
    let completed = common::message_id(&app.post_fixture("hire.xml").await);
    let failed = common::message_id(&app.post_fixture("malformed.xml").await);
    // The same file the server read, with the url for PostgreSQL (given in code to the server).
    let config = app.path("iflowd.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text + &backend.store_toml()).unwrap();

    let (ok, out, err) = run(iflowd().arg("messages").arg("--config").arg(&config)).await;
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let header: Vec<&str> = lines[0]
        .split("  ")
        .filter(|c| !c.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(
        header,
        [
            "TIME (UTC)",
            "STATUS",
            "ENDPOINT",
            "EVENT TYPE",
            "EXTERNAL EVENT ID",
            "ERROR",
            "MESSAGE ID"
        ]
    );
    let newest: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(newest[2..6], ["FAILED", "ISC_Events", "-", "-"]);
    assert_eq!(newest.last(), Some(&failed.as_str()), "the id stays last");
    // The failed one's reason, shortened to 60 characters.
    let (from, to) = (
        lines[0].find("ERROR").unwrap(),
        lines[0].find("MESSAGE ID").unwrap(),
    );
    let error = lines[1][from..].chars().take(to - from).collect::<String>();
    assert!(
        error.starts_with("the request is not well-formed XML (near byte "),
        "{out}"
    );
    assert_eq!(error.trim_end().chars().count(), 60, "{out}");
    assert!(error.trim_end().ends_with('…'), "{out}");
    let older: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        older[2..],
        [
            "COMPLETED",
            "ISC_Events",
            "com.successfactors.Employment.AssignmentInformation.Hire",
            "c4a1f7e2-90b3-4d6c-8e5f-1a2b3c4d5e6f",
            completed.as_str()
        ]
    );

    let (ok, out, _) = run(iflowd()
        .args([
            "messages",
            "--status",
            "completed",
            "--limit",
            "5",
            "--config",
        ])
        .arg(&config))
    .await;
    assert!(ok);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains(&completed));

    let (ok, out, _) = run(iflowd()
        .args(["messages", "--status", "ABANDONED", "--config"])
        .arg(&config))
    .await;
    assert!(ok);
    assert!(out.ends_with("(no messages)\n"), "{out}");

    // --limit keeps the newest.
    let (ok, out, err) = run(iflowd()
        .args(["messages", "--limit", "1", "--config"])
        .arg(&config))
    .await;
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains(&failed) && !out.contains(&completed), "{out}");

    let (ok, _, err) = run(iflowd()
        .args(["messages", "--status", "LOST", "--config"])
        .arg(&config))
    .await;
    assert!(!ok);
    assert!(err.contains("--status LOST is not a status; use one of PROCESSING, COMPLETED, FAILED, DISCARDED, ABANDONED"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let (ok, _, err) = match backend {
        common::Backend::Sqlite => run(iflowd().arg("messages").current_dir(empty.path())).await,
        common::Backend::Postgres(_) => {
            let other = common::Backend::postgres().await;
            let config = empty.path().join("iflowd.toml");
            std::fs::write(&config, other.store_toml()).unwrap();
            run(iflowd().arg("messages").arg("--config").arg(&config)).await
        }
    };
    assert!(!ok);
    assert!(
        err.contains("there is no message log here yet")
            || err.contains("there is no message log in this database yet"),
        "{err}"
    );
}
common::on_both_backends!(messages_prints_the_latest_entries_of_the_log_as_a_table);
