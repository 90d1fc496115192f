//! A world of two zones on four `z3r0 node` processes over loopback: each process runs a
//! replica of every zone whose committee it sits on, over one p2p network; players of the
//! synthetic load run across the border both ways, their exits relayed between the zones'
//! committees; every replica of a zone finalizes the same blocks with the same roots.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{assert_one_chain, audit_entries, free_ports};

use commonware_cryptography::Signer as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use z3r0_node::genesis::{WorldGenesis, WorldSeat, ZoneId};

struct Process {
    config: PathBuf,
    child: Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    fn start(config: &Path) -> Self {
        let log = std::fs::File::create(config.with_file_name("node.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_z3r0"))
            .args(["node", "--load", "40", "--config"])
            .arg(config)
            .env("RUST_LOG", "warn,z3r0_node=info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Self {
            config: config.to_path_buf(),
            child,
        }
    }

    /// `GET path` on the node's HTTP endpoint: the whole response (empty if unreachable).
    fn http(&self, path: &str) -> String {
        use std::io::{Read as _, Write as _};
        let seat = WorldSeat::load(&self.config).unwrap();
        let Ok(mut s) = std::net::TcpStream::connect(seat.config.metrics) else {
            return String::new();
        };
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        );
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    /// The sum of a counter's samples whose name contains `name`, for zone `zone`.
    fn counter(&self, name: &str, zone: ZoneId) -> u64 {
        let label = format!("zone=\"{}\"", zone.number());
        self.http("/metrics")
            .lines()
            .filter(|l| !l.starts_with('#') && l.contains(name) && l.contains(&label))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .map(|v| v as u64)
            .sum()
    }

