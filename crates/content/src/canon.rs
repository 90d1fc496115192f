//! The canonical manifest: what a pack means (blocks by id, items by name, files by hash) as
//! bytes every node reads alike. Its blake3 hash is the manifest hash; the bytes travel on
//! chain when a publisher publishes a pack, so [`Manifest::decode`] takes hostile input: every
//! length is bounded before it is used, and anything but the one canonical encoding of a
//! well-formed manifest is refused.

use crate::{Hash, MAX_BLOCKS, MAX_ITEMS, Opacity};
use std::collections::BTreeSet;
use z3r0_voxel::{BlockId, BlockRules, Opacities};

/// The encoding's first bytes; a new encoding gets a new version.
pub const FORMAT: &[u8] = b"z3r0/content/v1";
/// The default pack's manifest hash (`content/default`): the content every genesis starts
/// with, whose blocks are the engine's built-in ones.
pub const DEFAULT_MANIFEST: Hash = [
    0xb5, 0x44, 0x72, 0xc8, 0x81, 0x7e, 0x16, 0x79, 0xe8, 0x32, 0xa8, 0xf0, 0xdc, 0x3a, 0x83, 0xce,
    0x4c, 0xe1, 0x45, 0x34, 0x9d, 0xb0, 0x12, 0xe4, 0xea, 0x7e, 0xaf, 0x62, 0x08, 0x64, 0x2f, 0x37,
];
/// Most bytes an encoded manifest may have.
pub const MAX_ENCODED_BYTES: usize = 1 << 20;
/// Longest name: 1 to 64 of `a-z`, `0-9`, `_` and `-`.
pub const MAX_NAME: usize = 64;
/// Longest digging time: an hour of 60 Hz ticks.
pub const MAX_BREAK_TICKS: u32 = 216_000;
pub const MAX_LIGHT: u8 = 15;
pub const MAX_STACK: u16 = 999;

