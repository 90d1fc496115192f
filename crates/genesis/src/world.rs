//! The world's genesis (`world.toml`): a grid of zones over one seed, a pool of validators
//! with weights, and the committee size. Each zone is a chain of its own; its genesis is
//! derived from the world's ([`WorldGenesis::zone_genesis`]), never written by hand, so every
//! validator and player derives the same one.
//!
//! A zone's committee is the `committee_size` pool members with the highest weighted
//! rendezvous score for (world id, zone, key): consistent hashing, so a validator that joins
//! or leaves the pool moves only the seats it wins or loses. The score is integer arithmetic
//! throughout (committees decide who signs a chain, so every machine must compute the same).

use crate::{
    ConfigError, DEFAULT_TIMEOUT_S, Genesis, MAX_TIMEOUT_S, MAX_VALIDATORS, TICK_MS,
    ValidatorEntry, from_hex, read, write,
};
use commonware_codec::{Copying, Decode as _, Encode as _};
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use z3r0_chain::ChainId;
use z3r0_sim::{MAX_CHUNK_COORD, Movement, SimConfig};

/// Most zones along one axis of the grid.
pub const MAX_ZONES_PER_AXIS: u16 = 1_024;
/// Most validators a world's pool may hold.
pub const MAX_POOL: usize = 10_000;
/// Largest weight of one pool member (weights are relative; 1 is the least).
pub const MAX_WEIGHT: u64 = 1 << 32;

/// A zone's place in the world's grid. Its number ([`ZoneId::number`]) does not depend on the
/// grid's size, so a world that grows keeps its zones' ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ZoneId {
    pub x: u16,
    pub z: u16,
}

impl ZoneId {
    /// The zone id its chain carries (`Genesis::zone`).
    pub fn number(self) -> u32 {
        (u32::from(self.x) << 16) | u32::from(self.z)
    }

    pub fn from_number(number: u32) -> Self {
        Self {
            x: (number >> 16) as u16,
            z: (number & 0xffff) as u16,
        }
    }
}

impl std::fmt::Display for ZoneId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}, {})", self.x, self.z)
    }
}

/// One validator the world may seat on its zones' committees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolEntry {
    /// ed25519 public key, hex.
    pub public_key: String,
    /// Its share of seats: a member of weight 2 wins about twice the seats of one of weight 1.
    pub weight: u64,
    /// Where its peers reach it.
    pub p2p: SocketAddr,
    /// Where players reach its edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub players: Option<SocketAddr>,
}

/// Everything every validator of every zone agrees on before block 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorldGenesis {
    pub tick_ms: u64,
    /// When tick 0 starts in every zone (unix milliseconds).
    #[serde(default)]
    pub genesis_ms: u64,
    /// One seed for the whole world, so terrain runs on across borders.
    pub world_seed: u64,
    /// Zones along x and along z.
    pub zones: [u16; 2],
    /// Chunk columns of one zone along x and along z.
    pub zone_chunks: [i32; 2],
    /// The chunk column at the lowest corner of zone (0, 0), x and z.
    pub origin: [i32; 2],
    /// Chunk layers every zone spans, `[min, max)`.
    pub chunks_y: [i32; 2],
    pub claim_limit: u32,
    /// Seconds without input before a player is removed.
    pub timeout_s: u64,
    #[serde(default)]
    pub movement: Movement,
    /// The game's content in force in every zone from genesis (hex manifest hash), whose
    /// canonical bytes and files lie beside `world.toml` (`crate::content_dir`); none: the
    /// default pack's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// The game's rule plugins every zone runs, in order, each as `name@version`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<String>,
    /// Validators on each zone's committee.
    pub committee_size: usize,
    pub pool: Vec<PoolEntry>,
}

