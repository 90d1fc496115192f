//! Each rule, with the reason code the player gets.

mod common;

use common::*;
use z3r0_sim::components::body_state;
use z3r0_sim::{Action, BlockAction, Reason, Receipt, SimConfig, flags};
use z3r0_voxel::{VoxelPos, blocks};

const EAST: u16 = 16_384; // a quarter turn: facing +x

#[test]
fn speed_hack_is_refused_and_speed_stays_within_the_rules() {
    let mut s = joined(&[ALICE]);
    // A stick pushed beyond its circle.
    let r = tick(&mut s, &[(ALICE, input(127, 127, 0, flags::SPRINT))]);
    assert_eq!(reasons(&r, ALICE), [Reason::BeyondFullStick]);
    // Two frames for one tick.
    let r = tick(
        &mut s,
        &[(ALICE, input(127, 0, 0, 0)), (ALICE, input(127, 0, 0, 0))],
    );
    assert_eq!(reasons(&r, ALICE), [Reason::TickHasInput]);
    // Sprinting diagonally never beats the sprint limit (one tick's share of it, dithered
    // by at most a unit).
    let physics = *s.physics();
    let max_step = physics.sprint * physics.tick_ms() as i64 / 1000 + 1;
    let mut last = s.body(&ALICE).unwrap().pos;
    for _ in 0..10 {
        tick(&mut s, &[(ALICE, input(90, 89, 8_000, flags::SPRINT))]);
        let p = s.body(&ALICE).unwrap().pos;
        let step2 = (p[0] - last[0]).pow(2) + (p[2] - last[2]).pow(2);
        assert!(step2 <= max_step.pow(2), "moved {step2}");
        last = p;
    }
}

/// An honest client's frame for tick t reached the mempool after block t was proposed, so it
/// lands in block t + 1 beside the frame for t + 1. Neither is a second frame for its tick:
/// both are applied, in tick order, and the frame for t + 1 is the one in force.
#[test]
fn a_late_frame_beside_the_next_ticks_frame_is_not_refused() {
    let mut s = joined(&[ALICE]);
    let t = s.tick() + 1;
    let walk = |forward| input(forward, 0, EAST, 0).encode_to_vec();
    let (late, on_time) = (walk(40), walk(127));
    let run = |s: &mut z3r0_sim::Sim, at: u64, block: &[(u64, &Vec<u8>)]| {
        let mut receipts = Vec::new();
        s.execute_block(
            at,
            block
                .iter()
                .zip(0u64..)
                .map(|((at, p), nonce)| BlockAction {
                    player: &ALICE,
                    tick: *at,
                    nonce,
                    payload: p.as_slice(),
                    endorsed: false,
                }),
            &mut receipts,
        );
        receipts
    };
    // Block t was empty (its leader had not heard the frame yet).
    tick(&mut s, &[]);
    assert_eq!(s.tick(), t);
    let r = run(&mut s, t + 1, &[(t, &late), (t + 1, &on_time)]);
    assert_eq!(reasons(&r, ALICE), []);
    let mut reference = joined(&[ALICE]);
    tick(&mut reference, &[]);
    tick(&mut reference, &[(ALICE, input(127, 0, EAST, 0))]);
    assert_eq!(
        s.body(&ALICE),
        reference.body(&ALICE),
        "the newer frame is in force"
    );
    // A frame for a tick older than the one in force is stale.
    let r = run(&mut s, t + 2, &[(t, &late)]);
    assert_eq!(reasons(&r, ALICE), [Reason::TickHasInput]);
}

