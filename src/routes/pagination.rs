//! Cursor pagination shared by every list: `{data, page: {next_cursor, limit}}` plus a
//! `Link: <…>; rel="next"` header. Cursors are the sort key of the last row served, sealed
//! ([`CursorKey`]), so a page deep in a list costs what the first one does.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::FieldError;
use crate::error::ApiError;
use crate::state::cursor_key::CursorKey;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// Page controls accepted by every list endpoint.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<i64>,
    /// `page.next_cursor` of the previous page, an opaque token the server issued; omit for the
    /// first page.
    #[param(example = "MjA", max_length = 1024, pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

impl PageParams {
    /// The requested limit, or a field error.
    pub fn limit(&self) -> Result<i64, FieldError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(FieldError {
                field: "limit".into(),
                message: format!("must be between 1 and {MAX_LIMIT}"),
            }),
        }
    }

    /// The decoded cursor, or a field error for anything this server did not issue.
    pub fn cursor<T: DeserializeOwned>(&self, keys: &CursorKey) -> Result<Option<T>, FieldError> {
        let Some(raw) = self.cursor.as_deref().filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        keys.open(raw).map(Some).ok_or_else(|| FieldError {
            field: "cursor".into(),
            message: "is not a cursor issued by this server".into(),
        })
    }

    /// Both, reporting every bad parameter at once.
    pub fn parse<T: DeserializeOwned>(
        &self,
        keys: &CursorKey,
    ) -> Result<(i64, Option<T>), ApiError> {
        match (self.limit(), self.cursor(keys)) {
            (Ok(l), Ok(c)) => Ok((l, c)),
            (l, c) => Err(ApiError::InvalidParameters(
                [l.err(), c.err()].into_iter().flatten().collect(),
            )),
        }
    }
}

/// Where the list is in the collection.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageInfo {
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[schema(example = "eyJpZCI6MjB9")]
    pub next_cursor: Option<String>,
    /// The page size used.
    #[schema(example = 20)]
    pub limit: i64,
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    /// The items of this page, in the list's order.
    pub data: Vec<T>,
    pub page: PageInfo,
}

/// Trims the extra row a query fetched to learn whether a next page exists, and returns the
/// cursor for it made from the last row kept.
pub fn split_page<R, K: Serialize>(
    mut rows: Vec<R>,
    limit: i64,
    keys: &CursorKey,
    key: impl Fn(&R) -> K,
) -> (Vec<R>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(|r| keys.seal(&key(r)));
        (rows, next)
    } else {
        (rows, None)
    }
}

/// The 200 response of a list, with its `Link` header.
pub fn page_response<T: Serialize + ToSchema>(
    req: &HttpRequest,
    public_url: Option<&str>,
    data: Vec<T>,
    next_cursor: Option<String>,
    limit: i64,
) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    if let Some(cursor) = &next_cursor {
        response.insert_header((header::LINK, next_link(req, public_url, cursor)));
    }
    response.json(Page {
        data,
        page: PageInfo { next_cursor, limit },
    })
}

/// The 200 response of a public list: ETag over the bytes (304 on `If-None-Match`), public
/// `Cache-Control`, and the `Link` header.
pub fn cached_page_response<T: Serialize + ToSchema>(
    req: &HttpRequest,
    config: &crate::config::Config,
    data: Vec<T>,
    next_cursor: Option<String>,
    limit: i64,
) -> Result<HttpResponse, ApiError> {
    let link = next_cursor
        .as_ref()
        .map(|c| next_link(req, config.public_url.as_deref(), c));
    let bytes = crate::routes::caching::to_json(&Page {
        data,
        page: PageInfo { next_cursor, limit },
    })?;
    let mut response = crate::routes::caching::cached_json(req, config, bytes);
    if let Some(link) = link.and_then(|l| header::HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

/// The `Link` header value for the next page: the request's own URL with `cursor` replaced.
pub fn next_link(req: &HttpRequest, public_url: Option<&str>, cursor: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(req.query_string().as_bytes()) {
        if k != "cursor" {
            query.append_pair(&k, &v);
        }
    }
    query.append_pair("cursor", cursor);
    format!(
        "<{}{}?{}>; rel=\"next\"",
        public_url.unwrap_or(""),
        req.path(),
        query.finish()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::cursor_key::TAG_LEN;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn keys() -> CursorKey {
        CursorKey::new(b"a test secret of thirty-two bytes or more")
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let keys = keys();
        let c = keys.seal(&(42_i64, "2026-01-01T00:00:00Z"));
        assert_eq!(keys.open::<(i64, String)>(&c).unwrap().0, 42);
        assert_eq!(
            c,
            keys.seal(&(42_i64, "2026-01-01T00:00:00Z")),
            "deterministic"
        );
        for bad in ["", "!!!", "bm90IGpzb24", &"A".repeat(2000)] {
            assert!(keys.open::<(i64, String)>(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn cursors_are_unreadable_and_unforgeable() {
        let keys = keys();
        let c = keys.seal(&serde_json::json!({"r": 1.2345, "id": 77}));
        let raw = URL_SAFE_NO_PAD.decode(&c).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("77"), "{c}");
        // A plain JSON cursor, a changed byte, a cut one, another site's: all refused.
        let plain = URL_SAFE_NO_PAD.encode(br#"{"r":9.0,"id":77}"#);
        assert!(keys.open::<serde_json::Value>(&plain).is_none());
        for i in [0, TAG_LEN, raw.len() - 1] {
            let mut flipped = raw.clone();
            flipped[i] ^= 1;
            let flipped = URL_SAFE_NO_PAD.encode(flipped);
            assert!(
                keys.open::<serde_json::Value>(&flipped).is_none(),
                "byte {i}"
            );
        }
        let cut = URL_SAFE_NO_PAD.encode(&raw[..raw.len() - 1]);
        assert!(keys.open::<serde_json::Value>(&cut).is_none());
        let other = CursorKey::new(b"another site's secret, thirty-two bytes");
        assert!(other.open::<serde_json::Value>(&c).is_none());
    }

    #[test]
    fn limits_are_bounded() {
        for (limit, ok) in [
            (None, true),
            (Some(1), true),
            (Some(100), true),
            (Some(0), false),
            (Some(101), false),
            (Some(-3), false),
        ] {
            let p = PageParams {
                limit,
                cursor: None,
            };
            assert_eq!(p.limit().is_ok(), ok, "{limit:?}");
        }
    }

    #[test]
    fn split_page_keeps_limit_rows_and_makes_a_cursor() {
        let keys = keys();
        let (rows, next) = split_page(vec![1, 2, 3], 2, &keys, |r| *r);
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(keys.open::<i32>(&next.unwrap()), Some(2));
        let (rows, next) = split_page(vec![1, 2], 2, &keys, |r| *r);
        assert_eq!((rows.len(), next), (2, None));
    }
}