/// Why a world genesis, or a question asked of it, was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorldError {
    #[error("tick_ms {0} is outside {min}..={max}", min = TICK_MS.start(), max = TICK_MS.end())]
    TickMs(u64),
    #[error("zones {0:?}: each axis needs 1 to {MAX_ZONES_PER_AXIS} zones")]
    Grid([u16; 2]),
    #[error("zone_chunks {0:?}: a zone needs at least one chunk column each way")]
    ZoneChunks([i32; 2]),
    #[error("the grid reaches chunk {0}, beyond the rules' limit of {MAX_CHUNK_COORD}")]
    TooFar(i64),
    #[error("{0} validators in the pool; a world needs 1 to {MAX_POOL}")]
    PoolSize(usize),
    #[error("pool member {index}: {reason}")]
    Member { index: usize, reason: String },
    #[error("a validator key appears twice in the pool")]
    DuplicateKey,
    #[error("a p2p address appears twice in the pool")]
    DuplicateAddress,
    #[error(
        "committee_size {size}: it must be 1 to {max} (the pool's size, at most {MAX_VALIDATORS})"
    )]
    CommitteeSize { size: usize, max: usize },
    #[error("timeout_s {0} is outside 1..={MAX_TIMEOUT_S}")]
    Timeout(u64),
    #[error("zone {0} is not in this world")]
    NoSuchZone(ZoneId),
    #[error("a zone's rules: {0}")]
    Zone(String),
}

impl WorldGenesis {
    /// The world's id (the hash of its genesis): blake3 of a canonical encoding of everything
    /// that defines it, the pool as a sorted set of (key, weight). Addresses are left out, as
    /// in a zone's chain id.
    pub fn world_id(&self) -> ChainId {
        let mut h = blake3::Hasher::new();
        h.update(b"z3r0/world/v1");
        h.update(&self.layout_id().0);
        h.update(&(self.committee_size as u64).to_be_bytes());
        // A validated world has hex keys; a key that is not is hashed as its text, apart.
        let mut members: Vec<(bool, Vec<u8>, u64)> = self
            .pool
            .iter()
            .map(|m| match from_hex(&m.public_key) {
                Some(key) => (true, key, m.weight),
                None => (false, m.public_key.as_bytes().to_vec(), m.weight),
            })
            .collect();
        members.sort();
        h.update(&(members.len() as u64).to_be_bytes());
        for (hex, key, weight) in &members {
            h.update(&[u8::from(*hex)]);
            h.update(&(key.len() as u64).to_be_bytes());
            h.update(key);
            h.update(&weight.to_be_bytes());
        }
        ChainId(*h.finalize().as_bytes())
    }

    /// What the world is, without who runs it: grid, seed and rules. Committees are drawn
    /// against this, not against [`WorldGenesis::world_id`], which changes with the pool: a
    /// validator joining must not reshuffle every seat.
    pub fn layout_id(&self) -> ChainId {
        let mut h = blake3::Hasher::new();
        h.update(b"z3r0/world-layout/v1");
        h.update(&self.tick_ms.to_be_bytes());
        h.update(&self.genesis_ms.to_be_bytes());
        h.update(&self.world_seed.to_be_bytes());
        for v in self.zones {
            h.update(&v.to_be_bytes());
        }
        for v in self
            .zone_chunks
            .iter()
            .chain(&self.origin)
            .chain(&self.chunks_y)
        {
            h.update(&v.to_be_bytes());
        }
        h.update(&self.claim_limit.to_be_bytes());
        h.update(&self.timeout_s.to_be_bytes());
        h.update(&self.movement.canonical_bytes());
        // Appended only when named, so a world of the engine alone keeps its ids.
        crate::hash_game(&mut h, self.content.as_deref(), None, &self.plugins);
        ChainId(*h.finalize().as_bytes())
    }

