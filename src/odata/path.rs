//! The resource path of a monitoring API URL (what follows `/api/v1/`).

use super::QueryError;
use super::schema::{
    AUDIT_LOG, INTEGRATION_PACKAGE, INTEGRATION_RUNTIME_ARTIFACT, KEYSTORE_ENTRY,
    MESSAGE_PROCESSING_LOG, SERVICE_ENDPOINT, Schema,
};
use crate::excerpt::Excerpt;

/// What a URL addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `/api/v1/`: the service document.
    Service,
    /// `$metadata`.
    Metadata,
    /// `MessageProcessingLogs`.
    Logs,
    /// `MessageProcessingLogs/$count`.
    LogCount,
    /// `MessageProcessingLogs('<guid>')`.
    Log(String),
    /// `MessageProcessingLogs('<guid>')/ErrorInformation`, or
    /// `MessageProcessingLogErrorInformations('<guid>')`; `value` with `/$value`.
    ErrorInformation { guid: String, value: bool },
    /// `MessageProcessingLogs('<guid>')/MessageStoreEntries`.
    StoreEntries(String),
    /// `MessageStoreEntries('<id>')`, directly or below its log (`of`, the message named first,
    /// which the body must belong to); `value` with `/$value`.
    StoreEntry {
        id: String,
        of: Option<String>,
        value: bool,
    },
    /// `MessageProcessingLogs('<guid>')/Attempts`: the attempts of a queued message (iflowd's
    /// own navigation).
    Attempts(String),
    /// `MessageProcessingLogAttempts('<guid>.<number>')`: one attempt.
    Attempt(String),
    /// `POST MessageProcessingLogs('<guid>')/Replay`: run it again as a new message.
    Replay(String),
    /// `POST MessageProcessingLogs('<guid>')/Retry`: queue an `ESCALATED` message again.
    Retry(String),
    /// `IntegrationRuntimeArtifacts`, optionally `('<id>')`.
    Artifacts(Option<String>),
    /// `ServiceEndpoints`, optionally `('<id>')`.
    ServiceEndpoints(Option<String>),
    /// `MessageProcessingLogs('<guid>')/CustomHeaderProperties`.
    CustomHeaders(String),
    /// `MessageProcessingLogCustomHeaderProperties('<guid>.<n>')`: one of them.
    CustomHeader(String),
    /// `AuditLogs`, optionally `('<ChangeId>')`.
    AuditLogs(Option<String>),
    /// `KeystoreEntries`, optionally `('<Hexalias>')`.
    KeystoreEntries(Option<String>),
    /// `IntegrationPackages`, optionally `('<Id>')`.
    Packages(Option<String>),
    /// `JmsBrokers('<Key>')`: the delivery queue as CPI's JMS broker (`Broker1`).
    JmsBroker(String),
    /// `JmsBrokers('<Key>')/Queues` (`broker`), or `JmsQueues`, optionally `('<Name>')`: the
    /// broker's queues, one per endpoint.
    JmsQueues {
        broker: Option<String>,
        name: Option<String>,
    },
    /// One property of an entry, `MessageProcessingLogs('<guid>')/Status`: OData's address of a
    /// property, which clients read when an entry was fetched with `$select`.
    Property {
        set: PropertyOf,
        key: String,
        name: &'static str,
    },
}

/// The entity sets whose entries' properties can be addressed one by one (those `$select`
/// applies to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyOf {
    Logs,
    Artifacts,
    ServiceEndpoints,
    AuditLogs,
    KeystoreEntries,
    Packages,
}

impl PropertyOf {
    const ALL: [Self; 6] = [
        Self::Logs,
        Self::Artifacts,
        Self::ServiceEndpoints,
        Self::AuditLogs,
        Self::KeystoreEntries,
        Self::Packages,
    ];

    fn of(set: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.schema().set == set)
    }

    pub fn schema(self) -> &'static Schema {
        match self {
            Self::Logs => &MESSAGE_PROCESSING_LOG,
            Self::Artifacts => &INTEGRATION_RUNTIME_ARTIFACT,
            Self::ServiceEndpoints => &SERVICE_ENDPOINT,
            Self::AuditLogs => &AUDIT_LOG,
            Self::KeystoreEntries => &KEYSTORE_ENTRY,
            Self::Packages => &INTEGRATION_PACKAGE,
        }
    }
}

/// One path segment: a name and an optional `('key')`.
#[derive(Debug)]
struct Segment {
    name: String,
    key: Option<String>,
}

fn segment(text: &str) -> Result<Segment, QueryError> {
    let Some(open) = text.find('(') else {
        return Ok(Segment {
            name: text.to_owned(),
            key: None,
        });
    };
    let name = text[..open].to_owned();
    let inner = text[open + 1..].strip_suffix(')').ok_or_else(|| {
        QueryError::new(format!(
            "'{}': the key in parentheses is not closed",
            Excerpt(text)
        ))
    })?;
    let key = inner
        .strip_prefix('\'')
        .and_then(|k| k.strip_suffix('\''))
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            QueryError::new(format!(
                "'{}': a key is a quoted string, e.g. {}('AGk9HwFzq8WbJ3lNcQ1xTfR2uPZa')",
                Excerpt(text),
                Excerpt(&name)
            ))
        })?;
    Ok(Segment {
        name,
        key: Some(key.replace("''", "'")),
    })
}

