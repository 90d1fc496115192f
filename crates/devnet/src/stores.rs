//! Where a devnet's validators keep their stores: in the chain's directory on disk, or in a
//! RAM filesystem for the length of one run.
//!
//! A devnet runs every validator on one machine, so every replica's syncs (commonware's journals
//! and archives make a block durable with several a replica) queue on one disk's journal, where
//! real validators each have a disk of their own. Memory stores run the same storage code on
//! tmpfs, where a sync costs next to nothing; what they give up is surviving the machine, so
//! their chain ends with the devnet and is never resumed.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

/// Where the validators of a new chain keep their stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoresKind {
    /// In the chain's directory: durable, and a later run resumes the chain.
    Disk,
    /// In a RAM filesystem (`/dev/shm`), removed when the devnet ends: no disk syncs.
    Memory,
}

/// The file in a chain's directory naming the RAM directory of its stores.
pub const MARKER: &str = "stores-in-memory";
/// The RAM filesystem every Linux system mounts.
const RAM_ROOT: &str = "/dev/shm";
/// Names of the devnet's directories there: nothing else is ever removed.
const PREFIX: &str = "z3r0-devnet-";
/// The file in such a directory naming the chain directory (canonical) it was made for: a
/// copy of that chain directory does not remove another devnet's stores.
const OWNER: &str = ".owner";

/// Free RAM-filesystem space below which a run on memory stores ends: the larger of this
/// and [`LOW_FRACTION`] of its size. A store that cannot write panics its validator, so the
/// devnet stops first, in order, with its report.
const LOW_BYTES: u64 = 256 << 20;
/// See [`LOW_BYTES`]: one part in this many of the filesystem's size.
const LOW_FRACTION: u64 = 20;

/// Whether `available` bytes of a filesystem of `total` are too few to go on.
fn low(available: u64, total: u64) -> bool {
    available < LOW_BYTES.max(total / LOW_FRACTION)
}

/// A run's stores in RAM: made for a new chain, removed when dropped (after the validators
/// are stopped: the devnet holds it past them).
#[derive(Debug)]
pub struct MemoryStores {
    root: PathBuf,
    /// The RAM filesystem ran low and ended the run.
    ran_low: bool,
}

impl MemoryStores {
    /// Makes a directory in RAM for the new chain in `data`, and records it there.
    pub fn create(data: &Path) -> Result<Self> {
        preflight(StoresKind::Memory)?;
        let owner =
            std::fs::canonicalize(data).with_context(|| format!("resolving {}", data.display()))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let root = Path::new(RAM_ROOT).join(format!("{PREFIX}{}-{nanos:09}", std::process::id()));
        std::fs::create_dir(&root).with_context(|| format!("creating {}", root.display()))?;
        let stores = Self {
            root,
            ran_low: false,
        };
        std::fs::write(
            stores.root.join(OWNER),
            owner.as_os_str().as_encoded_bytes(),
        )
        .with_context(|| format!("writing {}", stores.root.join(OWNER).display()))?;
        std::fs::write(data.join(MARKER), format!("{}\n", stores.root.display()))
            .with_context(|| format!("writing {}", data.join(MARKER).display()))?;
        Ok(stores)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Points each validator's config under `data` (`validator-I/config.toml`) at its own
    /// directory here.
    pub fn place(&self, data: &Path, validators: usize) -> Result<()> {
        for i in 0..validators {
            let config = data.join(format!("validator-{i}")).join("config.toml");
            z3r0_genesis::set_storage_dir(&config, &self.root.join(format!("validator-{i}")))?;
        }
        Ok(())
    }

    /// Bytes the stores hold now.
    pub fn bytes(&self) -> u64 {
        tree_bytes(&self.root)
    }

    /// Why the run must end now, if the RAM filesystem is nearly full (the stores grow with
    /// the chain's history); remembered for the report.
    pub fn running_out(&mut self) -> Option<String> {
        let (available, total) = space(&statfs(&self.root).ok()?);
        if !low(available, total) {
            return None;
        }
        self.ran_low = true;
        Some(format!(
            "stores: {} has {} MB free of {} MB; ending the run before the validators' stores fill it",
            RAM_ROOT,
            available >> 20,
            total >> 20
        ))
    }
}

impl Drop for MemoryStores {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.root) {
            tracing::warn!("removing the memory stores {}: {e}", self.root.display());
        }
    }
}

