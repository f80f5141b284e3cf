//! Access tokens: signed JWTs as XSUAA issues them for the client-credentials grant.
//!
//! A token is HS256-signed (the key from `[oauth] signing_key` or `<data_dir>/oauth-signing.key`,
//! see [`super::signing_key`]) and carries `client_id`/`cid`/`sub`/`azp` (the client), `scope`
//! (one `<app_name>.<role>` per granted role, as XSUAA writes `<xsappname>.ESBMessaging.send`),
//! `aud`, `grant_type`, `iat`, `exp` and a random `jti`. Verification checks the algorithm, the
//! signature and `exp` against [`crate::clock::now`] (so tests move time with tokio's paused
//! clock), with no leeway: an expired token is a 401, as in CPI. Roles are the scopes of this
//! app with the prefix taken off; scopes of other apps grant nothing.
//!
//! Tokens are self-contained: any instance with the same key and app name accepts them, and a
//! client removed from the configuration keeps working until its tokens expire (as with XSUAA).
//!
//! jsonwebtoken does the JOSE work (header, claims, algorithm check); its signatures come from
//! ring ([`ring_backend`]), the crypto library the binary has for TLS anyway.

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why a bearer token was refused; every variant is a 401 with `error="invalid_token"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is malformed")]
    Malformed,
    #[error("the access token's signature is not valid")]
    BadSignature,
    #[error("the access token has expired")]
    Expired,
}

/// Signing failed: only a broken crypto backend does that. The token endpoint answers 500.
#[derive(Debug, thiserror::Error)]
#[error("the access token could not be signed: {0}")]
pub struct SignError(String);

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    jti: String,
    sub: String,
    client_id: String,
    cid: String,
    azp: String,
    grant_type: String,
    scope: Vec<String>,
    aud: Vec<String>,
    iat: i64,
    exp: i64,
}

/// A freshly issued token and what the token endpoint reports about it.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u64,
    /// The granted scopes (`<app>.<role>`).
    pub scopes: Vec<String>,
    pub jti: String,
}

/// The caller a valid token names, and the roles its scopes grant.
#[derive(Debug, Clone)]
pub struct TokenClaims {
    pub client_id: String,
    pub roles: HashSet<String>,
}

/// Issues and verifies tokens. Built once; holds the key material.
pub struct TokenService {
    app: String,
    /// `<app_name>.`: what a scope starts with (made once, not per verified token).
    scope_prefix: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// SHA-256 of the key, lowercase hex: what the keystore shows of it.
    fingerprint: String,
    key_bits: u32,
}

impl TokenService {
    pub fn new(app_name: &str, key: &[u8]) -> Self {
        // ring becomes jsonwebtoken's crypto before any token is signed or verified. jsonwebtoken
        // keeps one provider per process and takes it once: `Err` means it is in place already
        // (from an earlier `TokenService`; nothing else installs one).
        let _ = ring_backend::PROVIDER.install_default();
        let mut validation = Validation::new(Algorithm::HS256);
        // `exp` is checked against our clock below, without leeway; no audience is required.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.required_spec_claims = ["exp", "iat"].iter().map(|c| (*c).to_owned()).collect();
        Self {
            app: app_name.to_owned(),
            scope_prefix: format!("{app_name}."),
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            fingerprint: crate::keystore::hex(&Sha256::digest(key)),
            key_bits: u32::try_from(key.len().saturating_mul(8)).unwrap_or(u32::MAX),
        }
    }

    /// The SHA-256 fingerprint of the signing key (lowercase hex), which identifies it without
    /// giving it away (a token signed with it gives no more away either).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The signing key's length in bits.
    pub fn key_bits(&self) -> u32 {
        self.key_bits
    }

    /// The scope that stands for `role`: `<app_name>.<role>`.
    pub fn scope_of(&self, role: &str) -> String {
        format!("{}{role}", self.scope_prefix)
    }

    /// Signs a token for `client_id` with `scopes`, valid for `lifetime_s` from now.
    pub fn issue(
        &self,
        client_id: &str,
        scopes: Vec<String>,
        lifetime_s: u64,
    ) -> Result<IssuedToken, SignError> {
        let now = crate::clock::now().unix_timestamp();
        let lifetime = i64::try_from(lifetime_s).unwrap_or(i64::MAX);
        let jti = random_hex();
        let claims = Claims {
            jti: jti.clone(),
            sub: client_id.to_owned(),
            client_id: client_id.to_owned(),
            cid: client_id.to_owned(),
            azp: client_id.to_owned(),
            grant_type: "client_credentials".to_owned(),
            scope: scopes.clone(),
            aud: vec![self.app.clone()],
            iat: now,
            exp: now.saturating_add(lifetime),
        };
        let access_token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| SignError(e.to_string()))?;
        Ok(IssuedToken {
            access_token,
            expires_in: lifetime_s,
            scopes,
            jti,
        })
    }

    /// Checks a token's algorithm, signature and expiry, and reads its client and roles.
    pub fn verify(&self, token: &str) -> Result<TokenClaims, TokenError> {
        let data =
            decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenError::BadSignature,
                    _ => TokenError::Malformed,
                }
            })?;
        let claims = data.claims;
        if claims.exp <= crate::clock::now().unix_timestamp() {
            return Err(TokenError::Expired);
        }
        let roles = claims
            .scope
            .iter()
            .filter_map(|scope| scope.strip_prefix(self.scope_prefix.as_str()))
            .map(str::to_owned)
            .collect();
        Ok(TokenClaims {
            client_id: claims.client_id,
            roles,
        })
    }
}

fn random_hex() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// jsonwebtoken's cryptography on ring, for HS256 (the one algorithm iflowd signs and accepts).
/// jsonwebtoken offers aws-lc-rs and RustCrypto backends but not ring, and lets an application
/// bring its own [`CryptoProvider`]: this one signs and verifies HMAC-SHA256 with `ring::hmac`
/// (verification in constant time) and refuses every other algorithm and key kind.
mod ring_backend {
    use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
    use jsonwebtoken::errors::{ErrorKind, Result};
    use jsonwebtoken::signature::{self, Signer, Verifier};
    use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
    use ring::hmac;

    /// A constant (functions only): jsonwebtoken installs providers by `&'static` reference.
    pub static PROVIDER: CryptoProvider = CryptoProvider {
        signer_factory,
        verifier_factory,
        // For JWKs, which iflowd neither reads nor writes.
        key_utils: KeyUtils::new_unimplemented(),
    };

    /// An HS256 key, for signing and for verifying.
    struct Hs256(hmac::Key);

    fn hs256(algorithm: &Algorithm, family: AlgorithmFamily, key: &[u8]) -> Result<Hs256> {
        if *algorithm != Algorithm::HS256 {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        if family != AlgorithmFamily::Hmac {
            return Err(ErrorKind::InvalidKeyFormat.into());
        }
        Ok(Hs256(hmac::Key::new(hmac::HMAC_SHA256, key)))
    }

    fn signer_factory(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
        Ok(Box::new(hs256(algorithm, key.family(), key.as_bytes())?))
    }

    fn verifier_factory(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
        Ok(Box::new(hs256(
            algorithm,
            key.family(),
            key.try_get_as_bytes()?,
        )?))
    }

    impl Signer<Vec<u8>> for Hs256 {
        fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
            Ok(hmac::sign(&self.0, message).as_ref().to_vec())
        }
    }

    impl Verifier<Vec<u8>> for Hs256 {
        fn verify(
            &self,
            message: &[u8],
            tag: &Vec<u8>,
        ) -> std::result::Result<(), signature::Error> {
            hmac::verify(&self.0, message, tag).map_err(|_| signature::Error::new())
        }
    }

    impl JwtSigner for Hs256 {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }

    impl JwtVerifier for Hs256 {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }
}
