//! A content pack's look for the renderer (`z3r0 render --content DIR`): its textures and
//! its blocks' opacities, and a watcher that reloads them when the pack's files change
//! (`--watch`).

use anyhow::{Result, bail};
use notify::Watcher as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use z3r0_content::Pack;
use z3r0_render::textures::{BlockLook, BlockTextures, FaceKind};

/// The built-in textures with the pack's in their place, and the pack's opacities; a note for
/// each face the texture array has no layer left for.
pub fn load(dir: &Path) -> Result<BlockLook> {
    let pack = match Pack::load(dir) {
        Ok(pack) => pack,
        Err(errors) => bail!("{} is not a valid content pack: {errors}", dir.display()),
    };
    let mut textures = BlockTextures::generated();
    for block in &pack.file.blocks {
        let Some(faces) = pack.face_texels(block) else {
            continue;
        };
        let [top, side, bottom] = match faces {
            Ok(faces) => faces,
            Err(e) => bail!("{}: block {}: {e}", dir.display(), block.name),
        };
        for (kind, texels) in [
            (FaceKind::Top, top),
            (FaceKind::Side, side),
            (FaceKind::Bottom, bottom),
        ] {
            if !textures.set(block.id, kind, texels) {
                println!(
                    "note: the texture array is full; block {} ({}) shows as unknown",
                    block.id, block.name
                );
            }
        }
    }
    Ok(BlockLook {
        textures,
        opacities: pack.manifest().opacities(),
    })
}

/// Watches a pack's directory; [`PackWatcher::poll`] gives its look again once the files
/// have been quiet for a moment after a change.
pub struct PackWatcher {
    dir: PathBuf,
    events: mpsc::Receiver<notify::Result<notify::Event>>,
    _watcher: notify::RecommendedWatcher,
    changed: Option<Instant>,
}

/// Editors write a file in several steps: wait this long after the last event.
const QUIET: Duration = Duration::from_millis(150);

impl std::fmt::Debug for PackWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackWatcher")
            .field("dir", &self.dir)
            .finish()
    }
}

impl PackWatcher {
    pub fn new(dir: &Path) -> Result<Self> {
        let (tx, events) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |event| {
            let _ = tx.send(event);
        })?;
        watcher.watch(dir, notify::RecursiveMode::Recursive)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            events,
            _watcher: watcher,
            changed: None,
        })
    }

    /// The pack's look if it changed and has been quiet since; an invalid pack is
    /// reported and the renderer keeps what it shows.
    pub fn poll(&mut self) -> Option<BlockLook> {
        while let Ok(event) = self.events.try_recv() {
            if event.is_ok_and(|e| !e.kind.is_access()) {
                self.changed = Some(Instant::now());
            }
        }
        let changed = self.changed?;
        if changed.elapsed() < QUIET {
            return None;
        }
        self.changed = None;
        match load(&self.dir) {
            Ok(textures) => {
                println!("reloaded {}", self.dir.display());
                Some(textures)
            }
            Err(e) => {
                eprintln!("{e:#}\n(keeping the textures shown)");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    fn write_solid_png(path: &Path, rgb: [u8; 3]) {
        let file = std::fs::File::create(path).unwrap();
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), 16, 16);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let texels: Vec<u8> = rgb.repeat(256);
        encoder
            .write_header()
            .unwrap()
            .write_image_data(&texels)
            .unwrap();
    }

    /// Polls `watcher` until it gives textures or `limit` passes.
    fn reload(watcher: &mut PackWatcher, limit: Duration) -> Option<BlockLook> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(t) = watcher.poll() {
                return Some(t);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    #[test]
    fn an_edited_texture_is_reloaded_and_a_broken_pack_keeps_the_old_one() {
        let dir = std::env::temp_dir().join(format!("z3r0-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("content/default"),
            &dir,
        );
        let before = load(&dir).unwrap();
        assert_eq!(before, BlockLook::builtin());
        let before = before.textures;
        let mut watcher = PackWatcher::new(&dir).unwrap();
        assert!(watcher.poll().is_none());

        write_solid_png(&dir.join("textures/stone_top.png"), [255, 0, 0]);
        let after = reload(&mut watcher, Duration::from_secs(5))
            .expect("no reload")
            .textures;
        let stone = z3r0_voxel::blocks::STONE;
        assert_eq!(after.get(stone, FaceKind::Top), [[255, 0, 0, 255]; 256]);
        assert_eq!(
            after.get(stone, FaceKind::Side),
            before.get(stone, FaceKind::Side)
        );

        // A texture of the wrong size: the pack is refused and nothing is given.
        let file = std::fs::File::create(dir.join("textures/stone_top.png")).unwrap();
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), 8, 8);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .write_header()
            .unwrap()
            .write_image_data(&[0; 192])
            .unwrap();
        assert!(reload(&mut watcher, Duration::from_secs(1)).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
