//! Genesis and validator configuration (TOML).
//!
//! `genesis.toml` is public and identical on every validator: zone id, tick length, world seed
//! and bounds, and the validator set (ed25519 public keys and p2p addresses, PoA). Each
//! validator also has its own `config.toml` (listen addresses, storage directory) and a private
//! key file readable only by its owner.
// Values here come from actions, blocks, gossip, checkpoints or the genesis: arithmetic and
// indexing are checked, and each allowance states the bound that holds.
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

pub mod audit;
pub mod world;
pub use audit::{AuditError, AuditLine, HandoffLine};
pub use world::{
    PoolEntry, WorldError, WorldGenesis, WorldSeat, WorldValidatorConfig, ZoneId, is_world_config,
};

use commonware_codec::{Copying, Decode as _, Encode as _};
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use z3r0_chain::ChainId;
use z3r0_sim::{Movement, SimConfig};

/// Fewest and most validators a zone committee may have.
pub const MIN_VALIDATORS: usize = 1;
/// A silent player is removed after this many seconds by default, and after a day at most.
pub const DEFAULT_TIMEOUT_S: u64 = 30;
pub const MAX_TIMEOUT_S: u64 = 24 * 60 * 60;
pub const MAX_VALIDATORS: usize = 100;
/// Allowed tick lengths.
pub const TICK_MS: std::ops::RangeInclusive<u64> = 10..=1_000;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("could not draw key material from the operating system: {0}")]
    Entropy(String),
    #[error("serializing: {0}")]
    Serialize(#[from] toml::ser::Error),
}

/// One member of the committee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorEntry {
    /// ed25519 public key, hex.
    pub public_key: String,
    /// Where its peers reach it.
    pub p2p: SocketAddr,
    /// Where players reach its edge (QUIC), so a client can move to another member when its
    /// node stalls. Not part of the chain's identity, like `p2p`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub players: Option<SocketAddr>,
}

/// The zone's genesis: everything every validator must agree on before block 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// The world this zone belongs to (its id, hex), for a zone derived from a world genesis
    /// ([`world::WorldGenesis::zone_genesis`]); none for a world of one zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub world: Option<String>,
    /// The world's grid of zones (x, z), with `world`: the zone's number places it there, and
    /// bodies leave for the neighbours it names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub world_zones: Option<[u16; 2]>,
    pub zone: u32,
    pub tick_ms: u64,
    /// When tick 0 starts (unix milliseconds): tick `t` runs from `genesis_ms + t * tick_ms`.
    #[serde(default)]
    pub genesis_ms: u64,
    pub world_seed: u64,
    /// Chunk bounds of the zone, `[min, max)` per axis.
    pub chunks_x: [i32; 2],
    pub chunks_y: [i32; 2],
    pub chunks_z: [i32; 2],
    pub claim_limit: u32,
    /// Seconds without input before a player is removed.
    pub timeout_s: u64,
    /// How bodies move, in millimetres and seconds (the defaults where left out).
    #[serde(default)]
    pub movement: Movement,
    /// The content manifest in force at genesis (hex manifest hash; `z3r0_content` names
    /// manifests so): the default pack's (`z3r0_sim::content::DEFAULT_MANIFEST`), which a
    /// genesis that leaves it out means too, or the zone's own, whose canonical bytes and
    /// files lie beside the genesis ([`content_dir`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// The key (hex ed25519) that may publish content on this chain; none: the content stays
    /// the genesis's (the default pack).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_publisher: Option<String>,
    /// The game's rule plugins every validator runs, in order (`z3r0_sim::plugin`), each as
    /// `name@version`: a node whose binary runs another list or version refuses to start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<String>,
    pub validators: Vec<ValidatorEntry>,
}

