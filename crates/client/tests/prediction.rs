//! Prediction and reconciliation over a simulated link: 100 ms round trip (one 50 ms tick each
//! way) and 5 % loss in both directions (seeded), against the real game rules as the authority.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use z3r0_client::{Authoritative, Predictor, TOLERANCE};
use z3r0_sim::{Action, InputFrame, Physics, Sim, SimConfig, flags};
use z3r0_voxel::World;

/// Seeded loss.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn lost(&mut self, rate_percent: u64) -> bool {
        self.next() % 100 < rate_percent
    }
}

const PLAYER: [u8; 32] = [7; 32];
/// Ticks each way (50 ms ticks: 100 ms round trip).
const DELAY: u64 = 1;
/// The client runs this many ticks ahead of the chain's clock (it knows the tick from the
/// genesis time), so each frame reaches the chain before its tick executes, three copies deep.
const LEAD: u64 = 3;
const LOSS: u64 = 5;

fn zone() -> (Sim, World) {
    let config = SimConfig {
        chunks_x: (-2, 2),
        chunks_y: (-2, 3),
        chunks_z: (-2, 2),
        ..SimConfig::default()
    };
    let mut sim = Sim::genesis(config).unwrap();
    let join = Action::Join.encode_to_vec();
    let mut receipts = Vec::new();
    sim.execute_tick(1, [(&PLAYER, join.as_slice())], &mut receipts);
    let mut world = World::with_capacity(sim.voxels.len());
    for (p, c) in sim.voxels.chunks() {
        world.insert_chunk(p, c).unwrap();
    }
    (sim, world)
}

struct Outcome {
    errors: Vec<i64>,
    predictor: Predictor,
    sim: Sim,
    world: World,
}

/// Runs `ticks` ticks. `choose(tick)` is the frame the player wants for a tick; `cheat` makes the
/// client predict with a frame the rules refuse.
fn run(ticks: u64, seed: u64, choose: impl Fn(u64) -> InputFrame) -> Outcome {
    let (mut sim, world) = zone();
    let mut rng = Rng(seed | 1);
    let mut predictor = Predictor::new();
    // In flight: (arrival tick, payload).
    let mut to_server: Vec<(u64, u64, InputFrame)> = Vec::new(); // (arrives, target, frame)
    let mut to_client: Vec<(u64, Authoritative)> = Vec::new();
    // Frames waiting in the mempool by target tick; targets already included (a resent copy of
    // one is a replayed nonce, refused).
    let mut arrived: BTreeMap<u64, InputFrame> = BTreeMap::new();
    let mut included = std::collections::BTreeSet::new();
    let mut errors = Vec::new();
    let mut sent: BTreeMap<u64, InputFrame> = BTreeMap::new();
    for now in 2..ticks {
        // The chain executes tick `now` with the frame that reached it for `now` (a frame that
        // misses its tick is included in the next block, as the mempool would).
        for &(at, target, frame) in &to_server {
            if at <= now && !included.contains(&target) {
                arrived.entry(target).or_insert(frame);
            }
        }
        to_server.retain(|&(at, _, _)| at > now);
        let mut receipts = Vec::new();
        // The block takes the oldest pending frame whose tick has come (a later one in the same
        // block would be refused as a second input in one tick).
        let due = arrived.range(..=now).next().map(|(&t, &f)| (t, f));
        if let Some((t, _)) = due {
            arrived.remove(&t);
            included.insert(t);
        }
        let payload = due.map(|(_, f)| Action::Input(f).encode_to_vec());
        let actions: Vec<(&[u8; 32], &[u8])> = payload
            .as_ref()
            .map(|p| (&PLAYER, p.as_slice()))
            .into_iter()
            .collect();
        sim.execute_tick(now, actions, &mut receipts);
        let body = *sim.body(&PLAYER).unwrap();
        let frame = sim.control(&PLAYER).unwrap().frame;
        if !rng.lost(LOSS) {
            to_client.push((
                now + DELAY,
                Authoritative {
                    tick: now,
                    body,
                    frame,
                },
            ));
        }

        // The client: apply what arrived, pick the next frame, predict, send (with the two
        // previous unconfirmed frames again, against loss).
        let (ready, later): (Vec<_>, Vec<_>) = to_client.drain(..).partition(|&(at, _)| at <= now);
        to_client = later;
        for (_, state) in ready {
            if let Some(e) = predictor.authoritative(state).error {
                errors.push(e);
            }
        }
        if predictor.base().is_none() {
            continue;
        }
        let target = now + LEAD;
        let frame = *sent.entry(target).or_insert_with(|| choose(target));
        predictor.sent(target, frame);
        predictor.predict(
            target,
            &world,
            &[],
            &Physics::default(),
            z3r0_voxel::BlockRules::builtin(),
            None,
        );
        for t in target.saturating_sub(2)..=target {
            if let Some(&f) = sent.get(&t)
                && !rng.lost(LOSS)
            {
                to_server.push((now + DELAY, t, f));
            }
        }
    }
    Outcome {
        errors,
        predictor,
        sim,
        world,
    }
}

