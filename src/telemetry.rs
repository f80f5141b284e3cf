//! Logging: structured `tracing` lines on standard error, as text or JSON.
//!
//! Standard output is kept for what a person asked for (the start-up banner, `iflowd parse`), so
//! logs can be redirected without losing it.
//!
//! Lines leave the request path at once: they are handed to a writer thread
//! (`tracing-appender`'s non-blocking writer) that writes whatever has queued up in one
//! `write(2)` through a buffer, so a busy server does not make a system call per line. Nothing
//! is dropped when the queue is full (the logging thread waits instead), and the [`LogGuard`]
//! that [`init`] returns writes out what is still queued when it is dropped: `serve` holds it
//! until the server has stopped, so the last lines before an exit are not lost.
//!
//! Colours (ANSI escape codes) are used only when standard error is a terminal and `NO_COLOR` is
//! not set: a file or a pipe gets plain text.

use std::io::{BufWriter, IsTerminal};

use tracing::Level;
use tracing::level_filters::LevelFilter;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// The writer thread's buffer: one `write(2)` per this much, or per batch of queued lines.
const BUFFER_BYTES: usize = 64 * 1024;

/// Keeps the writer thread running; dropping it writes out every queued line (waiting at most a
/// second) and stops the thread.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    _worker: WorkerGuard,
}

/// Installs the global subscriber. `filter` is a comma-separated list of a default level and
/// `target=level` directives (`info`, `iflowd=debug,tower_http=debug`...): tracing-subscriber's
/// `Targets`, which is what the configuration offers; its `EnvFilter` would add span and field
/// matching and bring a regex engine into the build for it.
pub fn init(format: LogFormat, filter: &str) -> LogGuard {
    let filter: Targets = filter
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(Level::INFO));
    let (writer, worker) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("iflowd-log")
        .finish(BufWriter::with_capacity(BUFFER_BYTES, std::io::stderr()));
    // The formatter lets everything through (its own default stops at INFO); `filter` decides.
    let builder = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_writer(writer)
        .with_ansi(colours())
        .with_target(true);
    let _ = match format {
        LogFormat::Text => builder.finish().with(filter).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .finish()
            .with(filter)
            .try_init(),
    };
    LogGuard { _worker: worker }
}

/// Colours only for a person at a terminal who has not asked for none (<https://no-color.org>).
fn colours() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
