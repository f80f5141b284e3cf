//! From request bytes to XML text: which encoding the body is in, decoded to UTF-8 once.
//!
//! The parser reads UTF-8 only, so a body in another encoding is decoded as a whole before it is
//! parsed (with `encoding_rs`, the WHATWG Encoding Standard's decoders). The raw body is kept
//! as received elsewhere; everything read from it (the event JSON, what handlers see) is this
//! decoded text.
//!
//! Which encoding, first match wins (XML 1.0 Appendix F, with RFC 7303's order for the
//! transport's word against the document's):
//!
//! 1. a byte order mark (UTF-8, UTF-16LE, UTF-16BE);
//! 2. the `charset` parameter of the Content-Type;
//! 3. UTF-16 without a byte order mark, told by its first character `<` (`3C 00` or `00 3C`);
//! 4. the `encoding` of the XML declaration;
//! 5. UTF-8.
//!
//! ISO-8859-1 (and `latin1`, `us-ascii`...) is read as windows-1252, as the Encoding Standard and
//! every browser do: the two differ only in 0x80–0x9F, control characters in ISO-8859-1 that
//! no sender means, printable ones (`€`, `Š`, `“`) in windows-1252. A name the Encoding Standard
//! does not know (UTF-32, EBCDIC...) or that only maps to its "replacement" decoder is refused,
//! naming it. A declaration that names UTF-16 in a body whose bytes are not UTF-16 (.NET's
//! `StringWriter` writes that) is read as UTF-8.
//!
//! The byte offsets in later errors are offsets in the decoded text (the same as in the body for
//! UTF-8, after a byte order mark).

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, X_USER_DEFINED};

use super::error::{EncodingSource, ParseError};

/// `body` as UTF-8 text (borrowed when it is UTF-8 already), without a byte order mark.
/// `charset` is the Content-Type's `charset` parameter, if any.
pub(super) fn decode<'a>(
    body: &'a [u8],
    charset: Option<&str>,
) -> Result<Cow<'a, str>, ParseError> {
    if let Some((encoding, bom)) = Encoding::for_bom(body) {
        return decode_as(&body[bom..], encoding, EncodingSource::ByteOrderMark);
    }
    if let Some(label) = charset {
        let encoding = supported(label, "Content-Type charset")?;
        let encoding = if is_utf16(encoding) {
            sniff_utf16(body).unwrap_or(encoding)
        } else {
            encoding
        };
        let origin = EncodingSource::ContentType { declared: None };
        return decode_as(body, encoding, origin).map_err(|error| conflict(error, body));
    }
    if let Some(encoding) = sniff_utf16(body) {
        return decode_as(body, encoding, EncodingSource::Sniffed);
    }
    match declared_encoding(body) {
        Some(label) => {
            let encoding = supported(&label, "XML declaration")?;
            if is_utf16(encoding) {
                decode_as(body, UTF_8, EncodingSource::Default)
            } else {
                decode_as(body, encoding, EncodingSource::Declaration)
            }
        }
        None => decode_as(body, UTF_8, EncodingSource::Default),
    }
}

/// The `charset` parameter of a Content-Type (`text/xml; charset="ISO-8859-1"`), unquoted.
pub fn charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').trim())
            .filter(|value| !value.is_empty())
    })
}

fn decode_as<'a>(
    bytes: &'a [u8],
    encoding: &'static Encoding,
    origin: EncodingSource,
) -> Result<Cow<'a, str>, ParseError> {
    let not_decodable = |origin| ParseError::NotDecodable {
        encoding: encoding.name(),
        origin,
    };
    if encoding == UTF_8 {
        return std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|_| not_decodable(origin));
    }
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or_else(|| not_decodable(origin))
}

/// The encoding `label` names, when iflowd reads it; `place` says where the label was found.
fn supported(label: &str, place: &'static str) -> Result<&'static Encoding, ParseError> {
    Encoding::for_label_no_replacement(label.as_bytes())
        .filter(|&encoding| encoding != X_USER_DEFINED)
        .ok_or_else(|| ParseError::UnsupportedEncoding {
            name: label.to_owned(),
            place,
        })
}

/// A body that is not in its Content-Type's charset: when its XML declaration names another
/// encoding, the error says so (the charset wins, but the sender may have meant the other).
fn conflict(error: ParseError, body: &[u8]) -> ParseError {
    let ParseError::NotDecodable { encoding, .. } = error else {
        return error;
    };
    let declared = declared_encoding(body).filter(|declared| {
        Encoding::for_label(declared.as_bytes()).map(Encoding::name) != Some(encoding)
    });
    ParseError::NotDecodable {
        encoding,
        origin: EncodingSource::ContentType { declared },
    }
}

fn is_utf16(encoding: &'static Encoding) -> bool {
    encoding == UTF_16LE || encoding == UTF_16BE
}

/// UTF-16 without a byte order mark, told by its first character `<`, which no other accepted
/// encoding writes with a zero byte.
fn sniff_utf16(body: &[u8]) -> Option<&'static Encoding> {
    match body {
        [0x3C, 0x00, ..] => Some(UTF_16LE),
        [0x00, 0x3C, ..] => Some(UTF_16BE),
        _ => None,
    }
}

/// The `encoding` of the XML declaration of a body in an ASCII-compatible encoding
/// (`<?xml version="1.0" encoding="ISO-8859-1"?>`). A declaration that does not parse names no
/// encoding; the parser reports what is wrong with it.
fn declared_encoding(body: &[u8]) -> Option<String> {
    let rest = body.strip_prefix(b"<?xml")?;
    // `<?xml` must be followed by white space to be the declaration (`<?xml-stylesheet` is not).
    if !rest.first()?.is_ascii_whitespace() {
        return None;
    }
    // The declaration is short: plain searches beat setting up a substring searcher.
    let end = rest.windows(2).position(|pair| pair == b"?>")?;
    let declaration = &rest[..end];
    let at = declaration
        .windows(b"encoding".len())
        .position(|word| word == b"encoding")?;
    let value = declaration[at + b"encoding".len()..].trim_ascii_start();
    let value = value.strip_prefix(b"=")?.trim_ascii_start();
    let (&quote, value) = value.split_first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let name = &value[..memchr::memchr(quote, value)?];
    std::str::from_utf8(name).ok().map(str::to_owned)
}
