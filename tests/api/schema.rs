//! The two migration trees must describe the same tables and columns.

use std::collections::BTreeSet;

use diesel::sql_types::Text;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use diesel_migrations::MigrationHarness;
use masthead::db::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

use crate::helpers::{backend_is_postgres, TestDb};

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn sqlite_columns() -> BTreeSet<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema.db");
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    conn.run_pending_migrations(SQLITE_MIGRATIONS).unwrap();
    diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name
         FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
           AND m.name != '__diesel_schema_migrations'
           AND m.sql NOT LIKE 'CREATE VIRTUAL TABLE%'
           AND m.name NOT LIKE '%_fts_%'",
    )
    .load::<Column>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|c| (c.table_name, c.column_name))
    .collect()
}

#[test]
fn both_migration_trees_have_the_same_names() {
    let names = |dir: &str| -> BTreeSet<String> {
        std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names("sqlite"), names("postgres"));
}

#[test]
fn both_migration_trees_give_the_same_tables_and_columns() {
    let sqlite = sqlite_columns();
    assert!(sqlite.contains(&("users".into(), "password_hash".into())));
    if !backend_is_postgres() {
        // The PostgreSQL half runs in the PostgreSQL pass of the suite (.ci/run).
        return;
    }
    let (db, url) = TestDb::create();
    let mut conn = PgConnection::establish(&url.target).unwrap();
    conn.run_pending_migrations(POSTGRES_MIGRATIONS).unwrap();
    let pg: BTreeSet<(String, String)> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name != '__diesel_schema_migrations'
           -- SQLite keeps the search document in its FTS5 table (left out above).
           AND NOT (table_name = 'articles' AND column_name = 'search_document')",
    )
    .load::<Column>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|c| (c.table_name, c.column_name))
    .collect();
    drop(conn);
    drop(db);
    assert_eq!(sqlite, pg);
}
