//! The database layer: one connection enum over SQLite and PostgreSQL, an r2d2 pool,
//! embedded migrations per backend, and plain query functions in `queries/`.

pub mod batch;
pub mod models;
pub mod queries;
pub mod schema;

pub use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::InstrumentationEvent;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::{Backend, DatabaseUrl};

/// A connection to whichever backend `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Pg(_) => Backend::Postgres,
            DbConn::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Runs `$run` with `$c` bound to the backend's own connection. For a hot statement: there
/// diesel finds the prepared statement by the query's type, where the two-backend connection
/// writes the SQL text out on every call to look it up (a tenth of a stored article read's CPU).
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $run:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $run,
            $crate::db::DbConn::Pg($c) => $run,
        }
    };
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// SQLite settings applied to every pooled connection, after its busy timeout
/// (`SQLITE_BUSY_TIMEOUT`: writers queue instead of failing with "database is locked") and
/// before WAL (`use_wal`: readers run beside the single writer). The page cache is per
/// connection (see `Role`); memory-mapping the file was tried and dropped, as every connection
/// maps it again and resident memory grows with the pool.
const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON;
PRAGMA synchronous = NORMAL;
PRAGMA temp_store = MEMORY;";

/// How long an SQLite connection waits for a lock: its `PRAGMA busy_timeout`, and the budget
/// of `use_wal`'s retries.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Puts the database in WAL mode (it stays so: later connections find it done). Switching a
/// new database takes an exclusive lock that SQLite does not wait for: with another process
/// opening the same new file at that moment (instances starting at once), the pragma fails at
/// once with "database is locked", busy timeout or not. It is retried within the busy timeout.
/// Where SQLite cannot use WAL (a file system without shared memory), it keeps its journal mode
/// without an error; that is logged, as readers then wait for writers.
fn use_wal(conn: &mut SqliteConnection) -> QueryResult<()> {
    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let deadline = std::time::Instant::now() + SQLITE_BUSY_TIMEOUT;
    loop {
        match diesel::sql_query("PRAGMA journal_mode = WAL").get_result::<Mode>(conn) {
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("database is locked")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(Mode { journal_mode }) => {
                if !journal_mode.eq_ignore_ascii_case("wal") {
                    tracing::warn!(journal_mode, "SQLite could not switch to WAL journal mode");
                }
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
}

/// Makes the SQLite database at `path` readable by its owner only before SQLite opens it: a
/// new file is created with mode 0600 (SQLite then gives its `-wal`, `-shm` and `-journal`
/// files the database's mode), and an existing database or journal file that others may read
/// (one created by an older build) is narrowed to 0600, with a warning. The database holds
/// password hashes, commenters' e-mails and addresses, and perhaps the token secret.
fn private_sqlite_files(path: &str) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::fs::{OpenOptions, Permissions};
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        // `:memory:` and URI file names are SQLite's to interpret.
        if path.starts_with(':') || path.starts_with("file:") {
            return Ok(());
        }
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create the database file {path}: {e}")),
        }
        for file in ["", "-wal", "-shm", "-journal"].map(|suffix| format!("{path}{suffix}")) {
            let Ok(meta) = std::fs::metadata(&file) else {
                continue;
            };
            if meta.permissions().mode() & 0o077 != 0 {
                // A file another user owns (shared with a group on purpose) is the operator's
                // choice to keep: warned about, not a reason to refuse to start.
                match std::fs::set_permissions(&file, Permissions::from_mode(0o600)) {
                    Ok(()) => tracing::warn!(
                        file,
                        "others could read this database file: made it mode 0600"
                    ),
                    Err(e) => tracing::warn!(
                        file,
                        error = %e,
                        "others can read this database file and it could not be made mode 0600"
                    ),
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// What a pool's connections are for, which sets their SQLite page cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Any request: a small page cache each (1 MB), since a commit by another connection
    /// empties it anyway and there are many of them.
    General,
    /// The one connection SQLite writes go through: its cache stays valid across its own
    /// commits, so it is larger (4 MB) and keeps the hot index pages of the write path. It
    /// checkpoints itself only every 4,000 logged pages (16 MB; SQLite's default is 1,000),
    /// `spawn_checkpointer`'s thread copying most of them back in between.
    Writer,
}

impl Role {
    fn cache_pragma(self) -> &'static str {
        match self {
            Role::General => "PRAGMA cache_size = -1000;",
            Role::Writer => "PRAGMA cache_size = -4000; PRAGMA wal_autocheckpoint = 4000;",
        }
    }
}

/// How often `spawn_checkpointer`'s thread copies the write-ahead log back into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Starts a thread that checkpoints the SQLite database at `url` (`PRAGMA
/// wal_checkpoint(PASSIVE)`) every `CHECKPOINT_EVERY`, for as long as `alive` has an owner.
/// A passive checkpoint runs beside the writer and the readers and never blocks them, so the
/// copying of logged pages back into the database happens off the one writer, where every
/// write queued behind it used to wait for it. It cannot empty a log that keeps growing,
/// though: only a checkpoint between two writes can, which is why the writer still
/// checkpoints itself now and then (`Role::Writer`), finding little left to copy.
pub fn spawn_checkpointer(url: &DatabaseUrl, alive: &Arc<()>) -> Result<(), String> {
    let mut conn = ConnectionManager::new(url.clone(), Arc::default(), Role::General)
        .connect()
        .map_err(|e| e.to_string())?;
    let alive = Arc::downgrade(alive);
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while alive.strong_count() > 0 {
                std::thread::sleep(CHECKPOINT_EVERY);
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
                    tracing::warn!(error = %e, "checkpointing the SQLite database failed");
                }
            }
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A PostgreSQL connection. Every one the process opens goes through here (the pool, the CLI,
/// the tests), for what comes first: OpenSSL initialised the way `openssl-sys` does it, with
/// `OPENSSL_INIT_NO_ATEXIT`. Otherwise libpq's first TLS connection initialises it, which
/// registers `OPENSSL_cleanup` to run at exit; that frees OpenSSL's global state while other
/// threads (a pool's connections, the webhook worker's client) may still be using it, and the
/// process dies with SIGSEGV on its way out. Whichever initialisation comes first decides.
pub fn establish_pg(url: &str) -> ConnectionResult<PgConnection> {
    openssl_sys::init();
    PgConnection::establish(url)
}

/// Picks the connection variant from the URL itself, so a failure reports the real cause
/// (diesel's own `establish` for the enum hides it).
#[derive(Clone, Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    statements: Arc<AtomicU64>,
    role: Role,
}

impl ConnectionManager {
    /// A manager whose connections add every SQL statement they start to `statements`: a
    /// measure that does not drift with machine noise, used by tests to catch N+1 queries.
    pub fn new(url: DatabaseUrl, statements: Arc<AtomicU64>, role: Role) -> Self {
        Self {
            url,
            statements,
            role,
        }
    }

    fn counted(&self, mut conn: DbConn) -> DbConn {
        let statements = Arc::clone(&self.statements);
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { .. } = event {
                statements.fetch_add(1, Ordering::Relaxed);
            }
        });
        conn
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match self.url.backend {
            Backend::Postgres => establish_pg(&self.url.target)
                .map(|c| self.counted(DbConn::Pg(c)))
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                private_sqlite_files(&self.url.target)
                    .map_err(|e| r2d2::Error::ConnectionError(ConnectionError::BadConnection(e)))?;
                let mut conn = SqliteConnection::establish(&self.url.target)
                    .map_err(r2d2::Error::ConnectionError)?;
                let busy_ms = SQLITE_BUSY_TIMEOUT.as_millis();
                conn.batch_execute(&format!("PRAGMA busy_timeout = {busy_ms};"))
                    .and_then(|()| conn.batch_execute(SQLITE_PRAGMAS))
                    .and_then(|()| use_wal(&mut conn))
                    .and_then(|()| conn.batch_execute(self.role.cache_pragma()))
                    .map_err(r2d2::Error::QueryError)?;
                Ok(self.counted(DbConn::Sqlite(conn)))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// As diesel's own manager: a connection given back while its thread panics may be inside
    /// a transaction (on SQLite, holding the write lock that every other writer would then wait
    /// for), and one left in a transaction or with a failed rollback cannot be trusted; both are
    /// closed instead of going back into the pool.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        use diesel::r2d2::R2D2Connection;
        std::thread::panicking()
            || match conn {
                DbConn::Sqlite(c) => c.is_broken(),
                DbConn::Pg(c) => c.is_broken(),
            }
    }
}

/// Builds the pool, failing fast (not after r2d2's 30 s default) when the database is unreachable.
pub fn build_pool(url: &DatabaseUrl, size: u32) -> Result<Pool, String> {
    build_counted_pool(url, size, Arc::default(), Role::General)
}

/// The same, counting the statements its connections run into `statements`.
pub fn build_counted_pool(
    url: &DatabaseUrl,
    size: u32,
    statements: Arc<AtomicU64>,
    role: Role,
) -> Result<Pool, String> {
    let manager = ConnectionManager::new(url.clone(), statements, role);
    // Surface the real connection error first: r2d2 only reports a timeout.
    manager.connect().map_err(|e| e.to_string())?;
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(10))
        .test_on_check_out(false)
        .build(manager)
        .map_err(|e| e.to_string())
}

/// Runs the pending migrations of the connection's backend and returns how many ran.
/// On PostgreSQL an advisory lock keeps instances starting at once from colliding.
pub fn run_migrations(conn: &mut DbConn) -> Result<usize, String> {
    const MIGRATION_LOCK: i64 = 0x6d61_7374_6865_6164; // "masthead"
    match conn {
        // One writer at a time: the whole run holds the write lock (BEGIN IMMEDIATE waits for
        // it), so instances starting at once migrate one after the other, the later ones
        // finding nothing to do.
        //
        // Foreign keys are off for the run (a table rebuild drops and re-creates a referenced
        // table, which would otherwise cascade), and, when a migration ran, every one is
        // checked before it commits (a scan of every referencing table: not at every start).
        DbConn::Sqlite(_) => {
            conn.batch_execute("PRAGMA foreign_keys = OFF")
                .map_err(|e| e.to_string())?;
            let result = write_transaction(conn, |conn| {
                let DbConn::Sqlite(c) = conn else {
                    unreachable!("the variant of a connection never changes")
                };
                let ran = c
                    .run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|v| v.len())
                    .map_err(|e| MigrationError(e.to_string()))?;
                if ran == 0 {
                    return Ok(0);
                }
                let broken =
                    diesel::sql_query("SELECT count(*) AS n FROM pragma_foreign_key_check")
                        .get_result::<Count>(c)?
                        .n;
                if broken > 0 {
                    return Err(MigrationError(format!(
                        "{broken} rows break a foreign key after migrating"
                    )));
                }
                Ok(ran)
            })
            .map_err(|e| e.0);
            conn.batch_execute("PRAGMA foreign_keys = ON")
                .map_err(|e| e.to_string())?;
            result
        }
        DbConn::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .map_err(|e| e.to_string())?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len())
                .map_err(|e| e.to_string());
            let unlock = c
                .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                .map_err(|e| e.to_string());
            let ran = result?;
            unlock?;
            Ok(ran)
        }
    }
}

