//! A player near the border of two zones (each a one-validator zone running the real game and
//! mempool, served over real QUIC on loopback): the game watches the neighbour, shows its
//! chunks and players, and when the body is in the neighbour the session moves there at once,
//! keeping the world and the prediction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../net/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use z3r0_client::{Game, WorldRoutes, ZoneOf};
use z3r0_net::{ClientConfig, EdgeConfig, chunk_of};
use z3r0_sim::{Action, InputFrame};
use z3r0_voxel::ChunkPos;

/// Puts `game` on the local zones' clock (their ticks start when they were created): the
/// newest tick it saw (or the one its edge said at connection) is now.
fn on_zone_clock(game: &mut Game) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let tick = game.edge().newest_snapshot().max(game.edge().start_tick);
    let start = tick * common::TICK_MS;
    game.edge_mut().set_genesis_ms(now - start);
}

fn config(zone: &common::LocalZone, edge: &z3r0_net::Edge) -> ClientConfig {
    let mut c = ClientConfig::new(
        edge.local_addr().unwrap(),
        common::CHAIN,
        vec![zone.validator()],
    );
    c.zone = Some(zone.zone);
    c
}

/// Polls `games` once a tick until `done` holds (or panics after `ticks`), joining any that
/// has not joined and standing still otherwise.
async fn play_until(
    games: &mut [&mut Game],
    ticks: u32,
    what: &str,
    mut done: impl FnMut(&mut [&mut Game]) -> bool,
) {
    for _ in 0..ticks {
        tokio::time::sleep(Duration::from_millis(common::TICK_MS)).await;
        for game in games.iter_mut() {
            game.poll().await.unwrap();
            if game.joined() {
                game.input(InputFrame::default()).unwrap();
            } else {
                game.join().unwrap();
            }
        }
        if done(games) {
            return;
        }
    }
    panic!("{what}: not within {ticks} ticks");
}

/// Two zones side by side, ticking, each with its edge.
struct TwoZones {
    west_config: ClientConfig,
    east_config: ClientConfig,
    _zones: [Arc<common::LocalZone>; 2],
    _edges: [z3r0_net::Edge; 2],
    _ticks: [tokio::task::JoinHandle<()>; 2],
}

impl TwoZones {
    fn new(seed: u64) -> Self {
        let (west, east) = (
            common::LocalZone::new_in(seed, 0),
            common::LocalZone::new_in(seed + 1, 1),
        );
        let (west_edge, east_edge) = (
            west.serve(EdgeConfig::new(common::loopback())),
            east.serve(EdgeConfig::new(common::loopback())),
        );
        Self {
            west_config: config(&west, &west_edge),
            east_config: config(&east, &east_edge),
            _ticks: [west.run(), east.run()],
            _zones: [west, east],
            _edges: [west_edge, east_edge],
        }
    }

    /// A game of `key` joined in the west, in a world whose border runs just east of the
    /// player's chunk column (zone 1 owns everything from there): the game, the chunk it
    /// stands in and the border's column.
    async fn player_near_border(&self, key: &PrivateKey) -> (Game, ChunkPos, i32) {
        let mut game = Game::connect(&self.west_config, key.clone()).await.unwrap();
        on_zone_clock(&mut game);
        play_until(&mut [&mut game], 200, "joined in the west", |g| {
            g[0].joined() && g[0].area_loaded()
        })
        .await;
        let home = chunk_of(game.own().unwrap().pos);
        let border = home.x + 1;
        game.set_world(self.routes(border), 0);
        (game, home, border)
    }

    /// The world's routes, zone 1 owning every chunk column from `border` east.
    fn routes(&self, border: i32) -> WorldRoutes {
        let borders: ZoneOf = Arc::new(move |x, _| Some(u32::from(x >= border)));
        WorldRoutes::from_parts(
            BTreeMap::from([
                (0, vec![self.west_config.clone()]),
                (1, vec![self.east_config.clone()]),
            ]),
            borders,
        )
    }

    /// A game of `key` joined in the east.
    async fn joined_in_east(&self, key: &PrivateKey) -> Game {
        let mut game = Game::connect(&self.east_config, key.clone()).await.unwrap();
        on_zone_clock(&mut game);
        play_until(&mut [&mut game], 200, "a body in the east", |g| {
            g[0].joined()
        })
        .await;
        game
    }

