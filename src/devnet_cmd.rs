//! `z3r0 devnet`: a local zone of validator processes on loopback, under synthetic load, with a
//! running report of what it achieves (the loopback benchmark).

use anyhow::{Context as _, Result, bail};
use clap::Args;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct DevnetArgs {
    /// Validators in the zone.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Directory for the genesis, keys, storage and logs (reused if it holds a genesis).
    #[arg(long, default_value = "devnet-data")]
    dir: PathBuf,
    /// Signed game inputs per second, in total, spread over the validators.
    #[arg(long, default_value_t = 2_000)]
    load: u32,
    /// Tick (block) length in milliseconds, for a new genesis.
    #[arg(long, default_value_t = 50)]
    tick_ms: u64,
    /// First loopback port, for a new genesis.
    #[arg(long, default_value_t = 9000)]
    base_port: u16,
    /// Stop after this many seconds (0: run until interrupted).
    #[arg(long, default_value_t = 0)]
    duration: u64,
    /// Seconds between report lines.
    #[arg(long, default_value_t = 5)]
    every: u64,
}

struct Validator {
    child: Child,
    metrics: SocketAddr,
}

impl Drop for Validator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One scrape of a validator's metrics.
#[derive(Debug, Default, Clone)]
struct Sample {
    height: f64,
    actions: f64,
    peers: f64,
    /// Finality histogram: (upper bound in seconds, cumulative count).
    finality: Vec<(f64, f64)>,
}

fn scrape(addr: SocketAddr) -> Option<Sample> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let mut sample = Sample::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        if name.ends_with("zone_height") {
            sample.height = value;
        } else if name.ends_with("zone_finalized_actions_total") {
            sample.actions = value;
        } else if name.ends_with("p2p_connections") || name.ends_with("tracker_connections") {
            sample.peers = value;
        } else if let Some(rest) = name.strip_suffix("\"}")
            && let Some((metric, bound)) = rest.split_once("{le=\"")
            && metric.ends_with("zone_finality_seconds_bucket")
        {
            let bound = if bound == "+Inf" {
                f64::INFINITY
            } else {
                bound.parse().unwrap_or(f64::INFINITY)
            };
            sample.finality.push((bound, value));
        }
    }
    Some(sample)
}

/// The `q` quantile of the observations between two histogram scrapes, interpolated linearly
/// within a bucket (as Prometheus's `histogram_quantile` does).
fn quantile(before: &[(f64, f64)], after: &[(f64, f64)], q: f64) -> Option<f64> {
    let delta: Vec<(f64, f64)> = after
        .iter()
        .map(|&(bound, count)| {
            let prior = before.iter().find(|b| b.0 == bound).map_or(0.0, |b| b.1);
            (bound, count - prior)
        })
        .collect();
    let total = delta.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(bound, count) in &delta {
        if count >= rank {
            if !bound.is_finite() {
                return Some(lower.0);
            }
            let width = count - lower.1;
            let fraction = if width > 0.0 {
                (rank - lower.1) / width
            } else {
                1.0
            };
            return Some(lower.0 + (bound - lower.0) * fraction);
        }
        lower = (bound, count);
    }
    None
}

/// CPU seconds (user + system) a process has used, from /proc (Linux).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn ensure_genesis(args: &DevnetArgs, exe: &Path) -> Result<()> {
    if args.dir.join("genesis.toml").exists() {
        return Ok(());
    }
    let status = Command::new(exe)
        .args(["genesis", "--validators"])
        .arg(args.validators.to_string())
        .arg("--tick-ms")
        .arg(args.tick_ms.to_string())
        .arg("--base-port")
        .arg(args.base_port.to_string())
        .arg("--out")
        .arg(&args.dir)
        .status()
        .context("running z3r0 genesis")?;
    if !status.success() {
        bail!("z3r0 genesis failed");
    }
    Ok(())
}