impl Genesis {
    /// The chain id: blake3 of a canonical encoding of everything that defines the chain (a
    /// version, bumped whenever the rules change what an existing genesis means, so nodes of
    /// both rules never share a chain; zone, timing, world, rules, the committee's keys as a
    /// sorted set of key bytes, since the committee is a set). The validators' p2p addresses
    /// are left out: they say where a member is reached, not who it is, and moving one must
    /// not change identity.
    pub fn chain_id(&self) -> ChainId {
        let mut h = blake3::Hasher::new();
        match &self.world {
            None => {
                h.update(b"z3r0/genesis/v3");
            }
            // A zone of a world: its own version string, so no single-zone encoding matches.
            Some(world) => {
                h.update(b"z3r0/zone/v1");
                h.update(&(world.len() as u64).to_be_bytes());
                h.update(world.as_bytes());
                for n in self.world_zones.unwrap_or_default() {
                    h.update(&n.to_be_bytes());
                }
            }
        }
        h.update(&self.zone.to_be_bytes());
        h.update(&self.tick_ms.to_be_bytes());
        h.update(&self.genesis_ms.to_be_bytes());
        h.update(&self.world_seed.to_be_bytes());
        for bound in [self.chunks_x, self.chunks_y, self.chunks_z]
            .iter()
            .flatten()
        {
            h.update(&bound.to_be_bytes());
        }
        h.update(&self.claim_limit.to_be_bytes());
        h.update(&self.timeout_s.to_be_bytes());
        h.update(&self.movement.canonical_bytes());
        // A validated genesis has hex keys; a key that is not is hashed as its text, apart.
        let mut keys: Vec<(bool, Vec<u8>)> = self
            .validators
            .iter()
            .map(|v| match from_hex(&v.public_key) {
                Some(bytes) => (true, bytes),
                None => (false, v.public_key.as_bytes().to_vec()),
            })
            .collect();
        keys.sort();
        h.update(&(keys.len() as u64).to_be_bytes());
        for (hex, key) in &keys {
            h.update(&[u8::from(*hex)]);
            h.update(&(key.len() as u64).to_be_bytes());
            h.update(key);
        }
        // Appended only when named, so a genesis without them keeps its chain id.
        hash_game(
            &mut h,
            self.content.as_deref(),
            self.content_publisher.as_deref(),
            &self.plugins,
        );
        ChainId(*h.finalize().as_bytes())
    }

