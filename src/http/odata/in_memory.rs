//! The collections made from the configuration rather than read from the store:
//! `IntegrationRuntimeArtifacts` and `ServiceEndpoints` (one entry per endpoint),
//! `IntegrationPackages` (one per package the endpoints are in) and `KeystoreEntries` (the
//! certificates and keys read at start-up), queried in memory with the same options as the log.

use crate::excerpt::Excerpt;
use axum::response::Response;
use serde_json::{Value, json};

use super::error::ODataError;
use super::json::{self as shape, ARTIFACT_TYPE, Cell, Row};
use super::{Call, json_response};
use crate::clock::epoch_millis;
use crate::config::Adapter;
use crate::keystore::hex_alias;
use crate::odata::Scope;
use crate::odata::schema::{
    INTEGRATION_PACKAGE, INTEGRATION_RUNTIME_ARTIFACT, KEYSTORE_ENTRY, SERVICE_ENDPOINT, Schema,
};

/// A collection kept in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Artifacts,
    ServiceEndpoints,
    Packages,
    KeystoreEntries,
}

impl Collection {
    fn schema(self) -> &'static Schema {
        match self {
            Self::Artifacts => &INTEGRATION_RUNTIME_ARTIFACT,
            Self::ServiceEndpoints => &SERVICE_ENDPOINT,
            Self::Packages => &INTEGRATION_PACKAGE,
            Self::KeystoreEntries => &KEYSTORE_ENTRY,
        }
    }

    fn rows(self, call: &Call<'_>) -> Vec<Row> {
        match self {
            Self::Artifacts | Self::ServiceEndpoints => self.endpoint_rows(call),
            Self::Packages => package_rows(call),
            Self::KeystoreEntries => keystore_rows(call),
        }
    }

    /// An artifact or a service endpoint per endpoint, by endpoint name.
    fn endpoint_rows(self, call: &Call<'_>) -> Vec<Row> {
        let mut endpoints: Vec<_> = call.app.endpoints().iter().collect();
        endpoints.sort_by(|a, b| a.name.cmp(&b.name));
        let deployment = call.app.deployment();
        let version = || Cell::text(&deployment.version);
        let deployed = Cell::date(call.app.started_at());
        endpoints
            .into_iter()
            .map(|e| match self {
                Self::ServiceEndpoints => vec![
                    ("Id", Cell::text(&*e.name)),
                    ("Name", Cell::text(&*e.name)),
                    ("Title", Cell::text(&*e.name)),
                    ("Version", version()),
                    (
                        "Protocol",
                        Cell::text(match e.adapter {
                            Adapter::Soap => "SOAP",
                            Adapter::Https => "REST",
                        }),
                    ),
                    ("Url", Cell::Text(format!("{}{}", call.origin, e.path))),
                    ("LastUpdated", deployed.clone()),
                ],
                _ => vec![
                    ("Id", Cell::text(&*e.name)),
                    ("Version", version()),
                    ("Name", Cell::text(&*e.name)),
                    ("Type", Cell::text(ARTIFACT_TYPE)),
                    ("DeployedBy", Cell::text(&deployment.deployed_by)),
                    ("DeployedOn", deployed.clone()),
                    ("Status", Cell::text("STARTED")),
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
            .ok_or_else(|| {
                ODataError::not_found(format!("{} has no entry '{}'", schema.set, Excerpt(id)))
            })?;
        Ok(shape::row(schema, row, &call.service, select))
    }
}

/// One package per distinct package of the endpoints, by id; its dates are the start, as CPI
/// writes them: epoch milliseconds as text.
fn package_rows(call: &Call<'_>) -> Vec<Row> {
    let mut packages: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for endpoint in call.app.endpoints().iter() {
        packages
            .entry(call.app.package_of(&endpoint.name))
            .or_default()
            .push(&endpoint.name);
    }
    let deployment = call.app.deployment();
    let started = epoch_millis(call.app.started_at()).to_string();
    packages
        .into_iter()
        .map(|(id, mut endpoints)| {
            endpoints.sort_unstable();
            vec![
                ("Id", Cell::text(id)),
                ("Name", Cell::text(id)),
                (
                    "Description",
                    Cell::Text(format!("iflowd endpoints: {}", endpoints.join(", "))),
                ),
                (
                    "ShortText",
                    Cell::Text(format!("{} endpoint(s)", endpoints.len())),
                ),
                ("Version", Cell::text(&deployment.version)),
                ("Vendor", Cell::text("iflowd")),
                ("Mode", Cell::text("READ_ONLY")),
                ("SupportedPlatform", Cell::text("SAP Cloud Integration")),
                ("PartnerContent", Cell::Bool(false)),
                ("UpdateAvailable", Cell::Bool(false)),
                ("CreatedBy", Cell::text(&deployment.deployed_by)),
                ("CreationDate", Cell::text(&started)),
                ("ModifiedBy", Cell::text(&deployment.deployed_by)),
                ("ModifiedDate", Cell::text(&started)),
            ]
        })
        .collect()
}

/// The keystore as read at start-up, in its order.
fn keystore_rows(call: &Call<'_>) -> Vec<Row> {
    call.app
        .keystore()
        .entries()
        .iter()
        .map(|entry| {
            let date = |at: Option<time::OffsetDateTime>| at.map_or(Cell::Null, Cell::date);
            vec![
                ("Hexalias", Cell::Text(hex_alias(&entry.alias))),
                ("Alias", Cell::text(&entry.alias)),
                ("Type", Cell::text(entry.kind.as_str())),
                ("Owner", Cell::text("Tenant")),
                ("KeyType", Cell::optional(entry.key_type.as_deref())),
                (
                    "KeySize",
                    entry.key_size.map_or(Cell::Null, |n| Cell::Int(n.into())),
                ),
                (
                    "SignatureAlgorithm",
                    Cell::optional(entry.signature_algorithm.as_deref()),
                ),
                ("SerialNumber", Cell::optional(entry.serial.as_deref())),
                ("Subject", Cell::optional(entry.subject.as_deref())),
                ("Issuer", Cell::optional(entry.issuer.as_deref())),
                ("ValidNotBefore", date(entry.not_before)),
                ("ValidNotAfter", date(entry.not_after)),
                ("FingerprintSha256", Cell::text(&entry.fingerprint_sha256)),
                ("LastModifiedTime", Cell::date(entry.modified)),
            ]
        })
        .collect()
}
