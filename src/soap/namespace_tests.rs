//! Namespace handling: rebinding, scopes, the bound on bindings, reserved prefixes, and parses
//! that leave nothing to the next.

use super::tests::{pair, parse_err, parse_ok, v2};
use super::*;

#[test]
fn a_prefix_or_default_namespace_rebound_below_is_resolved_afresh() {
    // The cursor remembers resolved prefixes; every (re)declaration and the end of its scope
    // must be seen.
    let events = format!(
        r#"<e:event><e:eventId>one</e:eventId></e:event>
        <e:event xmlns:e="urn:other"><e:eventId>not an event</e:eventId></e:event>
        <e:event><eventId xmlns="urn:other">kept aside</eventId><eventId>three</eventId></e:event>
        <event xmlns="{EVENT_V2_NS}"><eventId>four</eventId></event>
        <event><eventId>five</eventId></event>
        <e:event><e:eventId>six</e:eventId></e:event>"#
    );
    let request = parse_ok(v2("e", &events).as_bytes());
    let ids: Vec<_> = request
        .events
        .iter()
        .map(|e| e.event_id.as_deref().unwrap_or("-"))
        .collect();
    assert_eq!(ids, ["one", "three", "four", "five", "six"]);
    assert_eq!(request.events[1].extra, [pair("eventId", "kept aside")]);
}

#[test]
fn namespace_declarations_are_bounded_and_checked() {
    // More bindings in scope than the cursor allows (256): refused with a position.
    let many: String = (0..300)
        .map(|i| format!(r#" xmlns:p{i}="urn:p{i}""#))
        .collect();
    let body = v2("e", &format!("<e:event{many}/>"));
    let failure = parse_err(body.as_bytes());
    let ParseError::Malformed { position, .. } = failure.error else {
        panic!("{failure:?}");
    };
    // Within the start tag that declares too many.
    let tag = body.find("<e:event").unwrap();
    let tag_end = tag + body[tag..].find("/>").unwrap();
    assert!(
        (tag as u64..tag_end as u64).contains(&position),
        "{position} not in {tag}..{tag_end}"
    );
    let text = failure.to_string();
    assert!(text.contains("256"), "{text}");
    // Bindings end with their element: 200 in each of three siblings are fine.
    let some: String = (0..200)
        .map(|i| format!(r#" xmlns:p{i}="urn:p{i}""#))
        .collect();
    let siblings = format!("<e:event{some}/>").repeat(3);
    assert_eq!(parse_ok(v2("e", &siblings).as_bytes()).events.len(), 3);
    // The reserved prefixes: `xml` bound to another namespace, `xmlns` bound at all.
    for declaration in [r#"xmlns:xml="urn:not-xml""#, r#"xmlns:xmlns="urn:x""#] {
        let body = v2("e", &format!("<e:event {declaration}/>"));
        let failure = parse_err(body.as_bytes());
        assert!(
            matches!(failure.error, ParseError::Malformed { .. }),
            "{declaration}: {failure:?}"
        );
    }
}

#[test]
fn a_parse_that_fails_inside_a_declaring_element_leaves_nothing_to_the_next() {
    // A binding left open by a failed parse must not resolve in the next one.
    let failed = v2(
        "e",
        r#"<e:event xmlns:p="urn:p"><p:x>&bogus;</p:x></e:event>"#,
    );
    assert_eq!(
        parse_err(failed.as_bytes()).error,
        ParseError::UndefinedEntity("bogus".into())
    );
    // A root that declares nothing: the failed parse's binding must not reach the next parse.
    assert_eq!(
        parse_err(b"<p:Envelope/>").error,
        ParseError::UndeclaredPrefix("p".into())
    );
}
