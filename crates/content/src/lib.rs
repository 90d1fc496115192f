//! Content packs: a game's blocks and items as data.
//!
//! A pack is a directory with a `pack.toml` manifest ([`manifest::PackFile`]) and the files it
//! names: PNG textures and WAV sounds. [`Pack::load`] checks all of it, cheapest first, and
//! names the file and field of every error; a checked pack addresses each file by its blake3
//! hash and has a manifest hash ([`Pack::manifest_hash`]) over a canonical encoding, so two
//! packs with the same content have the same hash whatever their file names. [`Pack::write_bundle`]
//! writes the content-addressed form: `objects/<hash>` per file and a `pack.toml` that names
//! them, itself a pack with the same manifest hash.

pub mod canon;
pub mod manifest;
#[cfg(feature = "pack")]
mod media;
#[cfg(feature = "pack")]
mod pack;
#[cfg(feature = "pack")]
mod validate;

pub use canon::{BlockEntry, ItemEntry, Manifest, ManifestError};
pub use manifest::{BlockDef, ItemDef, Opacity, PackFile, PackHeader, Sounds, Textures};
/// A texture file's texels (a 16 × 16 PNG, 8-bit RGB or RGBA), row-major RGBA.
#[cfg(feature = "pack")]
pub use media::decode_png as decode_texture;
/// A sound file's sample rate and stereo frames (a WAV of one or two channels).
#[cfg(feature = "pack")]
pub use media::decode_sound;
#[cfg(feature = "pack")]
pub use pack::{FaceTextures, Pack};

use std::path::PathBuf;

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

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Stores an object in `dir` as `<hex hash>`, its bytes from `bytes()`: written whole under
/// another name first, then renamed, so a reader (an edge serving it) finds all of it or none.
/// An object already there that hashes to its name is kept and `bytes` is not called; anything
/// else there is replaced. The caller vouches that the bytes hash to `hash`.
pub fn store_object(
    dir: &std::path::Path,
    hash: &Hash,
    bytes: impl FnOnce() -> std::io::Result<Vec<u8>>,
) -> std::io::Result<()> {
    let target = dir.join(hex(hash));
    let stored = std::fs::read(&target).ok();
    if stored.is_some_and(|b| blake3::hash(&b).as_bytes() == hash) {
        return Ok(());
    }
    // Unique per writer, so two writers of one object do not write into one file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let partial = dir.join(format!("{}.{}-{n}.partial", hex(hash), std::process::id()));
    std::fs::write(&partial, bytes()?)?;
    std::fs::rename(&partial, &target)
}