/// A pack's meaning, without its files' names or bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    pub version: u32,
    /// In id order.
    pub blocks: Vec<BlockEntry>,
    /// In name order.
    pub items: Vec<ItemEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEntry {
    pub id: BlockId,
    pub name: String,
    pub opacity: Opacity,
    pub solid: bool,
    pub replaceable: bool,
    pub light: u8,
    pub break_ticks: u32,
    pub drops: Option<String>,
    pub color: [u8; 3],
    /// Top, side and bottom textures; none for an empty block.
    pub faces: Option<[Hash; 3]>,
    /// Dig, place and step sounds.
    pub sounds: [Option<Hash>; 3],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemEntry {
    pub name: String,
    pub stack: u16,
    pub places: Option<String>,
    pub texture: Option<Hash>,
}

/// Why bytes are not a canonical manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("{0} bytes; a manifest has at most {MAX_ENCODED_BYTES}")]
    TooLarge(usize),
    #[error("not a v1 content manifest")]
    Format,
    #[error("ends early")]
    Truncated,
    #[error("{0} bytes after the manifest")]
    Trailing(usize),
    #[error("{what}: {why}")]
    Invalid { what: String, why: &'static str },
    #[error("{0} blocks; at most {MAX_BLOCKS}")]
    TooManyBlocks(u64),
    #[error("{0} items; at most {MAX_ITEMS}")]
    TooManyItems(u64),
}

fn invalid(what: impl Into<String>, why: &'static str) -> ManifestError {
    ManifestError::Invalid {
        what: what.into(),
        why,
    }
}

/// A name: 1 to [`MAX_NAME`] of `a-z`, `0-9`, `_` and `-`.
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

impl Manifest {
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + 256 * self.blocks.len() + 96 * self.items.len());
        out.extend_from_slice(FORMAT);
        put_str(&mut out, &self.name);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&(self.blocks.len() as u64).to_be_bytes());
        for b in &self.blocks {
            b.encode(&mut out);
        }
        out.extend_from_slice(&(self.items.len() as u64).to_be_bytes());
        for item in &self.items {
            put_str(&mut out, &item.name);
            out.extend_from_slice(&item.stack.to_be_bytes());
            put_opt_str(&mut out, item.places.as_deref());
            put_opt_hash(&mut out, item.texture.as_ref());
        }
        out
    }

    /// The manifest hash: blake3 of [`Manifest::encode`].
    pub fn hash(&self) -> Hash {
        *blake3::hash(&self.encode()).as_bytes()
    }

    /// Reads canonical bytes, refusing anything else: a bound is checked before each length is
    /// used, entries must be in order, and the manifest must be well formed ([`Manifest::check`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, ManifestError> {
        if bytes.len() > MAX_ENCODED_BYTES {
            return Err(ManifestError::TooLarge(bytes.len()));
        }
        let mut r = Reader(bytes);
        if r.take(FORMAT.len())? != FORMAT {
            return Err(ManifestError::Format);
        }
        let name = r.name("pack.name")?;
        let version = r.u32()?;
        let count = r.u64()?;
        if count > MAX_BLOCKS as u64 {
            return Err(ManifestError::TooManyBlocks(count));
        }
        let mut blocks = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let b = BlockEntry::read(&mut r)?;
            if blocks.last().is_some_and(|p: &BlockEntry| p.id >= b.id) {
                return Err(invalid(format!("block {}", b.id), "ids out of order"));
            }
            blocks.push(b);
        }
        let count = r.u64()?;
        if count > MAX_ITEMS as u64 {
            return Err(ManifestError::TooManyItems(count));
        }
        let mut items = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let item = ItemEntry {
                name: r.name("item.name")?,
                stack: r.u16()?,
                places: r.opt_name("item.places")?,
                texture: r.opt_hash()?,
            };
            if items
                .last()
                .is_some_and(|p: &ItemEntry| p.name >= item.name)
            {
                return Err(invalid(format!("item {}", item.name), "names out of order"));
            }
            items.push(item);
        }
        if !r.0.is_empty() {
            return Err(ManifestError::Trailing(r.0.len()));
        }
        let manifest = Manifest {
            name,
            version,
            blocks,
            items,
        };
        manifest.check()?;
        Ok(manifest)
    }

    /// The rules a pack must keep whatever its files: block 0 is empty, an empty block
    /// neither collides nor stays and has no faces, every other block has faces, names are
    /// unique, and every name a block or item refers to exists.
    pub fn check(&self) -> Result<(), ManifestError> {
        if self.version == 0 {
            return Err(invalid("pack.version", "versions start at 1"));
        }
        if self.blocks.first().is_none_or(|b| b.id != 0) {
            return Err(invalid("block 0", "the empty voxel (air) must be defined"));
        }
        let items: BTreeSet<&str> = self.items.iter().map(|i| i.name.as_str()).collect();
        let mut names = BTreeSet::new();
        for b in &self.blocks {
            let what = || format!("block {}", b.id);
            if !names.insert(b.name.as_str()) {
                return Err(invalid(what(), "its name is used twice"));
            }
            b.check().map_err(|why| invalid(what(), why))?;
            if b.drops.as_deref().is_some_and(|d| !items.contains(d)) {
                return Err(invalid(what(), "it drops an item that is not defined"));
            }
        }
        for item in &self.items {
            let what = || format!("item {}", item.name);
            if !(1..=MAX_STACK).contains(&item.stack) {
                return Err(invalid(what(), "a stack is 1 to 999"));
            }
            match &item.places {
                Some(block) if !names.contains(block.as_str()) => {
                    return Err(invalid(what(), "it places a block that is not defined"));
                }
                None if item.texture.is_none() => {
                    return Err(invalid(
                        what(),
                        "an item that places no block needs a texture",
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// How its blocks hide each other, for meshing: the built-in table with each of its
    /// blocks' classes in place.
    pub fn opacities(&self) -> Opacities {
        let mut ops = Opacities::builtin().clone();
        for b in &self.blocks {
            let opacity = match b.opacity {
                Opacity::Empty => z3r0_voxel::Opacity::Empty,
                Opacity::Opaque => z3r0_voxel::Opacity::Opaque,
                Opacity::Transparent => z3r0_voxel::Opacity::Transparent,
            };
            // Ids are below MAX_BLOCKS (= the table's size), checked when read or loaded.
            let _ = ops.set(b.id, opacity);
        }
        ops
    }

    /// What the rules need of its blocks.
    pub fn block_rules(&self) -> BlockRules {
        let mut rules = BlockRules::empty();
        for b in &self.blocks {
            // Ids are below MAX_BLOCKS (= the table's size), checked when read or loaded.
            let _ = rules.define(b.id, b.solid, b.replaceable);
        }
        rules
    }

    /// Every file the manifest names (textures, sounds, icons), each once.
    pub fn files(&self) -> BTreeSet<Hash> {
        let blocks = self.blocks.iter().flat_map(|b| {
            let faces = b.faces.iter().flatten();
            faces.chain(b.sounds.iter().flatten()).copied()
        });
        let icons = self.items.iter().filter_map(|i| i.texture);
        blocks.chain(icons).collect()
    }

    pub fn block(&self, id: BlockId) -> Option<&BlockEntry> {
        self.blocks
            .binary_search_by_key(&id, |b| b.id)
            .ok()
            .and_then(|i| self.blocks.get(i))
    }
}

impl BlockEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        put_str(out, &self.name);
        out.extend_from_slice(&[
            self.opacity as u8,
            u8::from(self.solid),
            u8::from(self.replaceable),
            self.light,
        ]);
        out.extend_from_slice(&self.break_ticks.to_be_bytes());
        put_opt_str(out, self.drops.as_deref());
        out.extend_from_slice(&self.color);
        match &self.faces {
            Some(faces) => {
                out.push(1);
                for face in faces {
                    out.extend_from_slice(face);
                }
            }
            None => out.push(0),
        }
        for sound in &self.sounds {
            put_opt_hash(out, sound.as_ref());
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, ManifestError> {
        let id = r.u16()?;
        if usize::from(id) >= MAX_BLOCKS {
            return Err(invalid(format!("block {id}"), "ids are below 4096"));
        }
        let name = r.name("block.name")?;
        let opacity = match r.u8()? {
            0 => Opacity::Empty,
            1 => Opacity::Opaque,
            2 => Opacity::Transparent,
            _ => return Err(invalid(format!("block {id}"), "unknown opacity")),
        };
        let solid = r.bool(id)?;
        let replaceable = r.bool(id)?;
        let light = r.u8()?;
        let break_ticks = r.u32()?;
        let drops = r.opt_name("block.drops")?;
        let color = r.array()?;
        let faces = match r.u8()? {
            0 => None,
            1 => Some([r.array()?, r.array()?, r.array()?]),
            _ => return Err(invalid(format!("block {id}"), "faces flag is not 0 or 1")),
        };
        let sounds = [r.opt_hash()?, r.opt_hash()?, r.opt_hash()?];
        Ok(Self {
            id,
            name,
            opacity,
            solid,
            replaceable,
            light,
            break_ticks,
            drops,
            color,
            faces,
            sounds,
        })
    }

    fn check(&self) -> Result<(), &'static str> {
        if self.light > MAX_LIGHT {
            return Err("light is 0 to 15");
        }
        if self.break_ticks > MAX_BREAK_TICKS {
            return Err("break_ticks is at most 216000");
        }
        match (self.opacity, self.faces.is_some()) {
            (Opacity::Empty, _) if self.solid || !self.replaceable => {
                Err("an empty block is neither solid nor permanent")
            }
            (Opacity::Empty, true) => Err("an empty block has no faces to texture"),
            (Opacity::Opaque | Opacity::Transparent, false) => Err("a visible block needs faces"),
            _ if self.id == 0 && self.opacity != Opacity::Empty => {
                Err("block 0 (the empty voxel) must be empty")
            }
            _ => Ok(()),
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
        None => out.push(0),
    }
}

fn put_opt_hash(out: &mut Vec<u8>, h: Option<&Hash>) {
    match h {
        Some(h) => {
            out.push(1);
            out.extend_from_slice(h);
        }
        None => out.push(0),
    }
}

/// Bounded reads from the front of a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ManifestError> {
        if self.0.len() < n {
            return Err(ManifestError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ManifestError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, ManifestError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, ManifestError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, ManifestError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, ManifestError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn bool(&mut self, id: BlockId) -> Result<bool, ManifestError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(invalid(format!("block {id}"), "a flag is not 0 or 1")),
        }
    }

    fn name(&mut self, what: &'static str) -> Result<String, ManifestError> {
        let len = self.u64()?;
        if len > MAX_NAME as u64 {
            return Err(invalid(what, "a name has at most 64 bytes"));
        }
        let bytes = self.take(len as usize)?;
        match std::str::from_utf8(bytes) {
            Ok(s) if is_name(s) => Ok(s.to_owned()),
            _ => Err(invalid(what, "not a name (a-z, 0-9, '_' and '-')")),
        }
    }

    fn opt_name(&mut self, what: &'static str) -> Result<Option<String>, ManifestError> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.name(what).map(Some),
            _ => Err(invalid(what, "presence flag is not 0 or 1")),
        }
    }

    fn opt_hash(&mut self) -> Result<Option<Hash>, ManifestError> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.array().map(Some),
            _ => Err(invalid("file", "presence flag is not 0 or 1")),
        }
    }
}
