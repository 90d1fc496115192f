//! Four `z3r0 node` processes, each in a network namespace of its own with its own address on a
//! bridge: a 2–2 partition (blackhole routes both ways) for 10 s, then healed. No node finalizes
//! across the cut, all four resume within 2 s of healing, and they agree on every block.
//! Needs root and iproute2 (`ip netns`), as CI has.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{assert_one_chain, audit_entries, small_network};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `ip` with `args`; panics with its error output if it fails.
fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("iproute2's ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A bridge in the root namespace and one namespace per node on it, removed on drop.
struct Hosts {
    bridge: String,
    namespaces: Vec<String>,
    addresses: Vec<String>,
}

impl Hosts {
    fn new(n: usize) -> Self {
        let id = std::process::id() % 100_000;
        let subnet = 20 + std::process::id() % 200;
        let bridge = format!("z3b{id}");
        let _ = Command::new("ip").args(["link", "del", &bridge]).output();
        ip(&["link", "add", &bridge, "type", "bridge"]);
        ip(&["link", "set", &bridge, "up"]);
        let mut hosts = Self {
            bridge,
            namespaces: Vec::new(),
            addresses: Vec::new(),
        };
        for i in 0..n {
            let ns = format!("z3n{id}-{i}");
            let (outside, inside) = (format!("z3v{id}{i}"), format!("z3w{id}{i}"));
            let addr = format!("10.77.{subnet}.{}", i + 1);
            let _ = Command::new("ip").args(["netns", "del", &ns]).output();
            ip(&["netns", "add", &ns]);
            hosts.namespaces.push(ns.clone());
            ip(&[
                "link", "add", &outside, "type", "veth", "peer", "name", &inside,
            ]);
            ip(&["link", "set", &outside, "master", &hosts.bridge]);
            ip(&["link", "set", &outside, "up"]);
            ip(&["link", "set", &inside, "netns", &ns]);
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                &inside,
            ]);
            ip(&["-n", &ns, "link", "set", &inside, "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            hosts.addresses.push(addr);
        }
        hosts
    }

    /// Cuts (or, with `heal`, restores) every route between the two sides.
    fn partition(&self, sides: [&[usize]; 2], heal: bool) {
        let verb = if heal { "del" } else { "add" };
        for (from, to) in [(sides[0], sides[1]), (sides[1], sides[0])] {
            for &a in from {
                for &b in to {
                    let target = format!("{}/32", self.addresses[b]);
                    ip(&[
                        "-n",
                        &self.namespaces[a],
                        "route",
                        verb,
                        "blackhole",
                        &target,
                    ]);
                }
            }
        }
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .output();
    }
}

struct Node {
    child: Child,
    log: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn height(node: &Node) -> u64 {
    audit_entries(&node.log)
        .iter()
        .map(|f| f.0)
        .max()
        .unwrap_or(0)
}

fn wait_until(what: &str, timeout: Duration, done: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

/// Moves each validator's p2p address from loopback to its host's address.
fn move_to_hosts(dir: &Path, base: u16, hosts: &Hosts) {
    let genesis = dir.join("genesis.toml");
    let mut text = std::fs::read_to_string(&genesis).unwrap();
    for (i, addr) in hosts.addresses.iter().enumerate() {
        let port = base + i as u16;
        let (old, new) = (format!("127.0.0.1:{port}"), format!("{addr}:{port}"));
        text = text.replace(&old, &new);
        let config = dir.join(format!("validator-{i}/config.toml"));
        let c = std::fs::read_to_string(&config)
            .unwrap()
            .replace(&old, &new);
        std::fs::write(&config, c).unwrap();
    }
    std::fs::write(genesis, text).unwrap();
}

#[test]
fn a_two_two_partition_in_namespaces_heals_and_stays_safe() {
    let dir = std::env::temp_dir().join(format!("z3r0-cli-netns-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let base = 20_000 + (std::process::id() % 380) as u16 * 32 + 24;
    small_network(&dir, 4, base);
    let hosts = Hosts::new(4);
    move_to_hosts(&dir, base, &hosts);
    let nodes: Vec<Node> = (0..4)
        .map(|i| {
            let vdir = dir.join(format!("validator-{i}"));
            let stderr = std::fs::File::create(vdir.join("node.log")).unwrap();
            let child = Command::new("ip")
                .args(["netns", "exec", &hosts.namespaces[i]])
                .arg(env!("CARGO_BIN_EXE_z3r0"))
                .args(["node", "--load", "50", "--config"])
                .arg(vdir.join("config.toml"))
                .env("RUST_LOG", "warn,z3r0_node=info")
                .env("NO_COLOR", "1")
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap();
            Node {
                child,
                log: vdir.join("data/finalized.log"),
            }
        })
        .collect();
    wait_until("40 blocks everywhere", Duration::from_secs(180), || {
        nodes.iter().all(|n| height(n) >= 40)
    });

    // Cut 0 and 1 off from 2 and 3: no side has the three votes a block needs.
    hosts.partition([&[0, 1], &[2, 3]], false);
    std::thread::sleep(Duration::from_millis(500));
    let at_cut: Vec<u64> = nodes.iter().map(height).collect();
    std::thread::sleep(Duration::from_secs(10));
    let after: Vec<u64> = nodes.iter().map(height).collect();
    let top = at_cut.iter().max().copied().unwrap();
    assert!(
        after.iter().all(|&h| h <= top + 1),
        "a side finalized alone: {at_cut:?} → {after:?}"
    );

    hosts.partition([&[0, 1], &[2, 3]], true);
    let stalled = after.iter().max().copied().unwrap();
    let resumed = wait_until("finality after healing", Duration::from_secs(60), || {
        nodes.iter().all(|n| height(n) > stalled)
    });
    println!("partition healed; every node finalized a new block after {resumed:?}");
    assert!(resumed <= Duration::from_secs(2), "{resumed:?}");

    let target = stalled + 40;
    wait_until("40 blocks after healing", Duration::from_secs(60), || {
        nodes.iter().all(|n| height(n) >= target)
    });
    let logs: Vec<PathBuf> = nodes.iter().map(|n| n.log.clone()).collect();
    drop(nodes);
    assert_one_chain(&logs);
    let _ = std::fs::remove_dir_all(&dir);
}
