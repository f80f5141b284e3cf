use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;

use super::jsonl::JsonlHandler;
use super::*;
use crate::event::{Envelope, EventTypes};
use crate::message::MessageContext;

/// Records that it ran, then succeeds or fails as told.
struct Recording {
    name: &'static str,
    fail: bool,
    ran: Arc<Mutex<Vec<&'static str>>>,
}

#[async_trait]
impl Handler for Recording {
    async fn handle(&self, _message: &Message, ack: &mut Ack) -> Result<(), HandlerError> {
        self.ran.lock().unwrap().push(self.name);
        ack.status_details = Some(format!("seen by {}", self.name));
        if self.fail {
            Err(HandlerError::new(format!("{} refused", self.name)))
        } else {
            Ok(())
        }
    }
}

fn message(fixture: &str) -> Message {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(fixture);
    let body = Bytes::from(std::fs::read(path).unwrap());
    let envelope = Envelope::recognise(crate::soap::parse(&body).unwrap(), &EventTypes::default());
    Message {
        context: MessageContext::new("ISC_Test".into(), "isc".into(), body),
        envelope,
    }
}

fn chain(plan: &[(&'static str, bool)], ran: &Arc<Mutex<Vec<&'static str>>>) -> Chain {
    Chain::new(
        plan.iter()
            .map(|&(name, fail)| {
                let handler: Arc<dyn Handler> = Arc::new(Recording {
                    name,
                    fail,
                    ran: Arc::clone(ran),
                });
                (Arc::from(name), handler)
            })
            .collect(),
    )
}

#[tokio::test]
async fn handlers_run_in_order_and_may_shape_the_ack() {
    let ran = Arc::default();
    let message = message("hire.xml");
    let mut ack = Ack::accepted(&message.context, 1);
    chain(&[("a", false), ("b", false)], &ran)
        .run(&message, &mut ack)
        .await
        .unwrap();
    assert_eq!(*ran.lock().unwrap(), ["a", "b"]);
    assert_eq!(ack.status_details.as_deref(), Some("seen by b"));
}

#[tokio::test]
async fn the_chain_stops_at_the_first_failure_and_names_the_handler() {
    let ran = Arc::default();
    let message = message("hire.xml");
    let mut ack = Ack::accepted(&message.context, 1);
    let failure = chain(&[("a", false), ("b", true), ("c", false)], &ran)
        .run(&message, &mut ack)
        .await
        .unwrap_err();
    assert_eq!(*ran.lock().unwrap(), ["a", "b"], "c never runs");
    assert_eq!(&*failure.handler, "b");
    assert_eq!(failure.error, HandlerError::new("b refused"));
}

#[tokio::test]
async fn jsonl_appends_one_line_per_event_before_returning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/events.jsonl");
    let handler = JsonlHandler::open(&path).await.unwrap();
    let message = message("multiple-events.xml");
    let mut ack = Ack::accepted(&message.context, 3);
    handler.handle(&message, &mut ack).await.unwrap();
    handler.handle(&message, &mut ack).await.unwrap();
    // Read right after the handler returned: the lines must already be on disk.
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0]["eventId"], "evt-0001");
    assert_eq!(lines[2]["eventId"], "evt-0003");
    assert_eq!(lines[0]["messageId"], message.context.id.as_str());
    assert_eq!(lines[0]["endpoint"], "ISC_Test");
}

#[tokio::test]
async fn jsonl_writes_nothing_for_a_message_without_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let handler = JsonlHandler::open(&path).await.unwrap();
    let message = message("empty-events.xml");
    handler
        .handle(&message, &mut Ack::accepted(&message.context, 0))
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
}

#[tokio::test]
async fn a_jsonl_file_that_cannot_be_opened_fails_the_build_naming_the_handler() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let mut configs = std::collections::BTreeMap::new();
    configs.insert(
        "archive".to_owned(),
        crate::config::HandlerConfig::Jsonl(crate::config::JsonlConfig {
            path: blocker.join("events.jsonl"),
            when: None,
        }),
    );
    let error = build_handlers(&configs)
        .await
        .err()
        .expect("cannot open a file under a file");
    assert_eq!(error.name, "archive");
    assert!(
        error
            .to_string()
            .starts_with("handler 'archive': cannot open"),
        "{error}"
    );
}

#[tokio::test]
async fn an_exec_program_that_does_not_exist_fails_the_build_naming_the_handler() {
    let mut configs = std::collections::BTreeMap::new();
    configs.insert(
        "script".to_owned(),
        crate::config::HandlerConfig::Exec(crate::config::ExecConfig {
            command: vec!["/nonexistent/on-event".to_owned(), "--verbose".to_owned()],
            timeout_ms: 1000,
            env: Default::default(),
            inherit_env: false,
            working_dir: None,
            when: None,
        }),
    );
    let error = build_handlers(&configs)
        .await
        .err()
        .expect("no such program");
    assert_eq!(error.name, "script");
    assert!(
        error
            .to_string()
            .starts_with("handler 'script': command[0] '/nonexistent/on-event' cannot be used"),
        "{error}"
    );
}

#[test]
fn filters_match_on_every_condition_and_the_per_event_type_of_legacy_messages() {
    use crate::config::When;
    use crate::event::EventKind;
    let message = message("v1-legacy.xml");
    let envelope = &message.envelope;
    let event = &envelope.events[0];
    let type_string = envelope.type_of(event).unwrap().to_owned();
    let when = |text: &str| -> When { toml::from_str(text).unwrap() };

    assert!(
        filter::matches(&When::default(), envelope, event),
        "an empty filter matches"
    );
    assert!(filter::matches(
        &when(&format!("type = \"{type_string}\"")),
        envelope,
        event
    ));
    let prefix = &type_string[..type_string.len() - 3];
    assert!(filter::matches(
        &when(&format!("type = \"{prefix}*\"")),
        envelope,
        event
    ));
    assert!(!filter::matches(
        &when("type = \"nothing.*\""),
        envelope,
        event
    ));
    let kind = event.kind();
    let other = if kind == EventKind::Hire {
        "termination"
    } else {
        "hire"
    };
    assert!(filter::matches(
        &when(&format!("kind = [\"{other}\", \"{}\"]", kind.as_str())),
        envelope,
        event
    ));
    assert!(!filter::matches(
        &when(&format!("kind = \"{other}\"")),
        envelope,
        event
    ));
    assert!(
        !filter::matches(
            &when(&format!(
                "kind = \"{}\"\nkey.noSuchKey = \"x\"",
                kind.as_str()
            )),
            envelope,
            event
        ),
        "every condition must hold"
    );
}