    /// The game's parts of a genesis: the content publisher's key, the plugin list and the
    /// content manifest's hash, each well formed.
    pub(crate) fn check_game(&self) -> Result<(), String> {
        if let Some(publisher) = &self.content_publisher
            && publisher_key(publisher).is_none()
        {
            return Err(format!(
                "content_publisher {publisher:?} is not a lowercase hex ed25519 public key"
            ));
        }
        self.check_plugins()?;
        if let Some(content) = &self.content
            && (content.len() != 64
                || !content
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        {
            return Err(format!(
                "content {content:?} is not a 32-byte lowercase hex manifest hash"
            ));
        }
        Ok(())
    }

    /// The plugin list: at most `z3r0_sim::plugin::MAX_PLUGINS` entries `name@version`, the
    /// name 1 to 64 of `a-z`, `0-9`, `_` and `-` and named once, the version a `u32` in
    /// decimal without leading zeros.
    fn check_plugins(&self) -> Result<(), String> {
        if self.plugins.len() > z3r0_sim::plugin::MAX_PLUGINS {
            return Err(format!(
                "{} plugins; a zone runs at most {}",
                self.plugins.len(),
                z3r0_sim::plugin::MAX_PLUGINS
            ));
        }
        let mut seen = BTreeSet::new();
        for id in &self.plugins {
            let (name, version) = id.split_once('@').unwrap_or((id, ""));
            let name_ok = (1..=64).contains(&name.len())
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            // One spelling per version: the chain id hashes the text.
            let version_ok = version
                .parse::<u32>()
                .is_ok_and(|v| v.to_string() == version);
            if !name_ok || !version_ok {
                return Err(format!(
                    "plugin {id:?} is not name@version (a name of 1 to 64 of a-z, 0-9, '_', '-'; a version number)"
                ));
            }
            if !seen.insert(name) {
                return Err(format!("plugin {name:?} is named twice"));
            }
        }
        Ok(())
    }

    /// Whether a node running the plugins `ids` (`name@version`, in order) may run this
    /// genesis's zone.
    pub fn check_plugin_list(&self, ids: &[String]) -> Result<(), String> {
        if self.plugins == ids {
            Ok(())
        } else {
            Err(format!(
                "the genesis names the plugins {:?} but this node runs {:?}: every validator must run the genesis's plugins, in its order and at its versions",
                self.plugins, ids
            ))
        }
    }

    /// The hash of the zone's own content (`None`: the default pack's).
    pub fn own_content(&self) -> Option<[u8; 32]> {
        let hash: [u8; 32] = from_hex(self.content.as_deref()?)?.try_into().ok()?;
        (hash != z3r0_sim::content::DEFAULT_MANIFEST).then_some(hash)
    }

    /// The canonical manifest bytes of the zone's own content (`None`: the default pack's),
    /// read from [`content_dir`] beside `genesis_path` and checked against the hash.
    pub fn load_content(&self, genesis_path: &Path) -> Result<Option<Vec<u8>>, ConfigError> {
        let Some(hash) = self.own_content() else {
            return Ok(None);
        };
        let path = content_dir(genesis_path).join(to_hex(&hash));
        let read = |source| ConfigError::Read {
            path: path.clone(),
            source,
        };
        let size = std::fs::metadata(&path).map_err(read)?.len();
        if size > z3r0_sim::content::MAX_PUBLISHED_BYTES as u64 {
            return Err(ConfigError::Invalid {
                path,
                reason: format!(
                    "{size} bytes: larger than any content manifest ({} at most)",
                    z3r0_sim::content::MAX_PUBLISHED_BYTES
                ),
            });
        }
        let bytes = std::fs::read(&path).map_err(read)?;
        if blake3::hash(&bytes).as_bytes() != &hash {
            return Err(ConfigError::Invalid {
                path,
                reason: "does not hash to the genesis's content manifest".into(),
            });
        }
        Ok(Some(bytes))
    }

    /// The content publisher's key, if the genesis names a valid one.
    pub fn publisher(&self) -> Option<[u8; 32]> {
        self.content_publisher.as_deref().and_then(publisher_key)
    }

    /// The validators' player edges the genesis names, in committee order.
    pub fn player_edges(&self) -> Vec<SocketAddr> {
        self.validators.iter().filter_map(|v| v.players).collect()
    }

    pub fn sim_config(&self) -> SimConfig {
        SimConfig {
            chain: self.chain_id(),
            seed: self.world_seed,
            chunks_x: (self.chunks_x[0], self.chunks_x[1]),
            chunks_y: (self.chunks_y[0], self.chunks_y[1]),
            chunks_z: (self.chunks_z[0], self.chunks_z[1]),
            claim_limit: self.claim_limit,
            timeout_ticks: self
                .timeout_s
                .saturating_mul(1000)
                .checked_div(self.tick_ms)
                .unwrap_or(u64::MAX),
            tick_ms: self.tick_ms,
            movement: self.movement,
            world: self
                .world_zones
                .map(|[gx, gz]| z3r0_sim::handoff::WorldPlace {
                    zone: ((self.zone >> 16) as u16, (self.zone & 0xffff) as u16),
                    grid: (gx, gz),
                }),
            publisher: self.content_publisher.as_deref().and_then(publisher_key),
        }
    }

    /// Writes this genesis to `path` (after checking it).
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        self.validate().map_err(|reason| ConfigError::Invalid {
            path: path.into(),
            reason,
        })?;
        write(path, &toml::to_string(self)?)
    }

