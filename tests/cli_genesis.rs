//! `z3r0 genesis` end to end: writes a loadable network and refuses to overwrite one.

mod common;

use std::process::Command;

#[test]
fn genesis_command_writes_a_network_and_never_overwrites_it() {
    let dir = std::env::temp_dir().join(format!("z3r0-cli-genesis-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_z3r0"))
            .args([
                "genesis",
                "--validators",
                "3",
                "--base-port",
                "21000",
                "--out",
            ])
            .arg(&dir)
            .output()
            .unwrap()
    };
    let out = run();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 validators"), "{stdout}");
    for i in 0..3 {
        let (cfg, genesis, _) =
            z3r0_node::ValidatorConfig::load(&dir.join(format!("validator-{i}/config.toml")))
                .unwrap();
        assert_eq!(genesis.validators.len(), 3);
        assert_eq!(cfg.p2p_listen.port(), 21_000 + i);
    }
    let before = std::fs::read(dir.join("validator-0/private.key")).unwrap();
    let again = run();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
    assert_eq!(
        std::fs::read(dir.join("validator-0/private.key")).unwrap(),
        before
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn genesis_with_zones_writes_a_world_and_prints_its_committees() {
    let dir = std::env::temp_dir().join(format!("z3r0-cli-world-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["genesis", "--validators", "6", "--zones", "2x3"])
        .args(["--committee", "3", "--base-port", "23000", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let world = z3r0_node::genesis::WorldGenesis::load(&dir.join("world.toml")).unwrap();
    assert_eq!(world.zones, [2, 3]);
    assert_eq!(world.pool.len(), 6);
    // Each zone's line names the committee the world genesis draws.
    for zone in world.zone_ids() {
        let seats: Vec<String> = world
            .committee(zone)
            .unwrap()
            .iter()
            .map(|i| format!("validator-{i}"))
            .collect();
        let line = format!("zone {zone}");
        let printed = stdout
            .lines()
            .find(|l| l.contains(&line))
            .unwrap_or_else(|| panic!("no {line:?} in {stdout}"));
        assert!(printed.ends_with(&seats.join(" ")), "{printed}");
    }
    for i in 0..6 {
        assert!(dir.join(format!("validator-{i}/private.key")).exists());
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["genesis", "--zones", "0x2", "--out"])
        .arg(dir.join("other"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a zone count"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_worlds_genesis_takes_a_pack_for_every_zone_and_its_plugins_bind_its_nodes() {
    let dir = std::env::temp_dir().join(format!("z3r0-cli-world-game-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pack = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content/default");
    let out = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["genesis", "--validators", "4", "--zones", "2x1"])
        .args(["--committee", "3", "--base-port", "23200", "--content"])
        .arg(&pack)
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.join("world.toml");
    let world = z3r0_node::genesis::WorldGenesis::load(&path).unwrap();
    let content = world.content.clone().expect("the world names its content");
    assert_eq!(
        content,
        z3r0_content::hex(&z3r0_content::Pack::load(&pack).unwrap().manifest_hash())
    );
    assert!(stdout.contains(&format!("content  {content}")), "{stdout}");
    // The manifest's bytes lie beside the world, where every zone's genesis finds them.
    assert!(dir.join("content").join(&content).exists());
    for zone in world.zone_ids() {
        assert_eq!(
            world.zone_genesis(zone).unwrap().content,
            Some(content.clone())
        );
    }
    // A world naming a plugin this binary does not run: every member refuses to start.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("plugins = [\"doors@1\"]\n{text}")).unwrap();
    refuses_without_doors(&dir.join("validator-0/config.toml"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_node_without_the_plugins_its_genesis_names_refuses_to_start() {
    let dir = std::env::temp_dir().join(format!("z3r0-cli-plugins-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    common::small_network(&dir, 1, 21_100);
    let genesis = dir.join("genesis.toml");
    let text = std::fs::read_to_string(&genesis).unwrap();
    let text = text.replacen("zone = 0\n", "zone = 0\nplugins = [\"doors@1\"]\n", 1);
    assert!(text.contains("plugins"), "{text}");
    std::fs::write(&genesis, text).unwrap();
    refuses_without_doors(&dir.join("validator-0/config.toml"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `z3r0 node` (which runs no plugins) on `config`, whose genesis names the doors plugin: it
/// must refuse to start, naming both lists.
#[allow(clippy::unwrap_used)]
fn refuses_without_doors(config: &std::path::Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["node", "--config"])
        .arg(config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("the genesis names the plugins [\"doors@1\"] but this node runs []"),
        "{stderr}"
    );
}
