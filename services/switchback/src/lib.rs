//! switchback: the binary that composes the crates into a service.
//!
//! Module map:
//! - [`cli`] — the command line (`dev`, `serve`, `api`, `scheduler`, `migrate`, `validate`).
//! - [`settings`] — layered settings (defaults, file, `SWITCHBACK__*` environment).
//! - [`telemetry`] — logging.
//! - [`app`] — the application as a value — build, then run until a shutdown signal.
//! - [`embedded_pg`] — a PostgreSQL cluster from the system's binaries, for `dev` and tests.
//! - [`commands`] — what each subcommand does.
//!
//! No business logic lives here.

pub mod app;
pub mod cli;
pub mod commands;
pub mod embedded_pg;
pub mod settings;
pub mod telemetry;
