//! The console's pages: one module per page, `layout` for what they share.

pub mod activities;
pub mod execution;
pub mod executions;
pub mod layout;
pub mod login;
pub mod machines;
pub mod map_run;
