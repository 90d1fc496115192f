//! `z3r0 content build`: a pack checked and bundled from the command line; `z3r0 content
//! publish`: a pack with a new block published to four validator processes, which all switch
//! to it at its tick.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn content_build_bundles_the_default_pack_and_lists_every_error_of_a_bad_one() {
    let out = std::env::temp_dir().join(format!("z3r0-cli-content-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let pack = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content/default");
    let run = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["content", "build"])
        .arg(&pack)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("pack default v1: 11 blocks, 9 items"),
        "{stdout}"
    );
    let hash = z3r0_content::hex(&z3r0_content::Pack::load(&pack).unwrap().manifest_hash());
    assert!(stdout.contains(&format!("manifest {hash}")), "{stdout}");
    assert!(out.join("pack.toml").exists());

    // A broken pack: both errors, each with its file and field, and no bundle.
    let bad = out.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("pack.toml"),
        "[pack]\nname = \"Bad Name\"\nversion = 0\n",
    )
    .unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["content", "build"])
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    for field in ["pack.name", "pack.version", "block: no block 0"] {
        assert!(
            stderr.contains(&format!("pack.toml: {field}")),
            "{field}: {stderr}"
        );
    }
    assert!(!bad.join("bundle").exists());
    std::fs::remove_dir_all(&out).unwrap();
}

/// A validator process, killed when dropped.
struct Node {
    child: Child,
    http: std::net::SocketAddr,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    fn start(config: &Path) -> Node {
        let (cfg, _, _) = z3r0_node::ValidatorConfig::load(config).unwrap();
        let log = std::fs::File::create(config.with_file_name("node.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_z3r0"))
            .args(["node", "--config"])
            .arg(config)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Node {
            child,
            http: cfg.metrics,
        }
    }

