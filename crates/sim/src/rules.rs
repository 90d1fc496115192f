//! The state machine: actions, systems, receipts.

use crate::action::{Action, InputFrame, PlayerKey, flags};
use crate::components::{Body, Claim, Control, Inventory, Player, Session, body_state};
use crate::fixed::{TRIG_ONE, UNIT, cos, isqrt, sin};
use crate::physics::{self, Aabb, EYE, Ray, STEP};
use crate::receipts::{ReceiptLog, Refusal};
use commonware_codec::{Read as _, Write as _};
use std::collections::BTreeMap;
use z3r0_ecs::{Alive, Change, EntityId, Hash, state_root};
use z3r0_voxel::{BlockId, ChunkPos, VoxelPos, WorldGen, block_info, blocks};

/// Movement and reach rules, per 50 ms tick, in fixed point.
pub mod limits {
    use crate::fixed::UNIT;
    pub const WALK: i64 = 220; // 4.3 m/s
    pub const SPRINT: i64 = 287; // 5.6 m/s
    pub const CROUCH: i64 = 67; // 1.3 m/s
    pub const SWIM: i64 = 100;
    pub const GRAVITY: i64 = 82; // 32 m/s²
    pub const WATER_GRAVITY: i64 = 20;
    pub const MAX_FALL: i64 = 3_994; // 78 m/s
    pub const MAX_SINK: i64 = 102;
    pub const JUMP: i64 = 461; // 1.27 m apex
    pub const SWIM_UP: i64 = 100;
    /// Reach: eye to the centre of the target voxel.
    pub const REACH: i64 = 6 * UNIT;
}

/// Why an action was refused. The code is stable: clients show the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Reason {
    /// Undecodable or out-of-range payload.
    BadFrame = 1,
    /// A second input frame in one tick, or a move intent beyond a full stick.
    TooFast = 2,
    /// Jumping while neither on the ground nor in water.
    NotOnGround = 3,
    /// Walking into a wall: the move was stopped at its face.
    Blocked = 4,
    OutOfReach = 5,
    NoLineOfSight = 6,
    /// The chunk column is claimed by someone who has not granted you build rights.
    NotYours = 7,
    NothingInInventory = 8,
    InventoryFull = 9,
    /// Nothing to break there (air or water).
    NothingThere = 10,
    /// Something is already there, or a player stands there.
    Occupied = 11,
    OutOfZone = 12,
    AlreadyClaimed = 13,
    ClaimLimit = 14,
    NotClaimed = 15,
    NotJoined = 16,
    AlreadyJoined = 17,
    TooManyBuilders = 18,
    /// Placing air is not placing.
    NotABlock = 19,
    /// Signed by a session key whose delegation has run out.
    SessionExpired = 20,
    /// The key to delegate to is already a player or another player's session.
    KeyInUse = 21,
    /// A delegation must end after this tick and within [`MAX_SESSION_TICKS`] of it.
    SessionLength = 22,
    /// Only the account key may delegate, not a session key.
    SessionCannotDelegate = 23,
    /// The delegation does not carry the session key's signature for this account and term.
    NoConsent = 24,
}

impl Reason {
    /// Every reason, in code order (code = index + 1).
    pub const ALL: [Reason; 24] = [
        Reason::BadFrame,
        Reason::TooFast,
        Reason::NotOnGround,
        Reason::Blocked,
        Reason::OutOfReach,
        Reason::NoLineOfSight,
        Reason::NotYours,
        Reason::NothingInInventory,
        Reason::InventoryFull,
        Reason::NothingThere,
        Reason::Occupied,
        Reason::OutOfZone,
        Reason::AlreadyClaimed,
        Reason::ClaimLimit,
        Reason::NotClaimed,
        Reason::NotJoined,
        Reason::AlreadyJoined,
        Reason::TooManyBuilders,
        Reason::NotABlock,
        Reason::SessionExpired,
        Reason::KeyInUse,
        Reason::SessionLength,
        Reason::SessionCannotDelegate,
        Reason::NoConsent,
    ];

    /// The reason with stable code `code` (as receipts carry it).
    pub fn from_code(code: u8) -> Option<Reason> {
        Self::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

    pub fn message(self) -> &'static str {
        match self {
            Reason::BadFrame => "bad frame",
            Reason::TooFast => "too fast",
            Reason::NotOnGround => "not on the ground",
            Reason::Blocked => "blocked by a wall",
            Reason::OutOfReach => "out of reach",
            Reason::NoLineOfSight => "no line of sight",
            Reason::NotYours => "not yours",
            Reason::NothingInInventory => "nothing in inventory",
            Reason::InventoryFull => "inventory full",
            Reason::NothingThere => "nothing there",
            Reason::Occupied => "occupied",
            Reason::OutOfZone => "outside this zone",
            Reason::AlreadyClaimed => "already claimed",
            Reason::ClaimLimit => "claim limit reached",
            Reason::NotClaimed => "not claimed by you",
            Reason::NotJoined => "not joined",
            Reason::AlreadyJoined => "already joined",
            Reason::TooManyBuilders => "too many builders",
            Reason::NotABlock => "not a block",
            Reason::SessionExpired => "session expired",
            Reason::KeyInUse => "key already in use",
            Reason::SessionLength => "session length out of range",
            Reason::SessionCannotDelegate => "a session key cannot delegate",
            Reason::NoConsent => "the session key did not consent",
        }
    }
}

