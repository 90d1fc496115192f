//! The execution interface: what the chain asks of a state machine, and a small one for the
//! chain's own tests.

use crate::action::SignedAction;
use std::collections::BTreeMap;

pub type Hash = [u8; 32];

/// A deterministic state machine driven by finalized blocks: every validator applies the same
/// blocks in the same order and must reach the same root.
pub trait StateMachine {
    type Receipt;
    /// Root of the current state.
    fn root(&self) -> Hash;
    /// Applies one finalized block (its actions already verified, in block order) and returns
    /// the new root; receipts are appended.
    fn execute(
        &mut self,
        tick: u64,
        actions: &[SignedAction],
        receipts: &mut Vec<Self::Receipt>,
    ) -> Hash;
}

/// Per-player counters: each action's payload is a big-endian `u64` added to the signer's
/// counter (malformed payloads count as zero). Root: blake3 over the counters in key order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    counters: BTreeMap<[u8; 32], u64>,
    root: Hash,
}

impl Counters {
    pub fn get(&self, player: &[u8; 32]) -> u64 {
        self.counters.get(player).copied().unwrap_or(0)
    }

    fn compute_root(&self) -> Hash {
        let mut h = blake3::Hasher::new();
        h.update(b"z3r0/counters");
        for (k, v) in &self.counters {
            h.update(k);
            h.update(&v.to_be_bytes());
        }
        *h.finalize().as_bytes()
    }
}

/// Receipt of [`Counters`]: the player's counter after the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterReceipt {
    pub player: [u8; 32],
    pub value: u64,
}

impl StateMachine for Counters {
    type Receipt = CounterReceipt;

    fn root(&self) -> Hash {
        if self.counters.is_empty() {
            return self.compute_root();
        }
        self.root
    }

    fn execute(
        &mut self,
        _tick: u64,
        actions: &[SignedAction],
        receipts: &mut Vec<CounterReceipt>,
    ) -> Hash {
        for a in actions {
            let mut player = [0u8; 32];
            player.copy_from_slice(a.action.player.as_ref());
            let add = <[u8; 8]>::try_from(a.action.payload.as_ref()).map_or(0, u64::from_be_bytes);
            let c = self.counters.entry(player).or_insert(0);
            *c = c.wrapping_add(add);
            receipts.push(CounterReceipt { player, value: *c });
        }
        self.root = self.compute_root();
        self.root
    }
}
