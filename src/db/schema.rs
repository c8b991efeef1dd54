// The schema shared by both backends. Kept by hand in step with migrations/{sqlite,postgres};
// a test checks that both migration trees produce the same tables and columns.

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        display_name -> Text,
        disabled -> Bool,
        token_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    comment_intake (id) {
        id -> BigInt,
        client_key -> Text,
        taken_at -> Timestamp,
    }
}

diesel::table! {
    login_failures (id) {
        id -> BigInt,
        username -> Text,
        failed_at -> Timestamp,
        address_key -> Nullable<Text>,
    }
}

diesel::table! {
    articles (id) {
        id -> BigInt,
        slug -> Text,
        title -> Text,
        subtitle -> Nullable<Text>,
        excerpt -> Text,
        excerpt_is_custom -> Bool,
        body_markdown -> Text,
        body_html -> Text,
        plain_text -> Text,
        cover_image_url -> Nullable<Text>,
        language -> Text,
        status -> Text,
        published_at -> Nullable<Timestamp>,
        sort_at -> Timestamp,
        author_id -> BigInt,
        reading_time_minutes -> Integer,
        word_count -> Integer,
        comments_enabled -> Bool,
        comment_count -> Integer,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    article_tags (article_id, position) {
        article_id -> BigInt,
        position -> Integer,
        tag -> Text,
        tag_slug -> Text,
    }
}

diesel::table! {
    article_renders (article_id) {
        article_id -> BigInt,
        generation -> BigInt,
        etag -> Nullable<Text>,
        valid_until -> Nullable<Timestamp>,
        body -> Nullable<Text>,
    }
}

diesel::table! {
    article_slugs (slug) {
        slug -> Text,
        article_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    article_revisions (id) {
        id -> BigInt,
        article_id -> BigInt,
        rev -> Integer,
        title -> Text,
        subtitle -> Nullable<Text>,
        excerpt -> Text,
        excerpt_is_custom -> Bool,
        body_markdown -> Text,
        cover_image_url -> Nullable<Text>,
        tags -> Text,
        language -> Text,
        status -> Text,
        slug -> Text,
        published_at -> Nullable<Timestamp>,
        editor_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    series (id) {
        id -> BigInt,
        slug -> Text,
        title -> Text,
        description -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    series_slugs (slug) {
        slug -> Text,
        series_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    series_articles (series_id, article_id) {
        series_id -> BigInt,
        article_id -> BigInt,
        position -> Integer,
    }
}

diesel::table! {
    comments (id) {
        id -> BigInt,
        article_id -> BigInt,
        parent_id -> Nullable<BigInt>,
        thread_path -> Text,
        depth -> Integer,
        author_name -> Text,
        author_email -> Text,
        email_key -> Text,
        author_url -> Nullable<Text>,
        body_markdown -> Text,
        body_html -> Text,
        status -> Text,
        visible -> Bool,
        ip_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        duplicate_key -> Text,
        moderated_by -> Nullable<BigInt>,
        moderated_at -> Nullable<Timestamp>,
        moderation_note -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    comment_moderation_log (id) {
        id -> BigInt,
        comment_id -> BigInt,
        moderator_id -> Nullable<BigInt>,
        from_status -> Text,
        to_status -> Text,
        note -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    comment_blocklist (id) {
        id -> BigInt,
        kind -> Text,
        value -> Text,
        note -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        url -> Text,
        events -> Text,
        secret -> Text,
        active -> Bool,
        include_private -> Bool,
        description -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        event_id -> Text,
        event -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        last_response -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(articles -> users (author_id));
diesel::joinable!(comments -> articles (article_id));
diesel::joinable!(comments -> users (moderated_by));
diesel::joinable!(comment_moderation_log -> users (moderator_id));
diesel::joinable!(comment_blocklist -> users (created_by));
diesel::joinable!(series_slugs -> series (series_id));
diesel::joinable!(series_articles -> series (series_id));
diesel::joinable!(series_articles -> articles (article_id));
diesel::joinable!(article_tags -> articles (article_id));
diesel::joinable!(article_slugs -> articles (article_id));
diesel::joinable!(article_renders -> articles (article_id));
diesel::joinable!(article_revisions -> articles (article_id));
diesel::joinable!(article_revisions -> users (editor_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    settings,
    login_failures,
    comment_intake,
    articles,
    article_tags,
    article_renders,
    article_slugs,
    article_revisions,
    series,
    series_slugs,
    series_articles,
    comments,
    comment_moderation_log,
    comment_blocklist,
    webhooks,
    webhook_deliveries,
);
