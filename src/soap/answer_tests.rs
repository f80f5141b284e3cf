//! `read_answer` on what iflowd writes and on what another server might.

use time::OffsetDateTime;

use super::answer::{AckPayload, Answer, read_answer};
use super::response::{FaultCode, acknowledgement, fault};
use super::{Ack, EventNamespace, ParseError, SoapVersion};

fn ack(error_code: Option<&str>) -> Ack {
    Ack {
        entity_id: None,
        error_code: error_code.map(str::to_owned),
        error_message: error_code.map(|_| "it broke".to_owned()),
        status: 200,
        status_date: OffsetDateTime::UNIX_EPOCH,
        status_details: Some("accepted 1 event; a < b".to_owned()),
    }
}

#[test]
fn our_acknowledgements_read_back_in_both_versions_and_namespaces() {
    for version in [SoapVersion::V11, SoapVersion::V12] {
        for namespace in [EventNamespace::V2, EventNamespace::V1] {
            let xml = acknowledgement(version, namespace, &ack(None));
            let answer = read_answer(&xml).unwrap().expect("an answer");
            let Answer::Acknowledgement(payload) = &answer else {
                panic!("{answer:?}");
            };
            assert_eq!(payload.status.as_deref(), Some("200"));
            assert_eq!(
                payload.status_details.as_deref(),
                Some("accepted 1 event; a < b")
            );
            assert!(payload.status_date.is_some());
            assert!(answer.is_success());
        }
    }
    let failed = read_answer(&acknowledgement(
        SoapVersion::V11,
        EventNamespace::V2,
        &ack(Some("500")),
    ))
    .unwrap()
    .unwrap();
    assert!(!failed.is_success(), "an errorCode is not a success");
}

#[test]
fn faults_read_back_with_code_and_reason() {
    let v11 = read_answer(&fault(SoapVersion::V11, FaultCode::Client, "bad & wrong"))
        .unwrap()
        .unwrap();
    assert_eq!(
        v11,
        Answer::Fault {
            code: "soap:Client".to_owned(),
            reason: "bad & wrong".to_owned()
        }
    );
    let v12 = read_answer(&fault(SoapVersion::V12, FaultCode::Server, "down"))
        .unwrap()
        .unwrap();
    let Answer::Fault { code, reason } = v12 else {
        panic!()
    };
    assert!(code.ends_with("Receiver"), "{code}");
    assert_eq!(reason, "down");
}

#[test]
fn other_servers_answers_are_read_by_local_name_and_bad_ones_refused() {
    let cpi = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header/><soap:Body>
        <ExternalEventResponse xmlns="http://notification.event.successfactors.com"><responsePayload>
        <entityId>42</entityId><status>0</status></responsePayload></ExternalEventResponse></soap:Body></soap:Envelope>"#;
    assert_eq!(
        read_answer(cpi).unwrap(),
        Some(Answer::Acknowledgement(AckPayload {
            entity_id: Some("42".to_owned()),
            status: Some("0".to_owned()),
            ..AckPayload::default()
        }))
    );
    let empty =
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>"#;
    assert_eq!(read_answer(empty).unwrap(), None);
    assert!(matches!(
        read_answer("<html><body>502</body></html>"),
        Err(ParseError::NotAnEnvelope(_))
    ));
    let dtd = r#"<!DOCTYPE x [<!ENTITY a "b">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>"#;
    assert!(matches!(read_answer(dtd), Err(ParseError::Dtd)));
}
