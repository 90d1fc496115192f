#![allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use super::*;
use commonware_cryptography::ed25519::PrivateKey;

fn member(seed: u64, weight: u64) -> PoolEntry {
    let key = PrivateKey::from_seed(seed);
    let port = 20_000 + seed as u16;
    PoolEntry {
        public_key: crate::to_hex(&key.public_key().encode()),
        weight,
        p2p: SocketAddr::from(([127, 0, 0, 1], port)),
        players: None,
    }
}

fn world(zones: [u16; 2], committee: usize, pool: Vec<PoolEntry>) -> WorldGenesis {
    WorldGenesis::new(zones, committee, pool)
}

/// A generated world of `validators`, three a committee, ports from `base_port`.
fn spec(validators: usize, base_port: u16, zones: [u16; 2], seed: u64) -> WorldSpec {
    let mut spec = WorldSpec::new(validators, base_port, zones, 3);
    spec.world_seed = seed;
    spec
}

fn pool(seeds: std::ops::Range<u64>) -> Vec<PoolEntry> {
    seeds.map(|s| member(s, 1)).collect()
}

/// Committees of every zone, by key, so worlds with different pools compare.
fn seats(w: &WorldGenesis) -> Vec<BTreeSet<String>> {
    w.zone_ids()
        .map(|zone| {
            w.committee(zone)
                .unwrap()
                .into_iter()
                .map(|i| w.pool[i].public_key.clone())
                .collect()
        })
        .collect()
}

#[test]
fn the_binary_logarithm_is_exact_on_powers_of_two_and_close_between() {
    for k in 0..64 {
        assert_eq!(log2_fixed(1 << k), k << 32);
    }
    let approx = |x: u64| log2_fixed(x) as f64 / (1u64 << 32) as f64;
    for x in [3u64, 5, 1_000, 123_456_789, u64::MAX] {
        let err = (approx(x) - (x as f64).log2()).abs();
        assert!(err < 1e-8, "log2({x}): off by {err}");
    }
}

#[test]
fn golden_world_id_and_committees() {
    // A test vector: changing the world id's encoding or the committee score changes which
    // validators sign every zone of every world.
    let w = world([2, 2], 3, pool(1..9));
    w.validate().unwrap();
    assert_eq!(
        crate::to_hex(&w.world_id().0),
        "57c8ccae07f563162c61c22b83d2445528639607fad27270165eb9ac887f1c60"
    );
    let committees: Vec<Vec<usize>> = w.zone_ids().map(|z| w.committee(z).unwrap()).collect();
    // Zones (0, 0), (0, 1), (1, 0), (1, 1).
    assert_eq!(
        committees,
        [[1, 4, 6], [0, 1, 4], [4, 6, 7], [3, 4, 7]].map(Vec::from)
    );
}

#[test]
fn a_joining_validator_moves_only_the_seats_it_wins() {
    let before = world([8, 8], 4, pool(1..21));
    let mut after = before.clone();
    after.pool.push(member(99, 1));
    let newcomer = after.pool[20].public_key.clone();
    let (old, new) = (seats(&before), seats(&after));
    let mut won = 0;
    for (old, new) in old.iter().zip(&new) {
        if old != new {
            // The newcomer took one seat; everyone else kept theirs but one.
            assert!(new.contains(&newcomer));
            assert_eq!(old.intersection(new).count(), 3);
            won += 1;
        }
    }
    // About 64 × 4 / 21 ≈ 12 seats; the bound only says it won some and not all.
    assert!((4..=24).contains(&won), "{won} seats won");
}

#[test]
fn a_leaving_validator_moves_only_the_seats_it_held() {
    let before = world([8, 8], 4, pool(1..21));
    let leaving = before.pool[7].public_key.clone();
    let mut after = before.clone();
    after.pool.remove(7);
    for (old, new) in seats(&before).iter().zip(&seats(&after)) {
        if old.contains(&leaving) {
            assert_eq!(old.intersection(new).count(), 3);
            assert!(!new.contains(&leaving));
        } else {
            assert_eq!(old, new);
        }
    }
}

