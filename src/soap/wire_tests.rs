//! Bytes as other SOAP stacks send them: encodings, characters XML forbids, malformed elements.

use super::tests::{fixture, pair, parse_err, parse_ok, v2};
use super::*;

/// `text` encoded by `encoding_rs`, as a sender in that encoding writes it.
fn encoded(text: &str, encoding: &'static encoding_rs::Encoding) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding.encode(text);
    assert!(!unmappable, "{text} fits {}", encoding.name());
    bytes.into_owned()
}

fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    text.encode_utf16()
        .flat_map(|unit| {
            if little_endian {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            }
        })
        .collect()
}

fn with_charset(body: &[u8], charset: &str) -> Result<ExternalEventRequest, ParseFailure> {
    parse_with(
        body,
        ReadOptions {
            charset: Some(charset),
            ..ReadOptions::default()
        },
    )
}

/// An envelope whose one event has the user id `user`, optionally with an XML declaration.
fn envelope(declaration: Option<&str>, user: &str) -> String {
    let body = v2(
        "e",
        &format!(
            "<e:event><e:entityKeys><e:entityKey><name>userId</name><value>{user}</value></e:entityKey></e:entityKeys></e:event>"
        ),
    );
    match declaration {
        Some(encoding) => format!(r#"<?xml version="1.0" encoding="{encoding}"?>{body}"#),
        None => body,
    }
}

fn user_of(request: &ExternalEventRequest) -> Option<&str> {
    request.events[0].key("userId")
}

#[test]
fn utf16_with_a_byte_order_mark_reads_in_either_byte_order() {
    for (name, little_endian) in [("utf16le-bom.xml", true), ("utf16be-bom.xml", false)] {
        let body = fixture(name);
        let bom: &[u8] = if little_endian {
            b"\xFF\xFE"
        } else {
            b"\xFE\xFF"
        };
        assert!(body.starts_with(bom), "{name}");
        let request = parse_ok(&body);
        let event = &request.events[0];
        assert_eq!(event.key("userId"), Some("jürgen.müller"), "{name}");
        assert_eq!(
            event.param("lastName"),
            Some("Müller-Lüdenscheidt"),
            "{name}"
        );
        assert_eq!(event.param("city"), Some("Zürich"), "{name}");
        // The transport's charset does not override a byte order mark.
        let request = with_charset(&body, "ISO-8859-1").unwrap();
        assert_eq!(user_of(&request), Some("jürgen.müller"), "{name}");
    }
}

#[test]
fn utf16_without_a_byte_order_mark_is_told_by_its_first_character() {
    let text = envelope(Some("UTF-16"), "zoë");
    for little_endian in [true, false] {
        let request = parse_ok(&utf16(&text, little_endian));
        assert_eq!(user_of(&request), Some("zoë"));
        let request = with_charset(&utf16(&text, little_endian), "utf-16").unwrap();
        assert_eq!(user_of(&request), Some("zoë"));
    }
}

#[test]
fn latin1_declared_in_the_xml_declaration_as_soap_lite_sends_it() {
    let body = fixture("iso-8859-1-soap-lite.xml");
    assert!(
        std::str::from_utf8(&body).is_err(),
        "the fixture is Latin-1"
    );
    let request = parse_ok(&body);
    let event = &request.events[0];
    assert_eq!(event.key("userId"), Some("jürgen.müller"));
    assert_eq!(event.param("lastName"), Some("Müller"));
    assert_eq!(event.param("street"), Some("Große Straße 5"));
    // The same with the charset SOAP::Lite puts in its Content-Type.
    let request = with_charset(&body, "iso-8859-1").unwrap();
    assert_eq!(request.events[0].param("street"), Some("Große Straße 5"));
}

#[test]
fn windows_1252_reads_the_euro_sign_and_curly_quotes() {
    let request = parse_ok(&fixture("windows-1252-euro.xml"));
    let event = &request.events[0];
    assert_eq!(event.param("bonus"), Some("€ 1.500"));
    assert_eq!(event.param("lastName"), Some("“Ørsted”"));
    assert_eq!(event.key("userId"), Some("zoë.brontë"));
    // ISO-8859-1 is read as windows-1252, as browsers do: 0x80 is the euro sign.
    let latin1 = encoded(
        &envelope(Some("ISO-8859-1"), "€"),
        encoding_rs::WINDOWS_1252,
    );
    assert_eq!(user_of(&parse_ok(&latin1)), Some("€"));
}

#[test]
fn the_content_type_charset_is_read_when_the_body_declares_nothing() {
    let body = encoded(&envelope(None, "müller"), encoding_rs::WINDOWS_1252);
    assert_eq!(
        parse_err(&body).error,
        ParseError::NotDecodable {
            encoding: "UTF-8",
            origin: EncodingSource::Default
        },
        "without a charset, UTF-8 is assumed"
    );
    let request = with_charset(&body, "ISO-8859-1").unwrap();
    assert_eq!(user_of(&request), Some("müller"));
}

#[test]
fn the_byte_order_mark_comes_first_then_the_charset_then_the_declaration() {
    // A UTF-8 byte order mark against a Latin-1 charset and declaration: UTF-8.
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend(envelope(Some("ISO-8859-1"), "müller").as_bytes());
    assert_eq!(
        user_of(&with_charset(&body, "ISO-8859-1").unwrap()),
        Some("müller")
    );
    // The charset against the declaration: the charset.
    let body = encoded(
        &envelope(Some("UTF-8"), "müller"),
        encoding_rs::WINDOWS_1252,
    );
    assert_eq!(
        user_of(&with_charset(&body, "windows-1252").unwrap()),
        Some("müller")
    );
    // A Latin-1 body declared as such but sent as UTF-8: refused, naming both.
    let body = encoded(
        &envelope(Some("ISO-8859-1"), "müller"),
        encoding_rs::WINDOWS_1252,
    );
    let failure = with_charset(&body, "utf-8").unwrap_err();
    assert_eq!(
        failure.error,
        ParseError::NotDecodable {
            encoding: "UTF-8",
            origin: EncodingSource::ContentType {
                declared: Some("ISO-8859-1".into())
            }
        }
    );
    let text = failure.to_string();
    assert!(text.contains("charset of its Content-Type"), "{text}");
    assert!(text.contains("XML declaration says ISO-8859-1"), "{text}");
}

#[test]
fn a_declaration_of_utf16_on_bytes_that_are_not_is_read_as_utf8() {
    // .NET's StringWriter declares utf-16 whatever the bytes become.
    let body = envelope(Some("utf-16"), "müller");
    assert_eq!(user_of(&parse_ok(body.as_bytes())), Some("müller"));
}

#[test]
fn an_encoding_iflowd_does_not_read_is_refused_naming_it() {
    for name in [
        "UTF-32",
        "EBCDIC-CP-US",
        "x-user-defined",
        "ISO-2022-KR",
        "bogus",
    ] {
        let body = envelope(Some(name), "a");
        let failure = parse_err(body.as_bytes());
        assert_eq!(
            failure.error,
            ParseError::UnsupportedEncoding {
                name: name.into(),
                place: "XML declaration"
            }
        );
        assert!(
            failure.to_string().contains(&format!("'{name}'")),
            "{failure}"
        );
        let failure = with_charset(envelope(None, "a").as_bytes(), name).unwrap_err();
        assert_eq!(
            failure.error,
            ParseError::UnsupportedEncoding {
                name: name.into(),
                place: "Content-Type charset"
            }
        );
    }
    // Bytes that are not UTF-16 in the byte order their mark announces.
    let failure = parse_err(b"\xFF\xFE<\x00a");
    assert_eq!(
        failure.error,
        ParseError::NotDecodable {
            encoding: "UTF-16LE",
            origin: EncodingSource::ByteOrderMark
        }
    );
}

#[test]
fn the_charset_parameter_is_found_however_it_is_written() {
    let cases = [
        ("text/xml; charset=utf-8", Some("utf-8")),
        ("text/xml;charset=\"ISO-8859-1\"", Some("ISO-8859-1")),
        (
            "application/soap+xml; action=\"urn:x\"; CharSet = windows-1252",
            Some("windows-1252"),
        ),
        ("text/xml", None),
        ("text/xml; charset=", None),
        ("", None),
    ];
    for (content_type, expected) in cases {
        assert_eq!(charset(content_type), expected, "{content_type}");
    }
}

#[test]
fn characters_xml_forbids_are_refused_written_or_referenced() {
    let cases: [(&[u8], u32); 4] = [
        (b"nul\x00here", 0),
        (b"bell\x07", 7),
        (b"vertical\x0Btab", 0x0B),
        ("not a character \u{FFFE}".as_bytes(), 0xFFFE),
    ];
    for (value, code) in cases {
        let mut body = envelope(None, "VALUE").into_bytes();
        let at = body.windows(5).position(|w| w == b"VALUE").unwrap();
        body.splice(at..at + 5, value.iter().copied());
        let failure = parse_err(&body);
        let ParseError::ForbiddenCharacter {
            code: found,
            position,
        } = failure.error
        else {
            panic!("{code:#x}: {failure:?}");
        };
        assert_eq!(found, code);
        let offset = value.iter().position(|&b| b < 0x20 || b == 0xEF).unwrap();
        assert_eq!(position, (at + offset) as u64);
        assert!(
            failure.to_string().contains(&format!("U+{code:04X}")),
            "{failure}"
        );
    }
    // The same characters as references are refused too, and the allowed ones pass.
    for reference in ["#0", "#x7", "#11", "#xFFFE", "#xFFFF"] {
        let body = envelope(None, &format!("&{reference};"));
        assert_eq!(
            parse_err(body.as_bytes()).error,
            ParseError::BadCharacterReference(reference.into())
        );
    }
    let body = envelope(None, "tab\tline\ncarriage\r&#9;&#xA;&#x10FFFF;");
    assert_eq!(
        user_of(&parse_ok(body.as_bytes())),
        Some("tab\tline\ncarriage\n\t\n\u{10FFFF}")
    );
}

#[test]
fn a_malformed_element_in_the_body_is_malformed_xml_not_the_wrong_element() {
    let failure = parse_err(&fixture("malformed-in-body.xml"));
    let ParseError::Malformed { detail, .. } = &failure.error else {
        panic!("{failure:?}");
    };
    assert!(detail.contains("is not an element name"), "{detail}");
    let start = format!(r#"<S:Envelope xmlns:S="{SOAP11_NS}"><S:Body>"#);
    for body in [
        // An attribute without a value, an unquoted one, a duplicate, '<' in a value.
        format!("{start}<x:Bar xmlns:x=\"urn:x\" broken/></S:Body></S:Envelope>"),
        format!("{start}<x:Bar xmlns:x=\"urn:x\" a=1/></S:Body></S:Envelope>"),
        format!("{start}<x:Bar xmlns:x=\"urn:x\" a=\"1\" a=\"2\"/></S:Body></S:Envelope>"),
        format!("{start}<x:Bar xmlns:x=\"urn:x\" a=\"<\"/></S:Body></S:Envelope>"),
        // A name that is not one.
        format!("{start}<x:Bar=\"1\" xmlns:x=\"urn:x\"/></S:Body></S:Envelope>"),
        format!("{start}<x:Bar:Baz xmlns:x=\"urn:x\"/></S:Body></S:Envelope>"),
        // A well-formed wrong element, then something broken further on.
        format!("{start}<x:Bar xmlns:x=\"urn:x\"/></S:Body></S:Envelop>"),
        format!("{start}<x:Bar xmlns:x=\"urn:x\"><y></x:Bar></S:Body></S:Envelope>"),
    ] {
        let failure = parse_err(body.as_bytes());
        assert!(
            matches!(failure.error, ParseError::Malformed { .. }),
            "{body}: {failure:?}"
        );
    }
    // An undefined entity in an attribute value is named like one in text.
    let body = format!("{start}<x:Bar xmlns:x=\"urn:x\" a=\"&bogus;\"/></S:Body></S:Envelope>");
    assert_eq!(
        parse_err(body.as_bytes()).error,
        ParseError::UndefinedEntity("bogus".into())
    );
    // Well-formed throughout, it is still the wrong element.
    let body = format!("{start}<x:Bar xmlns:x=\"urn:x\" a='1'/></S:Body></S:Envelope>");
    assert_eq!(
        parse_err(body.as_bytes()).error,
        ParseError::NotExternalEvent("{urn:x}Bar".into())
    );
}

#[test]
fn names_beyond_ascii_are_names() {
    let body = v2(
        "é",
        "<é:event><é:größe>42</é:größe><é:entityKeys/></é:event>",
    );
    let request = parse_ok(body.as_bytes());
    assert_eq!(request.events[0].extra, [pair("größe", "42")]);
}
