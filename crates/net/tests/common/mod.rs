//! A one-validator zone for the edge's tests: the real game (`z3r0-sim`) and the real mempool,
//! ticking on a timer instead of consensus, publishing every block to the edge with a finality
//! proof its single validator signs (quorum 1), so clients run the real light-client checks.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use commonware_codec::Encode as _;
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use z3r0_chain::{Block, Mempool, MempoolConfig, Nonces, SignedAction, StateMachine as _};
use z3r0_net::{ChunkData, FinalityProof};
use z3r0_net::{Edge, EdgeConfig, EdgeFeed, ZoneBackend};
use z3r0_net::{FeedBuilder, chunk_data};
use z3r0_sim::{Sim, SimConfig};
use z3r0_voxel::ChunkPos;

pub const ZONE: u32 = 7;
/// The local zone's chain id (its rules' default).
pub const CHAIN: z3r0_chain::ChainId = z3r0_chain::ChainId([0; 32]);
pub const TICK_MS: u64 = 50;
/// The seed of the local zone's content publisher key.
pub const PUBLISHER_SEED: u64 = 77_777;

/// The local zone's content publisher (its account bytes).
pub fn publisher() -> [u8; 32] {
    PrivateKey::from_seed(PUBLISHER_SEED)
        .public_key()
        .as_ref()
        .try_into()
        .unwrap()
}

pub struct State {
    pub sim: Sim,
    pub mempool: Mempool<u64>,
    pub builder: FeedBuilder,
    pub height: u64,
    pub tick: u64,
    pub parent: [u8; 32],
}

/// Lies a node can tell about receipt logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptLie {
    None,
    /// Adds a refusal of the newest included action that the chain did not make.
    Refuse,
    /// Sends each key this other key's genuine, proven log instead.
    Other([u8; 32]),
}

/// What a node replaying the past serves: an account's inventory proven at the freeze, and the
/// first block published after it (whose header certifies that proof).
pub struct Replay {
    pub entry: z3r0_net::InventoryEntry,
    pub update: Option<z3r0_net::TickUpdate>,
}

pub struct LocalZone {
    pub key: PrivateKey,
    pub zone: u32,
    pub state: Mutex<State>,
    pub feed: EdgeFeed,
    /// Serve chunks with one flipped byte (a lying node).
    pub corrupt_chunks: AtomicBool,
    /// Sign finality with a key outside the committee.
    pub forge_finality: AtomicBool,
    /// Show a player an inventory its proof does not cover (a lying node).
    pub corrupt_inventory: AtomicBool,
    /// What a lying node does to the receipt logs it proves (see [`ReceiptLie`]).
    pub lie_receipts: Mutex<ReceiptLie>,
    /// Name this account to every login, whoever logs in (a lying node).
    pub lie_account: Mutex<Option<[u8; 32]>>,
    /// Serve the past for ever while the chain goes on (a lying node; see [`LocalZone::replay`]).
    pub replay: Mutex<Option<Replay>>,
    /// When each tick was published (tokio's clock, simulated under turmoil).
    pub published: Mutex<std::collections::BTreeMap<u64, tokio::time::Instant>>,
    /// Blocks execute but are not published (see [`LocalZone::jump`]).
    pub muted: AtomicBool,
}

impl LocalZone {
    pub fn new(seed: u64) -> Arc<Self> {
        Self::new_in(seed, ZONE)
    }