fn walk(tick: u64) -> InputFrame {
    // Walk, turn now and then, jump every few seconds: all legal.
    InputFrame {
        forward: if (tick / 40).is_multiple_of(2) {
            127
        } else {
            100
        },
        strafe: if (tick / 40).is_multiple_of(2) { 0 } else { 60 },
        yaw: ((tick / 25) as u16).wrapping_mul(9_000),
        pitch: 0,
        flags: if tick.is_multiple_of(60) {
            flags::JUMP
        } else {
            0
        },
    }
}

#[test]
fn legal_inputs_are_predicted_within_a_centimetre_despite_latency_and_loss() {
    let out = run(600, 42, walk);
    assert!(
        out.errors.len() > 450,
        "{} reconciliations",
        out.errors.len()
    );
    let worst = out.errors.iter().copied().max().unwrap();
    assert!(
        worst <= TOLERANCE,
        "prediction was {worst}/1024 m off at worst (over {} acknowledgements)",
        out.errors.len()
    );
    assert_eq!(out.predictor.corrections, 0);
    // The player really moved: this was not a test of standing still.
    let (spawned, _) = zone();
    let spawn = spawned.body(&PLAYER).unwrap().pos;
    let end = out.sim.body(&PLAYER).unwrap().pos;
    let moved = (0..3).map(|i| (end[i] - spawn[i]).abs()).max().unwrap();
    // It turns every 25 ticks and swims (spawn is in water), so the net distance is modest.
    assert!(moved > 2 * 1024, "moved only {moved}/1024 m");
}

#[test]
fn an_illegal_move_is_corrected_to_the_authoritative_position() {
    // A modified client pushes the stick past full (the rules refuse it as BeyondFullStick and the body
    // keeps its previous frame) but predicts as if it moved.
    let out = run(300, 7, |_| InputFrame {
        forward: 127,
        strafe: 127,
        yaw: 0,
        pitch: 0,
        flags: 0,
    });
    assert!(
        out.predictor.corrections > 0,
        "the cheat was never corrected"
    );
    assert!(out.predictor.max_error > 100, "{}", out.predictor.max_error);
    // After reconciliation the client stands where the chain says: the authority kept the
    // player still (every frame was refused), and so is the reconciled base.
    let (spawned, _) = zone();
    let spawn = spawned.body(&PLAYER).unwrap().pos;
    let base = *out.predictor.base().unwrap();
    assert_eq!(base.body.pos[0], spawn[0]);
    assert_eq!(base.body.pos[2], spawn[2]);
    let _ = out.world;
}

#[test]
fn smoothing_eases_a_correction_out_instead_of_snapping() {
    let mut p = Predictor::new();
    let (_, world) = zone();
    let body = z3r0_sim::Body {
        pos: [0, 20 * 1024, 0],
        ..Default::default()
    };
    p.authoritative(Authoritative {
        tick: 1,
        body,
        frame: InputFrame::default(),
    });
    p.sent(2, InputFrame::default());
    let predicted = p
        .predict(
            2,
            &world,
            &[],
            &Physics::default(),
            z3r0_voxel::BlockRules::builtin(),
            None,
        )
        .unwrap();
    let mut moved = predicted;
    moved.pos[0] += 500;
    p.authoritative(Authoritative {
        tick: 2,
        body: moved,
        frame: InputFrame::default(),
    });
    assert_eq!(p.corrections, 1);
    // A frame at 60 Hz shows most of the old prediction still.
    let first = p.smoothing(1.0 / 60.0);
    assert!(first[0] < -250.0 && first[0] > -500.0, "{first:?}");
    // The same time passes at 15 Hz: the offset eases out as fast as at 60 Hz.
    let mut fast = p.clone();
    let slow = p.clone().smoothing(0.2);
    let mut at_60 = [0.0; 3];
    for _ in 0..12 {
        at_60 = fast.smoothing(1.0 / 60.0);
    }
    assert!((at_60[0] - slow[0]).abs() < 1.0, "{at_60:?} vs {slow:?}");
    let mut last = first;
    for _ in 0..60 {
        last = p.smoothing(1.0 / 60.0);
    }
    assert_eq!(
        last, [0.0; 3],
        "the offset decays to nothing within a second"
    );
}

