//! `nats`'s `subject`: a NATS subject with `{field}` placeholders, parsed when the configuration
//! loads, so an unknown field or a subject NATS would refuse stops start-up instead of failing
//! every publish.

use serde::Deserialize;

/// A subject such as `sf.events.{kind}`. Each placeholder is replaced by one value made
/// subject-safe when the handler publishes (see `crate::handler`'s `nats`), so the literal text
/// alone decides the subject's structure; it is checked here.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct SubjectTemplate {
    parts: Vec<SubjectPart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectPart {
    Text(String),
    Field(SubjectField),
}

/// What a placeholder may name: the event JSON's names of the message and of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectField {
    Endpoint,
    Sender,
    ExternalEventId,
    Kind,
    Type,
    EventId,
    EntityType,
    /// `key.<name>`: an entity key.
    Key(String),
    /// `param.<name>`: a param.
    Param(String),
}

const NAMES: &str =
    "endpoint, sender, externalEventId, kind, type, eventId, entityType, key.<name>, param.<name>";

impl SubjectField {
    fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "endpoint" => Self::Endpoint,
            "sender" => Self::Sender,
            "externalEventId" => Self::ExternalEventId,
            "kind" => Self::Kind,
            "type" => Self::Type,
            "eventId" => Self::EventId,
            "entityType" => Self::EntityType,
            _ => match name.split_once('.') {
                Some(("key", key)) if !key.is_empty() => Self::Key(key.to_owned()),
                Some(("param", param)) if !param.is_empty() => Self::Param(param.to_owned()),
                _ => {
                    return Err(format!(
                        "unknown subject placeholder {{{name}}}; expected one of {NAMES}"
                    ));
                }
            },
        })
    }

    /// Whether the value belongs to one event rather than to the whole message (an envelope
    /// published whole has no single event to take it from).
    pub fn is_per_event(&self) -> bool {
        !matches!(self, Self::Endpoint | Self::Sender | Self::ExternalEventId)
    }

    /// The name as written in the template.
    pub fn name(&self) -> String {
        match self {
            Self::Endpoint => "endpoint".to_owned(),
            Self::Sender => "sender".to_owned(),
            Self::ExternalEventId => "externalEventId".to_owned(),
            Self::Kind => "kind".to_owned(),
            Self::Type => "type".to_owned(),
            Self::EventId => "eventId".to_owned(),
            Self::EntityType => "entityType".to_owned(),
            Self::Key(name) => format!("key.{name}"),
            Self::Param(name) => format!("param.{name}"),
        }
    }
}

impl SubjectTemplate {
    pub fn parts(&self) -> &[SubjectPart] {
        &self.parts
    }

    /// The placeholders, in order.
    pub fn fields(&self) -> impl Iterator<Item = &SubjectField> {
        self.parts.iter().filter_map(|part| match part {
            SubjectPart::Field(field) => Some(field),
            SubjectPart::Text(_) => None,
        })
    }
}

impl TryFrom<String> for SubjectTemplate {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text.as_str();
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(SubjectPart::Text(rest[..open].to_owned()));
            }
            let inner = &rest[open + 1..];
            let close = inner
                .find('}')
                .ok_or_else(|| format!("'{{' without a closing '}}' in subject {text:?}"))?;
            parts.push(SubjectPart::Field(SubjectField::parse(
                inner[..close].trim(),
            )?));
            rest = &inner[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(SubjectPart::Text(rest.to_owned()));
        }
        // Every value renders as at least one safe character, so a sample value shows whether
        // the literal text makes a subject NATS accepts.
        let sample: String = parts
            .iter()
            .map(|part| match part {
                SubjectPart::Text(text) => text.as_str(),
                SubjectPart::Field(_) => "x",
            })
            .collect();
        check_subject(&sample).map_err(|why| format!("subject {text:?} {why}"))?;
        Ok(Self { parts })
    }
}

/// Why `subject` is not a subject to publish to: NATS splits subjects into tokens at `.`, uses
/// `*` and `>` as wildcards, and keeps `$`-subjects for its own APIs (`$JS.API...`).
fn check_subject(subject: &str) -> Result<(), &'static str> {
    if subject.is_empty() {
        return Err("is empty");
    }
    if subject.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains white space or control characters");
    }
    if subject.contains(['*', '>', '}']) {
        return Err("contains a wildcard ('*', '>') or a stray '}'; publish subjects are literal");
    }
    if subject.split('.').any(str::is_empty) {
        return Err("has an empty token (a leading, trailing or doubled '.')");
    }
    if subject.starts_with('$') {
        return Err("starts with '$', which NATS keeps for its own APIs");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SubjectTemplate, String> {
        SubjectTemplate::try_from(text.to_owned())
    }

    #[test]
    fn placeholders_become_fields_between_literal_text() {
        let template = parse("sf.{ endpoint }.{kind}-v1.{key.userId}").unwrap();
        assert_eq!(
            template.parts(),
            [
                SubjectPart::Text("sf.".into()),
                SubjectPart::Field(SubjectField::Endpoint),
                SubjectPart::Text(".".into()),
                SubjectPart::Field(SubjectField::Kind),
                SubjectPart::Text("-v1.".into()),
                SubjectPart::Field(SubjectField::Key("userId".into())),
            ]
        );
        assert_eq!(
            template
                .fields()
                .map(SubjectField::is_per_event)
                .collect::<Vec<_>>(),
            [false, true, true]
        );
        assert_eq!(parse("plain.subject").unwrap().fields().count(), 0);
    }

    #[test]
    fn unknown_fields_and_subjects_nats_refuses_are_errors() {
        let error = parse("sf.{Kind}").unwrap_err();
        assert!(
            error.starts_with("unknown subject placeholder {Kind}; expected one of endpoint"),
            "{error}"
        );
        for (text, why) in [
            ("sf.{kind", "without a closing"),
            ("sf.{{kind}}", "unknown subject placeholder {{kind}"),
            ("", "is empty"),
            ("sf events", "white space"),
            ("sf.*", "wildcard"),
            ("sf.>", "wildcard"),
            ("sf.}", "stray"),
            ("sf..{kind}", "empty token"),
            (".sf", "empty token"),
            ("sf.{kind}.", "empty token"),
            ("$JS.API.{kind}", "starts with '$'"),
            ("{key.}", "unknown subject placeholder"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(why), "{text:?}: {error}");
        }
    }
}
