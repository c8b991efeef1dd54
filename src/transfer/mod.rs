//! `masthead export`, `import` and `backup`: moving a site between databases and backends.
//!
//! An export is JSON Lines. Line 1 is a header
//! `{"format":"masthead-export","version":1,"exported_at":…,"masthead_version":…,"backend":…}`;
//! then one `{"table":"…","row":{…}}` per row, table by table in dependency order
//! ([`TABLES`]), each row with every column as stored (ids kept, timestamps as
//! `YYYY-MM-DDTHH:MM:SS.ffffff`, UTC); the last line is `{"end":true,"counts":{table: rows}}`, so
//! a truncated file is recognised. Not exported: the generated token secret (`settings` key
//! `jwt_secret`: the new database makes its own, or `MASTHEAD_JWT_SECRET` is set) and
//! `login_failures` and `comment_intake` (rate-limit windows, not data). Webhook deliveries are all
//! exported, delivered ones too, since `GET /webhooks/{id}/deliveries` shows them; pending ones
//! are sent by the new database's workers.
//!
//! The version changes whenever a table or column is added, renamed or removed; an import
//! refuses any other version rather than guess.

mod export;
mod import;
mod rows;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::ManageConnection;
use serde::{Deserialize, Serialize};

use crate::config::{Backend, Config, DatabaseUrl};
use crate::db::{self, ConnectionManager, DbConn};

pub use export::export;
pub use import::{import, read_header};

/// The `format` of the header line.
pub const FORMAT: &str = "masthead-export";
/// The version this build writes and the only one it reads.
pub const VERSION: u64 = 1;

/// Every exported table, parents before children: the order rows are written and read back.
pub const TABLES: [&str; 14] = [
    "users",
    "settings",
    "articles",
    "article_tags",
    "article_slugs",
    "article_revisions",
    "series",
    "series_slugs",
    "series_articles",
    "comments",
    "comment_moderation_log",
    "comment_blocklist",
    "webhooks",
    "webhook_deliveries",
];

/// Settings that belong to one database and are never exported nor imported.
const PRIVATE_SETTINGS: [&str; 1] = ["jwt_secret"];

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("{0}")]
    Db(#[from] diesel::result::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A line of an export that cannot be loaded; nothing has been written.
    #[error("line {line}: {message}")]
    Line { line: u64, message: String },
    /// The operation does not apply (a non-empty database, a file that exists, a backend).
    #[error("{0}")]
    Refused(String),
}

/// Rows per table.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Counts(BTreeMap<String, u64>);

impl Counts {
    fn add(&mut self, table: &str) {
        *self.0.entry(table.to_string()).or_default() += 1;
    }

