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
    // Values the rules compute with are bounded before any rule runs: a far-away zone would
    // overflow the spawn point's voxel coordinates.
    let mut bad = g.clone();
    bad.chunks_y = [i32::MAX - 1, i32::MAX];
    assert!(check(&bad).contains("chunk bound"), "{}", check(&bad));
    let mut bad = g.clone();
    bad.chunks_x = [-(1 << 30), 1 << 30];
    assert!(check(&bad).contains("chunk bound"));
    let mut bad = g.clone();
    bad.timeout_s = 0;
    assert!(check(&bad).contains("timeout_s"));
    let mut bad = g.clone();
    bad.timeout_s = u64::MAX;
    assert!(check(&bad).contains("timeout_s"));
    let mut bad = g.clone();
    bad.movement.gravity_mm_s2 = 0;
    assert!(check(&bad).contains("gravity_mm_s2"), "{}", check(&bad));
    let mut bad = g.clone();
    bad.movement.walk_mm_s = u32::MAX;
    assert!(check(&bad).contains("walk_mm_s"));
    let mut bad = g.clone();
    bad.claim_limit = u32::MAX;
    assert!(check(&bad).contains("claim_limit"));
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

#[test]
fn the_chain_id_commits_to_the_genesis_but_not_to_addresses() {
    let dir = tmp("chain-id");
    let g = generate(&dir, 4, 19_200, 3, 50).unwrap();
    let id = g.chain_id();
    assert_eq!(
        g.sim_config().chain,
        id,
        "the rules sign consents for this chain"
    );
    // Every field that defines the chain changes its id.
    let changed: [fn(&mut Genesis); 10] = [
        |g| g.zone += 1,
        |g| g.tick_ms += 1,
        |g| g.genesis_ms += 1,
        |g| g.world_seed += 1,
        |g| g.chunks_x[1] += 1,
        |g| g.claim_limit += 1,
        |g| g.validators.truncate(3),
        |g| g.content_publisher = None,
        |g| g.content_publisher = Some(g.validators[0].public_key.clone()),
        |g| g.plugins = vec!["doors@1".into()],
    ];
    for change in changed {
        let mut other = g.clone();
        change(&mut other);
        assert_ne!(other.chain_id(), id);
    }
    // A moved validator is the same member; a key written in capitals is the same key; the
    // committee is a set, whatever order the file lists it in.
    let mut moved = g.clone();
    moved.validators[0].p2p.set_port(1);
    moved.validators[1].public_key = moved.validators[1].public_key.to_uppercase();
    moved.validators.reverse();
    assert_eq!(moved.chain_id(), id);
    // A key that is not hex is not a spelling of a hex key.
    let mut signed = g.clone();
    signed.validators[0].public_key.replace_range(0..2, "+a");
    assert_ne!(signed.chain_id(), id);
    assert!(z3r0_node::genesis::from_hex("+a").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_content_publisher_is_a_key_of_its_own_and_must_be_one() {
    use commonware_codec::Encode as _;
    use commonware_cryptography::Signer as _;
    let dir = tmp("publisher");
    let g = generate(&dir, 4, 19_300, 0, 50).unwrap();
    let key = z3r0_node::genesis::read_key(&dir.join(z3r0_node::genesis::PUBLISHER_KEY)).unwrap();
    let public = z3r0_node::genesis::to_hex(&key.public_key().encode());
    assert_eq!(g.content_publisher.as_deref(), Some(public.as_str()));
    // The genesis names its content: the default pack's manifest, or its own, whose bytes
    // lie beside it (`content/<hash>`), checked against the hash when a node loads them.
    let default = z3r0_node::genesis::to_hex(&z3r0_sim::content::DEFAULT_MANIFEST);
    assert_eq!(g.content.as_deref(), Some(default.as_str()));
    let path = dir.join("genesis.toml");
    assert_eq!(g.load_content(&path).unwrap(), None, "the default pack's");
    let mut other = g.clone();
    let bytes = b"the game's manifest".to_vec();
    let hash = z3r0_node::genesis::to_hex(blake3::hash(&bytes).as_bytes());
    other.content = Some(hash.clone());
    assert_eq!(other.validate(), Ok(()));
    let missing = other.load_content(&path).unwrap_err().to_string();
    assert!(missing.contains(&hash), "{missing}");
    let objects = z3r0_node::genesis::content_dir(&path);
    std::fs::create_dir_all(&objects).unwrap();
    std::fs::write(objects.join(&hash), &bytes).unwrap();
    assert_eq!(other.load_content(&path).unwrap(), Some(bytes));
    std::fs::write(objects.join(&hash), b"tampered").unwrap();
    let tampered = other.load_content(&path).unwrap_err().to_string();
    assert!(tampered.contains("does not hash"), "{tampered}");
    // Not read at all when larger than any manifest.
    let huge = std::fs::File::create(objects.join(&hash)).unwrap();
    huge.set_len(z3r0_sim::content::MAX_PUBLISHED_BYTES as u64 + 1)
        .unwrap();
    let huge = other.load_content(&path).unwrap_err().to_string();
    assert!(huge.contains("larger than any content manifest"), "{huge}");
    other.content = Some("zz".repeat(32));
    assert!(other.validate().unwrap_err().contains("content"));
    let mut unnamed = g.clone();
    unnamed.content = None;
    assert_eq!(unnamed.validate(), Ok(()));
    assert_ne!(
        unnamed.chain_id(),
        g.chain_id(),
        "the chain id commits to it"
    );
    assert_eq!(g.sim_config().publisher, g.publisher());
    assert!(g.publisher().is_some());
    for bad in ["zz", "00", &public.to_uppercase()] {
        let mut other = g.clone();
        other.content_publisher = Some(bad.to_string());
        let reason = other.validate().unwrap_err();
        assert!(reason.contains("content_publisher"), "{bad}: {reason}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_genesis_names_the_plugins_a_node_must_run() {
    let dir = tmp("plugins");
    let mut g = generate(&dir, 4, 19_400, 0, 50).unwrap();
    assert_eq!(g.check_plugin_list(&[]), Ok(()));
    // Each plugin by name and version: two builds of one plugin with different rules are
    // told apart.
    g.plugins = vec!["doors@1".into()];
    assert_eq!(g.validate(), Ok(()));
    let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(g.check_plugin_list(&ids(&["doors@1"])), Ok(()));
    let refused = g.check_plugin_list(&[]).unwrap_err();
    assert!(refused.contains("[\"doors@1\"]"), "{refused}");
    assert!(g.check_plugin_list(&ids(&["doors@2"])).is_err());
    assert!(g.check_plugin_list(&ids(&["doors@1", "signs@1"])).is_err());
    for bad in [
        vec!["Doors@1"],
        vec!["doors@1", "doors@1"],
        vec!["doors@1", "doors@2"],
        vec![""],
        vec!["doors"],
        vec!["doors@"],
        vec!["doors@01"],
        vec!["doors@x"],
        vec!["doors@99999999999"],
    ] {
        let mut other = g.clone();
        other.plugins = bad.iter().map(|s| s.to_string()).collect();
        assert!(other.validate().is_err(), "{bad:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
