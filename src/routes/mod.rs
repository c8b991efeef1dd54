//! HTTP handlers, one module per resource, and the one place routes are wired.

pub mod articles;
pub mod auth;
pub mod auth_extract;
pub mod caching;
pub mod comments;
pub mod extract;
pub mod feeds;
pub mod health;
pub mod middleware;
pub mod pagination;
pub mod response_cache;
pub mod series;
pub mod users;
pub mod webhooks;

use actix_web::web;

/// Every route of the application. Grouping methods under one `resource` makes an unsupported
/// method a 405 rather than a 404.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        .service(
            web::scope("/api/v1")
                .service(web::resource("/auth/token").route(web::post().to(auth::create_token)))
                .service(web::resource("/auth/me").route(web::get().to(auth::me)))
                .service(
                    web::resource("/articles")
                        .route(web::get().to(articles::list_articles))
                        .route(web::post().to(articles::create_article)),
                )
                .service(
                    // GET takes a slug, PATCH and DELETE an id: one path, so that a wrong
                    // method is a 405. Dynamic paths are matched one regex at a time, in this
                    // order: the busiest come first.
                    web::resource("/articles/{key}")
                        .route(web::get().to(articles::get_article))
                        .route(web::patch().to(articles::update_article))
                        .route(web::delete().to(articles::delete_article)),
                )
                .service(
                    web::resource("/articles/{slug}/comments")
                        .route(web::get().to(comments::list_comments))
                        .route(web::post().to(comments::post_comment)),
                )
                .service(
                    web::resource("/articles/{id}/revisions")
                        .route(web::get().to(articles::list_revisions)),
                )
                .service(
                    web::resource("/articles/{id}/revisions/{rev}/restore")
                        .route(web::post().to(articles::restore_revision)),
                )
                .service(
                    web::resource("/series")
                        .route(web::get().to(series::list_series))
                        .route(web::post().to(series::create_series)),
                )
                .service(
                    web::resource("/series/{id}/articles")
                        .route(web::put().to(series::set_series_articles))
                        .route(web::post().to(series::add_series_article)),
                )
                .service(
                    web::resource("/series/{id}/articles/{article_id}")
                        .route(web::delete().to(series::remove_series_article)),
                )
                .service(
                    // GET takes a slug, PATCH and DELETE an id, as for articles.
                    web::resource("/series/{key}")
                        .route(web::get().to(series::get_series))
                        .route(web::patch().to(series::update_series))
                        .route(web::delete().to(series::delete_series)),
                )
                .service(
                    web::resource("/comments").route(web::get().to(comments::moderation_queue)),
                )
                .service(
                    web::resource("/comments/moderate")
                        .route(web::post().to(comments::bulk_moderate)),
                )
                .service(
                    web::resource("/comments/stats").route(web::get().to(comments::comment_stats)),
                )
                .service(
                    web::resource("/comments/blocklist")
                        .route(web::get().to(comments::list_blocklist))
                        .route(web::post().to(comments::add_block)),
                )
                .service(
                    web::resource("/comments/blocklist/{id}")
                        .route(web::delete().to(comments::remove_block)),
                )
                .service(
                    web::resource("/comments/{id}")
                        .route(web::get().to(comments::get_comment))
                        .route(web::patch().to(comments::moderate_comment))
                        .route(web::delete().to(comments::delete_comment)),
                )
                .service(
                    web::resource("/webhooks")
                        .route(web::get().to(webhooks::list_webhooks))
                        .route(web::post().to(webhooks::create_webhook)),
                )
                .service(
                    web::resource("/webhooks/{id}/deliveries")
                        .route(web::get().to(webhooks::list_deliveries)),
                )
                .service(
                    web::resource("/webhooks/{id}")
                        .route(web::get().to(webhooks::get_webhook))
                        .route(web::patch().to(webhooks::update_webhook))
                        .route(web::delete().to(webhooks::delete_webhook)),
                )
                .service(
                    web::resource("/users")
                        .route(web::get().to(users::list_users))
                        .route(web::post().to(users::create_user)),
                )
                .service(
                    web::resource("/users/{id}")
                        .route(web::get().to(users::get_user))
                        .route(web::patch().to(users::update_user))
                        .route(web::delete().to(users::delete_user)),
                ),
        )
        .service(web::resource("/feed.atom").route(web::get().to(feeds::site_feed)))
        .service(
            web::resource("/series/{slug}/feed.atom").route(web::get().to(feeds::series_feed)),
        );
}