#[test]
fn seats_follow_weight() {
    // One seat per zone over 4,096 zones: a member of weight 4 wins about four times the seats
    // of one of weight 1.
    let mut members = pool(1..9);
    members[0].weight = 4;
    let w = world([64, 64], 1, members);
    let mut wins = [0usize; 8];
    for zone in w.zone_ids() {
        wins[w.committee(zone).unwrap()[0]] += 1;
    }
    let total: usize = wins.iter().sum();
    assert_eq!(total, 4_096);
    // Expected 4/11 and 1/11 of 4,096: 1,489 and 372.
    assert!((1_350..=1_630).contains(&wins[0]), "{wins:?}");
    for &w in &wins[1..] {
        assert!((300..=450).contains(&w), "{wins:?}");
    }
}

#[test]
fn zones_tile_the_world_without_gaps_or_overlaps() {
    let w = world([3, 2], 1, pool(1..2));
    w.validate().unwrap();
    let (x0, _) = w.zone_columns(ZoneId { x: 0, z: 0 }).unwrap();
    let (x2, z1) = w.zone_columns(ZoneId { x: 2, z: 1 }).unwrap();
    let (_, z0) = w.zone_columns(ZoneId { x: 0, z: 0 }).unwrap();
    for x in x0[0] - 2..x2[1] + 2 {
        for z in z0[0] - 2..z1[1] + 2 {
            let owner = w.zone_of_column(x, z);
            let holders: Vec<ZoneId> = w
                .zone_ids()
                .filter(|&zone| {
                    let (xs, zs) = w.zone_columns(zone).unwrap();
                    (xs[0]..xs[1]).contains(&x) && (zs[0]..zs[1]).contains(&z)
                })
                .collect();
            assert!(holders.len() <= 1, "({x}, {z}) in {holders:?}");
            assert_eq!(owner, holders.first().copied(), "({x}, {z})");
        }
    }
    // The default single zone sits where a one-zone world always was.
    let one = world([1, 1], 1, pool(1..2));
    let defaults = SimConfig::default();
    let (xs, zs) = one.zone_columns(ZoneId { x: 0, z: 0 }).unwrap();
    assert_eq!((xs[0], xs[1]), defaults.chunks_x);
    assert_eq!((zs[0], zs[1]), defaults.chunks_z);
}

#[test]
fn each_zone_genesis_is_a_chain_of_its_own_in_its_world() {
    let w = world([2, 2], 3, pool(1..9));
    let single = {
        let mut g = w.zone_genesis(ZoneId { x: 0, z: 0 }).unwrap();
        g.world = None;
        g
    };
    let mut ids = BTreeSet::new();
    for zone in w.zone_ids() {
        let g = w.zone_genesis(zone).unwrap();
        g.validate().unwrap();
        assert_eq!(g.zone, zone.number());
        assert_eq!(ZoneId::from_number(g.zone), zone);
        assert_eq!(g.validators.len(), 3);
        // One seed and one set of layers: terrain runs on across borders.
        assert_eq!(g.world_seed, w.world_seed);
        assert_eq!(g.chunks_y, w.chunks_y);
        assert!(ids.insert(g.chain_id()));
    }
    assert!(!ids.contains(&single.chain_id()));
    // One world id has one spelling: upper case would name a second chain of the same world.
    let mut shouted = w.zone_genesis(ZoneId { x: 0, z: 0 }).unwrap();
    shouted.world = shouted.world.map(|id| id.to_uppercase());
    assert!(shouted.validate().unwrap_err().contains("lowercase hex"));
    // Another world of the same shape (one weight differs) has other chain ids.
    let mut other = w.clone();
    other.pool[0].weight = 2;
    assert_ne!(other.world_id(), w.world_id());
    let zone = ZoneId { x: 1, z: 0 };
    assert_ne!(
        other.zone_genesis(zone).unwrap().chain_id(),
        w.zone_genesis(zone).unwrap().chain_id()
    );
    assert_eq!(
        w.zone_genesis(ZoneId { x: 2, z: 0 }),
        Err(WorldError::NoSuchZone(ZoneId { x: 2, z: 0 }))
    );
}

