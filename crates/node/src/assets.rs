//! The content assets a validator holds: `storage_dir/assets`, objects named by their blake3
//! (hex), served to players by the edge. The genesis's content publisher uploads a pack's
//! files there (verified as they arrive, `z3r0_net::assets`), and the node writes each
//! published manifest's bytes there itself once the chain has scheduled it, so every
//! validator holds every manifest its chain published and clients fetch it by its hash.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use z3r0_net::AssetStore;
use z3r0_sim::Sim;

/// The most bytes of uploads one validator keeps.
pub const ASSET_STORE_BYTES: u64 = 1 << 30;
/// How long an object that no manifest in the state names stays: the files of content no
/// longer in force go after it, while uploads for a publication still to come (made before
/// its parts are sent) outlive the content change that may happen meanwhile.
pub const UNREFERENCED_GRACE: Duration = Duration::from_secs(3_600);

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

/// Every object the manifests in `sim`'s state are or name.
fn live_objects(sim: &Sim) -> BTreeSet<[u8; 32]> {
    let (active, scheduled) = sim.content_entities();
    let mut live = BTreeSet::new();
    for entity in [active, scheduled].into_iter().flatten() {
        let record = sim.ecs.get::<z3r0_sim::content::PublishedContent>(entity);
        let (Some(record), Some(bytes)) = (record, sim.manifest_bytes(entity)) else {
            continue;
        };
        live.insert(record.manifest);
        if let Ok(manifest) = z3r0_content::Manifest::decode(bytes) {
            live.extend(manifest.files());
        }
    }
    live
}

/// Removes from the asset directory `dir` the objects not in `live` and unmodified for
/// `grace` before `now`, and partial files as old (an upload or write cut short). Returns how
/// many were removed.
pub fn collect_unreferenced(
    dir: &Path,
    live: &BTreeSet<[u8; 32]>,
    grace: Duration,
    now: SystemTime,
) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let object = z3r0_genesis::from_hex(&name)
            .and_then(|h| <[u8; 32]>::try_from(h).ok())
            .filter(|h| name == z3r0_net::assets::hex_of(h));
        let unused = match object {
            Some(hash) => !live.contains(&hash),
            None => name.ends_with(".partial"),
        };
        let modified = entry.metadata()?.modified()?;
        let old = now.duration_since(modified).is_ok_and(|age| age >= grace);
        if unused && old {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
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
            .and_then(|h| <[u8; 32]>::try_from(h).ok())
            .filter(|h| name == z3r0_net::assets::hex_of(h));
        let (Some(hash), true) = (hash, entry.file_type()?.is_file()) else {
            tracing::warn!(file = %entry.path().display(), "not a content object; skipped");
            continue;
        };
        if entry.metadata()?.len() > z3r0_net::assets::MAX_ASSET_BYTES {
            tracing::warn!(file = %entry.path().display(), "larger than an asset may be; skipped");
            continue;
        }
        let mut damaged = false;
        let stored = z3r0_content::store_object(to, &hash, || {
            let bytes = std::fs::read(entry.path())?;
            damaged = blake3::hash(&bytes).as_bytes() != &hash;
            match damaged {
                true => Err(std::io::Error::other("does not hash to its name")),
                false => Ok(bytes),
            }
        });
        match stored {
            Ok(()) => held += 1,
            Err(e) if damaged => tracing::warn!(file = %entry.path().display(), %e, "skipped"),
            Err(e) => return Err(e),
        }
    }
    Ok(held)
}

/// Keeps the published manifests the state holds (the one in force, one scheduled) in the
/// asset directory under their hashes. Read from the state after every block, not from one
/// block's receipts: a block that schedules and activates a manifest at once (a catch-up
/// block), or a replica restored from a snapshot, keeps it too. A manifest kept once is not
/// looked for on disk again, so a block costs nothing here unless the content changed. When
/// the manifests in the state change (and once at start), the objects none of them names are
/// removed once [`UNREFERENCED_GRACE`] old ([`collect_unreferenced`], on a thread of its own),
/// so the directory holds the live content and recent uploads, not every pack ever published.
#[derive(Debug)]
pub struct ManifestKeeper {
    dir: PathBuf,
    kept: BTreeSet<[u8; 32]>,
    /// The manifests in the state at the last look (`None`: not looked yet).
    in_state: Option<BTreeSet<[u8; 32]>>,
}

