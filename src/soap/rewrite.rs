//! Changing a request before it is sent again, for `iflowd send --fresh-ids`.

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};

use super::{EVENT_V1_NS, EVENT_V2_NS};

/// `body` with the text of its first `externalEventId` (in either event namespace) replaced by
/// `id`, so a repeated post is a new delivery rather than a duplicate. `None` when the body is not
/// UTF-8 XML or has no `externalEventId`.
pub fn with_external_event_id(body: &[u8], id: &str) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut reader = NsReader::from_str(text);
    loop {
        match reader.read_resolved_event().ok()? {
            (ResolveResult::Bound(Namespace(ns)), Event::Start(start))
                if (ns == EVENT_V2_NS || ns == EVENT_V1_NS)
                    && start.local_name().as_ref() == "externalEventId" =>
            {
                let from = usize::try_from(reader.buffer_position()).ok()?;
                let to = loop {
                    let before = usize::try_from(reader.buffer_position()).ok()?;
                    match reader.read_event().ok()? {
                        Event::End(_) => break before,
                        Event::Eof | Event::Start(_) => return None,
                        _ => {}
                    }
                };
                let mut out = Vec::with_capacity(body.len() + id.len());
                out.extend_from_slice(&body[..from]);
                out.extend_from_slice(quick_xml::escape::escape(id).as_bytes());
                out.extend_from_slice(&body[to..]);
                return Some(out);
            }
            (_, Event::Eof) => return None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_external_event_id_is_replaced_and_the_rest_kept() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/termination.xml");
        let body = std::fs::read(path).unwrap();
        let rewritten = with_external_event_id(&body, "fresh-1").unwrap();
        let request = crate::soap::parse(&rewritten).unwrap();
        let original = crate::soap::parse(&body).unwrap();
        assert_eq!(request.meta.external_event_id.as_deref(), Some("fresh-1"));
        assert_eq!(request.events, original.events);
        assert_eq!(with_external_event_id(b"<a/>", "x"), None);
    }
}
