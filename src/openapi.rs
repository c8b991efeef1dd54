//! The OpenAPI document: every operation, the bearer scheme and the shared problem responses.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::responses::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, PreconditionFailed,
    PreconditionRequired, ServiceUnavailable, TooManyRequests, Unauthorized, UnsupportedMediaType,
    ValidationFailed,
};
use crate::error::Problem;
use crate::routes;

const DESCRIPTION: &str = include_str!("openapi_description.md");

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Masthead",
        description = DESCRIPTION,
        license(name = "MIT", identifier = "MIT"),
    ),
    servers((url = "/", description = "The server that serves this document; every path carries its own prefix")),
    paths(
        routes::health::healthz,
        routes::health::readyz,
        routes::auth::create_token,
        routes::auth::me,
        routes::articles::list_articles,
        routes::articles::create_article,
        routes::articles::get_article,
        routes::articles::update_article,
        routes::articles::delete_article,
        routes::articles::list_revisions,
        routes::articles::restore_revision,
        routes::comments::post_comment,
        routes::comments::list_comments,
        routes::comments::moderation_queue,
        routes::comments::get_comment,
        routes::comments::moderate_comment,
        routes::comments::delete_comment,
        routes::comments::bulk_moderate,
        routes::comments::comment_stats,
        routes::comments::list_blocklist,
        routes::comments::add_block,
        routes::comments::remove_block,
        routes::series::list_series,
        routes::series::create_series,
        routes::series::get_series,
        routes::series::update_series,
        routes::series::delete_series,
        routes::series::set_series_articles,
        routes::series::add_series_article,
        routes::series::remove_series_article,
        routes::webhooks::list_webhooks,
        routes::webhooks::create_webhook,
        routes::webhooks::get_webhook,
        routes::webhooks::update_webhook,
        routes::webhooks::delete_webhook,
        routes::webhooks::list_deliveries,
        routes::users::list_users,
        routes::users::create_user,
        routes::users::get_user,
        routes::users::update_user,
        routes::users::delete_user,
        routes::feeds::site_feed,
        routes::feeds::series_feed,
    ),
    components(
        schemas(
            Problem,
            routes::webhooks::WebhookPayload,
            routes::webhooks::ArticleEventData,
            routes::webhooks::CommentEventData
        ),
        responses(
            BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PreconditionFailed,
            PayloadTooLarge, UnsupportedMediaType, PreconditionRequired, TooManyRequests,
            ServiceUnavailable, ValidationFailed
        )
    ),
    modifiers(&BearerScheme, &PageItemsByReference, &CrossFieldRules),
    tags(
        (name = "operations", description = "Health checks for load balancers and orchestrators"),
        (name = "auth", description = "Logging in and the current user"),
        (name = "articles", description = "Articles: the public list and pages, editors' writes and revisions"),
        (name = "comments", description = "Readers' comments: the public form and thread"),
        (name = "moderation", description = "Moderators and admins: the comment queue, decisions, bulk actions, stats and the blocklist"),
        (name = "series", description = "Series: ordered story collections with part-N-of-M navigation in every article"),
        (name = "webhooks", description = "Signed event deliveries to other systems (admin only)"),
        (name = "users", description = "User management (admin only)"),
        (name = "feeds", description = "Atom 1.0 feeds of the latest articles and of each series"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A token from `POST /api/v1/auth/token`, sent as `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Lists (`Page<T>`) name their item type instead of repeating it inline: utoipa composes a
/// generic's argument in place, which leaves `ArticleSummary` and the like defined but unused,
/// and gives generated clients an anonymous item type.
struct PageItemsByReference;

impl Modify for PageItemsByReference {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ArrayItems, Schema};
        use utoipa::openapi::{Ref, RefOr};
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let names: Vec<String> = components.schemas.keys().cloned().collect();
        for (name, schema) in components.schemas.iter_mut() {
            let Some(item) = name.strip_prefix("Page_") else {
                continue;
            };
            if !names.iter().any(|n| n == item) {
                continue;
            }
            let RefOr::T(Schema::Object(page)) = schema else {
                continue;
            };
            if let Some(RefOr::T(Schema::Array(data))) = page.properties.get_mut("data") {
                data.items =
                    ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(item))));
            }
        }
    }
}

/// Rules that tie fields together, which field attributes cannot state: they are added to the
/// derived schemas so that clients and fuzzers know every rule the server checks.
struct CrossFieldRules;

/// IPv4 or IPv6, each with an optional prefix length: what a `cidr` blocklist value may be.
const CIDR_PATTERN: &str = "^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}(?:/(?:3[0-2]|[12]?[0-9]))?|(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,7}:|(?:[0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,5}(?::[0-9A-Fa-f]{1,4}){1,2}|(?:[0-9A-Fa-f]{1,4}:){1,4}(?::[0-9A-Fa-f]{1,4}){1,3}|(?:[0-9A-Fa-f]{1,4}:){1,3}(?::[0-9A-Fa-f]{1,4}){1,4}|(?:[0-9A-Fa-f]{1,4}:){1,2}(?::[0-9A-Fa-f]{1,4}){1,5}|[0-9A-Fa-f]{1,4}:(?::[0-9A-Fa-f]{1,4}){1,6}|:(?:(?::[0-9A-Fa-f]{1,4}){1,7}|:))(?:/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$";

impl Modify for CrossFieldRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{
            AllOfBuilder, AnyOfBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema,
            SchemaFormat, SchemaType, Type,
        };
        use utoipa::openapi::RefOr;
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let string = |format: Option<KnownFormat>, pattern: Option<&str>| {
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::String))
                .format(format.map(SchemaFormat::KnownFormat))
                .pattern(pattern)
        };
        let one_value = |v: &str| {
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::String))
                .enum_values(Some([v]))
                .description(Some("The kind this form of `value` goes with."))
                .examples([v])
        };
        let value_doc = "The value, in the form its `kind` needs.";
        let wrap = |schema: &mut RefOr<Schema>, rule: Schema| {
            let own = std::mem::replace(schema, RefOr::T(Schema::default()));
            *schema = AllOfBuilder::new().item(own).item(rule).into();
        };

        // A blocklist `value` is read as `kind` says.
        let documented = |s: ObjectBuilder, example: &str| {
            Schema::from(
                s.description(Some(value_doc))
                    .examples([example])
                    .max_length(Some(254)),
            )
        };
        let kinds = [
            (
                "email",
                documented(string(Some(KnownFormat::Email), None), "spam@example.com"),
            ),
            (
                "email_domain",
                documented(string(Some(KnownFormat::Hostname), None), "example.com"),
            ),
            (
                "ip",
                Schema::from(
                    AnyOfBuilder::new()
                        .item(string(Some(KnownFormat::Ipv4), None))
                        .item(string(Some(KnownFormat::Ipv6), None))
                        .description(Some(value_doc))
                        .examples(["203.0.113.7"]),
                ),
            ),
            (
                "cidr",
                documented(string(None, Some(CIDR_PATTERN)), "203.0.113.0/24"),
            ),
        ];
        let mut by_kind = OneOfBuilder::new();
        for (kind, value) in kinds {
            by_kind = by_kind.item(
                ObjectBuilder::new()
                    .property("kind", one_value(kind))
                    .property("value", RefOr::T(value))
                    .required("kind")
                    .required("value"),
            );
        }
        if let Some(add_block) = components.schemas.get_mut("AddBlock") {
            wrap(add_block, by_kind.into());
        }

        // `scheduled` needs a publication time.
        let scheduled_needs_time = AnyOfBuilder::new()
            .item(
                ObjectBuilder::new().property(
                    "status",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                        .enum_values(Some([
                            serde_json::json!("draft"),
                            serde_json::json!("published"),
                            serde_json::json!("archived"),
                            serde_json::Value::Null,
                        ]))
                        .description(Some("Any status but `scheduled`…"))
                        .examples(["draft"]),
                ),
            )
            .item(
                ObjectBuilder::new()
                    .property(
                        "published_at",
                        string(Some(KnownFormat::DateTime), None)
                            .description(Some("…or a publication time."))
                            .examples(["2026-11-25T08:00:00Z"]),
                    )
                    .required("published_at"),
            );
        if let Some(create) = components.schemas.get_mut("CreateArticle") {
            wrap(create, scheduled_needs_time.into());
        }

        // Lists of ids name each id once.
        for (schema, field) in [
            ("BulkModerate", "ids"),
            ("SetSeriesArticles", "article_ids"),
        ] {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(schema) {
                if let Some(RefOr::T(Schema::Array(ids))) = object.properties.get_mut(field) {
                    ids.unique_items = true;
                }
            }
        }
    }
}

/// The document as served and committed.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