#[test]
fn fly_hack_cannot_leave_the_ground_for_long() {
    let mut s = joined(&[ALICE]);
    let ground = s.body(&ALICE).unwrap().pos[1];
    // Jump from the ground: fine.
    let r = tick(&mut s, &[(ALICE, input(0, 0, 0, flags::JUMP))]);
    assert!(reasons(&r, ALICE).is_empty());
    // Release, then press jump again in mid-air: refused.
    tick(&mut s, &[(ALICE, input(0, 0, 0, 0))]);
    let r = tick(&mut s, &[(ALICE, input(0, 0, 0, flags::JUMP))]);
    assert_eq!(reasons(&r, ALICE), [Reason::NotOnGround]);
    // Mashing jump every other tick never climbs above one jump's apex, and gravity wins.
    let mut highest = 0;
    for i in 0..60 {
        let f = if i % 2 == 0 { flags::JUMP } else { 0 };
        tick(&mut s, &[(ALICE, input(0, 0, 0, f))]);
        highest = highest.max(s.body(&ALICE).unwrap().pos[1] - ground);
    }
    // One jump's apex: the genesis's jump height (v²/2g), to within the dithering's units.
    let physics = s.physics();
    let apex = physics.jump * physics.jump / (2 * physics.gravity) + 2;
    assert!(
        highest <= apex,
        "rose {highest} units, one jump reaches {apex}"
    );
    for _ in 0..30 {
        tick(&mut s, &[(ALICE, input(0, 0, 0, 0))]);
    }
    assert_eq!(s.body(&ALICE).unwrap().pos[1], ground);
}

#[test]
fn wall_clip_is_stopped_at_the_wall_face() {
    let mut s = joined(&[ALICE]);
    let f = feet(&s, &ALICE);
    let wall_x = f.x + 2;
    for z in f.z - 2..=f.z + 2 {
        for y in FLOOR..FLOOR + 3 {
            s.voxels
                .set_voxel(VoxelPos::new(wall_x, y, z), blocks::STONE)
                .unwrap();
        }
    }
    let mut all = Vec::new();
    for _ in 0..30 {
        all.extend(tick(&mut s, &[(ALICE, input(127, 0, EAST, flags::SPRINT))]));
    }
    assert_eq!(
        reasons(&all, ALICE),
        [Reason::Blocked],
        "told once, at contact"
    );
    let body = s.body(&ALICE).unwrap();
    assert_eq!(
        body.pos[0] + 307,
        i64::from(wall_x) * 1024,
        "flush with the face"
    );
    assert!(body.state & body_state::BLOCKED != 0);
    // A one-block ledge is stepped onto instead.
    let mut s = joined(&[ALICE]);
    let f = feet(&s, &ALICE);
    for x in f.x + 2..f.x + 7 {
        for z in f.z - 2..=f.z + 2 {
            s.voxels
                .set_voxel(VoxelPos::new(x, FLOOR, z), blocks::STONE)
                .unwrap();
        }
    }
    let mut all = Vec::new();
    // 14 ticks at walking speed: about 3 m, ending on the ledge.
    for _ in 0..14 {
        all.extend(tick(&mut s, &[(ALICE, input(127, 0, EAST, 0))]));
    }
    assert_eq!(reasons(&all, ALICE), []);
    assert_eq!(s.body(&ALICE).unwrap().pos[1], i64::from(FLOOR + 1) * 1024);
}

#[test]
fn reach_hack_is_refused() {
    let mut s = joined(&[ALICE]);
    let f = feet(&s, &ALICE);
    let far = VoxelPos::new(f.x + 7, FLOOR - 1, f.z);
    let r = tick(&mut s, &[(ALICE, Action::Break(far))]);
    assert_eq!(reasons(&r, ALICE), [Reason::OutOfReach]);
    assert_eq!(s.voxels.voxel(far), Some(blocks::STONE));
}

#[test]
fn editing_through_a_wall_is_refused() {
    let mut s = joined(&[ALICE]);
    let f = feet(&s, &ALICE);
    let target = VoxelPos::new(f.x + 3, FLOOR, f.z);
    s.voxels.set_voxel(target, blocks::LOG).unwrap();
    for y in FLOOR..FLOOR + 2 {
        s.voxels
            .set_voxel(VoxelPos::new(f.x + 2, y, f.z), blocks::STONE)
            .unwrap();
    }
    let r = tick(&mut s, &[(ALICE, Action::Break(target))]);
    assert_eq!(reasons(&r, ALICE), [Reason::NoLineOfSight]);
    // With the wall gone the same break succeeds and the log goes to the inventory.
    for y in FLOOR..FLOOR + 2 {
        s.voxels
            .set_voxel(VoxelPos::new(f.x + 2, y, f.z), blocks::AIR)
            .unwrap();
    }
    let r = tick(&mut s, &[(ALICE, Action::Break(target))]);
    assert!(reasons(&r, ALICE).is_empty(), "{r:?}");
    assert_eq!(s.voxels.voxel(target), Some(blocks::AIR));
    assert_eq!(s.inventory(&ALICE).unwrap().count(blocks::LOG), 1);
    assert!(r.iter().any(|x| matches!(x, Receipt::InventoryChanged(..))));
}

