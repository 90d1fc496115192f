//! The content assets a validator holds: `storage_dir/assets`, objects named by their blake3
//! (hex), served to players by the edge. The genesis's content publisher uploads a pack's
//! files there (verified as they arrive, `z3r0_net::assets`), and the node writes each
//! published manifest's bytes there itself once the chain has scheduled it, so every
//! validator holds every manifest its chain published and clients fetch it by its hash.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use z3r0_net::AssetStore;
use z3r0_sim::Sim;

/// The most bytes of uploads one validator keeps.
pub const ASSET_STORE_BYTES: u64 = 1 << 30;

/// The directory of a validator's assets.
pub fn asset_dir(storage_dir: &Path) -> PathBuf {
    storage_dir.join("assets")
}

/// The store the edge serves: uploads taken from `publisher` (none: read only).
pub fn asset_store(storage_dir: &Path, publisher: Option<[u8; 32]>) -> std::io::Result<AssetStore> {
    let dir = asset_dir(storage_dir);
    std::fs::create_dir_all(&dir)?;
    Ok(match publisher {
        Some(key) => AssetStore::with_uploader(dir, key, ASSET_STORE_BYTES),
        None => AssetStore::new(dir),
    })
}

/// Copies the objects in `from` (a zone's own genesis content, `z3r0_genesis::content_dir`)
/// into the asset directory `to`, so the edge serves them: each a plain file named by its
/// blake3 (lowercase hex), hashing to it and no larger than an asset may be (one already there
/// that does not hash to its name is replaced). Anything else is skipped with a warning
/// (clients fetch what this validator lacks from another edge). Returns how many are there
/// now.
pub fn import_objects(from: &Path, to: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(to)?;
    let mut held = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let hash = z3r0_genesis::from_hex(&name)
            .filter(|h| h.len() == 32 && name == z3r0_net::assets::hex_of(h));
        let (Some(hash), true) = (hash, entry.file_type()?.is_file()) else {
            tracing::warn!(file = %entry.path().display(), "not a content object; skipped");
            continue;
        };
        if entry.metadata()?.len() > z3r0_net::assets::MAX_ASSET_BYTES {
            tracing::warn!(file = %entry.path().display(), "larger than an asset may be; skipped");
            continue;
        }
        let target = to.join(&name);
        let hashes_to = |bytes: &[u8]| blake3::hash(bytes).as_bytes()[..] == hash[..];
        if std::fs::read(&target).is_ok_and(|held| hashes_to(&held)) {
            held += 1;
            continue;
        }
        let bytes = std::fs::read(entry.path())?;
        if !hashes_to(&bytes) {
            tracing::warn!(file = %entry.path().display(), "does not hash to its name; skipped");
            continue;
        }
        let partial = to.join(format!("{name}.import.partial"));
        std::fs::write(&partial, bytes)?;
        std::fs::rename(&partial, &target)?;
        held += 1;
    }
    Ok(held)
}

/// Keeps the published manifests the state holds (the one in force, one scheduled) in the
/// asset directory under their hashes. Read from the state after every block, not from one
/// block's receipts: a block that schedules and activates a manifest at once (a catch-up
/// block), or a replica restored from a snapshot, keeps it too. A manifest kept once is not
/// looked for on disk again, so a block costs nothing here unless the content changed.
#[derive(Debug)]
pub struct ManifestKeeper {
    dir: PathBuf,
    kept: BTreeSet<[u8; 32]>,
}