    /// A game of `key` coming (back) to the world through the west's edge, the border at
    /// column 0.
    async fn through_the_west(&self, key: &PrivateKey) -> Game {
        let mut game = Game::connect(&self.west_config, key.clone()).await.unwrap();
        on_zone_clock(&mut game);
        game.set_world(self.routes(0), 0);
        game
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_a_border_the_neighbour_is_watched_and_the_session_moves_there() {
    let zones = TwoZones::new(41);
    let east_config = zones.east_config.clone();
    let key = PrivateKey::from_seed(4_100);
    let (mut game, home, border) = zones.player_near_border(&key).await;
    let entered = Arc::new(std::sync::Mutex::new(Vec::new()));
    let told = entered.clone();
    game.on_zone_entered(move |zone| told.lock().unwrap().push(zone));
    // What the west sent of the east's columns before it knew the border goes: the east's
    // chunks can only come from the east's own edge now.
    let eastern: Vec<ChunkPos> = game
        .world()
        .chunks()
        .map(|(p, _)| p)
        .filter(|p| p.x >= border)
        .collect();
    assert!(!eastern.is_empty(), "the west streamed around the player");
    for p in &eastern {
        game.world_mut().remove_chunk(*p).unwrap();
    }

    // Someone plays in the east.
    let mut other = Game::connect(&east_config, PrivateKey::from_seed(4_200))
        .await
        .unwrap();
    on_zone_clock(&mut other);
    let beside = ChunkPos::new(border, home.y, home.z);
    play_until(&mut [&mut game, &mut other], 300, "the east watched", |g| {
        let now = g[0].remote().newest().unwrap_or(0) as f64;
        g[0].watched_zones() == [1]
            && g[0].world().contains_chunk(beside)
            && g[1].joined()
            && !g[0].neighbours_at(now).is_empty()
    })
    .await;
    assert_eq!(game.edge().zone, 0, "still playing in the west");
    assert!(
        game.world().chunks().any(|(p, _)| p.x < border),
        "the west's own chunks stay"
    );
    let now = game.remote().newest().unwrap() as f64;
    assert!(
        game.neighbours_at(now).iter().all(|(zone, _)| *zone == 1),
        "the east's players, as the east's"
    );
    assert_eq!(game.stats().zone_switches, 0);
    assert!(
        game.stats().foreign_chunks > 0,
        "the east's edge streams the west's columns too (these zones hold the same ones); \
         they are not shown"
    );

    // The body leaves the west and turns up in the east (a second session of the same key joins
    // there, as a handoff would bring it): the game moves its session to the watch at once.
    game.act(&Action::Leave).unwrap();
    let mut arrival = Game::connect(&east_config, key.clone()).await.unwrap();
    on_zone_clock(&mut arrival);
    play_until(
        &mut [&mut game, &mut arrival],
        200,
        "the session moved east",
        |g| g[0].edge().zone == 1,
    )
    .await;
    on_zone_clock(&mut game);
    let stats = game.stats();
    assert_eq!((stats.zone_switches, stats.seamless_switches), (1, 1));
    assert_eq!(
        *entered.lock().unwrap(),
        [1],
        "the player binary is told where the body is"
    );
    assert!(
        game.world().contains_chunk(home),
        "the world the player stood in was kept, not streamed again"
    );
    assert!(
        game.predicted().is_some(),
        "prediction goes on while the body is in transit"
    );
    assert_eq!(game.watched_zones(), [0], "the west is watched now");
    play_until(&mut [&mut game], 100, "the body in the east", |g| {
        g[0].joined()
    })
    .await;
    assert_eq!(game.edge().zone, 1);
    assert_eq!(game.stats().zone_switches, 1, "no switch back");
}

/// A key with a body in each zone (a player that joined again where its edge took it) must
/// not make the game jump between them: found by the first version of the test above, whose
/// two bodies moved the session back and forth every tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_body_next_door_does_not_pull_the_session_over() {
    let zones = TwoZones::new(43);
    let key = PrivateKey::from_seed(4_300);
    let (mut game, _, _) = zones.player_near_border(&key).await;
    let mut second = Game::connect(&zones.east_config, key.clone())
        .await
        .unwrap();
    on_zone_clock(&mut second);
    play_until(&mut [&mut game, &mut second], 200, "both bodies", |g| {
        g[0].watched_zones() == [1] && g[1].joined()
    })
    .await;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(common::TICK_MS)).await;
        game.poll().await.unwrap();
        second.poll().await.unwrap();
    }
    assert_eq!(game.edge().zone, 0, "the session stays with its body");
    assert_eq!(game.stats().zone_switches, 0);
    assert!(game.joined());
}