#[test]
fn a_bad_world_is_refused_with_its_reason() {
    let good = world([2, 2], 3, pool(1..9));
    good.validate().unwrap();
    let refused = |edit: &dyn Fn(&mut WorldGenesis)| {
        let mut w = good.clone();
        edit(&mut w);
        w.validate().unwrap_err()
    };
    assert_eq!(refused(&|w| w.zones = [0, 2]), WorldError::Grid([0, 2]));
    assert_eq!(
        refused(&|w| w.zone_chunks = [4, 0]),
        WorldError::ZoneChunks([4, 0])
    );
    assert!(matches!(
        refused(&|w| w.origin = [MAX_CHUNK_COORD - 1, 0]),
        WorldError::TooFar(_)
    ));
    assert!(matches!(
        refused(&|w| w.pool[3].weight = 0),
        WorldError::Member { index: 3, .. }
    ));
    assert!(matches!(
        refused(&|w| w.pool[1].public_key = "zz".into()),
        WorldError::Member { index: 1, .. }
    ));
    assert_eq!(
        refused(&|w| w.pool[2].public_key = w.pool[0].public_key.clone()),
        WorldError::DuplicateKey
    );
    assert_eq!(
        refused(&|w| w.pool[2].p2p = w.pool[0].p2p),
        WorldError::DuplicateAddress
    );
    assert_eq!(
        refused(&|w| w.committee_size = 9),
        WorldError::CommitteeSize { size: 9, max: 8 }
    );
    assert_eq!(refused(&|w| w.pool.clear()), WorldError::PoolSize(0));
    assert_eq!(refused(&|w| w.tick_ms = 5), WorldError::TickMs(5));
    assert!(matches!(
        refused(&|w| w.zone_chunks = [200, 200]),
        WorldError::Zone(_)
    ));
}

