//! The doors game on a devnet of its own binary (`doors devnet`): a new chain whose genesis
//! names the doors plugin and the game's pack, validator processes that run them, and the
//! game's players building doors from logs and opening them, on every validator alike; and a player of the game's own (`doors client --headless --bot game`)
//! playing beside them.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A base port with `n` free TCP and UDP ports above it on loopback.
fn free_ports(n: u16) -> u16 {
    let mut base = 24_000 + (std::process::id() % 500) as u16 * 16;
    loop {
        let free = (0..n).all(|i| {
            let addr = ("127.0.0.1", base + i);
            std::net::TcpListener::bind(addr).is_ok() && std::net::UdpSocket::bind(addr).is_ok()
        });
        if free {
            return base;
        }
        base = if base + 16 + n < 32_000 {
            base + 16
        } else {
            20_000
        };
    }
}

fn applied(game: &serde_json::Value, action: &str) -> u64 {
    game["actions_applied"][action].as_u64().unwrap_or(0)
}

#[test]
fn the_doors_game_runs_on_its_own_devnet() {
    let dir = std::env::temp_dir().join(format!("z3r0-doors-devnet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let report: PathBuf = dir.join("report.json");
    let mut devnet = Command::new(env!("CARGO_BIN_EXE_doors"))
        .arg("devnet")
        .args(["--validators", "4", "--bots", "9", "--cheaters", "0"])
        .args(["--duration", "30s", "--dashboard", "127.0.0.1:0", "--fresh"])
        .arg("--base-port")
        .arg(free_ports(12).to_string())
        .arg("--data")
        .arg(dir.join("chain"))
        .arg("--report")
        .arg(&report)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let out = devnet.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            all += &line;
            all += "\n";
            let _ = tx.send(line);
        }
        all
    });
    // Once the chain runs, a player of the game's own joins beside the bots.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut edge = None;
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the devnet's chain runs");
        if let Some(addrs) = line.split("players connect to ").nth(1) {
            edge = addrs.split(' ').next().map(str::to_owned);
        }
        if line.contains("chain finalizing") {
            break;
        }
    }
    // The game's pack, written with the genesis.
    let pack = z3r0_content::Pack::load(&dir.join("chain/pack")).unwrap();
    let content = z3r0_content::hex(&pack.manifest_hash());
    let player = Command::new(env!("CARGO_BIN_EXE_doors"))
        .args(["client", "--headless", "--bot", "game", "--frames", "300"])
        .arg("--connect")
        .arg(edge.unwrap())
        .arg("--genesis")
        .arg(dir.join("chain/genesis.toml"))
        .arg("--key")
        .arg(dir.join("player.key"))
        .output()
        .unwrap();
    let played = String::from_utf8_lossy(&player.stdout);
    println!("{played}");
    assert!(
        player.status.success()
            && played.contains("game actions: ")
            && played.contains(&format!("content in force at the end: {content}")),
        "the game's player:\n{played}\n{}",
        String::from_utf8_lossy(&player.stderr)
    );
    let status = devnet.wait().unwrap();
    let stdout = reader.join().unwrap();
    assert!(
        status.success(),
        "doors devnet failed:\n{stdout}\n{}",
        std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
    );
    let genesis = std::fs::read_to_string(dir.join("chain/genesis.toml")).unwrap();
    assert!(
        genesis.contains("plugins = [\"doors@1\"]"),
        "the genesis names the game's plugin:\n{genesis}"
    );
    assert!(
        genesis.contains(&format!("content = \"{content}\"")),
        "the genesis names the game's pack:\n{genesis}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["state_roots_agree"], true, "{stdout}");
    let game = &report["game"];
    assert_eq!(game["plugins"], serde_json::json!(["doors@1"]));
    assert_eq!(
        game["players"], 3,
        "every third honest player plays the game"
    );
    assert_eq!(game["pack"], content.as_str());
    // The validators ran the plugin (a zone without it refuses its actions), with the pack's
    // door blocks in force.
    assert!(applied(game, "dig a log") >= 1, "{stdout}");
    assert!(applied(game, "build a door") >= 1, "{stdout}");
    assert!(applied(game, "open or close a door") >= 1, "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The same game in a world of two zones: the world genesis names the plugin and the pack,
/// every zone's validators run them, and the game's players build and open doors in
/// whichever zone their bodies walk.
#[test]
fn the_doors_game_runs_in_a_world_of_zones() {
    let dir = std::env::temp_dir().join(format!("z3r0-doors-world-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let report: PathBuf = dir.join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_doors"))
        .arg("devnet")
        .args(["--zones", "2x1", "--validators", "4", "--committee", "3"])
        .args(["--bots", "6", "--cheaters", "0", "--duration", "30s"])
        .args(["--dashboard", "127.0.0.1:0", "--fresh", "--base-port"])
        .arg(free_ports(12).to_string())
        .arg("--data")
        .arg(dir.join("world"))
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "doors devnet in a world failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pack = z3r0_content::Pack::load(&dir.join("world/pack")).unwrap();
    let content = z3r0_content::hex(&pack.manifest_hash());
    let world = std::fs::read_to_string(dir.join("world/world.toml")).unwrap();
    assert!(
        world.contains("plugins = [\"doors@1\"]")
            && world.contains(&format!("content = \"{content}\"")),
        "the world genesis names the game's plugin and pack:\n{world}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    for zone in report["zones"].as_array().unwrap() {
        assert_eq!(zone["state_roots_agree"], true, "{stdout}");
    }
    assert_eq!(report["handoffs"]["bodies_lost"], 0, "{stdout}");
    let game = &report["game"];
    assert_eq!(game["plugins"], serde_json::json!(["doors@1"]));
    assert_eq!(game["pack"], content.as_str());
    assert_eq!(game["players"], 2, "every third player plays the game");
    assert!(applied(game, "dig a log") >= 1, "{stdout}");
    assert!(applied(game, "build a door") >= 1, "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}
