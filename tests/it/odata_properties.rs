//! Properties of the monitoring API's query language, on generated input (proptest, a bounded
//! number of cases so the suite stays fast): a filter prints and parses back to itself, no text
//! makes the parsers panic, and the message log's SQL selects exactly the entries the in-memory
//! evaluator does, for every generated filter.

use std::collections::BTreeSet;

use iflowd::odata::eval::Value;
use iflowd::odata::schema::MESSAGE_PROCESSING_LOG;
use iflowd::odata::{CompareOp, Expr, Literal, QueryOptions, Scope, filter, path};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::common::{Backend, TestApp, envelope, fixture, isc_and_broken};

/// OData text of `expr`: a list inside a list in parentheses, `not (…)`, each literal as the
/// parser reads it, the property first.
fn print(expr: &Expr) -> String {
    let join = |terms: &[Expr], joint: &str| {
        terms
            .iter()
            .map(|term| match term {
                Expr::And(_) | Expr::Or(_) => format!("({})", print(term)),
                _ => print(term),
            })
            .collect::<Vec<_>>()
            .join(joint)
    };
    match expr {
        Expr::And(terms) => join(terms, " and "),
        Expr::Or(terms) => join(terms, " or "),
        Expr::Not(inner) => format!("not ({})", print(inner)),
        Expr::Compare { field, op, value } => {
            let op = match op {
                CompareOp::Eq => "eq",
                CompareOp::Ne => "ne",
                CompareOp::Gt => "gt",
                CompareOp::Ge => "ge",
                CompareOp::Lt => "lt",
                CompareOp::Le => "le",
            };
            format!("{} {op} {}", field.path, literal(value))
        }
    }
}

fn literal(value: &Literal) -> String {
    match value {
        Literal::Null => "null".to_owned(),
        Literal::Text(text) => format!("'{}'", text.replace('\'', "''")),
        // `datetime'...'` is UTC: a `datetimeoffset` literal's instant, written in UTC.
        Literal::DateTime(at) => format!(
            "datetime'{}'",
            at.to_offset(time::UtcOffset::UTC)
                .format(format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]"
                ))
                .unwrap()
        ),
        Literal::Int(n) => n.to_string(),
        Literal::Bool(b) => b.to_string(),
    }
}

/// The literals to draw from besides arbitrary ones: values the entries have, so that
/// comparisons also hit.
#[derive(Debug, Clone, Default)]
struct Known {
    texts: Vec<String>,
    dates: Vec<OffsetDateTime>,
}

fn date_at(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap()
}

fn literal_of(kind: iflowd::odata::Kind, known: &Known) -> BoxedStrategy<Literal> {
    use iflowd::odata::Kind;
    let value = match kind {
        Kind::String => {
            let arbitrary = prop::collection::vec(any::<char>(), 0..8)
                .prop_map(|chars| Literal::Text(chars.into_iter().collect()));
            if known.texts.is_empty() {
                arbitrary.boxed()
            } else {
                prop_oneof![
                    prop::sample::select(known.texts.clone()).prop_map(Literal::Text),
                    arbitrary
                ]
                .boxed()
            }
        }
        Kind::DateTime => {
            // 1970 to 2100, in whole milliseconds as the API keeps them.
            let arbitrary = (0i64..4_102_444_800_000).prop_map(|ms| Literal::DateTime(date_at(ms)));
            if known.dates.is_empty() {
                arbitrary.boxed()
            } else {
                prop_oneof![
                    prop::sample::select(known.dates.clone()).prop_map(Literal::DateTime),
                    arbitrary
                ]
                .boxed()
            }
        }
        Kind::Int | Kind::Int64 => prop_oneof![
            (-1i64..4).prop_map(Literal::Int),
            any::<i64>().prop_map(Literal::Int)
        ]
        .boxed(),
        Kind::Boolean => any::<bool>().prop_map(Literal::Bool).boxed(),
    };
    prop_oneof![1 => Just(Literal::Null), 4 => value].boxed()
}

fn comparison(known: Known) -> impl Strategy<Value = Expr> {
    let fields = MESSAGE_PROCESSING_LOG.fields;
    (0..fields.len(), 0..6usize).prop_flat_map(move |(i, op)| {
        let field = &fields[i];
        literal_of(field.kind, &known).prop_map(move |value| {
            let ops = [
                CompareOp::Eq,
                CompareOp::Ne,
                CompareOp::Gt,
                CompareOp::Ge,
                CompareOp::Lt,
                CompareOp::Le,
            ];
            // `null` goes with eq and ne only.
            let op = if value == Literal::Null {
                ops[op % 2]
            } else {
                ops[op]
            };
            Expr::Compare { field, op, value }
        })
    })
}

