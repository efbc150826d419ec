//! Command-line interface.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "switchback",
    version,
    about = "A self-hosted workflow service that speaks the AWS Step Functions API"
)]
pub struct Cli {
    /// Settings file (TOML). Without it, ./switchback.toml is read when present.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// API and scheduler in one process, on an embedded PostgreSQL unless a database URL is set
    /// (the default command).
    Dev,
    /// API and scheduler in one process on the configured database.
    Serve,
    /// Only the API.
    Api,
    /// Only the scheduler.
    Scheduler,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Validate a state machine definition file and print every diagnostic.
    Validate {
        /// The Amazon States Language file (JSON).
        file: PathBuf,
        /// Validate as an EXPRESS state machine.
        #[arg(long)]
        express: bool,
    },
}
