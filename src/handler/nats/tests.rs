use bytes::Bytes;

use super::subject::{envelope_msg_id, event_msg_id, render};
use crate::config::SubjectTemplate;
use crate::event::{Envelope, EventTypes};
use crate::message::{Message, MessageContext};

fn message_of(body: &str) -> Message {
    let body = Bytes::from(body.to_owned());
    let envelope = Envelope::recognise(crate::soap::parse(&body).unwrap(), &EventTypes::default());
    Message {
        context: MessageContext::new("ISC Events".into(), "isc".into(), body),
        envelope,
    }
}

fn fixture(name: &str) -> Message {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    message_of(&std::fs::read_to_string(path).unwrap())
}

fn template(text: &str) -> SubjectTemplate {
    SubjectTemplate::try_from(text.to_owned()).unwrap()
}

/// A v2 envelope with one event, `event` being the XML inside `<ns:event>`, and the meta block's
/// `externalEventId` if given.
fn one_event(external_event_id: Option<&str>, event: &str) -> Message {
    let meta = external_event_id
        .map(|id| format!("<ns:externalEventId>{id}</ns:externalEventId>"))
        .unwrap_or_default();
    message_of(&format!(
        r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns:ExternalEvent xmlns:ns="http://notification.event.successfactors.com"><ns:externalEventMeta>{meta}<ns:type>com.successfactors.Employment.AssignmentInformation.Hire</ns:type></ns:externalEventMeta><ns:events><ns:event>{event}</ns:event></ns:events></ns:ExternalEvent></S:Body></S:Envelope>"#
    ))
}

#[test]
fn each_value_becomes_one_safe_token() {
    let message = fixture("hire.xml");
    let event = &message.envelope.events[0];
    let subject = render(
        &template("sf.{endpoint}.{kind}.{type}.{key.userId}.{param.nope}-{sender}"),
        &message,
        Some(event),
    );
    assert_eq!(
        subject,
        "sf.ISC_Events.hire.com_successfactors_Employment_AssignmentInformation_Hire.880012._-isc"
    );

    let message = one_event(
        Some("a b*c>d.e"),
        "<ns:eventId>ev-1</ns:eventId><ns:entityKeys><ns:entityKey><name>userId</name><value>Zoë $1</value></ns:entityKey></ns:entityKeys>",
    );
    let event = &message.envelope.events[0];
    assert_eq!(
        render(
            &template("sf.{externalEventId}.{key.userId}.{entityType}"),
            &message,
            Some(event)
        ),
        "sf.a_b_c_d_e.Zo___1._",
        "wildcards, dots, white space and non-ASCII become '_'; a missing value is '_'"
    );
    assert_eq!(
        render(&template("sf.{endpoint}.{externalEventId}"), &message, None),
        "sf.ISC_Events.a_b_c_d_e",
        "message fields without an event, for envelopes"
    );
}

#[test]
fn the_msg_id_is_the_event_id_else_external_event_id_and_position_else_message_id() {
    let message = fixture("multiple-events.xml");
    let ids: Vec<String> = message
        .envelope
        .events
        .iter()
        .enumerate()
        .map(|(i, event)| event_msg_id(&message, event, i + 1))
        .collect();
    assert_eq!(ids, ["evt-0001", "evt-0002", "evt-0003"]);
    assert_eq!(
        envelope_msg_id(&message),
        "77aa88bb-99cc-4ddd-8eee-ff0011223344"
    );

    let no_event_id = one_event(Some("ext-1"), "<ns:entityType>EmpJob</ns:entityType>");
    let event = &no_event_id.envelope.events[0];
    assert_eq!(event_msg_id(&no_event_id, event, 2), "ext-1:2");

    let neither = one_event(None, "<ns:entityType>EmpJob</ns:entityType>");
    let event = &neither.envelope.events[0];
    let id = neither.context.id.as_str();
    assert_eq!(event_msg_id(&neither, event, 1), format!("{id}:1"));
    assert_eq!(envelope_msg_id(&neither), id);

    // A line break cannot go into a header: the id is passed over.
    let broken = one_event(Some("ext-2"), "<ns:eventId>ev&#10;1</ns:eventId>");
    let event = &broken.envelope.events[0];
    assert_eq!(event_msg_id(&broken, event, 1), "ext-2:1");
}
