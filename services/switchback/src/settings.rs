//! Settings: built-in defaults < `switchback.toml` (or `--config FILE`) < `SWITCHBACK__SECTION__KEY`
//! environment variables. `DATABASE_URL` is honoured when `database.url` is not set.
//! Every setting is listed in docs/operations.md.
//!
//! Every section refuses keys it does not know (`deny_unknown_fields`), so that a misspelt
//! `SWITCHBACK__API__LISTN` or `[schedular]` stops the start with the name and the known keys
//! instead of silently leaving the default in force.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use config::{Config, Environment, File, FileFormat, Source};
use serde::Deserialize;
use switchback_asl::mocks::MockConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub api: ApiSettings,
    pub database: DatabaseSettings,
    pub aws: AwsSettings,
    pub scheduler: SchedulerSettings,
    pub retention: RetentionSettings,
    pub log: LogSettings,
    pub telemetry: TelemetrySettings,
    pub dev: DevSettings,
    #[serde(default)]
    pub mocks: MockSettings,
    #[serde(default)]
    pub auth: AuthSettings,
    pub console: ConsoleSettings,
    /// Lambda endpoints and credentials, and the connections HTTP Tasks name.
    #[serde(default)]
    pub integrations: switchback_invoke::IntegrationsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// Address the API listens on.
    pub listen: String,
    /// Largest request body accepted, in bytes.
    pub max_request_bytes: usize,
    /// How long GetActivityTask waits for a task, in seconds.
    pub activity_poll_seconds: u64,
    /// Serve HTTPS with this certificate and key; unset: plain HTTP (behind a proxy that
    /// terminates TLS, or on a laptop).
    #[serde(default)]
    pub tls: Option<TlsSettings>,
    /// Per-account token buckets (off by default).
    #[serde(default)]
    pub throttling: ThrottlingSettings,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottlingSettings {
    /// Throttle each account's calls with AWS's quotas (and `quotas`' replacements).
    #[serde(default)]
    pub enabled: bool,
    /// Quotas by operation name (or `StartExecutionExpress`) in place of AWS's defaults.
    #[serde(default)]
    pub quotas: std::collections::HashMap<String, switchback_api::throttle::Quota>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM certificate chain, the server's certificate first.
    pub cert_file: PathBuf,
    /// PEM private key of that certificate.
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://` URL. When unset, `DATABASE_URL`; when that is unset too, `switchback dev`
    /// starts an embedded PostgreSQL and other commands fail.
    pub url: Option<String>,
    pub max_connections: u32,
    pub acquire_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSettings {
    /// The account id in every ARN.
    pub account_id: String,
    /// The region used when a request is not signed for one.
    pub region: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// The most result entries a Distributed Map run writes to S3 in one round of its driver;
    /// a larger write goes on in the next rounds.
    pub result_entries_per_round: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Days an ended execution is kept (from its stop date) before schedulers delete it with
    /// its history; 0 keeps ended executions forever.
    pub days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSettings {
    /// Serve the web console at `/console/` on API nodes.
    pub enabled: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// A TOML file of `[[credentials]]` (`access_key_id`, `secret_access_key`, `account_id`,
    /// optional `regions` and `read_only`): when set, every API request must be signed (SigV4)
    /// with one of them, and acts in that key's account.
    pub credentials_file: Option<PathBuf>,
    /// `none` lets `switchback serve` and `switchback api` run without credentials (requests
    /// are then not authenticated); anything else needs `credentials_file`.
    pub mode: Option<AuthMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Requests must be signed with a key of the credentials file.
    Sigv4,
    /// Requests are not authenticated (one account, `aws.account_id`).
    None,
}

/// The credentials file's shape.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    credentials: Vec<switchback_api::auth::Key>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockSettings {
    /// An AWS Step Functions Local mock configuration file (JSON). When unset, the
    /// `SFN_MOCK_CONFIG` environment variable is read, as Step Functions Local does.
    pub config_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` or `json`.
    pub format: LogFormat,
    /// A tracing filter directive, e.g. `info` or `switchback_api=debug,info`.
    pub filter: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub struct DevSettings {
    /// Where `switchback dev` keeps its embedded PostgreSQL cluster.
    pub data_dir: PathBuf,
}

const DEFAULTS: &str = r#"
[api]
listen = "127.0.0.1:8083"
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
result_entries_per_round = 100000

[retention]
days = 90

[console]
enabled = true

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
        let environment = Environment::with_prefix("SWITCHBACK")
            .prefix_separator("__")
            .separator("__");
        match file {
            Some(path) => Self::layered(File::from(path).format(FileFormat::Toml), environment),
            None => Self::layered(
                File::new(DEFAULT_FILE, FileFormat::Toml).required(false),
                environment,
            ),
        }
    }

    /// Defaults < `file` < `environment`, then the fallbacks to unprefixed variables.
    fn layered(
        file: impl Source + Send + Sync + 'static,
        environment: Environment,
    ) -> anyhow::Result<Self> {
        let config = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(file)
            .add_source(environment)
            .build()
            .context("cannot read settings")?;
        let mut settings: Settings = config.try_deserialize().map_err(explain)?;
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
        settings.integrations.s3.endpoint = settings
            .integrations
            .s3
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

    /// Whether API requests are authenticated, refusing the settings that leave a shared
    /// server open by mistake: `serve` and `api` need credentials unless `auth.mode = "none"`
    /// says otherwise (`dev` runs on a laptop, on 127.0.0.1 by default).
    pub fn check_auth(&self, shared: bool) -> anyhow::Result<bool> {
        match (self.auth.mode, &self.auth.credentials_file) {
            (Some(AuthMode::None), Some(_)) => {
                anyhow::bail!("auth.mode is \"none\" but auth.credentials_file is set: choose one")
            }
            (Some(AuthMode::None), None) => Ok(false),
            (Some(AuthMode::Sigv4), None) => {
                anyhow::bail!("auth.mode is \"sigv4\" but no auth.credentials_file is set")
            }
            (_, Some(_)) => Ok(true),
            (_, None) if shared => anyhow::bail!(
                "requests would not be authenticated: set auth.credentials_file \
                 (SWITCHBACK__AUTH__CREDENTIALS_FILE), or auth.mode = \"none\" \
                 (SWITCHBACK__AUTH__MODE=none) to serve without authentication"
            ),
            (_, None) => Ok(false),
        }
    }

    /// Reads the credentials file, if one is set. Its secrets never appear in the errors.
    pub fn load_credentials(&self) -> anyhow::Result<Option<switchback_api::auth::Keys>> {
        let Some(path) = &self.auth.credentials_file else {
            return Ok(None);
        };
        let file: CredentialsFile = Config::builder()
            .add_source(File::from(path.as_path()).format(FileFormat::Toml))
            .build()
            .and_then(Config::try_deserialize)
            .map_err(|error| {
                anyhow::anyhow!(
                    "invalid credentials file {}: {}",
                    path.display(),
                    explain(error)
                )
            })?;
        let keys = switchback_api::auth::Keys::new(file.credentials).map_err(|reason| {
            anyhow::anyhow!("invalid credentials file {}: {reason}", path.display())
        })?;
        if keys.is_empty() {
            anyhow::bail!(
                "the credentials file {} has no [[credentials]]",
                path.display()
            );
        }
        Ok(Some(keys))
    }

    pub fn api_config(
        &self,
        mocks: Option<Arc<MockConfig>>,
    ) -> anyhow::Result<switchback_api::ApiConfig> {
        let throttling = &self.api.throttling;
        let throttle = match throttling.enabled {
            true => Some(
                switchback_api::throttle::Throttle::new(throttling.quotas.clone())
                    .map_err(|error| anyhow::anyhow!("invalid settings: {error}"))?,
            ),
            false if !throttling.quotas.is_empty() => anyhow::bail!(
                "invalid settings: api.throttling.quotas are given but api.throttling.enabled is not true"
            ),
            false => None,
        };
        Ok(switchback_api::ApiConfig {
            default_account: self.aws.account_id.clone(),
            default_region: self.aws.region.clone(),
            max_request_bytes: self.api.max_request_bytes,
            activity_poll: std::time::Duration::from_secs(self.api.activity_poll_seconds),
            operations_only: false,
            mocks,
            integrations: self.integrations.clone(),
            credentials: None,
            throttle,
            tls: self.api.tls.is_some(),
        })
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
            result_entries_per_round: self.scheduler.result_entries_per_round.max(1),
            default_region: self.aws.region.clone(),
            // 0 means keep forever: a sweep deleting executions as soon as they end would
            // make DescribeExecution fail right after every execution's end. Past a million
            // days PostgreSQL's interval would overflow; it is forever anyway.
            retention: (self.retention.days > 0).then(|| {
                let days = u64::from(self.retention.days.min(1_000_000));
                std::time::Duration::from_secs(days * 86_400)
            }),
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

/// Names the whole key of an unknown setting and the keys its section knows. serde says
/// "unknown field `listn`, expected one of `listen`, ..." and the `config` crate appends
/// "for key `api`"; the operator should read `api.listn` and what would have been right.
/// Other errors pass through as the `config` crate words them.
fn explain(error: config::ConfigError) -> anyhow::Error {
    let (section, message) = match &error {
        config::ConfigError::At {
            error: inner, key, ..
        } => match inner.as_ref() {
            config::ConfigError::Message(message) => (key.as_deref(), message.as_str()),
            _ => return anyhow::Error::new(error).context("invalid settings"),
        },
        config::ConfigError::Message(message) => (None, message.as_str()),
        _ => return anyhow::Error::new(error).context("invalid settings"),
    };
    let Some((name, expected)) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
    else {
        return anyhow::Error::new(error).context("invalid settings");
    };
    // The known names are the back-quoted words of "expected one of `a`, `b`".
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let (key, place) = match section {
        Some(section) => (format!("{section}.{name}"), format!("[{section}]")),
        None => (name.to_owned(), "the top level".to_owned()),
    };
    anyhow::anyhow!(
        "invalid settings: unknown key `{key}` (from the settings file or a SWITCHBACK__ \
         environment variable); the keys of {place} are: {}",
        known.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Settings from a TOML text and environment variables, as `load` reads them.
    fn from(toml: &str, env: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let vars: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::layered(
            File::from_str(toml, FileFormat::Toml),
            Environment::with_prefix("SWITCHBACK")
                .prefix_separator("__")
                .separator("__")
                .source(Some(vars)),
        )
    }

    fn refused(toml: &str, env: &[(&str, &str)]) -> String {
        match from(toml, env) {
            Ok(settings) => panic!("accepted: {settings:?}"),
            Err(error) => format!("{error:#}"),
        }
    }

    #[test]
    fn unknown_keys_are_refused_with_the_known_ones() {
        let message = refused("", &[("SWITCHBACK__API__LISTN", "127.0.0.1:1")]);
        assert!(message.contains("unknown key `api.listn`"), "{message}");
        assert!(
            message.contains("the keys of [api] are: listen, max_request_bytes"),
            "{message}"
        );
        let message = refused("[schedular]\nbatch_size = 3\n", &[]);
        assert!(message.contains("unknown key `schedular`"), "{message}");
        assert!(message.contains("the top level"), "{message}");
        assert!(message.contains("scheduler"), "{message}");
        let message = refused("", &[("SWITCHBACK__LOGS__FORMAT", "json")]);
        assert!(message.contains("unknown key `logs`"), "{message}");
        let message = refused("[integrations.lambda]\nendpont = \"http://x\"\n", &[]);
        assert!(
            message.contains("unknown key `integrations.lambda.endpont`"),
            "{message}"
        );
        assert!(message.contains("endpoint"), "{message}");
        let message = refused(
            "[integrations.htp]\nallow_private_destinations = true\n",
            &[],
        );
        assert!(
            message.contains("unknown key `integrations.htp`"),
            "{message}"
        );
    }

    #[test]
    fn unknown_keys_inside_user_named_tables_are_refused() {
        let message = refused(
            "[integrations.connections.github]\narn = \"a\"\nauthorization_type = \"BASIC\"\n\
             basic = { username = \"u\", pasword = \"p\" }\n",
            &[],
        );
        assert!(
            message.contains("unknown key `integrations.connections.github.basic.pasword`"),
            "{message}"
        );
        assert!(message.contains("username, password"), "{message}");
        let message = refused(
            "[[integrations.connections]]\narn = \"a\"\nauthorization_type = \"BASIC\"\n\
             basik = { username = \"u\", password = \"p\" }\n",
            &[],
        );
        assert!(
            message.contains("unknown key `integrations.connections[0].basik`"),
            "{message}"
        );
        let message = refused(
            "",
            &[(
                "SWITCHBACK__INTEGRATIONS__LAMBDA__FUNCTIONS__RESIZE__REMOTE",
                "function",
            )],
        );
        assert!(
            message.contains("unknown key `integrations.lambda.functions.resize.remote`"),
            "{message}"
        );
        assert!(message.contains("endpoint, remote_name"), "{message}");
    }

    #[test]
    fn user_chosen_names_and_every_documented_key_are_accepted() {
        let toml = r#"
            [api]
            listen = "127.0.0.1:8083"
            [api.tls]
            cert_file = "/etc/switchback/tls/cert.pem"
            key_file = "/etc/switchback/tls/key.pem"
            [api.throttling]
            enabled = true
            [api.throttling.quotas.StartExecution]
            bucket_size = 100
            refill_per_second = 10
            [integrations.http]
            allow_private_destinations = true
            [integrations.lambda.functions.Resize-Image]
            remote_name = "function"
            [integrations.connections.billing]
            arn = "arn:aws:events:us-east-1:123456789012:connection/billing/1"
            authorization_type = "API_KEY"
            api_key = { name = "x-api-key", value = "k" }
            allowed_endpoints = ["https://billing.example.com/v1/"]
            invocation_http_parameters = { headers = { X-Team = "t" }, query = { any_name = "q" } }
        "#;
        let env = [
            (
                "SWITCHBACK__INTEGRATIONS__CONNECTIONS__GITHUB__ARN",
                "arn:aws:events:us-east-1:123456789012:connection/github/1",
            ),
            (
                "SWITCHBACK__INTEGRATIONS__CONNECTIONS__GITHUB__AUTHORIZATION_TYPE",
                "BASIC",
            ),
            (
                "SWITCHBACK__INTEGRATIONS__CONNECTIONS__GITHUB__BASIC__USERNAME",
                "u",
            ),
            (
                "SWITCHBACK__INTEGRATIONS__CONNECTIONS__GITHUB__BASIC__PASSWORD",
                "p",
            ),
            (
                "SWITCHBACK__INTEGRATIONS__CONNECTIONS__GITHUB__ALLOWED_ENDPOINTS",
                "https://api.github.com/, https://uploads.github.com/",
            ),
            ("SWITCHBACK__SCHEDULER__MAX_CONCURRENT_CALLS", "8"),
            (
                "SWITCHBACK__API__THROTTLING__QUOTAS__DESCRIBEEXECUTION__BUCKET_SIZE",
                "5",
            ),
            (
                "SWITCHBACK__API__THROTTLING__QUOTAS__DESCRIBEEXECUTION__REFILL_PER_SECOND",
                "0.5",
            ),
        ];
        let settings = match from(toml, &env) {
            Ok(settings) => settings,
            Err(error) => panic!("{error:#}"),
        };
        let integrations = &settings.integrations;
        assert_eq!(integrations.http.allow_private_destinations, Some(true));
        assert!(integrations.lambda.functions.contains_key("Resize-Image"));
        assert_eq!(integrations.connections.len(), 2);
        let github = integrations
            .connections
            .iter()
            .find(|c| c.arn.contains("github"));
        assert_eq!(
            github.map(|c| c.allowed_endpoints.clone()),
            Some(vec![
                "https://api.github.com/".to_owned(),
                "https://uploads.github.com/".to_owned()
            ])
        );
        assert_eq!(settings.scheduler.max_concurrent_calls, 8);
        assert_eq!(settings.api.throttling.quotas.len(), 2);
        // Operation names are matched in any case (environment variables are lowercased).
        let throttle = settings.api_config(None).map(|config| config.throttle);
        assert!(matches!(throttle, Ok(Some(_))), "{throttle:?}");
    }

    #[test]
    fn s3_settings_read_and_empty_values_mean_unset() {
        let settings = from(
            "",
            &[
                (
                    "SWITCHBACK__INTEGRATIONS__S3__ENDPOINT",
                    "http://minio:9000",
                ),
                ("SWITCHBACK__INTEGRATIONS__S3__ACCESS_KEY_ID", "key"),
                ("SWITCHBACK__INTEGRATIONS__S3__SECRET_ACCESS_KEY", "secret"),
            ],
        )
        .expect("s3 settings");
        assert_eq!(
            settings.integrations.s3.endpoint.as_deref(),
            Some("http://minio:9000")
        );
        // As a compose file passes unset variables: the default endpoint, unsigned requests.
        let settings = from(
            "",
            &[
                ("SWITCHBACK__INTEGRATIONS__S3__ENDPOINT", ""),
                ("SWITCHBACK__INTEGRATIONS__S3__ACCESS_KEY_ID", ""),
                ("SWITCHBACK__INTEGRATIONS__S3__SECRET_ACCESS_KEY", ""),
            ],
        )
        .expect("empty s3 settings");
        assert_eq!(settings.integrations.s3.endpoint, None);
        switchback_invoke::Invoker::new(settings.integrations, "us-east-1")
            .expect("empty keys mean unsigned requests");
    }

    #[test]
    fn quotas_without_throttling_enabled_are_refused() {
        let toml = r#"
            [api.throttling.quotas.StartExecution]
            bucket_size = 100
            refill_per_second = 10
        "#;
        let settings = from(toml, &[]).expect("parsed");
        let error = settings.api_config(None).expect_err("refused");
        assert!(
            error
                .to_string()
                .contains("api.throttling.enabled is not true"),
            "{error}"
        );
    }
}
