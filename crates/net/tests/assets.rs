//! Content assets by hash from edges over real quinn on loopback: verified as they arrive,
//! cached by hash, a tampered byte refused and the asset taken from another edge.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{LocalZone, loopback};
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use z3r0_net::{AssetCache, AssetError, AssetStore, ClientConfig, EdgeClient, EdgeConfig};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("z3r0-assets-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Pseudo-random bytes (an asset larger than one bao chunk group many times over).
fn asset(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Stores `bytes` in `dir` under their hash; returns the hash.
fn store(dir: &Path, bytes: &[u8]) -> [u8; 32] {
    let hash = *blake3::hash(bytes).as_bytes();
    std::fs::write(dir.join(z3r0_net::assets::hex_of(&hash)), bytes).unwrap();
    hash
}

/// An edge on `zone` serving assets from `dir`, and a client session on it.
async fn edge_with(zone: &Arc<LocalZone>, dir: &Path, seed: u64) -> (z3r0_net::Edge, EdgeClient) {
    let edge = zone.serve(EdgeConfig::new(loopback()));
    edge.serve_assets(AssetStore::new(dir));
    let config = ClientConfig::new(
        edge.local_addr().unwrap(),
        common::CHAIN,
        vec![zone.validator()],
    );
    let client = EdgeClient::connect(&config, PrivateKey::from_seed(seed))
        .await
        .unwrap();
    (edge, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asset_arrives_verified_and_is_never_fetched_twice() {
    let zone = LocalZone::new(40);
    let _ticker = zone.run();
    let objects = temp("served");
    let bytes = asset(3 << 20, 7);
    let hash = store(&objects, &bytes);
    let (edge, client) = edge_with(&zone, &objects, 400).await;
    let cache = AssetCache::open(temp("cache")).unwrap();
    let edges = [client.connection().clone()];
    let path = cache.get_or_fetch(&hash, &edges).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(edge.stats.assets_served.load(Ordering::Relaxed), 1);
    assert_eq!(edge.stats.asset_bytes.load(Ordering::Relaxed), 3 << 20);
    // Cached: the second ask does not reach the edge.
    assert_eq!(cache.get_or_fetch(&hash, &edges).await.unwrap(), path);
    assert_eq!(edge.stats.assets_served.load(Ordering::Relaxed), 1);
    // An asset the edge lacks is refused by name.
    let missing = [9u8; 32];
    match cache.fetch(&edges[0], &missing).await {
        Err(AssetError::Missing(_)) => {}
        other => panic!("{other:?}"),
    }
    assert!(!cache.contains(&missing));
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_byte_is_refused_and_the_asset_comes_from_another_edge() {
    let zone = LocalZone::new(41);
    let _ticker = zone.run();
    let bytes = asset(1 << 20, 8);
    // The lying edge holds the asset with one byte flipped, under the true hash.
    let lying = temp("lying");
    let hash = *blake3::hash(&bytes).as_bytes();
    let mut tampered = bytes.clone();
    tampered[700_000] ^= 0x40;
    std::fs::write(lying.join(z3r0_net::assets::hex_of(&hash)), &tampered).unwrap();
    let honest = temp("honest");
    store(&honest, &bytes);
    let (liar, liar_client) = edge_with(&zone, &lying, 410).await;
    let (good, good_client) = edge_with(&zone, &honest, 411).await;
    let cache = AssetCache::open(temp("cache2")).unwrap();
    match cache.fetch(liar_client.connection(), &hash).await {
        Err(AssetError::Tampered { .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(!cache.contains(&hash), "a tampered asset reached the cache");
    let edges = [
        liar_client.connection().clone(),
        good_client.connection().clone(),
    ];
    let path = cache.get_or_fetch(&hash, &edges).await.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), bytes);
    assert_eq!(good.stats.assets_served.load(Ordering::Relaxed), 1);
    liar.shutdown().await;
    good.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_cut_short_leaves_nothing_in_the_cache() {
    let zone = LocalZone::new(42);
    let _ticker = zone.run();
    let objects = temp("cut");
    let bytes = asset(16 << 20, 9);
    let hash = store(&objects, &bytes);
    let (edge, client) = edge_with(&zone, &objects, 420).await;
    let cache_dir = temp("cut-cache");
    let cache = AssetCache::open(&cache_dir).unwrap();
    // Dropped a few milliseconds in, mid-stream.
    let cut = tokio::time::timeout(
        std::time::Duration::from_millis(30),
        cache.fetch(client.connection(), &hash),
    )
    .await;
    assert!(cut.is_err(), "the fetch finished before it was cut");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let left: Vec<_> = std::fs::read_dir(&cache_dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    // Two fetches of the same hash at once both end with the whole, checked file.
    let conn = client.connection().clone();
    let (a, b) = tokio::join!(cache.fetch(&conn, &hash), cache.fetch(&conn, &hash));
    assert_eq!(a.unwrap(), b.unwrap());
    assert_eq!(std::fs::read(cache.path(&hash)).unwrap(), bytes);
    let left = std::fs::read_dir(&cache_dir).unwrap().count();
    assert_eq!(left, 1);
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_that_never_ask_hold_no_edge_wide_slot() {
    let zone = LocalZone::new(43);
    let _ticker = zone.run();
    let objects = temp("idle");
    let bytes = asset(100_000, 10);
    let hash = store(&objects, &bytes);
    let (edge, idler) = edge_with(&zone, &objects, 430).await;
    // Two sessions each open their two streams and never send a request.
    let config = ClientConfig::new(
        edge.local_addr().unwrap(),
        common::CHAIN,
        vec![zone.validator()],
    );
    let other = EdgeClient::connect(&config, PrivateKey::from_seed(431))
        .await
        .unwrap();
    let mut held = Vec::new();
    for client in [&idler, &other] {
        for _ in 0..2 {
            let (mut send, recv) = client.connection().open_bi().await.unwrap();
            // A stream reaches the edge with its first byte: send one, never the rest.
            send.write_all(&[z3r0_net::assets::ASSET_REQUEST])
                .await
                .unwrap();
            held.push((send, recv));
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // A third session still gets its asset.
    let third = EdgeClient::connect(&config, PrivateKey::from_seed(432))
        .await
        .unwrap();
    let cache = AssetCache::open(temp("idle-cache")).unwrap();
    let path = cache.fetch(third.connection(), &hash).await.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), bytes);
    drop(held);
    edge.shutdown().await;
}

/// An edge on `zone` whose store takes uploads from `uploader`, up to `max` bytes.
fn uploading_edge(
    zone: &Arc<LocalZone>,
    dir: &Path,
    uploader: &PrivateKey,
    max: u64,
) -> z3r0_net::Edge {
    let edge = zone.serve(EdgeConfig::new(loopback()));
    let account: [u8; 32] = uploader.public_key().as_ref().try_into().unwrap();
    edge.serve_assets(AssetStore::with_uploader(dir, account, max));
    edge
}

async fn session(zone: &Arc<LocalZone>, edge: &z3r0_net::Edge, key: PrivateKey) -> EdgeClient {
    let config = ClientConfig::new(
        edge.local_addr().unwrap(),
        common::CHAIN,
        vec![zone.validator()],
    );
    EdgeClient::connect(&config, key).await.unwrap()
}

/// Sends an upload of `bytes` claiming `hash`, its bao encoding altered by `tamper`; returns
/// the edge's answer byte.
async fn raw_put(
    conn: &quinn::Connection,
    hash: [u8; 32],
    bytes: &[u8],
    tamper: impl Fn(&mut Vec<u8>),
) -> u8 {
    let (mut encoded, _) = bao::encode::encode(bytes);
    tamper(&mut encoded);
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    let mut head = vec![z3r0_net::assets::ASSET_PUT];
    head.extend_from_slice(&hash);
    head.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    let _ = send.write_all(&head).await;
    let _ = send.write_all(&encoded).await;
    let _ = send.finish();
    let mut answer = [0u8; 1];
    recv.read_exact(&mut answer).await.unwrap();
    answer[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_publisher_uploads_verified_assets_and_nobody_else_can() {
    let zone = LocalZone::new(40);
    let _ticker = zone.run();
    let objects = temp("uploads");
    let publisher = PrivateKey::from_seed(700);
    let edge = uploading_edge(&zone, &objects, &publisher, 8 << 20);
    let uploader = session(&zone, &edge, PrivateKey::from_seed(700)).await;
    let stranger = session(&zone, &edge, PrivateKey::from_seed(701)).await;

    // The publisher's upload is stored under its hash, and anyone can fetch it.
    let bytes = asset(2 << 20, 11);
    let hash = *blake3::hash(&bytes).as_bytes();
    z3r0_net::assets::put_asset(uploader.connection(), &bytes)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(objects.join(z3r0_net::assets::hex_of(&hash))).unwrap(),
        bytes
    );
    assert_eq!(edge.stats.assets_stored.load(Ordering::Relaxed), 1);
    let cache = AssetCache::open(temp("uploads-cache")).unwrap();
    let path = cache.fetch(stranger.connection(), &hash).await.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), bytes);
    // Uploading it again is no error and stores nothing new.
    z3r0_net::assets::put_asset(uploader.connection(), &bytes)
        .await
        .unwrap();
    assert_eq!(edge.stats.assets_stored.load(Ordering::Relaxed), 2);

    // Anyone else is refused, and nothing is written.
    let other = asset(4096, 12);
    match z3r0_net::assets::put_asset(stranger.connection(), &other).await {
        Err(AssetError::Refused(_)) => {}
        r => panic!("{r:?}"),
    }
    // A tampered byte, or bytes that are not what the hash names, are refused too.
    let other_hash = *blake3::hash(&other).as_bytes();
    let flip = |e: &mut Vec<u8>| {
        let at = e.len() / 2;
        e[at] ^= 1;
    };
    let refused = z3r0_net::assets::ASSET_REFUSED;
    assert_eq!(
        raw_put(uploader.connection(), other_hash, &other, flip).await,
        refused
    );
    assert_eq!(
        raw_put(uploader.connection(), [7; 32], &other, |_| {}).await,
        refused
    );
    // And so is what would take the store past its bound.
    let big = asset(7 << 20, 13);
    match z3r0_net::assets::put_asset(uploader.connection(), &big).await {
        Err(AssetError::Refused(_)) => {}
        r => panic!("{r:?}"),
    }
    let stored: Vec<_> = std::fs::read_dir(&objects).unwrap().collect();
    assert_eq!(
        stored.len(),
        1,
        "only the publisher's good upload: {stored:?}"
    );
}
