//! Request extractors whose failures are problems naming the offending field.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::domain::FieldError;
use crate::error::ApiError;

/// Largest accepted request body: an article body may be up to 1 MiB of Markdown, and JSON
/// escaping can double it.
pub const BODY_LIMIT: usize = 3 * 1024 * 1024;

/// A JSON request body. Malformed JSON is a 400; well-formed JSON of the wrong shape is a 422
/// naming the field; a body of another media type is a 415; a body over [`BODY_LIMIT`] a 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let essence = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                essence == "application/json" || essence.ends_with("+json")
            })
            .unwrap_or(false);
        let length_too_big = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > BODY_LIMIT);
        let gate = crate::routes::auth_extract::AuthGate::of(req);
        // Taken now, read only once the request is authorised.
        let mut payload = payload.take();
        let req = req.clone();
        Box::pin(async move {
            if let Some(gate) = gate {
                if !gate.passed().await {
                    // The authorisation extractor, polled before this one, answers with its
                    // own 401 or 403; this error is never seen.
                    return Err(ApiError::Forbidden("Your role does not allow this action."));
                }
            }
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType(
                    "The request body must be JSON (Content-Type: application/json).".into(),
                ));
            }
            if length_too_big {
                return Err(ApiError::PayloadTooLarge);
            }
            let bytes = web::Bytes::from_request(&req, &mut payload)
                .await
                .map_err(|e| {
                    if e.as_response_error().status_code()
                        == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE
                    {
                        ApiError::PayloadTooLarge
                    } else {
                        ApiError::BadRequest("The request body could not be read.".into())
                    }
                })?;
            parse_json(&bytes).map(ApiJson)
        })
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first, so malformed JSON is a 400 even where its start already has the wrong shape.
    let value = serde_json::from_slice::<serde_json::Value>(bytes)
        .map_err(|e| ApiError::BadRequest(format!("The request body is not valid JSON: {e}.")))?;
    // PostgreSQL cannot store U+0000 in text: refuse it in every string, on both backends alike.
    let mut nul = Vec::new();
    strings_with_nul(&value, ".", &mut nul);
    if !nul.is_empty() {
        return Err(ApiError::Validation(
            nul.into_iter()
                .map(|field| FieldError {
                    field,
                    message: "must not contain NUL (U+0000) characters".into(),
                })
                .collect(),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = strip_position(&inner.to_string());
                let field = match missing_field(&message) {
                    Some(f) if !path.ends_with(f) => join_path(&path, f),
                    _ if path == "." => "body".into(),
                    _ => path,
                };
                ApiError::Validation(vec![FieldError { field, message }])
            }
            // The syntax pass above accepted the document, so this is its shape: serde_json
            // reports an enum given a number or an array as a syntax error ("expected value").
            _ => ApiError::Validation(vec![FieldError {
                field: if path == "." { "body".into() } else { path },
                message: "has the wrong type".into(),
            }]),
        }
    })?;
    de.end()
        .map_err(|e| ApiError::BadRequest(format!("The request body is not valid JSON: {e}.")))?;
    Ok(value)
}

/// Collects the paths (`title`, `tags[2]`, `body` for a bare string) of strings holding NUL.
fn strings_with_nul(value: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => out.push(if path == "." {
            "body".into()
        } else {
            path.into()
        }),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let here = format!("{}[{i}]", if path == "." { "" } else { path });
                strings_with_nul(item, &here, out);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                strings_with_nul(item, &join_path(path, key), out);
            }
        }
        _ => {}
    }
}

/// Query parameters, parsed with the offending parameter named on failure (400).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(ApiQuery))
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let field = missing_field(&message)
            .map(str::to_string)
            .unwrap_or(if path == "." { "query".into() } else { path });
        ApiError::InvalidParameters(vec![FieldError { field, message }])
    })
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// The field a serde message is about, when the path cannot tell (missing or unknown fields).
fn missing_field(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split('`').next()
}

fn join_path(path: &str, field: &str) -> String {
    if path == "." {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        tags: Vec<String>,
    }

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(e) | ApiError::InvalidParameters(e) => {
                e.into_iter().map(|f| f.field).collect()
            }
            other => vec![format!("not a validation error: {other}")],
        }
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        let cases = [
            (r#"{"tags": []}"#, "title"),
            (r#"{"title": 5, "tags": []}"#, "title"),
            (r#"{"title": "x", "tags": ["a", 3]}"#, "tags[1]"),
            (r#"{"title": "x", "tags": [], "extra": 1}"#, "extra"),
            (r#""just text""#, "body"),
        ];
        for (json, field) in cases {
            let err = parse_json::<Body>(json.as_bytes()).unwrap_err();
            assert_eq!(fields(err), vec![field.to_string()], "{json}");
        }
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        for json in [
            "",
            "{",
            "{\"title\": \"x\",}",
            "{\"title\":\"x\",\"tags\":[]} trailing",
        ] {
            let err = parse_json::<Body>(json.as_bytes()).unwrap_err();
            assert!(matches!(err, ApiError::BadRequest(_)), "{json}: {err:?}");
        }
    }
}
