//! The envelope parser on arbitrary bytes: whatever arrives, `soap::parse` returns an
//! `ExternalEventRequest` or a `ParseFailure` (a Client fault), and never panics, loops or
//! runs out of stack.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = iflowd::soap::parse(data);
});