    /// A zone numbered `zone`, its validator's key from `seed` (zones of one seed share a
    /// node, as a validator seated on several does).
    pub fn new_in(seed: u64, zone: u32) -> Arc<Self> {
        let key = PrivateKey::from_seed(seed);
        let config = SimConfig {
            publisher: Some(publisher()),
            ..SimConfig::default()
        };
        let mut sim = Sim::genesis(config).unwrap();
        let builder = FeedBuilder::new(&mut sim);
        let genesis = Block::genesis(zone, sim.root());
        let state = State {
            mempool: Mempool::new(
                MempoolConfig {
                    payload: <Sim as z3r0_chain::StateMachine>::check_payload,
                    endorsements: <Sim as z3r0_chain::StateMachine>::endorsement,
                    ..MempoolConfig::for_zone(CHAIN, zone)
                },
                Nonces::default(),
                1,
            ),
            builder,
            height: 0,
            tick: 0,
            parent: genesis.digest(),
            sim,
        };
        Arc::new(Self {
            key,
            zone,
            state: Mutex::new(state),
            feed: EdgeFeed::new(),
            corrupt_chunks: AtomicBool::new(false),
            forge_finality: AtomicBool::new(false),
            corrupt_inventory: AtomicBool::new(false),
            lie_account: Mutex::new(None),
            replay: Mutex::new(None),
            lie_receipts: Mutex::new(ReceiptLie::None),
            published: Mutex::default(),
            muted: AtomicBool::new(false),
        })
    }

    pub fn validator(&self) -> PublicKey {
        self.key.public_key()
    }

    /// Executes one block of whatever the mempool holds and publishes it.
    pub fn step(&self) {
        let mut s = self.state.lock().unwrap();
        let tick = s.tick + 1;
        let actions = s.mempool.propose(tick, 1024);
        let block = Block {
            parent: s.parent,
            height: s.height + 1,
            tick,
            zone: self.zone,
            parent_state_root: s.sim.root(),
            actions,
            imports: Vec::new(),
        };
        let mut receipts = Vec::new();
        let s = &mut *s;
        s.sim.execute(tick, &block.actions, &[], &mut receipts);
        s.mempool.finalized(tick, &block.actions);
        let digest = block.digest();
        let signer = if self.forge_finality.load(Ordering::Relaxed) {
            PrivateKey::from_seed(999_999)
        } else {
            self.key.clone()
        };
        let mut proposal = b"test-proposal".to_vec();
        proposal.extend_from_slice(&digest);
        let mut ns = CHAIN.namespace(z3r0_chain::CONSENSUS_NAMESPACE);
        ns.extend_from_slice(b"_FINALIZE");
        let sig: [u8; 64] = signer
            .sign(&ns, &proposal)
            .encode()
            .as_ref()
            .try_into()
            .unwrap();
        let finality = FinalityProof {
            proposal,
            signatures: vec![(0, sig)],
        };
        let mut update = s
            .builder
            .update(&block, &mut s.sim, &receipts, Some(finality));
        match *self.lie_receipts.lock().unwrap() {
            ReceiptLie::None => {}
            ReceiptLie::Refuse => {
                for entry in update.receipts.values_mut() {
                    if let Some(o) = entry.log.entries.last_mut() {
                        let slot = o.nonces().len().checked_sub(1).map(|s| s as u8);
                        o.push_refusal(z3r0_sim::Refusal {
                            action: 0,
                            reason: z3r0_sim::Reason::OutOfReach as u8,
                            slot,
                        });
                    }
                }
            }
            ReceiptLie::Other(other) => {
                let height = block.height;
                if let Some(theirs) = z3r0_net::receipts_entry(&mut s.sim, &other, height) {
                    for entry in update.receipts.values_mut() {
                        *entry = theirs.clone();
                    }
                }
            }
        }
        s.height = block.height;
        s.tick = tick;
        s.parent = digest;
        self.published
            .lock()
            .unwrap()
            .insert(tick, tokio::time::Instant::now());
        let update = match self.replay.lock().unwrap().as_mut() {
            Some(replay) => replay.update.get_or_insert(update).clone(),
            None => update,
        };
        if !self.muted.load(Ordering::Relaxed) {
            self.feed.publish(update);
        }
    }

    /// What an edge sees of a validator that state-synced in place: `change` happens to the
    /// state and `blocks` blocks pass unpublished, then the feed goes on from the new state
    /// (its builder primed again, as the node's publisher does after a skip).
    pub fn jump(&self, blocks: u64, change: impl FnOnce(&mut Sim)) {
        self.muted.store(true, Ordering::Relaxed);
        change(&mut self.state.lock().unwrap().sim);
        for _ in 0..blocks {
            self.step();
        }
        let mut s = self.state.lock().unwrap();
        s.builder = FeedBuilder::new(&mut s.sim);
        self.muted.store(false, Ordering::Relaxed);
    }

