//! The command line: `serve` (default), `migrate`, `user add`, `seed-demo`, `seed-bench`,
//! `export`, `import`, `backup`, `openapi`.

use std::io::{BufRead, IsTerminal};

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::db;
use crate::domain::user::{Password, Role, Username};
use crate::services::users;
use crate::startup::{self, Application};

#[derive(Debug, Parser)]
#[command(name = "masthead", version, about = "A headless CMS for news sites")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Run pending database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print the OpenAPI document (regenerate openapi/openapi.json with it).
    Openapi,
    /// Fill an empty database with demo articles, a series and comments.
    SeedDemo,
    /// Fill an empty database with benchmark data: ~5 KB articles, series and comments.
    SeedBench {
        /// Published articles (slugs bench-article-1…).
        #[arg(long, default_value_t = 1000)]
        articles: u32,
        /// Comments; the first 1,000 form the thread of bench-article-1.
        #[arg(long, default_value_t = 10000)]
        comments: u32,
    },
    /// Write the whole database as versioned JSON Lines.
    ///
    /// Users with their password hashes, articles with revisions and old slugs, series,
    /// comments with their moderation log, the blocklist, webhooks with their deliveries.
    Export {
        /// The file to create (refused if it exists); stdout when absent.
        file: Option<std::path::PathBuf>,
    },
    /// Load an export into an empty database of either backend, all or nothing.
    Import {
        /// The export file, or `-` for stdin.
        file: String,
    },
    /// Copy a live SQLite database to PATH, consistently, while the server runs.
    Backup {
        /// The copy to create (refused if it exists).
        path: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password comes from MASTHEAD_PASSWORD or, if unset, from stdin.
    Add {
        username: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Shown as the author of articles; defaults to the username.
        #[arg(long)]
        display_name: Option<String>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

/// Runs the parsed command; `Err` is a one-line message for the operator.
pub async fn run(cli: Cli, config: Config) -> Result<(), String> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(config)?;
            tracing::info!(port = app.port(), "listening");
            app.run_until_stopped().await.map_err(|e| e.to_string())
        }
        Command::Migrate => {
            let pool = db::build_pool(&config.database_url, 1)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let ran = db::run_migrations(&mut conn)?;
            println!("{ran} migration(s) applied");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    username,
                    role,
                    display_name,
                },
        } => {
            let username = Username::parse(&username).map_err(|e| format!("username {e}"))?;
            let password = read_password()?;
            let display_name = match display_name {
                Some(d) => crate::domain::user::DisplayName::parse(&d)
                    .map_err(|e| format!("display name {e}"))?
                    .into_inner(),
                None => username.as_str().to_string(),
            };
            let state = startup::prepare(config)?;
            let user = state
                .db
                .run(move |conn| users::create(conn, &username, &password, role, &display_name))
                .await
                .map_err(|e| match e {
                    crate::error::ApiError::Conflict { detail, .. } => detail,
                    other => other.to_string(),
                })?;
            println!(
                "created {} user {:?} (id {})",
                user.role, user.username, user.id
            );
            Ok(())
        }
        Command::SeedDemo => {
            let state = startup::prepare(config)?;
            let seeded = state
                .db
                .run(crate::seed::seed_demo)
                .await
                .map_err(|e| match e {
                    crate::error::ApiError::Conflict { detail, .. } => detail,
                    other => other.to_string(),
                })?;
            println!("seeded {} articles:", seeded.articles.len());
            for slug in &seeded.articles {
                println!("  /api/v1/articles/{slug}");
            }
            println!("a series: /api/v1/series/{}", seeded.series);
            println!("{} comments (approved, pending and spam)", seeded.comments);
            println!(
                "log in as editor {:?} with password {:?}, or as moderator {:?} with password {:?}",
                seeded.editor.0, seeded.editor.1, seeded.moderator.0, seeded.moderator.1
            );
            Ok(())
        }
        Command::SeedBench { articles, comments } => {
            if articles == 0 {
                return Err("--articles must be at least 1".into());
            }
            let state = startup::prepare(config)?;
            let started = std::time::Instant::now();
            let seeded = state
                .db
                .run(move |conn| crate::seed::seed_bench(conn, articles, comments))
                .await
                .map_err(|e| match e {
                    crate::error::ApiError::Conflict { detail, .. } => detail,
                    other => other.to_string(),
                })?;
            println!(
                "seeded {} articles, {} series, {} comments in {:.1} s",
                seeded.articles,
                seeded.series,
                seeded.comments,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Export { file } => crate::transfer::run_export(&config, file.as_deref()),
        Command::Import { file } => crate::transfer::run_import(&config, &file),
        Command::Backup { path } => crate::transfer::run_backup(&config, &path),
        Command::Openapi => {
            let doc = crate::openapi::document()
                .to_pretty_json()
                .map_err(|e| e.to_string())?;
            println!("{doc}");
            Ok(())
        }
    }
}

/// MASTHEAD_PASSWORD, else a prompt without echo on a terminal, else one line of stdin.
fn read_password() -> Result<Password, String> {
    let raw = match std::env::var("MASTHEAD_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ if std::io::stdin().is_terminal() => {
            rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?
        }
        _ => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    Password::parse(&raw).map_err(|e| format!("password {e}"))
}