    /// Every zone, x-major.
    pub fn zone_ids(&self) -> impl Iterator<Item = ZoneId> + '_ {
        (0..self.zones[0]).flat_map(move |x| (0..self.zones[1]).map(move |z| ZoneId { x, z }))
    }

    pub fn contains(&self, zone: ZoneId) -> bool {
        zone.x < self.zones[0] && zone.z < self.zones[1]
    }

    /// The zone that owns chunk column (`x`, `z`), if the world reaches there.
    pub fn zone_of_column(&self, x: i32, z: i32) -> Option<ZoneId> {
        let [gx, gz] = self.zones;
        let [sx, sz] = self.zone_chunks;
        let [ox, oz] = self.origin;
        Some(ZoneId {
            x: grid_index(x, ox, sx, gx)?,
            z: grid_index(z, oz, sz, gz)?,
        })
    }

    /// Chunk columns of `zone` along x and along z, each `[min, max)`.
    pub fn zone_columns(&self, zone: ZoneId) -> Result<([i32; 2], [i32; 2]), WorldError> {
        if !self.contains(zone) {
            return Err(WorldError::NoSuchZone(zone));
        }
        let [sx, sz] = self.zone_chunks;
        let [ox, oz] = self.origin;
        Ok((span(zone.x, ox, sx)?, span(zone.z, oz, sz)?))
    }

    /// The pool members seated on `zone`'s committee, by index into `pool`, in pool order.
    pub fn committee(&self, zone: ZoneId) -> Result<Vec<usize>, WorldError> {
        if !self.contains(zone) {
            return Err(WorldError::NoSuchZone(zone));
        }
        let layout = self.layout_id();
        let mut scored: Vec<(Score, Vec<u8>, usize)> = self
            .pool
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let key = from_hex(&m.public_key).unwrap_or_default();
                (Score::new(&layout, zone, &key, m.weight), key, i)
            })
            .collect();
        // Highest score first; equal scores (vanishingly rare) by key, so the order is total.
        scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let mut seats: Vec<usize> = scored
            .into_iter()
            .take(self.committee_size)
            .map(|(_, _, i)| i)
            .collect();
        seats.sort_unstable();
        Ok(seats)
    }

    /// `zone`'s own genesis: its columns, the world's layers, seed and rules, and its
    /// committee. Its chain id names the world, so no zone's signatures count in another.
    pub fn zone_genesis(&self, zone: ZoneId) -> Result<Genesis, WorldError> {
        let mut genesis = self.zone_genesis_unseated(zone)?;
        genesis.validators = self
            .committee(zone)?
            .into_iter()
            .filter_map(|i| self.pool.get(i))
            .map(|m| ValidatorEntry {
                public_key: m.public_key.clone(),
                p2p: m.p2p,
                players: m.players,
            })
            .collect();
        Ok(genesis)
    }

    /// The zones a body can walk into from `zone` (the up to eight around it), each with its
    /// chain and committee: what `zone` checks handoffs against.
    pub fn neighbours(
        &self,
        zone: ZoneId,
    ) -> Result<Vec<(u32, ChainId, Vec<PublicKey>)>, WorldError> {
        if !self.contains(zone) {
            return Err(WorldError::NoSuchZone(zone));
        }
        let mut out = Vec::new();
        for dx in -1i32..=1 {
            for dz in -1i32..=1 {
                let (Ok(x), Ok(z)) = (
                    u16::try_from(i32::from(zone.x).saturating_add(dx)),
                    u16::try_from(i32::from(zone.z).saturating_add(dz)),
                ) else {
                    continue;
                };
                let other = ZoneId { x, z };
                if (dx, dz) == (0, 0) || !self.contains(other) {
                    continue;
                }
                let genesis = self.zone_genesis(other)?;
                let keys = genesis.public_keys().map_err(WorldError::Zone)?;
                out.push((other.number(), genesis.chain_id(), keys));
            }
        }
        Ok(out)
    }

    /// The pool's keys, in pool order.
    pub fn pool_keys(&self) -> Result<Vec<PublicKey>, WorldError> {
        self.pool
            .iter()
            .enumerate()
            .map(|(index, m)| {
                let member = |reason: String| WorldError::Member { index, reason };
                let bytes =
                    from_hex(&m.public_key).ok_or_else(|| member("key is not hex".into()))?;
                PublicKey::decode_cfg(Copying(&bytes), &())
                    .map_err(|e| member(format!("public key: {e}")))
            })
            .collect()
    }

    /// Checks everything a node relies on, cheapest first; the error names the problem.
    pub fn validate(&self) -> Result<(), WorldError> {
        if !TICK_MS.contains(&self.tick_ms) {
            return Err(WorldError::TickMs(self.tick_ms));
        }
        if !(1..=MAX_TIMEOUT_S).contains(&self.timeout_s) {
            return Err(WorldError::Timeout(self.timeout_s));
        }
        if self
            .zones
            .iter()
            .any(|&n| !(1..=MAX_ZONES_PER_AXIS).contains(&n))
        {
            return Err(WorldError::Grid(self.zones));
        }
        if self.zone_chunks.iter().any(|&n| n < 1) {
            return Err(WorldError::ZoneChunks(self.zone_chunks));
        }
        for ((origin, zones), size) in self
            .origin
            .into_iter()
            .zip(self.zones)
            .zip(self.zone_chunks)
        {
            // The grid's two edges: the first zone's start and the last zone's end.
            span(0, origin, size)?;
            span(zones.saturating_sub(1), origin, size)?;
        }
        self.validate_pool()?;
        let max = self.pool.len().min(MAX_VALIDATORS);
        if !(1..=max).contains(&self.committee_size) {
            return Err(WorldError::CommitteeSize {
                size: self.committee_size,
                max,
            });
        }
        // Every zone has the same shape and rules: one zone's check covers them all.
        let zone = self.zone_genesis_unseated(ZoneId { x: 0, z: 0 })?;
        zone.check_game().map_err(WorldError::Zone)?;
        zone.sim_config()
            .check()
            .map_err(|e| WorldError::Zone(e.to_string()))
    }

    fn validate_pool(&self) -> Result<(), WorldError> {
        if !(1..=MAX_POOL).contains(&self.pool.len()) {
            return Err(WorldError::PoolSize(self.pool.len()));
        }
        let mut keys = BTreeSet::new();
        let mut addresses = BTreeSet::new();
        for (index, m) in self.pool.iter().enumerate() {
            let member = |reason: String| WorldError::Member { index, reason };
            if !(1..=MAX_WEIGHT).contains(&m.weight) {
                return Err(member(format!(
                    "weight {} is outside 1..={MAX_WEIGHT}",
                    m.weight
                )));
            }
            let bytes = from_hex(&m.public_key).ok_or_else(|| member("key is not hex".into()))?;
            PublicKey::decode_cfg(Copying(&bytes), &())
                .map_err(|e| member(format!("public key: {e}")))?;
            if !keys.insert(bytes) {
                return Err(WorldError::DuplicateKey);
            }
            if !addresses.insert(m.p2p) {
                return Err(WorldError::DuplicateAddress);
            }
        }
        Ok(())
    }

    /// How many more seats the busiest pool member holds than the idlest, over every zone.
    pub fn seat_spread(&self) -> usize {
        let mut seats = vec![0usize; self.pool.len()];
        for zone in self.zone_ids() {
            for i in self.committee(zone).unwrap_or_default() {
                if let Some(n) = seats.get_mut(i) {
                    *n = n.saturating_add(1);
                }
            }
        }
        let most = seats.iter().max().copied().unwrap_or(0);
        let least = seats.iter().min().copied().unwrap_or(0);
        most.saturating_sub(least)
    }

    /// A zone's genesis without its committee (the rules do not depend on who signs).
    fn zone_genesis_unseated(&self, zone: ZoneId) -> Result<Genesis, WorldError> {
        let (chunks_x, chunks_z) = self.zone_columns(zone)?;
        Ok(Genesis {
            world: Some(crate::to_hex(&self.world_id().0)),
            world_zones: Some(self.zones),
            zone: zone.number(),
            tick_ms: self.tick_ms,
            genesis_ms: self.genesis_ms,
            world_seed: self.world_seed,
            chunks_x,
            chunks_y: self.chunks_y,
            chunks_z,
            claim_limit: self.claim_limit,
            timeout_s: self.timeout_s,
            movement: self.movement,
            content: self.content.clone(),
            // No publisher: a publication would have to reach every zone's chain alike, at one
            // tick, which one zone's publication cannot promise.
            content_publisher: None,
            plugins: self.plugins.clone(),
            validators: Vec::new(),
        })
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read(path)?;
        let world: Self = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source,
        })?;
        world.validate().map_err(|e| ConfigError::Invalid {
            path: path.into(),
            reason: e.to_string(),
        })?;
        Ok(world)
    }

    /// Writes this world genesis to `path` (after checking it).
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        self.validate().map_err(|e| ConfigError::Invalid {
            path: path.into(),
            reason: e.to_string(),
        })?;
        write(path, &toml::to_string(self)?)
    }

    /// A world of `zones` zones of the default zone's size, the default rules, and `pool`.
    pub fn new(zones: [u16; 2], committee_size: usize, pool: Vec<PoolEntry>) -> Self {
        let defaults = SimConfig::default();
        let zone_chunks = [
            defaults.chunks_x.1.saturating_sub(defaults.chunks_x.0),
            defaults.chunks_z.1.saturating_sub(defaults.chunks_z.0),
        ];
        Self {
            tick_ms: 50,
            genesis_ms: 0,
            world_seed: defaults.seed,
            zones,
            zone_chunks,
            // Centred on the origin, so the default single zone is where it always was.
            origin: [
                0i32.saturating_sub(zone_chunks[0].saturating_mul(i32::from(zones[0])) / 2),
                0i32.saturating_sub(zone_chunks[1].saturating_mul(i32::from(zones[1])) / 2),
            ],
            chunks_y: [defaults.chunks_y.0, defaults.chunks_y.1],
            claim_limit: defaults.claim_limit,
            timeout_s: DEFAULT_TIMEOUT_S,
            movement: Movement::default(),
            content: None,
            plugins: Vec::new(),
            committee_size,
            pool,
        }
    }
}

