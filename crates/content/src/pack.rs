//! A pack on disk: its manifest file checked, its files hashed, and its bundle written.

use crate::canon::{BlockEntry, ItemEntry, Manifest};
use crate::{BlockDef, Hash, MAX_FILE_BYTES, PackErrors, PackFile, hex, media, validate};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A block face's textures, resolved from `all` and the per-face names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaceTextures {
    pub top: Hash,
    pub side: Hash,
    pub bottom: Hash,
}

/// A checked pack: its manifest, each file's hash, and where each hash's bytes are.
#[derive(Debug, Clone)]
pub struct Pack {
    pub dir: PathBuf,
    pub file: PackFile,
    /// Hash of each file the manifest names, by the name it uses.
    pub hashes: BTreeMap<String, Hash>,
}

impl Pack {
    /// Reads and checks the pack in `dir`: every error found, not only the first.
    pub fn load(dir: &Path) -> Result<Self, PackErrors> {
        let file = validate::read_manifest(dir).map_err(|e| PackErrors(vec![e]))?;
        let mut errors = Vec::new();
        validate::structure(dir, &file, &mut errors);
        let hashes = validate::files(dir, &file, &mut errors);
        if errors.is_empty() {
            Ok(Self {
                dir: dir.to_path_buf(),
                file,
                hashes,
            })
        } else {
            Err(PackErrors(errors))
        }
    }

    /// The hash of a file the manifest names.
    fn hash_of(&self, name: &str) -> Hash {
        self.hashes.get(name).copied().unwrap_or_default()
    }

    /// A block's three face textures, if it has any.
    pub fn faces(&self, block: &BlockDef) -> Option<FaceTextures> {
        let t = &block.textures;
        let face = |f: &Option<String>| f.as_ref().or(t.all.as_ref()).map(|n| self.hash_of(n));
        Some(FaceTextures {
            top: face(&t.top)?,
            side: face(&t.side)?,
            bottom: face(&t.bottom)?,
        })
    }

    /// The bytes of a file the manifest names, read again now with the same checks as
    /// [`Pack::load`]'s, and refused if they are no longer what was checked.
    pub fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        let root = self
            .dir
            .canonicalize()
            .map_err(|e| format!("the pack: {e}"))?;
        let bytes = validate::read_inside(&root, Path::new(name), MAX_FILE_BYTES)
            .map_err(|e| format!("{name}: {e}"))?;
        if Some(blake3::hash(&bytes).as_bytes()) != self.hashes.get(name) {
            return Err(format!("{name}: changed since the pack was checked"));
        }
        Ok(bytes)
    }

    /// A block's top, side and bottom texels, read again now; `None` for a block without
    /// textures.
    pub fn face_texels(&self, block: &BlockDef) -> Option<Result<[Vec<[u8; 4]>; 3], String>> {
        let t = &block.textures;
        let name = |f: &Option<String>| f.as_ref().or(t.all.as_ref()).cloned();
        let names = [name(&t.top)?, name(&t.side)?, name(&t.bottom)?];
        let read = |n: &String| media::decode_png(&self.read(n)?).map_err(|e| format!("{n}: {e}"));
        Some((|| {
            Ok([read(&names[0])?, read(&names[1])?, read(&names[2])?])
        })())
    }

    /// What the pack means, canonically: blocks by id, items by name, files by hash.
    pub fn manifest(&self) -> Manifest {
        let mut blocks: Vec<BlockEntry> = self
            .file
            .blocks
            .iter()
            .map(|b| BlockEntry {
                id: b.id,
                name: b.name.clone(),
                opacity: b.opacity,
                solid: b.solid,
                replaceable: b.replaceable,
                light: b.light,
                break_ticks: b.break_ticks,
                drops: b.drops.clone(),
                color: b.color,
                faces: self.faces(b).map(|f| [f.top, f.side, f.bottom]),
                sounds: [&b.sounds.dig, &b.sounds.place, &b.sounds.step]
                    .map(|s| s.as_deref().map(|n| self.hash_of(n))),
            })
            .collect();
        blocks.sort_by_key(|b| b.id);
        let mut items: Vec<ItemEntry> = self
            .file
            .items
            .iter()
            .map(|i| ItemEntry {
                name: i.name.clone(),
                stack: i.stack,
                places: i.places.clone(),
                texture: i.texture.as_deref().map(|n| self.hash_of(n)),
            })
            .collect();
        items.sort_by(|a, b| a.name.cmp(&b.name));
        Manifest {
            name: self.file.pack.name.clone(),
            version: self.file.pack.version,
            blocks,
            items,
        }
    }

    /// The manifest hash: blake3 of the canonical manifest ([`Manifest::hash`]), so two packs
    /// with the same content have the same hash whatever their text or file names.
    pub fn manifest_hash(&self) -> Hash {
        self.manifest().hash()
    }

    /// Writes the content-addressed bundle to `out`: `objects/<hex hash>` for each file (one
    /// written already is left as it is: same name, same bytes) and a `pack.toml` naming
    /// them. Returns the manifest hash.
    pub fn write_bundle(&self, out: &Path) -> std::io::Result<Hash> {
        self.write_files(&out.join("objects"))?;
        let mut bundled = self.file.clone();
        let rename = |n: &mut String| {
            let hash = self.hash_of(n);
            *n = format!("objects/{}", hex(&hash));
        };
        for b in &mut bundled.blocks {
            let t = &mut b.textures;
            let s = &mut b.sounds;
            for name in [
                &mut t.all,
                &mut t.top,
                &mut t.side,
                &mut t.bottom,
                &mut s.dig,
                &mut s.place,
                &mut s.step,
            ]
            .into_iter()
            .flatten()
            {
                rename(name);
            }
        }
        for item in &mut bundled.items {
            if let Some(name) = &mut item.texture {
                rename(name);
            }
        }
        let text = toml::to_string(&bundled).map_err(std::io::Error::other)?;
        std::fs::write(out.join("pack.toml"), text)?;
        Ok(self.manifest_hash())
    }

    /// Writes the objects a validator holds for this pack into `dir`: every file and the
    /// canonical manifest ([`Manifest::encode`]), each named by its blake3 (hex), as a zone's
    /// own genesis content lies beside its genesis. Returns the manifest hash.
    pub fn write_objects(&self, dir: &Path) -> std::io::Result<Hash> {
        self.write_files(dir)?;
        let manifest = self.manifest();
        let hash = manifest.hash();
        crate::store_object(dir, &hash, || Ok(manifest.encode()))?;
        Ok(hash)
    }

    /// Every file into `dir` by its hash.
    fn write_files(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (name, hash) in &self.hashes {
            crate::store_object(dir, hash, || self.read(name).map_err(std::io::Error::other))?;
        }
        Ok(())
    }
}
