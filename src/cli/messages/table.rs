//! Log entries as aligned text rows, for a person at a terminal.
//!
//! Everything printed here came from a sender at some point (event types, externalEventIds,
//! error texts quoting bodies), so control characters are shown escaped: a body cannot move the
//! cursor or recolour the operator's terminal.

use time::OffsetDateTime;
use time::macros::format_description;

use crate::store::Entry;

/// The longest error text a row shows; longer ones end in `…` (`iflowd messages show` has it
/// whole).
pub const ERROR_WIDTH: usize = 60;

pub const HEADER: [&str; 7] = [
    "TIME (UTC)",
    "STATUS",
    "ENDPOINT",
    "EVENT TYPE",
    "EXTERNAL EVENT ID",
    "ERROR",
    "MESSAGE ID",
];

/// One entry as its cells: `-` for what is unknown; the error, shortened, or nothing. The
/// message id stays last, so the last word of a row is always its id (`awk '{print $NF}'`).
pub type Row = [String; 7];

pub fn row(entry: &Entry, error: Option<&str>) -> Row {
    let or_dash = |v: &Option<String>| v.as_deref().map_or_else(|| "-".to_owned(), printable);
    [
        time(entry.log_start),
        entry.status.to_string(),
        printable(&entry.integration_flow_name),
        or_dash(&entry.application_message_type),
        or_dash(&entry.application_message_id),
        error.map(shortened).unwrap_or_default(),
        entry.guid.to_string(),
    ]
}

/// `2026-05-04 10:11:12`.
pub fn time(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    at.format(&format).unwrap_or_default()
}

/// The widths of the columns: each at least its header's.
#[derive(Clone, Copy)]
pub struct Columns([usize; 7]);

impl Columns {
    /// Wide enough for the header and every row.
    pub fn fitting(rows: &[Row]) -> Self {
        let mut columns = Self(HEADER.map(str::len));
        for row in rows {
            columns.widen(row);
        }
        columns
    }

    /// At least these widths (for rows not known yet).
    pub fn at_least(mut self, widths: [usize; 7]) -> Self {
        for (width, minimum) in self.0.iter_mut().zip(widths) {
            *width = (*width).max(minimum);
        }
        self
    }

    fn widen(&mut self, row: &Row) {
        for (width, cell) in self.0.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }

    /// One line (with its `\n`): the cells padded to their widths, the last one as it is.
    pub fn line<S: AsRef<str>>(&self, cells: &[S; 7]) -> String {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(self.0).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell.as_ref());
            } else {
                text.push_str(&format!("{:<width$}  ", cell.as_ref()));
            }
        }
        let mut line = text.trim_end().to_owned();
        line.push('\n');
        line
    }
}

/// Aligned columns, in the order given; `-` for what is unknown.
pub fn table(rows: &[Row]) -> String {
    let columns = Columns::fitting(rows);
    let mut out = columns.line(&HEADER);
    for row in rows {
        out.push_str(&columns.line(row));
    }
    if rows.is_empty() {
        out.push_str("(no messages)\n");
    }
    out
}

/// `text` on one line, at most [`ERROR_WIDTH`] characters.
fn shortened(text: &str) -> String {
    let flat = printable(&text.split_whitespace().collect::<Vec<_>>().join(" "));
    if flat.chars().count() <= ERROR_WIDTH {
        return flat;
    }
    let mut short: String = flat.chars().take(ERROR_WIDTH - 1).collect();
    short.push('…');
    short
}

/// `text` with control characters escaped (`\u{1b}`), tabs and line ends kept (`\r\n` as
/// `\n`: a lone carriage return could write over what was printed).
pub fn printable(text: &str) -> String {
    if !text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_flattened_and_shortened_to_the_column() {
        assert_eq!(shortened("a\n  b\tc"), "a b c");
        let long = "x".repeat(100);
        let short = shortened(&long);
        assert_eq!(short.chars().count(), ERROR_WIDTH);
        assert!(short.ends_with('…'));
        assert_eq!(shortened(&"y".repeat(ERROR_WIDTH)), "y".repeat(ERROR_WIDTH));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("ok\n"), "ok\n");
        assert_eq!(printable("a\r\nb\rc"), "a\nb\\u{d}c");
        assert_eq!(printable("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(shortened("a\u{7}b"), "a\\u{7}b");
    }
}
