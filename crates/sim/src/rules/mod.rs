//! The state machine: actions, systems, receipts.

use crate::action::{Action, InputFrame, PlayerKey, flags};
use crate::components::{Body, Claim, Control, Inventory, Player, Session, body_state};
use crate::fixed::{TRIG_ONE, UNIT, cos, isqrt, sin};
use crate::handoff::{Exit, Link, Neighbours};
use crate::physics::{self, Aabb, EYE, Ray, STEP};
use crate::receipts::{ReceiptLog, Refusal};
use crate::units::{Movement, Physics};
use commonware_codec::{Read as _, Write as _};
use std::collections::BTreeMap;
use std::sync::Arc;
use z3r0_ecs::{Alive, Change, EntityId, Hash, state_root};
use z3r0_voxel::{BlockId, BlockRules, ChunkPos, VoxelPos, WorldGen, blocks};

mod claims;
mod content;
mod edits;
mod handoff;
mod logs;
mod movement;
mod players;
mod plugins;
mod sessions;

pub use edits::edit_check;
pub use handoff::{ImportRefusal, MAX_TRANSIT_STEPS};
pub use movement::{step_body, step_in_view, step_in_world};

/// Reach rules in fixed point (movement is in the genesis: [`crate::units`]).
pub mod limits {
    use crate::fixed::UNIT;
    /// Reach: eye to the centre of the target voxel.
    pub const REACH: i64 = 6 * UNIT;
}

/// Why an action was refused. The code is stable: clients show the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Reason {
    /// Undecodable or out-of-range payload.
    BadFrame = 1,
    /// A move intent beyond a full stick (`forward² + strafe² > 127²`).
    BeyondFullStick = 2,
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
    /// A frame for a tick that already has one applied, or for an older tick than the frame in
    /// force.
    TickHasInput = 25,
    /// Only the genesis's content publisher may publish content.
    NotPublisher = 26,
    /// A content activation must be after this tick and within [`crate::content::MAX_NOTICE_TICKS`] of it.
    ActivationOutOfRange = 27,
    /// A content part that does not continue the publication in progress.
    PartOutOfOrder = 28,
    /// The published parts do not hash to the manifest hash they name.
    ManifestMismatch = 29,
    /// The published bytes are not a well-formed canonical manifest.
    BadManifest = 30,
    /// The manifest changes what a block defined now means.
    ChangesMeaning = 31,
    /// A plugin action for a plugin this zone does not run.
    NoSuchPlugin = 32,
    /// A plugin's action that the plugin refused (its payload, or its rules).
    PluginRefused = 33,
    /// The voxel is in the zone's border strip, which nobody edits (see [`crate::border`]).
    AtBorder = 34,
    /// A plugin's component of a player beyond what a body carries through a border
    /// ([`crate::handoff::MAX_CARRIED`] components of [`crate::handoff::MAX_CARRIED_BYTES`]).
    PlayerStateTooLarge = 35,
}

impl Reason {
    /// Every reason, in code order (code = index + 1).
    pub const ALL: [Reason; 35] = [
        Reason::BadFrame,
        Reason::BeyondFullStick,
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
        Reason::TickHasInput,
        Reason::NotPublisher,
        Reason::ActivationOutOfRange,
        Reason::PartOutOfOrder,
        Reason::ManifestMismatch,
        Reason::BadManifest,
        Reason::ChangesMeaning,
        Reason::NoSuchPlugin,
        Reason::PluginRefused,
        Reason::AtBorder,
        Reason::PlayerStateTooLarge,
    ];

