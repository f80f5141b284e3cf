//! `iflowd parse FILE`: what iflowd makes of an envelope, for someone debugging a payload.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::app::App;
use crate::config::{self, Env};
use crate::event::{Envelope, EventTypes};
use crate::message::json::EventJson;
use crate::soap::{self, EventNamespace, SoapVersion};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Parsed<'a> {
    soap_version: SoapVersion,
    namespace: EventNamespace,
    external_event_id: Option<&'a str>,
    #[serde(rename = "type")]
    event_type: Option<&'a str>,
    events: Vec<EventJson<'a>>,
}

pub fn run(file: &Path, config: Option<&Path>) -> anyhow::Result<()> {
    let body = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let types = match config {
        Some(path) => event_types(path)?,
        None => EventTypes::default(),
    };
    let request =
        soap::parse(&body).map_err(|failure| anyhow::anyhow!("{}: {failure}", file.display()))?;
    let envelope = Envelope::recognise(request, &types);
    let parsed = Parsed {
        soap_version: envelope.soap_version,
        namespace: envelope.request_namespace,
        external_event_id: envelope.meta.external_event_id.as_deref(),
        event_type: envelope.meta.event_type.as_deref(),
        events: envelope
            .events
            .iter()
            .map(|e| EventJson::new(None, &envelope, e))
            .collect(),
    };
    println!("{}", serde_json::to_string_pretty(&parsed)?);
    Ok(())
}

fn event_types(path: &Path) -> anyhow::Result<EventTypes> {
    let loaded = config::load(Some(path), &Env::default())?;
    Ok(App::event_types_of(&loaded.config))
}