/// A player coming back through an edge of another zone than the one its body is in: the
/// game finds the body before it joins, and plays it there, rather than making a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_player_finds_its_body_in_another_zone_and_joins_no_second() {
    let zones = TwoZones::new(45);
    let key = PrivateKey::from_seed(4_500);
    // The body is in the east (a session of the key joined there and went on playing).
    let mut there = zones.joined_in_east(&key).await;
    // The player comes back through the west's edge.
    let mut game = zones.through_the_west(&key).await;
    play_until(
        &mut [&mut game, &mut there],
        200,
        "playing the body in the east",
        |g| g[0].edge().zone == 1 && g[0].joined(),
    )
    .await;
    // A join sent to the west would be in a block by now.
    tokio::time::sleep(Duration::from_millis(10 * common::TICK_MS)).await;
    let west = zones._zones[0].state.lock().unwrap();
    let account: [u8; 32] = key.public_key().as_ref().try_into().unwrap();
    assert!(
        west.sim.player(&account).is_none(),
        "no second body in the west"
    );
}

/// A neighbour's edge that claims a body the player has not got there (it names another
/// account, whose body is there, to the player's key) does not pull a returning player over:
/// the body's presence is not proven to the player's key, and it joins where it connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_neighbour_edge_cannot_claim_a_returning_players_body() {
    let zones = TwoZones::new(47);
    let other = PrivateKey::from_seed(4_700);
    let mut there = zones.joined_in_east(&other).await;
    let other_account: [u8; 32] = other.public_key().as_ref().try_into().unwrap();
    *zones._zones[1].lie_account.lock().unwrap() = Some(other_account);

    // A player with no body anywhere comes in through the west.
    let mut game = zones.through_the_west(&PrivateKey::from_seed(4_701)).await;
    play_until(
        &mut [&mut game, &mut there],
        300,
        "joined in the west",
        |g| g[0].edge().zone == 0 && g[0].joined(),
    )
    .await;
    assert_eq!(game.stats().zone_switches, 0, "pulled over by a claim");
}

/// A neighbour's edge that replays a genuine proof from before the body left that zone (its
/// old certified header, inventory proof and snapshots) does not pull a returning player
/// over: the proof is older than the world's clock allows, and the player joins where it
/// connected. Before sightings had an age limit the session moved to the replaying edge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_neighbour_edge_replaying_an_old_proof_cannot_claim_a_body_that_left() {
    let zones = TwoZones::new(49);
    let key = PrivateKey::from_seed(4_900);
    let account: [u8; 32] = key.public_key().as_ref().try_into().unwrap();
    let mut there = zones.joined_in_east(&key).await;
    let east = &zones._zones[1];
    east.replay(&account);
    while east
        .replay
        .lock()
        .unwrap()
        .as_ref()
        .unwrap()
        .update
        .is_none()
    {
        tokio::time::sleep(Duration::from_millis(common::TICK_MS)).await;
    }
    // The body leaves the east; its edge goes on showing it, with the proof from before.
    there.act(&Action::Leave).unwrap();
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(common::TICK_MS)).await;
        there.poll().await.unwrap();
    }
    assert!(
        east.state.lock().unwrap().sim.player(&account).is_none(),
        "the body left the east"
    );
    drop(there);

    let mut game = zones.through_the_west(&key).await;
    play_until(&mut [&mut game], 300, "joined in the west", |g| {
        g[0].edge().zone == 0 && g[0].joined()
    })
    .await;
    assert_eq!(game.stats().zone_switches, 0, "pulled over by an old proof");
}

/// Zones 0 to `count - 1` in a row (zone `n` is `n` zones from zone 0), ticking, each with its
/// edge; every column belongs to the last one.
struct Row {
    configs: Vec<ClientConfig>,
    zones: Vec<Arc<common::LocalZone>>,
    _edges: Vec<z3r0_net::Edge>,
    _ticks: Vec<tokio::task::JoinHandle<()>>,
}

