//! Content on chain at the rules' level: the genesis's publisher publishes a manifest in parts,
//! every replica schedules it once it is whole and checked, and switches block rules at its
//! tick; anyone else, a broken manifest, or one that changes an existing block is refused,
//! and the records survive a snapshot.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::path::Path;
use z3r0_content::{BlockEntry, Manifest, Opacity, Pack};
use z3r0_sim::content::{ContentPart, PART_BYTES};
use z3r0_sim::{Action, BlockAction, PlayerKey, Reason, Receipt, Sim, SimConfig};
use z3r0_voxel::blocks;

const PUBLISHER: PlayerKey = [0xC0; 32];
const STRANGER: PlayerKey = [0x5E; 32];
const LAMP: u16 = 11;

fn config() -> SimConfig {
    SimConfig {
        publisher: Some(PUBLISHER),
        ..common::tiny_zone()
    }
}

fn default_manifest() -> Manifest {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/default");
    Pack::load(&dir).unwrap().manifest()
}

/// The default pack plus a lamp: a new block, solid and lit.
/// [`with_lamp`], with glass no longer solid: a block in the world would change meaning.
fn glass_not_solid() -> Manifest {
    let mut changes = with_lamp();
    changes
        .blocks
        .iter_mut()
        .find(|b| b.id == blocks::GLASS)
        .unwrap()
        .solid = false;
    changes
}

fn with_lamp() -> Manifest {
    let mut m = default_manifest();
    m.version += 1;
    let mut lamp: BlockEntry = m.blocks[1].clone();
    lamp.id = LAMP;
    lamp.name = "lamp".into();
    lamp.opacity = Opacity::Opaque;
    lamp.light = 15;
    lamp.drops = None;
    m.blocks.push(lamp);
    m
}

/// Runs block `tick` with `actions` signed by `signer`, nonces from `nonce`.
fn run(
    sim: &mut Sim,
    tick: u64,
    signer: &PlayerKey,
    actions: &[Action],
    nonce: u64,
) -> Vec<Receipt> {
    let payloads: Vec<Vec<u8>> = actions.iter().map(Action::encode_to_vec).collect();
    let mut receipts = Vec::new();
    sim.execute_block(
        tick,
        payloads.iter().zip(nonce..).map(|(p, nonce)| BlockAction {
            player: signer,
            tick,
            nonce,
            payload: p,
            endorsed: true,
        }),
        &mut receipts,
    );
    receipts
}

fn parts(m: &Manifest, at: u64) -> Vec<Action> {
    ContentPart::split(&m.encode(), at)
        .unwrap()
        .into_iter()
        .map(Action::PublishContent)
        .collect()
}

