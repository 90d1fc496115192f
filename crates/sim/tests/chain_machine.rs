//! Driven through the chain's `StateMachine` interface with real signed actions, the game reaches
//! the same roots as when driven directly.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use z3r0_chain::{Action as ChainAction, StateMachine};
use z3r0_sim::{Action, InputFrame, Sim, SimConfig};

fn small() -> SimConfig {
    SimConfig {
        chunks_x: (-1, 1),
        chunks_y: (-1, 2),
        chunks_z: (-1, 1),
        ..SimConfig::default()
    }
}

#[test]
fn chain_driven_and_direct_execution_agree() {
    let keys: Vec<PrivateKey> = (0..3).map(PrivateKey::from_seed).collect();
    let mut via_chain = Sim::genesis(small()).unwrap();
    let mut direct = Sim::genesis(small()).unwrap();
    for tick in 1..30u64 {
        let game: Vec<Action> = if tick == 1 {
            vec![Action::Join; 3]
        } else {
            (0..3u64)
                .map(|i| {
                    Action::Input(InputFrame {
                        forward: 100,
                        yaw: ((i * 20_000 + tick * 500) % 65_536) as u16,
                        ..InputFrame::default()
                    })
                })
                .collect()
        };
        let signed: Vec<_> = keys
            .iter()
            .zip(&game)
            .map(|(k, a)| {
                ChainAction {
                    player: k.public_key(),
                    zone: 0,
                    tick,
                    nonce: tick - 1,
                    payload: Bytes::from(a.encode_to_vec()),
                }
                .sign(k, &z3r0_chain::ChainId::default())
            })
            .collect();
        let mut r1 = Vec::new();
        let root = StateMachine::execute(&mut via_chain, tick, &signed, &[], &mut r1);
        let payloads: Vec<([u8; 32], u64, Vec<u8>)> = signed
            .iter()
            .map(|s| {
                let mut k = [0u8; 32];
                k.copy_from_slice(s.action.player.as_ref());
                (k, s.action.nonce, s.action.payload.to_vec())
            })
            .collect();
        let mut r2 = Vec::new();
        let direct_root = direct.execute_block(
            tick,
            payloads.iter().map(|(k, nonce, p)| z3r0_sim::BlockAction {
                player: k,
                tick,
                nonce: *nonce,
                payload: p.as_slice(),
                endorsed: false,
            }),
            &mut r2,
        );
        assert_eq!(root, direct_root, "tick {tick}");
        assert_eq!(r1, r2);
        assert_eq!(StateMachine::root(&via_chain), root);
    }
    let mut k0 = [0u8; 32];
    k0.copy_from_slice(keys[0].public_key().as_ref());
    assert!(
        via_chain.body(&k0).is_some(),
        "players joined through signed actions"
    );
}

#[test]
fn only_game_actions_pass_the_payload_check() {
    assert!(Sim::check_payload(&Action::Join.encode_to_vec()).is_ok());
    let mut long = Action::Join.encode_to_vec();
    long.push(0);
    for junk in [&[][..], &[0xff; 5][..], &long[..]] {
        let reason = Sim::check_payload(junk).unwrap_err();
        assert!(reason.contains("not a game action"), "{reason}");
    }
}
