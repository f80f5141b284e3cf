//! The running service's shared state, built once from a validated configuration.

use std::sync::Arc;

use crate::auth::{Authenticator, DistinguishedName, KeyError};
use crate::config::endpoint_path;
use crate::config::{Config, Limits};
use crate::endpoint::{Endpoint, EndpointTable};
use crate::event::{EventKind, EventTypes};
use crate::handler::{BuildError, Chain, build_handlers};

/// A cheap-to-clone handle on everything a request needs. Nothing in it changes after start-up,
/// so there is no lock.
#[derive(Clone)]
pub struct App {
    shared: Arc<Shared>,
}

struct Shared {
    endpoints: EndpointTable,
    auth: Authenticator,
    limits: Limits,
    event_types: EventTypes,
    token_path: Option<String>,
}

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Handler(#[from] BuildError),
    #[error(transparent)]
    SigningKey(#[from] KeyError),
}

impl App {
    /// Builds endpoints, handler chains and the authenticator. Handlers that touch the outside
    /// world (opening files...) do it here, and the OAuth signing key is read or created here,
    /// so a broken handler or data directory stops start-up instead of failing the first
    /// request.
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        let handlers = build_handlers(&config.handlers).await?;
        let endpoints = config
            .endpoints
            .iter()
            .map(|e| {
                let steps = e
                    .handlers
                    .iter()
                    .map(|name| {
                        // Validation guarantees every name resolves.
                        let handler = handlers.get(name).cloned().ok_or_else(|| BuildError {
                            name: name.clone(),
                            message: format!("is not defined (endpoint '{}')", e.name),
                        })?;
                        Ok((Arc::from(name.as_str()), handler))
                    })
                    .collect::<Result<Vec<_>, BuildError>>()?;
                Ok(Arc::new(Endpoint {
                    name: Arc::from(e.name.as_str()),
                    adapter: e.adapter,
                    path: endpoint_path(e.adapter, &e.address),
                    role: e.role.clone(),
                    // Validation has parsed every subject already.
                    client_certificates: e
                        .client_certificates
                        .iter()
                        .filter_map(|dn| DistinguishedName::parse(dn).ok())
                        .collect(),
                    chain: Chain::new(steps),
                }))
            })
            .collect::<Result<Vec<_>, BuildError>>()?;
        Ok(Self {
            shared: Arc::new(Shared {
                endpoints: EndpointTable::new(endpoints),
                auth: Authenticator::from_config(config)?,
                limits: config.limits.clone(),
                event_types: Self::event_types_of(config),
                token_path: (!config.oauth_clients.is_empty())
                    .then(|| config.oauth.token_path.clone()),
            }),
        })
    }

    /// The type-string table of `[events]`.
    pub fn event_types_of(config: &Config) -> EventTypes {
        let events = &config.events;
        EventTypes::new([
            (EventKind::ChangeInManager, &events.change_in_manager),
            (EventKind::Hire, &events.hire),
            (EventKind::Rehire, &events.rehire),
            (EventKind::Termination, &events.termination),
        ])
    }

    pub fn endpoints(&self) -> &EndpointTable {
        &self.shared.endpoints
    }

    pub fn auth(&self) -> &Authenticator {
        &self.shared.auth
    }

    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    pub fn event_types(&self) -> &EventTypes {
        &self.shared.event_types
    }

    /// Where the OAuth token endpoint answers; `None` without `[[oauth_clients]]`.
    pub fn token_path(&self) -> Option<&str> {
        self.shared.token_path.as_deref()
    }
}