/// What a tick produced, in order: action outcomes first, then the hooks' records of committed
/// changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    Rejected {
        player: PlayerKey,
        action: u8,
        reason: Reason,
        /// Position of the refused action in the block; `None` for an outcome of movement in
        /// the frame in force (a wall, a mid-air jump) rather than of one action.
        index: Option<u32>,
    },
    Joined {
        player: PlayerKey,
        entity: EntityId,
    },
    Left {
        player: PlayerKey,
    },
    TimedOut {
        player: PlayerKey,
    },
    BlockChanged {
        pos: VoxelPos,
        from: BlockId,
        to: BlockId,
        by: PlayerKey,
    },
    /// Hook on `Alive`.
    Spawned(EntityId),
    Despawned(EntityId),
    /// Hook on `Inventory`.
    InventoryChanged(EntityId, Inventory),
    /// Hook on `Claim`: the claim entity and its column, owner and builders now (None: released).
    ClaimChanged {
        entity: EntityId,
        column: (i32, i32),
        claim: Option<Claim>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("zone of {chunks} chunks exceeds the limit of {limit}")]
    ZoneTooLarge { chunks: usize, limit: usize },
    #[error("zone bounds are empty")]
    EmptyZone,
    #[error("{axis} chunk bound {value} is outside ±{limit}")]
    ChunkBound {
        axis: &'static str,
        value: i32,
        limit: i32,
    },
    #[error("timeout_ticks {0} is outside 1..={MAX_TIMEOUT_TICKS}")]
    TimeoutTicks(u64),
    #[error("claim_limit {0} is above {MAX_CLAIM_LIMIT}")]
    ClaimLimit(u32),
    #[error(transparent)]
    Ecs(#[from] z3r0_ecs::EcsError),
    #[error(transparent)]
    World(#[from] z3r0_voxel::WorldError),
    #[error("snapshot: {0}")]
    BadSnapshot(&'static str),
    #[error("snapshot records: {0}")]
    SnapshotRecords(#[from] z3r0_ecs::SnapshotError),
    #[error("snapshot chunk {pos:?}: {source}")]
    SnapshotChunk {
        pos: ChunkPos,
        source: z3r0_voxel::ChunkDecodeError,
    },
}

/// A zone's rules and extent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimConfig {
    /// The chain these rules run on: session consents are signed for it.
    pub chain: z3r0_chain::ChainId,
    pub seed: u64,
    /// Chunk columns `x, z` in `min..max` (exclusive) and chunk layers `y` in `min..max`.
    pub chunks_x: (i32, i32),
    pub chunks_y: (i32, i32),
    pub chunks_z: (i32, i32),
    /// Chunk columns one player may claim.
    pub claim_limit: u32,
    /// Ticks without input before a player is removed.
    pub timeout_ticks: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            chain: z3r0_chain::ChainId::default(),
            seed: 42,
            chunks_x: (-2, 2),
            chunks_y: (-2, 3),
            chunks_z: (-2, 2),
            claim_limit: 4,
            timeout_ticks: 600,
        }
    }
}

/// Largest chunk coordinate a zone may span: voxel coordinates (×32) and body positions in
/// fixed point (×32×1024) stay far inside `i32` and `i64`.
pub const MAX_CHUNK_COORD: i32 = 1 << 20;
/// Longest silence before a player is removed, in ticks (24 hours at 50 ms ticks; longer at
/// slower ticks).
pub const MAX_TIMEOUT_TICKS: u64 = 24 * 60 * 60 * 20;
/// Most chunk columns one player may claim.
pub const MAX_CLAIM_LIMIT: u32 = 4_096;

impl SimConfig {
    /// Checks the values a genesis file supplies before any rule computes with them.
    pub fn check(&self) -> Result<(), SimError> {
        let axes = [
            ("x", self.chunks_x),
            ("y", self.chunks_y),
            ("z", self.chunks_z),
        ];
        for (axis, (min, max)) in axes {
            for value in [min, max] {
                if !(-MAX_CHUNK_COORD..=MAX_CHUNK_COORD).contains(&value) {
                    return Err(SimError::ChunkBound {
                        axis,
                        value,
                        limit: MAX_CHUNK_COORD,
                    });
                }
            }
        }
        self.chunk_count()?;
        if !(1..=MAX_TIMEOUT_TICKS).contains(&self.timeout_ticks) {
            return Err(SimError::TimeoutTicks(self.timeout_ticks));
        }
        if self.claim_limit > MAX_CLAIM_LIMIT {
            return Err(SimError::ClaimLimit(self.claim_limit));
        }
        Ok(())
    }

    /// Chunks in the zone: at least one, at most [`MAX_ZONE_CHUNKS`].
    fn chunk_count(&self) -> Result<usize, SimError> {
        let span = |r: (i32, i32)| usize::try_from(i64::from(r.1) - i64::from(r.0)).unwrap_or(0);
        let chunks = span(self.chunks_x)
            .checked_mul(span(self.chunks_y))
            .and_then(|c| c.checked_mul(span(self.chunks_z)))
            .unwrap_or(usize::MAX);
        if chunks == 0 {
            return Err(SimError::EmptyZone);
        }
        if chunks > MAX_ZONE_CHUNKS {
            return Err(SimError::ZoneTooLarge {
                chunks,
                limit: MAX_ZONE_CHUNKS,
            });
        }
        Ok(chunks)
    }
}

const SNAPSHOT_MAGIC: &[u8; 8] = b"Z3RZONE1";

/// Most skipped ticks one block catches up on (movement steps beyond the block's own).
pub const MAX_CATCH_UP: u64 = 40;

/// Most chunks a zone loads.
pub const MAX_ZONE_CHUNKS: usize = 16_384;

/// The longest delegation: 24 hours of 50 ms ticks.
pub const MAX_SESSION_TICKS: u64 = 24 * 60 * 60 * 20;

/// One zone's game state and rules.
pub struct Sim {
    config: SimConfig,
    pub ecs: z3r0_ecs::World<Receipt>,
    pub voxels: z3r0_voxel::World,
    /// Derived indexes (rebuilt from the ECS after a restore, never committed).
    players: BTreeMap<PlayerKey, EntityId>,
    /// Session key → the player entity it acts for.
    sessions: BTreeMap<PlayerKey, EntityId>,
    claims: BTreeMap<(i32, i32), EntityId>,
    /// Signing key → its receipt log entity.
    logs: BTreeMap<PlayerKey, EntityId>,
    tick: u64,
    root: Hash,
    /// Movement events of the current tick (reused buffer).
    events: Vec<(EntityId, Reason)>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("tick", &self.tick)
            .field("players", &self.players.len())
            .field("claims", &self.claims.len())
            .field("root", &self.root)
            .finish()
    }
}

fn alive_hook(e: EntityId, c: Change<'_, Alive>, out: &mut Vec<Receipt>) {
    match c {
        Change::Inserted(_) => out.push(Receipt::Spawned(e)),
        Change::Removed(_) => out.push(Receipt::Despawned(e)),
        Change::Changed(_) => {}
    }
}

fn inventory_hook(e: EntityId, c: Change<'_, Inventory>, out: &mut Vec<Receipt>) {
    if let Change::Inserted(inv) | Change::Changed(inv) = c {
        out.push(Receipt::InventoryChanged(e, *inv));
    }
}

