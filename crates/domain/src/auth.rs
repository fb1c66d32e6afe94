//! Admin sessions: HS256 JWTs with the algorithm pinned, expiry judged against the caller's
//! clock, and a CSRF token derived from the session id.

use crate::secret::{constant_time_eq, hex, hmac_sha256};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "reservas";
pub const AUDIENCE: &str = "reservas-admin";

/// What an admin token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The admin's email, lower case.
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// Session id: binds the CSRF token to this login.
    pub sid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("invalid token")]
    Invalid,
}

impl Claims {
    pub fn new(email: &str, session_id: String, issued_at: i64, lifetime_seconds: i64) -> Claims {
        Claims {
            sub: email.to_lowercase(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: issued_at,
            exp: issued_at + lifetime_seconds,
            sid: session_id,
        }
    }

    pub fn encode(&self, secret: &[u8]) -> String {
        let key = EncodingKey::from_secret(secret).expect("an HMAC key may have any length");
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), self, &key)
            .expect("HS256 encoding of plain claims cannot fail")
    }

    /// Verifies signature (HS256 only: `none`, RS256 and the rest are refused), issuer,
    /// audience and expiry against `now` (Unix seconds).
    pub fn decode(token: &str, secret: &[u8], now: i64) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked below against the injected clock, not the system's.
        validation.validate_exp = false;
        let key = DecodingKey::from_secret(secret).map_err(|_| TokenError::Invalid)?;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|_| TokenError::Invalid)?;
        if data.claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(data.claims)
    }

    /// The CSRF token for this session: an HMAC of the session id, so it needs no storage
    /// and differs per login.
    pub fn csrf_token(&self, secret: &[u8]) -> String {
        hex(&hmac_sha256(secret, format!("csrf:{}", self.sid).as_bytes()))
    }

    pub fn csrf_matches(&self, secret: &[u8], presented: &str) -> bool {
        constant_time_eq(self.csrf_token(secret).as_bytes(), presented.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a-test-secret-of-reasonable-length!!";

    fn claims() -> Claims {
        Claims::new("Admin@Example.com", "s1".into(), 1_000, 3_600)
    }

    #[test]
    fn round_trips_and_lowercases_the_email() {
        let token = claims().encode(SECRET);
        let back = Claims::decode(&token, SECRET, 2_000).unwrap();
        assert_eq!(back.sub, "admin@example.com");
    }

    #[test]
    fn expiry_is_judged_by_the_given_clock() {
        let token = claims().encode(SECRET);
        assert_eq!(Claims::decode(&token, SECRET, 4_600), Err(TokenError::Expired));
    }

    #[test]
    fn wrong_key_is_refused() {
        let token = claims().encode(SECRET);
        assert_eq!(Claims::decode(&token, b"another-secret", 2_000), Err(TokenError::Invalid));
    }

    #[test]
    fn alg_none_is_refused() {
        let token = claims().encode(SECRET);
        let payload = token.split('.').nth(1).unwrap();
        // {"alg":"none","typ":"JWT"}
        let forged = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert_eq!(Claims::decode(&forged, SECRET, 2_000), Err(TokenError::Invalid));
    }

    #[test]
    fn wrong_audience_is_refused() {
        let mut c = claims();
        c.aud = "someone-else".into();
        assert_eq!(Claims::decode(&c.encode(SECRET), SECRET, 2_000), Err(TokenError::Invalid));
    }

    #[test]
    fn csrf_is_bound_to_the_session() {
        let a = claims();
        let mut b = claims();
        b.sid = "s2".into();
        let token = a.csrf_token(SECRET);
        assert!(a.csrf_matches(SECRET, &token));
        assert!(!b.csrf_matches(SECRET, &token));
    }
}
