//! The player edge of a validator: `z3r0-net`'s QUIC sessions backed by this validator's
//! mempool (inputs, then gossip to the committee) and its finalized game state (snapshots,
//! receipts, proven chunks, headers with the committee's certificates).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use commonware_cryptography::ed25519::PublicKey;
use z3r0_chain::SignedAction;
use z3r0_net::{ChunkData, ClaimEntry};
use z3r0_net::{EdgeFeed, ZoneBackend};
use z3r0_net::{FeedBuilder, all_claim_entries, chunk_data, claim_entries};
use z3r0_sim::Sim;
use z3r0_voxel::ChunkPos;

use crate::application::{EdgeHook, Pacing};
use crate::engine::Validator;

/// The finalizer's hook that publishes every finalized block to the edge's sessions.
pub fn publisher(feed: EdgeFeed) -> EdgeHook<Sim> {
    // The first block after a start, or after a state sync skipped blocks, only primes the
    // builder: the roots of the state before it are not at hand any more. Sessions see the
    // heights skip and check their chunks and claims again.
    let mut builder: Option<FeedBuilder> = None;
    let mut last = None;
    Box::new(move |block, sim, receipts, finality| {
        if last.is_some_and(|h: u64| block.height != h.saturating_add(1)) {
            builder = None;
        }
        last = Some(block.height);
        match builder.as_mut() {
            None => builder = Some(FeedBuilder::new(sim)),
            Some(b) if !feed.has_sessions() => b.skip(sim),
            Some(b) => feed.publish(b.update(block, sim, receipts, finality)),
        }
    })
}

/// Proven chunks kept for the current finalized height, at most.
const CACHED_CHUNKS: usize = 512;

/// [`ZoneBackend`] over a running validator. The validator is set once it has started.
#[derive(Debug)]
pub struct NodeBackend {
    pub chain: z3r0_chain::ChainId,
    pub zone: u32,
    pub pacing: Pacing,
    pub movement: z3r0_sim::Movement,
    pub validator: Mutex<Option<Arc<Validator<Sim>>>>,
    /// Chunks proven at one height, shared by the sessions that ask for them: encoding and
    /// proving a chunk holds the zone lock, and every session holding it wants it.
    pub proven: Mutex<(u64, BTreeMap<ChunkPos, ChunkData>)>,
}

impl NodeBackend {
    fn validator(&self) -> Option<Arc<Validator<Sim>>> {
        self.validator
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl ZoneBackend for NodeBackend {
    fn chain(&self) -> z3r0_chain::ChainId {
        self.chain
    }
    fn zone(&self) -> u32 {
        self.zone
    }
    fn tick_ms(&self) -> u32 {
        u32::try_from(self.pacing.tick_ms).unwrap_or(u32::MAX)
    }
    fn movement(&self) -> z3r0_sim::Movement {
        self.movement
    }
    fn genesis_ms(&self) -> u64 {
        self.pacing.genesis_ms
    }
    fn current_tick(&self) -> u64 {
        // The clock's tick, or the mempool's when ahead of it: while a node catches up, its
        // last finalized tick lags the clock and inputs aimed at it would be expired.
        let clock = self.pacing.tick_at(std::time::SystemTime::now());
        self.validator()
            .map_or(clock, |v| v.current_tick().max(clock))
    }
    fn next_nonce(&self, player: &PublicKey) -> u64 {
        self.validator().map_or(0, |v| v.next_nonce(player))
    }
    fn submit(&self, session: u64, action: SignedAction) -> Result<(), z3r0_chain::Rejection> {
        // Until the validator runs, its mempool is not there: "full" is the honest answer.
        let v = self.validator().ok_or(z3r0_chain::Rejection::Full)?;
        v.submit_action(crate::application::Source::Session(session), action)
    }
    fn claims(&self) -> (u64, Vec<ClaimEntry>) {
        let Some(v) = self.validator() else {
            return (0, Vec::new());
        };
        v.with_finalized(|sim, finalized| (finalized.block.height, all_claim_entries(sim)))
    }
    fn prove_claims(&self, which: &[((i32, i32), u64)]) -> Option<(u64, Vec<ClaimEntry>)> {
        let v = self.validator()?;
        let which = which.iter().copied();
        Some(v.with_finalized(|sim, finalized| (finalized.block.height, claim_entries(sim, which))))
    }
    fn inventory(&self, account: &[u8; 32]) -> Option<z3r0_net::InventoryEntry> {
        let v = self.validator()?;
        v.with_finalized(|sim, finalized| {
            z3r0_net::account_inventory(sim, account, finalized.block.height)
        })
    }
    fn content(&self) -> Option<(u64, Vec<z3r0_net::ContentEntry>)> {
        let v = self.validator()?;
        Some(v.with_finalized(|sim, finalized| {
            (finalized.block.height, z3r0_net::content_entries(sim))
        }))
    }
    fn account_of(&self, key: &[u8; 32]) -> [u8; 32] {
        self.validator()
            .map_or(*key, |v| v.with_finalized(|sim, _| sim.account_of(key)))
    }
    fn chunk(&self, pos: ChunkPos) -> Option<ChunkData> {
        let v = self.validator()?;
        v.with_finalized(|sim, finalized| {
            let height = finalized.block.height;
            let mut proven = self.proven.lock().unwrap_or_else(|p| p.into_inner());
            if proven.0 != height {
                *proven = (height, BTreeMap::new());
            }
            if let Some(data) = proven.1.get(&pos) {
                return Some(data.clone());
            }
            let data = chunk_data(sim, pos, height)?;
            if proven.1.len() < CACHED_CHUNKS {
                proven.1.insert(pos, data.clone());
            }
            Some(data)
        })
    }
}