fn refusals(receipts: &[Receipt]) -> Vec<Reason> {
    receipts
        .iter()
        .filter_map(|r| match r {
            Receipt::Rejected { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

/// Publishes `m` four parts a block from tick 1; returns the receipts and the next tick.
fn publish(sim: &mut Sim, m: &Manifest, at: u64) -> (Vec<Receipt>, u64) {
    let mut all = Vec::new();
    let mut tick = 1;
    for (i, chunk) in parts(m, at).chunks(4).enumerate() {
        all.extend(run(sim, tick, &PUBLISHER, chunk, 4 * i as u64));
        tick += 1;
    }
    (all, tick)
}

#[test]
fn a_published_manifest_activates_at_its_tick_on_every_replica() {
    let m = with_lamp();
    assert!(m.encode().len() > 4 * PART_BYTES, "several blocks of parts");
    let mut a = Sim::genesis(config()).unwrap();
    let mut b = Sim::genesis(config()).unwrap();
    let untouched = Sim::genesis(config()).unwrap();
    let (receipts, next) = publish(&mut a, &m, 30);
    publish(&mut b, &m, 30);
    assert_eq!(refusals(&receipts), vec![]);
    assert!(receipts.contains(&Receipt::ContentScheduled {
        manifest: m.hash(),
        at: 30
    }));
    assert_eq!(a.root(), b.root());
    assert_ne!(
        a.root(),
        untouched.root(),
        "the root commits to the publication"
    );
    assert_eq!(a.published_content().1.unwrap().manifest, m.hash());
    assert!(!a.block_rules().is_defined(LAMP), "not before its tick");

    let mut r = Vec::new();
    for tick in next..30 {
        r.extend(run(&mut a, tick, &STRANGER, &[], 0));
    }
    assert!(
        !r.iter()
            .any(|x| matches!(x, Receipt::ContentActivated { .. }))
    );
    let r = run(&mut a, 30, &STRANGER, &[], 0);
    assert!(r.contains(&Receipt::ContentActivated { manifest: m.hash() }));
    assert!(a.block_rules().is_defined(LAMP));
    assert!(a.block_rules().is_solid(LAMP));
    assert_eq!(a.published_content().0.unwrap().manifest, m.hash());

    // A replica that skipped the activation tick (a block for a later tick) switches too.
    let r = run(&mut b, 33, &STRANGER, &[], 0);
    assert!(r.contains(&Receipt::ContentActivated { manifest: m.hash() }));
    assert!(b.block_rules().is_defined(LAMP));
}

#[test]
fn content_records_survive_a_snapshot_in_progress_scheduled_and_active() {
    let m = with_lamp();
    let all = parts(&m, 20);
    let mut sim = Sim::genesis(config()).unwrap();
    let restored = |sim: &Sim| {
        let mut bytes = Vec::new();
        sim.snapshot(&mut bytes).unwrap();
        Sim::restore(config(), &bytes).unwrap()
    };
    // Half way: the restored replica takes the rest of the parts.
    run(&mut sim, 1, &PUBLISHER, &all[..2], 0);
    let mut copy = restored(&sim);
    assert_eq!(copy.root(), sim.root());
    let rest = &all[2..];
    let a = run(&mut sim, 2, &PUBLISHER, rest, 2);
    let b = run(&mut copy, 2, &PUBLISHER, rest, 2);
    assert_eq!(refusals(&a), vec![]);
    assert_eq!(a, b);
    assert_eq!(copy.root(), sim.root());
    // Scheduled, then active, after a restore each time.
    let mut copy = restored(&sim);
    let a = run(&mut sim, 20, &STRANGER, &[], 0);
    let b = run(&mut copy, 20, &STRANGER, &[], 0);
    assert_eq!(a, b);
    assert!(copy.block_rules().is_defined(LAMP));
    let copy = restored(&sim);
    assert!(copy.block_rules().is_defined(LAMP));
    assert_eq!(copy.root(), sim.root());
}

#[test]
fn only_the_publisher_publishes_and_only_in_order() {
    let m = with_lamp();
    let all = parts(&m, 40);
    let mut sim = Sim::genesis(config()).unwrap();
    let genesis = sim.root();
    let r = run(&mut sim, 1, &STRANGER, &all[..1], 0);
    assert_eq!(refusals(&r), vec![Reason::NotPublisher]);
    let r = run(&mut sim, 2, &PUBLISHER, &all[1..2], 0);
    assert_eq!(
        refusals(&r),
        vec![Reason::PartOutOfOrder],
        "no first part yet"
    );
    let r = run(
        &mut sim,
        3,
        &PUBLISHER,
        &[all[0].clone(), all[2].clone()],
        0,
    );
    assert_eq!(refusals(&r), vec![Reason::PartOutOfOrder], "a part skipped");
    let mut later = parts(&m, 3).remove(0);
    let r = run(&mut sim, 4, &PUBLISHER, std::slice::from_mut(&mut later), 2);
    assert_eq!(
        refusals(&r),
        vec![Reason::ActivationOutOfRange],
        "in the past"
    );
    let far = parts(&m, 4 + z3r0_sim::content::MAX_NOTICE_TICKS + 1).remove(0);
    let r = run(&mut sim, 4, &PUBLISHER, &[far], 3);
    assert_eq!(
        refusals(&r),
        vec![Reason::ActivationOutOfRange],
        "too far ahead"
    );
    let config_without = SimConfig {
        publisher: None,
        ..config()
    };
    let mut fixed = Sim::genesis(config_without).unwrap();
    let r = run(&mut fixed, 1, &PUBLISHER, &all[..1], 0);
    assert_eq!(
        refusals(&r),
        vec![Reason::NotPublisher],
        "no publisher: content is fixed"
    );
    assert_ne!(sim.root(), genesis, "the first part is in the state");
}

#[test]
fn a_manifest_that_is_broken_or_changes_a_block_is_refused_and_dropped() {
    let mut sim = Sim::genesis(config()).unwrap();
    // Glass stops being solid: a block in the world would change meaning.
    let changes = glass_not_solid();
    let (r, _) = publish(&mut sim, &changes, 50);
    assert_eq!(refusals(&r), vec![Reason::ChangesMeaning]);
    assert_eq!(sim.published_content(), (None, None));

    // Bytes that hash right but are no manifest.
    let junk = vec![0xAB; PART_BYTES + 7];
    let junk_parts: Vec<Action> = ContentPart::split(&junk, 50)
        .unwrap()
        .into_iter()
        .map(Action::PublishContent)
        .collect();
    let r = run(&mut sim, 10, &PUBLISHER, &junk_parts, 100);
    assert_eq!(refusals(&r), vec![Reason::BadManifest]);

    // Parts that do not hash to the manifest they name.
    let mut lying = parts(&with_lamp(), 50);
    if let Some(Action::PublishContent(p)) = lying.last_mut() {
        p.bytes[0] ^= 1;
    }
    let mut r = Vec::new();
    for (i, chunk) in lying.chunks(4).enumerate() {
        r.extend(run(
            &mut sim,
            11 + i as u64,
            &PUBLISHER,
            chunk,
            200 + 4 * i as u64,
        ));
    }
    assert_eq!(refusals(&r), vec![Reason::ManifestMismatch]);
    assert_eq!(sim.published_content(), (None, None));

    // Whatever was refused, a good publication still goes through afterwards.
    let good = with_lamp();
    let mut r = Vec::new();
    for (i, chunk) in parts(&good, 60).chunks(4).enumerate() {
        r.extend(run(
            &mut sim,
            30 + i as u64,
            &PUBLISHER,
            chunk,
            300 + 4 * i as u64,
        ));
    }
    assert_eq!(refusals(&r), vec![]);
    assert_eq!(sim.published_content().1.unwrap().manifest, good.hash());
}

#[test]
fn a_zone_can_start_with_content_of_its_own() {
    let m = with_lamp();
    let bytes = m.encode();
    let start = || Sim::genesis_with_content(config(), Default::default(), &bytes).unwrap();
    let (mut a, mut b) = (start(), start());
    // In force from the start, committed as a manifest in force since tick 0.
    assert!(a.block_rules().is_defined(LAMP));
    assert_eq!(a.content_manifests(), (m.hash(), None));
    assert_eq!(a.root(), b.root());
    assert_ne!(a.root(), Sim::genesis(config()).unwrap().root());
    // Replicas agree as blocks run.
    for sim in [&mut a, &mut b] {
        run(sim, 1, &STRANGER, &[Action::Join], 0);
    }
    assert_eq!(a.root(), b.root());
    // It survives a snapshot, and later content must keep its lamp.
    let mut snap = Vec::new();
    a.snapshot(&mut snap).unwrap();
    let restored = Sim::restore(config(), &snap).unwrap();
    assert_eq!(restored.root(), a.root());
    assert!(restored.block_rules().is_defined(LAMP));
    let (r, _) = publish(&mut start(), &default_manifest(), 60);
    assert_eq!(
        refusals(&r),
        vec![Reason::ChangesMeaning],
        "the lamp cannot go"
    );

    // Content that is no manifest, or changes a built-in block, is no genesis.
    assert!(Sim::genesis_with_content(config(), Default::default(), &[0xAB; 40]).is_err());
    let changes = glass_not_solid();
    let err = Sim::genesis_with_content(config(), Default::default(), &changes.encode())
        .unwrap_err()
        .to_string();
    assert!(err.contains("meaning"), "{err}");
}
