//! The application under test, started in-process, and SDK clients for it.

use std::net::SocketAddr;

use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use switchback::app::{Application, Role};
use switchback::settings::Settings;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::pg;

/// A running Switchback on `127.0.0.1:<random port>`, with its own database.
pub struct TestApp {
    pub address: SocketAddr,
    pub database_url: String,
    /// A client for region us-east-1.
    pub client: aws_sdk_sfn::Client,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    /// API and scheduler on a fresh database.
    pub async fn spawn() -> TestApp {
        let url = pg::fresh_database().await;
        Self::spawn_on(&url).await
    }

    /// API and scheduler on an existing database (to restart on the same data).
    pub async fn spawn_on(database_url: &str) -> TestApp {
        Self::spawn_with(database_url, |_| {}).await
    }

    /// As [`TestApp::spawn_on`], with settings adjusted by `adjust`.
    pub async fn spawn_with(database_url: &str, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        Self::spawn_as(database_url, Role::All, adjust).await
    }

    /// As [`TestApp::spawn_with`], running only `role` (`Role::Api`: a node whose only news of
    /// the engine comes through the database).
    pub async fn spawn_as(
        database_url: &str,
        role: Role,
        adjust: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let mut settings = Settings::defaults().expect("default settings");
        settings.api.listen = "127.0.0.1:0".to_owned();
        settings.database.max_connections = 4;
        adjust(&mut settings);
        let app = Application::build(&settings, database_url, role)
            .await
            .expect("build app");
        let address = app.api_address().expect("api address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        TestApp {
            address,
            database_url: database_url.to_owned(),
            client: client(address, "us-east-1"),
            stop: Some(stop),
            task,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A client that signs for another region.
    pub fn client_in(&self, region: &str) -> aws_sdk_sfn::Client {
        client(self.address, region)
    }

    /// Stops the app gracefully and waits until it has.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task)
            .await
            .expect("app task panicked")
            .expect("app failed");
    }
}

/// The real AWS SDK client, retries off so that a server error is never retried away.
pub fn client(address: SocketAddr, region: &str) -> aws_sdk_sfn::Client {
    client_as(address, region, "AKIDTEST", "secret")
}

/// As [`client`], signing with the given key.
pub fn client_as(
    address: SocketAddr,
    region: &str,
    access_key_id: &str,
    secret_access_key: &str,
) -> aws_sdk_sfn::Client {
    let config = aws_sdk_sfn::Config::builder()
        .endpoint_url(format!("http://{address}"))
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "tests",
        ))
        .behavior_version(BehaviorVersion::latest())
        .retry_config(aws_sdk_sfn::config::retry::RetryConfig::disabled())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .interceptor(NoHostPrefix)
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

/// The Rust SDK sends StartSyncExecution and TestState to `sync-<endpoint host>` and has no
/// switch to turn that off; `sync-127.0.0.1` resolves nowhere. This interceptor sends them to
/// the endpoint as given (the README shows it to users of the Rust SDK).
#[derive(Debug)]
pub struct NoHostPrefix;

impl aws_sdk_sfn::config::Intercept for NoHostPrefix {
    fn name(&self) -> &'static str {
        "NoHostPrefix"
    }

    fn modify_before_transmit(
        &self,
        context: &mut aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _components: &aws_sdk_sfn::config::RuntimeComponents,
        _cfg: &mut aws_sdk_sfn::config::ConfigBag,
    ) -> Result<(), aws_sdk_sfn::error::BoxError> {
        let request = context.request_mut();
        let uri = request.uri().to_owned();
        if let Some(unprefixed) = uri.strip_prefix("http://sync-") {
            request.set_uri(format!("http://{unprefixed}"))?;
        }
        Ok(())
    }
}