#[test]
fn editing_in_another_players_claim_is_refused_until_granted() {
    let mut s = joined(&[ALICE, BOB]);
    let f = feet(&s, &ALICE);
    let target = VoxelPos::new(f.x, FLOOR - 1, f.z + 1);
    let column = (target.chunk().x, target.chunk().z);
    let r = tick(&mut s, &[(BOB, Action::Claim(column.0, column.1))]);
    assert!(reasons(&r, BOB).is_empty());
    assert!(
        r.iter()
            .any(|x| matches!(x, Receipt::ClaimChanged { claim: Some(_), .. }))
    );
    let r = tick(&mut s, &[(ALICE, Action::Break(target))]);
    assert_eq!(reasons(&r, ALICE), [Reason::NotYours]);
    // Claim over a claim.
    let r = tick(&mut s, &[(ALICE, Action::Claim(column.0, column.1))]);
    assert_eq!(reasons(&r, ALICE), [Reason::AlreadyClaimed]);
    // Only the owner grants.
    let r = tick(&mut s, &[(ALICE, Action::Grant(column.0, column.1, ALICE))]);
    assert_eq!(reasons(&r, ALICE), [Reason::NotYours]);
    tick(&mut s, &[(BOB, Action::Grant(column.0, column.1, ALICE))]);
    let r = tick(&mut s, &[(ALICE, Action::Break(target))]);
    assert!(reasons(&r, ALICE).is_empty(), "{r:?}");
    tick(&mut s, &[(BOB, Action::Revoke(column.0, column.1, ALICE))]);
    let next = VoxelPos::new(target.x, target.y, target.z + 1);
    let r = tick(&mut s, &[(ALICE, Action::Break(next))]);
    assert_eq!(reasons(&r, ALICE), [Reason::NotYours]);
    // Released: anyone builds again.
    tick(&mut s, &[(BOB, Action::Release(column.0, column.1))]);
    assert!(s.claim(column).is_none());
    let r = tick(&mut s, &[(ALICE, Action::Break(next))]);
    assert!(reasons(&r, ALICE).is_empty(), "{r:?}");
}

#[test]
fn claim_limit_and_zone_bounds() {
    let mut s = joined(&[BOB]);
    let limit = SimConfig::default().claim_limit as i32;
    for i in 0..limit {
        let r = tick(&mut s, &[(BOB, Action::Claim(-2 + i % 4, -2 + i / 4))]);
        assert!(reasons(&r, BOB).is_empty());
    }
    let r = tick(&mut s, &[(BOB, Action::Claim(1, 1))]);
    assert_eq!(reasons(&r, BOB), [Reason::ClaimLimit]);
    let r = tick(&mut s, &[(BOB, Action::Claim(50, 0))]);
    assert_eq!(reasons(&r, BOB), [Reason::OutOfZone]);
}

