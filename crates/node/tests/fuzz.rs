//! Structure-aware property tests of the node's decoders: gossip batches, blocks as consensus
//! carries them, and checkpoints, mutated field-aware (z3r0_chain::mutate), end in a typed
//! error or a valid value.
#![allow(clippy::unwrap_used)]

use commonware_codec::{Decode as _, Encode as _};
use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use proptest::prelude::*;
use rand_core::SeedableRng as _;
use std::sync::Arc;
use z3r0_chain::mutate::Mutation;
use z3r0_chain::{Action, Block, ChainId, Counters, MempoolConfig, SignedAction};
use z3r0_node::Executor;
use z3r0_node::ZoneBlock;
use z3r0_node::{decode_batch, encode_batch};

const CHAIN: ChainId = ChainId([2; 32]);

fn actions() -> Vec<SignedAction> {
    (0..3)
        .map(|n| {
            let key = PrivateKey::from_seed(n);
            Action {
                player: key.public_key(),
                zone: 1,
                tick: 1,
                nonce: 0,
                payload: 7u64.to_be_bytes().to_vec().into(),
            }
            .sign(&key, &CHAIN)
        })
        .collect()
}

fn entropy() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(5)
}

/// A checkpoint after one block of three actions.
fn checkpoint() -> Vec<u8> {
    let config = MempoolConfig::for_zone(CHAIN, 1);
    let mut ex = Executor::new(config, Counters::default(), &mut entropy());
    let g = ex.finalized().clone();
    let block = Arc::new(Block {
        parent: g.digest,
        height: 1,
        tick: 1,
        zone: 1,
        parent_state_root: g.root,
        actions: actions(),
        imports: Vec::new(),
    });
    ex.finalize(block, &mut Vec::new()).unwrap();
    ex.checkpoint().unwrap()
}

proptest! {
    #[test]
    fn mutated_gossip_and_blocks_decode_or_refuse(m in any::<(u8, usize, usize, u8)>()) {
        let m = Mutation::from(m);
        let _ = decode_batch(&m.apply(&encode_batch(&actions())));
        let block = ZoneBlock::new(Block {
            parent: [1; 32],
            height: 2,
            tick: 3,
            zone: 1,
            parent_state_root: [4; 32],
            actions: actions(),
            imports: Vec::new(),
        });
        let bytes = m.apply(&block.encode());
        let _ = ZoneBlock::decode_cfg(commonware_codec::Copying(&bytes[..]), &());
    }

    #[test]
    fn mutated_checkpoints_resume_or_refuse(m in any::<(u8, usize, usize, u8)>()) {
        let config = MempoolConfig::for_zone(CHAIN, 1);
        let bytes = Mutation::from(m).apply(&checkpoint());
        let _ = Executor::resume(config, &Counters::default(), &bytes, &mut entropy());
    }
}
