//! The demo's child processes: finds the `parker-fares` and `parker-booking`
//! binaries, starts them on loopback with their telemetry pointed at the
//! embedded receiver, waits until they answer, and makes sure none outlives
//! the demo (killed on drop, on the demo's death on Linux, and stopped with
//! SIGTERM on a normal exit so their last spans are exported).

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::http_client::HttpClient;

/// What `cargo` has to build for the demo to find its services.
pub const BUILD_HINT: &str = "cargo build -p parker-fares -p parker-booking";
/// How long a service may take to answer `/healthz` after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How much of a service's log an error shows.
const LOG_TAIL_LINES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(
        "{name} not found at {}: build it with `{BUILD_HINT}`, or pass --bin-dir DIR \
         (the directory holding both binaries)",
        path.display()
    )]
    Missing { name: &'static str, path: PathBuf },
    #[error("cannot start {name} ({}): {error}", path.display())]
    Spawn {
        name: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot write {name}'s log {}: {error}", path.display())]
    Log {
        name: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{name} exited before it was ready ({status}); end of its log {}:\n{tail}", log.display())]
    Exited {
        name: &'static str,
        status: std::process::ExitStatus,
        log: PathBuf,
        tail: String,
    },
    #[error(
        "{name} did not answer on http://{listen}/healthz within {}s; see its log {}",
        READY_TIMEOUT.as_secs(), log.display()
    )]
    NotReady {
        name: &'static str,
        listen: SocketAddr,
        log: PathBuf,
    },
}

/// The binary `name` in `bin_dir`, or a [`ServiceError::Missing`] saying
/// how to build it.
pub fn locate(bin_dir: &Path, name: &'static str) -> Result<PathBuf, ServiceError> {
    let path = bin_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        Ok(path)
    } else {
        Err(ServiceError::Missing { name, path })
    }
}

/// How to start one service.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub name: &'static str,
    pub binary: PathBuf,
    pub listen: SocketAddr,
    /// Variables set for the child on top of the demo's environment (from
    /// which every `OTEL_*` and `PARKER_*` variable is removed first, so a
    /// stray setting in the user's shell cannot send telemetry elsewhere).
    pub env: Vec<(String, String)>,
    /// Working directory, also where `<name>.log` goes. A directory of its
    /// own, so no `config/.env.otel` from where the demo was started applies.
    pub dir: PathBuf,
}

/// A started service. Dropping it kills the process.
#[derive(Debug)]
pub struct Service {
    pub name: &'static str,
    pub listen: SocketAddr,
    pub log: PathBuf,
    child: tokio::process::Child,
}

impl Service {
    /// Starts the process. Must be called from the thread that lives as long
    /// as the demo (the `block_on` thread): on Linux the child is told to die
    /// with the thread that forked it.
    pub fn spawn(spec: ServiceSpec) -> Result<Service, ServiceError> {
        let log = spec.dir.join(format!("{}.log", spec.name));
        let log_err = |error| ServiceError::Log {
            name: spec.name,
            path: log.clone(),
            error,
        };
        let out = std::fs::File::create(&log).map_err(log_err)?;
        let err = out.try_clone().map_err(log_err)?;
        let mut command = tokio::process::Command::new(&spec.binary);
        for (key, _) in std::env::vars_os() {
            if is_ours(&key) {
                command.env_remove(key);
            }
        }
        command
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            // A startup error's message, not an anyhow backtrace, is what the
            // log tail in our error should show (panics keep RUST_BACKTRACE).
            .env("RUST_LIB_BACKTRACE", "0")
            .env("PARKER_LISTEN", spec.listen.to_string())
            .current_dir(&spec.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true);
        #[cfg(unix)]
        {
            // Own process group: a terminal's Ctrl-C reaches the demo only,
            // which then stops the services in order (booking, then fares).
            command.process_group(0);
        }
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe and touches no memory of the
        // parent; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                // Even a SIGKILLed demo leaves no orphan behind.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().map_err(|error| ServiceError::Spawn {
            name: spec.name,
            path: spec.binary.clone(),
            error,
        })?;
        Ok(Service {
            name: spec.name,
            listen: spec.listen,
            log,
            child,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// Waits until `/healthz` answers 2xx; fails early, with the end of the
    /// log, when the process exits instead.
    pub async fn ready(&mut self, http: &HttpClient) -> Result<(), ServiceError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let url = http
            .url(&format!("{}/healthz", self.url()))
            .expect("a service listens on loopback");
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(ServiceError::Exited {
                    name: self.name,
                    status,
                    log: self.log.clone(),
                    tail: log_tail(&self.log),
                });
            }
            let answered = tokio::time::timeout(Duration::from_secs(1), http.get(&url))
                .await
                .is_ok_and(|r| r.is_ok_and(|r| r.is_success()));
            if answered {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(ServiceError::NotReady {
                    name: self.name,
                    listen: self.listen,
                    log: self.log.clone(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM (the services flush telemetry and drain on it), then SIGKILL
    /// after `grace`.
    pub async fn stop(mut self, grace: Duration) {
        #[cfg(unix)]
        if let Some(pid) = self.child.id().and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: plain syscall on a pid we spawned and have not reaped
            // (the Child still owns it), so it cannot name another process.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
            if tokio::time::timeout(grace, self.child.wait()).await.is_ok() {
                return;
            }
        }
        let _ = self.child.kill().await;
    }
}

fn is_ours(key: &OsString) -> bool {
    let key = key.to_string_lossy();
    key.starts_with("OTEL_") || key.starts_with("PARKER_")
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[start..].join("\n")
}

/// A free loopback port for a child: bound, read and released. A child that
/// loses the (tiny) race to another process fails to bind and says so.
pub fn free_port(ip: std::net::IpAddr) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind((ip, 0))?;
    listener.local_addr()
}