#[test]
fn placing_needs_the_block_in_the_inventory() {
    let mut s = joined(&[ALICE]);
    let f = feet(&s, &ALICE);
    let spot = VoxelPos::new(f.x + 2, FLOOR, f.z);
    let r = tick(&mut s, &[(ALICE, Action::Place(spot, blocks::STONE))]);
    assert_eq!(reasons(&r, ALICE), [Reason::NothingInInventory]);
    let below = VoxelPos::new(f.x + 2, FLOOR - 1, f.z);
    tick(&mut s, &[(ALICE, Action::Break(below))]);
    assert_eq!(s.inventory(&ALICE).unwrap().count(blocks::STONE), 1);
    let r = tick(&mut s, &[(ALICE, Action::Place(below, blocks::STONE))]);
    assert!(reasons(&r, ALICE).is_empty(), "{r:?}");
    assert_eq!(s.inventory(&ALICE).unwrap().count(blocks::STONE), 0);
    // Not inside a player, not onto a block, not air.
    let own = feet(&s, &ALICE);
    tick(
        &mut s,
        &[(ALICE, Action::Break(VoxelPos::new(f.x + 1, FLOOR - 1, f.z)))],
    );
    let r = tick(&mut s, &[(ALICE, Action::Place(own, blocks::STONE))]);
    assert_eq!(reasons(&r, ALICE), [Reason::Occupied]);
    // The cheap inventory check comes before the scan of every body for occupancy.
    let r = tick(&mut s, &[(ALICE, Action::Place(own, blocks::DIRT))]);
    assert_eq!(reasons(&r, ALICE), [Reason::NothingInInventory]);
    let r = tick(&mut s, &[(ALICE, Action::Place(below, blocks::STONE))]);
    assert_eq!(reasons(&r, ALICE), [Reason::Occupied]);
    let r = tick(&mut s, &[(ALICE, Action::Place(spot, blocks::AIR))]);
    assert_eq!(reasons(&r, ALICE), [Reason::NotABlock]);
}

#[test]
fn bad_frames_and_strangers_are_refused() {
    let mut s = joined(&[ALICE]);
    let r = tick_raw(&mut s, &[(ALICE, vec![0xff, 1, 2])]);
    assert_eq!(reasons(&r, ALICE), [Reason::BadFrame]);
    let mut frame = input(1, 0, 0, 0).encode_to_vec();
    frame[7] = 0x80; // an unknown flag bit
    let r = tick_raw(&mut s, &[(ALICE, frame)]);
    assert_eq!(reasons(&r, ALICE), [Reason::BadFrame]);
    let mut trailing = Action::Leave.encode_to_vec();
    trailing.push(0);
    let r = tick_raw(&mut s, &[(ALICE, trailing)]);
    assert_eq!(reasons(&r, ALICE), [Reason::BadFrame]);
    let r = tick(&mut s, &[(CAROL, Action::Break(VoxelPos::new(0, 0, 0)))]);
    assert_eq!(reasons(&r, CAROL), [Reason::NotJoined]);
    let r = tick(&mut s, &[(ALICE, Action::Join)]);
    assert_eq!(reasons(&r, ALICE), [Reason::AlreadyJoined]);
}

#[test]
fn silent_players_time_out_and_leavers_leave() {
    let config = SimConfig {
        timeout_ticks: 5,
        ..SimConfig::default()
    };
    let mut s = arena_with(config);
    tick(&mut s, &[(ALICE, Action::Join), (BOB, Action::Join)]);
    let mut all = Vec::new();
    for _ in 0..7 {
        all.extend(tick(&mut s, &[(BOB, input(0, 0, 0, 0))]));
    }
    assert!(all.contains(&Receipt::TimedOut { player: ALICE }));
    assert!(s.player(&ALICE).is_none());
    assert!(s.player(&BOB).is_some());
    let r = tick(&mut s, &[(BOB, Action::Leave)]);
    assert!(r.contains(&Receipt::Left { player: BOB }));
    assert!(r.iter().any(|x| matches!(x, Receipt::Despawned(_))));
    assert!(s.player(&BOB).is_none());
}

