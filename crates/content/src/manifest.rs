//! `pack.toml`: what a content pack says, before it is checked.

use serde::{Deserialize, Serialize};

/// The whole manifest file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackFile {
    pub pack: PackHeader,
    #[serde(default, rename = "block", skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<BlockDef>,
    #[serde(default, rename = "item", skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemDef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackHeader {
    /// Lower-case letters, digits, `-` and `_`.
    pub name: String,
    pub version: u32,
}

/// How a block meets light and its neighbours' faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Opacity {
    /// Nothing there (air): no faces.
    Empty,
    /// Hides the faces behind it.
    Opaque,
    /// Drawn, but hides nothing (water, glass).
    Transparent,
}

/// One block type. Its `id` is what the chain stores in a voxel: part of the consensus
/// format, never renumbered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockDef {
    pub id: u16,
    pub name: String,
    pub opacity: Opacity,
    /// Collides with bodies.
    pub solid: bool,
    /// An edit may put a block where this one is, and nobody can dig it (air, water).
    #[serde(default)]
    pub replaceable: bool,
    /// Light it gives, 0 to 15.
    #[serde(default)]
    pub light: u8,
    /// Ticks of digging before it breaks; 0 breaks at once.
    #[serde(default)]
    pub break_ticks: u32,
    /// The item a digger gets, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drops: Option<String>,
    /// sRGB colour for maps and untextured views.
    pub color: [u8; 3],
    #[serde(default, skip_serializing_if = "Textures::is_empty")]
    pub textures: Textures,
    #[serde(default, skip_serializing_if = "Sounds::is_empty")]
    pub sounds: Sounds,
}

/// Texture files by face: `all`, or `top`, `side` and `bottom` (each overrides `all`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Textures {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottom: Option<String>,
}

impl Textures {
    pub fn is_empty(&self) -> bool {
        self.all.is_none() && self.top.is_none() && self.side.is_none() && self.bottom.is_none()
    }
}

/// Sound files a block plays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sounds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dig: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

impl Sounds {
    pub fn is_empty(&self) -> bool {
        self.dig.is_none() && self.place.is_none() && self.step.is_none()
    }
}

/// One item type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemDef {
    pub name: String,
    /// How many fit in one inventory slot.
    pub stack: u16,
    /// The block it places, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub places: Option<String>,
    /// Its icon; an item that places a block may leave it out and show the block's side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texture: Option<String>,
}
