//! `iflowd messages`: the message log for a person at a terminal, read-only. The latest entries
//! as a table (with the error of failed ones, shortened), `--follow` to keep printing them as
//! they are written, and `show <MessageGuid>` for one entry in full.

mod follow;
mod show;
mod table;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::config::{self, Env};
use crate::store::query::{Filter, LogField, Op, Value};
use crate::store::{self, Entry, ListQuery, Status, Store};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MessagesArgs {
    /// The configuration whose data_dir (or [store] url) holds the log (default ./iflowd-data).
    #[arg(long, short, env = "IFLOWD_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Only entries with this status (COMPLETED, FAILED, PROCESSING, DISCARDED, ABANDONED).
    #[arg(long)]
    status: Option<String>,
    /// How many entries, newest first (with --follow: printed first, oldest first).
    #[arg(long, default_value_t = 20)]
    limit: u64,
    /// Keep printing entries as they are written, and again when their status changes, until
    /// Ctrl-C (the log is read again every second).
    #[arg(long)]
    follow: bool,
    #[command(subcommand)]
    command: Option<MessagesCommand>,
}

#[derive(Debug, Subcommand)]
enum MessagesCommand {
    /// Print one entry in full: every field, its error, its stored request and answer.
    Show {
        /// The entry's MessageGuid (the SAP_MessageProcessingLogID an answer carried).
        id: String,
        /// Write this stored body's exact bytes, and nothing else.
        #[arg(long, value_enum)]
        raw: Option<show::Body>,
    },
}

pub fn run(args: MessagesArgs) -> anyhow::Result<()> {
    let status = args
        .status
        .as_deref()
        .map(|s| {
            Status::parse(s).with_context(|| {
                format!(
                    "--status {s} is not a status; use one of {}",
                    Status::ALL.map(Status::as_str).join(", ")
                )
            })
        })
        .transpose()?;
    let loaded = config::load(args.config.as_deref(), &Env::from_process())?;
    let config = loaded.config;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut out = std::io::stdout().lock();
    let result = runtime.block_on(async {
        let store = store::open_existing(&config.store, &config.data_dir).await?;
        match args.command {
            Some(MessagesCommand::Show { id, raw }) => show::show(&store, &id, raw, &mut out).await,
            None if args.follow => {
                let how = follow::Following {
                    status,
                    limit: args.limit,
                    // Entries are written at most this long after they start: a body's read, a
                    // copy's wait for its original, and ten seconds for the write itself.
                    slack: Duration::from_millis(
                        config.limits.body_read_timeout_ms + config.store.duplicate_wait_ms,
                    ) + Duration::from_secs(10),
                };
                follow::follow(&store, &how, &mut out).await
            }
            None => {
                let entries = list(&store, status, args.limit).await?;
                let mut rows = Vec::with_capacity(entries.len());
                for entry in &entries {
                    rows.push(row_of(&store, entry).await?);
                }
                out.write_all(table::table(&rows).as_bytes())?;
                Ok(())
            }
        }
    });
    match result {
        // A reader that went away (`| head`) is not an error of ours.
        Err(error) if is_broken_pipe(&error) => Ok(()),
        other => other,
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// The newest `limit` entries, with `status` if given.
async fn list(store: &Store, status: Option<Status>, limit: u64) -> anyhow::Result<Vec<Entry>> {
    let filter = status.map(|status| {
        Filter::compare(
            LogField::Status,
            Op::Eq,
            Value::Text(status.as_str().to_owned()),
        )
    });
    let page = store
        .list(ListQuery {
            filter,
            limit,
            ..ListQuery::default()
        })
        .await?;
    Ok(page.entries)
}

/// An entry's row, with its error when it has one.
async fn row_of(store: &Store, entry: &Entry) -> anyhow::Result<table::Row> {
    let error = if entry.has_error {
        store.error(entry.guid.as_str()).await?.flatten()
    } else {
        None
    };
    Ok(table::row(entry, error.as_ref().map(|e| e.text.as_str())))
}