#[test]
fn a_session_key_acts_for_its_account_until_it_expires() {
    use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
    let bytes = |k: &PrivateKey| -> [u8; 32] { k.public_key().as_ref().try_into().unwrap() };
    let (session_key, carol_key) = (PrivateKey::from_seed(5), PrivateKey::from_seed(6));
    let (session, carol) = (bytes(&session_key), bytes(&carol_key));
    // A delegation as a client makes it: the session key consents for this account and term.
    let delegate = |key: &PrivateKey, account: [u8; 32], until: u64| Action::Delegate {
        session: bytes(key),
        until,
        consent: z3r0_sim::session_consent(&SimConfig::default().chain, key, &account, until),
    };
    let mut s = joined(&[ALICE, BOB]);
    let now = s.tick();
    // Out of range, onto a key that is taken, or without the key's consent: refused.
    let r = tick(&mut s, &[(ALICE, delegate(&session_key, ALICE, now))]);
    assert_eq!(reasons(&r, ALICE), [Reason::SessionLength]);
    let too_long = s.tick() + 2 + z3r0_sim::MAX_SESSION_TICKS; // executed at s.tick() + 1
    let r = tick(&mut s, &[(ALICE, delegate(&session_key, ALICE, too_long))]);
    assert_eq!(reasons(&r, ALICE), [Reason::SessionLength]);
    let mut to_bob = delegate(&session_key, ALICE, now + 50);
    if let Action::Delegate { session, .. } = &mut to_bob {
        *session = BOB;
    }
    let r = tick(&mut s, &[(ALICE, to_bob)]);
    assert_eq!(reasons(&r, ALICE), [Reason::KeyInUse]);
    // Someone else's key, with its consent given to another account or none at all: nobody
    // binds a key that did not agree (it would lock its owner out).
    let r = tick(&mut s, &[(BOB, delegate(&carol_key, ALICE, now + 50))]);
    assert_eq!(reasons(&r, BOB), [Reason::NoConsent]);
    // The right key's consent, given on another chain (another genesis), does not hold here.
    let elsewhere = z3r0_chain::ChainId([1; 32]);
    let r = tick(
        &mut s,
        &[(
            ALICE,
            Action::Delegate {
                session,
                until: now + 50,
                consent: z3r0_sim::session_consent(&elsewhere, &session_key, &ALICE, now + 50),
            },
        )],
    );
    assert_eq!(reasons(&r, ALICE), [Reason::NoConsent]);
    let forged = Action::Delegate {
        session: carol,
        until: now + 50,
        consent: [7; 64],
    };
    let r = tick(&mut s, &[(BOB, forged)]);
    assert_eq!(reasons(&r, BOB), [Reason::NoConsent]);
    assert!(s.session(&ALICE).is_none() && s.session(&BOB).is_none());

    let until = s.tick() + 6;
    let r = tick(&mut s, &[(ALICE, delegate(&session_key, ALICE, until))]);
    assert!(reasons(&r, ALICE).is_empty(), "{r:?}");
    assert_eq!(s.session(&ALICE).map(|x| x.until), Some(until));
    assert_eq!(s.account_of(&session), ALICE);
    assert_eq!(s.account_of(&BOB), BOB);
    // The session moves Alice's body and edits as Alice; it is no player of its own.
    let before = s.body(&ALICE).unwrap().pos;
    tick(&mut s, &[(session, input(127, 0, EAST, 0))]);
    tick(&mut s, &[]);
    assert!(s.body(&ALICE).unwrap().pos[0] > before[0]);
    assert!(s.player(&session).is_none());
    let r = tick(&mut s, &[(session, Action::Join)]);
    assert_eq!(reasons(&r, session), [Reason::AlreadyJoined]);
    // A session cannot delegate, nor be taken by another account.
    let r = tick(&mut s, &[(session, delegate(&carol_key, ALICE, until))]);
    assert_eq!(reasons(&r, session), [Reason::SessionCannotDelegate]);
    let later = s.tick() + 50;
    let r = tick(&mut s, &[(BOB, delegate(&session_key, BOB, later))]);
    assert_eq!(reasons(&r, BOB), [Reason::KeyInUse]);
    // Past `until` its actions are refused; the account itself still acts.
    while s.tick() < until {
        tick(&mut s, &[]);
    }
    let r = tick(&mut s, &[(session, input(0, 0, 0, 0))]);
    assert_eq!(reasons(&r, session), [Reason::SessionExpired]);
    assert_eq!(s.account_of(&session), session, "no longer acts for Alice");
    let r = tick(&mut s, &[(ALICE, input(0, 0, 0, 0))]);
    assert!(reasons(&r, ALICE).is_empty());

    // A new delegation replaces the old one, which then acts for no one.
    let until = s.tick() + 100;
    tick(&mut s, &[(ALICE, delegate(&carol_key, ALICE, until))]);
    assert_eq!(s.account_of(&carol), ALICE);
    assert_eq!(s.account_of(&session), session);
    let r = tick(&mut s, &[(session, input(0, 0, 0, 0))]);
    assert_eq!(reasons(&r, session), [Reason::NotJoined]);
    // The delegation is state: it survives a snapshot and restore, root and all.
    let mut snapshot = Vec::new();
    s.snapshot(&mut snapshot).unwrap();
    let restored = z3r0_sim::Sim::restore(*s.config(), &snapshot).unwrap();
    assert_eq!(restored.root(), s.root());
    assert_eq!(restored.account_of(&carol), ALICE);
    // Leaving ends it.
    tick(&mut s, &[(carol, Action::Leave)]);
    assert!(s.player(&ALICE).is_none());
    assert_eq!(s.account_of(&carol), carol);
}

