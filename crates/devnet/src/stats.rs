//! What the devnet measures: validator metrics scraped over HTTP, the validators' audit logs
//! of finalized blocks (heights, roots, finality latencies), and process CPU and memory.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Seek as _, SeekFrom};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// `GET path` on a loopback HTTP server (a validator's endpoint), through hyper: (status code,
/// body). `None` when it does not answer within two seconds.
pub async fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    use http_body_util::BodyExt as _;
    let fetch = async {
        let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .ok()?;
        tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, "localhost")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .ok()?;
        let response = sender.send_request(request).await.ok()?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.ok()?.to_bytes();
        Some((status, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(Duration::from_secs(2), fetch)
        .await
        .ok()
        .flatten()
}

/// One scrape of a validator's metrics.
#[derive(Debug, Default, Clone)]
pub struct Sample {
    pub height: f64,
    pub peers: f64,
}

pub fn parse_metrics(text: &str) -> Sample {
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
        } else if name.ends_with("tracker_directory_reserved") {
            // Peers the tracker holds a connection slot for.

            sample.peers = value;
        }
    }
    sample
}

/// One line of a validator's `finalized.log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finalized {
    pub height: u64,
    pub root: String,
    /// When the validator executed it, Unix milliseconds.
    pub at_ms: u64,
    /// Its finality latency there (`None`: replayed or backfilled).
    pub latency_us: Option<u64>,
}

pub fn parse_audit_line(line: &str) -> Option<Finalized> {
    let line: z3r0_genesis::AuditLine = line.parse().ok()?;
    Some(Finalized {
        height: line.height,
        root: z3r0_genesis::to_hex(&line.root),
        at_ms: line.at_ms,
        latency_us: line.latency_us,
    })
}

/// Follows one append-only log, returning the whole lines added since the last read.
#[derive(Debug)]
pub struct LineTail {
    path: PathBuf,
    offset: u64,
    partial: String,
}

impl LineTail {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            offset: 0,
            partial: String::new(),
        }
    }

    pub fn read_lines(&mut self) -> Vec<String> {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut text = String::new();
        let Ok(n) = file.read_to_string(&mut text) else {
            return Vec::new();
        };
        self.offset += n as u64;
        self.partial.push_str(&text);
        let complete = match self.partial.rfind('\n') {
            Some(end) => {
                let rest = self.partial.split_off(end + 1);
                std::mem::replace(&mut self.partial, rest)
            }
            None => return Vec::new(),
        };
        complete.lines().map(str::to_string).collect()
    }
}

/// Follows one validator's audit log.
#[derive(Debug)]
pub struct AuditTail(LineTail);

impl AuditTail {
    pub fn new(path: PathBuf) -> Self {
        Self(LineTail::new(path))
    }

    pub fn read_new(&mut self) -> Vec<Finalized> {
        self.0
            .read_lines()
            .iter()
            .filter_map(|l| parse_audit_line(l))
            .collect()
    }
}

/// Every validator's roots by height, compared at the end of the run. A validator that halted
/// because its state diverged is left out ([`RootLedger::exclude`]): the run reports it, and
/// agreement is the others'.
#[derive(Debug, Default)]
pub struct RootLedger {
    /// Each validator's root at each height (the first it reported: replays report again).
    roots: BTreeMap<u64, BTreeMap<usize, String>>,
    /// Heights each validator has reported.
    seen: Vec<BTreeSet<u64>>,
    excluded: BTreeSet<usize>,
}

impl RootLedger {
    pub fn new(validators: usize) -> Self {
        Self {
            seen: vec![BTreeSet::new(); validators],
            ..Self::default()
        }
    }

    pub fn add(&mut self, validator: usize, f: &Finalized) {
        if let Some(seen) = self.seen.get_mut(validator) {
            seen.insert(f.height);
        }
        self.roots
            .entry(f.height)
            .or_default()
            .entry(validator)
            .or_insert_with(|| f.root.clone());
    }

    /// Leaves `validator` out of agreement from now on.
    pub fn exclude(&mut self, validator: usize) {
        self.excluded.insert(validator);
    }

    fn included(&self) -> impl Iterator<Item = (usize, &BTreeSet<u64>)> {
        self.seen
            .iter()
            .enumerate()
            .filter(|(v, _)| !self.excluded.contains(v))
    }

    /// (height, validator, its root, the root the lowest-numbered validator has there), among
    /// the validators not left out.
    pub fn disagreements(&self) -> Vec<(u64, usize, String, String)> {
        let mut found = Vec::new();
        for (&height, by) in &self.roots {
            let mut included = by.iter().filter(|(v, _)| !self.excluded.contains(v));
            let Some((_, first)) = included.next() else {
                continue;
            };
            for (&v, root) in included.filter(|(_, r)| *r != first) {
                found.push((height, v, root.clone(), first.clone()));
            }
        }
        found
    }

