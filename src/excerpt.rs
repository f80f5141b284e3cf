//! What an error may repeat of a sender's input: a short excerpt, never the whole of it.
//!
//! Faults, JSON errors and log entries name what was wrong with a request: an element, a
//! namespace, an entity, a path, a header. The input is bounded only by the body limit (1 MiB by
//! default), so a sender could otherwise make iflowd repeat a megabyte back to it, into the
//! message log's error text and again into the stored answer, for every call. Every such name is
//! shown through [`Excerpt`]: its first [`SHOWN`] characters, and how long it was.

use std::fmt;

/// Characters of an input an error repeats at most.
pub const SHOWN: usize = 100;

/// Displays `text` whole when it has at most [`SHOWN`] characters, else its first [`SHOWN`]
/// characters followed by `... (N bytes in all)`.
#[derive(Debug, Clone, Copy)]
pub struct Excerpt<'a>(pub &'a str);

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(SHOWN) {
            None => f.write_str(self.0),
            Some((end, _)) => write!(f, "{}... ({} bytes in all)", &self.0[..end], self.0.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_shown_whole_and_long_text_cut_on_a_character() {
        assert_eq!(Excerpt("Envelope").to_string(), "Envelope");
        let exact = "a".repeat(SHOWN);
        assert_eq!(Excerpt(&exact).to_string(), exact);
        let long = "é".repeat(SHOWN + 1);
        assert_eq!(
            Excerpt(&long).to_string(),
            format!("{}... ({} bytes in all)", "é".repeat(SHOWN), long.len())
        );
    }
}