pub fn run(args: &DevnetArgs) -> Result<()> {
    let exe = std::env::current_exe().context("locating the z3r0 executable")?;
    ensure_genesis(args, &exe)?;
    let mut validators = Vec::new();
    let dirs: Vec<PathBuf> = (0..)
        .map(|i| args.dir.join(format!("validator-{i}")))
        .take_while(|d| d.join("config.toml").exists())
        .collect();
    if dirs.is_empty() {
        bail!(
            "{} holds a genesis but no validator configs",
            args.dir.display()
        );
    }
    let per_validator = args.load / dirs.len() as u32;
    for dir in &dirs {
        let config = dir.join("config.toml");
        let (cfg, _, _) = z3r0_node::ValidatorConfig::load(&config)
            .with_context(|| format!("loading {}", config.display()))?;
        let log = std::fs::File::create(dir.join("node.log"))?;
        let child = Command::new(&exe)
            .args(["node", "--load"])
            .arg(per_validator.to_string())
            .arg("--config")
            .arg(&config)
            .env("NO_COLOR", "1")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,z3r0_node=info".into()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting validator {}", dir.display()))?;
        validators.push(Validator {
            child,
            metrics: cfg.metrics,
        });
    }
    println!(
        "devnet: {} validators in {}, {} actions/s of load; logs in validator-*/node.log",
        validators.len(),
        args.dir.display(),
        per_validator * validators.len() as u32
    );
    println!(
        "metrics: {}",
        validators
            .iter()
            .map(|v| format!("http://{}/metrics", v.metrics))
            .collect::<Vec<_>>()
            .join(" ")
    );

    let start = Instant::now();
    let mut previous: Option<(Instant, Sample, Vec<f64>)> = None;
    let mut first: Option<(Instant, Sample, Vec<f64>)> = None;
    loop {
        std::thread::sleep(Duration::from_secs(args.every.max(1)));
        for (i, v) in validators.iter_mut().enumerate() {
            if let Some(status) = v.child.try_wait()? {
                bail!("validator {i} exited ({status}); see validator-{i}/node.log");
            }
        }
        let now = Instant::now();
        let Some(sample) = scrape(validators[0].metrics) else {
            println!(
                "{:>6.1}s  waiting for validator 0's metrics",
                start.elapsed().as_secs_f64()
            );
            continue;
        };
        let cpu: Vec<f64> = validators
            .iter()
            .map(|v| cpu_seconds(v.child.id()).unwrap_or(f64::NAN))
            .collect();
        if let Some((then, before, cpu_before)) = &previous {
            println!(
                "{:>6.1}s  {}",
                start.elapsed().as_secs_f64(),
                report(*then, before, cpu_before, now, &sample, &cpu)
            );
        }
        if first.is_none() && sample.height > 0.0 {
            first = Some((now, sample.clone(), cpu.clone()));
        }
        previous = Some((now, sample, cpu));
        if args.duration > 0 && start.elapsed() >= Duration::from_secs(args.duration) {
            break;
        }
    }
    if let (Some((t0, s0, c0)), Some((t1, s1, c1))) = (&first, &previous) {
        println!("summary  {}", report(*t0, s0, c0, *t1, s1, c1));
    }
    Ok(())
}

fn report(t0: Instant, s0: &Sample, c0: &[f64], t1: Instant, s1: &Sample, c1: &[f64]) -> String {
    let secs = t1.duration_since(t0).as_secs_f64().max(1e-9);
    let ms = |q| {
        quantile(&s0.finality, &s1.finality, q)
            .map_or("n/a".to_string(), |s| format!("{:.1} ms", s * 1000.0))
    };
    let cores: Vec<String> = c0
        .iter()
        .zip(c1)
        .map(|(a, b)| format!("{:.2}", (b - a) / secs))
        .collect();
    format!(
        "height {:>6}  {:>5.1} blocks/s  {:>6.0} actions/s  finality p50 {} p99 {}  cores/validator [{}]",
        s1.height,
        (s1.height - s0.height) / secs,
        (s1.actions - s0.actions) / secs,
        ms(0.5),
        ms(0.99),
        cores.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn quantiles_interpolate_within_buckets() {
        let before = [(0.01, 0.0), (0.02, 0.0), (f64::INFINITY, 0.0)];
        let after = [(0.01, 50.0), (0.02, 100.0), (f64::INFINITY, 100.0)];
        assert!((quantile(&before, &after, 0.5).unwrap() - 0.01).abs() < 1e-9);
        assert!((quantile(&before, &after, 0.75).unwrap() - 0.015).abs() < 1e-9);
        assert!(quantile(&after, &after, 0.5).is_none());
    }
}