fn claim_hook(entity: EntityId, c: Change<'_, Claim>, out: &mut Vec<Receipt>) {
    match c {
        Change::Inserted(claim) | Change::Changed(claim) => out.push(Receipt::ClaimChanged {
            entity,
            column: claim.column,
            claim: Some(claim.clone()),
        }),
        Change::Removed(claim) => out.push(Receipt::ClaimChanged {
            entity,
            column: claim.column,
            claim: None,
        }),
    }
}

/// One action of a block, as the rules take it.
#[derive(Debug, Clone, Copy)]
pub struct BlockAction<'a> {
    /// The signing key.
    pub player: &'a PlayerKey,
    /// The tick the action targets.
    pub tick: u64,
    pub nonce: u64,
    pub payload: &'a [u8],
    /// The signatures the payload carries (a delegation's consent) were verified with the
    /// block's; when false the rules check them.
    pub endorsed: bool,
}

impl Sim {
    /// The zone at genesis: its chunks generated from the seed, no players.
    pub fn genesis(config: SimConfig) -> Result<Self, SimError> {
        config.check()?;
        let chunks = config.chunk_count()?;
        let worldgen = WorldGen::new(config.seed);
        let mut voxels = z3r0_voxel::World::with_capacity(chunks);
        for x in config.chunks_x.0..config.chunks_x.1 {
            for z in config.chunks_z.0..config.chunks_z.1 {
                for y in config.chunks_y.0..config.chunks_y.1 {
                    let p = ChunkPos::new(x, y, z);
                    voxels.insert_chunk(p, &worldgen.generate(p))?;
                }
            }
        }
        let mut ecs = z3r0_ecs::World::new();
        ecs.register::<Player>()?;
        ecs.register::<Body>()?;
        ecs.register::<Control>()?;
        ecs.register::<Inventory>()?;
        ecs.register::<Claim>()?;
        ecs.register::<Session>()?;
        ecs.register::<ReceiptLog>()?;
        ecs.add_hook::<Alive>(alive_hook)?;
        ecs.add_hook::<Inventory>(inventory_hook)?;
        ecs.add_hook::<Claim>(claim_hook)?;
        let mut sim = Self {
            config,
            ecs,
            voxels,
            players: BTreeMap::new(),
            sessions: BTreeMap::new(),
            claims: BTreeMap::new(),
            logs: BTreeMap::new(),
            tick: 0,
            root: [0; 32],
            events: Vec::new(),
        };
        sim.root = sim.commit(&mut Vec::new());
        Ok(sim)
    }

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The last executed tick (0 at genesis).
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// The state root after the last tick.
    pub fn root(&self) -> Hash {
        self.root
    }

    pub fn player(&self, key: &PlayerKey) -> Option<EntityId> {
        self.players.get(key).copied()
    }

    /// The account a signing key acts for: the account that delegated to it if it is a live
    /// session key (through the current tick), else the key itself. A client told its session
    /// key is its own account knows to delegate again.
    pub fn account_of(&self, key: &PlayerKey) -> PlayerKey {
        self.sessions
            .get(key)
            .filter(|&&e| {
                self.ecs
                    .get::<Session>(e)
                    .is_some_and(|s| s.until >= self.tick)
            })
            .and_then(|&e| self.ecs.get::<Player>(e))
            .map_or(*key, |p| p.key)
    }

    /// The account's current delegation, if any.
    pub fn session(&self, account: &PlayerKey) -> Option<&Session> {
        self.ecs.get::<Session>(self.player(account)?)
    }