/// Where the stores were, in a report.
#[derive(Debug, serde::Serialize)]
pub struct StoresReport {
    pub kind: StoresKind,
    /// RAM the memory stores held at the window's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ram_mb: Option<f64>,
    /// The RAM filesystem ran low and ended the run early.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ran_low: bool,
}

impl std::fmt::Display for StoresReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ram_mb {
            Some(mb) if self.ran_low => write!(
                f,
                "stores in memory, {mb:.1} MB of RAM, ended early: the RAM filesystem ran low"
            ),
            Some(mb) => write!(f, "stores in memory, {mb:.1} MB of RAM at the end"),
            None => write!(f, "stores on disk"),
        }
    }
}

impl StoresReport {
    pub fn of(memory: Option<&MemoryStores>) -> Self {
        Self {
            kind: memory.map_or(StoresKind::Disk, |_| StoresKind::Memory),
            ram_mb: memory.map(|m| (m.bytes() as f64 / 1e5).round() / 10.0),
            ran_low: memory.is_some_and(|m| m.ran_low),
        }
    }
}

/// Refuses to resume the chain in `data` with memory stores, or one whose stores were in
/// memory (they ended with the devnet that ran it).
pub fn check_resumable(data: &Path, stores: StoresKind) -> Result<()> {
    if data.join(MARKER).exists() {
        bail!(
            "{}: this chain's stores were in memory and ended with the devnet that ran it; run with --fresh for a new chain",
            data.display()
        );
    }
    if stores == StoresKind::Memory {
        bail!(
            "{} holds a chain on disk, and memory stores hold only a new chain (they end with the devnet): add --fresh, or leave out --stores memory to resume it",
            data.display()
        );
    }
    Ok(())
}

/// Removes the RAM directory a devnet killed before it could clean up left for the chain in
/// `data` (what `--fresh` does before wiping `data`). Only a directory of the devnet's own
/// naming in the RAM filesystem, made for this very `data` (not a copy of it), is removed,
/// whatever the marker says.
pub fn remove_left(data: &Path) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(data.join(MARKER)) else {
        return Ok(());
    };
    let root = PathBuf::from(text.trim());
    let named = root.parent() == Some(Path::new(RAM_ROOT))
        && root
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(PREFIX));
    let owner = std::fs::read(root.join(OWNER)).ok();
    let mine = std::fs::canonicalize(data)
        .is_ok_and(|d| owner.as_deref() == Some(d.as_os_str().as_encoded_bytes()));
    if named && mine {
        std::fs::remove_dir_all(&root).with_context(|| format!("removing {}", root.display()))?;
    }
    Ok(())
}

/// Checks, before a new chain is written, that its stores can go where asked: for memory, a
/// RAM filesystem with room.
pub fn preflight(kind: StoresKind) -> Result<()> {
    if kind == StoresKind::Disk {
        return Ok(());
    }
    let dir = Path::new(RAM_ROOT);
    let fs = statfs(dir)
        .with_context(|| format!("--stores memory needs the RAM filesystem {}", dir.display()))?;
    if fs.filesystem_type() != nix::sys::statfs::TMPFS_MAGIC {
        bail!(
            "--stores memory: {} is not a RAM filesystem (tmpfs) on this machine",
            dir.display()
        );
    }
    let (available, total) = space(&fs);
    if low(available, total) {
        bail!(
            "--stores memory: {} has only {} MB free of {} MB",
            dir.display(),
            available >> 20,
            total >> 20
        );
    }
    Ok(())
}

/// The filesystem holding `dir`.
fn statfs(dir: &Path) -> nix::Result<nix::sys::statfs::Statfs> {
    nix::sys::statfs::statfs(dir)
}

/// Bytes available and in all of filesystem `fs`.
fn space(fs: &nix::sys::statfs::Statfs) -> (u64, u64) {
    let block = u64::try_from(fs.block_size()).unwrap_or(0);
    (
        fs.blocks_available().saturating_mul(block),
        fs.blocks().saturating_mul(block),
    )
}

