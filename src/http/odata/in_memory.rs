//! The collections made from the configuration rather than read from the store:
//! `IntegrationRuntimeArtifacts` and `ServiceEndpoints`, one entry per endpoint, queried in
//! memory with the same options as the log.

use axum::response::Response;
use serde_json::{Value, json};

use super::error::ODataError;
use super::json::{self as shape, ARTIFACT_TYPE, Cell, Row};
use super::{Call, json_response};
use crate::config::Adapter;
use crate::odata::Scope;
use crate::odata::schema::{INTEGRATION_RUNTIME_ARTIFACT, SERVICE_ENDPOINT, Schema};

/// A collection kept in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Artifacts,
    ServiceEndpoints,
}

impl Collection {
    fn schema(self) -> &'static Schema {
        match self {
            Self::Artifacts => &INTEGRATION_RUNTIME_ARTIFACT,
            Self::ServiceEndpoints => &SERVICE_ENDPOINT,
        }
    }

    /// The entries, by endpoint name.
    fn rows(self, call: &Call<'_>) -> Vec<Row> {
        let mut endpoints: Vec<_> = call.app.endpoints().iter().collect();
        endpoints.sort_by(|a, b| a.name.cmp(&b.name));
        let text = |s: &str| Cell::Text(s.to_owned());
        let deployed = Cell::date(call.app.started_at());
        endpoints
            .into_iter()
            .map(|e| match self {
                Self::Artifacts => vec![
                    ("Id", text(&e.name)),
                    ("Version", text("1.0.0")),
                    ("Name", text(&e.name)),
                    ("Type", text(ARTIFACT_TYPE)),
                    ("DeployedBy", text("iflowd")),
                    ("DeployedOn", deployed.clone()),
                    ("Status", text("STARTED")),
                ],
                Self::ServiceEndpoints => vec![
                    ("Id", text(&e.name)),
                    ("Name", text(&e.name)),
                    ("Title", text(&e.name)),
                    ("Version", text("1.0.0")),
                    (
                        "Protocol",
                        text(match e.adapter {
                            Adapter::Soap => "SOAP",
                            Adapter::Https => "REST",
                        }),
                    ),
                    ("Url", Cell::Text(format!("{}{}", call.origin, e.path))),
                    ("LastUpdated", deployed.clone()),
                ],
            })
            .collect()
    }

    /// The collection, or one of its entries by `Id`.
    pub fn serve(self, call: &Call<'_>, id: Option<String>) -> Result<Response, ODataError> {
        let schema = self.schema();
        if let Some(id) = id {
            let options = call.options(schema, Scope::Entry)?;
            let entry = self.entry(call, &id, options.select.as_deref())?;
            return Ok(json_response(json!({ "d": entry })));
        }
        let options = call.options(schema, Scope::Collection)?;
        let (page, total) = shape::query_rows(self.rows(call), &options);
        let results: Vec<Value> = page
            .iter()
            .map(|row| shape::row(schema, row, &call.service, options.select.as_deref()))
            .collect();
        let mut d = json!({ "results": results });
        if options.inline_count {
            d["__count"] = json!(total.to_string());
        }
        Ok(json_response(json!({ "d": d })))
    }

    /// The JSON of the entry whose key (its first property) is `id`, with `select` applied.
    pub fn entry(
        self,
        call: &Call<'_>,
        id: &str,
        select: Option<&[&'static str]>,
    ) -> Result<Value, ODataError> {
        let schema = self.schema();
        let rows = self.rows(call);
        let row = rows
            .iter()
            .find(|row| matches!(row.first(), Some((_, Cell::Text(key))) if key == id))
            .ok_or_else(|| ODataError::not_found(format!("{} has no entry '{id}'", schema.set)))?;
        Ok(shape::row(schema, row, &call.service, select))
    }
}