    /// The committee's keys, in file order.
    pub fn public_keys(&self) -> Result<Vec<PublicKey>, String> {
        self.validators
            .iter()
            .map(|v| {
                let bytes = from_hex(&v.public_key).ok_or("public key is not hex")?;
                PublicKey::decode_cfg(Copying(&bytes), &()).map_err(|e| format!("public key: {e}"))
            })
            .collect()
    }

    /// Checks everything a node relies on; the reason names the problem.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(world) = &self.world
            && from_hex(world).is_none_or(|id| id.len() != 32 || to_hex(&id) != *world)
        {
            // One spelling per id: the chain id hashes the text, so "AB.." and "ab.." must not
            // name two chains of one world.
            return Err(format!("world {world:?} is not a 32-byte lowercase hex id"));
        }
        match (&self.world, self.world_zones) {
            (None, None) => {}
            (Some(_), Some([gx, gz])) => {
                let (x, z) = (self.zone >> 16, self.zone & 0xffff);
                if x >= u32::from(gx) || z >= u32::from(gz) {
                    return Err(format!(
                        "zone ({x}, {z}) is outside the world's {gx} × {gz} grid"
                    ));
                }
            }
            _ => return Err("world and world_zones go together".into()),
        }
        self.check_game()?;
        if !TICK_MS.contains(&self.tick_ms) {
            return Err(format!(
                "tick_ms {} is outside {}..={}",
                self.tick_ms,
                TICK_MS.start(),
                TICK_MS.end()
            ));
        }
        let n = self.validators.len();
        if !(MIN_VALIDATORS..=MAX_VALIDATORS).contains(&n) {
            return Err(format!(
                "{n} validators; a zone needs {MIN_VALIDATORS} to {MAX_VALIDATORS}"
            ));
        }
        let keys = self.public_keys()?;
        if keys.iter().collect::<BTreeSet<_>>().len() != n {
            return Err("a validator key appears twice".into());
        }
        if self
            .validators
            .iter()
            .map(|v| v.p2p)
            .collect::<BTreeSet<_>>()
            .len()
            != n
        {
            return Err("a p2p address appears twice".into());
        }
        for (name, r) in [
            ("chunks_x", self.chunks_x),
            ("chunks_y", self.chunks_y),
            ("chunks_z", self.chunks_z),
        ] {
            if r[0] >= r[1] {
                return Err(format!("{name} [{}, {}) is empty", r[0], r[1]));
            }
        }
        if !(1..=MAX_TIMEOUT_S).contains(&self.timeout_s) {
            return Err(format!(
                "timeout_s {} is outside 1..={MAX_TIMEOUT_S}",
                self.timeout_s
            ));
        }
        // The rules' own limits: chunk bounds, zone size, claim limit, movement.
        self.sim_config().check().map_err(|e| e.to_string())
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read(path)?;
        let g: Genesis = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source,
        })?;
        g.validate().map_err(|reason| ConfigError::Invalid {
            path: path.into(),
            reason,
        })?;
        Ok(g)
    }
}

/// One validator's own settings. Relative paths are relative to the config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorConfig {
    pub genesis: PathBuf,
    /// File holding the hex ed25519 private key (mode 0600).
    pub private_key_file: PathBuf,
    pub storage_dir: PathBuf,
    /// Address consensus listens on (must match this validator's genesis entry).
    pub p2p_listen: SocketAddr,
    /// Prometheus metrics endpoint (loopback).
    pub metrics: SocketAddr,
    /// QUIC edge for players.
    pub player_listen: SocketAddr,
}

