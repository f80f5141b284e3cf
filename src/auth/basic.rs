//! Parsing `Authorization: Basic ...` (RFC 7617).

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::HeaderValue;

use super::AuthError;

/// Standard base64, with or without padding: clients differ.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The user and password of a Basic header. The password is everything after the *first* `:`,
/// so passwords may contain colons (user names may not; configuration refuses them).
pub fn parse(value: &HeaderValue) -> Result<(String, String), AuthError> {
    let value = value.to_str().map_err(|_| AuthError::Malformed)?.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AuthError::UnsupportedScheme);
    }
    let decoded = BASE64
        .decode(rest.trim())
        .map_err(|_| AuthError::Malformed)?;
    let text = String::from_utf8(decoded).map_err(|_| AuthError::Malformed)?;
    let (user, password) = text.split_once(':').ok_or(AuthError::Malformed)?;
    Ok((user.to_owned(), password.to_owned()))
}
