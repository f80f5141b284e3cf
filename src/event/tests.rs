use super::json::{EventJson, write_lines};
use super::*;
use crate::soap;

fn envelope(fixture: &str, types: &EventTypes) -> Envelope {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(fixture);
    let body = std::fs::read(path).expect("fixture");
    Envelope::recognise(soap::parse(&body).expect("parses"), types)
}

#[test]
fn change_in_manager_exposes_the_keys_sap_content_reads() {
    let envelope = envelope("change-in-manager.xml", &EventTypes::default());
    let Event::ChangeInManager(event) = &envelope.events[0] else {
        panic!(
            "expected Change in Manager, got {:?}",
            envelope.events[0].kind()
        );
    };
    assert_eq!(event.user_id.as_deref(), Some("103221"));
    assert_eq!(event.person_id_external.as_deref(), Some("103221"));
    assert_eq!(event.seq_number.as_deref(), Some("1"));
    assert_eq!(event.start_date.as_deref(), Some("2026-12-01"));
    assert_eq!(event.effective_start_date.as_deref(), Some("2026-12-01"));
    assert_eq!(event.new_manager_id, None, "no param names a manager");
}

#[test]
fn manager_ids_come_from_params_when_present() {
    let envelope = envelope(
        "change-in-manager-with-managers.xml",
        &EventTypes::default(),
    );
    let Event::ChangeInManager(event) = &envelope.events[0] else {
        panic!("expected Change in Manager");
    };
    assert_eq!(event.new_manager_id.as_deref(), Some("100877"));
    assert_eq!(event.old_manager_id.as_deref(), Some("100412"));
    assert_eq!(event.person_id_external.as_deref(), Some("P-204518"));
}

#[test]
fn hire_rehire_termination_and_other_are_recognised_by_type_string() {
    let types = EventTypes::default();
    let kinds = |name| {
        envelope(name, &types)
            .events
            .iter()
            .map(Event::kind)
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds("hire.xml"), [EventKind::Hire]);
    assert_eq!(kinds("rehire.xml"), [EventKind::Rehire]);
    assert_eq!(kinds("termination.xml"), [EventKind::Termination]);
    assert_eq!(kinds("unknown-type.xml"), [EventKind::Other]);
    assert_eq!(
        kinds("v1-legacy.xml"),
        [EventKind::ChangeInManager],
        "v1 type per event"
    );

    let termination = envelope("termination.xml", &types);
    let Event::Termination(t) = &termination.events[0] else {
        panic!()
    };
    assert_eq!(t.end_date.as_deref(), Some("2021-08-31"));
    assert_eq!(t.user_id.as_deref(), Some("107022"));
}

#[test]
fn configured_type_strings_replace_the_defaults() {
    let custom = vec!["com.example.Custom.ManagerChanged".to_owned()];
    let types = EventTypes::new([
        (EventKind::ChangeInManager, &custom),
        (EventKind::Hire, &[]),
        (EventKind::Rehire, &[]),
        (EventKind::Termination, &[]),
    ]);
    assert_eq!(
        types.kind_of("com.example.Custom.ManagerChanged"),
        EventKind::ChangeInManager
    );
    assert_eq!(
        types.kind_of("com.successfactors.Employment.JobInformation.ManagerChanged"),
        EventKind::Other
    );
    // The record survives the typing untouched, whatever the kind.
    let typed = envelope("change-in-manager.xml", &EventTypes::default());
    let untyped = envelope("change-in-manager.xml", &types);
    assert_eq!(untyped.events[0].kind(), EventKind::Other);
    assert_eq!(typed.events[0].record(), untyped.events[0].record());
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
    let context =
        crate::message::MessageContext::new("ISC".into(), "isc".into(), bytes::Bytes::new());
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
