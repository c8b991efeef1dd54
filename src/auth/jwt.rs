//! HS256 access tokens. The algorithm is pinned: tokens claiming `none` or any other
//! algorithm are refused before their signature is even looked at.

use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    /// The user's token version when issued; bumping it revokes every older token.
    pub ver: i32,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The secret before a rotation, still accepted (never used to sign) until `.1`, if set.
    previous: Option<(DecodingKey, Option<i64>)>,
    validation: Validation,
    ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        validation.leeway = 5;
        validation.validate_exp = true;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            previous: None,
            validation,
            ttl_secs,
        }
    }

    /// Also accepts tokens signed with `secret`, the one in use before a rotation, until
    /// `until` (unix seconds) when given: tokens already handed out stay valid while every
    /// instance moves to the new secret.
    pub fn with_previous(mut self, secret: &[u8], until: Option<i64>) -> Self {
        self.previous = Some((DecodingKey::from_secret(secret), until));
        self
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    pub fn issue(&self, user_id: i64, token_version: i32) -> Result<String, String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            iat: now,
            exp: now + self.ttl_secs,
            ver: token_version,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| format!("token signing failed: {e}"))
    }

    /// The claims of a valid token, or `None` for anything else (bad signature, expired,
    /// wrong algorithm, malformed).
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .or_else(|| {
                let (key, until) = self.previous.as_ref()?;
                if until.is_some_and(|u| Utc::now().timestamp() >= u) {
                    return None;
                }
                decode::<Claims>(token, key, &self.validation).ok()
            })?;
        if data.claims.iat > Utc::now().timestamp() + self.validation.leeway as i64 {
            return None;
        }
        Some(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn issued_tokens_verify() {
        let keys = JwtKeys::new(SECRET, 60);
        let token = keys.issue(7, 3).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.ver), ("7", 3));
    }

    #[test]
    fn a_previous_secret_verifies_during_its_grace_period_only() {
        let old = JwtKeys::new(b"the-old-secret-the-old-secret-xx", 60);
        let token = old.issue(7, 0).unwrap();
        let now = Utc::now().timestamp();
        let rotated = JwtKeys::new(SECRET, 60)
            .with_previous(b"the-old-secret-the-old-secret-xx", Some(now + 60));
        assert!(rotated.verify(&token).is_some());
        let expired = JwtKeys::new(SECRET, 60)
            .with_previous(b"the-old-secret-the-old-secret-xx", Some(now - 1));
        assert!(expired.verify(&token).is_none());
        // New tokens are signed with the new secret only.
        assert!(old.verify(&rotated.issue(7, 0).unwrap()).is_none());
    }

    #[test]
    fn foreign_and_unsigned_tokens_are_refused() {
        let keys = JwtKeys::new(SECRET, 60);
        let other = JwtKeys::new(b"another-secret-another-secret-xx", 60);
        assert!(keys.verify(&other.issue(7, 0).unwrap()).is_none());

        let now = Utc::now().timestamp();
        let payload = format!(r#"{{"sub":"7","iat":{now},"exp":{},"ver":0}}"#, now + 60);
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        );
        assert!(keys.verify(&none).is_none());
        assert!(keys.verify("garbage").is_none());
    }
}