#[test]
fn a_games_world_gives_every_zone_its_content_and_plugins() {
    let engine = world([2, 2], 3, pool(1..9));
    let mut game = engine.clone();
    game.content = Some("ab".repeat(32));
    game.plugins = vec!["doors@1".into(), "quests@2".into()];
    game.validate().unwrap();
    // The game's parts are the world's rules: other ids, and other chains in every zone.
    assert_ne!(game.layout_id(), engine.layout_id());
    assert_ne!(game.world_id(), engine.world_id());
    for zone in game.zone_ids() {
        let g = game.zone_genesis(zone).unwrap();
        g.validate().unwrap();
        assert_eq!(g.content, game.content);
        assert_eq!(g.plugins, game.plugins);
        assert_eq!(g.content_publisher, None, "a world names no publisher");
        assert_eq!(g.check_plugin_list(&game.plugins), Ok(()));
        assert_ne!(g.chain_id(), engine.zone_genesis(zone).unwrap().chain_id());
    }
    // The order of the plugins is part of the rules (an action names its plugin by place).
    let mut swapped = game.clone();
    swapped.plugins.reverse();
    assert_ne!(swapped.world_id(), game.world_id());
    // Bad parts are refused with the zone genesis's reasons.
    let refused = |edit: &dyn Fn(&mut WorldGenesis)| {
        let mut w = game.clone();
        edit(&mut w);
        w.validate().unwrap_err().to_string()
    };
    let why = refused(&|w| w.content = Some("AB".repeat(32)));
    assert!(why.contains("lowercase hex manifest hash"), "{why}");
    let why = refused(&|w| w.plugins.push("doors@1".into()));
    assert!(why.contains("named twice"), "{why}");
    let why = refused(&|w| w.plugins.push("Doors".into()));
    assert!(why.contains("name@version"), "{why}");
    // Written and read back whole.
    let dir = std::env::temp_dir().join(format!("z3r0-game-world-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("world.toml");
    game.save(&path).unwrap();
    assert_eq!(WorldGenesis::load(&path).unwrap(), game);
    engine.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("content") && !text.contains("plugins"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_world_file_round_trips_and_a_bad_one_names_its_path() {
    let dir = std::env::temp_dir().join(format!("z3r0-world-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("world.toml");
    let w = world([2, 3], 2, pool(1..5));
    w.save(&path).unwrap();
    assert_eq!(WorldGenesis::load(&path).unwrap(), w);
    let mut bad = w.clone();
    bad.committee_size = 0;
    std::fs::write(&path, toml::to_string(&bad).unwrap()).unwrap();
    let err = WorldGenesis::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("world.toml") && err.contains("committee_size 0"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_pool_member_config_loads_its_seats_and_a_stranger_or_wrong_port_is_refused() {
    let dir = std::env::temp_dir().join(format!("z3r0-world-seat-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let w = generate(&dir, &spec(5, 24_000, [2, 2], 1)).unwrap();
    assert!(is_world_config(&dir.join("validator-0/config.toml")).unwrap());
    // Each member loads as itself, and its zones are exactly those whose committee it is on.
    let mut seats = 0;
    for i in 0..5 {
        let seat = WorldSeat::load(&dir.join(format!("validator-{i}/config.toml"))).unwrap();
        assert_eq!(seat.index, i);
        assert_eq!(seat.world, w);
        for zone in seat.zones().unwrap() {
            assert!(w.committee(zone).unwrap().contains(&i));
            seats += 1;
        }
    }
    assert_eq!(seats, 4 * 3, "every seat of every zone is someone's");
    // Another member's key is not this entry's port; a key outside the pool is no one's.
    let config = dir.join("validator-1/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("private.key", "../validator-2/private.key"),
    )
    .unwrap();
    let err = WorldSeat::load(&config).unwrap_err().to_string();
    assert!(err.contains("does not match the pool entry"), "{err}");
    crate::write_key(
        &dir.join("validator-2/private.key"),
        &PrivateKey::from_seed(77),
    )
    .unwrap();
    let err = WorldSeat::load(&dir.join("validator-2/config.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not in the world's pool"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_config_moved_to_other_stores_keeps_everything_else() {
    let dir = std::env::temp_dir().join(format!("z3r0-world-stores-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    generate(&dir, &spec(4, 26_000, [2, 1], 1)).unwrap();
    let config = dir.join("validator-0/config.toml");
    let before = WorldSeat::load(&config).unwrap();
    assert_eq!(before.config.storage_dir, dir.join("validator-0/data"));
    let elsewhere = dir.join("in-memory/validator-0");
    crate::set_storage_dir(&config, &elsewhere).unwrap();
    let after = WorldSeat::load(&config).unwrap();
    assert_eq!(after.config.storage_dir, elsewhere);
    // Replaced whole: no temporary file is left beside it.
    assert!(!dir.join("validator-0/config.toml.new").exists());
    assert_eq!(
        WorldValidatorConfig {
            storage_dir: before.config.storage_dir.clone(),
            ..after.config.clone()
        },
        before.config
    );
    assert_eq!(after.index, before.index);
    // A file that is not a validator config is left alone.
    let world = dir.join("world.toml");
    let text = std::fs::read_to_string(&world).unwrap();
    let err = crate::set_storage_dir(&world, &elsewhere).unwrap_err();
    assert!(err.to_string().contains("not a validator config"), "{err}");
    assert_eq!(std::fs::read_to_string(&world).unwrap(), text);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A generated world seats every validator alike: the devnet's four validators each hold
/// three of the 2 × 2 zones' twelve seats (a random draw does so one time in eleven), and
/// the seed asked for is the world's.
#[test]
fn a_generated_world_spreads_its_seats_evenly() {
    let dir = std::env::temp_dir().join(format!("z3r0-world-even-{}", std::process::id()));
    for round in 0..8 {
        let _ = std::fs::remove_dir_all(&dir);
        let w = generate(&dir, &spec(4, 25_000, [2, 2], 77)).unwrap();
        assert_eq!(w.world_seed, 77);
        assert_eq!(w.seat_spread(), 0, "round {round}: {:?}", seats(&w));
        assert_eq!(WorldGenesis::load(&dir.join("world.toml")).unwrap(), w);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