    /// The reason with stable code `code` (as receipts carry it).
    pub fn from_code(code: u8) -> Option<Reason> {
        Self::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

    pub fn message(self) -> &'static str {
        match self {
            Reason::BadFrame => "bad frame",
            Reason::BeyondFullStick => "move beyond a full stick",
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
            Reason::TickHasInput => "this tick already has an input",
            Reason::NotPublisher => "only the content publisher may publish",
            Reason::ActivationOutOfRange => "content activation tick out of range",
            Reason::PartOutOfOrder => "content part out of order",
            Reason::ManifestMismatch => "content parts do not hash to their manifest",
            Reason::BadManifest => "not a well-formed content manifest",
            Reason::ChangesMeaning => "content changes what an existing block means",
            Reason::NoSuchPlugin => "no such plugin in this zone",
            Reason::PluginRefused => "refused by the game's rules",
            Reason::AtBorder => "at a zone border",
            Reason::PlayerStateTooLarge => "more game state on the player than crosses a border",
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
    /// The player's body left for zone `to` as its exit number `seq`.
    Exited {
        player: PlayerKey,
        to: u32,
        seq: u64,
    },
    /// A body arrived from zone `from` (its exit number `seq`); `lost` items found no room in
    /// the inventory the player already had here.
    Entered {
        player: PlayerKey,
        from: u32,
        seq: u64,
        lost: u32,
    },
    /// An import of the block (by its hash) was not applied.
    ImportRefused {
        hash: Hash,
        reason: ImportRefusal,
    },
    /// A published content manifest is complete and checked: it activates at tick `at`.
    ContentScheduled {
        manifest: Hash,
        at: u64,
    },
    /// The content manifest in force from this tick.
    ContentActivated {
        manifest: Hash,
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
    #[error("tick_ms {0} is outside 1..=1000")]
    TickMs(u64),
    #[error(transparent)]
    Movement(#[from] crate::units::MovementError),
    #[error(transparent)]
    Ecs(#[from] z3r0_ecs::EcsError),
    #[error(transparent)]
    World(#[from] z3r0_voxel::WorldError),
    #[error("snapshot: {0}")]
    BadSnapshot(&'static str),
    #[error("world place: {0}")]
    WorldPlace(&'static str),
    #[error("snapshot records: {0}")]
    SnapshotRecords(#[from] z3r0_ecs::SnapshotError),
    #[error("plugin component {name} uses table {table}; plugins' tables start at 1000")]
    PluginTable { name: &'static str, table: u16 },
    #[error("{0} plugins; a zone runs at most {max}", max = crate::plugin::MAX_PLUGINS)]
    TooManyPlugins(usize),
    #[error("genesis content: {0}")]
    GenesisContent(&'static str),
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
    /// The tick's length: the movement rules are per second, converted per tick.
    pub tick_ms: u64,
    pub movement: Movement,
    /// The zone's place in a world of zones; `None` for a world of one zone (its edge a wall).
    pub world: Option<crate::handoff::WorldPlace>,
    /// The key that may publish content ([`crate::content`]); none: the content is fixed.
    pub publisher: Option<PlayerKey>,
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
            tick_ms: 50,
            movement: Movement::default(),
            world: None,
            publisher: None,
        }
    }
}

/// Largest chunk coordinate a zone may span: voxel coordinates (×32) and body positions in
/// fixed point (×32×1024) stay far inside `i32` and `i64`.
pub const MAX_CHUNK_COORD: i32 = 1 << 20;
/// Longest silence before a player is removed, in ticks (24 hours at 1 ms ticks; longer at
/// slower ticks).
pub const MAX_TIMEOUT_TICKS: u64 = 24 * 60 * 60 * 1000;
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
        if !crate::units::TICK_MS.contains(&self.tick_ms) {
            return Err(SimError::TickMs(self.tick_ms));
        }
        self.movement.check()?;
        self.check_place()?;
        Ok(())
    }

    /// Ticks an outcome stays in its receipt log (see [`crate::receipt_window`]).
    pub fn receipt_window(&self) -> u64 {
        crate::receipts::receipt_window(self.tick_ms)
    }

    /// Whether chunk `p` is inside the zone.
    fn holds(&self, p: ChunkPos) -> bool {
        let within = |v: i32, (min, max): (i32, i32)| (min..max).contains(&v);
        within(p.x, self.chunks_x) && within(p.y, self.chunks_y) && within(p.z, self.chunks_z)
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

/// One zone's game state and rules. A clone is an independent copy (a fork of the state).
#[derive(Clone)]
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
    /// (destination, number) → the exit record waiting for its acknowledgement.
    exits: BTreeMap<(u32, u64), EntityId>,
    /// Neighbour zone → this zone's link record to it.
    links: BTreeMap<u32, EntityId>,
    /// The neighbours' committees, for checking imports (configuration, never committed).
    neighbours: Arc<Neighbours>,
    /// The neighbours' border strips, as bodies here meet them (configuration, never
    /// committed).
    border: Arc<crate::border::BorderGround>,
    tick: u64,
    root: Hash,
    /// Movement events of the current tick (reused buffer).
    events: Vec<(EntityId, Reason)>,
    /// The movement rules per tick (from the config; never committed).
    physics: Physics,
    /// The content records and the block rules in force.
    content: content::ContentIndex,
    /// The game's rules beyond the engine's (configuration, never committed).
    plugins: crate::plugin::Plugins,
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
        Self::genesis_with(config, crate::plugin::Plugins::default())
    }

    /// The zone at genesis running `plugins`' rules too (see [`crate::plugin`]).
    pub fn genesis_with(
        config: SimConfig,
        plugins: crate::plugin::Plugins,
    ) -> Result<Self, SimError> {
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
        let border = Arc::new(crate::border::BorderGround::generated(&config));
        Self::assemble(config, voxels, plugins, border)
    }

    /// The zone with `voxels` as its chunks (all of them), no entities, and its root.
    fn assemble(
        config: SimConfig,
        voxels: z3r0_voxel::World,
        plugins: crate::plugin::Plugins,
        border: Arc<crate::border::BorderGround>,
    ) -> Result<Self, SimError> {
        if plugins.len() > crate::plugin::MAX_PLUGINS {
            return Err(SimError::TooManyPlugins(plugins.len()));
        }
        let mut ecs = z3r0_ecs::World::new();
        ecs.register::<Player>()?;
        ecs.register::<Body>()?;
        ecs.register::<Control>()?;
        ecs.register::<Inventory>()?;
        ecs.register::<Claim>()?;
        ecs.register::<Session>()?;
        ecs.register::<ReceiptLog>()?;
        ecs.register::<Exit>()?;
        ecs.register::<Link>()?;
        ecs.register::<crate::content::Publication>()?;
        ecs.register::<crate::content::ManifestPart>()?;
        ecs.register::<crate::content::PublishedContent>()?;
        ecs.register::<crate::content::ManifestBytes>()?;
        for plugin in plugins.0.iter() {
            plugin.register(&mut crate::plugin::Registry { ecs: &mut ecs })?;
        }
        ecs.add_hook::<Alive>(alive_hook)?;
        ecs.add_hook::<Inventory>(inventory_hook)?;
        ecs.add_hook::<Claim>(claim_hook)?;
        let mut sim = Self {
            physics: Physics::new(&config.movement, config.tick_ms),
            config,
            ecs,
            voxels,
            players: BTreeMap::new(),
            sessions: BTreeMap::new(),
            claims: BTreeMap::new(),
            logs: BTreeMap::new(),
            exits: BTreeMap::new(),
            links: BTreeMap::new(),
            neighbours: Arc::new(Neighbours {
                zone: config.zone_number(),
                ..Neighbours::default()
            }),
            border,
            tick: 0,
            root: [0; 32],
            events: Vec::new(),
            content: content::ContentIndex::default(),
            plugins,
        };
        sim.root = sim.commit(&mut Vec::new());
        Ok(sim)
    }

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The movement rules per tick, as clients must predict them.
    pub fn physics(&self) -> &Physics {
        &self.physics
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
    /// The chunks come from the snapshot, not the world generator: executing ahead of
    /// finality forks the state this way once a block at 60 Hz, and generating the world each
    /// time cost three quarters of it.
    pub fn restore(config: SimConfig, bytes: &[u8]) -> Result<Self, SimError> {
        Self::restore_with(config, crate::plugin::Plugins::default(), bytes)
    }

    /// [`Sim::restore`] of a zone that runs `plugins` (the same as its genesis's).
    pub fn restore_with(
        config: SimConfig,
        plugins: crate::plugin::Plugins,
        bytes: &[u8],
    ) -> Result<Self, SimError> {
        config.check()?;
        let border = Arc::new(crate::border::BorderGround::generated(&config));
        Self::restore_parts(config, plugins, bytes, border)
    }

    /// [`Sim::restore_with`] seeing `border` past its edges.
    pub(crate) fn restore_parts(
        config: SimConfig,
        plugins: crate::plugin::Plugins,
        bytes: &[u8],
        border: Arc<crate::border::BorderGround>,
    ) -> Result<Self, SimError> {
        config.check()?;
        let chunks = config.chunk_count()?;
        let mut voxels = z3r0_voxel::World::with_capacity(chunks);
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
        let records = take(records_len)?;
        let count = be64(take(4)?) as usize;
        if count != chunks {
            return Err(SimError::BadSnapshot("chunk count differs from the zone's"));
        }
        let mut previous: Option<ChunkPos> = None;
        for _ in 0..count {
            let mut pos_bytes = commonware_codec::Copying(take(12)?);
            let pos = ChunkPos::read_cfg(&mut pos_bytes, &())
                .map_err(|_| SimError::BadSnapshot("chunk position"))?;
            // In order and inside the zone, and as many as the zone has: exactly its chunks.
            if previous.is_some_and(|p| p >= pos) || !config.holds(pos) {
                return Err(SimError::BadSnapshot(
                    "chunk outside the zone or out of order",
                ));
            }
            previous = Some(pos);
            let len = be64(take(4)?) as usize;
            let chunk = z3r0_voxel::Chunk::decode_bytes(take(len)?)
                .map_err(|source| SimError::SnapshotChunk { pos, source })?;
            voxels.insert_chunk(pos, &chunk)?;
        }
        if !buf.is_empty() {
            return Err(SimError::BadSnapshot("trailing bytes"));
        }
        let mut sim = Self::assemble(config, voxels, plugins, border)?;
        sim.ecs.restore(records)?;
        sim.tick = tick;
        sim.rebuild_indexes();
        sim.content = content::ContentIndex::rebuild(&sim.ecs, tick)?;
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
        self.exits = self
            .ecs
            .column::<Exit>()
            .map(|c| c.iter().map(|(e, x)| ((x.to, x.seq), e)).collect())
            .unwrap_or_default();
        self.links = self
            .ecs
            .column::<Link>()
            .map(|c| c.iter().map(|(e, l)| (l.zone, e)).collect())
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
        self.execute_with_imports(tick, actions, &[], receipts)
    }

    /// [`Sim::execute_block`] of a block that also carries imports from neighbouring zones
    /// (see [`crate::handoff`]): they apply at the start of the block's own tick, before its
    /// actions.
    pub fn execute_with_imports<'a>(
        &mut self,
        tick: u64,
        actions: impl IntoIterator<Item = BlockAction<'a>>,
        imports: &[Vec<u8>],
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
            self.activate_content(tick, receipts);
            self.imports(imports, receipts);
            for (index, a) in actions.into_iter().enumerate() {
                self.apply_noted(tick, &a, index, receipts);
            }
        } else {
            let first = tick - skipped;
            let actions: Vec<_> = actions.into_iter().enumerate().collect();
            for step in first..=tick {
                self.tick = step;
                self.activate_content(step, receipts);
                if step == tick {
                    self.imports(imports, receipts);
                }
                for (index, a) in &actions {
                    if a.tick.clamp(first, tick) == step {
                        self.apply_noted(tick, a, *index, receipts);
                    }
                }
                // The block's own tick moves and times out below, as in the steady state.
                if step < tick {
                    self.movement(receipts);
                    self.exits(receipts);
                    self.timeouts(receipts);
                }
            }
        }
        self.movement(receipts);
        self.exits(receipts);
        self.timeouts(receipts);
        self.note_movement(tick, receipts.get(start..).unwrap_or_default());
        self.expire_logs(tick);
        self.root = self.commit(receipts);
        self.root
    }

    fn apply_payload(
        &mut self,
        a: &BlockAction<'_>,
        index: Option<u32>,
        receipts: &mut Vec<Receipt>,
    ) {
        match Action::decode(a.payload) {
            Ok(action) => self.apply(a, &action, index, receipts),
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
        a: &BlockAction<'_>,
        action: &Action,
        index: Option<u32>,
        receipts: &mut Vec<Receipt>,
    ) {
        let signer = a.player;
        let outcome = self.acting_for(signer).and_then(|(player, by_session)| {
            self.apply_as(&player, by_session, action, a, receipts)
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

    /// Applies `action` for `player` (`a` is the block's action that carries it: its target
    /// tick and whether its consent was endorsed).
    fn apply_as(
        &mut self,
        player: &PlayerKey,
        by_session: bool,
        action: &Action,
        a: &BlockAction<'_>,
        receipts: &mut Vec<Receipt>,
    ) -> Result<(), Reason> {
        match action {
            Action::Join => return self.join(player, receipts),
            // A publisher need not play.
            Action::PublishContent(part) => return self.publish_part(player, part, receipts),
            _ => {}
        }
        let e = self.players.get(player).copied().ok_or(Reason::NotJoined)?;
        match action {
            Action::Join | Action::PublishContent(_) => Err(Reason::AlreadyJoined),
            Action::Plugin {
                plugin,
                kind,
                payload,
            } => self.apply_plugin(player, e, *plugin, *kind, payload, receipts),
            Action::Leave => {
                self.remove_player(player, e);
                receipts.push(Receipt::Left { player: *player });
                Ok(())
            }
            Action::Input(frame) => self.input(e, frame, a.tick),
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
            } => self.delegate(player, e, session, *until, (!a.endorsed).then_some(consent)),
        }
    }
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
        assert_eq!(Reason::from_code(36), None);
    }
}
