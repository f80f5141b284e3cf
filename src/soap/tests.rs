//! Parser and writer tests over the fixtures and small hand-written envelopes.

use super::response::{FaultCode, acknowledgement, fault};
use super::*;

pub(super) fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(super) fn parse_ok(body: &[u8]) -> ExternalEventRequest {
    match parse(body) {
        Ok(request) => request,
        Err(failure) => panic!("expected a parse, got: {failure}"),
    }
}

pub(super) fn parse_err(body: &[u8]) -> ParseFailure {
    match parse(body) {
        Ok(request) => panic!("expected an error, parsed: {request:?}"),
        Err(failure) => failure,
    }
}

pub(super) fn pair(name: &str, value: &str) -> Pair {
    Pair {
        name: name.to_owned(),
        value: Some(value.to_owned()),
    }
}

/// A v2 envelope around `events`, with `prefix` bound to the event namespace.
pub(super) fn v2(prefix: &str, events: &str) -> String {
    format!(
        r#"<S:Envelope xmlns:S="{SOAP11_NS}"><S:Body><{prefix}:ExternalEvent xmlns:{prefix}="{EVENT_V2_NS}"><{prefix}:events>{events}</{prefix}:events></{prefix}:ExternalEvent></S:Body></S:Envelope>"#
    )
}

#[test]
fn change_in_manager_fixture_reads_every_field_despite_namespace_noise() {
    let request = parse_ok(&fixture("change-in-manager.xml"));
    assert_eq!(request.version, SoapVersion::V11);
    assert_eq!(request.namespace, EventNamespace::V2);
    let meta = &request.meta;
    assert_eq!(
        meta.external_event_id.as_deref(),
        Some("5e6c2a7d-8f1b-4c39-9d0e-7a4b3c2d1e0f")
    );
    assert_eq!(
        meta.event_type.as_deref(),
        Some("com.successfactors.Employment.JobInformation.ManagerChanged")
    );
    assert_eq!(meta.published_at.as_deref(), Some("1763712000123"));
    assert_eq!(meta.published_by.as_deref(), Some("sfadmin"));
    assert_eq!(meta.effective.as_deref(), Some("current"));
    assert_eq!(meta.repost, Some(false));
    assert!(meta.extra.is_empty());

    assert_eq!(request.events.len(), 1);
    let event = &request.events[0];
    assert_eq!(
        event.event_id.as_deref(),
        Some("b1d0e8f4-3a5c-4e2b-8c7d-9f6e5d4c3b2a")
    );
    assert_eq!(event.entity_type.as_deref(), Some("EmpJob"));
    assert_eq!(event.effective_start_date.as_deref(), Some("2026-12-01"));
    assert_eq!(event.repost, Some(false));
    assert_eq!(
        event.entity_keys,
        vec![
            pair("seqNumber", "1"),
            pair("userId", "103221"),
            pair("startDate", "2026-12-01")
        ]
    );
    assert_eq!(event.params, vec![pair("personIdExternal", "103221")]);
    assert_eq!(event.payload, None);
}

#[test]
fn the_same_event_reads_the_same_whatever_the_prefixes() {
    let event = "<e:event><e:eventId>1</e:eventId><e:entityKeys><e:entityKey><name>userId</name><value>42</value></e:entityKey></e:entityKeys></e:event>";
    let prefixed = parse_ok(v2("e", event).as_bytes());
    let renamed = parse_ok(v2("ns0", &event.replace("e:", "ns0:")).as_bytes());
    let default_ns = format!(
        r#"<soap:Envelope xmlns:soap="{SOAP11_NS}"><soap:Body><ExternalEvent xmlns="{EVENT_V2_NS}"><events><event><eventId>1</eventId><entityKeys><entityKey><name xmlns="">userId</name><value xmlns="">42</value></entityKey></entityKeys></event></events></ExternalEvent></soap:Body></soap:Envelope>"#
    );
    let default_ns = parse_ok(default_ns.as_bytes());
    assert_eq!(prefixed.events, renamed.events);
    assert_eq!(prefixed.events, default_ns.events);
    assert_eq!(prefixed.events[0].key("userId"), Some("42"));
}

