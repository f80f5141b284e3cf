//! `JmsBrokers('Broker1')`: the delivery queue as CPI's JMS broker, for the health collectors
//! that watch a tenant's queues (role `HealthCheckMonitoringDataRead`).
//!
//! ```text
//! GET JmsBrokers('Broker1')          the broker: capacity (bytes), queues, how they are
//! GET JmsBrokers('Broker1')/Queues   one queue per endpoint: messages queued, running, in retry, escalated
//! GET JmsQueues[('<endpoint>')]      the same queues
//! ```
//!
//! The properties are CPI's; what iflowd puts in them: the queue keeps its messages in the
//! message log, so `Capacity` is the bytes the log takes on disk and `MaxCapacity` its limit
//! (`[store] max_size_mb`, null without one). A queue is an endpoint that is asynchronous or
//! holds queued or escalated messages (replays of a synchronous endpoint's messages are queued
//! too); `MaxQueueNumber` is the number of endpoints. The capacity state (of each queue, and so
//! `CapacityOk`/`Warning`/`Error`) is the log's: warning from 80 % of its limit, error from 95 %
//! or when its disk refuses writes. `IsConsumersHigh` is 1 while every `[queue] workers` is
//! running an attempt; iflowd has no JMS sessions or producers to run short of.

use std::collections::BTreeMap;

use axum::response::Response;
use serde_json::{Value, json};

use super::error::ODataError;
use super::json::{self as shape, Cell, Row};
use super::logs::{read, store};
use super::{Call, json_response};
use crate::config::{Delivery, HEALTH_CHECK_ROLE};
use crate::excerpt::Excerpt;
use crate::odata::Scope;
use crate::odata::schema::{JMS_BROKER, JMS_QUEUE};
use crate::store::query::{Filter, LogField, Op, Value as FilterValue};
use crate::store::{Health, ListQuery, QueueState, Status};

/// The one broker's key, as CPI names it.
pub const BROKER: &str = "Broker1";

/// Messages of one queue by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    queued: u64,
    running: u64,
    retry: u64,
    escalated: u64,
}

impl Counts {
    fn total(self) -> u64 {
        self.queued + self.running + self.retry + self.escalated
    }
}

/// The capacity state CPI reports per queue: 0 OK, 1 warning, 2 error.
fn capacity_state(used: u64, max: Option<u64>, unwritable: bool) -> i64 {
    match max {
        _ if unwritable => 2,
        Some(max) if used.saturating_mul(100) >= max.saturating_mul(95) => 2,
        Some(max) if used.saturating_mul(100) >= max.saturating_mul(80) => 1,
        _ => 0,
    }
}

/// What the broker's entries are made of, read once per request.
struct Figures {
    queues: BTreeMap<String, Counts>,
    used: u64,
    max: Option<u64>,
    state: i64,
    consumers_high: bool,
    endpoints: usize,
}

async fn figures(call: &Call<'_>) -> Result<Figures, ODataError> {
    let store = store(call)?;
    let queue = call.app.queue().ok_or_else(|| {
        ODataError::not_found("the message log is turned off, so there is no delivery queue")
    })?;
    let mut queues: BTreeMap<String, Counts> = call
        .app
        .endpoints()
        .iter()
        .filter(|e| e.delivery == Delivery::Async)
        .map(|e| (e.name.to_string(), Counts::default()))
        .collect();
    for ((endpoint, state), n) in read(call, store.depth()).await? {
        let counts = queues.entry(endpoint).or_default();
        match state {
            QueueState::Queued => counts.queued += n,
            QueueState::Running => counts.running += n,
            QueueState::Retry => counts.retry += n,
        }
    }
    let escalated = Filter::compare(
        LogField::Status,
        Op::Eq,
        FilterValue::Text(Status::Escalated.as_str().to_owned()),
    );
    for endpoint in call.app.endpoints().iter() {
        let query = ListQuery {
            filter: Some(Filter::All(vec![
                escalated.clone(),
                Filter::compare(
                    LogField::IntegrationFlowName,
                    Op::Eq,
                    FilterValue::Text(endpoint.name.to_string()),
                ),
            ])),
            limit: 0,
            count: true,
            ..ListQuery::default()
        };
        let n = read(call, store.list(query)).await?.total.unwrap_or(0);
        if n > 0 {
            queues
                .entry(endpoint.name.to_string())
                .or_default()
                .escalated = n;
        }
    }
    let used = read(call, store.size()).await?;
    let capacity = queue.capacity();
    let unwritable = matches!(store.health(), Health::Unwritable { .. });
    Ok(Figures {
        queues,
        used,
        max: capacity.max_bytes,
        state: capacity_state(used, capacity.max_bytes, unwritable),
        consumers_high: capacity.busy >= capacity.workers,
        endpoints: call.app.endpoints().iter().count(),
    })
}

