//! `iflowd send` (a real subprocess) against a running iflowd, with Basic and with OAuth tokens
//! fetched the two ways ISC fetches them, over HTTP and HTTPS.

use crate::common::pki::Pki;
use crate::common::process::{BIN, iflowd, iflowd_via, run};
use crate::common::{ARCHIVED_ENDPOINT, PASSWORD, TestApp, USER, fixtures_dir, users_toml};

const CLIENT: &str = "sb-isc-connector";
const SECRET: &str = "connector-secret";

fn oauth_clients() -> String {
    format!(
        "\n[[oauth_clients]]\nid = \"{CLIENT}\"\nsecret = \"{SECRET}\"\nroles = [\"ESBMessaging.send\"]\n"
    )
}

async fn send(args: &[&str]) -> (bool, String, String) {
    run(iflowd().arg("send").args(args)).await
}

fn fixture_path(name: &str) -> String {
    fixtures_dir().join(name).display().to_string()
}

fn archived(app: &TestApp) -> Vec<serde_json::Value> {
    std::fs::read_to_string(app.path("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn send_with_basic_posts_every_file_repeatedly_and_exits_0() {
    let app = TestApp::spawn(&format!("{}{ARCHIVED_ENDPOINT}", users_toml())).await;
    let url = app.url("/cxf/isc/events");
    let (ok, out, err) = send(&[
        "--url",
        &url,
        "--user",
        USER,
        "--password",
        PASSWORD,
        "--repeat",
        "2",
        "--concurrency",
        "2",
        "--fresh-ids",
        &fixture_path("change-in-manager.xml"),
        &fixture_path("hire.xml"),
    ])
    .await;
    assert!(ok, "{out}\n{err}");
    assert_eq!(out.matches("acknowledged status=200").count(), 4, "{out}");
    assert!(out.contains("4 posts: 4 acknowledged, 0 not"), "{out}");
    assert!(out.contains("[MPL AG"), "{out}");
    let events = archived(&app);
    assert_eq!(
        events.len(),
        4,
        "--fresh-ids: four deliveries, all processed"
    );
    assert!(events.iter().all(|e| e["sender"] == USER));
    let mut ids: Vec<_> = events
        .iter()
        .map(|e| e["externalEventId"].to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "each post had its own externalEventId");

    // Without it, a repeat is a duplicate: acknowledged like the first, not processed again.
    let (ok, out, err) = send(&[
        "--url",
        &url,
        "--user",
        USER,
        "--password",
        PASSWORD,
        "--repeat",
        "2",
        &fixture_path("termination.xml"),
    ])
    .await;
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("2 posts: 2 acknowledged, 0 not"), "{out}");
    assert_eq!(
        archived(&app).len(),
        5,
        "the repeat was not processed again"
    );
}

/// A repeat without `--fresh-ids` is a duplicate: iflowd names its original in
/// `X-Iflowd-Duplicate-Of`, and `send` says so on the post's line.
#[tokio::test]
async fn send_says_which_message_a_duplicate_repeats() {
    let app = TestApp::spawn(&format!("{}{ARCHIVED_ENDPOINT}", users_toml())).await;
    let url = app.url("/cxf/isc/events");
    let (ok, out, err) = send(&[
        "--url",
        &url,
        "--user",
        USER,
        "--password",
        PASSWORD,
        "--repeat",
        "2",
        &fixture_path("hire.xml"),
    ])
    .await;
    assert!(ok, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let first = lines[0];
    assert!(!first.contains("duplicate"), "{out}");
    let original = first
        .split("[MPL ")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| panic!("an MPL id in {first}"));
    assert!(
        lines[1].ends_with(&format!(", duplicate of {original}")),
        "{out}"
    );
    assert!(lines[1].contains("acknowledged status=200"), "{out}");
    assert!(out.contains("2 posts: 2 acknowledged, 0 not"), "{out}");
    assert_eq!(archived(&app).len(), 1);
}

#[tokio::test]
async fn send_fetches_tokens_header_and_body_style_and_posts_with_bearer_over_https() {
    let pki = Pki::new();
    let config = format!(
        "data_dir = \"{{dir}}/data\"\n{}{ARCHIVED_ENDPOINT}{}{}",
        users_toml(),
        oauth_clients(),
        pki.tls_toml(None)
    );
    let app = TestApp::spawn(&config).await;
    let url = app.url("/cxf/isc/events");
    let token_url = app.url("/oauth/token");
    let cacert = pki.server_cert.display().to_string();
    for style in ["header", "body"] {
        let (ok, out, err) = send(&[
            "--url",
            &url,
            "--token-url",
            &token_url,
            "--client-id",
            CLIENT,
            "--client-secret",
            SECRET,
            "--token-auth",
            style,
            "--cacert",
            &cacert,
            "--fresh-ids",
            &fixture_path("termination.xml"),
        ])
        .await;
        assert!(ok, "{style}: {out}\n{err}");
        assert!(out.contains("-> 200 OK"), "{out}");
        assert!(out.contains(", token "), "a token was fetched: {out}");
        assert!(out.contains("1 post: 1 acknowledged, 0 not"), "{out}");
    }
    let events = archived(&app);
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e["sender"] == CLIENT), "{events:?}");

    // A wrong secret: the token request fails, and so does the command.
    let (ok, out, _) = send(&[
        "--url",
        &url,
        "--token-url",
        &token_url,
        "--client-id",
        CLIENT,
        "--client-secret",
        "wrong",
        "--cacert",
        &cacert,
        &fixture_path("termination.xml"),
    ])
    .await;
    assert!(!ok);
    assert!(
        out.contains("token request failed") && out.contains("invalid_client"),
        "{out}"
    );

    // Without trusting the certificate, nothing is sent; with --insecure it goes through.
    let (ok, out, _) = send(&[
        "--url",
        &url,
        "--user",
        USER,
        "--password",
        PASSWORD,
        &fixture_path("hire.xml"),
    ])
    .await;
    assert!(!ok, "{out}");
    let (ok, out, err) = send(&[
        "--url",
        &url,
        "--user",
        USER,
        "--password",
        PASSWORD,
        "--insecure",
        &fixture_path("hire.xml"),
    ])
    .await;
    assert!(ok, "{out}\n{err}");
}

