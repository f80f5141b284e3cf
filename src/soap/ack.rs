//! The acknowledgement's content (`responsePayload`) and the timestamp format of the wire.

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// The acknowledgement's `responsePayload`. The endpoint fills in the defaults (status 200, now,
/// what was accepted); handlers may change it before [`super::response::acknowledgement`] writes
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub entity_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub status: i32,
    pub status_date: OffsetDateTime,
    pub status_details: Option<String>,
}

/// `2026-11-21T07:28:25.123Z`: the `xs:dateTime` iflowd writes (`statusDate`, the event JSON's
/// `receivedAt`, the kept acknowledgement): UTC, always three fraction digits.
const ISO_MILLIS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// `at` in ISO-8601 UTC with milliseconds, whatever its offset: `2026-11-21T07:28:25.123Z`.
pub fn iso_millis(at: OffsetDateTime) -> String {
    // Formatting into a `String` only fails for a format that needs an offset or a date the
    // value lacks; this one needs neither.
    at.to_offset(time::UtcOffset::UTC)
        .format(ISO_MILLIS)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    use time::macros::datetime;

    use super::iso_millis;

    #[test]
    fn timestamps_have_three_fraction_digits_and_a_z() {
        let cases = [
            (
                datetime!(1970-01-01 00:00:00 UTC),
                "1970-01-01T00:00:00.000Z",
            ),
            (
                datetime!(2000-02-29 00:00:00.999 UTC),
                "2000-02-29T00:00:00.999Z",
            ),
            (
                datetime!(2025-12-31 23:59:59.999_999 UTC),
                "2025-12-31T23:59:59.999Z",
            ),
            (
                datetime!(2026-11-21 07:28:25.1 UTC),
                "2026-11-21T07:28:25.100Z",
            ),
            (
                datetime!(0999-01-02 03:04:05.006 UTC),
                "0999-01-02T03:04:05.006Z",
            ),
            (
                datetime!(9999-12-31 23:59:59.999 UTC),
                "9999-12-31T23:59:59.999Z",
            ),
        ];
        for (at, text) in cases {
            assert_eq!(iso_millis(at), text);
            // What the log reads back is the instant written, to the millisecond.
            let back = OffsetDateTime::parse(text, &Rfc3339).unwrap();
            assert_eq!(
                back.unix_timestamp_nanos() / 1_000_000,
                at.unix_timestamp_nanos() / 1_000_000
            );
        }
    }

    #[test]
    fn an_offset_is_converted_to_utc() {
        let at = datetime!(2026-11-21 08:28:25.123456 +01:00);
        assert_eq!(iso_millis(at), "2026-11-21T07:28:25.123Z");
    }
}
