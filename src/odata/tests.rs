use time::macros::datetime;

use super::eval::Value;
use super::filter::parse;
use super::schema::{INTEGRATION_RUNTIME_ARTIFACT, MESSAGE_PROCESSING_LOG};
use super::*;

fn filter(text: &str) -> Result<Expr, String> {
    parse(text, &MESSAGE_PROCESSING_LOG).map_err(|e| e.0)
}

fn error_of(text: &str) -> String {
    filter(text).expect_err(text)
}

fn compare(path: &str, op: CompareOp, value: Literal) -> Expr {
    Expr::Compare {
        field: MESSAGE_PROCESSING_LOG.field(path).unwrap(),
        op,
        value,
    }
}

#[test]
fn and_binds_tighter_than_or_and_parentheses_override_it() {
    let status = |s: &str| compare("Status", CompareOp::Eq, Literal::Text(s.into()));
    let sender = compare("Sender", CompareOp::Ne, Literal::Text("isc".into()));
    assert_eq!(
        filter("Status eq 'A' or Status eq 'B' and Sender ne 'isc'").unwrap(),
        Expr::Or(vec![
            status("A"),
            Expr::And(vec![status("B"), sender.clone()])
        ])
    );
    assert_eq!(
        filter("(Status eq 'A' or Status eq 'B') and Sender ne 'isc'").unwrap(),
        Expr::And(vec![Expr::Or(vec![status("A"), status("B")]), sender])
    );
}

#[test]
fn chains_of_and_and_or_are_lists_not_nested_levels() {
    let id = |s: &str| {
        compare(
            "ApplicationMessageId",
            CompareOp::Eq,
            Literal::Text(s.into()),
        )
    };
    assert_eq!(
        filter("ApplicationMessageId eq 'a' or ApplicationMessageId eq 'b' or ApplicationMessageId eq 'c'").unwrap(),
        Expr::Or(vec![id("a"), id("b"), id("c")])
    );
    // Parentheses group without a node of their own.
    assert_eq!(
        filter("((ApplicationMessageId eq 'a') and (ApplicationMessageId eq 'b'))").unwrap(),
        Expr::And(vec![id("a"), id("b")])
    );
    assert_eq!(
        filter("(ApplicationMessageId eq 'a' and ApplicationMessageId eq 'b') and ApplicationMessageId eq 'c'").unwrap(),
        Expr::And(vec![Expr::And(vec![id("a"), id("b")]), id("c")])
    );
}

#[test]
fn filters_past_a_limit_are_refused_naming_the_limit() {
    let nested = |depth: usize| format!("{}Status eq 'x'{}", "(".repeat(depth), ")".repeat(depth));
    let nots = |count: usize| format!("{}Status eq 'x'", "not ".repeat(count));
    let terms = |count: usize| vec!["EventCount eq 1"; count].join(" or ");
    assert!(filter(&nested(MAX_FILTER_DEPTH)).is_ok());
    assert!(filter(&nots(MAX_FILTER_DEPTH)).is_ok());
    assert!(filter(&format!("not ({})", nots(MAX_FILTER_DEPTH - 2))).is_ok());
    assert!(filter(&terms(MAX_FILTER_COMPARISONS)).is_ok());
    for (text, expected) in [
        (
            nested(MAX_FILTER_DEPTH + 1),
            "the '(' at position 33 is nested more than 32 deep (parentheses and 'not' count together); the limit is 32",
        ),
        (
            nots(MAX_FILTER_DEPTH + 1),
            "the 'not' at position 129 is nested more than 32 deep",
        ),
        (
            format!("not ({})", nots(MAX_FILTER_DEPTH - 1)),
            "the 'not' at position 126 is nested more than 32 deep",
        ),
        // Issue 18's crashes: 3,000 parentheses (18 KB percent-encoded), 5,000 nots.
        (
            nested(3000),
            "the '(' at position 33 is nested more than 32 deep",
        ),
        (
            nots(5000),
            "$filter is 20013 characters long; the limit is 8192 characters",
        ),
        (
            terms(MAX_FILTER_COMPARISONS + 1),
            "$filter has more than 100 comparisons (the one at position 1901 is one too many); the limit is 100",
        ),
    ] {
        let error = error_of(&text);
        assert!(error.contains(expected), "{}…: {error}", &text[..40]);
    }
}

