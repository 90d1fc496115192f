//! Block ids and the properties the engine needs from them.

/// A voxel: a block id. `0` is air.
pub type BlockId = u16;

/// The built-in blocks. Ids are part of the consensus format: never renumber them.
pub mod blocks {
    use super::BlockId;
    pub const AIR: BlockId = 0;
    pub const STONE: BlockId = 1;
    pub const DIRT: BlockId = 2;
    pub const GRASS: BlockId = 3;
    pub const SAND: BlockId = 4;
    pub const WATER: BlockId = 5;
    pub const LOG: BlockId = 6;
    pub const LEAVES: BlockId = 7;
    pub const GRAVEL: BlockId = 8;
    pub const SNOW: BlockId = 9;
    pub const GLASS: BlockId = 10;
}

/// How a block interacts with light and with its neighbours' faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Opacity {
    /// Nothing there: no faces, hides nothing.
    Empty,
    /// Hides the faces of any neighbour behind it.
    Opaque,
    /// Drawn, but does not hide neighbours (water, glass); faces between two blocks of the
    /// same transparent kind are not drawn.
    Transparent,
}

#[derive(Debug, Clone, Copy)]
pub struct BlockInfo {
    pub name: &'static str,
    pub opacity: Opacity,
    /// Collides with players.
    pub solid: bool,
    /// Colour for maps and untextured views (sRGB).
    pub color: [u8; 3],
}

const fn info(name: &'static str, opacity: Opacity, solid: bool, color: [u8; 3]) -> BlockInfo {
    BlockInfo {
        name,
        opacity,
        solid,
        color,
    }
}

const BUILTIN: [BlockInfo; 11] = [
    info("air", Opacity::Empty, false, [0, 0, 0]),
    info("stone", Opacity::Opaque, true, [125, 125, 125]),
    info("dirt", Opacity::Opaque, true, [134, 96, 67]),
    info("grass", Opacity::Opaque, true, [96, 160, 64]),
    info("sand", Opacity::Opaque, true, [219, 207, 163]),
    info("water", Opacity::Transparent, false, [48, 92, 196]),
    info("log", Opacity::Opaque, true, [102, 81, 51]),
    info("leaves", Opacity::Opaque, true, [58, 120, 40]),
    info("gravel", Opacity::Opaque, true, [136, 126, 126]),
    info("snow", Opacity::Opaque, true, [240, 244, 250]),
    info("glass", Opacity::Transparent, true, [200, 230, 240]),
];

/// Ids not in the built-in table are valid voxels (mods and assets add blocks later) and
/// behave as plain opaque solids until registered.
const UNKNOWN: BlockInfo = info("unknown", Opacity::Opaque, true, [255, 0, 255]);

/// Branch-free opacity class of a built-in reading: `(opaque, transparent)` as 0/1.
#[inline(always)]
pub fn opacity_bits(id: BlockId) -> (u32, u32) {
    BUILTIN_OPACITIES.bits(id)
}

pub fn block_info(id: BlockId) -> &'static BlockInfo {
    BUILTIN.get(usize::from(id)).unwrap_or(&UNKNOWN)
}

pub fn opacity(id: BlockId) -> Opacity {
    block_info(id).opacity
}

pub fn is_opaque(id: BlockId) -> bool {
    opacity(id) == Opacity::Opaque
}

pub fn is_transparent(id: BlockId) -> bool {
    opacity(id) == Opacity::Transparent
}

/// Block ids a world may define: ids are below this.
pub const MAX_BLOCK_IDS: usize = 4_096;

type Bits = [u64; MAX_BLOCK_IDS / 64];

/// What the rules need of each block type: whether the id is defined, whether it collides
/// with bodies, and whether an edit may put a block where it is (air, water). The table is
/// consensus state's meaning: content published on chain extends it, never changes it.
#[derive(Clone, PartialEq, Eq)]
pub struct BlockRules {
    defined: Bits,
    solid: Bits,
    replaceable: Bits,
}

/// A block id at or past [`MAX_BLOCK_IDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("block id {0} is not below {MAX_BLOCK_IDS}")]
pub struct BlockIdTooLarge(pub BlockId);