    pub fn get(&self, table: &str) -> u64 {
        self.0.get(table).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// `users 3, articles 5, …` in table order.
    pub fn summary(&self) -> String {
        TABLES
            .iter()
            .map(|t| format!("{t} {}", self.get(t)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The first line of an export.
#[derive(Debug, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u64,
    /// RFC 3339, UTC.
    pub exported_at: String,
    #[serde(default)]
    pub masthead_version: Option<String>,
    /// `sqlite` or `postgres`: where the rows came from (for the operator; imports ignore it).
    #[serde(default)]
    pub backend: Option<String>,
}

/// One connection, reporting the real error; a SQLite path that does not exist is refused
/// instead of being created empty.
fn connect(url: &DatabaseUrl) -> Result<DbConn, String> {
    if url.backend == Backend::Sqlite && !Path::new(&url.target).exists() {
        return Err(format!("no SQLite database at {}", url.target));
    }
    ConnectionManager::new(url.clone(), Arc::default(), crate::db::Role::General)
        .connect()
        .map_err(|e| format!("cannot open the database {url:?}: {e}"))
}

/// `masthead export [FILE]`: to FILE (created, readable by its owner only, and refused if it
/// exists) or stdout; the summary goes to stderr.
pub fn run_export(config: &Config, file: Option<&Path>) -> Result<(), String> {
    let mut conn = connect(&config.database_url)?;
    let counts = match file {
        None => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            let counts = export(&mut conn, &mut out).map_err(|e| e.to_string())?;
            out.flush().map_err(|e| e.to_string())?;
            counts
        }
        Some(path) => {
            let created = create_private(path)?;
            let mut out = BufWriter::new(created);
            let written = export(&mut conn, &mut out)
                .and_then(|counts| {
                    out.flush()?;
                    out.get_ref().sync_all()?;
                    Ok(counts)
                })
                .map_err(|e| e.to_string());
            if written.is_err() {
                // A partial dump must not be mistaken for one; the error says why.
                let _ = std::fs::remove_file(path);
            }
            written?
        }
    };
    eprintln!("exported {} rows ({})", counts.total(), counts.summary());
    Ok(())
}

/// Creates `path` for writing only if it does not exist. An export holds password hashes and
/// webhook secrets, so on Unix only the owner may read it.
fn create_private(path: &Path) -> Result<File, String> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            format!(
                "{} exists: choose another name or remove it",
                path.display()
            )
        }
        _ => format!("cannot create {}: {e}", path.display()),
    })
}

/// `masthead import FILE|-`: checks the header before touching the database, migrates it, and
/// loads every row in one transaction.
pub fn run_import(config: &Config, file: &str) -> Result<(), String> {
    let mut input: Box<dyn BufRead> = if file == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let opened = File::open(file).map_err(|e| format!("cannot read {file}: {e}"))?;
        Box::new(BufReader::new(opened))
    };
    let header = read_header(&mut input).map_err(|e| e.to_string())?;
    let pool = db::build_pool(&config.database_url, 1)
        .map_err(|e| format!("cannot open the database {:?}: {e}", config.database_url))?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    db::run_migrations(&mut conn).map_err(|e| format!("migration failed: {e}"))?;
    let counts = import(&mut conn, input).map_err(|e| e.to_string())?;
    // Committed by now: a closed stdout must not turn success into a panic.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "imported {} rows exported at {}:",
        counts.total(),
        header.exported_at
    );
    for table in TABLES {
        let _ = writeln!(out, "  {table:<24}{:>8}", counts.get(table));
    }
    Ok(())
}

/// `masthead backup PATH`: a consistent copy of a live SQLite database, made with
/// `VACUUM INTO` (one read transaction, so writers carry on meanwhile). Returns the copy's size.
///
/// The copy holds what the database holds (password hashes, commenters' e-mails), so it is
/// readable by its owner only, and it never follows or replaces anything at `path`: the copy
/// is made in a private directory beside `path` and then hard-linked to it, which fails if
/// `path` exists in any form, a symlink (even a dangling one) included. The generated token
/// secret (`settings` key `jwt_secret`) is removed from the copy, its page overwritten: a copy
/// that leaks cannot sign an admin's token. A database restored from it makes a new secret at
/// start-up, so tokens issued before are no longer accepted (users sign in again); with
/// `MASTHEAD_JWT_SECRET` set nothing changes.
pub fn backup(conn: &mut DbConn, path: &Path) -> Result<u64, TransferError> {
    let DbConn::Sqlite(sqlite) = conn else {
        return Err(TransferError::Refused(
            "backup copies SQLite databases; for PostgreSQL use pg_dump (or `masthead export`)"
                .into(),
        ));
    };
    refuse_existing(path)?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let staging = tempfile::Builder::new()
        .prefix(".masthead-backup-")
        .tempdir_in(parent)
        .map_err(|e| {
            TransferError::Refused(format!("cannot write beside {}: {e}", path.display()))
        })?;
    let copy = staging.path().join("copy.db");
    let target = copy
        .to_str()
        .ok_or_else(|| TransferError::Refused(format!("{} is not a UTF-8 path", path.display())))?;
    // Created empty and private first: SQLite writes into an empty file as into a new one.
    create_private(&copy).map_err(TransferError::Refused)?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<diesel::sql_types::Text, _>(target)
        .execute(sqlite)?;
    forget_private_settings(target)?;
    std::fs::hard_link(&copy, path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => exists(path),
        _ => TransferError::Refused(format!("cannot create {}: {e}", path.display())),
    })?;
    Ok(std::fs::symlink_metadata(path)?.len())
}

