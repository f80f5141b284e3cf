//! `Retry-After` (RFC 9110, 10.2.3): how long a downstream that answered 429 or 503 (or
//! another retried status) asks to be left alone.

use std::time::{Duration, SystemTime};

use http::HeaderValue;

/// The wait a `Retry-After` value asks for, counted from `now`: either whole seconds or an HTTP
/// date (all three formats HTTP allows). A date in the past asks for no wait. `None` when the
/// value is neither (the header is then ignored, as RFC 9110 lets a recipient do).
pub fn parse(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // Seconds beyond u64 are "forever", which the caller's cap turns into giving up.
        return Some(Duration::from_secs(text.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &'static str) -> HeaderValue {
        HeaderValue::from_static(text)
    }

    #[test]
    fn seconds_and_the_three_date_formats_are_read_and_anything_else_is_ignored() {
        // Sun, 06 Nov 1994 08:49:37 GMT, the example of RFC 9110.
        let date = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let before = date - Duration::from_secs(90);
        assert_eq!(parse(&value("120"), before), Some(Duration::from_secs(120)));
        assert_eq!(parse(&value(" 0 "), before), Some(Duration::ZERO));
        for format in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                parse(&HeaderValue::from_str(format).unwrap(), before),
                Some(Duration::from_secs(90)),
                "{format}"
            );
        }
        let after = date + Duration::from_secs(5);
        assert_eq!(
            parse(&value("Sun, 06 Nov 1994 08:49:37 GMT"), after),
            Some(Duration::ZERO),
            "a date already past"
        );
        assert_eq!(
            parse(&value("99999999999999999999999"), before),
            Some(Duration::from_secs(u64::MAX))
        );
        for nonsense in ["", "-5", "1.5", "soon", "Sun, 06 Nov 1994"] {
            assert_eq!(parse(&value(nonsense), before), None, "{nonsense:?}");
        }
    }
}