fn int(n: impl TryInto<i64>) -> Cell {
    Cell::Int(n.try_into().unwrap_or(i64::MAX))
}

fn broker_row(figures: &Figures) -> Row {
    let queues = figures.queues.len();
    let in_state = |state: i64| int(if figures.state == state { queues } else { 0 });
    vec![
        ("Key", Cell::Text(BROKER.to_owned())),
        ("Capacity", int(figures.used)),
        ("MaxCapacity", figures.max.map_or(Cell::Null, int)),
        ("IsTransactedSessionsHigh", Cell::Int(0)),
        (
            "IsConsumersHigh",
            Cell::Int(i64::from(figures.consumers_high)),
        ),
        ("IsProducersHigh", Cell::Int(0)),
        ("MaxQueueNumber", int(figures.endpoints)),
        ("QueueNumber", int(queues)),
        ("CapacityOk", in_state(0)),
        ("CapacityWarning", in_state(1)),
        ("CapacityError", in_state(2)),
        (
            "IsQueuesHigh",
            Cell::Int(i64::from(queues >= figures.endpoints && queues > 0)),
        ),
        (
            "IsMessageSpoolHigh",
            Cell::Int(i64::from(figures.state == 2)),
        ),
    ]
}

fn queue_rows(figures: &Figures) -> Vec<Row> {
    figures
        .queues
        .iter()
        .map(|(name, counts)| {
            vec![
                ("Name", Cell::Text(name.clone())),
                ("MaxQueueSize", Cell::Null),
                ("ActiveState", Cell::Int(1)),
                ("QueueSize", int(counts.total())),
                ("State", Cell::Int(figures.state)),
                ("Queued", int(counts.queued)),
                ("Running", int(counts.running)),
                ("Retry", int(counts.retry)),
                ("Escalated", int(counts.escalated)),
            ]
        })
        .collect()
}

/// `JmsBrokers('<key>')`: 404 for any key but `Broker1`.
pub async fn broker(call: &Call<'_>, key: &str) -> Result<Response, ODataError> {
    call.require(HEALTH_CHECK_ROLE)?;
    let options = call.options(&JMS_BROKER, Scope::Entry)?;
    known(key)?;
    let figures = figures(call).await?;
    let mut value = shape::row(
        &JMS_BROKER,
        &broker_row(&figures),
        &call.service,
        options.select.as_deref(),
    );
    if options.select.is_none() {
        value["Queues"] = json!({ "__deferred": {
            "uri": format!("{}/JmsBrokers('{BROKER}')/Queues", call.service)
        } });
    }
    Ok(json_response(json!({ "d": value })))
}

/// `JmsBrokers('<key>')/Queues`, `JmsQueues`, `JmsQueues('<name>')`.
pub async fn queues(
    call: &Call<'_>,
    broker: Option<&str>,
    name: Option<&str>,
) -> Result<Response, ODataError> {
    call.require(HEALTH_CHECK_ROLE)?;
    if let Some(broker) = broker {
        known(broker)?;
    }
    let scope = if name.is_some() {
        Scope::Entry
    } else {
        Scope::Collection
    };
    let options = call.options(&JMS_QUEUE, scope)?;
    let rows = queue_rows(&figures(call).await?);
    let select = options.select.as_deref();
    if let Some(name) = name {
        let row = rows
            .iter()
            .find(|row| matches!(row.first(), Some((_, Cell::Text(n))) if n == name))
            .ok_or_else(|| {
                ODataError::not_found(format!(
                    "JmsQueues has no queue '{}': a queue is an asynchronous endpoint, or one with queued or escalated messages",
                    Excerpt(name)
                ))
            })?;
        let value = shape::row(&JMS_QUEUE, row, &call.service, select);
        return Ok(json_response(json!({ "d": value })));
    }
    let (page, total) = shape::query_rows(rows, &options);
    let results: Vec<Value> = page
        .iter()
        .map(|row| shape::row(&JMS_QUEUE, row, &call.service, select))
        .collect();
    let mut d = json!({ "results": results });
    if options.inline_count {
        d["__count"] = json!(total.to_string());
    }
    Ok(json_response(json!({ "d": d })))
}

fn known(key: &str) -> Result<(), ODataError> {
    if key == BROKER {
        return Ok(());
    }
    Err(ODataError::not_found(format!(
        "there is no JMS broker '{}': iflowd's delivery queue is JmsBrokers('{BROKER}')",
        Excerpt(key)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_capacity_state_follows_the_logs_limit_and_its_disk() {
        assert_eq!(capacity_state(10, None, false), 0);
        assert_eq!(capacity_state(79, Some(100), false), 0);
        assert_eq!(capacity_state(80, Some(100), false), 1);
        assert_eq!(capacity_state(95, Some(100), false), 2);
        assert_eq!(capacity_state(0, None, true), 2);
    }
}
