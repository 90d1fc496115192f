//! Structure-aware property tests of the game's decoders: every game action and a zone
//! snapshot, mutated field-aware (z3r0_chain::mutate), decode to a typed error or a valid value.
#![allow(clippy::unwrap_used)]

mod common;

use proptest::prelude::*;
use z3r0_chain::mutate::Mutation;
use z3r0_sim::{Action, InputFrame, Sim, SimConfig};
use z3r0_voxel::VoxelPos;

fn actions() -> Vec<Action> {
    let pos = VoxelPos::new(-3, 40, 7);
    vec![
        Action::Join,
        Action::Leave,
        Action::Input(InputFrame {
            forward: 1,
            strafe: -1,
            yaw: 300,
            pitch: -20,
            flags: 1,
        }),
        Action::Break(pos),
        Action::Place(pos, 3),
        Action::Claim(-1, 2),
        Action::Release(-1, 2),
        Action::Grant(0, 0, [5; 32]),
        Action::Revoke(0, 0, [5; 32]),
        Action::Delegate {
            session: [6; 32],
            until: 99,
            consent: [7; 64],
        },
    ]
}

fn small() -> SimConfig {
    common::tiny_zone()
}

proptest! {
    #[test]
    fn mutated_game_actions_decode_or_refuse(m in any::<(u8, usize, usize, u8)>()) {
        let m = Mutation::from(m);
        for action in actions() {
            let bytes = m.apply(&action.encode_to_vec());
            if let Ok(decoded) = Action::decode(&bytes) {
                // Canonical: whatever decodes encodes back to the same bytes.
                prop_assert_eq!(decoded.encode_to_vec(), bytes);
            }
        }
    }
}

proptest! {
    // Each case regenerates the zone to restore into: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn mutated_snapshots_restore_or_refuse(m in any::<(u8, usize, usize, u8)>()) {
        let sim = Sim::genesis(small()).unwrap();
        let mut bytes = Vec::new();
        sim.snapshot(&mut bytes).unwrap();
        let _ = Sim::restore(small(), &Mutation::from(m).apply(&bytes));
    }
}

#[test]
fn the_mutated_actions_include_every_kind() {
    assert_eq!(actions().len(), 10);
    for action in actions() {
        assert_eq!(Action::decode(&action.encode_to_vec()).unwrap(), action);
    }
}
