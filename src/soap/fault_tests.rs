//! SOAP's own faults: `VersionMismatch` for an Envelope of no known version, `MustUnderstand`
//! for a header block iflowd cannot obey, each as SOAP stacks read them.

use super::answer::{Answer, read_answer};
use super::response::{FaultCode, rejection};
use super::tests::{fixture, parse_err, parse_ok};
use super::*;

fn with_policy(
    body: &[u8],
    must_understand: MustUnderstand,
) -> Result<ExternalEventRequest, ParseFailure> {
    parse_with(
        body,
        ReadOptions {
            must_understand,
            ..ReadOptions::default()
        },
    )
}

/// A SOAP `version` envelope around an empty `ExternalEvent`, with `header` blocks.
fn with_header(version: SoapVersion, header: &str) -> String {
    format!(
        r#"<S:Envelope xmlns:S="{}"><S:Header>{header}</S:Header><S:Body><e:ExternalEvent xmlns:e="{EVENT_V2_NS}"/></S:Body></S:Envelope>"#,
        version.envelope_ns()
    )
}

#[test]
fn an_envelope_in_another_namespace_or_none_is_a_version_mismatch() {
    let failure = parse_err(&fixture("version-mismatch.xml"));
    assert_eq!(
        failure.error,
        ParseError::VersionMismatch(Some("http://schemas.xmlsoap.org/soap/envelope".into()))
    );
    assert_eq!(
        failure.version, None,
        "answered in the version the Content-Type announced"
    );
    assert_eq!(failure.error.fault_code(), FaultCode::VersionMismatch);
    let text = failure.to_string();
    assert!(
        text.contains("in namespace http://schemas.xmlsoap.org/soap/envelope;"),
        "{text}"
    );
    assert!(
        text.contains(SOAP11_NS) && text.contains(SOAP12_NS),
        "{text}"
    );

    let unqualified = parse_err(b"<Envelope><Body/></Envelope>");
    assert_eq!(unqualified.error, ParseError::VersionMismatch(None));
    assert!(unqualified.to_string().contains("in no namespace"));
    // Another root is not an envelope at all: a plain Client fault.
    let other = parse_err(b"<Invoice xmlns=\"urn:x\"/>");
    assert_eq!(
        other.error,
        ParseError::NotAnEnvelope("{urn:x}Invoice".into())
    );
    assert_eq!(other.error.fault_code(), FaultCode::Client);
    // Not well-formed further on: that is what is reported.
    assert!(matches!(
        parse_err(b"<Envelope><Body></Envelope>").error,
        ParseError::Malformed { .. }
    ));
}

#[test]
fn version_mismatch_faults_carry_soaps_code_and_the_supported_envelopes() {
    let error = ParseError::VersionMismatch(None);
    let v11 = rejection(SoapVersion::V11, &error);
    assert_eq!(
        read_answer(&v11).unwrap(),
        Some(Answer::Fault {
            code: "soap:VersionMismatch".into(),
            reason: error.to_string()
        })
    );
    let v12 = rejection(SoapVersion::V12, &error);
    assert!(
        v12.contains(&format!(
            r#"<soap:Header><soap:Upgrade><soap:SupportedEnvelope qname="v12:Envelope" xmlns:v12="{SOAP12_NS}"/><soap:SupportedEnvelope qname="v11:Envelope" xmlns:v11="{SOAP11_NS}"/></soap:Upgrade></soap:Header>"#
        )),
        "{v12}"
    );
    let Some(Answer::Fault { code, .. }) = read_answer(&v12).unwrap() else {
        panic!("{v12}");
    };
    assert_eq!(code, "soap:VersionMismatch");
    for version in [SoapVersion::V11, SoapVersion::V12] {
        assert_eq!(FaultCode::VersionMismatch.http_status(version), 500);
        assert_eq!(FaultCode::MustUnderstand.http_status(version), 500);
    }
}