#[test]
fn a_block_over_skipped_ticks_applies_each_action_at_its_tick() {
    use z3r0_sim::InputFrame;
    let mut per_tick = joined(&[ALICE, BOB]);
    let mut bytes = Vec::new();
    per_tick.snapshot(&mut bytes).unwrap();
    let mut skipping = z3r0_sim::Sim::restore(*per_tick.config(), &bytes).unwrap();
    let t = per_tick.tick();
    let walk = |yaw: u16, flags: u8| {
        Action::Input(InputFrame {
            forward: 127,
            yaw,
            flags,
            ..InputFrame::default()
        })
    };
    let f = feet(&per_tick, &BOB);
    let dig = Action::Break(VoxelPos::new(f.x + 1, FLOOR - 1, f.z));
    // (target tick, signer, action): each player changes its frame every tick, and a dig.
    let plan = [
        (t + 1, ALICE, walk(0, 0)),
        (t + 1, BOB, walk(EAST, 0)),
        (t + 2, ALICE, walk(EAST, 0)),
        (t + 2, BOB, dig.clone()),
        (t + 3, ALICE, walk(EAST, flags::JUMP)),
        (t + 3, BOB, walk(0, 0)),
        (t + 4, ALICE, walk(0, 0)),
        (t + 4, BOB, Action::Input(InputFrame::default())),
    ];
    let mut receipts = Vec::new();
    for tick in t + 1..=t + 4 {
        let payloads: Vec<(z3r0_sim::PlayerKey, Vec<u8>)> = plan
            .iter()
            .filter(|(at, ..)| *at == tick)
            .map(|(_, k, a)| (*k, a.encode_to_vec()))
            .collect();
        per_tick.execute_tick(
            tick,
            payloads.iter().map(|(k, p)| (k, p.as_slice())),
            &mut receipts,
        );
    }
    assert!(
        !receipts
            .iter()
            .any(|r| matches!(r, Receipt::Rejected { index: Some(_), .. })),
        "{receipts:?}"
    );
    // One block at t + 4 with all of them, in an order that mixes the ticks.
    let mut order: Vec<_> = plan
        .iter()
        .map(|(at, k, a)| (*k, *at, a.encode_to_vec()))
        .collect();
    order.reverse();
    let mut receipts = Vec::new();
    skipping.execute_block(
        t + 4,
        order
            .iter()
            .zip(0u64..)
            .map(|((k, at, p), nonce)| BlockAction {
                player: k,
                tick: *at,
                nonce,
                payload: p.as_slice(),
                endorsed: false,
            }),
        &mut receipts,
    );
    assert!(
        !receipts
            .iter()
            .any(|r| matches!(r, Receipt::Rejected { index: Some(_), .. })),
        "no input refused as a second one in the tick: {receipts:?}"
    );
    assert_eq!(skipping.body(&ALICE), per_tick.body(&ALICE));
    assert_eq!(skipping.body(&BOB), per_tick.body(&BOB));
    assert_eq!(
        game_state(&mut skipping),
        game_state(&mut per_tick),
        "the same state"
    );
}

/// The zone's game state: chunks, and every player's records. Receipt logs are left out: they
/// record the blocks' ticks, which differ between one block per tick and one over several.
type PlayerState = (
    z3r0_sim::PlayerKey,
    Option<z3r0_sim::Body>,
    Option<z3r0_sim::Control>,
    Option<z3r0_sim::Inventory>,
);

