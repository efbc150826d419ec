//! A PostgreSQL cluster run from the system's server binaries: `switchback dev` keeps one in a
//! local data directory, and the test harness starts a throwaway one per test process.
//!
//! PostgreSQL refuses to run as root, so when this process is root the binaries run as the
//! `postgres` user through `runuser`, and the data directory is handed to that user.
//!
//! One process at a time owns a data directory: [`Cluster::init`] takes an exclusive `flock` on
//! `<data_dir>.lock` (beside the directory: initdb wants an empty one) and holds it for the
//! cluster's life. The kernel drops the lock when its process dies however it dies, so a
//! server found running under a held lock was left by a dead process and may be stopped, while
//! a live owner makes a second process refuse to start instead of stopping its server.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, bail};

const INSTALL_HINT: &str = "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or \
     under /usr/lib/postgresql/*/bin. Install them, e.g. `apt-get install postgresql` on \
     Debian/Ubuntu, `dnf install postgresql-server` on Fedora, or `brew install postgresql` on \
     macOS; or set SWITCHBACK__DATABASE__URL to use an existing server.";

/// The user PostgreSQL runs as when this process is root.
const SERVICE_USER: &str = "postgres";

/// Where the server binaries are.
#[derive(Debug, Clone)]
pub struct Binaries {
    initdb: PathBuf,
    pg_ctl: PathBuf,
}

impl Binaries {
    /// Looks on PATH, then in Debian's versioned directories (newest first).
    pub fn find() -> anyhow::Result<Self> {
        let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).collect())
            .unwrap_or_default();
        let mut versioned: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path().join("bin"))
                    .collect()
            })
            .unwrap_or_default();
        versioned.sort_by_key(|p| {
            p.parent()
                .and_then(Path::file_name)
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        });
        versioned.reverse();
        candidates.extend(versioned);
        for dir in candidates {
            let (initdb, pg_ctl) = (dir.join("initdb"), dir.join("pg_ctl"));
            if initdb.is_file() && pg_ctl.is_file() {
                return Ok(Self { initdb, pg_ctl });
            }
        }
        bail!(INSTALL_HINT)
    }
}

/// How a cluster is tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync on: data survives a machine crash (`switchback dev`).
    Durable,
    /// fsync off: for throwaway test clusters, several times faster.
    Throwaway,
}

/// One cluster: a data directory and, once started, a port on 127.0.0.1.
#[derive(Debug)]
pub struct Cluster {
    binaries: Binaries,
    data_dir: PathBuf,
    port: u16,
    as_service_user: bool,
    durability: Durability,
    /// Held until the cluster is dropped (or the process dies).
    _lock: DataDirLock,
}

impl Cluster {
    /// Prepares the cluster in `data_dir`, running initdb if the directory holds no cluster yet.
    /// Fails when another live process owns the directory.
    pub fn init(
        binaries: Binaries,
        data_dir: &Path,
        durability: Durability,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let canonical = data_dir
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", data_dir.display()))?;
        let lock = DataDirLock::acquire(&canonical, data_dir)?;
        let as_service_user = is_root()?;
        let cluster = Self {
            binaries,
            data_dir: canonical,
            port: 0,
            as_service_user,
            durability,
            _lock: lock,
        };
        if !cluster.data_dir.join("PG_VERSION").exists() {
            cluster.initdb()?;
        }
        Ok(cluster)
    }

    fn initdb(&self) -> anyhow::Result<()> {
        if self.as_service_user {
            let status = Command::new("chown")
                .args(["-R", SERVICE_USER])
                .arg(&self.data_dir)
                .status()
                .context("cannot run chown")?;
            if !status.success() {
                bail!(
                    "cannot give {} to the {SERVICE_USER} user",
                    self.data_dir.display()
                );
            }
        }
        let mut command = self.command(&self.binaries.initdb);
        command.arg("-D").arg(&self.data_dir).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        if self.durability == Durability::Throwaway {
            command.arg("--no-sync");
        }
        run(command, "initdb")?;
        Ok(())
    }

    /// Starts the server on a free port of 127.0.0.1. A server left running on this data
    /// directory by an earlier process (one that was killed) is stopped first: this process
    /// holds the directory's lock, so no live process is using that server.
    pub fn start(&mut self) -> anyhow::Result<()> {
        if self.is_running() {
            tracing::warn!(data_dir = %self.data_dir.display(), "stopping a postgres left running by an earlier process");
            self.stop()?;
        }
        self.port = free_port()?;
        self.launch()
    }