/// Refuses a `path` that exists as anything, a dangling symlink included (`Path::exists`
/// follows symlinks and would call a dangling one free).
fn refuse_existing(path: &Path) -> Result<(), TransferError> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Err(exists(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(TransferError::Refused(format!(
            "cannot check {}: {e}",
            path.display()
        ))),
    }
}

fn exists(path: &Path) -> TransferError {
    TransferError::Refused(format!(
        "{} exists: choose another name or remove it",
        path.display()
    ))
}

/// Deletes the database's private settings from a backup copy, with `secure_delete` so their
/// bytes are overwritten, not left in a free page. The copy is not live yet, so its journal is
/// kept in memory: a crash leaves only a staging file that is removed anyway.
fn forget_private_settings(copy: &str) -> Result<(), TransferError> {
    let mut lite = diesel::SqliteConnection::establish(copy)
        .map_err(|e| TransferError::Refused(format!("cannot open the copy: {e}")))?;
    lite.batch_execute("PRAGMA journal_mode = MEMORY; PRAGMA secure_delete = ON;")?;
    diesel::delete(crate::db::schema::settings::table)
        .filter(crate::db::schema::settings::key.eq_any(PRIVATE_SETTINGS))
        .execute(&mut lite)?;
    Ok(())
}

pub fn run_backup(config: &Config, path: &Path) -> Result<(), String> {
    if config.database_url.backend == Backend::Postgres {
        return Err(
            "backup copies SQLite databases; for PostgreSQL use pg_dump (or `masthead export`)"
                .into(),
        );
    }
    let mut conn = connect(&config.database_url)?;
    let bytes = backup(&mut conn, path).map_err(|e| e.to_string())?;
    println!(
        "backed up {} to {} ({bytes} bytes)",
        config.database_url.target,
        path.display()
    );
    Ok(())
}

/// Refuses a database whose schema is behind this build: the export would miss columns.
fn check_migrated(conn: &mut DbConn) -> Result<(), TransferError> {
    use diesel_migrations::MigrationHarness;
    let pending = match conn {
        DbConn::Sqlite(c) => c.has_pending_migration(db::SQLITE_MIGRATIONS),
        DbConn::Pg(c) => c.has_pending_migration(db::POSTGRES_MIGRATIONS),
    }
    .map_err(|e| TransferError::Refused(format!("cannot read the migrations: {e}")))?;
    if pending {
        return Err(TransferError::Refused(
            "the database has pending migrations: run `masthead migrate` first".into(),
        ));
    }
    Ok(())
}

/// Points each PostgreSQL id sequence past the imported ids, so new rows get fresh ones.
/// (SQLite's AUTOINCREMENT counter follows explicit ids by itself.)
fn reset_sequences(conn: &mut DbConn) -> QueryResult<()> {
    const SERIAL: [&str; 10] = [
        "users",
        "login_failures",
        "articles",
        "article_revisions",
        "series",
        "comments",
        "comment_moderation_log",
        "comment_blocklist",
        "webhooks",
        "webhook_deliveries",
    ];
    if let DbConn::Pg(_) = conn {
        let sql: String = SERIAL
            .iter()
            .map(|t| {
                format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', 'id'), \
                     COALESCE((SELECT MAX(id) FROM {t}), 0) + 1, false);"
                )
            })
            .collect();
        conn.batch_execute(&sql)?;
    }
    Ok(())
}
