//! The content assets a validator holds: `storage_dir/assets`, objects named by their blake3
//! (hex), served to players by the edge. The genesis's content publisher uploads a pack's
//! files there (verified as they arrive, `z3r0_net::assets`), and the node writes each
//! published manifest's bytes there itself once the chain has scheduled it, so every
//! validator holds every manifest its chain published and clients fetch it by its hash.

use std::path::{Path, PathBuf};
use z3r0_net::AssetStore;
use z3r0_sim::{Receipt, Sim};

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

/// Writes the manifest a block scheduled (if it did) into the asset directory under its hash.
pub fn keep_scheduled_manifest(dir: &Path, sim: &Sim, receipts: &[Receipt]) {
    let scheduled = receipts
        .iter()
        .any(|r| matches!(r, Receipt::ContentScheduled { .. }));
    let Some(entity) = scheduled.then(|| sim.content_entities().1).flatten() else {
        return;
    };
    let (Some(record), Some(bytes)) = (sim.published_content().1, sim.manifest_bytes(entity))
    else {
        return;
    };
    let name = z3r0_net::assets::hex_of(&record.manifest);
    let target = dir.join(&name);
    if target.is_file() {
        return;
    }
    // Written whole under another name first: the edge serves all of it or none.
    let partial = dir.join(format!("{name}.manifest.partial"));
    let written = std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, &target));
    if let Err(e) = written {
        tracing::warn!(error = %e, manifest = %name, "could not keep the published manifest");
    }
}