#[test]
fn a_pending_dig_counts_from_the_tick_it_targets() {
    let (mut sim, mut world) = zone();
    let idle = Action::Input(InputFrame::default()).encode_to_vec();
    let mut receipts = Vec::new();
    for tick in 2..=10 {
        sim.execute_tick(tick, [(&PLAYER, idle.as_slice())], &mut receipts);
    }
    let body = *sim.body(&PLAYER).unwrap();
    let feet = body.pos.map(|c| c.div_euclid(1024) as i32);
    let below = z3r0_voxel::VoxelPos::new(feet[0], feet[1] - 1, feet[2]);
    let mut predictor = Predictor::new();
    predictor.authoritative(Authoritative {
        tick: 10,
        body,
        frame: InputFrame::default(),
    });
    // Sent at tick 10 for tick 13, shown in the world at once.
    let dig_tick = 13;
    let before = world.set_voxel(below, z3r0_voxel::blocks::AIR).unwrap();
    let pending = [z3r0_client::PendingEdit {
        pos: below,
        before,
        to: z3r0_voxel::blocks::AIR,
        tick: dig_tick,
    }];
    let dig = Action::Break(below).encode_to_vec();
    let mut chain = BTreeMap::new();
    for tick in 11..=18 {
        predictor.sent(tick, InputFrame::default());
        receipts.clear();
        let payload = if tick == dig_tick { &dig } else { &idle };
        sim.execute_tick(tick, [(&PLAYER, payload.as_slice())], &mut receipts);
        assert!(
            !receipts
                .iter()
                .any(|r| matches!(r, z3r0_sim::Receipt::Rejected { index: Some(_), .. })),
            "{receipts:?}"
        );
        chain.insert(tick, *sim.body(&PLAYER).unwrap());
    }
    assert!(
        chain[&18].pos[1] < body.pos[1],
        "the player fell into the hole"
    );
    for (&tick, authority) in &chain {
        let with_timing = predictor
            .predict(
                tick,
                &world,
                &pending,
                &Physics::default(),
                z3r0_voxel::BlockRules::builtin(),
                None,
            )
            .unwrap();
        assert_eq!(with_timing, *authority, "tick {tick}");
    }
    // Counting the dig from when it was shown predicts the fall too early.
    let early = Predictor::predict(
        &mut predictor,
        12,
        &world,
        &[],
        &Physics::default(),
        z3r0_voxel::BlockRules::builtin(),
        None,
    )
    .unwrap();
    assert_ne!(early, chain[&12]);
}

#[test]
fn a_prediction_made_before_its_ticks_frame_was_sent_does_not_count() {
    let (_, world) = zone();
    let body = z3r0_sim::Body {
        pos: [0, 20 * 1024, 0],
        ..Default::default()
    };
    let mut p = Predictor::new();
    p.authoritative(Authoritative {
        tick: 1,
        body,
        frame: InputFrame::default(),
    });
    // A frame drawn just after tick 2 began, before its input was sent: standing still.
    let stale = p
        .predict(
            2,
            &world,
            &[],
            &Physics::default(),
            z3r0_voxel::BlockRules::builtin(),
            None,
        )
        .unwrap();
    let walk = InputFrame {
        forward: 127,
        ..InputFrame::default()
    };
    p.sent(2, walk);
    let walked = p
        .predict(
            2,
            &world,
            &[],
            &Physics::default(),
            z3r0_voxel::BlockRules::builtin(),
            None,
        )
        .unwrap();
    assert_ne!(walked.pos, stale.pos, "the frame changes the prediction");
    p.authoritative(Authoritative {
        tick: 2,
        body: walked,
        frame: walk,
    });
    assert_eq!(
        p.corrections, 0,
        "compared with the prediction that had the frame"
    );
    assert_eq!(p.max_error, 0);
}