impl ValidatorConfig {
    /// Loads the config, its genesis and its private key; checks that the key is in the
    /// committee and the listen address matches its entry.
    pub fn load(path: &Path) -> Result<(Self, Genesis, PrivateKey), ConfigError> {
        let mut cfg: ValidatorConfig = read_toml(path)?;
        relative_to(
            path,
            [
                &mut cfg.genesis,
                &mut cfg.private_key_file,
                &mut cfg.storage_dir,
            ],
        );
        let genesis = Genesis::load(&cfg.genesis)?;
        let key = read_key(&cfg.private_key_file)?;
        let invalid = |reason: &str| ConfigError::Invalid {
            path: cfg.private_key_file.clone(),
            reason: reason.into(),
        };
        let keys = genesis.public_keys().map_err(|r| invalid(&r))?;
        let me = key.public_key();
        let Some(i) = keys.iter().position(|k| *k == me) else {
            return Err(ConfigError::Invalid {
                path: path.into(),
                reason: "this validator's key is not in the genesis committee".into(),
            });
        };
        // `keys` holds one key per genesis entry, so entry `i` exists.
        let entry = genesis.validators.get(i).map(|v| v.p2p);
        if entry.map(|p2p| p2p.port()) != Some(cfg.p2p_listen.port()) {
            return Err(ConfigError::Invalid {
                path: path.into(),
                reason: format!(
                    "p2p_listen {} does not match the genesis entry {entry:?}",
                    cfg.p2p_listen
                ),
            });
        }
        Ok((cfg, genesis, key))
    }
}

/// Points the validator config at `path` (a zone validator's or a pool member's) to keep its
/// stores in `dir`, leaving every other setting as written.
pub fn set_storage_dir(path: &Path, dir: &Path) -> Result<(), ConfigError> {
    let mut table: toml::Table = read_toml(path)?;
    let invalid = |reason: &str| ConfigError::Invalid {
        path: path.into(),
        reason: reason.into(),
    };
    if !table.contains_key("storage_dir") {
        return Err(invalid("not a validator config: no storage_dir"));
    }
    let dir = dir
        .to_str()
        .ok_or_else(|| invalid("the storage directory's path is not UTF-8"))?;
    table.insert("storage_dir".into(), toml::Value::String(dir.into()));
    replace_synced(path, &toml::to_string(&table)?)
}

/// Writes `contents` to `path` whole or not at all, durably: a temporary file beside it,
/// synced, renamed over it, and the directory synced. A crash leaves the old file or the new.
fn replace_synced(path: &Path, contents: &str) -> Result<(), ConfigError> {
    use std::io::Write as _;
    let error = |source| ConfigError::Write {
        path: path.into(),
        source,
    };
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".new");
    let temp = path.with_file_name(name);
    let mut file = std::fs::File::create(&temp).map_err(error)?;
    file.write_all(contents.as_bytes()).map_err(error)?;
    file.sync_all().map_err(error)?;
    std::fs::rename(&temp, path).map_err(error)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(error)
}

/// Parses the TOML file at `path`.
fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    toml::from_str(&read(path)?).map_err(|source| ConfigError::Parse {
        path: path.into(),
        source,
    })
}

/// Makes the relative `paths` of the config file at `config` relative to its directory.
fn relative_to<const N: usize>(config: &Path, paths: [&mut PathBuf; N]) {
    let base = config.parent().unwrap_or(Path::new("."));
    for p in paths {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    }
}

/// A fresh ed25519 key from the operating system's entropy.
pub fn random_key() -> Result<PrivateKey, ConfigError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| ConfigError::Entropy(e.to_string()))?;
    PrivateKey::decode_cfg(Copying(&seed), &()).map_err(|e| ConfigError::Entropy(e.to_string()))
}

/// Writes `key` as hex to `path`, readable by its owner only.
pub fn write_key(path: &Path, key: &PrivateKey) -> Result<(), ConfigError> {
    write(path, &format!("{}\n", to_hex(&key.encode())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
            |source| ConfigError::Write {
                path: path.into(),
                source,
            },
        )?;
    }
    Ok(())
}