/// One pool member's own settings (`config.toml` beside its key): `z3r0 node` runs a replica
/// of every zone whose committee it sits on. Relative paths are relative to the config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorldValidatorConfig {
    pub world: PathBuf,
    /// File holding the hex ed25519 private key (mode 0600).
    pub private_key_file: PathBuf,
    /// Each zone's stores and audit log go in a directory of their own under it.
    pub storage_dir: PathBuf,
    /// Address the validator's one p2p network listens on (its pool entry's port).
    pub p2p_listen: SocketAddr,
    /// Prometheus metrics and status endpoint (loopback).
    pub metrics: SocketAddr,
    /// The QUIC edge for players of every zone it serves.
    pub player_listen: SocketAddr,
}

/// A pool member's loaded configuration: its settings, the world, its key and its place in
/// the pool.
#[derive(Debug, Clone)]
pub struct WorldSeat {
    pub config: WorldValidatorConfig,
    pub world: WorldGenesis,
    pub key: PrivateKey,
    /// Its index in the world's pool.
    pub index: usize,
}

impl WorldSeat {
    /// Loads the config, the world and the key; checks that the key is in the pool and the
    /// listen address matches its entry.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let mut config: WorldValidatorConfig = crate::read_toml(path)?;
        crate::relative_to(
            path,
            [
                &mut config.world,
                &mut config.private_key_file,
                &mut config.storage_dir,
            ],
        );
        let world = WorldGenesis::load(&config.world)?;
        let key = crate::read_key(&config.private_key_file)?;
        let me = crate::to_hex(&key.public_key().encode());
        let invalid = |reason: String| ConfigError::Invalid {
            path: path.into(),
            reason,
        };
        let index = world
            .pool
            .iter()
            .position(|m| m.public_key == me)
            .ok_or_else(|| invalid("this validator's key is not in the world's pool".into()))?;
        let entry = world.pool.get(index).map(|m| m.p2p);
        if entry.map(|p2p| p2p.port()) != Some(config.p2p_listen.port()) {
            return Err(invalid(format!(
                "p2p_listen {} does not match the pool entry {entry:?}",
                config.p2p_listen
            )));
        }
        Ok(Self {
            config,
            world,
            key,
            index,
        })
    }

    /// The zones whose committees this validator sits on, in zone order.
    pub fn zones(&self) -> Result<Vec<ZoneId>, WorldError> {
        let mut mine = Vec::new();
        for zone in self.world.zone_ids() {
            if self.world.committee(zone)?.contains(&self.index) {
                mine.push(zone);
            }
        }
        Ok(mine)
    }
}

