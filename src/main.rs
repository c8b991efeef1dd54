use clap::Parser;
use masthead::{cli, config::Config, telemetry};

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    telemetry::init();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("masthead: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = actix_web::rt::System::new().block_on(cli::run(cli, config));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("masthead: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