/// Reads a key written by [`write_key`].
pub fn read_key(path: &Path) -> Result<PrivateKey, ConfigError> {
    let text = read(path)?;
    let invalid = |reason: &str| ConfigError::Invalid {
        path: path.into(),
        reason: reason.into(),
    };
    let bytes = from_hex(text.trim()).ok_or_else(|| invalid("private key is not hex"))?;
    PrivateKey::decode_cfg(Copying(&bytes), &()).map_err(|_| invalid("not an ed25519 private key"))
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })
}

fn write(path: &Path, contents: &str) -> Result<(), ConfigError> {
    std::fs::write(path, contents).map_err(|source| ConfigError::Write {
        path: path.into(),
        source,
    })
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    // `from_str_radix` alone would take "+a" for 0x0a: one key, two spellings.
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// Writes a loopback network of `validators` nodes under `out`: `genesis.toml`, the content
/// publisher's [`PUBLISHER_KEY`] (0600), and per validator `validator-<i>/config.toml` and
/// `validator-<i>/private.key` (0600). Ports start at
/// `base_port`: p2p, then metrics, then the player edge, in blocks of `validators`.
pub fn generate(
    out: &Path,
    validators: usize,
    base_port: u16,
    zone: u32,
    tick_ms: u64,
) -> Result<Genesis, ConfigError> {
    let keys = (0..validators)
        .map(|_| random_key())
        .collect::<Result<Vec<_>, _>>()?;
    // The network's content publisher: `z3r0 content publish` signs with `publisher.key`.
    let publisher = random_key()?;
    let port = |block: usize, i: usize| loopback_port(out, validators, base_port, block, i);
    let defaults = SimConfig::default();
    let genesis = Genesis {
        world: None,
        world_zones: None,
        content: Some(to_hex(&z3r0_sim::content::DEFAULT_MANIFEST)),
        content_publisher: Some(to_hex(&publisher.public_key().encode())),
        plugins: Vec::new(),
        zone,
        tick_ms,
        genesis_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        world_seed: defaults.seed,
        chunks_x: [defaults.chunks_x.0, defaults.chunks_x.1],
        chunks_y: [defaults.chunks_y.0, defaults.chunks_y.1],
        chunks_z: [defaults.chunks_z.0, defaults.chunks_z.1],
        claim_limit: defaults.claim_limit,
        timeout_s: DEFAULT_TIMEOUT_S,
        movement: Movement::default(),
        validators: keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                Ok(ValidatorEntry {
                    public_key: to_hex(&k.public_key().encode()),
                    p2p: port(0, i)?,
                    players: Some(port(2, i)?),
                })
            })
            .collect::<Result<_, ConfigError>>()?,
    };
    let genesis_path = out.join("genesis.toml");
    genesis.validate().map_err(|reason| ConfigError::Invalid {
        path: genesis_path.clone(),
        reason,
    })?;
    std::fs::create_dir_all(out).map_err(|source| ConfigError::Write {
        path: out.into(),
        source,
    })?;
    write(&genesis_path, &toml::to_string(&genesis)?)?;
    write_key(&out.join(PUBLISHER_KEY), &publisher)?;
    for (i, k) in keys.iter().enumerate() {
        let dir = out.join(format!("validator-{i}"));
        std::fs::create_dir_all(&dir).map_err(|source| ConfigError::Write {
            path: dir.clone(),
            source,
        })?;
        write_key(&dir.join("private.key"), k)?;
        let cfg = ValidatorConfig {
            genesis: PathBuf::from("../genesis.toml"),
            private_key_file: PathBuf::from("private.key"),
            storage_dir: PathBuf::from("data"),
            p2p_listen: port(0, i)?,
            metrics: port(1, i)?,
            player_listen: port(2, i)?,
        };
        write(&dir.join("config.toml"), &toml::to_string(&cfg)?)?;
    }
    Ok(genesis)
}

