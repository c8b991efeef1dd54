//! ETags and JSON bodies, without HTTP types: strong validators over the exact response bytes.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// A strong ETag of a representation: the same bytes always give the same tag, on every
/// instance.
pub fn etag_of(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

pub fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(ApiError::internal)
}

/// Whether a list of entity tags (`If-None-Match`, `If-Match`) names `etag`. `weak` allows
/// `W/` tags to match, as `If-None-Match` does.
pub fn header_names(value: &str, etag: &str, weak: bool) -> bool {
    value.split(',').map(str::trim).any(|candidate| {
        if candidate == "*" {
            return true;
        }
        match candidate.strip_prefix("W/") {
            Some(stripped) => weak && stripped == etag,
            None => candidate == etag,
        }
    })
}

/// Checks `If-Match` against the current representation's ETag: stale → 412.
pub fn check_if_match(if_match: &str, current_etag: &str) -> Result<(), ApiError> {
    if header_names(if_match, current_etag, false) {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_lists_match_strongly_or_weakly() {
        let tag = etag_of(b"{}");
        assert!(header_names(&tag, &tag, false));
        assert!(header_names(&format!("\"x\", {tag}"), &tag, false));
        assert!(header_names("*", &tag, false));
        assert!(!header_names(&format!("W/{tag}"), &tag, false));
        assert!(header_names(&format!("W/{tag}"), &tag, true));
        assert!(!header_names("\"other\"", &tag, true));
        assert_ne!(etag_of(b"a"), etag_of(b"b"));
    }
}