/// Reads the percent-decoded path below `/api/v1/`. `Ok(None)` is a path that names nothing
/// (a 404); `Err` is one that cannot be read (a 400).
pub fn parse(path: &str) -> Result<Option<Resource>, QueryError> {
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        return Ok(Some(Resource::Service));
    }
    let parts: Vec<&str> = path.split('/').collect();
    let segments = parts
        .iter()
        .map(|p| segment(p))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(resource) = one_message(&segments) {
        return Ok(Some(resource));
    }
    let names: Vec<&str> = segments.iter().map(|s| s.name.as_str()).collect();
    let key = |i: usize| segments.get(i).and_then(|s| s.key.clone());
    let keyless = |i: usize| segments.get(i).is_some_and(|s| s.key.is_none());
    let resource = match (names.as_slice(), key(0)) {
        (["$metadata"], None) => Resource::Metadata,
        (["MessageProcessingLogs"], None) => Resource::Logs,
        (["MessageProcessingLogs", "$count"], None) if keyless(1) => Resource::LogCount,
        // Declared in $metadata (the navigations need their sets) but not listed as a whole.
        (
            [
                set @ ("MessageStoreEntries"
                | "MessageProcessingLogErrorInformations"
                | "MessageProcessingLogCustomHeaderProperties"
                | "MessageProcessingLogAttempts"),
            ],
            None,
        ) => {
            let (key, below) = match *set {
                "MessageStoreEntries" => ("<MessageGuid>.request", "MessageStoreEntries"),
                "MessageProcessingLogErrorInformations" => ("<MessageGuid>", "ErrorInformation"),
                "MessageProcessingLogAttempts" => ("<MessageGuid>.1", "Attempts"),
                _ => ("<MessageGuid>.1", "CustomHeaderProperties"),
            };

            return Err(QueryError::new(format!(
                "{set} is read one entry at a time, {set}('{key}'), or through its message, MessageProcessingLogs('<MessageGuid>')/{below}"
            )));
        }
        (["IntegrationRuntimeArtifacts"], id) => Resource::Artifacts(id),
        (["ServiceEndpoints"], id) => Resource::ServiceEndpoints(id),
        (["AuditLogs"], id) => Resource::AuditLogs(id),
        (["KeystoreEntries"], id) => Resource::KeystoreEntries(id),
        (["IntegrationPackages"], id) => Resource::Packages(id),
        (["JmsBrokers"], Some(key)) => Resource::JmsBroker(key),
        (["JmsBrokers", "Queues"], Some(key)) if keyless(1) => Resource::JmsQueues {
            broker: Some(key),
            name: None,
        },
        (["JmsQueues"], name) => Resource::JmsQueues { broker: None, name },
        (["JmsBrokers"], None) => {
            return Err(QueryError::new(
                "JmsBrokers is read one entry at a time: JmsBrokers('Broker1')".to_owned(),
            ));
        }
        ([set, name], Some(key)) if keyless(1) => {
            let Some(set) = PropertyOf::of(set) else {
                return Ok(None);
            };
            let Some(name) = set.schema().properties.iter().find(|p| *p == name) else {
                return Ok(None);
            };
            Resource::Property { set, key, name }
        }
        _ => return Ok(None),
    };
    // A key where none belongs (`$metadata('x')`, `.../ErrorInformation('x')`) names nothing.
    Ok(Some(resource))
}

/// The paths below one message of the log (`MessageProcessingLogs('…')/…`) and the sets read
/// by a message's key; `None` for every other path.
fn one_message(segments: &[Segment]) -> Option<Resource> {
    let names: Vec<&str> = segments.iter().map(|s| s.name.as_str()).collect();
    let key = |i: usize| segments.get(i).and_then(|s| s.key.clone());
    let keyless = |i: usize| segments.get(i).is_some_and(|s| s.key.is_none());
    let resource = match (names.as_slice(), key(0)) {
        (["MessageProcessingLogs"], Some(guid)) => Resource::Log(guid),
        (["MessageProcessingLogs", "ErrorInformation", rest @ ..], Some(guid))
            if keyless(1) && matches!(rest, [] | ["$value"]) =>
        {
            Resource::ErrorInformation {
                guid,
                value: !rest.is_empty(),
            }
        }
        (["MessageProcessingLogErrorInformations", rest @ ..], Some(guid))
            if matches!(rest, [] | ["$value"]) =>
        {
            Resource::ErrorInformation {
                guid,
                value: !rest.is_empty(),
            }
        }
        (["MessageProcessingLogs", "MessageStoreEntries"], Some(guid)) if keyless(1) => {
            Resource::StoreEntries(guid)
        }
        (["MessageProcessingLogs", "CustomHeaderProperties"], Some(guid)) if keyless(1) => {
            Resource::CustomHeaders(guid)
        }
        (["MessageProcessingLogCustomHeaderProperties"], Some(id)) => Resource::CustomHeader(id),
        (["MessageProcessingLogs", "Attempts"], Some(guid)) if keyless(1) => {
            Resource::Attempts(guid)
        }
        (["MessageProcessingLogs", "Replay"], Some(guid)) if keyless(1) => Resource::Replay(guid),
        (["MessageProcessingLogs", "Retry"], Some(guid)) if keyless(1) => Resource::Retry(guid),
        (["MessageProcessingLogAttempts"], Some(id)) => Resource::Attempt(id),
        (["MessageProcessingLogs", "MessageStoreEntries", rest @ ..], Some(guid))
            if key(1).is_some() && matches!(rest, [] | ["$value"]) =>
        {
            Resource::StoreEntry {
                id: key(1).unwrap_or_default(),
                of: Some(guid),
                value: !rest.is_empty(),
            }
        }
        (["MessageStoreEntries", rest @ ..], Some(id)) if matches!(rest, [] | ["$value"]) => {
            Resource::StoreEntry {
                id,
                of: None,
                value: !rest.is_empty(),
            }
        }
        _ => return None,
    };
    Some(resource)
}

#[cfg(test)]
#[path = "path_tests.rs"]
mod tests;