    /// Stops the server as a crash would (`immediate`: no checkpoint, sessions cut, recovery
    /// at the next start) and starts it again on the same port, so clients' URLs stay valid.
    /// The chaos tests use it.
    pub fn crash_and_restart(&mut self) -> anyhow::Result<()> {
        let mut command = self.command(&self.binaries.pg_ctl);
        command
            .args(["stop", "-w", "-m", "immediate", "-D"])
            .arg(&self.data_dir);
        run(command, "pg_ctl stop")?;
        self.launch()
    }

    fn launch(&self) -> anyhow::Result<()> {
        // Autovacuum looks every 10 s (PostgreSQL's default is a minute): the signals queue
        // leaves dead index entries that every step of a busy execution reads until a vacuum.
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories='' -c max_connections=200 -c autovacuum_naptime=10s",
            self.port
        );
        if self.durability == Durability::Throwaway {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let log = self.data_dir.join("server.log");
        let mut command = self.command(&self.binaries.pg_ctl);
        command
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&log)
            .args(["-o", &options]);
        run(command, "pg_ctl start")
            .with_context(|| format!("postgres did not start; see {}", log.display()))?;
        Ok(())
    }

    fn is_running(&self) -> bool {
        let mut command = self.command(&self.binaries.pg_ctl);
        command.arg("status").arg("-D").arg(&self.data_dir);
        command
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// Stops the server, letting it finish cleanly ("fast" mode: open sessions are ended).
    pub fn stop(&self) -> anyhow::Result<()> {
        let mut command = self.command(&self.binaries.pg_ctl);
        command
            .args(["stop", "-w", "-m", "fast", "-D"])
            .arg(&self.data_dir);
        run(command, "pg_ctl stop")?;
        Ok(())
    }

    /// Starts a watcher process that stops this cluster (and, with `remove`, deletes its data
    /// directory) once process `pid` has exited, however it exited. Test clusters live in
    /// statics that are never dropped; this is how they are cleaned up.
    pub fn stop_when_process_exits(&self, pid: u32, remove: bool) -> anyhow::Result<()> {
        let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
        let runuser = if self.as_service_user {
            format!("runuser -u {SERVICE_USER} -- ")
        } else {
            String::new()
        };
        let dir = quote(&self.data_dir);
        let mut script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             {runuser}{} stop -m immediate -D {dir} >/dev/null 2>&1",
            quote(&self.binaries.pg_ctl)
        );
        if remove {
            script.push_str(&format!(
                "; rm -rf {dir} {}",
                quote(&DataDirLock::path_for(&self.data_dir))
            ));
        }
        Command::new("sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("cannot start the cluster watcher")?;
        Ok(())
    }

    /// The URL of database `name` on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn command(&self, program: &Path) -> Command {
        if self.as_service_user {
            let mut command = Command::new("runuser");
            command.args(["-u", SERVICE_USER, "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

/// An exclusive `flock` on `<data_dir>.lock`, which also holds the owner's pid for the message
/// another process shows. Released when dropped or when the process dies; the file stays
/// (removing it could let two processes lock two different files of the same name).
#[derive(Debug)]
struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    fn path_for(data_dir: &Path) -> PathBuf {
        let mut name = data_dir
            .file_name()
            .map(|name| name.to_os_string())
            .unwrap_or_else(|| "pgdata".into());
        name.push(".lock");
        data_dir.with_file_name(name)
    }

    /// `data_dir` is canonical; `shown` is the directory as the user gave it, for messages.
    fn acquire(data_dir: &Path, shown: &Path) -> anyhow::Result<Self> {
        let path = Self::path_for(data_dir);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut owner = String::new();
                let _ = file.read_to_string(&mut owner);
                let pid = match owner.trim().parse::<u32>() {
                    Ok(pid) => format!(" (pid {pid})"),
                    Err(_) => String::new(),
                };
                bail!(
                    "another switchback dev is using {}{pid}; stop it first or use another data \
                     directory (dev.data_dir, SWITCHBACK__DEV__DATA_DIR)",
                    shown.display()
                );
            }
            Err(TryLockError::Error(error)) => {
                return Err(error).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        // Only the lock holder writes the pid; a process that reads it mid-write finds no number
        // and leaves the pid out of its message.
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.flush())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self { _file: file })
    }
}

fn run(mut command: Command, what: &str) -> anyhow::Result<Output> {
    let output = command
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}

fn is_root() -> anyhow::Result<bool> {
    let metadata = std::fs::metadata("/proc/self").context("cannot read /proc/self")?;
    Ok(metadata.uid() == 0)
}

/// A port the kernel says is free now. Another process could take it before postgres binds it;
/// pg_ctl then fails loudly rather than silently using someone else's server.
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}