    /// `/api/status` as JSON (`Null` while the node does not answer).
    fn status(&self) -> serde_json::Value {
        use std::io::{Read as _, Write as _};
        let Ok(mut s) = std::net::TcpStream::connect(self.http) else {
            return serde_json::Value::Null;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = write!(
            s,
            "GET /api/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        );
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.split_once("\r\n\r\n")
            .and_then(|(_, body)| serde_json::from_str(body).ok())
            .unwrap_or(serde_json::Value::Null)
    }
}

/// The default pack with one more block: a lamp (id 11), textured like glass.
fn pack_with_a_lamp(dir: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("content/default");
    let to = dir.join("lamp-pack");
    for sub in ["", "textures", "sounds"] {
        std::fs::create_dir_all(to.join(sub)).unwrap();
        for entry in std::fs::read_dir(from.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, to.join(sub).join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    let manifest = std::fs::read_to_string(to.join("pack.toml")).unwrap();
    let manifest = manifest.replacen("version = 1", "version = 2", 1)
        + "\n[[block]]\nid = 11\nname = \"lamp\"\nopacity = \"opaque\"\nsolid = true\n\
           light = 15\ncolor = [250, 220, 120]\n\n[block.textures]\n\
           all = \"textures/glass.png\"\n";
    std::fs::write(to.join("pack.toml"), manifest).unwrap();
    to
}

fn publish(pack: &Path, genesis: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["content", "publish"])
        .arg(pack)
        .arg("--genesis")
        .arg(genesis)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_published_pack_activates_on_every_validator_at_its_tick() {
    let dir = std::env::temp_dir().join(format!("z3r0-cli-publish-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let base = common::free_ports(24_000 + (std::process::id() % 500) as u16 * 12, 12);
    common::small_network(&dir, 4, base);
    let pack = pack_with_a_lamp(&dir);
    let hash = z3r0_content::hex(&z3r0_content::Pack::load(&pack).unwrap().manifest_hash());
    let default = z3r0_content::hex(&z3r0_content::canon::DEFAULT_MANIFEST);
    let nodes: Vec<Node> = (0..4)
        .map(|i| Node::start(&dir.join(format!("validator-{i}/config.toml"))))
        .collect();
    let started = Instant::now();
    while !nodes
        .iter()
        .all(|n| n.status()["height"].as_u64() > Some(3))
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the network did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for n in &nodes {
        assert_eq!(n.status()["content"]["active"], default.as_str());
    }

    // A key that is not the genesis's publisher is told so, and nothing changes.
    let genesis = dir.join("genesis.toml");
    let stranger = dir.join("validator-0/private.key");
    let out = publish(&pack, &genesis, &["--key", stranger.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not the genesis's content publisher"),
        "{stderr}"
    );

    // A player plays through the publication, on another validator's edge than the one the
    // publisher sends through.
    let edge = z3r0_node::Genesis::load(&genesis).unwrap().player_edges()[1];
    let player = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["client", "--headless", "--frames", "300", "--connect"])
        .arg(edge.to_string())
        .arg("--genesis")
        .arg(&genesis)
        .arg("--key")
        .arg(dir.join("player.key"))
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = publish(&pack, &genesis, &["--lead-ms", "500"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("manifest {hash}")), "{stdout}");
    assert!(stdout.contains("active from tick"), "{stdout}");
    assert!(stdout.contains("on 4 of 4 validators"), "{stdout}");
    // Every validator holds every file of the pack, and the manifest the chain published.
    let loaded = z3r0_content::Pack::load(&pack).unwrap();
    for i in 0..4 {
        let assets = dir.join(format!("validator-{i}/data/assets"));
        for (name, file_hash) in &loaded.hashes {
            let held = std::fs::read(assets.join(z3r0_content::hex(file_hash)));
            assert_eq!(
                held.ok(),
                Some(loaded.read(name).unwrap()),
                "validator {i}: {name}"
            );
        }
    }
    let waited = Instant::now();
    while !nodes
        .iter()
        .all(|n| n.status()["content"]["active"] == hash.as_str())
    {
        let seen: Vec<_> = nodes
            .iter()
            .map(|n| n.status()["content"].clone())
            .collect();
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "not every validator switched: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The player switched to the new content without reconnecting, within 2 s of its tick.
    let played = player.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&played.stdout);
    assert!(
        played.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&played.stderr)
    );
    let line = report
        .lines()
        .find(|l| l.contains(&format!("content {hash} in force")))
        .unwrap_or_else(|| panic!("the player never switched: {report}"));
    let lag_ms: u64 = line
        .split(" ms after")
        .next()
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(lag_ms < 2_000, "{line}");
    println!("{line}");
    for i in 0..4 {
        let kept = dir.join(format!("validator-{i}/data/assets/{hash}"));
        let bytes = std::fs::read(&kept).unwrap();
        assert_eq!(
            z3r0_content::Manifest::decode(&bytes).unwrap(),
            loaded.manifest(),
            "validator {i} keeps the manifest its chain published"
        );
    }
    drop(nodes);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_zone_starts_with_content_of_its_own_and_its_players_get_it() {
    let dir = std::env::temp_dir().join(format!("z3r0-cli-genesis-content-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let base = common::free_ports(25_000 + (std::process::id() % 500) as u16 * 8, 4);
    let pack = pack_with_a_lamp(&dir);
    let hash = z3r0_content::hex(&z3r0_content::Pack::load(&pack).unwrap().manifest_hash());
    // A pack that fails its checks: refused with the reason, and no genesis is left behind.
    let bad = dir.join("bad-pack");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("pack.toml"),
        "[pack]\nname = \"Bad Name\"\nversion = 0\n",
    )
    .unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["genesis", "--validators", "1", "--out"])
        .arg(dir.join("refused"))
        .arg("--content")
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("pack.name"),
        "{stderr}"
    );
    assert!(!dir.join("refused/genesis.toml").exists());
    let genesis = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args([
            "genesis",
            "--tick-ms",
            "50",
            "--validators",
            "1",
            "--base-port",
        ])
        .arg(base.to_string())
        .arg("--out")
        .arg(&dir)
        .arg("--content")
        .arg(&pack)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&genesis.stdout);
    assert!(
        genesis.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&genesis.stderr)
    );
    assert!(said.contains(&format!("content  {hash}")), "{said}");
    common::shrink_zone(&dir.join("genesis.toml"));
    let config = dir.join("validator-0/config.toml");
    let (cfg, _, _) = z3r0_node::ValidatorConfig::load(&config).unwrap();
    let node = Node::start(&config);
    let started = Instant::now();
    while node.status()["height"].as_u64() <= Some(3) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the node did not start: {}",
            std::fs::read_to_string(config.with_file_name("node.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // In force from genesis, and its files held where the edge serves them.
    assert_eq!(node.status()["content"]["active"], hash.as_str());
    let loaded = z3r0_content::Pack::load(&pack).unwrap();
    let glass = z3r0_content::hex(&loaded.hashes["textures/glass.png"]);
    assert!(cfg.storage_dir.join("assets").join(&glass).is_file());
    // A player fetches it from the edge and plays by it.
    let player = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["client", "--headless", "--frames", "60", "--connect"])
        .arg(cfg.player_listen.to_string())
        .arg("--genesis")
        .arg(dir.join("genesis.toml"))
        .arg("--key")
        .arg(dir.join("player.key"))
        .output()
        .unwrap();
    let played = String::from_utf8_lossy(&player.stdout);
    assert!(
        played.contains(&format!("content in force at the end: {hash} (12 blocks)")),
        "{played}{}",
        String::from_utf8_lossy(&player.stderr)
    );
    drop(node);
    // A validator given the genesis without its content does not start, and says what is missing.
    std::fs::remove_file(dir.join("content").join(&hash)).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["node", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains(&hash), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
