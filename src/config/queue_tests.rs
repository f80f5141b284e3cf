//! `delivery`, `[endpoints.retry]` and `[queue]`: the defaults, and what stops start-up.

use super::*;

fn load_text(text: &str) -> Result<Loaded, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iflowd.toml");
    std::fs::write(&path, text).unwrap();
    load(Some(&path), &Env::default())
}

fn problems(text: &str) -> String {
    match load_text(text) {
        Ok(_) => panic!("expected a configuration error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const ENDPOINT: &str = "[[endpoints]]\nname = \"E\"\naddress = \"/e\"\n";

#[test]
fn endpoints_are_sync_with_cpi_like_retries_by_default() {
    let loaded = load_text(ENDPOINT).unwrap();
    let endpoint = &loaded.config.endpoints[0];
    assert_eq!(endpoint.delivery, Delivery::Sync);
    assert_eq!(
        endpoint.retry,
        RetryConfig {
            interval_ms: 60_000,
            exponential: true,
            max_interval_ms: 3_600_000,
            max_attempts: 10,
        }
    );
    assert_eq!(loaded.config.queue.workers, 8);
    assert_eq!(loaded.config.queue.lease_ms, 60_000);
}

#[test]
fn an_async_endpoint_reads_its_retry_table() {
    let text = format!(
        "{ENDPOINT}delivery = \"async\"\n[endpoints.retry]\ninterval_ms = 500\nexponential = false\nmax_interval_ms = 500\nmax_attempts = 3\n\n[queue]\nworkers = 2\nlease_ms = 5000\n"
    );
    let loaded = load_text(&text).unwrap();
    let endpoint = &loaded.config.endpoints[0];
    assert_eq!(endpoint.delivery, Delivery::Async);
    assert_eq!(endpoint.retry.interval_ms, 500);
    assert!(!endpoint.retry.exponential);
    assert_eq!(endpoint.retry.max_attempts, 3);
    assert_eq!(loaded.config.queue.workers, 2);
}

#[test]
fn bad_retry_and_queue_settings_are_named() {
    let text = format!(
        "{ENDPOINT}delivery = \"async\"\n[endpoints.retry]\ninterval_ms = 0\nmax_attempts = 0\n\n[queue]\nworkers = 0\nlease_ms = 10\n\n[store]\nenabled = false\n"
    );
    let error = problems(&text);
    for expected in [
        "endpoints[0].retry.interval_ms must be at least 1",
        "endpoints[0].retry.max_attempts must be between 1 and 1000 (it is 0)",
        "queue.workers must be between 1 and 1024 (it is 0)",
        "queue.lease_ms must be at least 1000 (it is 10)",
        "endpoints[0].delivery = \"async\" needs the message log",
    ] {
        assert!(error.contains(expected), "{expected} in {error}");
    }
    let error = problems(&format!(
        "{ENDPOINT}[endpoints.retry]\ninterval_ms = 5000\nmax_interval_ms = 1000\n"
    ));
    assert!(
        error.contains(
            "endpoints[0].retry.max_interval_ms (1000) must be at least retry.interval_ms (5000)"
        ),
        "{error}"
    );
    let error = problems(&format!(
        "{ENDPOINT}[endpoints.retry]\nmax_interval_ms = 604800001\n"
    ));
    assert!(error.contains("must be at most 604800000"), "{error}");
    let error = problems(&format!("{ENDPOINT}delivery = \"later\"\n"));
    assert!(error.contains("unknown variant `later`"), "{error}");
}
