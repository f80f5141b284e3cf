//! Keeping an acknowledgement in the log, so a duplicate can be answered with the same one.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::message::{Ack, iso_millis};

/// The acknowledgement as the JSON text the store keeps.
pub fn to_json(ack: &Ack) -> String {
    json!({
        "entityId": ack.entity_id,
        "errorCode": ack.error_code,
        "errorMessage": ack.error_message,
        "status": ack.status,
        "statusDate": iso_millis(ack.status_date),
        "statusDetails": ack.status_details,
    })
    .to_string()
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
        assert_eq!(from_json(&to_json(&ack)), Some(ack));
        assert_eq!(from_json("{}"), None);
    }
}
