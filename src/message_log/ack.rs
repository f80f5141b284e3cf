//! Keeping an acknowledgement in the log, so a duplicate can be answered with the same one.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::message::Ack;

/// The JSON shape of a kept acknowledgement. Written borrowing from the [`Ack`], straight to
/// text (this runs for every completed message); `statusDate` in RFC 3339.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredAck<'a> {
    entity_id: Option<Cow<'a, str>>,
    error_code: Option<Cow<'a, str>>,
    error_message: Option<Cow<'a, str>>,
    status: i32,
    #[serde(with = "time::serde::rfc3339")]
    status_date: OffsetDateTime,
    status_details: Option<Cow<'a, str>>,
}

/// The acknowledgement as the JSON text the store keeps.
pub fn to_json(ack: &Ack) -> String {
    let stored = StoredAck {
        entity_id: borrowed(&ack.entity_id),
        error_code: borrowed(&ack.error_code),
        error_message: borrowed(&ack.error_message),
        status: ack.status,
        status_date: ack.status_date,
        status_details: borrowed(&ack.status_details),
    };
    // Only a date outside RFC 3339's years 0000-9999 (never a clock's) fails; its empty text
    // reads back as no acknowledgement, and the duplicate gets the default one.
    serde_json::to_string(&stored).unwrap_or_default()
}

fn borrowed(text: &Option<String>) -> Option<Cow<'_, str>> {
    text.as_deref().map(Cow::Borrowed)
}

/// Reads back what [`to_json`] wrote; `None` if it is not that shape.
pub fn from_json(text: &str) -> Option<Ack> {
    let stored: StoredAck<'_> = serde_json::from_str(text).ok()?;
    let owned = |text: Option<Cow<'_, str>>| text.map(Cow::into_owned);
    Some(Ack {
        entity_id: owned(stored.entity_id),
        error_code: owned(stored.error_code),
        error_message: owned(stored.error_message),
        status: stored.status,
        status_date: stored.status_date,
        status_details: owned(stored.status_details),
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
