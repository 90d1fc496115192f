//! The zone's published content in the window: the hotbar offers its new blocks, and the
//! renderer's texture array grows to show them with their own textures. The game client
//! fetched and checked every file already (`z3r0_client::ContentFollower`); this reads them
//! from its cache.

use std::sync::Arc;
use z3r0_client::{ContentFollower, LoadedContent};
use z3r0_render::textures::{BlockLook, BlockTextures, FaceKind};
use z3r0_voxel::{BlockId, BlockRules, block_info};

/// One hotbar slot: the block it places, its name and its colour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HotbarSlot {
    pub block: BlockId,
    pub name: String,
    pub color: [u8; 3],
}

impl HotbarSlot {
    fn builtin(block: BlockId) -> Self {
        let info = block_info(block);
        Self {
            block,
            name: info.name.to_string(),
            color: info.color,
        }
    }
}

/// The hotbar: the built-in blocks ([`crate::hud::HOTBAR`]), with the blocks the published
/// content adds (visible ones the built-in table does not define, lowest id first) in the
/// last slots.
pub fn hotbar(content: Option<&LoadedContent>) -> [HotbarSlot; 9] {
    let mut slots = crate::hud::HOTBAR.map(HotbarSlot::builtin);
    let Some(content) = content else {
        return slots;
    };
    let builtin = BlockRules::builtin();
    let added: Vec<HotbarSlot> = content
        .manifest
        .blocks
        .iter()
        .filter(|b| !builtin.is_defined(b.id) && b.faces.is_some())
        .take(slots.len())
        .map(|b| HotbarSlot {
            block: b.id,
            name: b.name.clone(),
            color: b.color,
        })
        .collect();
    let first = slots.len() - added.len();
    for (slot, block) in slots.iter_mut().skip(first).zip(added) {
        *slot = block;
    }
    slots
}

/// A hotbar shared by the frames that show it.
pub type Hotbar = Arc<[HotbarSlot; 9]>;

/// The hotbar of the content in force, built again only when that content changes (a frame
/// asks for it sixty times a second).
#[derive(Debug, Default)]
pub struct HotbarCache {
    built_for: Option<u64>,
    hotbar: Hotbar,
}

impl HotbarCache {
    pub fn get(&mut self, content: &ContentFollower) -> Hotbar {
        if self.built_for != Some(content.version()) {
            self.hotbar = Arc::new(hotbar(content.active().map(|c| &**c)));
            self.built_for = Some(content.version());
        }
        self.hotbar.clone()
    }
}

/// The bytes of a file `content` names, from the cache the client fetched it into.
fn cached(content: &LoadedContent, hash: &[u8; 32]) -> Result<Vec<u8>, String> {
    let path = content.files.get(hash).ok_or("not in the cache")?;
    std::fs::read(path).map_err(|e| e.to_string())
}

/// How `content`'s blocks look: [`block_textures`] and the manifest's opacities.
pub fn block_look(content: &LoadedContent) -> BlockLook {
    BlockLook {
        textures: block_textures(content),
        opacities: content.manifest.opacities(),
    }
}

/// The renderer's textures for `content`: the built-in ones, and each block's faces from its
/// files (a block whose file does not decode, or that finds the texture array full, keeps the
/// unknown pattern, with a warning).
pub fn block_textures(content: &LoadedContent) -> BlockTextures {
    let mut textures = BlockTextures::generated();
    for block in &content.manifest.blocks {
        let Some(faces) = block.faces else {
            continue;
        };
        let kinds = [FaceKind::Top, FaceKind::Side, FaceKind::Bottom];
        for (kind, hash) in kinds.into_iter().zip(faces) {
            let texels = cached(content, &hash).and_then(|b| z3r0_content::decode_texture(&b));
            match texels {
                Ok(texels) => {
                    if !textures.set(block.id, kind, texels) {
                        tracing::warn!(block = %block.name, "texture array full: face not shown");
                    }
                }
                Err(e) => tracing::warn!(block = %block.name, error = %e, "texture not shown"),
            }
        }
    }
    textures
}