/// Hashes a genesis's game parts into `h`, each only when named: a genesis without them keeps
/// the id it had before they existed.
pub(crate) fn hash_game(
    h: &mut blake3::Hasher,
    content: Option<&str>,
    publisher: Option<&str>,
    plugins: &[String],
) {
    if let Some(content) = content {
        h.update(b"content");
        h.update(&(content.len() as u64).to_be_bytes());
        h.update(content.as_bytes());
    }
    if let Some(publisher) = publisher {
        h.update(b"content_publisher");
        h.update(&(publisher.len() as u64).to_be_bytes());
        h.update(publisher.as_bytes());
    }
    if !plugins.is_empty() {
        h.update(b"plugins");
        h.update(&(plugins.len() as u64).to_be_bytes());
        for name in plugins {
            h.update(&(name.len() as u64).to_be_bytes());
            h.update(name.as_bytes());
        }
    }
}

/// The directory of a zone's own genesis content, beside its genesis (or its world's
/// `world.toml`): objects named by their blake3 (lowercase hex), the manifest's canonical
/// bytes and the pack's files, as validators keep assets. Every validator needs it with the
/// genesis.
pub fn content_dir(genesis_path: &Path) -> PathBuf {
    genesis_path.with_file_name("content")
}

/// The content publisher's key file that [`generate`] writes beside the genesis.
pub const PUBLISHER_KEY: &str = "publisher.key";

/// Validator `i`'s loopback address in port block `block` (p2p, metrics, player edge) of a
/// network of `validators` from `base_port`.
fn loopback_port(
    out: &Path,
    validators: usize,
    base_port: u16,
    block: usize,
    i: usize,
) -> Result<SocketAddr, ConfigError> {
    let p = block
        .checked_mul(validators)
        .and_then(|p| p.checked_add(i))
        .and_then(|p| p.checked_add(usize::from(base_port)))
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| ConfigError::Invalid {
            path: out.into(),
            reason: format!(
                "{validators} validators from port {base_port} run out of ports; choose a \
                 lower --base-port"
            ),
        })?;
    Ok(SocketAddr::from(([127, 0, 0, 1], p)))
}

/// How a `z3r0 node` process ended, by its exit code: what whoever supervises it does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeExit {
    /// Stopped when told to.
    Stopped,
    /// Failed for a reason a restart may mend (an address in use, a lost peer network).
    Failed,
    /// Its data directory is damaged or another's: a restart meets the same fault. The fix is
    /// `z3r0 node --resync` (or another directory).
    Storage,
    /// Its state left the chain's: a block the committee finalized does not execute here as it
    /// did for them. A restart replays the same divergence.
    Diverged,
}

impl NodeExit {
    /// The process exit code.
    pub const fn code(self) -> i32 {
        match self {
            Self::Stopped => 0,
            Self::Failed => 1,
            Self::Storage => 3,
            Self::Diverged => 4,
        }
    }

    /// The exit for `code` (anything unknown, a panic's 101 included, counts as a failure).
    pub const fn from_code(code: i32) -> Self {
        match code {
            0 => Self::Stopped,
            3 => Self::Storage,
            4 => Self::Diverged,
            _ => Self::Failed,
        }
    }

    /// Its name in reports and logs.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::Failed => "failed",
            Self::Storage => "storage",
            Self::Diverged => "diverged",
        }
    }

    /// Whether restarting the same process on the same data may help.
    pub const fn restartable(self) -> bool {
        matches!(self, Self::Stopped | Self::Failed)
    }
}

/// A content publisher key: 32 bytes of lowercase hex that are an ed25519 public key.
fn publisher_key(hex: &str) -> Option<[u8; 32]> {
    use commonware_codec::DecodeExt as _;
    let bytes: [u8; 32] = from_hex(hex)?.try_into().ok()?;
    if to_hex(&bytes) != hex {
        return None;
    }
    PublicKey::decode(Copying(&bytes[..])).ok()?;
    Some(bytes)
}
