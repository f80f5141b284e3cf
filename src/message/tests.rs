//! The event JSON (its shape, the message context on each line, repeated names) and message ids.

use super::json::{EventJson, write_lines};
use super::{MessageContext, MessageId};
use crate::event::{Envelope, Event, EventTypes};
use crate::soap::{self, EventRecord, Meta, Pair};

fn envelope(fixture: &str, types: &EventTypes) -> Envelope {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(fixture);
    let body = std::fs::read(path).expect("fixture");
    Envelope::recognise(soap::parse(&body).expect("parses"), types)
}

#[test]
fn the_json_shape_is_stable_and_complete() {
    let envelope = envelope(
        "change-in-manager-with-managers.xml",
        &EventTypes::default(),
    );
    let json = serde_json::to_value(EventJson::new(None, &envelope, &envelope.events[0])).unwrap();
    let expected = serde_json::json!({
        "namespace": "v2",
        "externalEventId": "0f3e9c1a-6b2d-4d8e-a1f0-2c3b4a5d6e7f",
        "type": "com.successfactors.Employment.AssignmentInformation.ManagerChanged",
        "kind": "change_in_manager",
        "eventId": "7c6b5a49-3827-4615-9504-f3e2d1c0b9a8",
        "entityType": "EmpJob",
        "effectiveStartDate": "2027-01-01",
        "publishedAt": "1763798400000",
        "publishedBy": "hr_partner_7",
        "effective": "future",
        "repost": true,
        "data": {
            "userId": "204518",
            "personIdExternal": "P-204518",
            "seqNumber": "2",
            "startDate": "2027-01-01",
            "effectiveStartDate": "2027-01-01",
            "newManagerId": "100877",
            "oldManagerId": "100412"
        },
        "keys": {"seqNumber": "2", "userId": "204518", "startDate": "2027-01-01"},
        "params": {"personIdExternal": "P-204518", "managerId": "100877", "oldManagerId": "100412"},
        "payload": null,
        "extra": {},
        "metaExtra": {}
    });
    assert_eq!(json, expected);
}

#[test]
fn json_lines_carry_the_message_context_and_other_events_have_null_data() {
    let envelope = envelope("unknown-type.xml", &EventTypes::default());
    let context = MessageContext::new("ISC".into(), "isc".into(), bytes::Bytes::new());
    let mut out = Vec::new();
    write_lines(&mut out, Some(&context), &envelope);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 1);
    let line: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(line["messageId"], context.id.as_str());
    assert_eq!(line["endpoint"], "ISC");
    assert_eq!(line["sender"], "isc");
    assert_eq!(line["receivedAt"], context.received_at_text.as_str());
    assert_eq!(line["kind"], "other");
    assert_eq!(line["data"], serde_json::Value::Null);
    assert_eq!(
        line["extra"]["vendorExtension"],
        "<x:region>EMEA</x:region>"
    );
}

#[test]
fn a_repeated_key_name_keeps_its_first_value_in_json() {
    let record = EventRecord {
        entity_keys: vec![
            Pair {
                name: "userId".into(),
                value: Some("first".into()),
            },
            Pair {
                name: "userId".into(),
                value: Some("second".into()),
            },
        ],
        ..EventRecord::default()
    };
    let envelope = Envelope {
        request_namespace: soap::EventNamespace::V2,
        soap_version: soap::SoapVersion::V11,
        meta: Meta::default(),
        events: vec![Event::Other(record)],
    };
    let json = serde_json::to_value(EventJson::new(None, &envelope, &envelope.events[0])).unwrap();
    assert_eq!(json["keys"], serde_json::json!({"userId": "first"}));
}

#[test]
fn a_message_id_reads_back_and_nothing_else_passes_for_one() {
    let id = MessageId::new();
    assert_eq!(MessageId::parse(id.as_str()), Some(id));
    for other in [
        "",
        "AG",
        "ok",
        "XGAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "AGAAAAAAAAAAAAAAAAAAAAAAAA+A",
    ] {
        assert_eq!(MessageId::parse(other), None, "{other}");
    }
}
