//! `embed_migrations!` reads `migrations/` at compile time; Cargo alone would not build again
//! when a migration is added or changed (diesel's advice for embedded migrations).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