impl Row {
    fn new(seed: u64, count: u32) -> Self {
        let zones: Vec<_> = (0..count)
            .map(|n| common::LocalZone::new_in(seed + u64::from(n), n))
            .collect();
        let edges: Vec<_> = zones
            .iter()
            .map(|z| z.serve(EdgeConfig::new(common::loopback())))
            .collect();
        Self {
            configs: zones
                .iter()
                .zip(&edges)
                .map(|(z, e)| config(z, e))
                .collect(),
            _ticks: zones.iter().map(|z| z.run()).collect(),
            zones,
            _edges: edges,
        }
    }

    /// Asserts `account` has a body in no zone but `home`, once a join sent to another would
    /// be in a block.
    async fn assert_one_body(&self, account: &[u8; 32], home: usize) {
        tokio::time::sleep(Duration::from_millis(10 * common::TICK_MS)).await;
        for (n, zone) in self.zones.iter().enumerate().filter(|&(n, _)| n != home) {
            let state = zone.state.lock().unwrap();
            assert!(
                state.sim.player(account).is_none(),
                "a second body in zone {n}"
            );
        }
    }

    fn routes(&self) -> WorldRoutes {
        let last = self.configs.len() as u32 - 1;
        WorldRoutes::from_parts(
            (0..=last)
                .map(|n| (n, vec![self.configs[n as usize].clone()]))
                .collect(),
            Arc::new(move |_, _| Some(last)),
        )
    }
}

/// A player coming back through the edge of a zone farther from its body than a round of
/// watches reaches (the body is in the tenth zone of a row, entered by the first): the search
/// goes on, round after round, and finds it rather than making a second body. Before the
/// search had rounds it asked the eight nearest zones only, and the player joined again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_player_finds_its_body_beyond_the_nearest_zones() {
    let row = Row::new(5_100, 10);
    let key = PrivateKey::from_seed(5_199);
    let far = row.configs.len() - 1;
    let mut there = Game::connect(&row.configs[far], key.clone()).await.unwrap();
    on_zone_clock(&mut there);
    play_until(&mut [&mut there], 200, "a body in the farthest zone", |g| {
        g[0].joined()
    })
    .await;
    let mut game = Game::connect(&row.configs[0], key.clone()).await.unwrap();
    on_zone_clock(&mut game);
    game.set_world(row.routes(), 0);
    play_until(
        &mut [&mut game, &mut there],
        300,
        "playing the body in the farthest zone",
        |g| g[0].edge().zone == far as u32 && g[0].joined(),
    )
    .await;
    assert_eq!(
        game.stats().zones_searched,
        9,
        "two rounds: 8 zones, then 1"
    );
    let account: [u8; 32] = key.public_key().as_ref().try_into().unwrap();
    row.assert_one_body(&account, far).await;
}

/// A returning player's body is in a zone whose edge proves it only as of moments ago and no
/// later (its chain or edge stalled): the proof is too old to follow, but the body was there,
/// so the session holds its join and asks that zone again over new sessions, and follows the
/// body once a proof is fresh. Before, the search ended on the old proof and the player
/// joined where it came in: a second body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_proof_of_the_body_holds_the_join_until_a_fresh_one() {
    let row = Row::new(5_700, 3);
    let key = PrivateKey::from_seed(5_799);
    let account: [u8; 32] = key.public_key().as_ref().try_into().unwrap();
    let mut there = Game::connect(&row.configs[2], key.clone()).await.unwrap();
    on_zone_clock(&mut there);
    play_until(&mut [&mut there], 200, "a body in zone 2", |g| {
        g[0].joined()
    })
    .await;
    row.zones[2].replay(&account);
    // Its proof grows older than a sighting may be.
    let stalled = std::time::Instant::now();
    play_until(&mut [&mut there], 200, "zone 2's proof aged", |_| {
        stalled.elapsed() > Duration::from_millis(2_500)
    })
    .await;
    let mut game = Game::connect(&row.configs[0], key.clone()).await.unwrap();
    on_zone_clock(&mut game);
    game.set_world(row.routes(), 0);
    let asked = std::time::Instant::now();
    play_until(
        &mut [&mut game, &mut there],
        300,
        "searched a while",
        |_| asked.elapsed() > Duration::from_secs(6),
    )
    .await;
    assert!(!game.joined(), "joined beside the body in zone 2");
    row.zones[2].live();
    play_until(
        &mut [&mut game, &mut there],
        300,
        "playing the body in zone 2",
        |g| g[0].edge().zone == 2 && g[0].joined(),
    )
    .await;
    row.assert_one_body(&account, 2).await;
}

