//! PostgreSQL for tests: a cluster started once per test process from the system binaries (see
//! `switchback::embedded_pg`), or the server in `DATABASE_URL`. The schema is migrated once into
//! a template database; every test gets its own copy, so tests never see each other's rows.

use switchback::embedded_pg::{Binaries, Cluster, Durability};
use tokio::sync::OnceCell;

const TEMPLATE: &str = "switchback_template";

struct Server {
    /// URL of a database to connect to for administration, with `{db}` where the name goes.
    url_pattern: String,
}

impl Server {
    fn url(&self, database: &str) -> String {
        self.url_pattern.replace("{db}", database)
    }
}

static SERVER: OnceCell<Server> = OnceCell::const_new();

async fn server() -> &'static Server {
    SERVER
        .get_or_init(|| async {
            let server = match std::env::var("DATABASE_URL") {
                Ok(url) if !url.is_empty() => Server {
                    url_pattern: url_pattern(&url),
                },
                _ => tokio::task::spawn_blocking(start_cluster)
                    .await
                    .expect("cluster start panicked"),
            };
            switchback_store::admin::create_database(&server.url("postgres"), TEMPLATE, None)
                .await
                .expect("create template database");
            switchback_store::migrate::run(&server.url(TEMPLATE))
                .await
                .expect("migrate template database");
            server
        })
        .await
}

/// `postgres://u@h:p/db?x` → `postgres://u@h:p/{db}?x`.
fn url_pattern(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{host_part}/{{db}}{query}")
}

fn start_cluster() -> Server {
    let dir = std::env::temp_dir().join(format!("switchback-test-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let binaries = Binaries::find().expect("postgres binaries");
    let mut cluster = Cluster::init(binaries, &dir, Durability::Throwaway).expect("initdb");
    cluster.start().expect("start postgres");
    cluster
        .stop_when_process_exits(std::process::id(), true)
        .expect("start cluster watcher");
    Server {
        url_pattern: cluster.url("{db}"),
    }
}

/// An empty database (never migrated) for one test; returns its URL.
pub async fn empty_database() -> String {
    let server = server().await;
    let name = format!("e_{}", uuid::Uuid::now_v7().simple());
    switchback_store::admin::create_database(&server.url("postgres"), &name, None)
        .await
        .expect("create empty database");
    server.url(&name)
}

/// A fresh, migrated database for one test; returns its URL.
pub async fn fresh_database() -> String {
    let server = server().await;
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    // Copying a template fails while another session is connected to it; concurrent tests'
    // copies can briefly collide, so try a few times.
    let mut last_error = None;
    for _ in 0..20 {
        match switchback_store::admin::create_database(
            &server.url("postgres"),
            &name,
            Some(TEMPLATE),
        )
        .await
        {
            Ok(()) => return server.url(&name),
            Err(error) => {
                last_error = Some(error);
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    panic!("cannot create a test database: {last_error:?}");
}

/// A cluster of one test's own, for tests that crash and restart PostgreSQL itself (the shared
/// cluster serves every other test of the process). Holds one migrated database.
pub struct OwnCluster {
    cluster: Cluster,
    database: String,
}

impl OwnCluster {
    /// Starts a throwaway cluster in a temporary directory and migrates a database on it.
    pub async fn start(label: &str) -> OwnCluster {
        let dir = std::env::temp_dir().join(format!(
            "switchback-{label}-pg-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        let cluster = tokio::task::spawn_blocking(move || {
            let binaries = Binaries::find().expect("postgres binaries");
            // Durable: with `synchronous_commit = off` a crash of PostgreSQL loses commits it
            // had already acknowledged, which no engine can make up for.
            let mut cluster = Cluster::init(binaries, &dir, Durability::Durable).expect("initdb");
            cluster.start().expect("start postgres");
            cluster
                .stop_when_process_exits(std::process::id(), true)
                .expect("start cluster watcher");
            cluster
        })
        .await
        .expect("cluster start panicked");
        let database = "switchback".to_owned();
        switchback_store::admin::create_database(&cluster.url("postgres"), &database, None)
            .await
            .expect("create database");
        switchback_store::migrate::run(&cluster.url(&database))
            .await
            .expect("migrate database");
        OwnCluster { cluster, database }
    }

    /// The migrated database's URL.
    pub fn url(&self) -> String {
        self.cluster.url(&self.database)
    }

    /// Crashes PostgreSQL (immediate stop) and starts it again on the same port.
    pub async fn crash_and_restart(&mut self) {
        tokio::task::block_in_place(|| self.cluster.crash_and_restart()).expect("restart postgres");
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = self.cluster.stop();
        let _ = std::fs::remove_dir_all(self.cluster.data_dir());
    }
}
