//! XML laid out for people: one element per line, indented by depth, each piece marked with what
//! it is, so the monitor can colour a stored request or answer without knowing XML.
//!
//! Nothing is interpreted. No DTD is read (a `<!DOCTYPE>` is shown as a declaration, never
//! processed), no entity or character reference is expanded (it is shown as written), text and
//! attribute values are shown as written. The reader goes through the document once, without
//! recursion, so any nesting only costs memory in proportion to the document, which the caller
//! bounds. A document that does not read as XML is an error, and the caller shows the bytes as
//! they are.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// What a piece of a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// `<`, `</`, `>`, `/>`, `=`, `"` and the spaces between attributes.
    Markup,
    /// An element's name, with its prefix.
    Element,
    /// An attribute's name, with its prefix (`xmlns:ns3` too).
    Attribute,
    /// An attribute's value, as written.
    Value,
    /// Character data, as written.
    Text,
    /// An entity or character reference in text (`&amp;`, `&#60;`), as written.
    Reference,
    /// `<![CDATA[...]]>`, whole.
    CData,
    /// `<!-- ... -->`, whole.
    Comment,
    /// `<?xml ...?>`, a processing instruction, or a `<!DOCTYPE ...>`, whole.
    Declaration,
}

/// One line of the laid-out document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// How deep the line's first piece sits: 0 for the root element.
    pub depth: usize,
    pub pieces: Vec<(Piece, String)>,
}

/// Why a document could not be laid out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not well-formed XML at byte {position}: {reason}")]
pub struct PrettyError {
    pub position: u64,
    pub reason: String,
}

/// Lays `xml` out: an element whose content is only text stays on one line
/// (`<userId>1001</userId>`); every other element, comment and declaration starts a line.
/// Text that is only whitespace (between elements) is dropped; other text is kept as it is.
pub fn pretty(xml: &str) -> Result<Vec<Line>, PrettyError> {
    let mut reader = Reader::from_str(xml);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.trim_text(false);
    let mut layout = Layout::default();
    loop {
        let event = reader.read_event().map_err(|e| PrettyError {
            position: reader.error_position(),
            reason: e.to_string(),
        })?;
        match event {
            Event::Start(start) => {
                let line = layout.open_line();
                tag(&mut line.pieces, &start, false).map_err(|reason| PrettyError {
                    position: reader.buffer_position(),
                    reason,
                })?;
                layout.open = Some(layout.lines.len() - 1);
                layout.depth += 1;
            }
            Event::Empty(start) => {
                let line = layout.open_line();
                tag(&mut line.pieces, &start, true).map_err(|reason| PrettyError {
                    position: reader.buffer_position(),
                    reason,
                })?;
                layout.open = None;
            }
            Event::End(end) => {
                layout.depth = layout.depth.saturating_sub(1);
                let pieces = vec![
                    (Piece::Markup, "</".to_owned()),
                    (Piece::Element, end.to_string()),
                    (Piece::Markup, ">".to_owned()),
                ];
                layout.close(pieces);
            }
            Event::Text(text) => {
                if !text.trim().is_empty() {
                    layout.inline(Piece::Text, text.to_string());
                }
            }
            Event::GeneralRef(reference) => {
                layout.inline(Piece::Reference, format!("&{};", &*reference));
            }
            Event::CData(data) => layout.inline(Piece::CData, format!("<![CDATA[{}]]>", &*data)),
            Event::Comment(comment) => {
                layout.standalone(Piece::Comment, format!("<!--{}-->", &*comment));
            }
            Event::Decl(decl) => layout.standalone(Piece::Declaration, format!("<?{}?>", &*decl)),
            Event::PI(pi) => layout.standalone(Piece::Declaration, format!("<?{}?>", &*pi)),
            Event::DocType(doctype) => {
                layout.standalone(Piece::Declaration, format!("<!DOCTYPE {}>", doctype.trim()));
            }
            Event::Eof => break,
        }
    }
    if layout.depth > 0 {
        return Err(PrettyError {
            position: reader.buffer_position(),
            reason: format!("{} element(s) are not closed", layout.depth),
        });
    }
    Ok(layout.lines)
}

/// The lines so far, and where the next piece goes.
#[derive(Default)]
struct Layout {
    lines: Vec<Line>,
    depth: usize,
    /// The line of the innermost open element while it has no line of content of its own: its
    /// text and its end tag join that line.
    open: Option<usize>,
}