    /// Every joined player and its entity, in key order.
    pub fn players(&self) -> impl Iterator<Item = (&PlayerKey, EntityId)> + '_ {
        self.players.iter().map(|(k, &e)| (k, e))
    }

    /// The last input frame the player's entity moved by.
    pub fn control(&self, key: &PlayerKey) -> Option<&Control> {
        self.ecs.get::<Control>(self.player(key)?)
    }

    pub fn body(&self, key: &PlayerKey) -> Option<&Body> {
        self.ecs.get::<Body>(self.player(key)?)
    }

    pub fn inventory(&self, key: &PlayerKey) -> Option<&Inventory> {
        self.ecs.get::<Inventory>(self.player(key)?)
    }

    /// Every claimed chunk column, in column order.
    pub fn claims(&self) -> impl Iterator<Item = &Claim> + '_ {
        self.claims
            .values()
            .filter_map(|&e| self.ecs.get::<Claim>(e))
    }

    /// The entities holding the claims, in column order.
    pub fn claim_entities(&self) -> impl Iterator<Item = ((i32, i32), EntityId)> + '_ {
        self.claims.iter().map(|(&column, &e)| (column, e))
    }

    pub fn claim(&self, column: (i32, i32)) -> Option<&Claim> {
        self.ecs.get::<Claim>(*self.claims.get(&column)?)
    }

    /// The whole state after the last tick, canonically encoded: tick, ECS records (see
    /// `z3r0_ecs::World::snapshot`), then every chunk in canonical order.
    pub fn snapshot(&self, out: &mut Vec<u8>) -> Result<(), SimError> {
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.extend_from_slice(&self.tick.to_be_bytes());
        let mut records = Vec::new();
        self.ecs.snapshot(&mut records)?;
        out.extend_from_slice(&(records.len() as u64).to_be_bytes());
        out.extend_from_slice(&records);
        out.extend_from_slice(&(self.voxels.len() as u32).to_be_bytes());
        let mut chunk = Vec::new();
        for (pos, c) in self.voxels.chunks() {
            pos.write(out);
            c.encode_into(&mut chunk);
            out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
            out.extend_from_slice(&chunk);
        }
        Ok(())
    }

    /// A zone restored from a [`Sim::snapshot`] taken with the same config; its root equals
    /// the original's. Bad bytes give a typed error, never a panic.
    pub fn restore(config: SimConfig, bytes: &[u8]) -> Result<Self, SimError> {
        let mut sim = Self::genesis(config)?;
        let mut buf = bytes;
        let mut take = |n: usize| -> Result<&[u8], SimError> {
            if buf.len() < n {
                return Err(SimError::BadSnapshot("truncated"));
            }
            let (head, rest) = buf.split_at(n);
            buf = rest;
            Ok(head)
        };
        let be64 = |b: &[u8]| b.iter().fold(0u64, |a, &x| a << 8 | u64::from(x));
        if take(SNAPSHOT_MAGIC.len())? != SNAPSHOT_MAGIC {
            return Err(SimError::BadSnapshot("not a Z3R0 zone snapshot"));
        }
        let tick = be64(take(8)?);
        let records_len =
            usize::try_from(be64(take(8)?)).map_err(|_| SimError::BadSnapshot("length"))?;
        sim.ecs.restore(take(records_len)?)?;
        let count = be64(take(4)?) as usize;
        if count != sim.voxels.len() {
            return Err(SimError::BadSnapshot("chunk count differs from the zone's"));
        }
        let mut previous: Option<ChunkPos> = None;
        for _ in 0..count {
            let mut pos_bytes = commonware_codec::Copying(take(12)?);
            let pos = ChunkPos::read_cfg(&mut pos_bytes, &())
                .map_err(|_| SimError::BadSnapshot("chunk position"))?;
            if previous.is_some_and(|p| p >= pos) || !sim.voxels.contains_chunk(pos) {
                return Err(SimError::BadSnapshot(
                    "chunk outside the zone or out of order",
                ));
            }
            previous = Some(pos);
            let len = be64(take(4)?) as usize;
            let chunk = z3r0_voxel::Chunk::decode_bytes(take(len)?)
                .map_err(|source| SimError::SnapshotChunk { pos, source })?;
            sim.voxels.remove_chunk(pos)?;
            sim.voxels.insert_chunk(pos, &chunk)?;
        }
        if !buf.is_empty() {
            return Err(SimError::BadSnapshot("trailing bytes"));
        }
        sim.tick = tick;
        sim.rebuild_indexes();
        sim.root = sim.commit(&mut Vec::new());
        Ok(sim)
    }

    /// Player and claim lookups from the committed records.
    fn rebuild_indexes(&mut self) {
        self.players = self
            .ecs
            .column::<Player>()
            .map(|c| c.iter().map(|(e, p)| (p.key, e)).collect())
            .unwrap_or_default();
        self.sessions = self
            .ecs
            .column::<Session>()
            .map(|c| c.iter().map(|(e, s)| (s.key, e)).collect())
            .unwrap_or_default();
        self.claims = self
            .ecs
            .column::<Claim>()
            .map(|c| c.iter().map(|(e, cl)| (cl.column, e)).collect())
            .unwrap_or_default();
        self.logs = self
            .ecs
            .column::<ReceiptLog>()
            .map(|c| c.iter().map(|(e, log)| (log.key, e)).collect())
            .unwrap_or_default();
    }

    fn commit(&mut self, receipts: &mut Vec<Receipt>) -> Hash {
        let records = self.ecs.commit(receipts);
        state_root(&records, &self.voxels.chunk_root())
    }

    /// Executes one block whose actions all target its own tick: `actions` are (signer,
    /// payload) in block order, their nonces taken as their positions. Returns the state root;
    /// `receipts` gets this tick's receipts appended.
    pub fn execute_tick<'a>(
        &mut self,
        tick: u64,
        actions: impl IntoIterator<Item = (&'a PlayerKey, &'a [u8])>,
        receipts: &mut Vec<Receipt>,
    ) -> Hash {
        self.execute_block(
            tick,
            actions
                .into_iter()
                .zip(0u64..)
                .map(|((k, p), nonce)| BlockAction {
                    player: k,
                    tick,
                    nonce,
                    payload: p,
                    endorsed: false,
                }),
            receipts,
        )
    }

    /// Executes one block: `actions` in block order. Returns the state root; `receipts` gets
    /// this tick's receipts appended, and each signer's [`ReceiptLog`] its outcome.
    ///
    /// Blocks may skip ticks (a leader proposes for the tick it is in). Each skipped tick runs
    /// as if it had had its block: the actions that target it, then movement, then timeouts:
    /// one block per tick or one per several gives the same state, and a client predicts tick
    /// by tick. (A late action, or one beyond the catch-up bound, takes effect at the first
    /// tick moved.) Catch-up is bounded, so a long outage does not make one block arbitrarily
    /// expensive.
    pub fn execute_block<'a>(
        &mut self,
        tick: u64,
        actions: impl IntoIterator<Item = BlockAction<'a>>,
        receipts: &mut Vec<Receipt>,
    ) -> Hash {
        let start = receipts.len();
        let skipped = tick
            .saturating_sub(self.tick)
            .saturating_sub(1)
            .min(MAX_CATCH_UP);
        if skipped == 0 {
            // The steady state: one step, nothing to sort out (and nothing to allocate).
            self.tick = tick;
            for (index, a) in actions.into_iter().enumerate() {
                self.apply_noted(tick, &a, index, receipts);
            }
        } else {
            let first = tick - skipped;
            let actions: Vec<_> = actions.into_iter().enumerate().collect();
            for step in first..=tick {
                self.tick = step;
                for (index, a) in &actions {
                    if a.tick.clamp(first, tick) == step {
                        self.apply_noted(tick, a, *index, receipts);
                    }
                }
                // The block's own tick moves and times out below, as in the steady state.
                if step < tick {
                    self.movement(receipts);
                    self.timeouts(receipts);
                }
            }
        }
        self.movement(receipts);
        self.timeouts(receipts);
        self.note_movement(tick, receipts.get(start..).unwrap_or_default());
        self.expire_logs(tick);
        self.root = self.commit(receipts);
        self.root
    }

    /// Applies one action and records its outcome in the signer's log (`tick`: the block's).
    fn apply_noted(
        &mut self,
        tick: u64,
        a: &BlockAction<'_>,
        index: usize,
        receipts: &mut Vec<Receipt>,
    ) {
        let before = receipts.len();
        self.apply_payload(a, u32::try_from(index).ok(), receipts);
        let refusal = receipts.get(before..).and_then(|new| {
            new.iter().find_map(|r| match r {
                Receipt::Rejected {
                    player,
                    action,
                    reason,
                    index: Some(_),
                } if player == a.player => Some((*action, *reason as u8)),
                _ => None,
            })
        });
        self.with_log(a.player, |log| {
            let outcome = log.current(tick);
            let slot = outcome.push_nonce(a.nonce);
            if let (Some((action, reason)), Some(slot)) = (refusal, slot) {
                outcome.push_refusal(Refusal {
                    action,
                    reason,
                    slot: Some(slot),
                });
            }
        });
    }

    /// Records this block's movement refusals (walls, mid-air jumps) in their players' logs.
    fn note_movement(&mut self, tick: u64, receipts: &[Receipt]) {
        for r in receipts {
            if let Receipt::Rejected {
                player,
                action,
                reason,
                index: None,
            } = r
            {
                self.with_log(player, |log| {
                    log.current(tick).push_refusal(Refusal {
                        action: *action,
                        reason: *reason as u8,
                        slot: None,
                    });
                });
            }
        }
    }

    /// Runs `f` on `key`'s receipt log, spawning the log first if it has none.
    fn with_log(&mut self, key: &PlayerKey, f: impl FnOnce(&mut ReceiptLog)) {
        let e = match self.logs.get(key) {
            Some(&e) => e,
            None => {
                let e = self.ecs.spawn();
                // Just spawned: alive, and the component is registered at genesis.
                let _ = self.ecs.insert(e, ReceiptLog::new(*key));
                self.logs.insert(*key, e);
                e
            }
        };
        if let Some(mut log) = self.ecs.get_mut::<ReceiptLog>(e) {
            f(&mut log);
        }
    }

    /// Despawns the logs whose every outcome has left the window.
    fn expire_logs(&mut self, tick: u64) {
        let Self { logs, ecs, .. } = self;
        logs.retain(|_, e| {
            let keep = ecs
                .get::<ReceiptLog>(*e)
                .is_some_and(|log| !log.expired(tick));
            if !keep {
                let _ = ecs.despawn(*e);
            }
            keep
        });
    }

    /// Every live receipt log's key and entity, in key order.
    pub fn receipt_logs(&self) -> impl Iterator<Item = (&PlayerKey, EntityId)> + '_ {
        self.logs.iter().map(|(k, &e)| (k, e))
    }

    /// `key`'s receipt log and its entity: the outcomes of its actions in the last
    /// [`crate::RECEIPT_WINDOW`] ticks.
    pub fn receipt_log(&self, key: &PlayerKey) -> Option<(EntityId, &ReceiptLog)> {
        let e = *self.logs.get(key)?;
        Some((e, self.ecs.get::<ReceiptLog>(e)?))
    }

    fn apply_payload(
        &mut self,
        a: &BlockAction<'_>,
        index: Option<u32>,
        receipts: &mut Vec<Receipt>,
    ) {
        match Action::decode(a.payload) {
            Ok(action) => self.apply(a.player, &action, a.endorsed, index, receipts),
            Err(_) => receipts.push(Receipt::Rejected {
                player: *a.player,
                action: a.payload.first().copied().unwrap_or(u8::MAX),
                reason: Reason::BadFrame,
                index,
            }),
        }
    }

    fn apply(
        &mut self,
        signer: &PlayerKey,
        action: &Action,
        endorsed: bool,
        index: Option<u32>,
        receipts: &mut Vec<Receipt>,
    ) {
        let outcome = self.acting_for(signer).and_then(|(player, by_session)| {
            self.apply_as(&player, by_session, action, endorsed, receipts)
        });
        if let Err(reason) = outcome {
            // Refusals name the signer: its nonces are the ones the action used.
            receipts.push(Receipt::Rejected {
                player: *signer,
                action: action.kind(),
                reason,
                index,
            });
        }
    }

    /// The account `signer` acts for, and whether it signs as a session key.
    fn acting_for(&self, signer: &PlayerKey) -> Result<(PlayerKey, bool), Reason> {
        let Some(&e) = self.sessions.get(signer) else {
            return Ok((*signer, false));
        };
        match (self.ecs.get::<Player>(e), self.ecs.get::<Session>(e)) {
            (Some(p), Some(s)) if s.until >= self.tick => Ok((p.key, true)),
            _ => Err(Reason::SessionExpired),
        }
    }

    fn apply_as(
        &mut self,
        player: &PlayerKey,
        by_session: bool,
        action: &Action,
        endorsed: bool,
        receipts: &mut Vec<Receipt>,
    ) -> Result<(), Reason> {
        if let Action::Join = action {
            return self.join(player, receipts);
        }
        let e = self.players.get(player).copied().ok_or(Reason::NotJoined)?;
        match action {
            Action::Join => Err(Reason::AlreadyJoined),
            Action::Leave => {
                self.remove_player(player, e);
                receipts.push(Receipt::Left { player: *player });
                Ok(())
            }
            Action::Input(frame) => self.input(e, frame),
            Action::Break(pos) => self.break_block(player, e, *pos, receipts),
            Action::Place(pos, block) => self.place_block(player, e, *pos, *block, receipts),
            Action::Claim(x, z) => self.claim_column(player, (*x, *z)),
            Action::Release(x, z) => self.release_column(player, (*x, *z)),
            Action::Grant(x, z, who) => self.set_builder(player, (*x, *z), who, true),
            Action::Revoke(x, z, who) => self.set_builder(player, (*x, *z), who, false),
            Action::Delegate { .. } if by_session => Err(Reason::SessionCannotDelegate),
            Action::Delegate {
                session,
                until,
                consent,
            } => self.delegate(player, e, session, *until, (!endorsed).then_some(consent)),
        }
    }

    fn delegate(
        &mut self,
        account: &PlayerKey,
        e: EntityId,
        session: &PlayerKey,
        until: u64,
        // The consent to check; `None` when the chain verified it with the block's batch.
        consent: Option<&[u8; 64]>,
    ) -> Result<(), Reason> {
        if until <= self.tick || until - self.tick > MAX_SESSION_TICKS {
            return Err(Reason::SessionLength);
        }
        let taken_by_other = self.sessions.get(session).is_some_and(|&other| other != e);
        if session == account || self.players.contains_key(session) || taken_by_other {
            return Err(Reason::KeyInUse);
        }
        // Last, as the costliest check: one signature verification.
        if let Some(consent) = consent
            && !crate::action::session_consents(
                &self.config.chain,
                session,
                account,
                until,
                consent,
            )
        {
            return Err(Reason::NoConsent);
        }
        let old = self.ecs.get::<Session>(e).map(|s| s.key);
        self.ecs
            .insert(
                e,
                Session {
                    key: *session,
                    until,
                },
            )
            .map_err(|_| Reason::BadFrame)?;
        // The index changes only with the record, so it always matches the committed state.
        if let Some(old) = old {
            self.sessions.remove(&old);
        }
        self.sessions.insert(*session, e);
        Ok(())
    }

    /// Spawn point: in a column picked from the key near the zone centre, on the highest solid
    /// voxel with two free voxels above it (the top of the zone if there is none).
    fn spawn_point(&self, key: &PlayerKey) -> [i64; 3] {
        let c = &self.config;
        let mid = |r: (i32, i32)| (i64::from(r.0) + i64::from(r.1)) * 16;
        let h = blake3::hash(key);
        let off = |b: u8| i64::from(b % 16) - 8;
        let x = (mid(c.chunks_x) + off(h.as_bytes()[0])) as i32;
        let z = (mid(c.chunks_z) + off(h.as_bytes()[1])) as i32;
        let (bottom, top) = (c.chunks_y.0 * 32 + 1, c.chunks_y.1 * 32 - 2);
        let free = |y: i32| !self.solid(VoxelPos::new(x, y, z));
        let y = (bottom..=top)
            .rev()
            .find(|&y| !free(y - 1) && free(y) && free(y + 1))
            .unwrap_or(top);
        [
            i64::from(x) * UNIT + UNIT / 2,
            i64::from(y) * UNIT,
            i64::from(z) * UNIT + UNIT / 2,
        ]
    }

    fn join(&mut self, key: &PlayerKey, receipts: &mut Vec<Receipt>) -> Result<(), Reason> {
        if self.players.contains_key(key) {
            return Err(Reason::AlreadyJoined);
        }
        let pos = self.spawn_point(key);
        let e = self.ecs.spawn();
        // The join tick counts as the last input, but an input frame may still follow it.
        let tick = self.tick.saturating_sub(1);
        let inserted = (|| {
            self.ecs.insert(e, Player { key: *key })?;
            self.ecs.insert(
                e,
                Body {
                    pos,
                    ..Body::default()
                },
            )?;
            self.ecs.insert(
                e,
                Control {
                    frame: InputFrame::default(),
                    last_input_tick: tick,
                },
            )?;
            self.ecs.insert(e, Inventory::default())
        })();
        if inserted.is_err() {
            // Unreachable with the tables registered at genesis; refuse rather than half-join.
            let _ = self.ecs.despawn(e);
            return Err(Reason::BadFrame);
        }
        self.players.insert(*key, e);
        receipts.push(Receipt::Joined {
            player: *key,
            entity: e,
        });
        Ok(())
    }

    fn remove_player(&mut self, key: &PlayerKey, e: EntityId) {
        self.players.remove(key);
        if let Some(session) = self.ecs.get::<Session>(e).map(|s| s.key) {
            self.sessions.remove(&session);
        }
        let _ = self.ecs.despawn(e);
    }

    fn input(&mut self, e: EntityId, frame: &InputFrame) -> Result<(), Reason> {
        let tick = self.tick;
        let mut control = self.ecs.get_mut::<Control>(e).ok_or(Reason::NotJoined)?;
        if control.last_input_tick == tick {
            return Err(Reason::TooFast);
        }
        let (f, s) = (i64::from(frame.forward), i64::from(frame.strafe));
        if f * f + s * s > 127 * 127 {
            return Err(Reason::TooFast);
        }
        control.frame = *frame;
        control.last_input_tick = tick;
        Ok(())
    }

    /// Inside the zone and solid, or outside the zone (its edge is a wall).
    fn solid(&self, p: VoxelPos) -> bool {
        self.voxels.voxel(p).is_none_or(|b| block_info(b).solid)
    }

    fn movement(&mut self, receipts: &mut Vec<Receipt>) {
        let Self {
            voxels,
            ecs,
            events,
            ..
        } = self;
        events.clear();
        if let Ok((bodies, controls)) = ecs.columns_mut::<Body, Control>() {
            // At most one event per body: reserving up front keeps steady-state ticks free of
            // allocations.
            events.reserve(bodies.len());
            bodies.join_mut_each(controls, |e, mut body, control| {
                let (next, event) = step_in_world(voxels, &body, &control.frame);
                if next != *body {
                    *body = next;
                }
                if let Some(reason) = event {
                    events.push((e, reason));
                }
            });
        }
        for &(e, reason) in events.iter() {
            if let Some(p) = ecs.get::<Player>(e) {
                receipts.push(Receipt::Rejected {
                    player: p.key,
                    action: Action::Input(InputFrame::default()).kind(),
                    reason,
                    index: None,
                });
            }
        }
    }

    fn timeouts(&mut self, receipts: &mut Vec<Receipt>) {
        let tick = self.tick;
        let limit = self.config.timeout_ticks;
        let Ok(controls) = self.ecs.column::<Control>() else {
            return;
        };
        let expired: Vec<EntityId> = controls
            .iter()
            .filter(|(_, c)| tick.saturating_sub(c.last_input_tick) > limit)
            .map(|(e, _)| e)
            .collect();
        for e in expired {
            if let Some(key) = self.ecs.get::<Player>(e).map(|p| p.key) {
                self.remove_player(&key, e);
                receipts.push(Receipt::TimedOut { player: key });
            }
        }
    }

    fn edit_checks(
        &self,
        player: &PlayerKey,
        e: EntityId,
        pos: VoxelPos,
        placing: bool,
    ) -> Result<BlockId, Reason> {
        let body = self.ecs.get::<Body>(e).ok_or(Reason::NotJoined)?;
        let eye = [body.pos[0], body.pos[1] + EYE, body.pos[2]];
        let may_build = self
            .claims
            .get(&(pos.chunk().x, pos.chunk().z))
            .and_then(|c| self.ecs.get::<Claim>(*c))
            .is_none_or(|claim| claim.may_build(player));
        edit_check(&|p| self.voxels.voxel(p), eye, pos, placing, may_build)
    }

    fn break_block(
        &mut self,
        player: &PlayerKey,
        e: EntityId,
        pos: VoxelPos,
        receipts: &mut Vec<Receipt>,
    ) -> Result<(), Reason> {
        let current = self.edit_checks(player, e, pos, false)?;
        let mut inv = self.ecs.get_mut::<Inventory>(e).ok_or(Reason::NotJoined)?;
        if !inv.add(current) {
            return Err(Reason::InventoryFull);
        }
        self.voxels
            .set_voxel(pos, blocks::AIR)
            .map_err(|_| Reason::OutOfZone)?;
        receipts.push(Receipt::BlockChanged {
            pos,
            from: current,
            to: blocks::AIR,
            by: *player,
        });
        Ok(())
    }

    fn place_block(
        &mut self,
        player: &PlayerKey,
        e: EntityId,
        pos: VoxelPos,
        block: BlockId,
        receipts: &mut Vec<Receipt>,
    ) -> Result<(), Reason> {
        if block == blocks::AIR {
            return Err(Reason::NotABlock);
        }
        let current = self.edit_checks(player, e, pos, true)?;
        // The inventory lookup is one entity's; the occupancy scan below is every body's.
        let held = self.ecs.get::<Inventory>(e).map(|inv| inv.count(block));
        if held.ok_or(Reason::NotJoined)? == 0 {
            return Err(Reason::NothingInInventory);
        }
        if block_info(block).solid {
            let bodies = self.ecs.column::<Body>().map_err(|_| Reason::NotJoined)?;
            if bodies
                .iter()
                .any(|(_, b)| Aabb::player(b.pos).intersects_voxel(pos))
            {
                return Err(Reason::Occupied);
            }
        }
        let mut inv = self.ecs.get_mut::<Inventory>(e).ok_or(Reason::NotJoined)?;
        if !inv.take(block) {
            return Err(Reason::NothingInInventory);
        }
        self.voxels
            .set_voxel(pos, block)
            .map_err(|_| Reason::OutOfZone)?;
        receipts.push(Receipt::BlockChanged {
            pos,
            from: current,
            to: block,
            by: *player,
        });
        Ok(())
    }

    fn in_zone(&self, column: (i32, i32)) -> bool {
        let c = &self.config;
        (c.chunks_x.0..c.chunks_x.1).contains(&column.0)
            && (c.chunks_z.0..c.chunks_z.1).contains(&column.1)
    }

    fn claim_column(&mut self, player: &PlayerKey, column: (i32, i32)) -> Result<(), Reason> {
        if !self.in_zone(column) {
            return Err(Reason::OutOfZone);
        }
        if self.claims.contains_key(&column) {
            return Err(Reason::AlreadyClaimed);
        }
        let owned = self
            .claims
            .values()
            .filter(|&&c| self.ecs.get::<Claim>(c).is_some_and(|c| c.owner == *player))
            .count();
        if owned as u32 >= self.config.claim_limit {
            return Err(Reason::ClaimLimit);
        }
        let e = self.ecs.spawn();
        self.ecs
            .insert(
                e,
                Claim {
                    column,
                    owner: *player,
                    builders: Vec::new(),
                },
            )
            .map_err(|_| Reason::BadFrame)?;
        self.claims.insert(column, e);
        Ok(())
    }

    fn owned_claim(&self, player: &PlayerKey, column: (i32, i32)) -> Result<EntityId, Reason> {
        let e = *self.claims.get(&column).ok_or(Reason::NotClaimed)?;
        match self.ecs.get::<Claim>(e) {
            Some(c) if c.owner == *player => Ok(e),
            Some(_) => Err(Reason::NotYours),
            None => Err(Reason::NotClaimed),
        }
    }

    fn release_column(&mut self, player: &PlayerKey, column: (i32, i32)) -> Result<(), Reason> {
        let e = self.owned_claim(player, column)?;
        self.claims.remove(&column);
        self.ecs.despawn(e).map_err(|_| Reason::NotClaimed)
    }

    fn set_builder(
        &mut self,
        player: &PlayerKey,
        column: (i32, i32),
        who: &PlayerKey,
        grant: bool,
    ) -> Result<(), Reason> {
        let e = self.owned_claim(player, column)?;
        let mut claim = self.ecs.get_mut::<Claim>(e).ok_or(Reason::NotClaimed)?;
        match (claim.builders.binary_search(who), grant) {
            (Ok(_), true) | (Err(_), false) => Ok(()),
            (Err(at), true) => {
                if claim.builders.len() >= crate::components::MAX_BUILDERS {
                    return Err(Reason::TooManyBuilders);
                }
                claim.builders.insert(at, *who);
                Ok(())
            }
            (Ok(at), false) => {
                claim.builders.remove(at);
                Ok(())
            }
        }
    }
}