#[test]
fn literals_are_typed_by_the_property() {
    assert_eq!(
        filter("LogStart ge datetime'2026-03-01T10:15:30'").unwrap(),
        compare(
            "LogStart",
            CompareOp::Ge,
            Literal::DateTime(datetime!(2026-03-01 10:15:30 UTC))
        )
    );
    assert_eq!(
        filter("LogEnd lt datetime'2026-03-01T10:15'").unwrap(),
        compare(
            "LogEnd",
            CompareOp::Lt,
            Literal::DateTime(datetime!(2026-03-01 10:15 UTC))
        )
    );
    assert_eq!(
        filter("ApplicationMessageId eq 'it''s'").unwrap(),
        compare(
            "ApplicationMessageId",
            CompareOp::Eq,
            Literal::Text("it's".into())
        )
    );
    assert_eq!(
        filter("EventCount gt 2 and Repost eq true").unwrap(),
        Expr::And(vec![
            compare("EventCount", CompareOp::Gt, Literal::Int(2)),
            compare("Repost", CompareOp::Eq, Literal::Bool(true))
        ])
    );
    assert_eq!(
        filter("OriginalMessageGuid ne null").unwrap(),
        compare("OriginalMessageGuid", CompareOp::Ne, Literal::Null)
    );
}

#[test]
fn a_literal_on_the_left_is_turned_around() {
    assert_eq!(
        filter("datetime'2026-03-01T00:00:00' lt LogStart").unwrap(),
        compare(
            "LogStart",
            CompareOp::Gt,
            Literal::DateTime(datetime!(2026-03-01 0:00 UTC))
        )
    );
}

#[test]
fn complex_property_paths_can_be_filtered() {
    assert_eq!(
        filter("IntegrationArtifact/Id eq 'ISC_Events'").unwrap(),
        compare(
            "IntegrationArtifact/Id",
            CompareOp::Eq,
            Literal::Text("ISC_Events".into())
        )
    );
}

#[test]
fn malformed_filters_name_the_problem() {
    for (text, expected) in [
        ("", "$filter is empty"),
        ("Status eq", "ends too early"),
        ("Status 'COMPLETED'", "expected an operator"),
        ("Status like 'X'", "'like' at position 8 is not an operator"),
        (
            "Nope eq 'X'",
            "'Nope' at position 1 is not a property of MessageProcessingLogs",
        ),
        ("Status eq 'open", "has no closing quote"),
        ("(Status eq 'A'", "is never closed"),
        (
            "Status eq 'A' Sender eq 'b'",
            "unexpected 'Sender' at position 15",
        ),
        ("LogStart gt '2026-01-01'", "LogStart is a date and time"),
        (
            "LogStart gt datetime'yesterday'",
            "datetime'yesterday' (position 13) is not a date",
        ),
        ("Status eq 3", "Status is a string"),
        (
            "Status gt null",
            "null (position 11) can only be compared with eq or ne",
        ),
        ("substringof('x', Status)", "the function 'substringof'"),
        ("Status eq Sender", "comparing two properties"),
        ("'a' eq 'b'", "has no property"),
        ("Status eq 'A' and", "ends too early"),
        ("Status eq 'A' # x", "unexpected character '#'"),
        ("EventCount gt 1.5", "only whole numbers"),
    ] {
        let error = error_of(text);
        assert!(error.contains(expected), "{text:?}: {error}");
    }
}

