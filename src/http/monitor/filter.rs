//! The message list's filters, read from the page's query string into typed [`Criteria`] and
//! written back into links (paging, the status counts, the polled fragment).

use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::event::EventKind;
use crate::excerpt::Excerpt;
use crate::store::Status;

/// Entries per page of the list.
pub const PAGE_SIZE: u64 = 50;

pub const KINDS: [EventKind; 5] = [
    EventKind::ChangeInManager,
    EventKind::Hire,
    EventKind::Rehire,
    EventKind::Termination,
    EventKind::Other,
];

/// The periods the list offers, by the key the form sends (CPI's monitor starts at the past
/// hour too).
pub const PERIODS: [(&str, &str, Option<Duration>); 6] = [
    ("15m", "Past 15 minutes", Some(Duration::minutes(15))),
    ("1h", "Past hour", Some(Duration::hours(1))),
    ("24h", "Past 24 hours", Some(Duration::hours(24))),
    ("7d", "Past 7 days", Some(Duration::days(7))),
    ("all", "All", None),
    ("custom", "From – to (UTC)", None),
];
const DEFAULT_PERIOD: &str = "1h";

/// What the list shows: every filter is optional, and all that are given must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Criteria {
    pub status: Option<Status>,
    pub endpoint: Option<String>,
    pub kind: Option<EventKind>,
    /// The event type string, exactly.
    pub event_type: Option<String>,
    pub external_id: Option<String>,
    pub user_id: Option<String>,
    /// A key of [`PERIODS`].
    pub period: &'static str,
    /// For the `custom` period: `from` inclusive, `to` exclusive, UTC.
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    /// 0 for the newest page.
    pub page: u64,
}

impl Criteria {
    /// Reads a query string; an error names the field and what it takes.
    pub fn parse(query: Option<&str>) -> Result<Self, String> {
        let mut criteria = Self {
            period: DEFAULT_PERIOD,
            ..Self::default()
        };
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let text = || Some(value.to_owned());
            match &*key {
                "status" => {
                    criteria.status = Some(Status::parse(value).ok_or_else(|| {
                        format!("status '{}' is not one of {}", Excerpt(value), statuses())
                    })?);
                }
                "endpoint" => criteria.endpoint = text(),
                "kind" => {
                    criteria.kind = Some(
                        KINDS
                            .into_iter()
                            .find(|k| k.as_str() == value)
                            .ok_or_else(|| {
                                format!("event kind '{}' is not one of {}", Excerpt(value), kinds())
                            })?,
                    );
                }
                "type" => criteria.event_type = text(),
                "ext" => criteria.external_id = text(),
                "user" => criteria.user_id = text(),
                "period" => {
                    criteria.period = PERIODS
                        .iter()
                        .find(|(k, _, _)| *k == value)
                        .map(|(k, _, _)| *k)
                        .ok_or_else(|| {
                            format!(
                                "period '{}' is not one of 15m, 1h, 24h, 7d, all, custom",
                                Excerpt(value)
                            )
                        })?;
                }
                "from" => criteria.from = Some(moment("from", value)?),
                "to" => criteria.to = Some(moment("to", value)?),
                "page" => {
                    criteria.page = value
                        .parse()
                        .map_err(|_| format!("page '{}' is not a number", Excerpt(value)))?;
                }
                _ => {}
            }
        }
        if criteria.period != "custom" {
            criteria.from = None;
            criteria.to = None;
        }
        Ok(criteria)
    }

    /// The time range `[from, to)` the criteria select, as of `now`.
    pub fn range(&self, now: OffsetDateTime) -> (Option<OffsetDateTime>, Option<OffsetDateTime>) {
        match PERIODS.iter().find(|(k, _, _)| *k == self.period) {
            Some((_, _, Some(length))) => (Some(now - *length), None),
            _ => (self.from, self.to),
        }
    }

    /// The query string of these criteria on `page` (empty fields left out), for links.
    pub fn query(&self, page: u64) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        let mut pair = |key: &str, value: Option<&str>| {
            if let Some(value) = value {
                query.append_pair(key, value);
            }
        };
        pair("status", self.status.map(Status::as_str));
        pair("endpoint", self.endpoint.as_deref());
        pair("kind", self.kind.map(EventKind::as_str));
        pair("type", self.event_type.as_deref());
        pair("ext", self.external_id.as_deref());
        pair("user", self.user_id.as_deref());
        pair("period", Some(self.period));
        pair("from", self.from.map(input_value).as_deref());
        pair("to", self.to.map(input_value).as_deref());
        if page > 0 {
            pair("page", Some(&page.to_string()));
        }
        query.finish()
    }

    /// The same criteria with another status (or none): the status counts' links.
    pub fn with_status(&self, status: Option<Status>) -> Self {
        Self {
            status,
            page: 0,
            ..self.clone()
        }
    }
}

/// A `datetime-local` field's value, read as UTC.
fn moment(field: &str, value: &str) -> Result<OffsetDateTime, String> {
    let long = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let short = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    PrimitiveDateTime::parse(value, long)
        .or_else(|_| PrimitiveDateTime::parse(value, short))
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| {
            format!(
                "{field} '{}' is not a time like 2026-03-01T09:30 (UTC)",
                Excerpt(value)
            )
        })
}

/// A time as a `datetime-local` field shows it.
pub fn input_value(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]"
    ))
    .unwrap_or_default()
}

fn statuses() -> String {
    Status::ALL.map(Status::as_str).join(", ")
}

fn kinds() -> String {
    KINDS.map(EventKind::as_str).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn every_filter_is_read_and_written_back() {
        let query = "status=failed&endpoint=ISC_Events&kind=hire&type=T&ext=e-1&user=1001&period=custom&from=2026-03-01T09:30&to=2026-03-01T10:00:05&page=2";
        let criteria = Criteria::parse(Some(query)).unwrap();
        assert_eq!(criteria.status, Some(Status::Failed));
        assert_eq!(criteria.kind, Some(EventKind::Hire));
        assert_eq!(criteria.from, Some(datetime!(2026-03-01 09:30 UTC)));
        assert_eq!(criteria.to, Some(datetime!(2026-03-01 10:00:05 UTC)));
        assert_eq!(criteria.page, 2);
        assert_eq!(Criteria::parse(Some(&criteria.query(2))).unwrap(), criteria);
    }

    #[test]
    fn empty_fields_are_no_filter_and_the_period_starts_at_the_past_hour() {
        let criteria = Criteria::parse(Some("status=&user=+&from=2026-03-01T09:30")).unwrap();
        assert_eq!(criteria.status, None);
        assert_eq!(criteria.user_id, None);
        assert_eq!(
            criteria.from, None,
            "from counts only for the custom period"
        );
        let now = datetime!(2026-03-01 12:00 UTC);
        assert_eq!(
            criteria.range(now),
            (Some(datetime!(2026-03-01 11:00 UTC)), None)
        );
    }

    #[test]
    fn bad_values_are_named() {
        for (query, expected) in [
            ("status=DONE", "status 'DONE' is not one of PROCESSING"),
            ("kind=promotion", "event kind 'promotion'"),
            ("period=1y", "period '1y'"),
            (
                "period=custom&from=yesterday",
                "from 'yesterday' is not a time",
            ),
            ("page=-1", "page '-1' is not a number"),
        ] {
            let error = Criteria::parse(Some(query)).unwrap_err();
            assert!(error.starts_with(expected), "{query}: {error}");
        }
    }
}