/// Whether the validator configuration at `path` is a pool member's in a world (it names a
/// `world`) rather than a single zone's (it names a `genesis`).
pub fn is_world_config(path: &Path) -> Result<bool, ConfigError> {
    let text = read(path)?;
    let table: toml::Table = toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.into(),
        source,
    })?;
    Ok(table.contains_key("world"))
}

/// Most pools of fresh keys [`generate`] draws looking for one whose seats are spread evenly.
const SEAT_DRAWS: usize = 256;

/// What [`generate`] writes: a pool of `validators` of weight 1, a `zones` grid, `committee`
/// seats per zone, terrain from `world_seed`, and the game's content and plugins (as
/// [`WorldGenesis`] names them; none: the engine alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldSpec {
    pub validators: usize,
    pub base_port: u16,
    pub zones: [u16; 2],
    pub committee: usize,
    pub tick_ms: u64,
    pub world_seed: u64,
    pub content: Option<String>,
    pub plugins: Vec<String>,
}

impl WorldSpec {
    /// The engine alone: a world of `zones` with `committee` seats each from a pool of
    /// `validators`, the default tick and seed, ports from `base_port`.
    pub fn new(validators: usize, base_port: u16, zones: [u16; 2], committee: usize) -> Self {
        Self {
            validators,
            base_port,
            zones,
            committee,
            tick_ms: 50,
            world_seed: SimConfig::default().seed,
            content: None,
            plugins: Vec::new(),
        }
    }
}

