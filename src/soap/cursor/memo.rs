//! The cursor's memo of resolved prefixes.

use super::Ns;

/// How many prefixes the memo keeps: an envelope uses a handful at any one place.
const MEMO_SIZE: usize = 4;

/// Namespace resolutions remembered while the bindings in scope stay the same.
///
/// quick-xml's resolver scans its stack of bindings for every lookup (for an unprefixed name, all
/// of it), and an envelope asks for the same one or two prefixes dozens of times under one set of
/// bindings. The memo keeps the last few answers of the resolver, keyed by prefix, and the cursor
/// clears it whenever a start tag may declare namespaces or an end tag closes one that did: the
/// resolver is still the only thing that maps a prefix to a namespace. Only the known namespaces
/// and "none" are kept.
pub(super) struct Memo<'a> {
    entries: [Option<(Option<&'a str>, Ns)>; MEMO_SIZE],
    next: usize,
}

impl Default for Memo<'_> {
    fn default() -> Self {
        Self {
            entries: [None; MEMO_SIZE],
            next: 0,
        }
    }
}

impl<'a> Memo<'a> {
    pub(super) fn get(&self, prefix: Option<&str>) -> Option<Ns> {
        self.entries
            .iter()
            .flatten()
            .find(|(known, _)| same_prefix(*known, prefix))
            .map(|&(_, ns)| ns)
    }

    pub(super) fn insert(&mut self, prefix: Option<&'a str>, ns: Ns) {
        self.entries[self.next % MEMO_SIZE] = Some((prefix, ns));
        self.next = self.next.wrapping_add(1);
    }

    pub(super) fn clear(&mut self) {
        self.entries = [None; MEMO_SIZE];
    }
}

/// Prefix equality without a `memcmp` call: prefixes are a few bytes long.
fn same_prefix(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y),
        _ => false,
    }
}
