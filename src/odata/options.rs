//! The system query options of a request (`$filter`, `$orderby`, `$top`, `$skip`,
//! `$inlinecount`, `$select`, `$format`).

use super::filter::{self, Expr};
use super::schema::{Field, Schema};
use super::{MAX_ORDERBY_PROPERTIES, QueryError};
use crate::excerpt::Excerpt;

/// What the URL addresses, which decides the options that make sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A collection: every option.
    Collection,
    /// One entry: `$select` and `$format`.
    Entry,
    /// A raw value (`$value`, `$count`, `$metadata`): `$format` at most.
    Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub field: &'static Field,
    pub direction: Direction,
}

/// The parsed options. Absent options have their OData defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryOptions {
    pub filter: Option<Expr>,
    pub orderby: Vec<OrderBy>,
    pub top: Option<u64>,
    pub skip: u64,
    /// `$inlinecount=allpages`: answer `__count` with the number of matches.
    pub inline_count: bool,
    /// Properties to render; `None` means all.
    pub select: Option<Vec<&'static str>>,
}

impl QueryOptions {
    /// Parses a raw (percent-encoded) query string. Options OData does not define and that do not
    /// start with `$` are custom options and ignored, as OData says; an unknown `$` option, an
    /// option given twice or one that makes no sense for `scope` is an error.
    pub fn parse(
        query: Option<&str>,
        schema: &'static Schema,
        scope: Scope,
    ) -> Result<Self, QueryError> {
        let mut options = Self::default();
        let mut seen: Vec<String> = Vec::new();
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            if !key.starts_with('$') {
                continue;
            }
            if seen.iter().any(|k| *k == key) {
                return Err(QueryError::new(format!("{key} is given more than once")));
            }
            seen.push(key.to_string());
            let allowed = match scope {
                Scope::Collection => true,
                Scope::Entry => matches!(&*key, "$select" | "$format"),
                Scope::Value => key == "$format",
            };
            let known = matches!(
                &*key,
                "$filter" | "$orderby" | "$top" | "$skip" | "$inlinecount" | "$select" | "$format"
            );
            if key == "$expand" {
                return Err(QueryError::new(
                    "$expand is not supported; read a navigation property by its URL, e.g. MessageProcessingLogs('<MessageGuid>')/ErrorInformation",
                ));
            }
            if !known {
                return Err(QueryError::new(format!(
                    "{key} is not a supported query option; use $filter, $orderby, $top, $skip, $inlinecount, $select or $format"
                )));
            }
            if !allowed {
                return Err(QueryError::new(format!(
                    "{key} applies to collections, not to {}",
                    match scope {
                        Scope::Entry => "a single entry",
                        _ => "a raw value",
                    }
                )));
            }
            match &*key {
                "$filter" => options.filter = Some(filter::parse(&value, schema)?),
                "$orderby" => options.orderby = orderby(&value, schema)?,
                "$top" => options.top = Some(count("$top", &value)?),
                "$skip" => options.skip = count("$skip", &value)?,
                "$inlinecount" => {
                    options.inline_count = match &*value {
                        "allpages" => true,
                        "none" => false,
                        other => {
                            return Err(QueryError::new(format!(
                                "$inlinecount must be allpages or none, not '{}'",
                                Excerpt(other)
                            )));
                        }
                    }
                }
                "$select" => options.select = select(&value, schema)?,
                _ => format(&value)?,
            }
        }
        Ok(options)
    }
}

fn count(key: &str, value: &str) -> Result<u64, QueryError> {
    value.trim().parse::<u64>().map_err(|_| {
        QueryError::new(format!(
            "{key} must be a whole number of 0 or more, not '{}'",
            Excerpt(value)
        ))
    })
}

fn format(value: &str) -> Result<(), QueryError> {
    match value.trim() {
        "json" | "application/json" => Ok(()),
        other => Err(QueryError::new(format!(
            "$format={} is not served; this API answers JSON ($format=json)",
            Excerpt(other)
        ))),
    }
}

fn orderby(value: &str, schema: &'static Schema) -> Result<Vec<OrderBy>, QueryError> {
    let items = value.split(',').count();
    if items > MAX_ORDERBY_PROPERTIES {
        return Err(QueryError::new(format!(
            "$orderby names more than {MAX_ORDERBY_PROPERTIES} properties ({items}); the limit is {MAX_ORDERBY_PROPERTIES}"
        )));
    }
    let mut list = Vec::new();
    for item in value.split(',') {
        let mut words = item.split_whitespace();
        let Some(path) = words.next() else {
            return Err(QueryError::new(format!(
                "$orderby '{}' has an empty item; write e.g. LogEnd desc",
                Excerpt(value)
            )));
        };
        let field = schema.field(path).ok_or_else(|| {
            QueryError::new(format!(
                "$orderby: '{}' is not a property of {}",
                Excerpt(path),
                schema.set
            ))
        })?;
        let direction = match words.next() {
            None | Some("asc") => Direction::Asc,
            Some("desc") => Direction::Desc,
            Some(other) => {
                return Err(QueryError::new(format!(
                    "$orderby: '{}' after {path} must be asc or desc",
                    Excerpt(other)
                )));
            }
        };
        if let Some(extra) = words.next() {
            return Err(QueryError::new(format!(
                "$orderby: unexpected '{}' after '{path}'; separate properties with commas",
                Excerpt(extra)
            )));
        }
        list.push(OrderBy { field, direction });
    }
    Ok(list)
}

fn select(value: &str, schema: &'static Schema) -> Result<Option<Vec<&'static str>>, QueryError> {
    let mut names = Vec::new();
    for item in value.split(',') {
        let name = item.trim();
        if name == "*" {
            return Ok(None);
        }
        let Some(property) = schema.properties.iter().find(|p| **p == name) else {
            return Err(QueryError::new(if name.is_empty() {
                format!("$select '{}' has an empty item", Excerpt(value))
            } else {
                format!(
                    "$select: '{}' is not a property of {}; properties are {}",
                    Excerpt(name),
                    schema.set,
                    schema.properties.join(", ")
                )
            }));
        };
        if !names.contains(property) {
            names.push(*property);
        }
    }
    Ok(Some(names))
}