/// Bytes the files under `dir` take (allocated blocks: what tmpfs holds in RAM; 0 where it
/// cannot be read).
fn tree_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.blocks().saturating_mul(512)),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("z3r0-stores-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn memory_stores_live_in_ram_until_dropped_and_fresh_removes_leftovers() {
        let data = scratch("ram");
        let stores = MemoryStores::create(&data).unwrap();
        let root = stores.root().to_path_buf();
        assert!(root.starts_with(RAM_ROOT), "{}", root.display());
        let before = stores.bytes();
        std::fs::write(root.join("blob"), [1u8; 10_000]).unwrap();
        assert!(stores.bytes() >= before + 10_000, "{}", stores.bytes());
        drop(stores);
        assert!(!root.exists(), "dropped stores are removed");

        // A devnet killed with its stores in RAM leaves them; --fresh removes them.
        let left = MemoryStores::create(&data).unwrap();
        let root = left.root().to_path_buf();
        std::mem::forget(left);
        assert!(root.exists());
        remove_left(&data).unwrap();
        assert!(!root.exists(), "leftovers removed");
        std::fs::remove_dir_all(&data).unwrap();
    }

    #[test]
    fn a_run_ends_before_the_ram_filesystem_fills() {
        const GIB: u64 = 1 << 30;
        // The larger of 256 MiB and a twentieth of the filesystem is kept free.
        assert!(!low(2 * GIB, 24 * GIB));
        assert!(low(GIB, 24 * GIB));
        assert!(!low(300 << 20, 2 * GIB));
        assert!(low(200 << 20, 2 * GIB));
        assert!(low(0, 0));
        // This machine's RAM filesystem has room now.
        let data = scratch("room");
        let mut stores = MemoryStores::create(&data).unwrap();
        assert_eq!(stores.running_out(), None);
        assert!(!StoresReport::of(Some(&stores)).ran_low);
        drop(stores);
        std::fs::remove_dir_all(&data).unwrap();
    }

    #[test]
    fn a_marker_naming_another_directory_removes_nothing() {
        let data = scratch("foreign");
        let precious = data.join("precious");
        // Named like the devnet's, but not in the RAM filesystem.
        let lookalike = data.join(format!("{PREFIX}1-1"));
        for dir in [&precious, &lookalike] {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(OWNER), data.as_os_str().as_encoded_bytes()).unwrap();
        }
        let named = [
            precious.clone(),
            lookalike.clone(),
            PathBuf::from("/dev/shm"),
            PathBuf::from("/"),
        ];
        for named in named {
            std::fs::write(data.join(MARKER), format!("{}\n", named.display())).unwrap();
            remove_left(&data).unwrap();
            assert!(named.exists(), "{}", named.display());
        }
        std::fs::remove_dir_all(&data).unwrap();
    }

    /// A copy of a chain directory whose stores are in RAM names the original's stores; a
    /// --fresh on the copy leaves them to the devnet that may still run on them.
    #[test]
    fn a_copied_chain_directory_does_not_remove_the_originals_stores() {
        let original = scratch("original");
        let copy = scratch("copy");
        let stores = MemoryStores::create(&original).unwrap();
        std::fs::copy(original.join(MARKER), copy.join(MARKER)).unwrap();
        remove_left(&copy).unwrap();
        assert!(
            stores.root().exists(),
            "the copy removed the original's stores"
        );
        remove_left(&original).unwrap();
        assert!(!stores.root().exists());
        drop(stores);
        for dir in [original, copy] {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    #[test]
    fn no_chain_of_memory_stores_is_resumed() {
        let data = scratch("resume");
        check_resumable(&data, StoresKind::Disk).unwrap();
        let err = check_resumable(&data, StoresKind::Memory).unwrap_err();
        assert!(err.to_string().contains("add --fresh"), "{err}");
        std::fs::write(data.join(MARKER), "/dev/shm/z3r0-devnet-1-1\n").unwrap();
        let err = check_resumable(&data, StoresKind::Disk).unwrap_err();
        assert!(err.to_string().contains("ended with the devnet"), "{err}");
        std::fs::remove_dir_all(&data).unwrap();
    }
}
