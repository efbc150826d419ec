//! Test support for Switchback's black-box tests.
//!
//! - [`pg`] — one throwaway PostgreSQL cluster per test process (or `DATABASE_URL`), a migrated
//!   template database, and a fresh database per test.
//! - [`chaos`] — the chaos suite: faults on work in flight, exact checks afterwards.
//! - [`app`] — the real application started in-process on `127.0.0.1:0`, and real
//!   `aws-sdk-sfn` clients pointed at it.
//! - [`browser`] — headless Chromium driven over WebDriver, for the console's pages.
//! - [`processes`] — real `switchback` processes, killed, paused and restarted by multi-process and chaos tests.
//! - [`raw`] — plain HTTP requests, for protocol cases no SDK would send.
//! - [`s3`] — an S3-compatible server (`moto_server`) for Distributed Map's readers and writers.
//! - [`services`] — a Lambda Invoke API and an HTTP server that Task states call.

pub mod app;
pub mod browser;
pub mod chaos;
pub mod pg;
pub mod processes;
pub mod raw;
pub mod s3;
pub mod services;

pub use app::TestApp;