/// The sound bank's sounds for `content`'s blocks: each block's dig, place and step files,
/// decoded from the cache (a block without one, or whose file does not decode, keeps the
/// built-in sound).
pub fn block_sounds(content: &LoadedContent) -> z3r0_audio::BlockSounds {
    use z3r0_audio::Sound;
    let mut bank = z3r0_audio::BlockSounds::default();
    for block in &content.manifest.blocks {
        let events = [Sound::Break, Sound::Place, Sound::Footstep];
        for (sound, hash) in events.into_iter().zip(block.sounds) {
            let Some(hash) = hash else {
                continue;
            };
            let decoded = cached(content, &hash).and_then(|b| z3r0_content::decode_sound(&b));
            match decoded {
                Ok((rate, frames)) => bank.insert(block.id, sound, rate, &frames),
                Err(e) => tracing::warn!(block = %block.name, error = %e, "sound not played"),
            }
        }
    }
    bank
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A manifest of the built-in blocks plus a lamp (id 11) with a solid-red texture in
    /// `dir`.
    fn lamp_content(dir: &std::path::Path) -> LoadedContent {
        let red = {
            let mut png = Vec::new();
            let mut encoder = png::Encoder::new(&mut png, 16, 16);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&[200, 10, 10].repeat(256)).unwrap();
            writer.finish().unwrap();
            png
        };
        let hash = *blake3::hash(&red).as_bytes();
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join("red.png");
        std::fs::write(&path, &red).unwrap();
        // A dig sound: a tenth of a second of a quiet constant, mono.
        let hum = {
            let mut wav = std::io::Cursor::new(Vec::new());
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: 22_050,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let mut writer = hound::WavWriter::new(&mut wav, spec).unwrap();
            for _ in 0..2_205 {
                writer.write_sample(8_192i16).unwrap();
            }
            writer.finalize().unwrap();
            wav.into_inner()
        };
        let hum_hash = *blake3::hash(&hum).as_bytes();
        let hum_path = dir.join("hum.wav");
        std::fs::write(&hum_path, &hum).unwrap();
        let lamp = z3r0_content::BlockEntry {
            id: 11,
            name: "lamp".into(),
            opacity: z3r0_content::Opacity::Opaque,
            solid: true,
            replaceable: false,
            light: 15,
            break_ticks: 0,
            drops: None,
            color: [250, 220, 120],
            faces: Some([hash; 3]),
            sounds: [Some(hum_hash), None, None],
        };
        let manifest = z3r0_content::Manifest {
            name: "lamps".into(),
            version: 2,
            blocks: vec![lamp],
            items: Vec::new(),
        };
        LoadedContent {
            hash: [1; 32],
            rules: manifest.block_rules(),
            manifest,
            files: BTreeMap::from([(hash, path), (hum_hash, hum_path)]),
        }
    }

    #[test]
    fn published_blocks_join_the_hotbar_and_the_texture_array() {
        let dir = std::env::temp_dir().join(format!("z3r0-app-content-{}", std::process::id()));
        let content = lamp_content(&dir);
        let before = hotbar(None);
        let after = hotbar(Some(&content));
        assert_eq!(before[..8], after[..8]);
        assert_eq!(
            after[8],
            HotbarSlot {
                block: 11,
                name: "lamp".into(),
                color: [250, 220, 120],
            }
        );
        let textures = block_textures(&content);
        assert_eq!(
            textures.layer_count(),
            12 * 3 + 1,
            "one new layer: red on every face"
        );
        assert!(
            textures
                .get(11, FaceKind::Side)
                .iter()
                .all(|t| *t == [200, 10, 10, 255])
        );
        assert_eq!(block_sounds(&content).len(), 1, "the lamp's dig sound");
        let generated = BlockTextures::generated();
        assert_eq!(
            textures.get(1, FaceKind::Top),
            generated.get(1, FaceKind::Top)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_hotbar_is_built_once_per_content() {
        let follower = ContentFollower::new(None);
        let mut cache = HotbarCache::default();
        let first = cache.get(&follower);
        assert_eq!(*first, hotbar(None));
        assert!(
            Arc::ptr_eq(&first, &cache.get(&follower)),
            "not built again"
        );
    }

    #[test]
    fn the_look_meshes_published_blocks_by_their_own_opacity() {
        use z3r0_voxel::Opacity;
        let dir = std::env::temp_dir().join(format!("z3r0-app-look-{}", std::process::id()));
        let mut content = lamp_content(&dir);
        assert_eq!(block_look(&content).opacities.get(11), Opacity::Opaque);
        content.manifest.blocks[0].opacity = z3r0_content::Opacity::Transparent;
        let look = block_look(&content);
        assert_eq!(look.opacities.get(11), Opacity::Transparent);
        assert_eq!(
            look.opacities.get(12),
            Opacity::Opaque,
            "unknown ids stay opaque"
        );
        assert_eq!(
            look.opacities.get(z3r0_voxel::blocks::WATER),
            Opacity::Transparent
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
