//! `{{field}}` templates for the `respond` handler, parsed when the configuration loads so an
//! unknown field stops start-up instead of rendering as nothing.

use serde::Deserialize;

/// Text with `{{field}}` placeholders naming fields of the event JSON shape.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Field(Field),
}

/// What a placeholder may name. Event fields come from the first event the handler sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    MessageId,
    Endpoint,
    Sender,
    /// How many events the handler sees.
    EventCount,
    ExternalEventId,
    Type,
    Kind,
    EventId,
    EntityType,
    EffectiveStartDate,
    PublishedAt,
    PublishedBy,
    /// `key.<name>`: an entity key.
    Key(String),
    /// `param.<name>`: a param.
    Param(String),
}

const NAMES: &str = "messageId, endpoint, sender, eventCount, externalEventId, type, kind, eventId, \
                     entityType, effectiveStartDate, publishedAt, publishedBy, key.<name>, param.<name>";

impl Field {
    fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "messageId" => Self::MessageId,
            "endpoint" => Self::Endpoint,
            "sender" => Self::Sender,
            "eventCount" => Self::EventCount,
            "externalEventId" => Self::ExternalEventId,
            "type" => Self::Type,
            "kind" => Self::Kind,
            "eventId" => Self::EventId,
            "entityType" => Self::EntityType,
            "effectiveStartDate" => Self::EffectiveStartDate,
            "publishedAt" => Self::PublishedAt,
            "publishedBy" => Self::PublishedBy,
            _ => match name.split_once('.') {
                Some(("key", key)) if !key.is_empty() => Self::Key(key.to_owned()),
                Some(("param", param)) if !param.is_empty() => Self::Param(param.to_owned()),
                _ => {
                    return Err(format!(
                        "unknown template field {{{{{name}}}}}; expected one of {NAMES}"
                    ));
                }
            },
        })
    }
}

impl Template {
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }
}

impl TryFrom<String> for Template {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text.as_str();
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let inner = &rest[open + 2..];
            let close = inner
                .find("}}")
                .ok_or_else(|| format!("'{{{{' without a closing '}}}}' in {text:?}"))?;
            parts.push(Part::Field(Field::parse(inner[..close].trim())?));
            rest = &inner[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self { parts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_fields() {
        let template =
            Template::try_from("created {{ externalEventId }} for {{key.userId}}!".to_owned())
                .unwrap();
        assert_eq!(
            template.parts(),
            [
                Part::Text("created ".into()),
                Part::Field(Field::ExternalEventId),
                Part::Text(" for ".into()),
                Part::Field(Field::Key("userId".into())),
                Part::Text("!".into()),
            ]
        );
    }

    #[test]
    fn unknown_fields_and_open_braces_are_errors() {
        let error = Template::try_from("{{externalEventID}}".to_owned()).unwrap_err();
        assert!(
            error.starts_with("unknown template field {{externalEventID}}"),
            "{error}"
        );
        assert!(Template::try_from("{{key.}}".to_owned()).is_err());
        assert!(
            Template::try_from("x {{type".to_owned())
                .unwrap_err()
                .contains("closing")
        );
    }
}
