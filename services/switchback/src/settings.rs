//! Settings: built-in defaults < `switchback.toml` (or `--config FILE`) < `SWITCHBACK__SECTION__KEY`
//! environment variables. `DATABASE_URL` is honoured when `database.url` is not set.
//! Every setting is listed in docs/operations.md.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;
use switchback_asl::mocks::MockConfig;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub api: ApiSettings,
    pub database: DatabaseSettings,
    pub aws: AwsSettings,
    pub scheduler: SchedulerSettings,
    pub log: LogSettings,
    pub telemetry: TelemetrySettings,
    pub dev: DevSettings,
    #[serde(default)]
    pub mocks: MockSettings,
    /// Lambda endpoints and credentials, and the connections HTTP Tasks name.
    #[serde(default)]
    pub integrations: switchback_scheduler::invoke::IntegrationsConfig,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiSettings {
    /// Address the API listens on.
    pub listen: String,
    /// Largest request body accepted, in bytes.
    pub max_request_bytes: usize,
    /// How long GetActivityTask waits for a task, in seconds.
    pub activity_poll_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// `postgres://` URL. When unset, `DATABASE_URL`; when that is unset too, `switchback dev`
    /// starts an embedded PostgreSQL and other commands fail.
    pub url: Option<String>,
    pub max_connections: u32,
    pub acquire_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AwsSettings {
    /// The account id in every ARN.
    pub account_id: String,
    /// The region used when a request is not signed for one.
    pub region: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SchedulerSettings {
    /// Executions one scheduler transaction claims and advances.
    pub batch_size: i64,
    /// Longest sleep between looks at the executions table when no notification arrives.
    pub poll_interval_ms: u64,
    /// Where a scheduler-only process serves `/healthz`, `/readyz` and `/metrics`; unset: none.
    pub listen: Option<String>,
    /// How long a scheduler holds an integration's call (Lambda, HTTP) before another one may
    /// make it again; renewed while the call runs, so it bounds the delay after a crash.
    pub call_lease_seconds: u64,
    /// Integration calls one scheduler makes at once.
    pub max_concurrent_calls: usize,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MockSettings {
    /// An AWS Step Functions Local mock configuration file (JSON). When unset, the
    /// `SFN_MOCK_CONFIG` environment variable is read, as Step Functions Local does.
    pub config_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// `pretty` or `json`.
    pub format: LogFormat,
    /// A tracing filter directive, e.g. `info` or `switchback_api=debug,info`.
    pub filter: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TelemetrySettings {
    /// OTLP/HTTP collector, e.g. `http://otel-collector:4318`; traces are exported when set.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the exported spans.
    pub service_name: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DevSettings {
    /// Where `switchback dev` keeps its embedded PostgreSQL cluster.
    pub data_dir: PathBuf,
}

const DEFAULTS: &str = r#"
[api]
listen = "0.0.0.0:8083"
max_request_bytes = 4194304
activity_poll_seconds = 60

[database]
max_connections = 8
acquire_timeout_seconds = 10

[aws]
account_id = "123456789012"
region = "us-east-1"

[scheduler]
batch_size = 64
poll_interval_ms = 1000
call_lease_seconds = 30
max_concurrent_calls = 64

[log]
format = "pretty"
filter = "info"

[telemetry]
service_name = "switchback"

[dev]
data_dir = ".switchback/pgdata"
"#;

/// The file read when `--config` is not given, if it exists.
const DEFAULT_FILE: &str = "switchback.toml";

impl Settings {
    /// Loads the layered settings. `file` is a required file given with `--config`.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        builder = match file {
            Some(path) => builder.add_source(File::from(path).format(FileFormat::Toml)),
            None => builder.add_source(File::new(DEFAULT_FILE, FileFormat::Toml).required(false)),
        };
        let config = builder
            .add_source(
                Environment::with_prefix("SWITCHBACK")
                    .prefix_separator("__")
                    .separator("__"),
            )
            .build()
            .context("cannot read settings")?;
        let mut settings: Settings = config.try_deserialize().context("invalid settings")?;
        // An empty value (as a compose file passes for an unset variable) means unset.
        settings.telemetry.otlp_endpoint = settings
            .telemetry
            .otlp_endpoint
            .filter(|e| !e.trim().is_empty());
        settings.integrations.lambda.endpoint = settings
            .integrations
            .lambda
            .endpoint
            .filter(|e| !e.trim().is_empty());
        if settings.database.url.is_none() {
            settings.database.url = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
        }
        if settings.mocks.config_file.is_none() {
            settings.mocks.config_file = std::env::var_os("SFN_MOCK_CONFIG")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from);
        }
        Ok(settings)
    }

    /// The built-in defaults alone, ignoring files and the environment (for tests).
    pub fn defaults() -> anyhow::Result<Self> {
        Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .build()
            .context("cannot read default settings")?
            .try_deserialize()
            .context("invalid default settings")
    }

    /// Reads the mock configuration file, if one is set.
    pub fn load_mocks(&self) -> anyhow::Result<Option<Arc<MockConfig>>> {
        let Some(path) = &self.mocks.config_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the mock configuration {}", path.display()))?;
        let mocks = MockConfig::parse(&text)
            .with_context(|| format!("invalid mock configuration {}", path.display()))?;
        Ok(Some(Arc::new(mocks)))
    }

    pub fn api_config(&self, mocks: Option<Arc<MockConfig>>) -> switchback_api::ApiConfig {
        switchback_api::ApiConfig {
            default_account: self.aws.account_id.clone(),
            default_region: self.aws.region.clone(),
            max_request_bytes: self.api.max_request_bytes,
            activity_poll: std::time::Duration::from_secs(self.api.activity_poll_seconds),
            operations_only: false,
            mocks,
        }
    }

    pub fn scheduler_config(
        &self,
        mocks: Option<Arc<MockConfig>>,
    ) -> switchback_scheduler::SchedulerConfig {
        switchback_scheduler::SchedulerConfig {
            batch_size: self.scheduler.batch_size.max(1),
            poll_interval: std::time::Duration::from_millis(self.scheduler.poll_interval_ms.max(1)),
            integrations: self.integrations.clone(),
            mocks,
            call_lease: std::time::Duration::from_secs(self.scheduler.call_lease_seconds.max(1)),
            max_concurrent_calls: self.scheduler.max_concurrent_calls.max(1),
            default_region: self.aws.region.clone(),
        }
    }

    pub fn store_settings(&self, url: String) -> switchback_store::DatabaseSettings {
        switchback_store::DatabaseSettings {
            url,
            max_connections: self.database.max_connections,
            acquire_timeout: std::time::Duration::from_secs(self.database.acquire_timeout_seconds),
        }
    }
}
