//! The validator processes of a devnet: started as `z3r0 node`, each in its own process group
//! (a terminal's Ctrl-C reaches the devnet only, which then stops them in order), holding the
//! write end of their standard input (closing it stops them; so does the devnet dying, however
//! it dies), and restarted when one exits on its own, unless its exit code says a restart cannot
//! help (a damaged data directory, a diverged state): it is then reported and left stopped.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use super::stats;

/// Restarts of one validator before the devnet gives up on it.
pub const MAX_RESTARTS: u32 = 10;

#[derive(Debug)]
pub struct Validator {
    pub index: usize,
    pub dir: PathBuf,
    config: PathBuf,
    /// Its stores and audit logs (the config's `storage_dir`).
    pub data: PathBuf,
    pub metrics: SocketAddr,
    pub players: SocketAddr,
    child: Option<Child>,
    pub restarts: u32,
    /// Player sessions its edge allows from one address: the devnet's players all share
    /// loopback.
    pub sessions_per_address: usize,
    /// Runtime worker threads of its process. One: a devnet runs all its validators on the
    /// same cores, where more threads per process only add context switches (at 60 Hz on 2
    /// cores, one gave 56.3 and 57.3 blocks/s against 54.8 and 54.8 with two; BENCHMARKS.md).
    pub threads: usize,
    /// CPU seconds of this validator's earlier (exited) processes.
    cpu_before: f64,
    /// The last CPU reading of the running process.
    cpu_last: f64,
    /// Tests and fault drills: the height after which its state leaves the chain's.
    pub diverge_at: Option<u64>,
    /// Why it was left stopped, if it was.
    pub halted: Option<Halt>,
    /// Fault drills: how far ahead its clock runs, in milliseconds.
    pub clock_skew_ms: i64,
    /// Drills: it runs Byzantine (in a world, its relays forge handoffs).
    pub byzantine: bool,
}

/// A validator the devnet left stopped: how it exited, and the error it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Halt {
    pub exit: z3r0_genesis::NodeExit,
    pub reason: String,
}

impl Validator {
    /// Left stopped with a state diverged from its chain's: its roots are its own.
    pub fn diverged(&self) -> bool {
        self.halted
            .as_ref()
            .is_some_and(|h| h.exit == z3r0_genesis::NodeExit::Diverged)
    }

    pub fn new(index: usize, dir: PathBuf) -> Result<Self> {
        let config = dir.join("config.toml");
        let (cfg, _, _) = z3r0_genesis::ValidatorConfig::load(&config)
            .with_context(|| format!("loading {}", config.display()))?;
        Ok(Self::with(
            index,
            dir,
            config,
            cfg.storage_dir,
            cfg.metrics,
            cfg.player_listen,
        ))
    }

    /// A world's pool member `index`, configured in `dir` (it runs every zone it is seated on).
    pub fn new_world(index: usize, dir: PathBuf) -> Result<Self> {
        let config = dir.join("config.toml");
        let seat = z3r0_genesis::WorldSeat::load(&config)
            .with_context(|| format!("loading {}", config.display()))?;
        Ok(Self::with(
            index,
            dir,
            config,
            seat.config.storage_dir,
            seat.config.metrics,
            seat.config.player_listen,
        ))
    }