/// Filters up to 4 levels deep, lists of 2 or 3 terms.
fn filters(known: Known) -> impl Strategy<Value = Expr> {
    comparison(known).prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

proptest! {
    #![proptest_config(Config::with_cases(256))]

    #[test]
    fn a_generated_filter_prints_and_parses_back_to_itself(expr in filters(Known::default())) {
        let text = print(&expr);
        prop_assert_eq!(filter::parse(&text, &MESSAGE_PROCESSING_LOG), Ok(expr), "{}", text);
    }

    #[test]
    fn no_text_makes_the_query_parsers_panic(text in any::<String>()) {
        let _ = filter::parse(&text, &MESSAGE_PROCESSING_LOG);
        let _ = path::parse(&text);
        for scope in [Scope::Collection, Scope::Entry, Scope::Value] {
            let _ = QueryOptions::parse(Some(&text), &MESSAGE_PROCESSING_LOG, scope);
        }
    }

    #[test]
    fn no_soup_of_query_words_makes_the_filter_parser_panic(
        words in prop::collection::vec(prop::sample::select(vec![
            "(", ")", "not", "and", "or", "eq", "lt", "null", "true", "'x'", "''", "'", "3", "-",
            "Status", "LogStart", "EventCount", "Repost", "datetime'2026-01-01T00:00'",
            "datetimeoffset'2026-01-01T00:00:00+01:00'", "substringof", ",", "9999999999999999999",
        ]), 0..40)
    ) {
        let text = words.join(" ");
        if let Ok(expr) = filter::parse(&text, &MESSAGE_PROCESSING_LOG) {
            // What parses prints and parses back to the same filter.
            prop_assert_eq!(filter::parse(&print(&expr), &MESSAGE_PROCESSING_LOG), Ok(expr));
        }
    }
}

/// A property of an entry as the API shows it, as the in-memory evaluator reads it.
fn shown<'a>(entry: &'a serde_json::Value, path: &str) -> Value<'a> {
    let json = match path.split_once('/') {
        Some((outer, inner)) => &entry[outer][inner],
        None => &entry[path],
    };
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Int(n.as_i64().unwrap()),
        serde_json::Value::String(s) => match s
            .strip_prefix("/Date(")
            .and_then(|rest| rest.strip_suffix(")/"))
        {
            Some(ms) => Value::DateTime(date_at(ms.parse().unwrap())),
            None => Value::Text(s),
        },
        other => panic!("{path}: {other}"),
    }
}

/// Texts and dates the entries show, and the milliseconds around each date.
fn known(entries: &[serde_json::Value]) -> Known {
    let mut known = Known::default();
    for entry in entries {
        for field in MESSAGE_PROCESSING_LOG.fields {
            match shown(entry, field.path) {
                Value::Text(text) => known.texts.push(text.to_owned()),
                Value::DateTime(at) => {
                    let ms = time::Duration::MILLISECOND;
                    known.dates.extend([at - ms, at, at + ms]);
                }
                _ => {}
            }
        }
    }
    known.texts.sort();
    known.texts.dedup();
    known
}

/// On both backends: `::sqlite` and `::postgres`.
fn the_logs_sql_selects_what_the_in_memory_evaluator_selects(postgres: bool) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (app, entries) = runtime.block_on(async {
        let backend = if postgres {
            Backend::postgres().await
        } else {
            Backend::sqlite()
        };
        let app = TestApp::spawn_on(&backend, &isc_and_broken("https")).await;
        for (path, body, status) in [
            ("/cxf/isc/events", envelope("a-1", 1, false), 200),
            ("/cxf/isc/events", envelope("a-2", 2, true), 200),
            ("/http/broken", envelope("b-1", 3, false), 500),
        ] {
            assert_eq!(app.post_soap(path, body).await.status(), status);
        }
        let malformed = app
            .post_soap("/cxf/isc/events", fixture("malformed.xml"))
            .await;
        assert_eq!(malformed.status(), 500);
        let entries = app.api_results("MessageProcessingLogs").await;
        (app, entries)
    });
    assert_eq!(entries.len(), 4);
    let mut runner = TestRunner::new(Config::with_cases(64));
    runner
        .run(&filters(known(&entries)), |expr| {
            let guid =
                |entry: &serde_json::Value| entry["MessageGuid"].as_str().unwrap().to_owned();
            let expected: BTreeSet<String> = entries
                .iter()
                .filter(|entry| expr.matches(&|path| shown(entry, path)))
                .map(guid)
                .collect();
            let text = print(&expr);
            let query = format!(
                "MessageProcessingLogs?$select=MessageGuid&$filter={}",
                utf8_percent_encode(&text, NON_ALPHANUMERIC)
            );
            let found: BTreeSet<String> = runtime
                .block_on(app.api_results(&query))
                .iter()
                .map(guid)
                .collect();
            prop_assert_eq!(found, expected, "{}", text);
            Ok(())
        })
        .unwrap();
    runtime.block_on(app.stop());
}

mod the_logs_sql_selects_what_the_in_memory_evaluator_selects {
    #[test]
    fn sqlite() {
        super::the_logs_sql_selects_what_the_in_memory_evaluator_selects(false);
    }
    #[test]
    fn postgres() {
        super::the_logs_sql_selects_what_the_in_memory_evaluator_selects(true);
    }
}

/// The case proptest found: a `datetimeoffset` literal an hour east of UTC printed as if its
/// local time were UTC, so it parsed back an hour off.
#[test]
fn a_datetimeoffset_literal_prints_and_parses_back_to_the_same_instant() {
    let text = "datetimeoffset'2026-01-01T00:00:00+01:00' eq LogStart";
    let expr = filter::parse(text, &MESSAGE_PROCESSING_LOG).unwrap();
    assert_eq!(
        filter::parse(&print(&expr), &MESSAGE_PROCESSING_LOG),
        Ok(expr)
    );
}
