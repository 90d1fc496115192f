//! Four `z3r0 node` processes on loopback under load: one is killed with SIGKILL and restarted;
//! it catches up, every node finalizes the same blocks with the same state roots, and nothing
//! finalized is lost. And four with one Byzantine (`--byzantine`): the honest ones refuse its
//! proposals and go on agreeing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{audit_entries, small_network};

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Node {
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    byzantine: bool,
    /// Arguments added to every start.
    extra: Vec<&'static str>,
}

impl Node {
    /// `GET path` on this node's HTTP endpoint: the status line and the body.
    fn http(&self, path: &str) -> String {
        use std::io::{Read as _, Write as _};
        let (config, _, _) = z3r0_node::ValidatorConfig::load(&self.config).unwrap();
        let mut s = std::net::TcpStream::connect(config.metrics).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    fn start(&mut self) {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.config.with_file_name("node.log"))
            .unwrap();
        self.child = Some(
            Command::new(env!("CARGO_BIN_EXE_z3r0"))
                .args(["node", "--load", "100", "--config"])
                .arg(&self.config)
                .args(self.byzantine.then_some("--byzantine"))
                .args(&self.extra)
                .env("RUST_LOG", "warn,z3r0_node=info")
                .env("NO_COLOR", "1")
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap(),
        );
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
    }

    /// `(height, digest, root)` lines of the node's audit log.
    fn finalized(&self) -> Vec<(u64, String, String)> {
        audit_entries(&self.log)
    }