    /// From now on the edge replays the past (a lying node): `account`'s inventory as proven
    /// now, to whoever logs in, and the next block, for ever, while the chain goes on.
    pub fn replay(&self, account: &[u8; 32]) {
        let mut s = self.state.lock().unwrap();
        let height = s.height;
        let entry = z3r0_net::account_inventory(&mut s.sim, account, height)
            .expect("the account has a body here");
        *self.replay.lock().unwrap() = Some(Replay {
            entry,
            update: None,
        });
    }

    /// The edge serves the chain as it is again (after [`LocalZone::replay`]).
    pub fn live(&self) {
        *self.replay.lock().unwrap() = None;
    }

    /// Ticks every 50 ms until dropped.
    pub fn run(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let zone = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_millis(TICK_MS));
            loop {
                interval.tick().await;
                zone.step();
            }
        })
    }

    pub fn serve(self: &Arc<Self>, config: EdgeConfig) -> Edge {
        z3r0_net::serve(&self.key, config, self.clone(), self.feed.clone()).unwrap()
    }
}

impl ZoneBackend for LocalZone {
    fn chain(&self) -> z3r0_chain::ChainId {
        CHAIN
    }
    fn zone(&self) -> u32 {
        self.zone
    }
    fn tick_ms(&self) -> u32 {
        TICK_MS as u32
    }
    fn movement(&self) -> z3r0_sim::Movement {
        self.state.lock().unwrap().sim.config().movement
    }
    fn genesis_ms(&self) -> u64 {
        0
    }
    fn current_tick(&self) -> u64 {
        self.state.lock().unwrap().mempool.current_tick()
    }
    fn next_nonce(&self, player: &PublicKey) -> u64 {
        self.state.lock().unwrap().mempool.next_unused_nonce(player)
    }
    fn submit(&self, session: u64, action: SignedAction) -> Result<(), z3r0_chain::Rejection> {
        self.state.lock().unwrap().mempool.submit(&session, action)
    }
    fn claims(&self) -> (u64, Vec<z3r0_net::ClaimEntry>) {
        let mut s = self.state.lock().unwrap();
        let height = s.height;
        (height, z3r0_net::all_claim_entries(&mut s.sim))
    }
    fn prove_claims(
        &self,
        which: &[((i32, i32), u64)],
    ) -> Option<(u64, Vec<z3r0_net::ClaimEntry>)> {
        let mut s = self.state.lock().unwrap();
        let height = s.height;
        let which = which.iter().copied();
        Some((height, z3r0_net::claim_entries(&mut s.sim, which)))
    }
    fn content(&self) -> Option<(u64, Vec<z3r0_net::ContentEntry>)> {
        let mut s = self.state.lock().unwrap();
        let height = s.height;
        Some((height, z3r0_net::content_entries(&mut s.sim)))
    }
    fn inventory(&self, account: &[u8; 32]) -> Option<z3r0_net::InventoryEntry> {
        if let Some(replay) = self.replay.lock().unwrap().as_ref() {
            return Some(replay.entry.clone());
        }
        let mut s = self.state.lock().unwrap();
        let height = s.height;
        let mut entry = z3r0_net::account_inventory(&mut s.sim, account, height)?;
        if self.corrupt_inventory.load(Ordering::Relaxed) {
            entry.inventory.add(z3r0_voxel::blocks::STONE);
        }
        Some(entry)
    }
    fn account_of(&self, key: &[u8; 32]) -> [u8; 32] {
        if let Some(account) = *self.lie_account.lock().unwrap() {
            return account;
        }
        self.state.lock().unwrap().sim.account_of(key)
    }
    fn chunk(&self, pos: ChunkPos) -> Option<ChunkData> {
        let mut s = self.state.lock().unwrap();
        let height = s.height;
        let mut data = chunk_data(&mut s.sim, pos, height)?;
        if self.corrupt_chunks.load(Ordering::Relaxed) {
            let last = data.chunk.len() - 1;
            data.chunk[last] ^= 1;
        }
        Some(data)
    }
}

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}