#[test]
fn query_options_parse_and_reject_what_does_not_fit() {
    let options = QueryOptions::parse(
        Some("$filter=Status%20eq%20'FAILED'&$orderby=LogEnd%20desc,Sender&$top=5&$skip=10&$inlinecount=allpages&$select=MessageGuid,Status&$format=json&custom=1"),
        &MESSAGE_PROCESSING_LOG,
        Scope::Collection,
    )
    .unwrap();
    assert!(options.filter.is_some());
    assert_eq!(options.orderby.len(), 2);
    assert_eq!(options.orderby[0].field.path, "LogEnd");
    assert_eq!(options.orderby[0].direction, Direction::Desc);
    assert_eq!(options.orderby[1].direction, Direction::Asc);
    assert_eq!((options.top, options.skip), (Some(5), 10));
    assert!(options.inline_count);
    assert_eq!(options.select, Some(vec!["MessageGuid", "Status"]));

    for (query, scope, expected) in [
        ("$top=-1", Scope::Collection, "$top must be a whole number"),
        (
            "$orderby=Status,Sender,Status,Sender,Status,Sender,Status,Sender,Status",
            Scope::Collection,
            "$orderby names more than 8 properties (9); the limit is 8",
        ),
        ("$skip=x", Scope::Collection, "$skip must be a whole number"),
        ("$inlinecount=some", Scope::Collection, "allpages or none"),
        (
            "$orderby=Nope",
            Scope::Collection,
            "'Nope' is not a property",
        ),
        (
            "$orderby=Status%20up",
            Scope::Collection,
            "must be asc or desc",
        ),
        (
            "$select=Status,Nope",
            Scope::Collection,
            "'Nope' is not a property",
        ),
        (
            "$format=xml",
            Scope::Collection,
            "$format=xml is not served",
        ),
        (
            "$expand=ErrorInformation",
            Scope::Collection,
            "$expand is not supported",
        ),
        (
            "$search=x",
            Scope::Collection,
            "$search is not a supported query option",
        ),
        (
            "$top=1&$top=2",
            Scope::Collection,
            "$top is given more than once",
        ),
        ("$top=1", Scope::Entry, "$top applies to collections"),
        (
            "$select=Status",
            Scope::Value,
            "$select applies to collections",
        ),
    ] {
        let error = QueryOptions::parse(Some(query), &MESSAGE_PROCESSING_LOG, scope)
            .expect_err(query)
            .0;
        assert!(error.contains(expected), "{query}: {error}");
    }
}

#[test]
fn filters_evaluate_in_memory_for_small_collections() {
    let expr = parse(
        "Status eq 'STARTED' and (Name eq 'A' or Name eq 'B') and not (Id eq 'x')",
        &INTEGRATION_RUNTIME_ARTIFACT,
    )
    .unwrap();
    let row = |name: &'static str, id: &'static str| {
        move |path: &str| match path {
            "Status" => Value::Text("STARTED"),
            "Name" => Value::Text(name),
            "Id" => Value::Text(id),
            _ => Value::Null,
        }
    };
    assert!(expr.matches(&row("A", "y")));
    assert!(!expr.matches(&row("C", "y")));
    assert!(!expr.matches(&row("B", "x")));
}

#[test]
fn a_date_finer_than_a_millisecond_compares_as_the_moment_it_names() {
    // Dates are kept in whole milliseconds; a client's clock gives microseconds.
    let kept = Value::DateTime(datetime!(2026-03-01 10:15:30.123 UTC));
    let at = "datetime'2026-03-01T10:15:30.1235'";
    for (op, expected) in [
        ("lt", true),
        ("le", true),
        ("gt", false),
        ("ge", false),
        ("eq", false),
        ("ne", true),
    ] {
        let expr = filter(&format!("LogStart {op} {at}")).unwrap();
        assert_eq!(expr.matches(&|_| kept.clone()), expected, "{op}: {expr:?}");
        // A missing date: only `ne` holds, as for a whole-millisecond literal.
        assert_eq!(expr.matches(&|_| Value::Null), op == "ne", "{op} null");
    }
    // The store compares whole milliseconds: the literals it is given are whole ones.
    let millisecond = |m: u16| {
        Literal::DateTime(
            datetime!(2026-03-01 10:15:30 UTC)
                .replace_millisecond(m)
                .unwrap(),
        )
    };
    assert_eq!(
        filter(&format!("LogStart lt {at}")).unwrap(),
        compare("LogStart", CompareOp::Lt, millisecond(124))
    );
    assert_eq!(
        filter(&format!("{at} lt LogEnd")).unwrap(),
        compare("LogEnd", CompareOp::Gt, millisecond(123))
    );
    // A whole millisecond is left as written.
    assert_eq!(
        filter("LogStart ge datetime'2026-03-01T10:15:30.123'").unwrap(),
        compare("LogStart", CompareOp::Ge, millisecond(123))
    );
}