    fn with(
        index: usize,
        dir: PathBuf,
        config: PathBuf,
        data: PathBuf,
        metrics: SocketAddr,
        players: SocketAddr,
    ) -> Self {
        Self {
            index,
            dir,
            config,
            data,
            metrics,
            players,
            child: None,
            restarts: 0,
            sessions_per_address: 64,
            threads: 1,
            cpu_before: 0.0,
            cpu_last: 0.0,
            diverge_at: None,
            halted: None,
            clock_skew_ms: 0,
            byzantine: false,
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("node.log")
    }

    pub fn audit_path(&self) -> PathBuf {
        self.data.join("finalized.log")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts the process; `load`: synthetic signed inputs per second it generates itself.
    pub fn start(&mut self, exe: &Path, load: u32) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .with_context(|| format!("opening {}", self.log_path().display()))?;
        let child = Command::new(exe)
            .args(["node", "--stop-on-stdin-close", "--load"])
            .arg(load.to_string())
            .arg("--sessions-per-address")
            .arg(self.sessions_per_address.to_string())
            .arg("--threads")
            .arg(self.threads.to_string())
            .arg("--config")
            .arg(&self.config)
            .args(
                self.diverge_at
                    .map(|h| vec!["--diverge-at".to_string(), h.to_string()])
                    .unwrap_or_default(),
            )
            .arg(format!("--clock-skew-ms={}", self.clock_skew_ms))
            .args(self.byzantine.then_some("--byzantine"))
            .env("NO_COLOR", "1")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,z3r0_node=info".into()),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting validator {}", self.dir.display()))?;
        // Tests and operators find the process here (to watch it, or to kill it).
        let _ = std::fs::write(self.dir.join("node.pid"), child.id().to_string());
        self.cpu_last = 0.0;
        self.child = Some(child);
        Ok(())
    }

    /// The exit status if the process has ended (it is then forgotten).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let status = child.try_wait().ok().flatten()?;
        self.cpu_before += self.cpu_last;
        self.cpu_last = 0.0;
        self.child = None;
        Some(status)
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// CPU seconds this validator's processes have used so far.
    pub fn cpu_seconds(&mut self) -> f64 {
        if let Some(now) = self.pid().and_then(stats::cpu_seconds) {
            self.cpu_last = now;
        }
        self.cpu_before + self.cpu_last
    }

    pub fn rss_mb(&self) -> Option<f64> {
        self.pid().and_then(stats::rss_mb)
    }

    /// Asks the process to stop: closes its standard input.
    pub fn request_stop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            drop(child.stdin.take());
        }
    }

    /// Asks the process to stop, waits up to `grace`, then kills it.
    pub fn stop(&mut self, grace: Duration) {
        self.request_stop();
        let Some(mut child) = self.child.take() else {
            return;
        };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        tracing::warn!(validator = self.index, "did not stop in time; killing it");
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Validator {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Refuses to touch the chain in `data` while a validator a devnet started there still runs:
/// another devnet runs on it, or one killed a moment ago left validators that have not yet
/// noticed their standard input closing. Its stores are theirs until they stop.
pub fn check_stopped(data: &Path) -> Result<()> {
    for i in 0.. {
        let dir = data.join(format!("validator-{i}"));
        if !dir.is_dir() {
            return Ok(());
        }
        let pid = std::fs::read_to_string(dir.join("node.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok());
        if let Some(pid) = pid.filter(|&pid| runs_validator(pid, i)) {
            anyhow::bail!(
                "validator {i} of the chain in {} still runs (pid {pid}): stop the devnet running there, or wait a moment for a killed one's validators to stop",
                data.display()
            );
        }
    }
    Ok(())
}

/// Whether process `pid` is a devnet's validator `i` (its command line says so; an exited
/// process, or another that took its pid, is not).
fn runs_validator(pid: u32, i: usize) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let config = format!("validator-{i}/config.toml");
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    args.contains(&b"--stop-on-stdin-close".as_slice())
        && args.iter().any(|a| a.ends_with(config.as_bytes()))
}

/// The last error line of a validator's log (what `z3r0 node` printed as it exited).
pub fn last_error(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .rev()
        .find(|l| l.starts_with("error:") || l.contains(" ERROR "))
        .unwrap_or("")
        .to_string()
}

/// The last lines of a validator's log, to say why it stopped.
/// The last `lines` of each validator's log, under its name.
pub fn log_tails(validators: &[Validator], lines: usize) -> String {
    validators
        .iter()
        .map(|v| format!("validator {}:\n{}", v.index, log_tail(&v.log_path(), lines)))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A process that looks like a devnet's validator 0 of a chain holds that chain until it
    /// ends.
    #[test]
    fn a_chain_whose_validator_still_runs_is_not_touched() {
        let data = std::env::temp_dir().join(format!("z3r0-running-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        let dir = data.join("validator-0");
        std::fs::create_dir_all(&dir).unwrap();
        check_stopped(&data).unwrap();
        let config = dir.join("config.toml");
        // A shell waiting on its standard input (a builtin: no other process), with the
        // arguments of a validator.
        let mut child = Command::new("sh")
            .args([
                "-c",
                "read line",
                "node",
                "--stop-on-stdin-close",
                "--config",
            ])
            .arg(&config)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::fs::write(dir.join("node.pid"), child.id().to_string()).unwrap();
        // Until the shell has started, the child is a copy of this test.
        let deadline = Instant::now() + Duration::from_secs(10);
        while check_stopped(&data).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let err = check_stopped(&data).unwrap_err().to_string();
        assert!(
            err.contains("validator 0") && err.contains("still runs"),
            "{err}"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        check_stopped(&data).unwrap();
        // Another process under a recorded pid is not a validator.
        std::fs::write(dir.join("node.pid"), std::process::id().to_string()).unwrap();
        check_stopped(&data).unwrap();
        std::fs::remove_dir_all(&data).unwrap();
    }
}