/// The checks of a dig (`placing: false`) or a place at `pos` by a player whose eye is at `eye`
/// (1/1024 m), in the rules' order: the zone holds the voxel, it is within reach, a face of it
/// is in sight, the player may build in its column (`may_build`, from the claims), and there
/// is something to dig or room to place. Returns what is there now. Clients run the same
/// checks on their copy of the world before showing an edit early.
pub fn edit_check(
    voxel: &impl Fn(VoxelPos) -> Option<BlockId>,
    eye: [i64; 3],
    pos: VoxelPos,
    placing: bool,
    may_build: bool,
) -> Result<BlockId, Reason> {
    let current = voxel(pos).ok_or(Reason::OutOfZone)?;
    let centre = [pos.x, pos.y, pos.z].map(|v| i64::from(v) * UNIT + UNIT / 2);
    let d2: i64 = (0..3).map(|a| (centre[a] - eye[a]).pow(2)).sum();
    if d2 > limits::REACH * limits::REACH {
        return Err(Reason::OutOfReach);
    }
    let blocks_sight =
        |p: VoxelPos| voxel(p).is_none_or(|b| b != blocks::AIR && b != blocks::WATER);
    if let Ray::Blocked(_) = physics::visible(&blocks_sight, eye, pos) {
        return Err(Reason::NoLineOfSight);
    }
    if !may_build {
        return Err(Reason::NotYours);
    }
    let empty = current == blocks::AIR || current == blocks::WATER;
    if placing && !empty {
        return Err(Reason::Occupied);
    }
    if !placing && empty {
        return Err(Reason::NothingThere);
    }
    Ok(current)
}

