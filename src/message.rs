//! A message: one accepted call to an endpoint, and what every handler is told about it.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::event::Envelope;

/// An opaque, CPI-style message id (`MessageGuid`): `AG` followed by 26 URL-safe characters.
///
/// The first six bytes are the millisecond clock, so ids sort roughly by arrival; the remaining
/// thirteen are random, so two instances never collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct MessageId(String);

impl MessageId {
    pub fn new() -> Self {
        let mut bytes = [0u8; 19];
        let millis = u64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
            .unwrap_or(0);
        bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
        rand::fill(&mut bytes[6..]);
        let mut id = String::with_capacity(28);
        id.push_str("AG");
        URL_SAFE_NO_PAD.encode_string(bytes, &mut id);
        Self(id)
    }

    /// An id read back (from the message log): `AG` and 26 URL-safe characters, as
    /// [`MessageId::new`] makes them; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("AG")?;
        let url_safe = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        (rest.len() == 26 && rest.bytes().all(url_safe)).then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for MessageId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What handlers know about the call besides its events.
#[derive(Debug, Clone)]
pub struct MessageContext {
    pub id: MessageId,
    /// The endpoint's (iFlow's) name.
    pub endpoint: Arc<str>,
    /// The authenticated user (CPI's `SapAuthenticatedUserName`).
    pub sender: String,
    pub received_at: OffsetDateTime,
    /// `received_at` as ISO-8601 UTC with milliseconds, formatted once.
    pub received_at_text: String,
    /// The request body exactly as received.
    pub raw_body: Bytes,
}

impl MessageContext {
    pub fn new(endpoint: Arc<str>, sender: String, raw_body: Bytes) -> Self {
        let received_at = OffsetDateTime::now_utc();
        Self {
            id: MessageId::new(),
            endpoint,
            sender,
            received_at,
            received_at_text: iso_millis(received_at),
            raw_body,
        }
    }
}

/// A message whose envelope parsed: the input of the handler chain.
#[derive(Debug, Clone)]
pub struct Message {
    pub context: MessageContext,
    pub envelope: Envelope,
}

/// `2026-11-21T07:28:25.123Z`: ISO-8601 in UTC with milliseconds, as `statusDate` and the event
/// JSON use.
///
/// Written digit by digit: this runs twice per request, and `time`'s general formatter took
/// about 3,000 instructions each. Years outside 0000–9999 (never a clock's) go through it.
pub fn iso_millis(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let Ok(year) = u16::try_from(at.year()) else {
        return iso_millis_general(at);
    };
    if year > 9999 {
        return iso_millis_general(at);
    }
    let (hour, minute, second, milli) = at.to_hms_milli();
    let mut out = String::with_capacity(24);
    digits(&mut out, year, 4);
    out.push('-');
    digits(&mut out, u16::from(u8::from(at.month())), 2);
    out.push('-');
    digits(&mut out, u16::from(at.day()), 2);
    out.push('T');
    digits(&mut out, u16::from(hour), 2);
    out.push(':');
    digits(&mut out, u16::from(minute), 2);
    out.push(':');
    digits(&mut out, u16::from(second), 2);
    out.push('.');
    digits(&mut out, milli, 3);
    out.push('Z');
    out
}

/// `value` in decimal with exactly `width` digits (leading zeros).
fn digits(out: &mut String, value: u16, width: u32) {
    for place in (0..width).rev() {
        let digit = (value / 10u16.pow(place)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

/// [`iso_millis`] through `time`'s formatter (the reference the tests compare with).
fn iso_millis_general(at: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// The acknowledgement's `responsePayload`. The endpoint fills in the defaults (status 200, now,
/// what was accepted); handlers may change it before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub entity_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub status: i32,
    pub status_date: OffsetDateTime,
    pub status_details: Option<String>,
}

impl Ack {
    /// The default success answer for `message`.
    pub fn accepted(context: &MessageContext, events: usize) -> Self {
        let plural = if events == 1 { "" } else { "s" };
        Self {
            entity_id: None,
            error_code: None,
            error_message: None,
            status: 200,
            status_date: OffsetDateTime::now_utc(),
            status_details: Some(format!(
                "accepted {events} event{plural}; message id {}",
                context.id
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::{MessageId, iso_millis, iso_millis_general};

    #[test]
    fn a_message_id_reads_back_and_nothing_else_passes_for_one() {
        let id = MessageId::new();
        assert_eq!(MessageId::parse(id.as_str()), Some(id));
        for other in [
            "",
            "AG",
            "ok",
            "XGAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AGAAAAAAAAAAAAAAAAAAAAAAAA+A",
        ] {
            assert_eq!(MessageId::parse(other), None, "{other}");
        }
    }

    #[test]
    fn timestamps_read_as_times_own_formatter_writes_them() {
        // Odd steps of milliseconds: 1970 to 2106 in ~25-day steps, three years in ~17-minute
        // steps (every field, leap days, year ends), and a few edges.
        let millis = 1_000_000i128;
        let mut instants: Vec<i128> = (0..2_000i128)
            .map(|i| i * 2_147_483_647 * millis)
            .chain(
                (0..100_000i128)
                    .map(|i| 1_700_000_000_000 * millis + i * 1_000_003 * millis + i % 999_999),
            )
            .collect();
        instants.extend([
            0,
            951_782_400_999_000_000,     // 2000-02-29T00:00:00.999Z
            1_767_225_599_999_000_000,   // 2025-12-31T23:59:59.999Z
            253_402_300_799_999_000_000, // 9999-12-31T23:59:59.999Z
        ]);
        for nanos in instants {
            let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap();
            assert_eq!(iso_millis(at), iso_millis_general(at), "{nanos}");
        }
    }

    #[test]
    fn an_offset_is_converted_to_utc() {
        let at = time::macros::datetime!(2026-11-21 08:28:25.123456 +01:00);
        assert_eq!(iso_millis(at), "2026-11-21T07:28:25.123Z");
    }
}
