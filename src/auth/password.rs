//! Argon2id password hashing. Callers run these inside `web::block`: hashing is slow on purpose.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

use crate::domain::user::Password;

pub fn hash(password: &Password) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

/// True when `candidate` matches `stored`; a malformed stored hash never matches.
pub fn verify(candidate: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of a real verification so an unknown username answers no faster than a
/// wrong password, which would otherwise reveal which usernames exist.
pub fn verify_against_dummy(candidate: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        Password::parse("dummy-password-for-timing")
            .ok()
            .and_then(|p| hash(&p).ok())
            .unwrap_or_default()
    });
    let _ = verify(candidate, dummy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let pw = Password::parse("correct horse").unwrap();
        let a = hash(&pw).unwrap();
        let b = hash(&pw).unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify("correct horse", &a));
        assert!(!verify("wrong horse", &a));
        assert!(!verify("correct horse", "not-a-hash"));
    }
}
