//! The log filter (`[log] level`, `IFLOWD_LOG`): a default level plus `target=level` directives.

use std::process::Stdio;

use crate::common::process::{BOUND, banner, iflowd, stop_with_sigterm, url_starting};
use crate::common::{fixture, http_client};

/// `warn,tower_http=debug` lets tower-http's per-request debug lines through and keeps
/// iflowd's own info and debug lines out.
#[tokio::test]
async fn a_target_directive_opens_one_target_below_the_default_level() {
    let workdir = tempfile::tempdir().unwrap();
    let mut child = iflowd()
        .arg("serve")
        .current_dir(workdir.path())
        .env("IFLOWD_LISTEN", "127.0.0.1:0")
        .env("IFLOWD_PASSWORD", "log-secret")
        .env("IFLOWD_LOG", "warn,tower_http=debug")
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
    let response = http_client()
        .post(format!("{base}/cxf/isc/events"))
        .basic_auth("isc", Some("log-secret"))
        .header("Content-Type", "text/xml")
        .body(fixture("change-in-manager.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    stop_with_sigterm(&mut child).await;
    let text = tokio::time::timeout(BOUND, stderr)
        .await
        .expect("standard error closed")
        .unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("DEBUG") && l.contains("started processing request")),
        "tower_http at debug: {text}"
    );
    assert!(!text.contains("event received"), "iflowd's info: {text}");
    assert!(!text.contains("message accepted"), "iflowd's debug: {text}");
    assert!(!text.contains("request answered"), "iflowd's debug: {text}");
}
