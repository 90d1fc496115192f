//! Content packs: a game's blocks and items as data.
//!
//! A pack is a directory with a `pack.toml` manifest ([`manifest::PackFile`]) and the files it
//! names: PNG textures and WAV sounds. [`Pack::load`] checks all of it, cheapest first, and
//! names the file and field of every error; a checked pack addresses each file by its blake3
//! hash and has a manifest hash ([`Pack::manifest_hash`]) over a canonical encoding, so two
//! packs with the same content have the same hash whatever their file names. [`Pack::write_bundle`]
//! writes the content-addressed form: `objects/<hash>` per file and a `pack.toml` that names
//! them, itself a pack with the same manifest hash.

pub mod manifest;
mod media;
mod validate;

pub use manifest::{BlockDef, ItemDef, Opacity, PackFile, PackHeader, Sounds, Textures};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file's content address.
pub type Hash = [u8; 32];

/// Most bytes the manifest may have.
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;
/// Most bytes one texture or sound may have.
pub const MAX_FILE_BYTES: u64 = 16 << 20;
/// Most block types (ids are below it) and item types a pack may define.
pub const MAX_BLOCKS: usize = 4_096;
pub const MAX_ITEMS: usize = 4_096;
/// Texture edge in texels: every face is this square, so they share one texture array.
pub const TEXTURE_SIZE: u32 = 16;
/// Longest sound, in seconds.
pub const MAX_SOUND_SECONDS: u32 = 10;

/// One thing wrong with a pack: the file, the field in it, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {field}: {reason}", file.display())]
pub struct ContentError {
    pub file: PathBuf,
    pub field: String,
    pub reason: String,
}

/// Everything wrong with a pack (at least one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} error(s) in the pack:\n{}", .0.len(), list(.0))]
pub struct PackErrors(pub Vec<ContentError>);

fn list(errors: &[ContentError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

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

    /// The manifest hash: blake3 of a canonical encoding of what the pack means (blocks by
    /// id, items by name, files by hash), not of its text or file names.
    pub fn manifest_hash(&self) -> Hash {
        let mut h = blake3::Hasher::new();
        h.update(b"z3r0/content/v1");
        put_str(&mut h, &self.file.pack.name);
        h.update(&self.file.pack.version.to_be_bytes());
        let mut blocks: Vec<&BlockDef> = self.file.blocks.iter().collect();
        blocks.sort_by_key(|b| b.id);
        h.update(&(blocks.len() as u64).to_be_bytes());
        for b in blocks {
            self.put_block(&mut h, b);
        }
        let mut items: Vec<&ItemDef> = self.file.items.iter().collect();
        items.sort_by(|a, b| a.name.cmp(&b.name));
        h.update(&(items.len() as u64).to_be_bytes());
        for item in items {
            put_str(&mut h, &item.name);
            h.update(&item.stack.to_be_bytes());
            put_opt_str(&mut h, item.places.as_deref());
            self.put_opt_file(&mut h, item.texture.as_deref());
        }
        *h.finalize().as_bytes()
    }

    fn put_block(&self, h: &mut blake3::Hasher, b: &BlockDef) {
        h.update(&b.id.to_be_bytes());
        put_str(h, &b.name);
        h.update(&[
            b.opacity as u8,
            u8::from(b.solid),
            u8::from(b.replaceable),
            b.light,
        ]);
        h.update(&b.break_ticks.to_be_bytes());
        put_opt_str(h, b.drops.as_deref());
        h.update(&b.color);
        match self.faces(b) {
            Some(f) => {
                h.update(&[1]);
                for face in [f.top, f.side, f.bottom] {
                    h.update(&face);
                }
            }
            None => {
                h.update(&[0]);
            }
        }
        for sound in [&b.sounds.dig, &b.sounds.place, &b.sounds.step] {
            self.put_opt_file(h, sound.as_deref());
        }
    }

    fn put_opt_file(&self, h: &mut blake3::Hasher, name: Option<&str>) {
        match name {
            Some(n) => {
                h.update(&[1]);
                h.update(&self.hash_of(n));
            }
            None => {
                h.update(&[0]);
            }
        }
    }

    /// Writes the content-addressed bundle to `out`: `objects/<hex hash>` for each file (one
    /// written already is left as it is: same name, same bytes) and a `pack.toml` naming
    /// them. Returns the manifest hash.
    pub fn write_bundle(&self, out: &Path) -> std::io::Result<Hash> {
        let objects = out.join("objects");
        std::fs::create_dir_all(&objects)?;
        for (name, hash) in &self.hashes {
            let target = objects.join(hex(hash));
            // An object already there with its name's hash is kept; anything else is rewritten.
            let stored = std::fs::read(&target).ok();
            if stored.is_some_and(|b| blake3::hash(&b).as_bytes() == hash) {
                continue;
            }
            let bytes = self.read(name).map_err(std::io::Error::other)?;
            let partial = objects.join(format!("{}.partial", hex(hash)));
            std::fs::write(&partial, bytes)?;
            std::fs::rename(&partial, &target)?;
        }
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
}

fn put_str(h: &mut blake3::Hasher, s: &str) {
    h.update(&(s.len() as u64).to_be_bytes());
    h.update(s.as_bytes());
}

fn put_opt_str(h: &mut blake3::Hasher, s: Option<&str>) {
    match s {
        Some(s) => {
            h.update(&[1]);
            put_str(h, s);
        }
        None => {
            h.update(&[0]);
        }
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