    /// Highest height every validator not left out has reported.
    pub fn common_tip(&self) -> u64 {
        self.included()
            .map(|(_, s)| s.last().copied().unwrap_or(0))
            .min()
            .unwrap_or(0)
    }

    /// Heights up to the common tip that a validator never reported, per validator.
    pub fn missing(&self) -> Vec<u64> {
        let tip = self.common_tip();
        self.seen
            .iter()
            .map(|s| (1..=tip).filter(|h| !s.contains(h)).count() as u64)
            .collect()
    }

    /// Every validator not left out reported every height up to the common tip, with one root
    /// at each.
    pub fn agree(&self) -> bool {
        let tip = self.common_tip();
        tip > 0
            && self.disagreements().is_empty()
            && self
                .included()
                .all(|(_, s)| (1..=tip).all(|h| s.contains(&h)))
    }
}

/// The `q` quantile (0..=1) of sorted values: the nearest-rank definition.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// CPU seconds (user + system) a process has used, from /proc (Linux).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Resident memory of a process in MiB, from /proc (Linux).
pub fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn line(height: u64, root: &str) -> Finalized {
        Finalized {
            height,
            root: root.into(),
            at_ms: 0,
            latency_us: None,
        }
    }

    /// A line as a validator writes it.
    fn audit(height: u64, root: u8, at_ms: u64, latency_us: Option<u64>) -> String {
        z3r0_genesis::AuditLine {
            height,
            digest: [0xab; 32],
            root: [root; 32],
            at_ms,
            latency_us,
        }
        .to_string()
    }

    #[test]
    fn audit_lines_parse_with_and_without_latency() {
        assert_eq!(
            parse_audit_line(&audit(7, 0xcd, 1_700_000_000_000, Some(1234))),
            Some(Finalized {
                height: 7,
                root: "cd".repeat(32),
                at_ms: 1_700_000_000_000,
                latency_us: Some(1234)
            })
        );
        assert_eq!(
            parse_audit_line(&audit(7, 0xcd, 5, None))
                .unwrap()
                .latency_us,
            None,
            "replayed blocks have no latency"
        );
        assert!(parse_audit_line("7 ab").is_none());
    }

    #[test]
    fn a_tail_returns_only_complete_new_lines() {
        let dir = std::env::temp_dir().join(format!("z3r0-tail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("finalized.log");
        let second = audit(2, 2, 11, Some(6));
        let (head, tail_of_second) = second.split_at(second.len() - 2);
        std::fs::write(&path, format!("{}\n{head}", audit(1, 1, 10, Some(5)))).unwrap();
        let mut tail = AuditTail::new(path.clone());
        assert_eq!(tail.read_new().len(), 1);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        let rest = format!("{tail_of_second}\n{}\n", audit(3, 3, 12, None));
        std::io::Write::write_all(&mut f, rest.as_bytes()).unwrap();
        let new: Vec<u64> = tail.read_new().iter().map(|f| f.height).collect();
        assert_eq!(new, vec![2, 3]);
        assert!(tail.read_new().is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_ledger_finds_disagreements_and_gaps() {
        let mut ledger = RootLedger::new(2);
        for h in 1..=3 {
            ledger.add(0, &line(h, "x"));
            ledger.add(1, &line(h, "x"));
        }
        assert!(ledger.agree());
        // A replay reports a height again: the same root is fine.
        ledger.add(1, &line(2, "x"));
        assert!(ledger.agree());
        // A gap below the common tip is not agreement.
        ledger.add(0, &line(5, "x"));
        ledger.add(1, &line(5, "x"));
        assert_eq!(ledger.missing(), vec![1, 1]);
        assert!(!ledger.agree());
        ledger.add(0, &line(4, "x"));
        ledger.add(1, &line(4, "y"));
        assert_eq!(ledger.disagreements().len(), 1);
        assert!(!ledger.agree());
    }

    #[test]
    fn a_diverged_validator_is_left_out_of_agreement() {
        let mut ledger = RootLedger::new(3);
        for h in 1..=4 {
            // Validator 0 diverges at height 3 and stops.
            if h < 4 {
                ledger.add(0, &line(h, if h < 3 { "x" } else { "bad" }));
            }
            ledger.add(1, &line(h, "x"));
            ledger.add(2, &line(h, "x"));
        }
        assert_eq!(ledger.disagreements().len(), 2);
        assert!(!ledger.agree());
        ledger.exclude(0);
        assert!(ledger.disagreements().is_empty());
        assert_eq!(ledger.common_tip(), 4);
        assert!(ledger.agree());
        // The others must still agree among themselves.
        ledger.add(1, &line(5, "y"));
        ledger.add(2, &line(5, "z"));
        assert!(!ledger.agree());
    }

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), Some(50.0));
        assert_eq!(quantile(&v, 0.99), Some(99.0));
        assert_eq!(quantile(&v, 1.0), Some(100.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
