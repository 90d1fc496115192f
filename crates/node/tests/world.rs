//! A world of zones on commonware's deterministic runtime and one simulated network: each
//! validator is one peer and runs a replica of every zone whose committee it sits on.
#![allow(clippy::unwrap_used)]

use commonware_codec::Encode as _;
use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use commonware_runtime::{Metrics as _, Runner as _, deterministic};
use std::time::Duration;
use z3r0_chain::Action;
use z3r0_node::genesis::{PoolEntry, WorldGenesis, to_hex};
use z3r0_node::{WorldNet, link, walk};

fn runner(seed: u64) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_timeout(Some(Duration::from_secs(600))),
    )
}

/// A 2 × 1 world of small zones (2 × 3 × 2 chunks each) whose pool is `keys`, 3 seats a zone.
fn small_world(keys: &[PrivateKey]) -> WorldGenesis {
    let pool = keys
        .iter()
        .zip(0u16..)
        .map(|(k, i)| PoolEntry {
            public_key: to_hex(&k.public_key().encode()),
            weight: 1,
            p2p: std::net::SocketAddr::from(([127, 0, 0, 1], 30_000 + i)),
            players: None,
        })
        .collect();
    let mut world = WorldGenesis::new([2, 1], 3, pool);
    world.zone_chunks = [2, 2];
    world.origin = [-2, -1];
    world.chunks_y = [-1, 2];
    world
}

#[test]
fn every_zone_finalizes_on_its_own_committee_over_one_network() {
    runner(7).start(|context| async move {
        let keys: Vec<PrivateKey> = (0..4).map(|i| PrivateKey::from_seed(5_000 + i)).collect();
        let world = small_world(&keys);
        let mut net = WorldNet::new(context, world, keys, link(3, 1, 1000))
            .await
            .unwrap();
        // Six seats over four validators: some sit on both zones, on one network identity.
        let both = (0..4)
            .filter(|i| net.zones.iter().all(|z| z.seats.contains(i)))
            .count();
        assert!(both >= 2, "{both} validators on both zones");
        net.start_all().await.unwrap();
        let reached = net.wait_for_all(20, Duration::from_secs(30)).await;
        let heights: Vec<u64> = (0..net.zones.len()).map(|z| net.height(z)).collect();
        assert!(reached, "heights {heights:?}");
        assert!(net.failures.lock().unwrap().is_empty());

        // Each zone is a chain of its own: its replicas agree, and the zones differ.
        let (a, b) = (net.agreed_chain(0).unwrap(), net.agreed_chain(1).unwrap());
        assert!(a.len() >= 20 && b.len() >= 20);
        assert_ne!(a[0].digest, b[0].digest);
        assert_ne!(net.zones[0].chain, net.zones[1].chain);

        // An action signed for zone 0 is refused by zone 1, even by a validator on both.
        let player = PrivateKey::from_seed(77);
        let signed_for = |z: usize| {
            let zone = &net.zones[z];
            Action {
                player: player.public_key(),
                zone: zone.id.number(),
                tick: 30,
                nonce: 0,
                payload: walk().into(),
            }
            .sign(&player, &zone.chain)
            .encode()
        };
        let on_both = (0..4)
            .find(|i| net.zones.iter().all(|z| z.seats.contains(i)))
            .unwrap();
        assert!(!net.submit(1, on_both, &signed_for(0)));
        assert!(net.submit(1, on_both, &signed_for(1)));

        // Each replica's metrics carry its zone.
        let metrics = net.context.encode();
        for zone in &net.zones {
            let label = format!("zone=\"{}\"", zone.id.number());
            assert!(metrics.contains(&label), "no {label} in the metrics");
        }
    });
}