#[test]
fn a_wrong_namespace_with_the_right_prefix_is_not_an_external_event() {
    // ns3 is the usual prefix, but here it is bound to something else: prefixes mean nothing.
    let body = format!(
        r#"<S:Envelope xmlns:S="{SOAP11_NS}"><S:Body><ns3:ExternalEvent xmlns:ns3="http://alert.successfactors.com"/></S:Body></S:Envelope>"#
    );
    let failure = parse_err(body.as_bytes());
    assert_eq!(
        failure.error,
        ParseError::NotExternalEvent("{http://alert.successfactors.com}ExternalEvent".into())
    );
    assert_eq!(failure.version, Some(SoapVersion::V11));
}

#[test]
fn qualified_name_and_value_are_accepted_too() {
    let event = "<e:event><e:params><e:param><e:name>personIdExternal</e:name><e:value>P1</e:value></e:param></e:params></e:event>";
    let request = parse_ok(v2("e", event).as_bytes());
    assert_eq!(
        request.events[0].params,
        vec![pair("personIdExternal", "P1")]
    );
}

#[test]
fn zeep_and_node_soap_fixtures_parse() {
    let zeep = parse_ok(&fixture("zeep-ns0.xml"));
    assert_eq!(zeep.events[0].key("userId"), Some("400200"));
    let node = parse_ok(&fixture("node-soap-default-namespace.xml"));
    assert_eq!(node.events[0].key("userId"), Some("300100"));
    assert_eq!(node.events[0].param("personIdExternal"), Some("300100"));
}

