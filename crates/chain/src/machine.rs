//! The execution interface: what the chain asks of a state machine, and a small one for the
//! chain's own tests.

use crate::action::SignedAction;
use std::collections::BTreeMap;

pub type Hash = [u8; 32];

/// A stateless, cheap check of an action's payload (a decode). The mempool runs it before the
/// signature, and verifiers refuse a block carrying a payload it refuses, so such payloads are
/// never gossiped, proposed, finalized or archived.
pub type PayloadCheck = fn(&[u8]) -> Result<(), String>;

/// The payload check of a machine that gives every payload a meaning.
pub fn any_payload(_: &[u8]) -> Result<(), String> {
    Ok(())
}

/// Checks an import as [`StateMachine::check_import`] does, without the state.
pub type ImportChecker = std::sync::Arc<dyn Fn(&[u8]) -> Result<(), String> + Send + Sync>;

/// A deterministic state machine driven by finalized blocks: every validator applies the same
/// blocks in the same order and must reach the same root.
pub trait StateMachine {
    type Receipt;
    /// Whether this machine can decode `payload`; the reason if not (see [`PayloadCheck`]).
    fn check_payload(payload: &[u8]) -> Result<(), String>
    where
        Self: Sized;
    /// The signature `action`'s payload carries besides the action's own, if any: the chain
    /// checks it wherever it checks the action's (the mempool, block verification, in the
    /// block's batch), so [`StateMachine::execute`] gets only actions whose endorsements hold.
    fn endorsement(action: &SignedAction) -> Result<Option<crate::action::Endorsement>, String>
    where
        Self: Sized,
    {
        crate::action::no_endorsements(action)
    }
    /// Checks one import (a record of another chain's finalized state) before any state is
    /// looked at: a block carrying one that fails is refused. A machine that takes no imports
    /// refuses every one.
    fn check_import(&self, _import: &[u8]) -> Result<(), String> {
        Err("this chain takes no imports".into())
    }
    /// [`StateMachine::check_import`] as a handle of its own, which needs no access to the
    /// state: a node checks an offered import's signatures with it outside its zone's lock.
    /// It must answer as `check_import` does.
    fn import_checker(&self) -> ImportChecker {
        std::sync::Arc::new(|_: &[u8]| Err("this chain takes no imports".into()))
    }
    /// What an import proves, as (source, kind, number), if this state still needs it; `None`
    /// if it does not (or the machine takes no imports). Cheap: no signatures. Pools hold one
    /// import per key, and drop those the finalized state no longer needs.
    fn import_key(&self, _import: &[u8]) -> Option<(u32, u8, u64)> {
        None
    }
    /// Root of the current state.
    fn root(&self) -> Hash;
    /// Applies one finalized block (its actions and their endorsements already verified, in
    /// block order; its imports each passed [`StateMachine::check_import`]) and returns the new
    /// root; receipts are appended.
    fn execute(
        &mut self,
        tick: u64,
        actions: &[SignedAction],
        imports: &[Vec<u8>],
        receipts: &mut Vec<Self::Receipt>,
    ) -> Hash;
}

/// State that can be written out and read back: checkpoints on disk, and forks for executing
/// blocks that are notarized but not yet final.
pub trait Snapshot: Sized {
    type Error: std::error::Error + Send + Sync + 'static;
    /// Appends the whole state, canonically encoded.
    fn snapshot(&self, out: &mut Vec<u8>) -> Result<(), Self::Error>;
    /// A state with this one's configuration, read from [`Snapshot::snapshot`] bytes. Bad bytes
    /// give an error, never a panic.
    fn restore(&self, bytes: &[u8]) -> Result<Self, Self::Error>;
    /// An independent copy of this state.
    fn fork(&self) -> Result<Self, Self::Error> {
        let mut bytes = Vec::new();
        self.snapshot(&mut bytes)?;
        self.restore(&bytes)
    }
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

    /// Every payload counts: a big-endian `u64` is added, anything else adds zero.
    fn check_payload(payload: &[u8]) -> Result<(), String> {
        any_payload(payload)
    }

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
        _imports: &[Vec<u8>],
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

/// Why counter snapshot bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad counters snapshot: {0}")]
pub struct CountersSnapshotError(&'static str);

impl Snapshot for Counters {
    type Error = CountersSnapshotError;

    fn snapshot(&self, out: &mut Vec<u8>) -> Result<(), Self::Error> {
        out.extend_from_slice(&(self.counters.len() as u64).to_be_bytes());
        for (k, v) in &self.counters {
            out.extend_from_slice(k);
            out.extend_from_slice(&v.to_be_bytes());
        }
        Ok(())
    }

    fn restore(&self, bytes: &[u8]) -> Result<Self, Self::Error> {
        let (len, mut rest) = bytes
            .split_first_chunk::<8>()
            .ok_or(CountersSnapshotError("truncated"))?;
        let len = u64::from_be_bytes(*len);
        if len.checked_mul(40) != Some(rest.len() as u64) {
            return Err(CountersSnapshotError("length does not match"));
        }
        let mut counters = BTreeMap::new();
        while let Some((k, tail)) = rest.split_first_chunk::<32>() {
            let (v, tail) = tail
                .split_first_chunk::<8>()
                .ok_or(CountersSnapshotError("truncated"))?;
            if counters.insert(*k, u64::from_be_bytes(*v)).is_some() {
                return Err(CountersSnapshotError("duplicate player"));
            }
            rest = tail;
        }
        let mut restored = Counters {
            counters,
            root: [0; 32],
        };
        restored.root = restored.compute_root();
        Ok(restored)
    }

    fn fork(&self) -> Result<Self, Self::Error> {
        Ok(self.clone())
    }
}
