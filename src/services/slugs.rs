//! Slugs for new resources, shared by the article and series use cases.

use crate::domain::slug::{slugify_or, with_suffix};
use crate::error::ApiError;

/// A slug for a new resource: the explicit one (409 if `taken`) or one made from the title,
/// made unique with `-2`, `-3`…. Articles and series each have their own slug space.
pub fn unique_slug(
    explicit: Option<&str>,
    title: &str,
    fallback: &str,
    what: &str,
    mut taken: impl FnMut(&str) -> Result<bool, diesel::result::Error>,
) -> Result<String, ApiError> {
    if let Some(explicit) = explicit {
        if taken(explicit)? {
            return Err(ApiError::conflict(
                "slug",
                format!("another {what} has or had this slug"),
            ));
        }
        return Ok(explicit.to_string());
    }
    let base = slugify_or(title, fallback);
    let mut candidate = base.clone();
    let mut n = 2;
    while taken(&candidate)? {
        candidate = with_suffix(&base, n);
        n += 1;
    }
    Ok(candidate)
}
