//! Splitting a `$filter` expression into tokens.
//!
//! Positions are character offsets (from 1) into the expression, so an error can point at the
//! spot.

use super::QueryError;
use crate::excerpt::Excerpt;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Open,
    Close,
    Comma,
    /// A property path (`Status`, `IntegrationArtifact/Id`) or a keyword (`eq`, `and`, `true`).
    Word(String),
    /// `'...'` with `''` standing for one quote.
    Text(String),
    /// `datetime'...'` or `datetimeoffset'...'`: the prefix and the quoted text.
    Typed(String, String),
    /// Digits, with an optional sign and an optional `L` suffix.
    Number(i64),
}

impl Token {
    pub fn describe(&self) -> String {
        match self {
            Self::Open => "'('".to_owned(),
            Self::Close => "')'".to_owned(),
            Self::Comma => "','".to_owned(),
            Self::Word(word) => format!("'{}'", Excerpt(word)),
            Self::Text(text) => format!("the string '{}'", Excerpt(text)),
            Self::Typed(prefix, text) => format!("{}'{}'", Excerpt(prefix), Excerpt(text)),
            Self::Number(n) => format!("the number {n}"),
        }
    }
}

/// A token and where it starts (1-based character position).
pub type Spanned = (Token, usize);

pub fn tokenize(input: &str) -> Result<Vec<Spanned>, QueryError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push((Token::Open, at));
                i += 1;
            }
            ')' => {
                tokens.push((Token::Close, at));
                i += 1;
            }
            ',' => {
                tokens.push((Token::Comma, at));
                i += 1;
            }
            '\'' => {
                let (text, next) = quoted(&chars, i)?;
                tokens.push((Token::Text(text), at));
                i = next;
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' => {
                let start = i;
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let digits: String = chars[start..i].iter().collect();
                if i < chars.len() && matches!(chars[i], 'L' | 'l') {
                    i += 1;
                }
                if i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '.') {
                    return Err(QueryError::new(format!(
                        "$filter: only whole numbers are supported (at position {at})"
                    )));
                }
                let number = digits.parse::<i64>().map_err(|_| {
                    QueryError::new(format!(
                        "$filter: '{}' at position {at} is not a number",
                        Excerpt(&digits)
                    ))
                })?;
                tokens.push((Token::Number(number), at));
            }
            c if c.is_alphabetic() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '/' | '.' | '$'))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if i < chars.len() && chars[i] == '\'' {
                    let (text, next) = quoted(&chars, i)?;
                    tokens.push((Token::Typed(word, text), at));
                    i = next;
                } else {
                    tokens.push((Token::Word(word), at));
                }
            }
            other => {
                return Err(QueryError::new(format!(
                    "$filter: unexpected character '{other}' at position {at}"
                )));
            }
        }
    }
    Ok(tokens)
}

/// Reads `'...'` starting at the opening quote; returns the text and the index after the
/// closing quote.
fn quoted(chars: &[char], open: usize) -> Result<(String, usize), QueryError> {
    let mut text = String::new();
    let mut i = open + 1;
    loop {
        match chars.get(i) {
            None => {
                return Err(QueryError::new(format!(
                    "$filter: the string starting at position {} has no closing quote",
                    open + 1
                )));
            }
            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                text.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((text, i + 1)),
            Some(&c) => {
                text.push(c);
                i += 1;
            }
        }
    }
}