impl Layout {
    fn open_line(&mut self) -> &mut Line {
        self.lines.push(Line {
            depth: self.depth,
            pieces: Vec::new(),
        });
        let last = self.lines.len() - 1;
        &mut self.lines[last]
    }

    /// Text-like content: on its element's line while that has no other lines.
    fn inline(&mut self, piece: Piece, text: String) {
        match self.open.filter(|&i| i + 1 == self.lines.len()) {
            Some(i) => self.lines[i].pieces.push((piece, text)),
            None => {
                self.open_line().pieces.push((piece, text));
                // Further text joins this line, but it is no element's line.
                self.open = None;
            }
        }
    }

    /// A piece on a line of its own; the open element now has lines inside it.
    fn standalone(&mut self, piece: Piece, text: String) {
        self.open_line().pieces.push((piece, text));
        self.open = None;
    }

    fn close(&mut self, pieces: Vec<(Piece, String)>) {
        match self.open.take().filter(|&i| i + 1 == self.lines.len()) {
            Some(i) => self.lines[i].pieces.extend(pieces),
            None => self.open_line().pieces.extend(pieces),
        }
    }
}

/// The pieces of a start tag (or an empty element's tag, `empty`).
fn tag(
    pieces: &mut Vec<(Piece, String)>,
    start: &BytesStart<'_>,
    empty: bool,
) -> Result<(), String> {
    pieces.push((Piece::Markup, "<".to_owned()));
    pieces.push((Piece::Element, start.name().as_ref().to_owned()));
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| e.to_string())?;
        pieces.push((Piece::Markup, " ".to_owned()));
        pieces.push((Piece::Attribute, attribute.key.as_ref().to_owned()));
        pieces.push((Piece::Markup, "=\"".to_owned()));
        pieces.push((Piece::Value, attribute.value.into_owned()));
        pieces.push((Piece::Markup, "\"".to_owned()));
    }
    pieces.push((Piece::Markup, if empty { "/>" } else { ">" }.to_owned()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|line| {
                let text: String = line.pieces.iter().map(|(_, t)| t.as_str()).collect();
                format!("{}{text}", "  ".repeat(line.depth))
            })
            .collect()
    }

    #[test]
    fn elements_get_lines_and_text_stays_with_its_element() {
        let xml = r#"<?xml version="1.0"?><S:Envelope xmlns:S="urn:s"><S:Body><a x='1'>one &amp; two</a><b/><!-- c --></S:Body></S:Envelope>"#;
        assert_eq!(
            shown(&pretty(xml).unwrap()),
            [
                r#"<?xml version="1.0"?>"#,
                r#"<S:Envelope xmlns:S="urn:s">"#,
                "  <S:Body>",
                r#"    <a x="1">one &amp; two</a>"#,
                "    <b/>",
                "    <!-- c -->",
                "  </S:Body>",
                "</S:Envelope>",
            ]
        );
    }

    #[test]
    fn pieces_say_what_they_are_and_nothing_is_expanded() {
        let lines = pretty("<v a=\"&lt;\">&#60;script&gt;<![CDATA[<b>]]></v>").unwrap();
        let pieces = &lines[0].pieces;
        assert!(pieces.contains(&(Piece::Element, "v".into())));
        assert!(pieces.contains(&(Piece::Attribute, "a".into())));
        assert!(pieces.contains(&(Piece::Value, "&lt;".into())));
        assert!(pieces.contains(&(Piece::Reference, "&#60;".into())));
        assert!(pieces.contains(&(Piece::Text, "script".into())));
        assert!(pieces.contains(&(Piece::Reference, "&gt;".into())));
        assert!(pieces.contains(&(Piece::CData, "<![CDATA[<b>]]>".into())));
    }

    #[test]
    fn a_doctype_is_shown_not_processed() {
        let xml = r#"<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>"#;
        let lines = pretty(xml).unwrap();
        assert_eq!(lines[0].pieces[0].0, Piece::Declaration);
        assert_eq!(shown(&lines)[1], "<x>&e;</x>");
    }

    #[test]
    fn broken_documents_are_errors() {
        for xml in ["<a><b></a>", "<a>", "<a x=1/>", "<a></b>"] {
            assert!(pretty(xml).is_err(), "{xml}");
        }
    }

    #[test]
    fn deep_nesting_is_a_loop_not_a_recursion() {
        let xml = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        // 99,999 lines open, the innermost element is one line, 99,999 lines close.
        assert_eq!(pretty(&xml).unwrap().len(), 199_999);
    }
}
