//! `jsonl`: append one JSON object per event to a file.
//!
//! The lines of one message are written with a single `write_all` under a lock, so concurrent
//! messages never interleave, and flushed before the handler returns, so a sender that got an
//! acknowledgement can find its events in the file.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::fs::{File, OpenOptions};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::{Handler, HandlerError};
use crate::message::{Ack, Message, json};

pub struct JsonlHandler {
    path: PathBuf,
    file: Mutex<File>,
}

impl JsonlHandler {
    /// Opens (creating if needed) `path` for appending; failing here fails start-up.
    pub async fn open(path: &Path) -> std::io::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent).await?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }
}

#[async_trait]
impl Handler for JsonlHandler {
    async fn handle(&self, message: &Message, _ack: &mut Ack) -> Result<(), HandlerError> {
        if message.envelope.events.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::with_capacity(1024 * message.envelope.events.len());
        json::write_lines(&mut lines, Some(&message.context), &message.envelope);
        let mut file = self.file.lock().await;
        let result = async {
            file.write_all(&lines).await?;
            file.flush().await
        }
        .await;
        result.map_err(|e| {
            HandlerError::new(format!("cannot append to {}: {e}", self.path.display()))
        })
    }
}