    fn height(&self) -> u64 {
        self.finalized().iter().map(|f| f.0).max().unwrap_or(0)
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.config.with_file_name("node.log")).unwrap_or_default()
    }

    fn stderr_tail(&self) -> String {
        let text = self.stderr();
        text.lines().rev().take(15).collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn wait_until(nodes: &[Node], what: &str, timeout: Duration, done: impl Fn(&[Node]) -> bool) {
    let start = Instant::now();
    while !done(nodes) {
        if start.elapsed() > timeout {
            let heights: Vec<_> = nodes.iter().map(Node::height).collect();
            let tails: Vec<_> = nodes.iter().map(Node::stderr_tail).collect();
            panic!(
                "timed out waiting for {what}; heights {heights:?}\n{}",
                tails.join("\n----\n")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until node `who` is 20 blocks past where node 0 is now.
fn wait_caught_up(nodes: &[Node], who: usize, what: &str, limit: Duration) {
    let target = nodes[0].height() + 20;
    wait_until(nodes, what, limit, |n| n[who].height() >= target);
}

/// A network of four under `dir`, node `byzantine` (if any) in Byzantine mode. Ports from the
/// pid and `offset` so parallel runs on one machine do not collide, below Linux's ephemeral
/// range (32768+) so outgoing connections cannot hold them.
fn network(dir: &std::path::Path, offset: u16, byzantine: Option<usize>) -> Vec<Node> {
    let base = 20_000 + (std::process::id() % 380) as u16 * 32 + offset;
    network_at(dir, base, byzantine)
}

/// A network of four under `dir`, its ports from `base`.
fn network_at(dir: &std::path::Path, base: u16, byzantine: Option<usize>) -> Vec<Node> {
    let _ = std::fs::remove_dir_all(dir);
    small_network(dir, 4, base);
    (0..4)
        .map(|i| Node {
            log: dir.join(format!("validator-{i}/data/finalized.log")),
            config: dir.join(format!("validator-{i}/config.toml")),
            child: None,
            byzantine: byzantine == Some(i),
            extra: Vec::new(),
        })
        .collect()
}

/// Every height has one digest and one root across all nodes (duplicates from replay agree),
/// and no height is missing.
fn assert_one_chain(nodes: &[Node]) {
    let logs: Vec<PathBuf> = nodes.iter().map(|n| n.log.clone()).collect();
    common::assert_one_chain(&logs);
}

#[test]
fn honest_processes_refuse_a_byzantine_leader_and_agree() {
    let dir = std::env::temp_dir().join(format!("z3r0-cli-byz-{}", std::process::id()));
    let mut nodes = network(&dir, 16, Some(0));
    for n in &mut nodes {
        n.start();
    }
    // Each honest node must also have refused a Byzantine proposal: one that starts late under
    // load may see its first only after the others' sixtieth block.
    wait_until(
        &nodes,
        "60 blocks on the honest nodes, each having refused a proposal",
        Duration::from_secs(180),
        |n| {
            n[1..]
                .iter()
                .all(|x| x.height() >= 60 && x.stderr().contains("refusing proposal"))
        },
    );
    for n in &mut nodes {
        n.kill();
    }
    assert_one_chain(&nodes);
    assert!(nodes[0].stderr().contains("byzantine proposal"));
    for (i, n) in nodes.iter().enumerate().skip(1) {
        assert!(
            n.stderr().contains("refusing proposal"),
            "validator {i} refused nothing:\n{}",
            n.stderr_tail()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn four_processes_survive_a_sigkill_and_agree() {
    let dir = std::env::temp_dir().join(format!("z3r0-cli-node-{}", std::process::id()));
    let mut nodes = network(&dir, 0, None);
    for n in &mut nodes {
        n.start();
    }
    wait_until(
        &nodes,
        "40 blocks everywhere",
        Duration::from_secs(180),
        |n| n.iter().all(|x| x.height() >= 40),
    );

    // A finalizing node says so, with its height and the edge's counters.
    let health = nodes[0].http("/health");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let status = nodes[0].http("/api/status");
    assert!(status.contains("\"finalizing\":true"), "{status}");
    assert!(status.contains("\"committee\":4"), "{status}");
    let metrics = nodes[0].http("/metrics");
    assert!(metrics.contains("edge_sessions 0"), "{metrics}");

    nodes[2].kill();
    let before_kill = nodes[2].finalized();
    let killed_at = nodes[2].height();
    wait_until(
        &nodes,
        "the others to move on",
        Duration::from_secs(120),
        |n| [0, 1, 3].iter().all(|&i| n[i].height() >= killed_at + 40),
    );
    nodes[2].start();
    let target = nodes[0].height() + 20;
    wait_until(
        &nodes,
        "the restarted node to catch up",
        Duration::from_secs(180),
        |n| n.iter().all(|x| x.height() >= target),
    );
    let health = nodes[2].http("/health");
    assert!(
        health.starts_with("HTTP/1.1 200"),
        "the restarted node: {health}"
    );
    for n in &mut nodes {
        n.kill();
    }

    assert_one_chain(&nodes);
    // Nothing the killed node had finalized is lost or changed.
    let after = nodes[2].finalized();
    for line in &before_kill {
        assert!(after.contains(line), "lost {line:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Copies a directory tree.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// How a file is damaged.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// Three bytes inverted, at a third, half and two thirds of it.
    Flip,
    /// Cut to half its length.
    Truncate,
}

fn damage(file: &std::path::Path, how: Damage) {
    let mut bytes = std::fs::read(file).unwrap();
    let n = bytes.len();
    assert!(n > 8, "{} is too small to damage", file.display());
    match how {
        Damage::Flip => {
            for at in [n / 3, n / 2, 2 * n / 3] {
                bytes[at] ^= 0xff;
            }
        }
        Damage::Truncate => bytes.truncate(n / 2),
    }
    std::fs::write(file, bytes).unwrap();
}

/// The largest file in a partition of the node's runtime storage (a section just opened can
/// be a few bytes long).
fn largest(data: &std::path::Path, partition: &str) -> PathBuf {
    std::fs::read_dir(data.join("runtime").join(partition))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| (std::fs::metadata(p).unwrap().len(), p.clone()))
        .unwrap()
}

impl Node {
    /// Runs the node with `extra` arguments until it exits (at most `limit`): its exit code and
    /// what it printed.
    fn run_to_exit(&self, extra: &[&str], limit: Duration) -> (Option<i32>, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_z3r0"))
            .args(["node", "--config"])
            .arg(&self.config)
            .args(extra)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + limit;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn damaged_stores_are_named_resync_rebuilds_and_divergence_halts() {
    let dir = std::env::temp_dir().join(format!("z3r0-cli-stores-{}", std::process::id()));
    let mut nodes = network(&dir, 16, None);
    for n in &mut nodes {
        n.start();
    }
    // Past the first checkpoint (every 256 blocks), so every store has been written.
    wait_until(&nodes, "300 blocks", Duration::from_secs(240), |n| {
        n.iter().all(|x| x.height() >= 300)
    });
    nodes[3].kill();
    let data = dir.join("validator-3/data");
    let pristine = dir.join("pristine");
    copy_tree(&data, &pristine);

    let cases: [(&str, Vec<PathBuf>, Damage); 6] = [
        (
            "zone-checkpoints",
            {
                let d = data.join("runtime/zone-checkpoints");
                vec![d.join("6c656674"), d.join("7269676874")]
            },
            Damage::Flip,
        ),
        (
            "zone-simplex",
            vec![largest(&data, "zone-simplex")],
            Damage::Flip,
        ),
        (
            "zone-blocks-pruned-values",
            vec![largest(&data, "zone-blocks-pruned-values")],
            Damage::Flip,
        ),
        (
            "zone-blocks-",
            vec![largest(&data, "zone-blocks-pruned-keys")],
            Damage::Truncate,
        ),
        (
            "finalized.log",
            vec![data.join("finalized.log")],
            Damage::Truncate,
        ),
        (
            "finalized.log",
            vec![data.join("finalized.log")],
            Damage::Flip,
        ),
    ];
    for (named, files, how) in &cases {
        copy_tree(&pristine, &data);
        for file in files {
            damage(file, *how);
        }
        let (code, stderr) = nodes[3].run_to_exit(&[], Duration::from_secs(30));
        assert_eq!(code, Some(3), "{named} {how:?}: {stderr}");
        assert!(stderr.contains(named), "{named} {how:?}: {stderr}");
        assert!(stderr.contains("--resync"), "{named} {how:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{named} {how:?}: {stderr}");
    }

    // The finalization archive's journals drop a damaged tail as a torn write: the node loses
    // certificates of blocks it already executed, needs none of them, and runs on.
    for (part, how) in [
        ("pruned-values", Damage::Truncate),
        ("pruned-keys", Damage::Flip),
    ] {
        copy_tree(&pristine, &data);
        damage(&largest(&data, &format!("zone-finalizations-{part}")), how);
        let (code, stderr) = nodes[3].run_to_exit(&[], Duration::from_secs(8));
        assert_eq!(code, None, "{part} {how:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{part} {how:?}: {stderr}");
    }

    // Another chain's data directory is refused, as is one with no marker.
    copy_tree(&pristine, &data);
    let marker = data.join("z3r0-data");
    let text = std::fs::read_to_string(&marker).unwrap();
    let other = text.replacen("chain ", "chain 00", 1);
    std::fs::write(&marker, other).unwrap();
    let (code, stderr) = nodes[3].run_to_exit(&[], Duration::from_secs(30));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("belongs to chain"), "{stderr}");
    std::fs::remove_file(&marker).unwrap();
    let (code, stderr) = nodes[3].run_to_exit(&[], Duration::from_secs(30));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("z3r0-data"), "{stderr}");

    // --resync sets the damaged directory aside and rebuilds from the committee.
    damage(&largest(&data, "zone-blocks-pruned-values"), Damage::Flip);
    let mut resync = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["node", "--resync", "--config"])
        .arg(&nodes[3].config)
        .env("RUST_LOG", "warn,z3r0_node=info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_caught_up(
        &nodes,
        3,
        "the resynced node to catch up",
        Duration::from_secs(180),
    );
    let _ = resync.kill();
    let _ = resync.wait();
    let aside = std::fs::read_dir(dir.join("validator-3"))
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("data.set-aside-")
        });
    assert!(aside, "the damaged directory is kept aside");

    // A validator whose state leaves the chain's exits as diverged (4), and says so.
    let diverge = (nodes[0].height() + 20).to_string();
    let (code, stderr) = nodes[3].run_to_exit(&["--diverge-at", &diverge], Duration::from_secs(60));
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("diverged"), "{stderr}");

    for n in &mut nodes {
        n.kill();
    }
    assert_one_chain(&nodes[..3]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// With a short history every node prunes the chain's first blocks, and a node whose data
/// directory is rebuilt (`--resync`) comes back from the committee's checkpoint instead of
/// the pruned chain, and so does one paused for longer, in place: real processes, real p2p.
#[test]
fn a_resynced_node_state_syncs_past_the_pruned_history() {
    let dir = std::env::temp_dir().join(format!("z3r0-cli-sync-{}", std::process::id()));
    let mut nodes = network_at(&dir, common::free_ports(32_000 - 400, 12), None);
    for n in &mut nodes {
        n.extra = vec!["--history-blocks", "16"];
        n.start();
    }
    // Past the first checkpoint (block 256): blocks below 240 are pruned.
    wait_until(&nodes, "270 blocks", Duration::from_secs(240), |n| {
        n.iter().all(|x| x.height() >= 270)
    });
    nodes[3].kill();
    let sections = |node: usize| {
        let values = dir.join(format!(
            "validator-{node}/data/runtime/zone-blocks-pruned-values"
        ));
        std::fs::read_dir(values).unwrap().count()
    };
    // 17 sections of 16 blocks were written; the first 15 are gone.
    assert!(sections(0) <= 3, "{} sections kept", sections(0));

    let mut resync = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args([
            "node",
            "--resync",
            "--history-blocks",
            "16",
            "--stop-on-stdin-close",
        ])
        .arg("--config")
        .arg(&nodes[3].config)
        .env("RUST_LOG", "warn,z3r0_node=info")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_caught_up(
        &nodes,
        3,
        "the resynced node to catch up",
        Duration::from_secs(120),
    );
    // It stops cleanly: an audit log that starts at the synced checkpoint is not a fault.
    drop(resync.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(30);
    while resync.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = resync.kill();
    let out = resync.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("state synced from the committee"),
        "{stderr}"
    );
    // Its new audit log starts past the pruned blocks, and agrees with the others'.
    let synced = nodes[3].finalized();
    assert!(synced[0].0 > 240, "replayed from height {}", synced[0].0);
    agrees_with_node_0(&nodes, 3);
    // Restarted, it resumes from the synced checkpoint and its certificate (marshal's floor),
    // not from genesis, whose blocks nobody holds any more.
    nodes[3].start();
    wait_caught_up(
        &nodes,
        3,
        "the restarted node to catch up",
        Duration::from_secs(120),
    );

    // A node paused while the chain runs past the history (and the next checkpoint) syncs
    // in place when it wakes: same process, no restart.
    let paused_at = nodes[2].height();
    signal(&nodes[2], "-STOP");
    wait_until(
        &nodes,
        "the chain past the history",
        Duration::from_secs(120),
        |n| n[0].height() > paused_at + 16 + 256 + 20,
    );
    signal(&nodes[2], "-CONT");
    wait_caught_up(
        &nodes,
        2,
        "the paused node to sync in place",
        Duration::from_secs(120),
    );
    let running = nodes[2]
        .child
        .as_mut()
        .unwrap()
        .try_wait()
        .unwrap()
        .is_none();
    let log = nodes[2].stderr();
    assert!(
        running
            && log.contains("behind the committee's history: state-syncing")
            && log.contains("state synced from the committee"),
        "running: {running}; {}",
        nodes[2].stderr_tail()
    );
    agrees_with_node_0(&nodes, 2);
    for n in &mut nodes {
        n.kill();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends `signal` (`kill`'s spelling) to `node`'s process.
fn signal(node: &Node, signal: &str) {
    let pid = node.child.as_ref().unwrap().id().to_string();
    let status = Command::new("kill").args([signal, &pid]).status().unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

/// Every block in `node`'s audit log that node 0's also holds is the same block and root.
fn agrees_with_node_0(nodes: &[Node], node: usize) {
    let agreed: std::collections::BTreeMap<u64, (String, String)> = nodes[0]
        .finalized()
        .into_iter()
        .map(|(h, d, r)| (h, (d, r)))
        .collect();
    for (h, d, r) in nodes[node].finalized() {
        if let Some(entry) = agreed.get(&h) {
            assert_eq!(entry, &(d, r), "node {node} disagrees at height {h}");
        }
    }
}
