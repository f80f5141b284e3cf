//! From `[handlers.*]` to handler objects, once, at start-up.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::Handler;
use super::jsonl::JsonlHandler;
use super::log::LogHandler;
use crate::config::HandlerConfig;

/// A handler that could not be built, naming it.
#[derive(Debug, thiserror::Error)]
#[error("handler '{name}': {message}")]
pub struct BuildError {
    pub name: String,
    pub message: String,
}

/// Builds every configured handler plus the built-in `log` (unless the configuration defines its
/// own). Handlers are shared: two endpoints naming the same handler use the same object (and, for
/// `jsonl`, the same file).
pub async fn build_handlers(
    configs: &BTreeMap<String, HandlerConfig>,
) -> Result<HashMap<String, Arc<dyn Handler>>, BuildError> {
    let mut handlers: HashMap<String, Arc<dyn Handler>> = HashMap::new();
    handlers.insert("log".to_owned(), Arc::new(LogHandler));
    for (name, config) in configs {
        let handler: Arc<dyn Handler> = match config {
            HandlerConfig::Log {} => Arc::new(LogHandler),
            HandlerConfig::Jsonl { path } => {
                Arc::new(JsonlHandler::open(path).await.map_err(|e| BuildError {
                    name: name.clone(),
                    message: format!("cannot open {} for appending: {e}", path.display()),
                })?)
            }
        };
        handlers.insert(name.clone(), handler);
    }
    Ok(handlers)
}
