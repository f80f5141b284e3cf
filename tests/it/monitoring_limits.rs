//! The monitoring API's bounds on a query: a hostile `$filter` or `$orderby` is a 400 whose
//! OData error names the limit, and the server answers on. Run against the real binary, so that
//! a crash shows as a dead child process rather than an aborted test run (issue 18: one GET
//! with 3,000 nested parentheses overflowed the parser's stack and aborted iflowd).

use std::process::Stdio;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::Value;
use tokio::process::Child;

use crate::common::process::{BOUND, banner, iflowd, stop_with_sigterm, url_starting};

const PASSWORD: &str = "limits-secret";

/// What a query string needs encoded: spaces, quotes and the query's own delimiters.
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'\'')
    .add(b'"')
    .add(b'#')
    .add(b'&')
    .add(b'+')
    .add(b'%')
    .add(b'=');

/// `iflowd serve` as a user starts it, on port 0 with a known password.
struct Served {
    child: Child,
    base: String,
    client: reqwest::Client,
    _workdir: tempfile::TempDir,
}

impl Served {
    async fn start() -> Self {
        let workdir = tempfile::tempdir().unwrap();
        let mut child = iflowd()
            .arg("serve")
            .current_dir(workdir.path())
            .env("IFLOWD_LISTEN", "127.0.0.1:0")
            .env("IFLOWD_PASSWORD", PASSWORD)
            .env("IFLOWD_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = url_starting(&banner(&mut child).await, "http://127.0.0.1:");
        Self {
            child,
            base,
            client: crate::common::http_client(),
            _workdir: workdir,
        }
    }

    /// GET `MessageProcessingLogs` with one query option: the status and the JSON answer.
    async fn logs(&mut self, option: &str, value: &str) -> (u16, Value) {
        let url = format!(
            "{}/api/v1/MessageProcessingLogs?{option}={}",
            self.base,
            utf8_percent_encode(value, QUERY_VALUE)
        );
        let response = match self
            .client
            .get(url)
            .basic_auth("isc", Some(PASSWORD))
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => {
                // A crash closes the connection as the process ends: its exit is at hand.
                let exit = tokio::time::timeout(BOUND, self.child.wait()).await;
                panic!(
                    "{option} of {} bytes: no answer ({}); iflowd: {exit:?}",
                    value.len(),
                    error.without_url()
                );
            }
        };
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Asserts that the process still runs and answers `/health`.
    async fn assert_alive(&mut self, after: &str) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "iflowd exited after {after}"
        );
        let health = self
            .client
            .get(format!("{}/health", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("no /health after {after}: {e}"));
        assert_eq!(health.status(), 200, "after {after}");
    }
}

fn nested(depth: usize) -> String {
    format!("{}Status eq 'x'{}", "(".repeat(depth), ")".repeat(depth))
}

fn terms(count: usize) -> String {
    vec!["EventCount eq 1"; count].join(" or ")
}

#[tokio::test]
async fn hostile_queries_are_400s_naming_the_limit_and_the_process_lives_on() {
    let mut served = Served::start().await;
    for (option, value, expected, why) in [
        (
            "$filter",
            nested(3000),
            "nested more than 32 deep",
            "3,000 nested parentheses (18 KB): the parser's stack overflowed",
        ),
        (
            "$filter",
            format!("{}Status eq 'x'", "not ".repeat(5000)),
            "the limit is 8192 characters",
            "5,000 nots: the parser's stack overflowed",
        ),
        (
            "$filter",
            nested(1000),
            "nested more than 32 deep",
            "1,000 nested parentheses within the length limit",
        ),
        (
            "$filter",
            format!("{}Status eq 'x'", "not ".repeat(600)),
            "nested more than 32 deep",
            "600 nots: too deep for SQLite, a 500 'could not be read'",
        ),
        (
            "$filter",
            terms(1001),
            "the limit is 8192 characters",
            "1,001 comparisons: too many terms for SQLite, a 500",
        ),
        (
            "$filter",
            terms(101),
            "more than 100 comparisons",
            "101 comparisons",
        ),
        (
            "$orderby",
            vec!["Status"; 3000].join(","),
            "more than 8 properties",
            "3,000 sort keys: too many for SQLite, a 500",
        ),
    ] {
        let (status, error) = served.logs(option, &value).await;
        let message = error["error"]["message"]["value"].as_str().unwrap_or("");
        assert_eq!(status, 400, "{why}: {error}");
        assert_eq!(error["error"]["code"], "BadRequest", "{why}");
        assert!(message.contains(expected), "{why}: {message}");
        served.assert_alive(why).await;
    }
    // Just within the limits: answered.
    let (status, answer) = served.logs("$filter", &nested(32)).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = served.logs("$filter", &terms(100)).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = served
        .logs("$filter", &format!("{}Status eq 'x'", "not ".repeat(32)))
        .await;
    assert_eq!(status, 200, "{answer}");
    stop_with_sigterm(&mut served.child).await;
}
