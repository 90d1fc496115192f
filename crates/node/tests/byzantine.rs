//! The Byzantine harness: one validator of four leads with blocks that break the rules (a
//! forged pair, junk payloads, replayed nonces, a far-future tick, an oversized block, a lying
//! state root, a forged consent), the game running on the chain. Over every seed, the honest
//! validators refuse each such block, keep finalizing, agree on every root, and the forged
//! action never lands. A second run has one validator equivocate with valid blocks (twins).
//! `Z3R0_BYZANTINE_SEEDS` sets how many seeds run (CI: a short set; BENCHMARKS.md: the long run).
#![allow(clippy::unwrap_used)]

use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use commonware_runtime::{Runner as _, deterministic};
use std::time::Duration;
use z3r0_node::Pacing;
use z3r0_node::{Attack, Byzantine};
use z3r0_node::{SimNet, link, small_game, walk};
use z3r0_sim::Action as GameAction;

const HONEST: [usize; 3] = [1, 2, 3];
const HEIGHT: u64 = 48;

/// What one seeded run saw.
#[derive(Debug)]
struct Outcome {
    tried: std::collections::BTreeMap<Attack, u64>,
    refused: Vec<u64>,
    victim_still_playing: bool,
}

fn runner(seed: u64) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_timeout(Some(Duration::from_secs(600))),
    )
}

/// `players` join, then walk until the honest validators finalized [`HEIGHT`] blocks. Checks
/// that no validator failed and that every validator that finalized a height has the same
/// block and root there (safety); returns that chain.
async fn play_to_height(
    net: &SimNet<z3r0_sim::Sim>,
    players: &[PrivateKey],
    seed: u64,
) -> Vec<z3r0_node::ChainEntry> {
    net.submit_round(players, 0, &GameAction::Join.encode_to_vec());
    let walk = walk();
    let mut round = 1;
    while !net
        .wait_for(&HONEST, HEIGHT, Duration::from_millis(50))
        .await
    {
        net.submit_round(players, round, &walk);
        round += 1;
        assert!(round < 10_000, "seed {seed}: the honest validators stalled");
    }
    let failures = net.failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "seed {seed}: {failures:?}");
    let agreed = net.agreed_chain();
    assert!(agreed.is_ok(), "seed {seed}: {agreed:?}");
    agreed.unwrap()
}

fn run(seed: u64) -> Outcome {
    runner(seed).start(|context| async move {
        let mut net = SimNet::new(context, 4, link(3, 1, 1000), Pacing::UNPACED, small_game).await;
        let players: Vec<_> = (0..4).map(|i| PrivateKey::from_seed(70_000 + i)).collect();
        let victim = players[0].clone();
        // The forged action would make the victim leave; its payload is valid, its signature not.
        let byzantine = Byzantine::new(
            net.chain,
            GameAction::Leave.encode_to_vec(),
            z3r0_node::forged_consent(&net.chain),
            victim.clone(),
        );
        net.byzantine.insert(0, byzantine.clone());
        net.start_all().await.unwrap();
        let agreed = play_to_height(&net, &players, seed).await;
        // No corrupted block was finalized by anyone.
        let corrupted = byzantine.corrupted();
        let finalized: Vec<_> = agreed
            .into_iter()
            .filter(|entry| corrupted.contains(&entry.digest))
            .map(|entry| entry.height)
            .collect();
        assert!(
            finalized.is_empty(),
            "seed {seed}: corrupted blocks finalized at {finalized:?}"
        );
        assert!(!corrupted.is_empty(), "seed {seed}: nothing was corrupted");
        let victim_key: [u8; 32] = victim.public_key().as_ref().try_into().unwrap();
        Outcome {
            tried: byzantine.tried(),
            refused: HONEST
                .iter()
                .map(|&i| net.with_validator(i, |v| v.metrics.refused.get()).unwrap())
                .collect(),
            victim_still_playing: net
                .with_validator(1, |v| {
                    v.with_finalized(|sim, _| sim.player(&victim_key).is_some())
                })
                .unwrap(),
        }
    })
}

#[test]
fn a_byzantine_leader_cannot_bend_the_chain() {
    let seeds: u64 = std::env::var("Z3R0_BYZANTINE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let mut tried = std::collections::BTreeMap::new();
    for seed in 0..seeds {
        let outcome = run(1_000 + seed);
        assert!(
            outcome.victim_still_playing,
            "seed {seed}: the forged action landed"
        );
        for (attack, n) in &outcome.tried {
            *tried.entry(*attack).or_insert(0) += n;
        }
        // Each honest validator refused proposals: those that reached it whole (an oversized
        // block does not decode, so it is never verified).
        assert!(
            outcome.refused.iter().all(|&n| n > 0),
            "seed {seed}: {outcome:?}"
        );
    }
    // Every attack was tried, and none of them stopped the chain or split its roots.
    for attack in Attack::ALL {
        assert!(
            tried.get(&attack).copied().unwrap_or(0) > 0,
            "{attack:?} never tried: {tried:?}"
        );
    }
    println!("{seeds} seeds: attacks tried {tried:?}");
}

/// Validator 0 runs as twins (two honest nodes with its key, one talking to validator 1, the
/// other to 2 and 3): as leader it proposes two different valid blocks and signs votes for
/// both. Returns how many heights it equivocated at.
fn run_twins(seed: u64) -> usize {
    runner(seed).start(|context| async move {
        let mut net = SimNet::new(context, 4, link(3, 1, 1000), Pacing::UNPACED, small_game).await;
        let twin = Byzantine::twin(net.chain);
        net.byzantine.insert(0, twin.clone());
        net.start_twins(0, &[1], &[2, 3]).await.unwrap();
        for i in HONEST {
            net.start(i).await.unwrap();
        }
        net.wait_started().await.unwrap();
        let players: Vec<_> = (0..8).map(|i| PrivateKey::from_seed(80_000 + i)).collect();
        // Actions reach the twin that validator 0's players talk to, and its side only: the
        // halves' mempools differ, so do their blocks.
        play_to_height(&net, &players, seed).await;
        twin.proposed().values().filter(|d| d.len() > 1).count()
    })
}

#[test]
fn an_equivocating_validator_cannot_fork_the_chain() {
    let seeds: u64 = std::env::var("Z3R0_BYZANTINE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let mut equivocations = 0;
    for seed in 0..seeds {
        equivocations += run_twins(2_000 + seed);
    }
    assert!(
        equivocations > 0,
        "the twins never proposed different blocks"
    );
    println!("{seeds} seeds: {equivocations} heights with two proposals by one validator");
}
