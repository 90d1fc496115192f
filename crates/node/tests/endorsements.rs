//! A delegation carries the session key's consent, a second signature. The chain checks it
//! where it checks the action's own (the mempool, and block verification in the block's
//! batch), so a block carrying a forged consent is refused before anything executes, and
//! execution never verifies a signature under the zone lock.
#![allow(clippy::unwrap_used)]

use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use rand_core::SeedableRng as _;
use std::sync::Arc;
use z3r0_chain::{
    Action, Block, BlockActionsError, ChainId, Mempool, MempoolConfig, Nonces, Rejection,
    SignedAction, StateMachine,
};
use z3r0_node::{ExecError, Executor};
use z3r0_sim::{Action as GameAction, Sim};

const ZONE: u32 = 0;

fn config() -> MempoolConfig {
    MempoolConfig {
        payload: Sim::check_payload,
        endorsements: Sim::endorsement,
        ..MempoolConfig::for_zone(ChainId::default(), ZONE)
    }
}

fn signed(key: &PrivateKey, nonce: u64, tick: u64, action: &GameAction) -> SignedAction {
    Action {
        player: key.public_key(),
        zone: ZONE,
        tick,
        nonce,
        payload: action.encode_to_vec().into(),
    }
    .sign(key, &ChainId::default())
}

fn key_bytes(key: &PrivateKey) -> [u8; 32] {
    key.public_key().as_ref().try_into().unwrap()
}

/// `account` delegating to `session` through `until`, the consent signed by `consenter`.
fn delegate(
    account: &PrivateKey,
    session: &PrivateKey,
    consenter: &PrivateKey,
    until: u64,
) -> GameAction {
    GameAction::Delegate {
        session: key_bytes(session),
        until,
        consent: z3r0_sim::session_consent(
            &ChainId::default(),
            consenter,
            &key_bytes(account),
            until,
        ),
    }
}

#[test]
fn a_forged_consent_is_refused_with_the_blocks_signatures() {
    let (account, session, other) = (
        PrivateKey::from_seed(1),
        PrivateKey::from_seed(2),
        PrivateKey::from_seed(3),
    );
    let mut entropy = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let mut ex = Executor::new(config(), z3r0_node::small_game(), &mut entropy);
    let g = ex.finalized().clone();
    let block = |parent: &z3r0_node::Executed, tick, actions| {
        Arc::new(Block {
            parent: parent.digest,
            height: parent.block.height + 1,
            tick,
            zone: ZONE,
            parent_state_root: parent.root,
            actions,
            imports: Vec::new(),
        })
    };
    let joined = ex
        .finalize(
            block(&g, 1, vec![signed(&account, 0, 1, &GameAction::Join)]),
            &mut Vec::new(),
        )
        .unwrap();
    // The action's own signature is the account's and valid; the consent is not the
    // session key's. The whole block is refused, naming the action.
    let forged = signed(&account, 1, 2, &delegate(&account, &session, &other, 400));
    let bad = block(&joined, 2, vec![forged.clone()]);
    let err = ex.check(&bad).unwrap_err();
    assert!(
        matches!(
            err,
            ExecError::Actions {
                source: BlockActionsError::Invalid {
                    index: 0,
                    reason: Rejection::BadSignature
                },
                ..
            }
        ),
        "{err}"
    );
    assert!(ex.finalize(bad, &mut Vec::new()).is_err());
    // The mempool refuses it at the door, so an honest proposer never includes it.
    let mut mempool = Mempool::new(config(), Nonces::default(), 2);
    assert_eq!(mempool.submit(&0u8, forged), Err(Rejection::BadSignature));
    // With the session key's own consent the block passes and the delegation holds.
    let good = signed(&account, 1, 2, &delegate(&account, &session, &session, 400));
    assert_eq!(mempool.submit(&0u8, good.clone()), Ok(()));
    let ok = block(&joined, 2, vec![good]);
    ex.check(&ok).unwrap();
    ex.finalize(ok, &mut Vec::new()).unwrap();
    let held = ex.state().session(&key_bytes(&account)).copied();
    assert_eq!(
        held.map(|s| (s.key, s.until)),
        Some((key_bytes(&session), 400))
    );
}
