//! Support for the delivery queue's tests: async endpoints, waiting for attempts, reading them.

use serde_json::Value;

use super::{TestApp, users_toml};

/// The test users and an async endpoint `Queued` at `/cxf/queued` running `handlers`, with
/// `retry` as its `[endpoints.retry]` table and `extra` TOML after it (handlers, `[queue]`...).
pub fn async_config(handlers: &str, retry: &str, extra: &str) -> String {
    format!(
        r#"{users}
[[endpoints]]
name = "Queued"
address = "/queued"
delivery = "async"
handlers = [{handlers}]

[endpoints.retry]
{retry}

{extra}
"#,
        users = users_toml()
    )
}

/// A `fault` handler `flaky` that fails the first `first` deliveries of each externalEventId
/// (every one without `first`).
pub fn flaky(first: Option<u32>) -> String {
    let first = first.map_or(String::new(), |n| format!("first = {n}\n"));
    format!("[handlers.flaky]\ntype = \"fault\"\nmode = \"soap-fault\"\n{first}")
}

/// A `jsonl` handler `archive` writing to `path` (`{dir}` allowed).
pub fn archive(path: &str) -> String {
    format!("[handlers.archive]\ntype = \"jsonl\"\npath = \"{path}\"\n")
}

/// Waits until `app`'s queue has ended `count` attempts since it started.
pub async fn ended(app: &TestApp, count: u64) {
    let mut ended = app.app.queue().expect("a queue").ended();
    tokio::time::timeout(
        std::time::Duration::from_secs(600),
        ended.wait_for(|&n| n >= count),
    )
    .await
    .expect("attempts end in time")
    .expect("the queue runs");
}

/// The attempts of message `id` (`MessageProcessingLogs('id')/Attempts`).
pub async fn attempts(app: &TestApp, id: &str) -> Vec<Value> {
    app.api_results(&format!("MessageProcessingLogs('{id}')/Attempts"))
        .await
}

/// A `/Date(ms)/` value's milliseconds.
pub fn millis(date: &Value) -> i64 {
    let text = date
        .as_str()
        .unwrap_or_else(|| panic!("not a date: {date}"));
    text.trim_start_matches("/Date(")
        .trim_end_matches(")/")
        .parse()
        .unwrap_or_else(|_| panic!("not a date: {text}"))
}

/// POSTs to a monitoring API operation (`MessageProcessingLogs('id')/Replay`) as `user`.
pub async fn operation(app: &TestApp, user: &str, password: &str, path: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/{path}")))
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("request sent")
}