#[test]
fn a_soap_1_1_header_marked_must_understand_is_refused_unless_ignored() {
    let failure = parse_err(&fixture("must-understand-11.xml"));
    let wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
    assert_eq!(
        failure.error,
        ParseError::MustUnderstand {
            namespace: Some(wsse.into()),
            local: "Security".into()
        }
    );
    assert_eq!(failure.version, Some(SoapVersion::V11));
    assert_eq!(failure.error.fault_code(), FaultCode::MustUnderstand);
    assert!(
        failure.to_string().contains(&format!("{{{wsse}}}Security")),
        "{failure}"
    );
    let ignored = with_policy(&fixture("must-understand-11.xml"), MustUnderstand::Ignore).unwrap();
    assert_eq!(ignored.events.len(), 1);

    let must = |header: &str| {
        with_policy(
            with_header(SoapVersion::V11, header).as_bytes(),
            MustUnderstand::Fault,
        )
    };
    assert!(must(r#"<h:A xmlns:h="urn:h" S:mustUnderstand="1"/>"#).is_err());
    assert!(must(r#"<h:A xmlns:h="urn:h" S:mustUnderstand="true"/>"#).is_err());
    assert!(must(r#"<h:A xmlns:h="urn:h" S:actor="http://schemas.xmlsoap.org/soap/actor/next" S:mustUnderstand="1"/>"#).is_err());
    // Not mandatory, meant for another node, or not SOAP's attribute: skipped as before.
    assert!(must(r#"<h:A xmlns:h="urn:h" S:mustUnderstand="0"/>"#).is_ok());
    assert!(
        must(r#"<h:A xmlns:h="urn:h" S:actor="urn:somebody-else" S:mustUnderstand="1"/>"#).is_ok()
    );
    assert!(must(r#"<h:A xmlns:h="urn:h" mustUnderstand="1"/>"#).is_ok());
    assert!(must(r#"<h:A xmlns:h="urn:h" xmlns:x="urn:x" x:mustUnderstand="1"/>"#).is_ok());
    // Nested content of a header block is not a header block.
    assert!(must(r#"<h:A xmlns:h="urn:h"><h:B S:mustUnderstand="1"/></h:A>"#).is_ok());
    // A prefix declared on the block itself counts.
    assert!(
        must(&format!(
            r#"<h:A xmlns:h="urn:h" xmlns:soap="{SOAP11_NS}" soap:mustUnderstand="1"/>"#
        ))
        .is_err()
    );
}

#[test]
fn a_soap_1_2_header_block_for_this_node_marked_must_understand_is_refused() {
    let failure = parse_err(&fixture("must-understand-12.xml"));
    assert_eq!(
        failure.error,
        ParseError::MustUnderstand {
            namespace: Some("http://www.w3.org/2005/08/addressing".into()),
            local: "Action".into()
        }
    );
    assert_eq!(failure.version, Some(SoapVersion::V12));
    let xml = rejection(SoapVersion::V12, &failure.error);
    assert!(
        xml.contains(r#"<soap:Header><soap:NotUnderstood qname="h:Action" xmlns:h="http://www.w3.org/2005/08/addressing"/></soap:Header>"#),
        "{xml}"
    );
    let Some(Answer::Fault { code, .. }) = read_answer(&xml).unwrap() else {
        panic!("{xml}");
    };
    assert_eq!(code, "soap:MustUnderstand");

    let must = |header: &str| {
        with_policy(
            with_header(SoapVersion::V12, header).as_bytes(),
            MustUnderstand::Fault,
        )
    };
    for role in [
        "",
        r#" S:role="http://www.w3.org/2003/05/soap-envelope/role/next""#,
        r#" S:role="http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver""#,
    ] {
        assert!(
            must(&format!(
                r#"<h:A xmlns:h="urn:h"{role} S:mustUnderstand="true"/>"#
            ))
            .is_err(),
            "{role}"
        );
        assert!(
            must(&format!(
                r#"<h:A xmlns:h="urn:h"{role} S:mustUnderstand="1"/>"#
            ))
            .is_err(),
            "{role}"
        );
    }
    assert!(must(r#"<h:A xmlns:h="urn:h" S:mustUnderstand="false"/>"#).is_ok());
    assert!(must(r#"<h:A xmlns:h="urn:h" S:role="http://www.w3.org/2003/05/soap-envelope/role/none" S:mustUnderstand="true"/>"#).is_ok());
    assert!(
        must(r#"<h:A xmlns:h="urn:h" S:role="urn:a-gateway" S:mustUnderstand="true"/>"#).is_ok()
    );
    // SOAP 1.1's attribute in a SOAP 1.2 envelope is not SOAP 1.2's.
    assert!(
        must(&format!(
            r#"<h:A xmlns:h="urn:h" xmlns:o="{SOAP11_NS}" o:mustUnderstand="1"/>"#
        ))
        .is_ok()
    );
    // The fixtures that set the flag to false parse as before.
    assert_eq!(parse_ok(&fixture("soap12.xml")).version, SoapVersion::V12);
}

#[test]
fn a_header_marked_must_understand_in_a_body_that_is_not_xml_is_malformed_xml() {
    let mut body = fixture("must-understand-11.xml");
    let at = body.windows(6).position(|w| w == b"</S:Bo").unwrap();
    body.insert(at, b'<');
    assert!(matches!(
        parse_err(&body).error,
        ParseError::Malformed { .. }
    ));
}