impl ManifestKeeper {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            kept: BTreeSet::new(),
        }
    }

    pub fn keep(&mut self, sim: &Sim) {
        let (active, scheduled) = sim.content_entities();
        for entity in [active, scheduled].into_iter().flatten() {
            let record = sim.ecs.get::<z3r0_sim::content::PublishedContent>(entity);
            let (Some(record), Some(bytes)) = (record, sim.manifest_bytes(entity)) else {
                continue;
            };
            if self.kept.contains(&record.manifest) {
                continue;
            }
            if self.write(&record.manifest, bytes) {
                self.kept.insert(record.manifest);
            }
        }
    }

    /// Writes `bytes` under `hash` unless a file is there; whether it is there now.
    fn write(&self, hash: &[u8; 32], bytes: &[u8]) -> bool {
        let name = z3r0_net::assets::hex_of(hash);
        let target = self.dir.join(&name);
        if target.is_file() {
            return true;
        }
        // Written whole under another name first: the edge serves all of it or none.
        let partial = self.dir.join(format!("{name}.manifest.partial"));
        let written =
            std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, &target));
        match written {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, manifest = %name, "could not keep the published manifest");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use z3r0_sim::content::ContentPart;
    use z3r0_sim::{Action, BlockAction, SimConfig};
    use z3r0_voxel::{BlockRules, block_info};

    /// A manifest of the built-in blocks, textured with made-up hashes.
    fn builtin_manifest() -> Vec<u8> {
        let rules = BlockRules::builtin();
        let blocks = rules
            .ids()
            .map(|id| z3r0_content::BlockEntry {
                id,
                name: block_info(id).name.to_string(),
                opacity: if id == 0 {
                    z3r0_content::Opacity::Empty
                } else {
                    z3r0_content::Opacity::Opaque
                },
                solid: rules.is_solid(id),
                replaceable: rules.is_replaceable(id),
                light: 0,
                break_ticks: 0,
                drops: None,
                color: [0; 3],
                faces: (id != 0).then_some([[id as u8; 32]; 3]),
                sounds: [None; 3],
            })
            .collect();
        z3r0_content::Manifest {
            name: "kept".into(),
            version: 2,
            blocks,
            items: Vec::new(),
        }
        .encode()
    }

    #[test]
    fn genesis_objects_are_imported_when_they_hash_to_their_names() {
        let dir = std::env::temp_dir().join(format!("z3r0-import-{}", std::process::id()));
        let (from, to) = (dir.join("content"), dir.join("assets"));
        std::fs::create_dir_all(from.join("sub")).unwrap();
        let good = b"a texture".to_vec();
        let name = z3r0_net::assets::hex_of(blake3::hash(&good).as_bytes());
        std::fs::write(from.join(&name), &good).unwrap();
        let lying = z3r0_net::assets::hex_of(blake3::hash(b"other").as_bytes());
        std::fs::write(from.join(&lying), b"not other").unwrap();
        std::fs::write(from.join("pack.toml"), b"x").unwrap();
        assert_eq!(import_objects(&from, &to).unwrap(), 1);
        assert_eq!(std::fs::read(to.join(&name)).unwrap(), good);
        assert!(!to.join(&lying).exists(), "a tampered object stays out");
        assert_eq!(import_objects(&from, &to).unwrap(), 1, "again: nothing new");
        // A damaged copy already held is replaced; a file too large to be an asset is skipped
        // without being read.
        std::fs::write(to.join(&name), b"damaged").unwrap();
        assert_eq!(import_objects(&from, &to).unwrap(), 1);
        assert_eq!(std::fs::read(to.join(&name)).unwrap(), good);
        let huge = z3r0_net::assets::hex_of(&[7; 32]);
        let file = std::fs::File::create(from.join(&huge)).unwrap();
        file.set_len(z3r0_net::assets::MAX_ASSET_BYTES + 1).unwrap();
        assert_eq!(import_objects(&from, &to).unwrap(), 1);
        assert!(!to.join(&huge).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_manifest_scheduled_and_activated_in_one_catch_up_block_is_kept() {
        let publisher = [0xC0; 32];
        let config = SimConfig {
            chunks_x: (-1, 1),
            chunks_y: (-1, 1),
            chunks_z: (-1, 1),
            publisher: Some(publisher),
            ..SimConfig::default()
        };
        let mut sim = Sim::genesis(config).unwrap();
        let bytes = builtin_manifest();
        let payloads: Vec<Vec<u8>> = ContentPart::split(&bytes, 5)
            .unwrap()
            .into_iter()
            .map(|p| Action::PublishContent(p).encode_to_vec())
            .collect();
        // Block 10 catches up from tick 1: the parts apply at tick 2, activation at 5.
        let mut receipts = Vec::new();
        sim.execute_block(
            10,
            payloads.iter().zip(0..).map(|(p, nonce)| BlockAction {
                player: &publisher,
                tick: 2,
                nonce,
                payload: p,
                endorsed: true,
            }),
            &mut receipts,
        );
        let hash = *blake3::hash(&bytes).as_bytes();
        assert_eq!(sim.content_manifests().0, hash, "in force already");
        let dir = std::env::temp_dir().join(format!("z3r0-kept-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        ManifestKeeper::new(dir.clone()).keep(&sim);
        let kept = std::fs::read(dir.join(z3r0_net::assets::hex_of(&hash))).unwrap();
        assert_eq!(kept, bytes);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