/// Writes a loopback world under `out` as `spec` says: `world.toml` and, for each pool
/// member, `validator-<i>/` with its `private.key` (0600) and `config.toml`. Ports start at
/// `spec.base_port` as for [`crate::generate`].
///
/// The keys are drawn until every member holds as many seats as any other, give or take
/// one (or the most even of [`SEAT_DRAWS`] draws): with few members and zones, rendezvous
/// hashing can seat one validator on every zone and another on none, and on one machine the
/// busiest process sets every zone's pace.
pub fn generate(out: &Path, spec: &WorldSpec) -> Result<WorldGenesis, ConfigError> {
    let path = out.join("world.toml");
    let validators = spec.validators;
    let base_port = spec.base_port;
    let port = |block: usize, i: usize| crate::loopback_port(out, validators, base_port, block, i);
    let genesis_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let draw = || -> Result<(Vec<PrivateKey>, WorldGenesis), ConfigError> {
        let keys = (0..validators)
            .map(|_| crate::random_key())
            .collect::<Result<Vec<_>, _>>()?;
        let pool = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                Ok(PoolEntry {
                    public_key: crate::to_hex(&k.public_key().encode()),
                    weight: 1,
                    p2p: port(0, i)?,
                    players: Some(port(2, i)?),
                })
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        let mut world = WorldGenesis::new(spec.zones, spec.committee, pool);
        world.tick_ms = spec.tick_ms;
        world.genesis_ms = genesis_ms;
        world.world_seed = spec.world_seed;
        world.content = spec.content.clone();
        world.plugins = spec.plugins.clone();
        world.validate().map_err(|e| ConfigError::Invalid {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        Ok((keys, world))
    };
    let (mut keys, mut world) = draw()?;
    let mut spread = world.seat_spread();
    for _ in 1..SEAT_DRAWS {
        if spread <= 1 {
            break;
        }
        let (k, w) = draw()?;
        let s = w.seat_spread();
        if s < spread {
            (keys, world, spread) = (k, w, s);
        }
    }
    std::fs::create_dir_all(out).map_err(|source| ConfigError::Write {
        path: out.into(),
        source,
    })?;
    world.save(&path)?;
    for (i, k) in keys.iter().enumerate() {
        let dir = out.join(format!("validator-{i}"));
        std::fs::create_dir_all(&dir).map_err(|source| ConfigError::Write {
            path: dir.clone(),
            source,
        })?;
        crate::write_key(&dir.join("private.key"), k)?;
        let config = WorldValidatorConfig {
            world: PathBuf::from("../world.toml"),
            private_key_file: PathBuf::from("private.key"),
            storage_dir: PathBuf::from("data"),
            p2p_listen: port(0, i)?,
            metrics: port(1, i)?,
            player_listen: port(2, i)?,
        };
        write(&dir.join("config.toml"), &toml::to_string(&config)?)?;
    }
    Ok(world)
}

/// Which of `zones` zones of `size` columns from `origin` holds column `v`.
fn grid_index(v: i32, origin: i32, size: i32, zones: u16) -> Option<u16> {
    let offset = i64::from(v).checked_sub(i64::from(origin))?;
    if offset < 0 || size <= 0 {
        return None;
    }
    u16::try_from(offset.checked_div(i64::from(size))?)
        .ok()
        .filter(|&i| i < zones)
}

/// Columns `[min, max)` of the zone at grid index `index` along one axis; `TooFar` past the
/// rules' coordinate limit.
fn span(index: u16, origin: i32, size: i32) -> Result<[i32; 2], WorldError> {
    // u16 × i32 + i32 fits in i64 many times over.
    #[allow(clippy::arithmetic_side_effects)]
    let min = i64::from(origin) + i64::from(index) * i64::from(size);
    #[allow(clippy::arithmetic_side_effects)]
    let max = min + i64::from(size);
    let limit = i64::from(MAX_CHUNK_COORD);
    for v in [min, max] {
        if v.abs() > limit {
            return Err(WorldError::TooFar(v));
        }
    }
    let to_i32 = |v: i64| i32::try_from(v).map_err(|_| WorldError::TooFar(v));
    Ok([to_i32(min)?, to_i32(max)?])
}

/// A member's weighted rendezvous score for a zone: `weight / -ln(u)`, with `u` uniform in
/// (0, 1) from a hash, so the chance of winning a seat is proportional to weight (the highest
/// of exponential races). `-ln(u)` is taken as `-log2(u)` (the same up to a constant, which
/// does not change the order) in 32.32 fixed point, and scores are compared by
/// cross-multiplying, so no float is involved.
// Equality is the order's (equal ratios are equal scores), not field-wise, so `==` and `cmp`
// never disagree.
#[derive(Debug, Clone, Copy)]
struct Score {
    weight: u64,
    /// `-log2(u)` in 32.32 fixed point, at least 1.
    neg_log: u64,
}

impl Score {
    fn new(layout: &ChainId, zone: ZoneId, key: &[u8], weight: u64) -> Self {
        let mut h = blake3::Hasher::new();
        h.update(b"z3r0/committee/v1");
        h.update(&layout.0);
        h.update(&zone.number().to_be_bytes());
        h.update(key);
        let digest = h.finalize();
        let first = digest
            .as_bytes()
            .first_chunk::<8>()
            .copied()
            .unwrap_or_default();
        // u = x / 2^64 with x ≥ 1; -log2(u) = 64 - log2(x).
        let x = u64::from_be_bytes(first).max(1);
        let neg_log = (64u64 << 32).saturating_sub(log2_fixed(x)).max(1);
        Self { weight, neg_log }
    }
}

impl Ord for Score {
    // Weights and logarithms are below 2^40: their products fit in u128.
    #[allow(clippy::arithmetic_side_effects)]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // self.weight / self.neg_log against other.weight / other.neg_log.
        let left = u128::from(self.weight) * u128::from(other.neg_log);
        let right = u128::from(other.weight) * u128::from(self.neg_log);
        left.cmp(&right)
    }
}

impl PartialEq for Score {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// `log2(x)` in 32.32 fixed point, for `x ≥ 1`: the integer part from the leading bit, the
/// fraction bit by bit by squaring the mantissa (each square doubles the logarithm).
// The mantissa stays below 2^65 and its square below 2^130 >> 63 before the shift: u128 holds
// both; `int` is at most 63.
#[allow(clippy::arithmetic_side_effects)]
fn log2_fixed(x: u64) -> u64 {
    let x = x.max(1);
    let int = 63 - u64::from(x.leading_zeros());
    // The mantissa x / 2^int in [1, 2), as 1.63 fixed point.
    let mut m = u128::from(x) << (63 - int);
    let mut frac = 0u64;
    for bit in (0..32).rev() {
        m = (m * m) >> 63;
        if m >= 1 << 64 {
            m >>= 1;
            frac |= 1 << bit;
        }
    }
    (int << 32) | frac
}

#[cfg(test)]
mod tests;