/// [`step_body`] against `voxels` as the rules see them: unloaded voxels (outside the zone) are
/// solid. Clients predict with this on the chunks they hold.
pub fn step_in_world(
    voxels: &z3r0_voxel::World,
    body: &Body,
    frame: &InputFrame,
) -> (Body, Option<Reason>) {
    step_in_view(&|p| voxels.voxel(p), body, frame)
}

/// [`step_in_world`] against any view of the voxels (`None`: not loaded, so solid). A client
/// predicting past its own pending edits sees each one only from the tick it targets.
pub fn step_in_view(
    voxel: &impl Fn(VoxelPos) -> Option<BlockId>,
    body: &Body,
    frame: &InputFrame,
) -> (Body, Option<Reason>) {
    let solid = |p: VoxelPos| voxel(p).is_none_or(|b| block_info(b).solid);
    let water = |p: VoxelPos| voxel(p) == Some(blocks::WATER);
    step_body(&solid, &water, body, frame)
}

/// One tick of one body: controls → velocity, gravity, swept movement with step-up. Returns the
/// new body and an event the player is told about (a refused jump, a wall).
pub fn step_body(
    solid: &impl Fn(VoxelPos) -> bool,
    water: &impl Fn(VoxelPos) -> bool,
    body: &Body,
    frame: &InputFrame,
) -> (Body, Option<Reason>) {
    use body_state::*;
    let mut b = *body;
    let mut event = None;
    let on_ground = b.state & ON_GROUND != 0;
    let in_water = b.state & IN_WATER != 0;
    let jump = frame.flags & flags::JUMP != 0;

    // Intent → horizontal velocity, capped by the rules whatever the frame says.
    let speed = if in_water {
        limits::SWIM
    } else if frame.flags & flags::CROUCH != 0 {
        limits::CROUCH
    } else if frame.flags & flags::SPRINT != 0 {
        limits::SPRINT
    } else {
        limits::WALK
    };
    let (fwd, strafe) = (i64::from(frame.forward), i64::from(frame.strafe));
    let (s, c) = (sin(frame.yaw), cos(frame.yaw));
    // Forward is (sin, cos) in (x, z); strafe right is (cos, -sin).
    let want = [
        (fwd * s + strafe * c) * speed / (127 * TRIG_ONE),
        (fwd * c - strafe * s) * speed / (127 * TRIG_ONE),
    ];
    for (i, axis) in [0usize, 2].into_iter().enumerate() {
        b.vel[axis] = if on_ground || in_water {
            want[i]
        } else {
            // Some air control, without gaining speed.
            b.vel[axis] + (want[i] - b.vel[axis]) / 8
        };
    }
    let horizontal = isqrt(b.vel[0] * b.vel[0] + b.vel[2] * b.vel[2]);
    if horizontal > limits::SPRINT {
        b.vel[0] = b.vel[0] * limits::SPRINT / horizontal;
        b.vel[2] = b.vel[2] * limits::SPRINT / horizontal;
    }

    // Vertical: jump from the ground, swim up in water, otherwise gravity.
    let rising_edge = jump && b.state & JUMP_HELD == 0;
    if jump && on_ground {
        b.vel[1] = limits::JUMP;
    } else if jump && in_water {
        b.vel[1] = limits::SWIM_UP;
    } else {
        if rising_edge {
            event = Some(Reason::NotOnGround);
        }
        let (g, cap) = if in_water {
            (limits::WATER_GRAVITY, limits::MAX_SINK)
        } else {
            (limits::GRAVITY, limits::MAX_FALL)
        };
        b.vel[1] = (b.vel[1] - g).max(-cap);
    }

    // Sweep: y, then x, then z; stepping up ledges up to STEP when walking on the ground.
    let mut bx = Aabb::player(b.pos);
    let dy = physics::sweep(solid, &bx, 1, b.vel[1]);
    bx = bx.shifted(1, dy);
    let landed = b.vel[1] < 0 && dy != b.vel[1];
    if dy != b.vel[1] {
        b.vel[1] = 0;
    }
    let grounded = landed || (b.vel[1] <= 0 && physics::sweep(solid, &bx, 1, -1) == 0);
    let mut blocked = false;
    for axis in [0usize, 2] {
        let want = b.vel[axis];
        let d = physics::sweep(solid, &bx, axis, want);
        if d == want {
            bx = bx.shifted(axis, d);
            continue;
        }
        // Try stepping up: rise, move, settle back down.
        if grounded {
            let up = physics::sweep(solid, &bx, 1, STEP);
            let raised = bx.shifted(1, up);
            let d2 = physics::sweep(solid, &raised, axis, want);
            if d2.abs() > d.abs() {
                let moved = raised.shifted(axis, d2);
                let down = physics::sweep(solid, &moved, 1, -up);
                bx = moved.shifted(1, down);
                continue;
            }
        }
        bx = bx.shifted(axis, d);
        b.vel[axis] = 0;
        blocked = true;
    }
    b.pos = [
        bx.min[0] + physics::HALF_WIDTH,
        bx.min[1],
        bx.min[2] + physics::HALF_WIDTH,
    ];
    if blocked && b.state & BLOCKED == 0 && event.is_none() {
        event = Some(Reason::Blocked);
    }
    let chest = VoxelPos::new(
        physics::voxel_of(b.pos[0]),
        physics::voxel_of(b.pos[1] + physics::HEIGHT / 2),
        physics::voxel_of(b.pos[2]),
    );
    let still_grounded = physics::sweep(solid, &bx, 1, -1) == 0;
    let flag = |on: bool, bit: u8| if on { bit } else { 0 };
    b.state = flag(still_grounded, ON_GROUND)
        | flag(water(chest), IN_WATER)
        | flag(jump, JUMP_HELD)
        | flag(blocked, BLOCKED);
    (b, event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_after_skipped_ticks_moves_bodies_as_consecutive_blocks_would() {
        let player = [9u8; 32];
        let walk = Action::Input(InputFrame {
            forward: 127,
            strafe: 0,
            yaw: 9_000,
            pitch: 0,
            flags: 0,
        })
        .encode_to_vec();
        let join = Action::Join.encode_to_vec();
        let run = |ticks: &[u64]| {
            let mut sim = Sim::genesis(SimConfig::default()).unwrap();
            let mut r = Vec::new();
            sim.execute_tick(1, [(&player, join.as_slice())], &mut r);
            sim.execute_tick(2, [(&player, walk.as_slice())], &mut r);
            for &t in ticks {
                sim.execute_tick(t, std::iter::empty(), &mut r);
            }
            *sim.body(&player).unwrap()
        };
        let every = run(&[3, 4, 5, 6, 7, 8]);
        let skipping = run(&[5, 8]);
        assert_eq!(every, skipping);
        assert_ne!(every, run(&[3]), "the body does move");
    }

    #[test]
    fn reason_codes_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::from_code(r as u8), Some(r));
        }
        assert_eq!(Reason::from_code(0), None);
        assert_eq!(Reason::from_code(25), None);
    }
}
