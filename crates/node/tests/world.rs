//! A world of zones on commonware's deterministic runtime and one simulated network: each
//! validator is one peer and runs a replica of every zone whose committee it sits on.
#![allow(clippy::unwrap_used)]

use commonware_codec::Encode as _;
use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use commonware_runtime::{Clock as _, Metrics as _, Runner as _, Supervisor as _, deterministic};
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
        // Every message on a zone's channels went to a member of that zone's committee: the
        // world's shared network does not carry a zone's traffic to the rest of the pool.
        let mut checked = 0;
        for line in metrics
            .lines()
            .filter(|l| l.contains("messages_sent_total{"))
        {
            let label = |name: &str| {
                line.split(&format!("{name}=\""))
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap()
                    .to_string()
            };
            let zone = (label("channel").parse::<u64>().unwrap() >> 8) as u32;
            let members: Vec<String> = net
                .zones
                .iter()
                .find(|z| z.id.number() == zone)
                .unwrap()
                .genesis
                .public_keys()
                .unwrap()
                .iter()
                .map(|k| k.to_string())
                .collect();
            assert!(members.contains(&label("recipient")), "{line}");
            checked += 1;
        }
        assert!(checked > 0, "no message counters in the metrics");
        for zone in &net.zones {
            let label = format!("zone=\"{}\"", zone.id.number());
            assert!(metrics.contains(&label), "no {label} in the metrics");
        }
    });
}

#[test]
fn keys_that_are_not_the_pool_are_refused() {
    runner(8).start(|context| async move {
        let keys: Vec<PrivateKey> = (0..4).map(|i| PrivateKey::from_seed(5_000 + i)).collect();
        let world = small_world(&keys);
        let mut swapped = keys.clone();
        swapped.swap(0, 1);
        let err = WorldNet::new(context.child("a"), world.clone(), swapped, link(3, 1, 1000))
            .await
            .err()
            .unwrap();
        assert_eq!(err, "key 0 is not pool member 0's");
        let err = WorldNet::new(
            context.child("b"),
            world,
            keys[..3].to_vec(),
            link(3, 1, 1000),
        )
        .await
        .err()
        .unwrap();
        assert_eq!(err, "3 keys for a pool of 4");
    });
}

/// Signed `payload` for zone `z` of `net` at `tick` with `nonce`.
fn signed(
    net: &WorldNet,
    z: usize,
    player: &PrivateKey,
    tick: u64,
    nonce: u64,
    payload: Vec<u8>,
) -> Vec<u8> {
    let zone = &net.zones[z];
    Action {
        player: player.public_key(),
        zone: zone.id.number(),
        tick,
        nonce,
        payload: payload.into(),
    }
    .sign(player, &zone.chain)
    .encode()
    .to_vec()
}

/// Each of `players` joins zone 0 through pool member `seat`'s replica and runs east,
/// sprinting and hopping steps, for the border with zone 1.
fn join_and_run_east(net: &WorldNet, seat: usize, players: &[PrivateKey]) {
    let now = net.current_tick(0, seat).unwrap();
    let run = z3r0_sim::Action::Input(z3r0_sim::InputFrame {
        forward: 127,
        strafe: 0,
        yaw: 16_384,
        pitch: 0,
        flags: z3r0_sim::flags::SPRINT | z3r0_sim::flags::JUMP,
    })
    .encode_to_vec();
    for p in players {
        let join = z3r0_sim::Action::Join.encode_to_vec();
        assert!(net.submit(0, seat, &signed(net, 0, p, now + 2, 0, join)));
        assert!(net.submit(0, seat, &signed(net, 0, p, now + 3, 1, run.clone())));
    }
}

#[test]
fn bodies_cross_into_the_next_zone_through_relayed_certified_exits() {
    runner(11).start(|context| crossing(context, link(3, 1, 1000), 3));
}

/// With finality slower than a tick, blocks are proposed on parents not final yet: a record a
/// parent carried must not be carried again (it would be refused, after its certificate was
/// checked once more by every replica).
#[test]
fn a_record_is_carried_once_when_finality_lags_the_tick() {
    // 20 ms links: three hops to finality, longer than a 50 ms tick with jitter and load.
    for seed in [12, 13, 14] {
        runner(seed).start(|context| crossing(context, link(20, 5, 1000), 3));
    }
}

/// With four seats a zone, three signatures certify a block, so each source replica may relay
/// a record with another certificate: copies differ in their bytes, and each destination
/// pool holds the first it got. A parent's record must not be carried again in another copy.
#[test]
fn a_record_is_carried_once_whichever_copy_the_pool_holds() {
    for seed in [12, 13, 14] {
        runner(seed).start(|context| crossing(context, link(20, 5, 1000), 4));
    }
}