impl ManifestKeeper {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            kept: BTreeSet::new(),
            in_state: None,
        }
    }

    pub fn keep(&mut self, sim: &Sim) {
        self.write_manifests(sim);
        let (active, scheduled) = sim.content_entities();
        let records = [active, scheduled]
            .into_iter()
            .flatten()
            .filter_map(|e| sim.ecs.get::<z3r0_sim::content::PublishedContent>(e))
            .map(|r| r.manifest);
        let now: BTreeSet<[u8; 32]> = records.collect();
        if self.in_state.as_ref() == Some(&now) {
            return;
        }
        // A manifest out of the state may be collected off the disk: if it comes back, it is
        // written again.
        self.kept.retain(|h| now.contains(h));
        self.in_state = Some(now);
        let live = live_objects(sim);
        let dir = self.dir.clone();
        // Off the block path: a directory scan and removals.
        let _ = std::thread::Builder::new()
            .name("z3r0-asset-gc".into())
            .spawn(move || {
                match collect_unreferenced(&dir, &live, UNREFERENCED_GRACE, SystemTime::now()) {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(removed = n, "content no longer in force removed"),
                    Err(e) => tracing::warn!(error = %e, "could not clean the asset directory"),
                }
            });
    }

    fn write_manifests(&mut self, sim: &Sim) {
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

    /// Stores `bytes` (they hash to `hash`: the state's record says so) unless they are there;
    /// whether they are there now.
    fn write(&self, hash: &[u8; 32], bytes: &[u8]) -> bool {
        match z3r0_content::store_object(&self.dir, hash, || Ok(bytes.to_vec())) {
            Ok(()) => true,
            Err(e) => {
                let manifest = z3r0_content::hex(hash);
                tracing::warn!(error = %e, %manifest, "could not keep the published manifest");
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
    fn objects_no_manifest_names_go_once_old_and_the_live_ones_stay() {
        let dir = std::env::temp_dir().join(format!("z3r0-gc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let object = |bytes: &[u8]| {
            let hash = *blake3::hash(bytes).as_bytes();
            std::fs::write(dir.join(z3r0_net::assets::hex_of(&hash)), bytes).unwrap();
            hash
        };
        let (live, old, fresh) = (
            object(b"in force"),
            object(b"replaced"),
            object(b"uploaded"),
        );
        std::fs::write(dir.join("notes.txt"), b"not an object").unwrap();
        std::fs::write(dir.join("abc.upload.partial"), b"cut short").unwrap();
        let now = SystemTime::now();
        let two_hours_ago = now - Duration::from_secs(7_200);
        for name in [
            z3r0_net::assets::hex_of(&live),
            z3r0_net::assets::hex_of(&old),
            "notes.txt".into(),
            "abc.upload.partial".into(),
        ] {
            let file = std::fs::File::options()
                .append(true)
                .open(dir.join(&name))
                .unwrap();
            file.set_modified(two_hours_ago).unwrap();
        }
        let keep = BTreeSet::from([live]);
        let removed = collect_unreferenced(&dir, &keep, UNREFERENCED_GRACE, now).unwrap();
        assert_eq!(removed, 2, "the replaced object and the old partial file");
        assert!(dir.join(z3r0_net::assets::hex_of(&live)).exists());
        assert!(!dir.join(z3r0_net::assets::hex_of(&old)).exists());
        assert!(
            dir.join(z3r0_net::assets::hex_of(&fresh)).exists(),
            "an upload younger than the grace stays for the publication it is for"
        );
        assert!(dir.join("notes.txt").exists(), "not ours to remove");
        std::fs::remove_dir_all(&dir).unwrap();
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
        let path = dir.join(z3r0_net::assets::hex_of(&hash));
        let mut keeper = ManifestKeeper::new(dir.clone());
        keeper.keep(&sim);
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        // Out of the state, then collected off the disk: back in the state, it is kept again.
        keeper.keep(&Sim::genesis(config).unwrap());
        std::fs::remove_file(&path).unwrap();
        keeper.keep(&sim);
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "kept again");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
