//! The application as a value: build it from settings (binding its listener), then run it until
//! a shutdown signal. Tests build one on port 0 in-process.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use switchback_store::PgPool;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::settings::Settings;

/// Which parts of Switchback this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// API and scheduler in one process.
    All,
    Api,
    Scheduler,
}

impl Role {
    fn runs_scheduler(self) -> bool {
        matches!(self, Role::All | Role::Scheduler)
    }
}

pub struct Application {
    role: Role,
    scheduler: switchback_scheduler::SchedulerConfig,
    pool: PgPool,
    api: Option<(switchback_api::Listener, switchback_api::ApiState)>,
    console: bool,
}

impl Application {
    /// Connects to `database_url`, checks that its schema is current, and binds the API's
    /// listener. Nothing is served until [`Application::run_until_stopped`].
    pub async fn build(
        settings: &Settings,
        database_url: &str,
        role: Role,
    ) -> anyhow::Result<Self> {
        let pool = switchback_store::connect(&settings.store_settings(database_url.to_owned()))
            .context("invalid database url")?;
        switchback_store::migrate::check_current(&pool)
            .await
            .context("the database is not ready")?;
        let mocks = settings.load_mocks()?;
        if role.runs_scheduler() {
            // Refuse bad Lambda or connection settings now, not when the first call is made.
            switchback_invoke::Invoker::new(settings.integrations.clone(), &settings.aws.region)
                .context("invalid integrations settings")?;
        }
        // API nodes serve the AWS API; a scheduler-only node may serve just its probes and
        // metrics, when `scheduler.listen` is set.
        let (listen, operations_only) = match role {
            Role::All | Role::Api => (Some(settings.api.listen.as_str()), false),
            Role::Scheduler => (settings.scheduler.listen.as_deref(), true),
        };
        let api = match listen {
            Some(listen) => {
                let tcp = TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("cannot listen on {listen}"))?;
                // A scheduler's probe port stays plain HTTP, as its probes expect.
                let tls = settings.api.tls.as_ref().filter(|_| !operations_only);
                let listener = match tls {
                    Some(tls) => {
                        let acceptor = switchback_api::tls::acceptor(&tls.cert_file, &tls.key_file)
                            .context("invalid api.tls settings")?;
                        switchback_api::Listener::Tls(switchback_api::tls::TlsListener::new(
                            tcp, acceptor,
                        ))
                    }
                    None => switchback_api::Listener::Plain(tcp),
                };
                let mut config = settings.api_config(mocks.clone())?;
                config.operations_only = operations_only;
                config.tls = tls.is_some();
                if !operations_only {
                    config.credentials = match settings.load_credentials()? {
                        Some(keys) => {
                            let ring = switchback_api::auth::KeyRing::new(keys);
                            if let Some(path) = &settings.auth.credentials_file {
                                tokio::spawn(watch_credentials(
                                    settings.clone(),
                                    path.clone(),
                                    ring.clone(),
                                ));
                            }
                            Some(ring)
                        }
                        None => {
                            tracing::warn!(
                                account_id = %settings.aws.account_id,
                                "requests are not authenticated"
                            );
                            None
                        }
                    };
                }
                let state = switchback_api::ApiState::load(pool.clone(), config, Some(metrics()))
                    .await
                    .context("cannot load api state")?;
                Some((listener, state))
            }
            None => None,
        };
        Ok(Self {
            role,
            scheduler: settings.scheduler_config(mocks),
            pool,
            // Only where the AWS API is served: a scheduler's probe port shows no pages.
            console: settings.console.enabled && role != Role::Scheduler,
            api,
        })
    }

    /// The address the API listens on, when this process serves the API.
    pub fn api_address(&self) -> Option<SocketAddr> {
        self.api
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// Whether this process serves the web console (at `/console/` on the API's address).
    pub fn serves_console(&self) -> bool {
        self.console && self.api.is_some()
    }

    /// `https` when the API serves TLS, else `http`.
    pub fn api_scheme(&self) -> &'static str {
        self.api
            .as_ref()
            .map_or("http", |(listener, _)| listener.scheme())
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish and stops.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = move |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });

        let mut tasks = tokio::task::JoinSet::new();
        if let Some((listener, state)) = self.api {
            let address = listener.local_addr().ok();
            tracing::info!(address = ?address, scheme = listener.scheme(), "api listening");
            let stop = stopped(stop_rx.clone());
            let mut router = switchback_api::router(state.clone());
            if self.console {
                router = router.merge(switchback_console::router(state.clone()));
            }
            tasks.spawn(async move {
                switchback_api::serve(listener, state, router, stop)
                    .await
                    .context("api server failed")
            });
        }
        if self.role.runs_scheduler() {
            let stop = stopped(stop_rx.clone());
            let pool = self.pool.clone();
            let config = self.scheduler.clone();
            tasks.spawn(async move {
                switchback_scheduler::run(pool, config, stop)
                    .await
                    .context("scheduler failed")
            });
        }
        // The first part to fail stops the whole process; otherwise all finish after shutdown.
        while let Some(joined) = tasks.join_next().await {
            joined.context("a task panicked")??;
        }
        self.pool.close().await;
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("interrupt received, shutting down"),
        () = terminate => tracing::info!("sigterm received, shutting down"),
    }
}

/// The process's Prometheus recorder, installed on first use (tests build several apps in one
/// process; they share it).
fn metrics() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("seconds".to_owned()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0, 10.0, 60.0,
                    ],
                )
                .unwrap_or_else(|_| metrics_exporter_prometheus::PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Fails only when another recorder was installed first; then that one records.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// How often an API node looks at its credentials file for changes.
const CREDENTIALS_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// Re-reads the credentials file when its contents change (a Kubernetes Secret update swaps the
/// file under the mount), so keys rotate without a restart. A file that no longer reads as
/// valid keys (deleted, emptied, malformed) keeps the keys in force, and says why in the log:
/// a key is revoked by removing it from the file.
async fn watch_credentials(
    settings: Settings,
    path: std::path::PathBuf,
    ring: switchback_api::auth::KeyRing,
) {
    // The contents' hash: a rotated secret of the same length, written within the file system's
    // timestamp granularity, is still seen. Change detection only, not security.
    let stamp = |path: &std::path::Path| {
        use std::hash::{Hash, Hasher};
        std::fs::read(path).ok().map(|bytes| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut hasher);
            hasher.finish()
        })
    };
    // Unset at first: the first look reloads, so a change made while the node started is seen.
    let mut seen: Option<Option<u64>> = None;
    let mut ticks = tokio::time::interval(CREDENTIALS_CHECK);
    loop {
        ticks.tick().await;
        let now = stamp(&path);
        if seen == Some(now) {
            continue;
        }
        seen = Some(now);
        match settings.load_credentials() {
            Ok(Some(keys)) => {
                ring.replace(keys);
                tracing::info!(keys = ring.key_count(), "credentials reloaded");
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "credentials file not reloaded; the keys in force stay");
            }
        }
    }
}
