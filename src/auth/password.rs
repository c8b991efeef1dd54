//! Argon2id password hashing. Hashing is slow on purpose (tens of milliseconds of CPU and
//! 19 MiB each): callers run it through [`on_hashing_threads`], holding no pooled connection.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

use crate::domain::user::Password;

/// Runs `f`, a hash or a check, on threads of its own: as many as there are cores, further
/// ones queueing. Not on the request handlers' blocking threads, which are sized to the
/// database pool and where database work would wait behind every login being checked; and
/// never more at once than the cores can run, so a burst of logins cannot exhaust memory.
pub async fn on_hashing_threads<T, F>(f: F) -> Result<T, String>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    static THREADS: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    let threads = THREADS
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
            // Only its blocking pool is used: those threads run without the runtime being driven.
            tokio::runtime::Builder::new_current_thread()
                .max_blocking_threads(cores)
                .thread_name("password-hash")
                .build()
                .map_err(|e| format!("cannot start the password hashing threads: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)?;
    threads
        .spawn_blocking(f)
        .await
        .map_err(|e| format!("password hashing failed: {e}"))
}

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

    #[tokio::test]
    async fn hashing_threads_run_checks_and_queue_beyond_the_cores() {
        let stored = hash(&Password::parse("correct horse").unwrap()).unwrap();
        let checks = (0..4).map(|i| {
            let stored = stored.clone();
            let candidate = if i % 2 == 0 { "correct horse" } else { "wrong" };
            on_hashing_threads(move || verify(candidate, &stored))
        });
        let results: Vec<bool> = futures_util::future::join_all(checks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(results, [true, false, true, false]);
    }
}