/// A key made for the session has no body anywhere: it joins where it connected without
/// asking the world's other zones, while a key the world may know asks each of them first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_key_joins_without_searching_the_world() {
    let row = Row::new(5_300, 3);
    let mut games = Vec::new();
    for (seed, new) in [(5_398, true), (5_399, false)] {
        let mut game = Game::connect(&row.configs[0], PrivateKey::from_seed(seed))
            .await
            .unwrap();
        on_zone_clock(&mut game);
        game.set_world(row.routes(), 0);
        if new {
            game.new_player();
        }
        games.push(game);
    }
    let [new, known] = &mut games[..] else {
        unreachable!()
    };
    play_until(&mut [new, known], 300, "both joined in zone 0", |g| {
        g.iter().all(|g| g.joined() && g.edge().zone == 0)
    })
    .await;
    assert_eq!(new.stats().zones_searched, 0, "a new key searches nowhere");
    assert_eq!(known.stats().zones_searched, 2, "the others asked first");
}

/// A body of `key` in zone `real` of `row` and one in zone `stale`, whose edge then replays
/// its proof as of now for ever after; a session of the key comes through zone 0. Returns the
/// session once it plays a body in another zone.
async fn return_past_a_replaying_zone(
    row: &Row,
    key: &PrivateKey,
    real: usize,
    stale: usize,
) -> Game {
    let account: [u8; 32] = key.public_key().as_ref().try_into().unwrap();
    let mut bodies = Vec::new();
    for zone in [real, stale] {
        let mut game = Game::connect(&row.configs[zone], key.clone())
            .await
            .unwrap();
        on_zone_clock(&mut game);
        bodies.push(game);
    }
    let [there, old] = &mut bodies[..] else {
        panic!("two bodies")
    };
    play_until(
        &mut [&mut *there, &mut *old],
        300,
        "a body in each zone",
        |g| g.iter().all(|g| g.joined()),
    )
    .await;
    row.zones[stale].replay(&account);
    let mut game = Game::connect(&row.configs[0], key.clone()).await.unwrap();
    on_zone_clock(&mut game);
    game.set_world(row.routes(), 0);
    play_until(
        &mut [&mut game, there, old],
        300,
        "playing a body elsewhere",
        |g| g[0].edge().zone != 0 && g[0].joined(),
    )
    .await;
    game
}

/// Two zones show a returning player's body, one of them by replaying a proof from moments
/// ago (within the age a sighting may have): the session waits for its round's answers and
/// follows the freshest proof, so the zone replaying the past does not win by answering
/// first or by its number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_player_follows_the_freshest_proof_of_its_body() {
    let row = Row::new(5_400, 3);
    let key = PrivateKey::from_seed(5_499);
    let game = return_past_a_replaying_zone(&row, &key, 2, 1).await;
    assert_eq!(game.edge().zone, 2, "followed the replayed proof");
}

/// A proof a round finds may be moments old (a lying edge replays one from before the body
/// crossed): the session asks that zone's neighbours too before it follows, so the body's
/// real zone answers even when it is one zone beyond the round. Here the round of the eight
/// nearest zones reaches zone 8, whose edge replays its proof, and not zone 9, where the body
/// is proven now; before, the session followed zone 8's proof.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_proof_at_the_end_of_a_round_does_not_hide_the_zone_beyond() {
    let row = Row::new(5_600, 10);
    let key = PrivateKey::from_seed(5_699);
    let game = return_past_a_replaying_zone(&row, &key, 9, 8).await;
    assert_eq!(game.edge().zone, 9, "followed the replayed proof");
    assert_eq!(
        game.stats().zones_searched,
        9,
        "the eight nearest, then the one beside the zone that answered"
    );
}
