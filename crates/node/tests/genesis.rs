//! Genesis generation, loading, and refusal of bad configurations.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use z3r0_node::{ConfigError, Genesis, ValidatorConfig, generate};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("z3r0-genesis-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn generated_network_loads_back() {
    let dir = tmp("ok");
    let g = generate(&dir, 4, 19_000, 3, 50).unwrap();
    assert_eq!(g.validators.len(), 4);
    assert_eq!(Genesis::load(&dir.join("genesis.toml")).unwrap(), g);
    let keys = g.public_keys().unwrap();
    for i in 0..4 {
        let (cfg, genesis, key) =
            ValidatorConfig::load(&dir.join(format!("validator-{i}/config.toml"))).unwrap();
        assert_eq!(genesis, g);
        use commonware_cryptography::Signer as _;
        assert_eq!(key.public_key(), keys[i]);
        assert_eq!(cfg.p2p_listen.port(), 19_000 + i as u16);
        assert_eq!(cfg.metrics.port(), 19_004 + i as u16);
        assert_eq!(cfg.player_listen.port(), 19_008 + i as u16);
        assert!(cfg.storage_dir.ends_with("data"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&cfg.private_key_file)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o777,
                0o600,
                "private key readable only by its owner"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_genesis_files_are_refused_with_a_reason() {
    let dir = tmp("bad");
    let g = generate(&dir, 2, 19_100, 0, 50).unwrap();
    let path = dir.join("genesis.toml");
    let check = |g: &Genesis| {
        std::fs::write(&path, toml::to_string(g).unwrap()).unwrap();
        match Genesis::load(&path) {
            Err(ConfigError::Invalid { reason, .. }) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    };
    let mut bad = g.clone();
    bad.tick_ms = 5;
    assert!(check(&bad).contains("tick_ms"));
    let mut bad = g.clone();
    bad.validators[1].public_key = bad.validators[0].public_key.clone();
    assert!(check(&bad).contains("twice"));
    let mut bad = g.clone();
    bad.validators[0].public_key = "zz".into();
    assert!(check(&bad).contains("hex"));
    let mut bad = g.clone();
    bad.chunks_y = [3, 3];
    assert!(check(&bad).contains("empty"));
    let mut bad = g.clone();
    bad.validators.clear();
    assert!(check(&bad).contains("validators"));
    std::fs::write(&path, "zone = \"nope\"").unwrap();
    assert!(matches!(
        Genesis::load(&path),
        Err(ConfigError::Parse { .. })
    ));
    // A validator whose key is not in the committee.
    std::fs::write(&path, toml::to_string(&g).unwrap()).unwrap();
    let other = tmp("other");
    generate(&other, 1, 19_200, 0, 50).unwrap();
    std::fs::copy(
        other.join("validator-0/private.key"),
        dir.join("validator-0/private.key"),
    )
    .unwrap();
    match ValidatorConfig::load(&dir.join("validator-0/config.toml")) {
        Err(ConfigError::Invalid { reason, .. }) => assert!(reason.contains("not in the genesis")),
        other => panic!("expected a refusal, got {other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&other).unwrap();
}
