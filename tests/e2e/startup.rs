//! Starting the real binary: settings it refuses, and `switchback dev` on a data directory that
//! another instance owns.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use switchback::embedded_pg::{Binaries, Cluster, Durability};
use switchback_tests::processes::{binary, free_address};
use switchback_tests::raw::try_get;

#[test]
fn a_misspelt_setting_stops_the_start() {
    let output = Command::new(binary())
        .arg("migrate")
        .env(
            "SWITCHBACK__DATABASE__URL",
            "postgres://nobody@127.0.0.1:1/none",
        )
        .env("SWITCHBACK__SCHEDULER__BATCH_SIZ", "3")
        .stdin(Stdio::null())
        .output()
        .expect("run switchback");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown key `scheduler.batch_siz`"),
        "{stderr}"
    );
    assert!(stderr.contains("batch_size"), "{stderr}");
}

/// `switchback api` and `serve` serve a shared network: without credentials they do not start,
/// unless `auth.mode = "none"` says so; and both at once is a mistake.
#[test]
fn a_shared_server_needs_credentials_or_an_explicit_none() {
    let run = |command: &str, env: &[(&str, &str)]| {
        let output = Command::new(binary())
            .arg(command)
            .env(
                "SWITCHBACK__DATABASE__URL",
                "postgres://nobody@127.0.0.1:1/none",
            )
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("run switchback");
        assert!(!output.status.success(), "{command} {env:?} started");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    for command in ["api", "serve"] {
        let stderr = run(command, &[]);
        assert!(
            stderr.contains("requests would not be authenticated"),
            "{stderr}"
        );
        assert!(
            stderr.contains("SWITCHBACK__AUTH__CREDENTIALS_FILE"),
            "{stderr}"
        );
    }
    let stderr = run(
        "api",
        &[
            ("SWITCHBACK__AUTH__MODE", "none"),
            ("SWITCHBACK__AUTH__CREDENTIALS_FILE", "/nonexistent"),
        ],
    );
    assert!(stderr.contains("choose one"), "{stderr}");
    // With `none`, it goes on to the database (which is not there).
    let stderr = run("api", &[("SWITCHBACK__AUTH__MODE", "none")]);
    assert!(!stderr.contains("authenticated"), "{stderr}");
}

/// A `switchback dev` process on `data_dir`, serving on a port of its own.
struct Dev {
    address: SocketAddr,
    child: Option<Child>,
}

impl Dev {
    fn command(data_dir: &Path, address: SocketAddr) -> Command {
        let mut command = Command::new(binary());
        command
            .arg("dev")
            .env("SWITCHBACK__DEV__DATA_DIR", data_dir)
            .env("SWITCHBACK__API__LISTEN", address.to_string())
            .env("SWITCHBACK__LOG__FILTER", "warn")
            // The embedded PostgreSQL, not the tests' server.
            .env_remove("DATABASE_URL")
            .env_remove("SWITCHBACK__DATABASE__URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        command
    }

    fn start(data_dir: &Path) -> Dev {
        let address = free_address();
        let child = Self::command(data_dir, address)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start switchback dev");
        Dev {
            address,
            child: Some(child),
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Waits until `/readyz` answers 200 (initdb and migrations included).
    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Ok(response)) =
                tokio::time::timeout(Duration::from_secs(2), try_get(self.address, "/readyz")).await
                && response.status == 200
            {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("switchback dev exited before it was ready: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "switchback dev never became ready"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// SIGKILL: the embedded PostgreSQL is left running, as after a crash.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then the exit status: a dev stops its PostgreSQL on the way out.
    fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        match wait_with_deadline(&mut child, Duration::from_secs(60)) {
            Some(status) => Some(status),
            None => {
                let _ = child.kill();
                child.wait().ok()
            }
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Stops whatever PostgreSQL is left in `data_dir` and removes it once the test process ends
/// (declared before the `Dev`s, so dropped after them: their lock is gone by then).
struct Leftovers(PathBuf);

impl Drop for Leftovers {
    fn drop(&mut self) {
        if self.0.join("PG_VERSION").exists()
            && let Ok(binaries) = Binaries::find()
            && let Ok(cluster) = Cluster::init(binaries, &self.0, Durability::Durable)
        {
            let _ = cluster.stop_when_process_exits(std::process::id(), true);
        }
    }
}

fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

#[tokio::test]
async fn a_second_dev_on_the_same_data_directory_refuses_and_the_first_keeps_serving() {
    let data_dir = std::env::temp_dir().join(format!(
        "switchback-dev-lock-{}",
        uuid::Uuid::now_v7().simple()
    ));
    let _leftovers = Leftovers(data_dir.clone());
    let mut first = Dev::start(&data_dir);
    first.wait_ready().await;

    let mut second = Dev::command(&data_dir, free_address())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a second switchback dev");
    let status = wait_with_deadline(&mut second, Duration::from_secs(60));
    if status.is_none() {
        let _ = second.kill();
    }
    let output = second.wait_with_output().expect("second dev output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        status.is_some_and(|s| !s.success()),
        "the second dev did not fail: {status:?} {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "another switchback dev is using {} (pid {})",
            data_dir.display(),
            first.pid()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("stop it first"), "{stderr}");

    // The first one still serves, its database included.
    let ready = try_get(first.address, "/readyz").await.expect("readyz");
    assert_eq!(ready.status, 200, "{}", ready.body);
    let client = switchback_tests::app::client(first.address, "us-east-1");
    client
        .create_activity()
        .name("still-here")
        .send()
        .await
        .expect("the first dev answers");

    // A dev killed outright leaves its PostgreSQL behind; the next one stops it and starts.
    first.kill();
    let mut third = Dev::start(&data_dir);
    third.wait_ready().await;
    let activities = switchback_tests::app::client(third.address, "us-east-1")
        .list_activities()
        .send()
        .await
        .expect("list activities");
    assert_eq!(activities.activities().len(), 1);
    let stopped = third.stop();
    assert!(stopped.is_some_and(|s| s.success()), "{stopped:?}");
}
