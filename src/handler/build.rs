//! From `[handlers.*]` to handler objects, once, at start-up.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::Handler;
use super::exec::ExecHandler;
use super::fault::FaultHandler;
use super::filter::Filtered;
use super::forward::ForwardHandler;
use super::jsonl::JsonlHandler;
use super::log::LogHandler;
use super::nats::NatsHandler;
use super::respond::RespondHandler;
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
/// `jsonl`, the same file; for `forward`, the same connection pool; for `nats`, the same
/// connection; for `fault`, the same delivery counts).
pub async fn build_handlers(
    configs: &BTreeMap<String, HandlerConfig>,
) -> Result<HashMap<String, Arc<dyn Handler>>, BuildError> {
    let mut handlers: HashMap<String, Arc<dyn Handler>> = HashMap::new();
    handlers.insert("log".to_owned(), Arc::new(LogHandler));
    for (name, config) in configs {
        let failed = |message: String| BuildError {
            name: name.clone(),
            message,
        };
        let handler: Arc<dyn Handler> = match config {
            HandlerConfig::Log(_) => Arc::new(LogHandler),
            HandlerConfig::Jsonl(jsonl) => {
                let path = &jsonl.path;
                Arc::new(JsonlHandler::open(path).await.map_err(|e| {
                    failed(format!("cannot open {} for appending: {e}", path.display()))
                })?)
            }
            HandlerConfig::Forward(forward) => {
                Arc::new(ForwardHandler::new(forward).map_err(failed)?)
            }
            HandlerConfig::Nats(nats) => Arc::new(
                NatsHandler::new(&Arc::from(name.as_str()), nats)
                    .await
                    .map_err(failed)?,
            ),
            HandlerConfig::Exec(exec) => Arc::new(ExecHandler::new(exec).map_err(failed)?),
            HandlerConfig::Fault(fault) => {
                Arc::new(FaultHandler::new(Arc::from(name.as_str()), fault))
            }
            HandlerConfig::Respond(respond) => Arc::new(RespondHandler::new(respond)),
        };
        let handler = match config.when() {
            Some(when) => Arc::new(Filtered {
                name: Arc::from(name.as_str()),
                when: when.clone(),
                inner: handler,
            }),
            None => handler,
        };
        handlers.insert(name.clone(), handler);
    }
    Ok(handlers)
}