/// How a newer table differs from an older one in the meaning of a block the older defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RulesChange {
    #[error("block {0} is no longer defined")]
    Undefined(BlockId),
    #[error("block {0} changes whether it is solid or replaceable")]
    Changed(BlockId),
}

const fn bit(bits: &Bits, id: BlockId) -> bool {
    let i = id as usize;
    i < MAX_BLOCK_IDS && (bits[i / 64] >> (i % 64)) & 1 == 1
}

const fn builtin_rules() -> BlockRules {
    let mut rules = BlockRules::empty();
    let mut i = 0;
    while i < BUILTIN.len() {
        let id = i as BlockId;
        let replaceable = id == blocks::AIR || id == blocks::WATER;
        rules.set(id, BUILTIN[i].solid, replaceable);
        i += 1;
    }
    rules
}

static BUILTIN_RULES: BlockRules = builtin_rules();

impl BlockRules {
    /// No block defined.
    pub const fn empty() -> Self {
        Self {
            defined: [0; MAX_BLOCK_IDS / 64],
            solid: [0; MAX_BLOCK_IDS / 64],
            replaceable: [0; MAX_BLOCK_IDS / 64],
        }
    }

    /// The engine's built-in blocks (the default content pack's).
    pub fn builtin() -> &'static Self {
        &BUILTIN_RULES
    }

    const fn set(&mut self, id: BlockId, solid: bool, replaceable: bool) {
        let (word, mask) = ((id as usize) / 64, 1u64 << (id % 64));
        self.defined[word] |= mask;
        if solid {
            self.solid[word] |= mask;
        }
        if replaceable {
            self.replaceable[word] |= mask;
        }
    }

    /// Defines block `id` (a second definition replaces the first).
    pub fn define(
        &mut self,
        id: BlockId,
        solid: bool,
        replaceable: bool,
    ) -> Result<(), BlockIdTooLarge> {
        if usize::from(id) >= MAX_BLOCK_IDS {
            return Err(BlockIdTooLarge(id));
        }
        let (word, mask) = (usize::from(id) / 64, 1u64 << (id % 64));
        for bits in [&mut self.defined, &mut self.solid, &mut self.replaceable] {
            if let Some(w) = bits.get_mut(word) {
                *w &= !mask;
            }
        }
        self.set(id, solid, replaceable);
        Ok(())
    }

    pub fn is_defined(&self, id: BlockId) -> bool {
        bit(&self.defined, id)
    }

    /// Collides with bodies; an undefined id is a wall (it cannot be in the world, but a
    /// wall is the safe reading if it were).
    pub fn is_solid(&self, id: BlockId) -> bool {
        bit(&self.solid, id) || !self.is_defined(id)
    }

    /// Edits may place into it, and it cannot be dug (air, water).
    pub fn is_replaceable(&self, id: BlockId) -> bool {
        bit(&self.replaceable, id)
    }

    /// Whether `self` keeps the meaning of every block `older` defines (it may add blocks).
    pub fn extends(&self, older: &BlockRules) -> Result<(), RulesChange> {
        for (word, &defined) in older.defined.iter().enumerate() {
            let mut rest = defined;
            while rest != 0 {
                let id = (word * 64) as BlockId + rest.trailing_zeros() as BlockId;
                rest &= rest - 1;
                if !self.is_defined(id) {
                    return Err(RulesChange::Undefined(id));
                }
                if self.is_solid(id) != older.is_solid(id)
                    || self.is_replaceable(id) != older.is_replaceable(id)
                {
                    return Err(RulesChange::Changed(id));
                }
            }
        }
        Ok(())
    }

    /// The defined ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = BlockId> + '_ {
        (0..MAX_BLOCK_IDS as BlockId).filter(|&id| self.is_defined(id))
    }
}

/// Each block id's opacity class, as meshing and ambient occlusion read it: the built-in
/// table, extended by the content in force. Ids nothing defines are opaque, as the unknown
/// block is. This is rendering's table, not the rules': an id's class is not consensus state.
#[derive(Clone, PartialEq, Eq)]
pub struct Opacities {
    opaque: Bits,
    transparent: Bits,
}

