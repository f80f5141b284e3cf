//! `iflowd messages`: the latest log entries as a table, for a person at a terminal.

use std::path::Path;

use anyhow::Context;
use time::macros::format_description;

use crate::config::{self, Env};
use crate::store::query::{Filter, LogField, Op, Value};
use crate::store::{self, Entry, ListQuery, Status};

pub fn run(config: Option<&Path>, status: Option<&str>, limit: u64) -> anyhow::Result<()> {
    let status = status
        .map(|s| {
            Status::parse(s).with_context(|| {
                format!(
                    "--status {s} is not a status; use one of {}",
                    Status::ALL.map(Status::as_str).join(", ")
                )
            })
        })
        .transpose()?;
    let loaded = config::load(config, &Env::from_process())?;
    let data_dir = loaded.config.data_dir;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("cannot start the async runtime")?;
    let entries = runtime.block_on(async {
        let store = store::open_existing(&data_dir).await?;
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
        anyhow::Ok(page.entries)
    })?;
    print!("{}", table(&entries));
    Ok(())
}

/// Aligned columns, newest first; `-` for what is unknown.
pub fn table(entries: &[Entry]) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let header = [
        "TIME (UTC)",
        "STATUS",
        "ENDPOINT",
        "EVENT TYPE",
        "EXTERNAL EVENT ID",
        "MESSAGE ID",
    ];
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
            [
                e.log_start.format(&format).unwrap_or_default(),
                e.status.to_string(),
                e.integration_flow_name.clone(),
                or_dash(&e.application_message_type),
                or_dash(&e.application_message_id),
                e.guid.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    if rows.is_empty() {
        out.push_str("(no messages)\n");
    }
    out
}
