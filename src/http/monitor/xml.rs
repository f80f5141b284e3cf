//! A stored body as the detail page shows it: laid out and coloured when it reads as XML
//! ([`crate::soap::pretty`] does the reading), and always as its exact text too. Every piece is
//! spliced in by maud, which escapes it: a `<script>` in a payload is text on the page.

use maud::{Markup, html};

use crate::soap::pretty::{Line, Piece, pretty};

/// Bodies larger than this are shown cut here, with a download link for the whole.
pub const DISPLAY_LIMIT: usize = 256 * 1024;

/// How a body is shown.
pub struct Shown {
    /// The laid-out XML, or why there is none.
    pub pretty: Result<Markup, String>,
    /// The body's text as received (cut at [`DISPLAY_LIMIT`]), and whether it was cut.
    pub raw: String,
    pub truncated: bool,
    /// The body is not UTF-8; `raw` shows invalid bytes as U+FFFD.
    pub lossy: bool,
}

/// Shows `body`.
pub fn show(body: &[u8]) -> Shown {
    let truncated = body.len() > DISPLAY_LIMIT;
    let head = &body[..body.len().min(DISPLAY_LIMIT)];
    let (raw, lossy) = match std::str::from_utf8(head) {
        Ok(text) => (text.to_owned(), false),
        // A cut in the middle of a character is not a body that is not UTF-8.
        Err(e) if truncated && e.error_len().is_none() => (
            String::from_utf8_lossy(&head[..e.valid_up_to()]).into_owned(),
            false,
        ),
        Err(_) => (String::from_utf8_lossy(head).into_owned(), true),
    };
    let pretty = if truncated {
        Err(format!(
            "The body is larger than {} KiB, so it is not laid out; the raw view shows its beginning.",
            DISPLAY_LIMIT / 1024
        ))
    } else if lossy {
        Err("The body is not UTF-8, so it is not laid out.".to_owned())
    } else {
        pretty(&raw)
            .map(|lines| render(&lines))
            .map_err(|e| format!("Not laid out: {e}."))
    };
    Shown {
        pretty,
        raw,
        truncated,
        lossy,
    }
}

fn render(lines: &[Line]) -> Markup {
    html! {
        pre.xml { code {
            @for line in lines {
                (indent(line.depth))
                @for (piece, text) in &line.pieces {
                    span class=(class(*piece)) { (text) }
                }
                "\n"
            }
        } }
    }
}

/// Two spaces a level, at most 40 levels (deeper lines are shown at that depth).
fn indent(depth: usize) -> String {
    "  ".repeat(depth.min(40))
}

fn class(piece: Piece) -> &'static str {
    match piece {
        Piece::Markup => "x-m",
        Piece::Element => "x-e",
        Piece::Attribute => "x-a",
        Piece::Value => "x-v",
        Piece::Text => "x-t",
        Piece::Reference => "x-r",
        Piece::CData => "x-c",
        Piece::Comment => "x-k",
        Piece::Declaration => "x-d",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_payload_is_escaped_text() {
        let shown = show(b"<a><![CDATA[<script>alert(1)</script>]]>&lt;img&gt;</a>");
        let html = shown.pretty.unwrap().into_string();
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(html.contains("&amp;lt;"), "{html}");
        assert!(html.contains(r#"<span class="x-e">a</span>"#), "{html}");
    }

    #[test]
    fn large_and_broken_bodies_are_shown_raw() {
        let big = vec![b'a'; DISPLAY_LIMIT + 10];
        let shown = show(&big);
        assert!(shown.truncated && shown.pretty.is_err());
        assert_eq!(shown.raw.len(), DISPLAY_LIMIT);
        let shown = show(b"<a><b></a>");
        assert!(shown.pretty.unwrap_err().starts_with("Not laid out"));
        assert_eq!(shown.raw, "<a><b></a>");
        let shown = show(b"<a>\xff</a>");
        assert!(shown.lossy && shown.raw.contains('\u{fffd}'));
    }
}
