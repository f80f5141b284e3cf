//! The message log's own cost per call, without HTTP: what `Backend::begin` (a `PROCESSING` entry
//! with the request body) and `Backend::finish` (`COMPLETED`, the answer, synced) cost together.
//!
//! `bench/store.sh` measures the store through the server, where the HTTP work and the effects
//! of answering later blur it; this measures the store alone. 64 tasks (wrk's connections in
//! `bench/store.sh`) each run calls one after the other on a runtime with one worker thread, as
//! the server has on one core; bodies are the Change in Manager fixture and a 620-byte answer.
//! It prints calls per second, the process's CPU time per call (all threads: the runtime, the
//! commit and sync leaders, the kernel's work in their system calls) and thread switches per
//! call.
//!
//! ```text
//! taskset -c 0 cargo run --release --example store_calls [CALLS]
//! ```
//!
//! The data directory is a fresh one under `bench/out/` (the repository's disk, not a tmpfs).

use std::time::{Duration, Instant};

use bytes::Bytes;
use iflowd::event::EventKind;
use iflowd::store::{
    self, Completion, EventFacts, NewEntry, NewOrDuplicate, Payload, Status, Store,
};
use time::OffsetDateTime;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FIXTURE: &[u8] = include_bytes!("../fixtures/change-in-manager.xml");
const TASKS: usize = 64;

/// CPU time (user + system) and thread switches (voluntary + involuntary) of the whole process
/// so far, threads that ended included.
fn usage() -> (Duration, i64) {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let time = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
    };
    (
        time(usage.user_time()) + time(usage.system_time()),
        usage.voluntary_context_switches() + usage.involuntary_context_switches(),
    )
}

fn entry(call: usize, body: &Bytes) -> NewEntry {
    NewEntry {
        guid: iflowd::message::MessageId::new(),
        correlation_id: iflowd::message::MessageId::new().as_str().to_owned(),
        transaction_id: format!("{call:032x}"),
        application_message_id: Some(format!("bench-{call:09}")),
        application_message_type: Some(
            "com.successfactors.Employment.JobInformation.ManagerChanged".to_owned(),
        ),
        integration_flow_name: "ISC_Events".to_owned(),
        sender: "bench".to_owned(),
        status: Status::Processing,
        log_start: OffsetDateTime::now_utc(),
        log_end: None,
        error: None,
        event_count: Some(1),
        repost: Some(false),
        original_guid: None,
        events: vec![EventFacts {
            kind: EventKind::ChangeInManager,
            user_id: Some(format!("{}", 100_000 + call)),
            event_id: Some(format!("bench-event-{call}")),
            event_type: None,
        }],
        ack: None,
        request: Some(Payload {
            content_type: "text/xml; charset=utf-8".to_owned(),
            body: body.clone(),
        }),
        response: None,
    }
}

async fn call(store: &Store, call: usize, body: &Bytes, answer: &Bytes) {
    let window = OffsetDateTime::now_utc() - time::Duration::days(90);
    let NewOrDuplicate::New(key) = store
        .begin(entry(call, body), Some(window))
        .await
        .expect("begin")
    else {
        panic!("call {call} was taken for a duplicate");
    };
    let completion = Completion {
        key,
        status: Status::Completed,
        log_end: OffsetDateTime::now_utc(),
        error: None,
        ack: Some(r#"{"status":200}"#.to_owned()),
        response: Some(Payload {
            content_type: "text/xml; charset=utf-8".to_owned(),
            body: answer.clone(),
        }),
    };
    store.finish(completion).await.expect("finish");
}

fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("CALLS is a number"))
        .unwrap_or(50_000);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/out/store_calls");
    let _ = std::fs::remove_dir_all(&dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let body = Bytes::from_static(FIXTURE);
    let answer = Bytes::from(vec![b'a'; 620]);
    let store = runtime
        .block_on(store::open(&iflowd::config::StoreConfig::default(), &dir))
        .expect("the store opens");
    // A first round outside the measurement: SQLite's caches and the threads warmed up.
    runtime.block_on(call(&store, usize::MAX - 1, &body, &answer));

    let (cpu_before, switches_before) = usage();
    let started = Instant::now();
    runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for first in 0..TASKS {
            let (store, body, answer) = (store.clone(), body.clone(), answer.clone());
            tasks.spawn(async move {
                for n in (first..calls).step_by(TASKS) {
                    call(&store, n, &body, &answer).await;
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("a task panicked");
        }
    });
    let wall = started.elapsed();
    let (cpu_after, switches_after) = usage();
    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / calls as f64;
    println!(
        "{calls} calls, {TASKS} at a time: {:.0} calls/s, {:.1} µs CPU per call, {:.2} thread switches per call",
        calls as f64 / wall.as_secs_f64(),
        per_call(cpu_after - cpu_before),
        (switches_after - switches_before) as f64 / calls as f64,
    );
}
