//! A game follows its zone's content: the publisher uploads a pack with a new block to the edge
//! and publishes its manifest on chain; a connected game, without reconnecting, learns the
//! proven record, fetches the manifest and its files ahead of the activation tick (checked
//! against their hashes), and switches its block rules at that tick.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../net/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use z3r0_client::Game;
use z3r0_content::{Manifest, Pack};
use z3r0_net::{AssetCache, AssetStore, ClientConfig, ClientEvent, EdgeClient, EdgeConfig};
use z3r0_sim::Action;
use z3r0_sim::content::ContentPart;

const LAMP: u16 = 11;

fn temp(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("z3r0-client-content-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The default pack, its files, and the same content with a lamp (id 11, glass's faces).
fn lamp_pack() -> (Manifest, Vec<Vec<u8>>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/default");
    let pack = Pack::load(&dir).unwrap();
    let files = pack.hashes.keys().map(|n| pack.read(n).unwrap()).collect();
    let mut m = pack.manifest();
    m.version += 1;
    let mut lamp = m.block(z3r0_voxel::blocks::GLASS).unwrap().clone();
    lamp.id = LAMP;
    lamp.name = "lamp".into();
    lamp.opacity = z3r0_content::Opacity::Opaque;
    lamp.light = 15;
    lamp.drops = None;
    m.blocks.push(lamp);
    (m, files)
}

fn config(zone: &common::LocalZone, edge: &z3r0_net::Edge) -> ClientConfig {
    ClientConfig::new(
        edge.local_addr().unwrap(),
        common::CHAIN,
        vec![zone.validator()],
    )
}

/// Puts a session on the local zone's clock: its ticks start when the zone was created, not at
/// a genesis time.
fn on_zone_clock(edge: &mut EdgeClient) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let start = edge.start_tick * common::TICK_MS;
    edge.set_genesis_ms(now - start);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_game_switches_to_published_content_at_its_tick_without_reconnecting() {
    let zone = common::LocalZone::new(61);
    let edge = zone.serve(EdgeConfig::new(common::loopback()));
    let store = temp("store");
    edge.serve_assets(AssetStore::with_uploader(
        &store,
        common::publisher(),
        64 << 20,
    ));
    let _ticker = zone.run();

    let mut game = Game::connect(&config(&zone, &edge), PrivateKey::from_seed(62))
        .await
        .unwrap();
    on_zone_clock(game.edge_mut());
    game.set_asset_cache(Some(AssetCache::open(temp("cache")).unwrap()));
    assert!(!game.content().rules().is_defined(LAMP));

    // The publisher uploads the files and the manifest, then publishes it 40 ticks ahead.
    let (manifest, files) = lamp_pack();
    let bytes = manifest.encode();
    let mut publisher = EdgeClient::connect(
        &config(&zone, &edge),
        PrivateKey::from_seed(common::PUBLISHER_SEED),
    )
    .await
    .unwrap();
    on_zone_clock(&mut publisher);
    for file in files.iter().chain([&bytes]) {
        z3r0_net::assets::put_asset(publisher.connection(), file)
            .await
            .unwrap();
    }
    let at = publisher.chain_tick() + 40;
    // Four a block, as the mempool takes them.
    for parts in ContentPart::split(&bytes, at).unwrap().chunks(4) {
        for part in parts {
            let payload = Action::PublishContent(part.clone()).encode_to_vec();
            publisher
                .send_action(publisher.chain_tick(), payload)
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(common::TICK_MS)).await;
    }

    // The game learns of it, loads it ahead of the tick, and switches at the tick.
    let deadline = Instant::now() + Duration::from_secs(20);
    let initial = game.content().version();
    let mut switched_at = None;
    while switched_at.is_none() {
        if Instant::now() > deadline {
            let (active, scheduled) = {
                let s = zone.state.lock().unwrap();
                let (a, b) = s.sim.published_content();
                (a.copied(), b.copied())
            };
            panic!(
                "the game never switched: chain {active:?} {scheduled:?}, game at tick {}",
                game.chain_tick()
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        game.poll().await.unwrap();
        while let Ok(Some(event)) = publisher.try_next_event().await {
            if let ClientEvent::Included(i) = event {
                assert_eq!(i.rejections, vec![], "the publication was refused");
            }
        }
        if game.content().version() != initial {
            switched_at = Some(game.chain_tick());
        }
    }
    let active = game.content().active().unwrap();
    assert_eq!(active.hash, manifest.hash());
    assert_eq!(active.manifest, manifest);
    assert!(game.content().rules().is_defined(LAMP));
    assert_eq!(active.files.len(), manifest.files().len());
    let switched_at = switched_at.unwrap();
    assert!(
        switched_at >= at,
        "not before its tick: {switched_at} < {at}"
    );
    // Loaded ahead: in force within a couple of ticks of the chain reaching it.
    assert!(
        switched_at <= at + 2,
        "switched at {switched_at}, the tick was {at}"
    );
}