const fn builtin_opacities() -> Opacities {
    let mut ops = Opacities {
        opaque: [u64::MAX; MAX_BLOCK_IDS / 64],
        transparent: [0; MAX_BLOCK_IDS / 64],
    };
    let mut i = 0;
    while i < BUILTIN.len() {
        ops.put(i, BUILTIN[i].opacity);
        i += 1;
    }
    ops
}

static BUILTIN_OPACITIES: Opacities = builtin_opacities();

impl Opacities {
    /// The built-in blocks' classes; every other id opaque.
    pub fn builtin() -> &'static Self {
        &BUILTIN_OPACITIES
    }

    const fn put(&mut self, i: usize, opacity: Opacity) {
        let (word, mask) = (i / 64, 1u64 << (i % 64));
        self.opaque[word] &= !mask;
        self.transparent[word] &= !mask;
        match opacity {
            Opacity::Empty => {}
            Opacity::Opaque => self.opaque[word] |= mask,
            Opacity::Transparent => self.transparent[word] |= mask,
        }
    }

    /// Gives block `id` the class `opacity`.
    pub fn set(&mut self, id: BlockId, opacity: Opacity) -> Result<(), BlockIdTooLarge> {
        if usize::from(id) >= MAX_BLOCK_IDS {
            return Err(BlockIdTooLarge(id));
        }
        self.put(usize::from(id), opacity);
        Ok(())
    }

    /// `(opaque, transparent)` as 0/1, for masks built without branches.
    #[inline(always)]
    pub fn bits(&self, id: BlockId) -> (u32, u32) {
        let (word, shift) = (usize::from(id) / 64, id % 64);
        match (self.opaque.get(word), self.transparent.get(word)) {
            (Some(o), Some(t)) => (((o >> shift) & 1) as u32, ((t >> shift) & 1) as u32),
            _ => (1, 0),
        }
    }

    pub fn get(&self, id: BlockId) -> Opacity {
        match self.bits(id) {
            (1, _) => Opacity::Opaque,
            (_, 1) => Opacity::Transparent,
            _ => Opacity::Empty,
        }
    }

    pub fn is_opaque(&self, id: BlockId) -> bool {
        self.bits(id).0 == 1
    }
}

impl std::fmt::Debug for Opacities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = |bits: &Bits| bits.iter().map(|w| w.count_ones()).sum::<u32>();
        f.debug_struct("Opacities")
            .field("opaque", &count(&self.opaque))
            .field("transparent", &count(&self.transparent))
            .finish()
    }
}

impl std::fmt::Debug for BlockRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockRules")
            .field("defined", &self.ids().count())
            .finish()
    }
}

#[cfg(test)]
mod rules_tests {
    use super::*;

    #[test]
    fn the_mesher_sees_every_id_as_the_block_table_does() {
        for id in (0..200).chain([4_095, 4_096, u16::MAX]) {
            let (opaque, transparent) = opacity_bits(id);
            assert_eq!(opaque == 1, is_opaque(id), "block {id}");
            assert_eq!(transparent == 1, is_transparent(id), "block {id}");
        }
    }

    #[test]
    fn the_builtin_rules_are_the_builtin_table() {
        let rules = BlockRules::builtin();
        assert_eq!(rules.ids().count(), BUILTIN.len());
        assert!(!rules.is_solid(blocks::AIR) && rules.is_replaceable(blocks::AIR));
        assert!(!rules.is_solid(blocks::WATER) && rules.is_replaceable(blocks::WATER));
        assert!(rules.is_solid(blocks::GLASS) && !rules.is_replaceable(blocks::GLASS));
        assert!(
            rules.is_solid(500) && !rules.is_defined(500),
            "undefined is a wall"
        );
    }

    #[test]
    fn a_table_extends_another_only_keeping_each_block_it_defines() {
        let older = BlockRules::builtin().clone();
        let mut newer = older.clone();
        newer.define(11, false, false).unwrap();
        assert_eq!(newer.extends(&older), Ok(()));
        assert_eq!(older.extends(&newer), Err(RulesChange::Undefined(11)));
        newer.define(blocks::GLASS, false, false).unwrap();
        assert_eq!(
            newer.extends(&older),
            Err(RulesChange::Changed(blocks::GLASS))
        );
        assert_eq!(
            newer.define(MAX_BLOCK_IDS as BlockId, true, false),
            Err(BlockIdTooLarge(4_096))
        );
    }
}