    fn log_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self.config.with_file_name("node.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().rev().take(12).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

/// `validator-i`'s audit log of `zone`.
fn zone_log(dir: &Path, i: usize, zone: ZoneId) -> PathBuf {
    dir.join(format!(
        "validator-{i}/data/zone-{}-{}/finalized.log",
        zone.x, zone.z
    ))
}

fn height(log: &Path) -> u64 {
    audit_entries(log).iter().map(|e| e.0).max().unwrap_or(0)
}

/// A 2 × 1 world of small zones, four validators in the pool, three seats a zone.
fn small_world(dir: &Path) -> WorldGenesis {
    let _ = std::fs::remove_dir_all(dir);
    let base = free_ports(21_000 + (std::process::id() % 300) as u16 * 20, 12);
    let out = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args([
            "genesis",
            "--zones",
            "2x1",
            "--validators",
            "4",
            "--committee",
            "3",
        ])
        .args(["--tick-ms", "50", "--base-port", &base.to_string(), "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("z3r0 node --config"));
    // Small zones: world generation stays quick in unoptimised test builds, and a body
    // reaches the border in seconds.
    let path = dir.join("world.toml");
    let mut world = WorldGenesis::load(&path).unwrap();
    world.zone_chunks = [2, 2];
    world.origin = [-2, -1];
    world.chunks_y = [-1, 2];
    world.save(&path).unwrap();
    world
}

#[test]
fn world_validators_run_every_seated_zone_and_hand_bodies_over() {
    let dir = std::env::temp_dir().join(format!("z3r0-world-node-{}", std::process::id()));
    let world = small_world(&dir);
    let zones: Vec<ZoneId> = world.zone_ids().collect();
    let seats: Vec<Vec<usize>> = zones.iter().map(|&z| world.committee(z).unwrap()).collect();
    let mut processes: Vec<Process> = (0..4)
        .map(|i| Process::start(&dir.join(format!("validator-{i}/config.toml"))))
        .collect();
    // Keys are random: a pool member may sit on no committee. Such a process says so and
    // stops; the others run the world.
    let seated = |i: usize| seats.iter().any(|s| s.contains(&i));
    for (i, p) in processes
        .iter_mut()
        .enumerate()
        .filter(|(i, _)| !seated(*i))
    {
        let status = p.child.wait().unwrap();
        assert!(!status.success(), "validator {i} has no seat but ran");
        let log = std::fs::read_to_string(p.config.with_file_name("node.log")).unwrap();
        assert!(log.contains("holds no seat"), "{log}");
    }

    let start = Instant::now();
    let crossed = |p: &[Process]| {
        zones.iter().zip(&seats).all(|(&zone, seats)| {
            seats
                .iter()
                .all(|&i| p[i].counter("handoff_entries", zone) >= 1)
        })
    };
    loop {
        let heights: Vec<Vec<u64>> = zones
            .iter()
            .zip(&seats)
            .map(|(&z, seats)| {
                seats
                    .iter()
                    .map(|&i| height(&zone_log(&dir, i, z)))
                    .collect()
            })
            .collect();
        let ready = heights.iter().flatten().all(|&h| h >= 60);
        if ready && crossed(&processes) {
            break;
        }
        if start.elapsed() > Duration::from_secs(150) {
            let tails: Vec<String> = processes.iter().map(Process::log_tail).collect();
            panic!(
                "heights by zone and seat {heights:?}; entries by zone {:?}\n{}",
                zones
                    .iter()
                    .map(|&z| (0..4)
                        .map(|i| processes[i].counter("handoff_entries", z))
                        .collect::<Vec<_>>())
                    .collect::<Vec<_>>(),
                tails.join("\n----\n")
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    // A validator seated on both zones serves both on one endpoint; one seated on one zone
    // has no replica of the other.
    for (i, p) in processes.iter().enumerate().filter(|(i, _)| seated(*i)) {
        let health = p.http("/health");
        assert!(
            health.starts_with("HTTP/1.1 200"),
            "validator {i}: {health}"
        );
        let listed = p.http("/api/zones");
        for (&zone, seats) in zones.iter().zip(&seats) {
            let has = listed.contains(&format!("\"{}\":", zone.number()));
            assert_eq!(
                has,
                seats.contains(&i),
                "validator {i}, zone {zone}: {listed}"
            );
            assert_eq!(
                zone_log(&dir, i, zone).exists(),
                seats.contains(&i),
                "validator {i}, zone {zone}"
            );
        }
    }
    // A player in a window walks east across the border; the game follows its body.
    let west = zones.iter().position(|z| z.number() == 0).unwrap();
    let edge = WorldSeat::load(&processes[seats[west][0]].config)
        .unwrap()
        .config
        .player_listen;
    if let Some(stdout) = walk_a_window_east(&dir, edge) {
        assert!(stdout.contains("world: playing in zone 0 "), "{stdout}");
        let followed: u64 = field(&stdout, "zones: followed the body ", ' ').unwrap_or(0);
        assert!(followed >= 1, "the game never followed its body: {stdout}");
        let x: f64 = field(&stdout, "session: position ", ',')
            .unwrap_or_else(|| panic!("no position: {stdout}"));
        assert!(x > 0.0, "the body is not east of the border: {stdout}");
        // It arrived where the prediction had it: not sent back, not respawned.
        let arrival: f64 = field(&stdout, "worst correction on arrival ", ' ').unwrap_or(f64::MAX);
        assert!(arrival < 100.0, "{stdout}");
        let east = zones.iter().map(|z| z.number()).find(|&n| n != 0).unwrap();
        come_back_through_the_west(&dir, edge, east);
    }
    drop(processes);
    for (&zone, seats) in zones.iter().zip(&seats) {
        let logs: Vec<PathBuf> = seats.iter().map(|&i| zone_log(&dir, i, zone)).collect();
        assert_one_chain(&logs);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The value the player printed after `label`, up to `end`.
fn field<T: std::str::FromStr>(out: &str, label: &str, end: char) -> Option<T> {
    out.split(label).nth(1)?.split(end).next()?.parse().ok()
}

/// The walker comes back through the west zone's edge: its key remembers the zone its body
/// was left in (`east`), and the session starts there with that body, east of the border,
/// instead of searching near the west and joining a second one.
fn come_back_through_the_west(dir: &Path, edge: std::net::SocketAddr, east: u32) {
    let key = dir.join("walker.key");
    let remembered = std::fs::read_to_string(dir.join("walker.key.zone")).unwrap();
    assert!(
        remembered.ends_with(&format!(" zone {east}\n")),
        "{remembered}"
    );
    let again = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["client", "--headless", "--frames", "60", "--connect"])
        .arg(edge.to_string())
        .arg("--genesis")
        .arg(dir.join("world.toml"))
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        out.contains(&format!("world: playing in zone {east} ")),
        "{out}"
    );
    let x: f64 = field(&out, "session: position ", ',').unwrap_or_else(|| panic!("no body: {out}"));
    assert!(x > 0.0, "not the body east of the border: {out}");
}

/// Plays `z3r0 client` in a window (under Xvfb, through real X input) on the world's edge
/// `edge`, running east (strafing right, jumping over what is in the way) for 32 seconds;
/// its output, or `None` where Xvfb or xdotool is missing and this is not CI.
fn walk_a_window_east(dir: &Path, edge: std::net::SocketAddr) -> Option<String> {
    if !common::x_input_available("WINDOWED WORLD CLIENT") {
        return None;
    }
    // A fixed key: the same spawn column every run.
    let key = dir.join("walker.key");
    let player = commonware_cryptography::ed25519::PrivateKey::from_seed(5);
    z3r0_genesis::write_key(&key, &player).unwrap();
    let script = r#"
        "$Z3R0" client --size 320x180 --connect "$ADDR" --genesis "$WORLD" --key "$KEY" &
        client=$!
        window=$(timeout 60 xdotool search --sync --name Z3R0 | head -1)
        xdotool windowfocus --sync "$window"
        sleep 4
        xdotool keydown shift d
        for i in $(seq 1 64); do xdotool key space; sleep 0.5; done
        xdotool keyup d shift; sleep 1
        xdotool key Escape
        wait $client
    "#;
    let addr = edge.to_string();
    let stdout = common::run_in_xvfb(
        script,
        &[
            ("ADDR", addr.as_ref()),
            ("WORLD", dir.join("world.toml").as_os_str()),
            ("KEY", key.as_os_str()),
        ],
    );
    eprintln!("the windowed player:\n{stdout}");
    Some(stdout)
}