/// The one writer of this process at a time on SQLite (see `write_transaction`).
static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The answer of a `SELECT count(*) AS n`.
#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// A migration failure, carried through a transaction.
struct MigrationError(String);

impl From<diesel::result::Error> for MigrationError {
    fn from(e: diesel::result::Error) -> Self {
        MigrationError(e.to_string())
    }
}

/// This process's SQLite write lock, taken, when `conn` is SQLite and outside any transaction:
/// writers of this process queue on a mutex instead of spinning in SQLite's busy handler (which
/// sleeps in growing steps); other processes still meet the busy timeout. `None` on PostgreSQL,
/// and inside a transaction, which holds the lock already.
fn sqlite_writer_lock(
    conn: &mut DbConn,
) -> diesel::QueryResult<Option<std::sync::MutexGuard<'static, ()>>> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConn::Sqlite(c) = conn else {
        return Ok(None);
    };
    let outside = AnsiTransactionManager::transaction_manager_status_mut(c)
        .transaction_depth()?
        .is_none();
    Ok(outside.then(|| SQLITE_WRITER.lock().unwrap_or_else(|e| e.into_inner())))
}

/// Runs one writing statement, queued behind this process's other SQLite writers as
/// `write_transaction` is.
pub fn write_statement<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> diesel::QueryResult<T>,
) -> diesel::QueryResult<T> {
    let _writer = sqlite_writer_lock(conn)?;
    f(conn)
}

/// A transaction for writes. On SQLite it starts with `BEGIN IMMEDIATE`, taking the write lock
/// up front: a deferred transaction that read first and then tries to write fails at once with
/// "database is locked" when another writer got in between, whatever the busy timeout.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    // Inside an outer transaction, or on PostgreSQL, this nests or begins like any other.
    let Some(_writer) = sqlite_writer_lock(conn).map_err(E::from)? else {
        return conn.transaction(f);
    };
    let DbConn::Sqlite(c) = conn else {
        unreachable!("only SQLite connections take the writer lock")
    };
    AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
    let result = f(conn);
    let DbConn::Sqlite(c) = conn else {
        unreachable!("the variant of a connection never changes")
    };
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(c)?;
            Ok(value)
        }
        Err(e) => {
            // The caller's error says what went wrong; a failed rollback adds nothing.
            let _ = AnsiTransactionManager::rollback_transaction(c);
            Err(e)
        }
    }
}
