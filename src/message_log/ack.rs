//! Keeping an acknowledgement in the log, so a duplicate can be answered with the same one.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::message::{Ack, iso_millis};

/// The JSON shape of a kept acknowledgement, borrowed from the [`Ack`]: written straight to
/// text, without building a `serde_json::Value` first (this runs for every completed message).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kept<'a> {
    entity_id: Option<&'a str>,
    error_code: Option<&'a str>,
    error_message: Option<&'a str>,
    status: i32,
    status_date: String,
    status_details: Option<&'a str>,
}

/// The acknowledgement as the JSON text the store keeps.
pub fn to_json(ack: &Ack) -> String {
    let kept = Kept {
        entity_id: ack.entity_id.as_deref(),
        error_code: ack.error_code.as_deref(),
        error_message: ack.error_message.as_deref(),
        status: ack.status,
        status_date: iso_millis(ack.status_date),
        status_details: ack.status_details.as_deref(),
    };
    // Serialising a struct of strings and numbers to a String cannot fail.
    serde_json::to_string(&kept).unwrap_or_default()
}

/// Reads back what [`to_json`] wrote; `None` if it is not that shape.
pub fn from_json(text: &str) -> Option<Ack> {
    let value: Value = serde_json::from_str(text).ok()?;
    let text_of = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    Some(Ack {
        entity_id: text_of("entityId"),
        error_code: text_of("errorCode"),
        error_message: text_of("errorMessage"),
        status: i32::try_from(value.get("status")?.as_i64()?).ok()?,
        status_date: OffsetDateTime::parse(value.get("statusDate")?.as_str()?, &Rfc3339).ok()?,
        status_details: text_of("statusDetails"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acknowledgement_survives_the_round_trip() {
        let ack = Ack {
            entity_id: Some("E-1".into()),
            error_code: None,
            error_message: None,
            status: 201,
            status_date: time::macros::datetime!(2026-11-21 07:39:03.399 UTC),
            status_details: Some("accepted 1 event; message id AG1".into()),
        };
        assert_eq!(from_json(&to_json(&ack)), Some(ack.clone()));
        assert_eq!(from_json("{}"), None);
        assert_eq!(
            to_json(&ack),
            r#"{"entityId":"E-1","errorCode":null,"errorMessage":null,"status":201,"statusDate":"2026-11-21T07:39:03.399Z","statusDetails":"accepted 1 event; message id AG1"}"#,
            "the same text the earlier json! encoding wrote"
        );
    }
}
