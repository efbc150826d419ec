//! What each subcommand does.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::app::{Application, Role, shutdown_signal};
use crate::embedded_pg::{Binaries, Cluster, Durability};
use crate::settings::Settings;

/// The database `switchback dev` creates in its embedded cluster.
const DEV_DATABASE: &str = "switchback";

fn database_url(settings: &Settings) -> anyhow::Result<String> {
    settings.database.url.clone().context(
        "no database configured: set SWITCHBACK__DATABASE__URL (or DATABASE_URL), \
         or use `switchback dev` for an embedded PostgreSQL",
    )
}

/// API and scheduler on an embedded PostgreSQL (unless a database URL is configured).
pub async fn dev(settings: &Settings) -> anyhow::Result<ExitCode> {
    settings.check_auth(false)?;
    // In development the services HTTP Tasks call run on this machine (localhost, a compose
    // network), so private destinations are allowed unless the settings say otherwise.
    let mut settings = settings.clone();
    settings
        .integrations
        .http
        .allow_private_destinations
        .get_or_insert(true);
    let settings = &settings;
    let Some(url) = settings.database.url.clone() else {
        let data_dir = settings.dev.data_dir.clone();
        let cluster = tokio::task::spawn_blocking(move || -> anyhow::Result<Cluster> {
            let mut cluster = Cluster::init(Binaries::find()?, &data_dir, Durability::Durable)?;
            cluster.start()?;
            Ok(cluster)
        })
        .await??;
        tracing::info!(data_dir = %cluster.data_dir().display(), "embedded postgres started");
        let result = dev_on(settings, &cluster).await;
        let stopped = tokio::task::spawn_blocking(move || cluster.stop()).await?;
        tracing::info!("embedded postgres stopped");
        result.and(stopped.map(|()| ExitCode::SUCCESS))?;
        return Ok(ExitCode::SUCCESS);
    };
    switchback_store::migrate::run(&url).await?;
    run_announced(settings, &url).await
}

async fn dev_on(settings: &Settings, cluster: &Cluster) -> anyhow::Result<ExitCode> {
    switchback_store::admin::create_database(&cluster.url("postgres"), DEV_DATABASE, None)
        .await
        .context("cannot create the dev database")?;
    let url = cluster.url(DEV_DATABASE);
    switchback_store::migrate::run(&url).await?;
    run_announced(settings, &url).await
}

/// Runs API and scheduler, telling the user where the endpoint is.
async fn run_announced(settings: &Settings, url: &str) -> anyhow::Result<ExitCode> {
    let app = Application::build(settings, url, Role::All).await?;
    if let Some(address) = app.api_address() {
        let endpoint = endpoint_url(app.api_scheme(), address);
        println!("switchback is serving the AWS Step Functions API at {endpoint}");
        if app.serves_console() {
            println!("the web console is at {endpoint}/console/");
        }
        if settings.auth.credentials_file.is_none() {
            println!(
                "requests are not authenticated: any credentials act in account {} \
                 (set auth.credentials_file to require signed requests)",
                settings.aws.account_id
            );
        }
        println!(
            "try it:  aws stepfunctions --endpoint-url {endpoint} create-activity --name hello"
        );
        println!(
            "StartSyncExecution: SDKs send it to sync-<host>; set AWS_DISABLE_HOST_PREFIX_INJECTION=true \
             (or see README, \"The sync- host prefix\")"
        );
        println!("stop with Ctrl-C");
    }
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// What a client on this machine should use: a wildcard listen address becomes loopback.
fn endpoint_url(scheme: &str, address: SocketAddr) -> String {
    let host = if address.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        address.ip().to_string()
    };
    format!("{scheme}://{host}:{}", address.port())
}

/// API and scheduler on the configured database; applies pending migrations first, so that a
/// single node needs no separate step.
pub async fn serve(settings: &Settings) -> anyhow::Result<ExitCode> {
    settings.check_auth(true)?;
    let url = database_url(settings)?;
    switchback_store::migrate::run(&url).await?;
    run_announced(settings, &url).await
}

pub async fn api(settings: &Settings) -> anyhow::Result<ExitCode> {
    settings.check_auth(true)?;
    let url = database_url(settings)?;
    let app = Application::build(settings, &url, Role::Api).await?;
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn scheduler(settings: &Settings) -> anyhow::Result<ExitCode> {
    let url = database_url(settings)?;
    let app = Application::build(settings, &url, Role::Scheduler).await?;
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn migrate(settings: &Settings) -> anyhow::Result<ExitCode> {
    let url = database_url(settings)?;
    let applied = switchback_store::migrate::run(&url).await?;
    let version = switchback_store::migrate::expected_version();
    println!(
        "schema at version {version} ({} migrations applied now)",
        applied.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints every diagnostic; exit code 1 when any is an error.
pub fn validate(file: &Path, express: bool) -> anyhow::Result<ExitCode> {
    let definition =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let options = switchback_asl::ValidateOptions {
        machine_type: if express {
            switchback_asl::MachineType::Express
        } else {
            switchback_asl::MachineType::Standard
        },
    };
    let diagnostics = switchback_asl::validate(&definition, &options);
    let mut errors = 0;
    for d in &diagnostics {
        let severity = match d.severity {
            switchback_asl::Severity::Error => {
                errors += 1;
                "error"
            }
            switchback_asl::Severity::Warning => "warning",
        };
        // As in CreateStateMachine's InvalidDefinition message (`at null` without a location).
        let location = d.location_text();
        println!(
            "{severity}: {}: {} at {location}",
            d.code.as_str(),
            d.message
        );
    }
    if errors > 0 {
        println!("{}: {errors} error(s)", file.display());
        return Ok(ExitCode::from(1));
    }
    println!("{}: valid", file.display());
    Ok(ExitCode::SUCCESS)
}
