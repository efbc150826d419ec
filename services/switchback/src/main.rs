use clap::Parser;
use switchback::cli::{Cli, Command};
use switchback::settings::Settings;
use switchback::{commands, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let telemetry = telemetry::init(&settings.log, &settings.telemetry);
    let result = match cli.command.unwrap_or(Command::Dev) {
        Command::Dev => commands::dev(&settings).await,
        Command::Serve => commands::serve(&settings).await,
        Command::Api => commands::api(&settings).await,
        Command::Scheduler => commands::scheduler(&settings).await,
        Command::Migrate => commands::migrate(&settings).await,
        Command::Validate { file, express } => commands::validate(&file, express),
    };
    telemetry.shutdown();
    match result {
        Ok(code) => code,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "switchback failed");
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