#[tokio::test]
async fn send_exits_1_and_shows_the_fault_or_error_when_a_post_is_not_acknowledged() {
    let app = TestApp::spawn(&format!("{}{ARCHIVED_ENDPOINT}", users_toml())).await;
    let url = app.url("/cxf/isc/events");
    let (ok, out, err) = send(&[
        "--url",
        &url,
        "--user",
        USER,
        "--password",
        PASSWORD,
        &fixture_path("hire.xml"),
        &fixture_path("malformed.xml"),
    ])
    .await;
    assert!(!ok);
    assert!(
        out.contains("SOAP fault soap:Client: the request is not well-formed XML"),
        "{out}"
    );
    assert!(out.contains("2 posts: 1 acknowledged, 1 not"), "{out}");
    assert!(err.contains("1 of 2 posts were not acknowledged"), "{err}");

    let (ok, out, _) = send(&[
        "--url",
        &url,
        "--user",
        USER,
        "--password",
        "wrong",
        &fixture_path("hire.xml"),
    ])
    .await;
    assert!(!ok);
    assert!(out.contains("-> 401 Unauthorized"), "{out}");
}

/// Without `--password`: `IFLOWD_SEND_PASSWORD`, else a prompt on the terminal (read from the
/// terminal itself), else an error naming both ways. Likewise the client secret.
#[tokio::test]
async fn send_takes_a_password_from_the_environment_or_the_terminal() {
    let config = format!("{}{ARCHIVED_ENDPOINT}{}", users_toml(), oauth_clients());
    let app = TestApp::spawn(&config).await;
    let url = app.url("/cxf/isc/events");
    let file = fixture_path("hire.xml");
    let basic = ["send", "--url", &url, "--user", USER, "--fresh-ids", &file];

    let (ok, out, err) = run(iflowd().args(basic).env("IFLOWD_SEND_PASSWORD", PASSWORD)).await;
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("1 post: 1 acknowledged"), "{out}");

    let token_url = app.url("/oauth/token");
    let oauth = [
        "send",
        "--url",
        &url,
        "--token-url",
        &token_url,
        "--client-id",
        CLIENT,
        "--fresh-ids",
        &file,
    ];
    let (ok, out, err) = run(iflowd()
        .args(oauth)
        .env("IFLOWD_SEND_CLIENT_SECRET", SECRET))
    .await;
    assert!(ok, "{out}\n{err}");

    // No terminal to ask on: a clear error, nothing sent.
    let (ok, _, err) = run(iflowd_via(&["setsid", "-w"]).args(basic)).await;
    assert!(!ok);
    assert!(
        err.contains("give --password, set IFLOWD_SEND_PASSWORD, or run on a terminal to be asked"),
        "{err}"
    );

    // On a terminal (script(1) gives it one): asked, then sent.
    let command = std::iter::once(BIN)
        .chain(basic)
        .map(|arg| format!("'{arg}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut terminal = tokio::process::Command::new("script");
    terminal
        .args(["-qec", &command, "/dev/null"])
        .env_remove("IFLOWD_SEND_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = terminal.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, format!("{PASSWORD}\n").as_bytes())
        .await
        .unwrap();
    let output = tokio::time::timeout(crate::common::process::BOUND, child.wait_with_output())
        .await
        .expect("finishes")
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{out}");
    assert!(out.contains(&format!("password for '{USER}': ")), "{out}");
    assert!(out.contains("1 post: 1 acknowledged"), "{out}");
    assert_eq!(archived(&app).len(), 3);
}

/// Envelopes in other encodings go out as they are, labelled by their own declaration or byte
/// order mark (no `charset=utf-8` that would contradict them), and are acknowledged with the
/// decoded values; `--fresh-ids` refuses a file it cannot rewrite instead of sending it
/// unchanged.
#[tokio::test]
async fn send_posts_latin1_and_utf16_envelopes_as_they_are() {
    let app = TestApp::spawn(&format!("{}{ARCHIVED_ENDPOINT}", users_toml())).await;
    let url = app.url("/cxf/isc/events");
    let (ok, out, err) = send(&[
        "--url",
        &url,
        "--user",
        USER,
        "--password",
        PASSWORD,
        &fixture_path("iso-8859-1-soap-lite.xml"),
        &fixture_path("utf16le-bom.xml"),
    ])
    .await;
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("2 posts: 2 acknowledged, 0 not"), "{out}");
    let text = serde_json::to_string(&archived(&app)).unwrap();
    assert!(text.contains("jürgen.müller"), "{text}");

    let (ok, out, err) = send(&[
        "--url",
        &url,
        "--user",
        USER,
        "--password",
        PASSWORD,
        "--fresh-ids",
        &fixture_path("utf16le-bom.xml"),
    ])
    .await;
    assert!(!ok, "{out}");
    assert!(
        err.contains("--fresh-ids") && err.contains("utf16le-bom.xml"),
        "{err}"
    );
}
