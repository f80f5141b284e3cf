//! Connections that send nothing, idle ones, and the connection cap, over raw TCP on tokio's
//! paused clock: the server's timers fire as soon as nothing else can happen, so no test waits
//! in real time, and the times measured are the server's own.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::common::raw::{health, read_to_close, read_until};
use crate::common::{self, TestApp};

/// Far beyond every timeout the tests configure: reaching it means the server never acted.
const NEVER: Duration = Duration::from_secs(600);

/// The test users plus `[limits]` lines.
fn with_limits(limits: &str) -> String {
    format!("{}\n[limits]\n{limits}\n", common::users_toml())
}

/// Waits (on the paused clock) until the server closes `stream`, and says how long that took.
async fn closed_after(stream: &mut TcpStream, started: Instant) -> Duration {
    tokio::time::timeout(NEVER, read_to_close(stream))
        .await
        .expect("the server never closed the connection");
    started.elapsed()
}

fn assert_between(waited: Duration, from_ms: u64, to_ms: u64) {
    assert!(
        waited >= Duration::from_millis(from_ms) && waited < Duration::from_millis(to_ms),
        "{waited:?}, expected {from_ms}..{to_ms} ms"
    );
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_never_sends_a_byte_is_closed_after_the_header_timeout() {
    let app = TestApp::spawn(&with_limits("header_read_timeout_ms = 3000")).await;
    let started = Instant::now();
    let mut silent = TcpStream::connect(app.address).await.unwrap();
    assert_between(closed_after(&mut silent, started).await, 3000, 4000);
    // And the service still answers.
    let mut normal = TcpStream::connect(app.address).await.unwrap();
    assert!(health(&mut normal).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test(start_paused = true)]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let app = TestApp::spawn(&with_limits("header_read_timeout_ms = 3000")).await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    assert!(health(&mut stream).await.starts_with("HTTP/1.1 200"));
    let answered = Instant::now();
    assert_between(closed_after(&mut stream, answered).await, 3000, 4000);
}

#[tokio::test(start_paused = true)]
async fn an_http2_connection_without_requests_is_closed_after_the_header_timeout() {
    let app = TestApp::spawn(&with_limits("header_read_timeout_ms = 3000")).await;
    let started = Instant::now();
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    // The HTTP/2 connection preface and an empty SETTINGS frame (h2c, prior knowledge), then
    // nothing: a connection that is open for business but never asks anything.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    assert_between(closed_after(&mut stream, started).await, 3000, 4000);
}

#[tokio::test(start_paused = true)]
async fn with_the_cap_taken_by_silent_connections_a_sender_is_answered_once_they_time_out() {
    let app = TestApp::spawn(&with_limits(
        "header_read_timeout_ms = 3000\nmax_connections = 3",
    ))
    .await;
    let started = Instant::now();
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(TcpStream::connect(app.address).await.unwrap());
    }
    // The kernel completes the handshake (the listen backlog), so the connect succeeds; iflowd
    // takes the connection once a place is free.
    let mut sender = TcpStream::connect(app.address).await.unwrap();
    sender.write_all(common::raw::HEALTH).await.unwrap();
    let answer = tokio::time::timeout(NEVER, read_until(&mut sender, "{\"status\":\"UP\"}"))
        .await
        .expect("the sender was never answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_between(started.elapsed(), 3000, 4000);
    for mut stream in silent {
        assert_between(closed_after(&mut stream, started).await, 3000, 4000);
    }
}

#[tokio::test(start_paused = true)]
async fn connections_already_open_are_served_while_the_cap_is_reached() {
    let app = TestApp::spawn(&with_limits(
        "header_read_timeout_ms = 3000\nmax_connections = 2",
    ))
    .await;
    let mut open = TcpStream::connect(app.address).await.unwrap();
    assert!(health(&mut open).await.starts_with("HTTP/1.1 200"));
    let _silent = TcpStream::connect(app.address).await.unwrap();
    let mut waiting = TcpStream::connect(app.address).await.unwrap();
    waiting.write_all(common::raw::HEALTH).await.unwrap();

    let asked = Instant::now();
    assert!(health(&mut open).await.starts_with("HTTP/1.1 200"));
    assert!(
        asked.elapsed() < Duration::from_millis(100),
        "{:?}",
        asked.elapsed()
    );
    // The one over the cap gets its turn when the silent one has timed out.
    read_until(&mut waiting, "{\"status\":\"UP\"}").await;
    assert_between(asked.elapsed(), 3000, 4000);
}

/// The one test here in real time, since it needs a real shortage: the binary itself under
/// `ulimit -n 64`, with a cap above that, and more silent connections than it has descriptors.
/// `accept` fails with EMFILE; iflowd pauses and warns once for the whole burst (the retries
/// are `debug`), and answers again once the connections are gone.
#[tokio::test]
async fn out_of_file_descriptors_iflowd_pauses_warns_once_and_answers_again() {
    use std::process::Stdio;

    use tokio::io::{AsyncBufReadExt, BufReader};

    use crate::common::process::{BOUND, banner, iflowd_via, stop_with_sigterm, url_starting};

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("iflowd.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n{}",
            dir.path().join("data").display().to_string(),
            with_limits("max_connections = 1000")
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let mut child = iflowd_via(&["sh", "-c", "ulimit -n 64 && exec \"$0\" \"$@\""])
        .args(["serve", "--config", &config])
        .env("IFLOWD_LISTEN", "127.0.0.1:0")
        .env("IFLOWD_LOG", "warn,iflowd::server=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = url_starting(&banner(&mut child).await, "http://127.0.0.1:");
    let address = base.trim_start_matches("http://").to_owned();

    // Log lines as they come.
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    let stderr = child.stderr.take().unwrap();
    tokio::spawn(async move {
        let mut reader = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });

    let mut silent = Vec::new();
    for _ in 0..80 {
        silent.push(TcpStream::connect(&address).await.unwrap());
    }
    // Several failed accepts in a row: a burst, not a single miss.
    let mut failures = Vec::new();
    tokio::time::timeout(BOUND, async {
        while failures.len() < 4 {
            let line = lines.recv().await.expect("iflowd still logging");
            if line.contains("accept") && line.contains("fail") {
                failures.push(line);
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("accept never failed 4 times: {failures:#?}"));
    drop(silent);

    let health = tokio::time::timeout(
        BOUND,
        common::http_client().get(format!("{base}/health")).send(),
    )
    .await
    .expect("answered again in time")
    .unwrap();
    assert_eq!(health.status(), 200);
    let mut recovered = false;
    tokio::time::timeout(BOUND, async {
        while !recovered {
            let line = lines.recv().await.expect("iflowd still logging");
            recovered = line.contains("accepting connections again");
            if line.contains("accept") && line.contains("fail") {
                failures.push(line);
            }
        }
    })
    .await
    .expect("the end of the burst is logged");
    let warnings: Vec<_> = failures.iter().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{failures:#?}");
    assert!(warnings[0].contains("Too many open files"), "{failures:#?}");
    stop_with_sigterm(&mut child).await;
}
