//! Real `switchback` processes for multi-process and chaos tests: started with a database URL, killed with
//! SIGKILL, paused with SIGSTOP, restarted. Every process still running when the guard drops is killed.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `switchback` binary of this build, next to the test binary. `cargo test` builds only
/// test targets, so the binary is built here, once per test process (a no-op when current).
pub fn binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test binary path");
            // target/<profile>/deps/e2e-<hash> (a test) or target/<profile>/bench → target/<profile>
            let parent = exe.parent().expect("target directory");
            let dir = if parent.file_name().is_some_and(|p| p == "deps") {
                parent.parent().expect("target directory")
            } else {
                parent
            }
            .to_path_buf();
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let mut build = Command::new(cargo);
            build
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "switchback",
                    "--bin",
                    "switchback",
                ])
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            if dir.file_name().is_some_and(|p| p == "release") {
                build.arg("--release");
            }
            let status = build.status().expect("run cargo build");
            assert!(status.success(), "cargo build -p switchback failed");
            let binary = dir.join("switchback");
            assert!(
                binary.is_file(),
                "{} is missing after the build",
                binary.display()
            );
            binary
        })
        .clone()
}

/// One process of the real binary.
pub struct Node {
    pub role: &'static str,
    pub address: Option<SocketAddr>,
    child: Option<Child>,
    database_url: String,
    /// Extra `SWITCHBACK__…` settings.
    env: Vec<(String, String)>,
    /// Where the process's output (its log on stdout, and stderr) goes; when `None`, stdout is
    /// dropped and stderr is the test's own.
    log: Option<PathBuf>,
}

impl Node {
    /// Starts `switchback api` (or `serve`: API and scheduler) on a free port of 127.0.0.1, or
    /// `switchback scheduler`.
    pub fn start(role: &'static str, database_url: &str) -> Node {
        Self::start_with(role, database_url, &[])
    }

    /// As [`Node::start`], with extra environment variables (settings).
    pub fn start_with(role: &'static str, database_url: &str, env: &[(&str, &str)]) -> Node {
        Self::start_logging(role, database_url, env, None)
    }

    /// As [`Node::start_with`], appending the process's output (log and stderr) to `log`, for
    /// tests that read what a node logged.
    pub fn start_logging(
        role: &'static str,
        database_url: &str,
        env: &[(&str, &str)],
        log: Option<PathBuf>,
    ) -> Node {
        let address = matches!(role, "api" | "serve").then(free_address);
        let mut node = Node {
            role,
            address,
            child: None,
            database_url: database_url.to_owned(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            log,
        };
        node.spawn();
        node
    }

    fn spawn(&mut self) {
        let mut command = Command::new(binary());
        command
            .arg(self.role)
            .env("SWITCHBACK__DATABASE__URL", &self.database_url)
            .env("SWITCHBACK__DATABASE__MAX_CONNECTIONS", "4")
            .env("SWITCHBACK__LOG__FILTER", "warn")
            .env("SWITCHBACK__API__ACTIVITY_POLL_SECONDS", "2")
            // The tests' requests are not signed (the auth tests give a credentials file).
            .env("SWITCHBACK__AUTH__MODE", "none")
            .stdin(Stdio::null());
        match &self.log {
            // Logs go to stdout, errors before logging starts to stderr: keep both.
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .expect("open the node's log file");
                let copy = file.try_clone().expect("share the node's log file");
                command.stdout(file).stderr(copy);
            }
            None => {
                command.stdout(Stdio::null()).stderr(Stdio::inherit());
            }
        }
        if let Some(address) = self.address {
            command.env("SWITCHBACK__API__LISTEN", address.to_string());
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        self.child = Some(command.spawn().expect("start switchback"));
    }

    /// SIGKILL: no shutdown, no cleanup, as a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP: the process freezes with its connections open and its leases running out, as
    /// a stalled machine would; [`Node::resume`] lets it go on where it stopped.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT: a paused process goes on.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .arg(signal)
                .arg(child.id().to_string())
                .status()
                .expect("run kill");
            assert!(status.success(), "kill {signal} {} failed", child.id());
        }
    }

    /// Whether the process is running (or paused): started, not killed, not exited by itself
    /// (a node exits when it starts while its database is away).
    pub fn is_up(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Starts the same role again (on the same port, for an API node).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Waits until an API node answers `/readyz`.
    pub async fn wait_ready(&self) {
        let Some(address) = self.address else { return };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Ok(response)) = tokio::time::timeout(Duration::from_secs(1), async {
                crate::raw::try_get(address, "/readyz").await
            })
            .await
                && response.status == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} at {address} never became ready",
                self.role
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port of 127.0.0.1 free at the moment of asking.
pub fn free_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("free port");
    listener.local_addr().expect("local address")
}
