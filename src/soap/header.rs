//! SOAP header blocks: iflowd processes none, so one that is for it and marked `mustUnderstand`
//! cannot be obeyed (SOAP 1.1 §4.2.3, SOAP 1.2 Part 1 §5.2.3).

use super::SoapVersion;
use super::cursor::{Cursor, Step};
use super::error::ParseError;

/// SOAP 1.1's `actor` for "the next node", which iflowd always is.
const ACTOR_NEXT: &str = "http://schemas.xmlsoap.org/soap/actor/next";
/// SOAP 1.2's roles that iflowd plays: every node is "next", and iflowd is the last one.
const ROLE_NEXT: &str = "http://www.w3.org/2003/05/soap-envelope/role/next";
const ROLE_ULTIMATE_RECEIVER: &str =
    "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver";

/// Reads the blocks of the `Header` just entered, up to its end. A block targeted at iflowd
/// (no `actor`/`role`, or one iflowd plays) with `mustUnderstand` true (`1` or `true`) is a
/// [`ParseError::MustUnderstand`]; every other block is skipped, as before.
pub(super) fn check_header(c: &mut Cursor<'_>, version: SoapVersion) -> Result<(), ParseError> {
    let soap = version.envelope_ns();
    let (target, ours): (&str, &[&str]) = match version {
        SoapVersion::V11 => ("actor", &[ACTOR_NEXT]),
        SoapVersion::V12 => ("role", &[ROLE_NEXT, ROLE_ULTIMATE_RECEIVER]),
    };
    while let Step::Start(block) = c.next()? {
        let must = c
            .attribute(&block, soap, "mustUnderstand")
            .is_some_and(|value| matches!(value.as_str(), "1" | "true"));
        let for_us = c
            .attribute(&block, soap, target)
            .is_none_or(|role| ours.contains(&role.as_str()));
        if must && for_us {
            return Err(ParseError::MustUnderstand {
                namespace: block.namespace().map(str::to_owned),
                local: block.local.into_owned(),
            });
        }
        c.skip()?;
    }
    Ok(())
}
