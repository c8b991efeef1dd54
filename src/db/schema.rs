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
    login_failures (id) {
        id -> BigInt,
        username -> Text,
        failed_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(users, settings, login_failures);
