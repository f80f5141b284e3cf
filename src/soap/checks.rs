//! The well-formedness rules quick-xml's reader leaves to its user, checked so that a body that
//! is not XML is reported as such, whatever else is wrong with it:
//!
//! * only the characters XML 1.0 allows, written as themselves or as references (a literal NUL
//!   is refused like `&#0;`);
//! * element and attribute names that are XML names, with at most one colon (XML Namespaces);
//! * attributes written `name="value"`, each once per tag, their values without `<` and with only
//!   the five predefined entities and character references.
//!
//! The reader checks the rest: tags, end tags matching start tags, comments, CDATA, references.

use std::borrow::Cow;

use quick_xml::escape::{EscapeError, unescape};
use quick_xml::events::BytesRef;
use quick_xml::events::attributes::{AttrError, Attribute};

use super::error::ParseError;

/// Refuses text with a character XML 1.0 does not allow (`Char`): the C0 controls but tab, line
/// feed and carriage return, and U+FFFE and U+FFFF. (Surrogates cannot be in a `str`.)
pub(super) fn check_characters(text: &str) -> Result<(), ParseError> {
    let bytes = text.as_bytes();
    if has_control(bytes)
        && let Some(at) = bytes.iter().position(|&b| is_control(b))
    {
        return Err(forbidden(u32::from(bytes[at]), at));
    }
    // U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8.
    for at in memchr::memchr_iter(0xEF, bytes) {
        if let [0xBF, last @ (0xBE | 0xBF), ..] = bytes[at + 1..] {
            return Err(forbidden(0xFFC0 | u32::from(last & 0x3F), at));
        }
    }
    Ok(())
}

/// Whether `bytes` has a C0 control other than tab, line feed and carriage return: one pass
/// without a branch per byte, which the compiler vectorises (the position is looked for only in
/// a body that has one).
fn has_control(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .fold(0u8, |found, &b| found | u8::from(is_control(b)))
        != 0
}

#[inline(always)]
fn is_control(b: u8) -> bool {
    (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')
}

fn forbidden(code: u32, at: usize) -> ParseError {
    ParseError::ForbiddenCharacter {
        code,
        position: at as u64,
    }
}

/// XML 1.0's `Char`, for characters written as references.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The five predefined entities and character references of allowed characters. Anything else
/// could only have been declared in a DTD, which is refused, so it is an error rather than
/// something to expand.
pub(super) fn resolve_reference(reference: &BytesRef<'_>) -> Result<char, ParseError> {
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(c)) if is_xml_char(c) => Ok(c),
            _ => Err(ParseError::BadCharacterReference(reference.to_string())),
        };
    }
    match &**reference {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        other => Err(ParseError::UndefinedEntity(
            Cow::<str>::Borrowed(other).into_owned(),
        )),
    }
}

/// Refuses an element name that is not a `QName`. `position` is the tag's offset, for errors.
#[inline]
pub(super) fn check_name(name: &str, position: u64) -> Result<(), ParseError> {
    if is_qname(name) {
        Ok(())
    } else {
        Err(ParseError::Malformed {
            position,
            detail: format!("'{name}' is not an element name"),
        })
    }
}

/// An attribute as the reader split it, checked: its syntax (quotes, `=`, each name once per
/// tag), its name, and its value (no `<`, only predefined entities and character references).
pub(super) fn check_attribute<'a>(
    attribute: Result<Attribute<'a>, AttrError>,
    position: u64,
) -> Result<Attribute<'a>, ParseError> {
    let malformed = |detail: String| ParseError::Malformed { position, detail };
    let attribute = attribute.map_err(|err| malformed(err.to_string()))?;
    let key = attribute.key.into_inner();
    if !is_qname(key) {
        return Err(malformed(format!("'{key}' is not an attribute name")));
    }
    let value = &*attribute.value;
    if memchr::memchr2(b'<', b'&', value.as_bytes()).is_some() {
        if value.contains('<') {
            return Err(malformed(format!(
                "the value of attribute '{key}' contains '<'"
            )));
        }
        check_value_references(value, position)?;
    }
    Ok(attribute)
}

fn check_value_references(value: &str, position: u64) -> Result<(), ParseError> {
    match unescape(value) {
        Ok(unescaped) => match unescaped.chars().find(|&c| !is_xml_char(c)) {
            None => Ok(()),
            Some(c) => Err(ParseError::BadCharacterReference(format!(
                "#{}",
                u32::from(c)
            ))),
        },
        Err(EscapeError::UnrecognizedEntity(_, name)) => Err(ParseError::UndefinedEntity(name)),
        Err(EscapeError::InvalidCharRef(err)) => {
            Err(ParseError::BadCharacterReference(err.to_string()))
        }
        Err(err) => Err(ParseError::Malformed {
            position,
            detail: err.to_string(),
        }),
    }
}

/// An XML name with at most one colon, neither first nor last (a namespace `QName`).
#[inline]
fn is_qname(name: &str) -> bool {
    let bytes = name.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    // The usual name is ASCII: a table lookup per byte.
    let mut colons = 0;
    for &b in bytes {
        if b == b':' {
            colons += 1;
        } else if !ASCII_NAME_CHAR[usize::from(b)] {
            return !b.is_ascii() && is_unicode_qname(name);
        }
    }
    colons <= 1 && last != b':' && (first.is_ascii_alphabetic() || first == b'_')
}

/// The ASCII `NameChar`s but the colon: letters, digits, `-`, `.` and `_`.
static ASCII_NAME_CHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_';
        b += 1;
    }
    table
};

/// [`is_qname`] for a name with characters beyond ASCII, by XML 1.0's character classes.
fn is_unicode_qname(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if first == ':' || !is_name_start(first) || name.ends_with(':') {
        return false;
    }
    let mut colons = 0;
    for c in chars {
        if c == ':' {
            colons += 1;
        } else if !is_name_char(c) {
            return false;
        }
    }
    colons <= 1
}

/// XML 1.0 (fifth edition) `NameStartChar`, without the colon.
fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic()
        || c == '_'
        || matches!(c,
            '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}'
            | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}'
            | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}'
            | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 (fifth edition) `NameChar`, without the colon.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '-' | '.' | '\u{B7}')
        || (!c.is_ascii()
            && (is_name_start(c) || matches!(c, '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')))
}