fn game_state(sim: &mut z3r0_sim::Sim) -> ([u8; 32], Vec<PlayerState>) {
    let players = sim
        .players()
        .map(|(k, _)| *k)
        .collect::<Vec<_>>()
        .into_iter()
        .map(|k| {
            (
                k,
                sim.body(&k).cloned(),
                sim.control(&k).cloned(),
                sim.inventory(&k).cloned(),
            )
        })
        .collect();
    (sim.voxels.chunk_root(), players)
}

#[test]
fn a_timeout_inside_skipped_ticks_happens_at_its_tick() {
    // Alice falls silent; with a 5-tick timeout she times out inside the span one block
    // covers, so her late input in that block is refused, as it would be tick by tick.
    let config = SimConfig {
        timeout_ticks: 5,
        ..SimConfig::default()
    };
    let mut per_tick = arena_with(config);
    tick(&mut per_tick, &[(ALICE, Action::Join), (BOB, Action::Join)]);
    tick(&mut per_tick, &idle(&[ALICE, BOB]));
    let mut bytes = Vec::new();
    per_tick.snapshot(&mut bytes).unwrap();
    let mut skipping = z3r0_sim::Sim::restore(config, &bytes).unwrap();
    let t = per_tick.tick();
    let input = Action::Input(z3r0_sim::InputFrame::default()).encode_to_vec();
    // Bob keeps sending; Alice sends once more at t + 8, after her timeout.
    let plan: Vec<(z3r0_sim::PlayerKey, u64)> = (t + 1..=t + 8)
        .map(|at| (BOB, at))
        .chain([(ALICE, t + 8)])
        .collect();
    let mut per_tick_receipts = Vec::new();
    for at in t + 1..=t + 8 {
        let actions: Vec<_> = plan.iter().filter(|(_, a)| *a == at).collect();
        per_tick.execute_tick(
            at,
            actions.iter().map(|(k, _)| (k, input.as_slice())),
            &mut per_tick_receipts,
        );
    }
    let mut receipts = Vec::new();
    skipping.execute_block(
        t + 8,
        plan.iter().zip(0u64..).map(|((k, at), nonce)| BlockAction {
            player: k,
            tick: *at,
            nonce,
            payload: input.as_slice(),
            endorsed: false,
        }),
        &mut receipts,
    );
    let timed_out = |r: &[Receipt]| {
        r.iter()
            .any(|x| matches!(x, Receipt::TimedOut { player } if *player == ALICE))
    };
    assert!(timed_out(&per_tick_receipts) && timed_out(&receipts));
    assert!(skipping.body(&ALICE).is_none());
    assert_eq!(
        game_state(&mut skipping),
        game_state(&mut per_tick),
        "the same state"
    );
}

#[test]
fn receipt_logs_commit_each_signers_outcomes_for_one_window() {
    let mut s = arena();
    tick(&mut s, &[(ALICE, Action::Join)]);
    let joined = s.tick();
    // A second Join is refused; a key that never joined is refused too.
    tick(&mut s, &[(ALICE, Action::Join), (BOB, Action::Leave)]);
    let (alice_log, log) = s.receipt_log(&ALICE).expect("alice signed");
    let log = log.clone();
    assert_eq!(log.key, ALICE);
    assert_eq!(log.entries.len(), 2);
    assert_eq!(log.entries[0].tick, joined);
    assert!(log.entries[0].refusals().is_empty());
    let second = &log.entries[1];
    assert_eq!(second.nonces(), &[0]);
    let refusal = second.refusals()[0];
    assert_eq!(refusal.reason, Reason::AlreadyJoined as u8);
    assert_eq!(second.refused_nonce(&refusal), Some(0));
    let (_, bob) = s.receipt_log(&BOB).expect("a refused signer has a log too");
    assert_eq!(bob.entries[0].refusals()[0].reason, Reason::NotJoined as u8);
    // The log is a committed record: changing it changes the root.
    let root = s.root();
    assert!(
        s.ecs
            .prove::<z3r0_sim::ReceiptLog>(alice_log)
            .unwrap()
            .is_some()
    );
    // Silent for a window, both logs are gone (the state holds what is live, not history).
    for _ in 0..s.config().receipt_window() {
        tick(&mut s, &[]);
    }
    assert!(s.receipt_log(&ALICE).is_none() && s.receipt_log(&BOB).is_none());
    assert_ne!(s.root(), root);
}
