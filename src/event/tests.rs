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
