//! The envelope parser on arbitrary bytes, as a request reaches it: whatever arrives, with
//! whatever `charset` the Content-Type claims and either `mustUnderstand` rule, `soap::parse_with`
//! returns an `ExternalEventRequest` or a `ParseFailure` (a fault), and never panics, loops or
//! runs out of stack. The first byte picks the options; the rest is the body. `soap::pretty`,
//! which lays out stored bodies for the monitor, gets the same bytes.

#![no_main]

use iflowd::soap::{MustUnderstand, ReadOptions};
use libfuzzer_sys::fuzz_target;

/// What Content-Types say in practice, and some they should not.
const CHARSETS: [Option<&str>; 8] = [
    None,
    Some("utf-8"),
    Some("UTF-16"),
    Some("utf-16le"),
    Some("iso-8859-1"),
    Some("windows-1252"),
    Some("shift_jis"),
    Some("x-no-such-charset"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let options = ReadOptions {
        charset: CHARSETS[usize::from(pick) % CHARSETS.len()],
        must_understand: if pick & 0x80 == 0 {
            MustUnderstand::Fault
        } else {
            MustUnderstand::Ignore
        },
    };
    let _ = iflowd::soap::parse_with(body, options);
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = iflowd::soap::pretty::pretty(text);
    }
});
