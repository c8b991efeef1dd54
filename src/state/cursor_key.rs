//! The key that seals list cursors, held in the application state; `routes::pagination` uses it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

const MAX_CURSOR_LEN: usize = 1024;

/// Seals and opens cursors. A cursor is the sort key of the last row served, as JSON, encrypted
/// and authenticated with a key derived from the token secret (so every instance of a site
/// opens the others' cursors): a client can neither read it (a search cursor holds the row's
/// relevance score) nor forge one. Sealing is deterministic, so the same page always links to
/// the same next cursor and its ETag holds.
///
/// The construction is SIV with HMAC-SHA256 as the only primitive: the tag is the HMAC of the
/// JSON under one key (its first 16 bytes); the JSON is XORed with HMAC(other key, tag ‖ i)
/// blocks. (An AES-SIV crate would add a second version of the cipher crates the tree already
/// has, which `cargo deny` refuses.)
pub struct CursorKey {
    mac: [u8; 32],
    enc: [u8; 32],
}

pub(crate) const TAG_LEN: usize = 16;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

fn hmac_of(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    use hmac::Mac;
    // HMAC takes a key of any length.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for part in parts {
        mac.update(part);
    }
    mac
}

impl CursorKey {
    pub fn new(secret: &[u8]) -> Self {
        use hmac::Mac;
        let derive = |label: &[u8]| -> [u8; 32] {
            hmac_of(secret, &[b"masthead cursor ", label])
                .finalize()
                .into_bytes()
                .into()
        };
        Self {
            mac: derive(b"mac v1"),
            enc: derive(b"enc v1"),
        }
    }

    fn keystream_xor(&self, tag: &[u8], data: &mut [u8]) {
        use hmac::Mac;
        for (i, chunk) in data.chunks_mut(32).enumerate() {
            let counter = u32::try_from(i).unwrap_or(u32::MAX).to_be_bytes();
            let block = hmac_of(&self.enc, &[tag, &counter]).finalize().into_bytes();
            for (byte, k) in chunk.iter_mut().zip(block.iter()) {
                *byte ^= k;
            }
        }
    }

    pub fn seal<T: Serialize>(&self, key: &T) -> String {
        self.seal_bytes(&serde_json::to_vec(key).unwrap_or_default())
    }

    /// Seals any bytes, JSON or not: what `seal` does, open to tests that check `open` against
    /// hostile content.
    pub fn seal_bytes(&self, data: &[u8]) -> String {
        use hmac::Mac;
        let mut data = data.to_vec();
        let tag = hmac_of(&self.mac, &[&data]).finalize().into_bytes();
        let tag = &tag[..TAG_LEN];
        self.keystream_xor(tag, &mut data);
        let mut out = Vec::with_capacity(TAG_LEN + data.len());
        out.extend_from_slice(tag);
        out.extend_from_slice(&data);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The sort key in a cursor this server sealed, or `None` for anything else.
    pub fn open<T: DeserializeOwned>(&self, raw: &str) -> Option<T> {
        use hmac::Mac;
        if raw.len() > MAX_CURSOR_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        if bytes.len() < TAG_LEN {
            return None;
        }
        let (tag, sealed) = bytes.split_at(TAG_LEN);
        let mut data = sealed.to_vec();
        self.keystream_xor(tag, &mut data);
        hmac_of(&self.mac, &[&data])
            .verify_truncated_left(tag)
            .ok()?;
        let value: serde_json::Value = serde_json::from_slice(&data).ok()?;
        // No cursor this server issues holds a NUL, and PostgreSQL refuses one in text (a 500).
        if holds_nul(&value) {
            return None;
        }
        serde_json::from_value(value).ok()
    }
}

fn holds_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}