#[test]
fn several_events_comments_cdata_and_a_raw_payload() {
    let request = parse_ok(&fixture("multiple-events.xml"));
    let ids: Vec<_> = request
        .events
        .iter()
        .map(|e| e.event_id.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(ids, ["evt-0001", "evt-0002", "evt-0003"]);
    assert_eq!(
        request.events[1].param("personIdExternal"),
        Some("600002"),
        "CDATA value"
    );
    assert_eq!(
        request.events[2].payload.as_deref(),
        Some(
            r#"<detail xmlns="urn:example:payload" reason="REORG">R&amp;D reorganisation</detail>"#
        ),
        "eventPayload is kept as raw XML"
    );
}

#[test]
fn empty_events_and_missing_blocks_are_fine() {
    assert!(parse_ok(&fixture("empty-events.xml")).events.is_empty());
    let bare = format!(
        r#"<S:Envelope xmlns:S="{SOAP11_NS}"><S:Body><e:ExternalEvent xmlns:e="{EVENT_V2_NS}"/></S:Body></S:Envelope>"#
    );
    let request = parse_ok(bare.as_bytes());
    assert!(request.events.is_empty());
    assert_eq!(request.meta, Meta::default());
}

#[test]
fn legacy_v1_fields_are_mapped_or_kept() {
    let request = parse_ok(&fixture("v1-legacy.xml"));
    assert_eq!(request.namespace, EventNamespace::V1);
    let event = &request.events[0];
    assert_eq!(event.entity_type.as_deref(), Some("EmpJob"), "v1 <entity>");
    assert_eq!(
        event.event_type.as_deref(),
        Some("com.successfactors.Employment.JobInformation.ManagerChanged"),
        "v1 carries the type per event"
    );
    assert!(event.extra.contains(&pair("processId", "PRC-7731")));
    assert!(request.meta.extra.contains(&pair("sourceArea", "EC")));
}

#[test]
fn soap_1_2_with_headers_parses_as_1_2() {
    let request = parse_ok(&fixture("soap12.xml"));
    assert_eq!(request.version, SoapVersion::V12);
    assert_eq!(request.events[0].key("userId"), Some("500300"));
}

#[test]
fn unknown_elements_are_kept_not_fatal() {
    let request = parse_ok(&fixture("unknown-type.xml"));
    assert!(
        request
            .meta
            .extra
            .contains(&pair("correlationHint", "not in the contract"))
    );
    assert!(
        request.events[0]
            .extra
            .contains(&pair("vendorExtension", "<x:region>EMEA</x:region>"))
    );
    assert_eq!(request.events[0].key("userId"), Some("700100"));
}

#[test]
fn entities_and_character_references_in_values_are_resolved() {
    let event = "<e:event><e:eventId>a&amp;b &#x41;&#66; &lt;c&gt;</e:eventId></e:event>";
    let request = parse_ok(v2("e", event).as_bytes());
    assert_eq!(request.events[0].event_id.as_deref(), Some("a&b AB <c>"));
}

#[test]
fn values_are_trimmed_and_nil_is_absent() {
    let event = format!(
        r#"<e:event xmlns:xsi="{XSI_NS}"><e:eventId>
            spaced
        </e:eventId><e:entityType xsi:nil="true"/><e:repost>1</e:repost></e:event>"#
    );
    let request = parse_ok(v2("e", &event).as_bytes());
    let parsed = &request.events[0];
    assert_eq!(parsed.event_id.as_deref(), Some("spaced"));
    assert_eq!(parsed.entity_type, None);
    assert_eq!(parsed.repost, Some(true));
}

#[test]
fn line_ends_in_values_read_as_line_feeds() {
    // XML 1.0: `\r\n` and a lone `\r` read as `\n`, also when the whole envelope uses `\r\n`.
    let event = "<e:event>\r\n<e:eventId>one\r\ntwo\rthree</e:eventId>\r\n<e:entityType>EmpJob</e:entityType>\r\n</e:event>";
    let body = v2("e", event).replace("><", ">\r\n<");
    let request = parse_ok(body.as_bytes());
    let parsed = &request.events[0];
    assert_eq!(parsed.event_id.as_deref(), Some("one\ntwo\nthree"));
    assert_eq!(parsed.entity_type.as_deref(), Some("EmpJob"));
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend(fixture("hire.xml"));
    assert_eq!(parse_ok(&body).events.len(), 1);
}

#[test]
fn a_dtd_is_refused_before_any_entity_is_expanded() {
    for name in ["dtd-billion-laughs.xml", "xxe-external-entity.xml"] {
        assert_eq!(parse_err(&fixture(name)).error, ParseError::Dtd, "{name}");
    }
}

#[test]
fn an_undefined_entity_is_an_error_naming_it() {
    let failure = parse_err(&fixture("undefined-entity.xml"));
    assert_eq!(failure.error, ParseError::UndefinedEntity("company".into()));
    assert!(failure.to_string().contains("&company;"));
}

#[test]
fn malformed_xml_is_one_sentence_with_a_position() {
    let failure = parse_err(&fixture("malformed.xml"));
    assert!(
        matches!(failure.error, ParseError::Malformed { .. }),
        "{failure:?}"
    );
    let text = failure.to_string();
    assert!(
        text.starts_with("the request is not well-formed XML (near byte"),
        "{text}"
    );
    assert!(!text.contains('\n'), "one line: {text}");
}

#[test]
fn structural_errors_name_what_was_found() {
    let cases: [(&str, ParseError); 6] = [
        ("", ParseError::Empty),
        ("<a/>", ParseError::NotAnEnvelope("a".into())),
        (
            &format!(r#"<S:Envelope xmlns:S="{SOAP11_NS}"><S:Header/></S:Envelope>"#),
            ParseError::NoBody,
        ),
        (
            &format!(r#"<S:Envelope xmlns:S="{SOAP11_NS}"><S:Body/></S:Envelope>"#),
            ParseError::EmptyBody,
        ),
        (
            &format!(
                r#"<S:Envelope xmlns:S="{SOAP11_NS}"><S:Body><x:Foo xmlns:x="urn:x"/></S:Body></S:Envelope>"#
            ),
            ParseError::NotExternalEvent("{urn:x}Foo".into()),
        ),
        (
            &format!(
                r#"<S:Envelope xmlns:S="{SOAP11_NS}"><S:Body><e:ExternalEvent xmlns:e="{EVENT_V2_NS}">"#
            ),
            ParseError::Truncated,
        ),
    ];
    for (body, expected) in cases {
        let failure = parse_err(body.as_bytes());
        // quick-xml may notice a truncated document itself; both are a clear refusal.
        if expected == ParseError::Truncated
            && matches!(failure.error, ParseError::Malformed { .. })
        {
            continue;
        }
        assert_eq!(failure.error, expected, "{body}");
    }
}

#[test]
fn undeclared_prefixes_and_non_utf8_are_refused() {
    assert_eq!(
        parse_err(b"<S:Envelope/>").error,
        ParseError::UndeclaredPrefix("S".into())
    );
    assert_eq!(
        parse_err(b"<a>\xff</a>").error,
        ParseError::NotDecodable {
            encoding: "UTF-8",
            origin: EncodingSource::Default
        }
    );
}

#[test]
fn content_after_the_envelope_is_refused() {
    let mut body = fixture("hire.xml");
    body.extend_from_slice(b"<extra/>");
    assert_eq!(parse_err(&body).error, ParseError::TrailingContent);
}

#[test]
fn nesting_is_bounded_even_inside_skipped_elements() {
    let deep = "<x>".repeat(200) + &"</x>".repeat(200);
    let body = v2(
        "e",
        &format!("<e:event><e:eventPayload>{deep}</e:eventPayload></e:event>"),
    );
    assert!(matches!(
        parse_err(body.as_bytes()).error,
        ParseError::TooDeep { .. }
    ));
}

#[test]
fn content_types_map_to_versions() {
    assert_eq!(
        SoapVersion::from_content_type("text/xml; charset=utf-8"),
        Some(SoapVersion::V11)
    );
    assert_eq!(
        SoapVersion::from_content_type("application/xml"),
        Some(SoapVersion::V11)
    );
    assert_eq!(
        SoapVersion::from_content_type("application/soap+xml; charset=utf-8; action=\"\""),
        Some(SoapVersion::V12)
    );
    assert_eq!(
        SoapVersion::from_content_type("TEXT/XML"),
        Some(SoapVersion::V11)
    );
    assert_eq!(SoapVersion::from_content_type("application/json"), None);
    assert_eq!(SoapVersion::from_content_type(""), None);
}

#[test]
fn an_acknowledgement_parses_back_and_is_in_the_request_namespace() {
    let ack = Ack {
        entity_id: Some("E<1>".into()),
        error_code: None,
        error_message: None,
        status: 200,
        status_date: time::macros::datetime!(2026-11-21 07:28:25.123 UTC),
        status_details: Some("accepted 1 event; message id AGx".into()),
    };
    let xml = acknowledgement(SoapVersion::V11, EventNamespace::V1, &ack);
    assert!(
        xml.contains(r#"xmlns:ns="com.successfactors.event.notification""#),
        "{xml}"
    );
    assert!(
        xml.contains("<ns:entityId>E&lt;1&gt;</ns:entityId>"),
        "{xml}"
    );
    assert!(
        xml.contains(
            "<ns:status>200</ns:status><ns:statusDate>2026-11-21T07:28:25.123Z</ns:statusDate>"
        ),
        "{xml}"
    );
    assert!(
        !xml.contains("errorCode"),
        "absent fields are left out: {xml}"
    );
    // Well-formed: quick-xml reads it to the end without error.
    let mut reader = quick_xml::Reader::from_str(&xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("acknowledgement is not well-formed: {e}"),
        }
    }
}

#[test]
fn faults_use_each_versions_codes_and_statuses() {
    let v11 = fault(SoapVersion::V11, FaultCode::Client, "bad <thing>");
    assert!(
        v11.contains(
            "<faultcode>soap:Client</faultcode><faultstring>bad &lt;thing&gt;</faultstring>"
        ),
        "{v11}"
    );
    assert_eq!(FaultCode::Client.http_status(SoapVersion::V11), 500);
    let v12 = fault(SoapVersion::V12, FaultCode::Server, "boom");
    assert!(
        v12.contains(SOAP12_NS) && v12.contains("<soap:Value>soap:Receiver</soap:Value>"),
        "{v12}"
    );
    assert_eq!(FaultCode::Client.http_status(SoapVersion::V12), 400);
    assert_eq!(FaultCode::Server.http_status(SoapVersion::V12), 500);
}

#[test]
fn the_wsdl_points_at_the_url_it_was_fetched_from() {
    let doc = wsdl::document("https://isc.example.com/cxf/isc/events?x=1&y=2");
    assert!(doc.contains(
        r#"<soap:address location="https://isc.example.com/cxf/isc/events?x=1&amp;y=2"/>"#
    ));
    assert!(doc.contains(
        r#"<soap12:address location="https://isc.example.com/cxf/isc/events?x=1&amp;y=2"/>"#
    ));
    assert!(!doc.contains("IFLOWD_ENDPOINT_URL"));
    assert!(doc.contains(r#"<wsdl:service name="NotifyImplService">"#));
}