/// Players join zone 0 and run east into zone 1; every body arrives once, nothing is refused,
/// and every replica of each zone agrees.
async fn crossing(
    context: commonware_runtime::deterministic::Context,
    link: commonware_p2p::simulated::Link,
    committee: usize,
) {
    {
        let keys: Vec<PrivateKey> = (0..4).map(|i| PrivateKey::from_seed(5_000 + i)).collect();
        let mut world = small_world(&keys);
        world.committee_size = committee;
        let mut net = WorldNet::new(context, world, keys, link).await.unwrap();
        net.start_all().await.unwrap();
        assert!(net.wait_for_all(5, Duration::from_secs(30)).await);
        // Players join zone 0 and run east (sprinting, hopping steps) for the border at x = 0.
        let players: Vec<PrivateKey> = (0..6).map(|i| PrivateKey::from_seed(900 + i)).collect();
        let seat = net.zones[0].seats[0];
        join_and_run_east(&net, seat, &players);
        let key =
            |p: &PrivateKey| -> [u8; 32] { p.public_key().encode().as_ref().try_into().unwrap() };
        // Until every body that left zone 0 stands in zone 1, and zone 0 was told so.
        let mut crossed = 0;
        let mut settled = false;
        for _ in 0..600 {
            net.context.sleep(Duration::from_millis(50)).await;
            let in_a: Vec<bool> = players
                .iter()
                .map(|p| {
                    net.with_state(0, seat, |s| s.player(&key(p)).is_some())
                        .unwrap()
                })
                .collect();
            let b_seat = net.zones[1].seats[0];
            let in_b: Vec<bool> = players
                .iter()
                .map(|p| {
                    net.with_state(1, b_seat, |s| s.player(&key(p)).is_some())
                        .unwrap()
                })
                .collect();
            let waiting = net
                .with_state(0, seat, |s| s.pending_exits().count())
                .unwrap();
            crossed = in_b.iter().filter(|&&b| b).count();
            // A body is never in both zones' finalized states.
            assert!(in_a.iter().zip(&in_b).all(|(a, b)| !(a & b)));
            if crossed >= 1 && waiting == 0 && in_a.iter().zip(&in_b).all(|(a, b)| a | b) {
                settled = true;
                break;
            }
        }
        eprintln!("{crossed} of {} bodies crossed", players.len());
        assert!(crossed >= 1, "no body crossed");
        assert!(settled, "a body is still in transit, or lost");
        assert_eq!(
            net.with_state(0, seat, |s| s.pending_exits().count())
                .unwrap(),
            0,
            "zone 0 still waits for acknowledgements"
        );
        // Honest proposers carry each record once: none is refused at execution.
        let refused = net.crossings.lock().unwrap().refused.clone();
        assert!(refused.is_empty(), "imports refused: {refused:?}");
        // Every replica of each zone agrees, crossings and all.
        net.agreed_chain(0).unwrap();
        net.agreed_chain(1).unwrap();
        assert!(net.failures.lock().unwrap().is_empty());
    }
}

/// A Byzantine relay sends, beside each honest exit, every forgery it can make of it (a richer
/// inventory, a body that never left, forged signatures, another block's certificate, and
/// later the same exit again): the destination applies none, and the honest relays' bodies
/// still cross.
#[test]
fn a_forging_relay_gets_no_forged_import_applied() {
    runner(13).start(|context| async move {
        let keys: Vec<PrivateKey> = (0..4).map(|i| PrivateKey::from_seed(5_000 + i)).collect();
        let world = small_world(&keys);
        let mut net = WorldNet::new(context, world, keys, link(3, 1, 1000))
            .await
            .unwrap();
        // One member of zone 0's committee forges every exit it relays.
        let forger = net.zones[0].seats[0];
        net.forgers.insert(forger);
        net.start_all().await.unwrap();
        assert!(net.wait_for_all(5, Duration::from_secs(30)).await);
        let players: Vec<PrivateKey> = (0..6).map(|i| PrivateKey::from_seed(950 + i)).collect();
        join_and_run_east(&net, net.zones[0].seats[0], &players);
        // Long enough for the forger to replay exits that entered.
        net.context.sleep(Duration::from_secs(20)).await;
        let crossings = net.crossings.lock().unwrap();
        let entered = crossings.entries.keys().filter(|k| k.0 == 0).count();
        assert!(entered >= 1, "no body crossed");
        assert!(
            crossings
                .exits
                .keys()
                .all(|k| crossings.entries.contains_key(k)),
            "an exit did not enter: {:?} of {:?}",
            crossings.entries.keys().collect::<Vec<_>>(),
            crossings.exits.keys().collect::<Vec<_>>()
        );
        let forged = net.forged.lock().unwrap();
        let kinds: std::collections::BTreeSet<z3r0_node::Forgery> =
            forged.iter().map(|f| f.0).collect();
        for kind in [
            z3r0_node::Forgery::RicherInventory,
            z3r0_node::Forgery::WithoutExit,
            z3r0_node::Forgery::ForgedCertificate,
            z3r0_node::Forgery::ForeignCertificate,
            z3r0_node::Forgery::Replay,
        ] {
            assert!(kinds.contains(&kind), "no {kind:?} was sent: {kinds:?}");
        }
        // A replay is the honest record's bytes: applied once, as the honest relay's, never
        // again. Every other forgery is applied never.
        let accepted: Vec<_> = forged
            .iter()
            .filter(|(kind, hash)| {
                let applied = crossings.applied.get(hash).map_or(0, |at| at.len());
                applied > usize::from(*kind == z3r0_node::Forgery::Replay)
            })
            .collect();
        assert!(accepted.is_empty(), "forgeries applied: {accepted:?}");
        drop((forged, crossings));
        net.agreed_chain(0).unwrap();
        net.agreed_chain(1).unwrap();
        assert!(net.failures.lock().unwrap().is_empty());
    });
}
