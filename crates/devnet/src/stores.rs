//! Where a devnet's validators keep their stores: in the chain's directory on disk, synced as
//! written, or in a RAM filesystem while the devnet runs, saved to that directory as it ends.
//!
//! A devnet runs every validator on one machine, so every replica's syncs (commonware's journals
//! and archives make a block durable with several a replica) queue on one disk's journal, where
//! real validators each have a disk of their own. Memory stores run the same storage code on
//! tmpfs, where a sync costs next to nothing. A validator killed mid-run finds its stores as it
//! left them (they outlive its process, as a disk's page cache would), and so does the next run
//! after a killed devnet; only the machine going down loses what was not saved (the chain's
//! directory keeps the last save). A later run copies the saved stores back into RAM.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};

/// Where the validators keep their stores while the devnet runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoresKind {
    /// In the chain's directory, every block synced as written.
    Disk,
    /// In a RAM filesystem (`/dev/shm`) while the devnet runs, saved to the chain's
    /// directory as it ends: no disk syncs.
    Memory,
}

/// The file in a chain's directory naming the RAM directory its stores are in while a devnet
/// runs on them (and after, if that devnet was killed before it saved them).
pub const MARKER: &str = "stores-in-memory";
/// Each validator's stores on disk, in its directory (`validator-I/data`): where the disk
/// kind keeps them, and where memory stores are saved.
const DISK_DIR: &str = "data";
/// A validator's stores being saved, beside [`DISK_DIR`] until complete.
const SAVING_DIR: &str = "data.saving";
/// A validator's previous save, while the new one takes its place.
const OLD_DIR: &str = "data.old";
/// The RAM filesystem every Linux system mounts.
const RAM_ROOT: &str = "/dev/shm";
/// Names of the devnet's directories there: nothing else is ever removed.
const PREFIX: &str = "z3r0-devnet-";
/// The file in such a directory naming the chain directory (canonical) it was made for: a
/// copy of that chain directory does not take another devnet's stores.
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

/// The stores the chain in `data` runs on: those asked for, or by default memory where this
/// machine has a RAM filesystem with room for the chain's saved stores, disk otherwise (saying
/// why).
pub fn choose(asked: Option<StoresKind>, data: &Path) -> Result<StoresKind> {
    let need = saved_bytes(data);
    match asked {
        Some(kind) => preflight(kind, need).map(|()| kind),
        None => Ok(preflight(StoresKind::Memory, need).map_or_else(
            |e| {
                println!("stores: on disk, since {e:#}");
                StoresKind::Disk
            },
            |()| StoresKind::Memory,
        )),
    }
}

/// A run's stores in RAM: loaded from the chain's directory, saved back there and removed
/// when dropped (after the validators are stopped: the devnet holds it past them).
#[derive(Debug)]
pub struct MemoryStores {
    root: PathBuf,
    /// The chain's directory.
    data: PathBuf,
    /// How many validators it has (`validator-0` to this, less one).
    validators: usize,
    /// The RAM filesystem ran low and ended the run.
    ran_low: bool,
    /// Saved and removed: nothing left to do when dropped.
    closed: bool,
}

impl MemoryStores {
    /// Makes a directory in RAM for the chain in `data`, copies each of its `validators`'
    /// saved stores (if any) into it, records it in `data` and points each validator's config
    /// (`validator-I/config.toml`) at its own directory there. Until the record is written
    /// nothing in `data` has changed: a failed load leaves the chain on disk as it was. The
    /// RAM filesystem was checked, with the saved stores' size, when [`choose`] chose it.
    pub fn load(data: &Path, validators: usize) -> Result<Self> {
        let owner =
            std::fs::canonicalize(data).with_context(|| format!("resolving {}", data.display()))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let root = Path::new(RAM_ROOT).join(format!("{PREFIX}{}-{nanos:09}", std::process::id()));
        std::fs::create_dir(&root).with_context(|| format!("creating {}", root.display()))?;
        let filled = fill(&root, &owner, validators).and_then(|()| record(data, &root));
        if let Err(e) = filled {
            let _ = std::fs::remove_dir_all(&root);
            return Err(e.context("loading the stores into RAM (--stores disk runs without)"));
        }
        let stores = Self {
            root,
            data: data.to_path_buf(),
            validators,
            ran_low: false,
            closed: false,
        };
        for i in 0..validators {
            z3r0_genesis::set_storage_dir(&config(data, i), &stores.root.join(validator(i)))?;
        }
        Ok(stores)
    }

    pub fn root(&self) -> &Path {
        &self.root
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

    /// Saves the stores to disk (see [`Self::save`]) and removes them from RAM. Returns the
    /// bytes saved.
    pub fn close(mut self) -> Result<u64> {
        let saved = self.finish();
        // Failed or not, once is enough: the record left in the chain's directory says where.
        self.closed = true;
        saved
    }

    fn finish(&mut self) -> Result<u64> {
        let bytes = self.save()?;
        self.closed = true;
        if let Err(e) = std::fs::remove_dir_all(&self.root) {
            tracing::warn!("removing the memory stores {}: {e}", self.root.display());
        }
        Ok(bytes)
    }

    /// Copies every validator's stores to its directory on disk, synced, each put in place
    /// of the last save only once complete (and any store `--resync` set aside beside it);
    /// then points every config there, and forgets the RAM directory. Returns the bytes
    /// saved. Until the record is removed a later run saves again, so a devnet killed while
    /// saving loses nothing.
    fn save(&self) -> Result<u64> {
        let mut saved = 0;
        for i in 0..self.validators {
            let dir = self.data.join(validator(i));
            let from = self.root.join(validator(i));
            let (saving, home, old) = (dir.join(SAVING_DIR), dir.join(DISK_DIR), dir.join(OLD_DIR));
            remove_if_there(&saving)?;
            saved += copy_tree(&from, &saving, true)
                .with_context(|| format!("saving {} to {}", from.display(), saving.display()))?;
            remove_if_there(&old)?;
            if home.exists() {
                rename(&home, &old)?;
            }
            rename(&saving, &home)?;
            sync_dir(&dir)?;
            remove_if_there(&old)?;
            saved += self.save_set_aside(i)?;
        }
        point_home(&self.data, self.validators)?;
        let marker = self.data.join(MARKER);
        std::fs::remove_file(&marker).with_context(|| format!("removing {}", marker.display()))?;
        sync_dir(&self.data)?;
        Ok(saved)
    }

    /// Copies the stores `z3r0 node --resync` set aside for validator `i` in RAM
    /// (`validator-I.set-aside-T`) beside its saved ones (`data.set-aside-T`), as on disk.
    fn save_set_aside(&self, i: usize) -> Result<u64> {
        let prefix = format!("{}.set-aside-", validator(i));
        let mut saved = 0;
        for entry in std::fs::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(stamp) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
                continue;
            };
            let to = self
                .data
                .join(validator(i))
                .join(format!("{DISK_DIR}.set-aside-{stamp}"));
            if !to.exists() {
                saved += copy_tree(&entry.path(), &to, true)?;
            }
        }
        Ok(saved)
    }
}

/// Points each of the chain's `validators`' configs at its stores on disk (`validator-I/data`).
fn point_home(data: &Path, validators: usize) -> Result<()> {
    for i in 0..validators {
        z3r0_genesis::set_storage_dir(&config(data, i), Path::new(DISK_DIR))?;
    }
    Ok(())
}

/// Readies the chain in `data` to run on disk: each of its `validators`' last save finished
/// if a crash cut it short, and its config pointed there.
pub fn settle_on_disk(data: &Path, validators: usize) -> Result<()> {
    for i in 0..validators {
        repair(&data.join(validator(i)))?;
    }
    point_home(data, validators)
}

/// Finishes what a save into validator directory `dir` left undone if it was cut short: the
/// new save is in place only once complete, so where the last save is missing, the new one
/// (or, if none was complete, the old one) takes its place; leftovers are removed.
fn repair(dir: &Path) -> Result<()> {
    let (saving, home, old) = (dir.join(SAVING_DIR), dir.join(DISK_DIR), dir.join(OLD_DIR));
    if !home.exists() && old.exists() {
        // The old save was moved aside only after the new one was complete.
        rename(if saving.exists() { &saving } else { &old }, &home)?;
        sync_dir(dir)?;
    }
    remove_if_there(&saving)?;
    remove_if_there(&old)
}

impl Drop for MemoryStores {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        let started = Instant::now();
        match self.finish() {
            Ok(bytes) => println!(
                "stores: saved {:.1} MB to {}/validator-*/{DISK_DIR} in {:.1} s",
                bytes as f64 / 1e6,
                self.data.display(),
                started.elapsed().as_secs_f64()
            ),
            // Nothing is left to save them for, nor to find them by.
            Err(_) if !self.data.join(MARKER).exists() => {
                eprintln!(
                    "stores: {} is gone; removing its stores from RAM",
                    self.data.display()
                );
                let _ = std::fs::remove_dir_all(&self.root);
            }
            Err(e) => eprintln!(
                "stores: could not save the stores in {} to {}: {e:#}; they stay in RAM, and the next run on {} saves them first",
                self.root.display(),
                self.data.display(),
                self.data.display()
            ),
        }
    }
}

/// Fills the new RAM directory `root` for the chain directory `owner` (canonical): the file
/// naming it, then each validator's saved stores (an empty directory where none are saved).
fn fill(root: &Path, owner: &Path, validators: usize) -> Result<()> {
    std::fs::write(root.join(OWNER), owner.as_os_str().as_encoded_bytes())
        .with_context(|| format!("writing {}", root.join(OWNER).display()))?;
    for i in 0..validators {
        repair(&owner.join(validator(i)))?;
        let (saved, to) = (
            owner.join(validator(i)).join(DISK_DIR),
            root.join(validator(i)),
        );
        if saved.is_dir() {
            copy_tree(&saved, &to, false)
                .with_context(|| format!("copying {} to {}", saved.display(), to.display()))?;
        } else {
            std::fs::create_dir(&to).with_context(|| format!("creating {}", to.display()))?;
        }
    }
    Ok(())
}

fn validator(i: usize) -> String {
    format!("validator-{i}")
}

fn config(data: &Path, i: usize) -> PathBuf {
    data.join(validator(i)).join("config.toml")
}

/// Records in `data`, durably, that the chain's stores are in RAM at `root`.
fn record(data: &Path, root: &Path) -> Result<()> {
    let marker = data.join(MARKER);
    std::fs::File::create(&marker)
        .and_then(|mut f| {
            use std::io::Write as _;
            writeln!(f, "{}", root.display())?;
            f.sync_all()
        })
        .with_context(|| format!("writing {}", marker.display()))?;
    sync_dir(data)
}

/// How many validators the chain in `data` has: `validator-0` on, each with its config.
fn validators_of(data: &Path) -> usize {
    (0..).take_while(|&i| config(data, i).exists()).count()
}

/// Bytes the chain's saved stores in `data` take on disk (0 for a new chain).
fn saved_bytes(data: &Path) -> u64 {
    (0..validators_of(data))
        .map(|i| tree_bytes(&data.join(validator(i)).join(DISK_DIR)))
        .sum()
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to)
        .with_context(|| format!("renaming {} to {}", from.display(), to.display()))
}

fn remove_if_there(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// Copies the directory tree `from` to `to` (which must not exist), syncing every file and
/// directory written if `sync`. Returns the bytes copied. Stores hold only files and
/// directories; anything else is refused.
fn copy_tree(from: &Path, to: &Path, sync: bool) -> Result<u64> {
    std::fs::create_dir(to).with_context(|| format!("creating {}", to.display()))?;
    let mut bytes = 0;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            bytes += copy_tree(&source, &target, sync)?;
        } else if kind.is_file() {
            bytes += std::fs::copy(&source, &target)
                .with_context(|| format!("copying {}", source.display()))?;
            if sync {
                std::fs::File::open(&target)
                    .and_then(|f| f.sync_all())
                    .with_context(|| format!("syncing {}", target.display()))?;
            }
        } else {
            bail!("{}: neither a file nor a directory", source.display());
        }
    }
    if sync {
        sync_dir(to)?;
    }
    Ok(bytes)
}

/// Makes the names in directory `dir` durable.
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
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

/// The RAM directory the record in `data` names, and whether it is the devnet's and was made
/// for this very `data` (not a copy of it); `None` without a record.
fn recorded(data: &Path) -> Option<(PathBuf, bool)> {
    let text = std::fs::read_to_string(data.join(MARKER)).ok()?;
    let root = PathBuf::from(text.trim());
    let named = root.parent() == Some(Path::new(RAM_ROOT))
        && root
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(PREFIX));
    let owner = std::fs::read(root.join(OWNER)).ok();
    let mine = std::fs::canonicalize(data)
        .is_ok_and(|d| owner.as_deref() == Some(d.as_os_str().as_encoded_bytes()));
    Some((root, named && mine))
}

/// Saves the stores a devnet killed before it could save them left in RAM for the chain in
/// `data`: what a run resuming that chain does first. Refuses, saying why, where they are
/// gone or are not this directory's.
pub fn recover(data: &Path) -> Result<()> {
    let Some((root, mine)) = recorded(data) else {
        return Ok(());
    };
    if !mine {
        let why = if root.exists() {
            "was made for another chain directory (is this a copy of one in use?)"
        } else {
            "is gone (the machine restarted?) with what the devnet had not saved"
        };
        bail!(
            "{}: this chain's stores were in RAM at {}, which {why}; its last save is in {}/validator-*/{DISK_DIR}: remove {} to go on from there, or run with --fresh for a new chain",
            data.display(),
            root.display(),
            data.display(),
            data.join(MARKER).display()
        );
    }
    println!(
        "stores: saving what a stopped devnet left in {} first",
        root.display()
    );
    let stores = MemoryStores {
        root,
        data: data.to_path_buf(),
        validators: validators_of(data),
        ran_low: false,
        closed: false,
    };
    stores.close()?;
    Ok(())
}

/// Removes the RAM directory a devnet killed before it could save its stores left for the
/// chain in `data` (what `--fresh` does before wiping `data`). Only a directory of the
/// devnet's own naming in the RAM filesystem, made for this very `data`, is removed, whatever
/// the record says.
pub fn remove_left(data: &Path) -> Result<()> {
    match recorded(data) {
        Some((root, true)) => {
            std::fs::remove_dir_all(&root).with_context(|| format!("removing {}", root.display()))
        }
        _ => Ok(()),
    }
}

/// Checks, before a chain's stores are placed, that they can go where asked: for memory, a
/// RAM filesystem with room for `need` bytes of saved stores and more.
fn preflight(kind: StoresKind, need: u64) -> Result<()> {
    if kind == StoresKind::Disk {
        return Ok(());
    }
    let dir = Path::new(RAM_ROOT);
    let fs = statfs(dir)
        .with_context(|| format!("memory stores need the RAM filesystem {}", dir.display()))?;
    if fs.filesystem_type() != nix::sys::statfs::TMPFS_MAGIC {
        bail!(
            "memory stores: {} is not a RAM filesystem (tmpfs) on this machine",
            dir.display()
        );
    }
    let (available, total) = space(&fs);
    if low(available.saturating_sub(need), total) {
        bail!(
            "memory stores: {} has {} MB free of {} MB, too little for {} MB of saved stores and their growth",
            dir.display(),
            available >> 20,
            total >> 20,
            need >> 20
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

    /// A chain directory of `validators` validators, each with a config and saved stores
    /// holding one file.
    fn chain(name: &str, validators: usize) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("z3r0-stores-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for i in 0..validators {
            let saved = dir.join(validator(i)).join(DISK_DIR);
            std::fs::create_dir_all(&saved).unwrap();
            std::fs::write(saved.join("blob"), format!("validator {i}")).unwrap();
            std::fs::write(
                config(&dir, i),
                "storage_dir = \"data\"\np2p_listen = \"x\"\n",
            )
            .unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The storage directory validator `i`'s config names.
    fn configured(data: &Path, i: usize) -> PathBuf {
        let text = std::fs::read_to_string(config(data, i)).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("storage_dir = "))
            .unwrap();
        PathBuf::from(line.trim_start_matches("storage_dir = ").trim_matches('"'))
    }

    #[test]
    fn memory_stores_are_loaded_from_disk_and_saved_back_when_dropped() {
        let data = chain("round", 2);
        let stores = MemoryStores::load(&data, 2).unwrap();
        let root = stores.root().to_path_buf();
        assert!(root.starts_with(RAM_ROOT), "{}", root.display());
        assert!(data.join(MARKER).exists());
        for i in 0..2 {
            let ram = root.join(validator(i));
            assert_eq!(configured(&data, i), ram, "the config points into RAM");
            assert_eq!(
                std::fs::read_to_string(ram.join("blob")).unwrap(),
                format!("validator {i}")
            );
        }
        // The run writes.
        let before = stores.bytes();
        std::fs::write(root.join("validator-1/new"), [1u8; 10_000]).unwrap();
        std::fs::create_dir(root.join("validator-1/journal")).unwrap();
        std::fs::write(root.join("validator-1/journal/0"), "view").unwrap();
        assert!(stores.bytes() >= before + 10_000, "{}", stores.bytes());
        drop(stores);
        assert!(!root.exists(), "dropped stores leave RAM");
        assert!(!data.join(MARKER).exists());
        let saved = data.join("validator-1").join(DISK_DIR);
        assert_eq!(std::fs::read(saved.join("new")).unwrap(), [1u8; 10_000]);
        assert_eq!(
            std::fs::read_to_string(saved.join("journal/0")).unwrap(),
            "view"
        );
        assert_eq!(
            std::fs::read_to_string(saved.join("blob")).unwrap(),
            "validator 1"
        );
        assert!(!data.join("validator-1").join(SAVING_DIR).exists());
        for i in 0..2 {
            assert_eq!(
                configured(&data, i),
                Path::new(DISK_DIR),
                "the config points home"
            );
        }
        std::fs::remove_dir_all(&data).unwrap();
    }

    /// A chain directory removed under a running devnet leaves nothing to save to, nor a
    /// record to find its stores by: they leave RAM with the devnet.
    #[test]
    fn stores_of_a_removed_chain_directory_leave_ram() {
        let data = chain("removed", 1);
        let stores = MemoryStores::load(&data, 1).unwrap();
        let root = stores.root().to_path_buf();
        std::fs::remove_dir_all(&data).unwrap();
        drop(stores);
        assert!(!root.exists(), "{}", root.display());
    }

    #[test]
    fn a_killed_devnets_stores_are_saved_by_the_next_run_or_removed_by_fresh() {
        let data = chain("killed", 1);
        let stores = MemoryStores::load(&data, 1).unwrap();
        let root = stores.root().to_path_buf();
        std::fs::write(root.join("validator-0/blob"), "later").unwrap();
        // Killed: no chance to save.
        std::mem::forget(stores);
        recover(&data).unwrap();
        assert!(!root.exists());
        assert!(!data.join(MARKER).exists());
        let saved = data.join("validator-0").join(DISK_DIR).join("blob");
        assert_eq!(std::fs::read_to_string(saved).unwrap(), "later");
        assert_eq!(
            configured(&data, 0),
            Path::new(DISK_DIR),
            "the config points home"
        );
        // Nothing to recover: nothing happens.
        recover(&data).unwrap();

        let left = MemoryStores::load(&data, 1).unwrap();
        let root = left.root().to_path_buf();
        std::mem::forget(left);
        remove_left(&data).unwrap();
        assert!(!root.exists(), "leftovers removed");
        std::fs::remove_dir_all(&data).unwrap();
    }

    #[test]
    fn stores_lost_from_ram_are_not_resumed() {
        let data = chain("lost", 1);
        std::fs::write(data.join(MARKER), format!("{RAM_ROOT}/{PREFIX}1-1\n")).unwrap();
        let err = recover(&data).unwrap_err().to_string();
        assert!(err.contains("is gone") && err.contains("--fresh"), "{err}");
        assert!(err.contains("to go on from there"), "{err}");
        assert!(data.join(MARKER).exists(), "the record stays until --fresh");
        std::fs::remove_dir_all(&data).unwrap();
    }

    /// A saved store holding what no store holds (here a link) fails the load: the chain's
    /// directory is left as it was, and nothing stays in RAM.
    #[test]
    fn a_failed_load_changes_nothing() {
        let data = chain("failed", 2);
        std::os::unix::fs::symlink("/etc/hostname", data.join("validator-1/data/link")).unwrap();
        let err = MemoryStores::load(&data, 2).unwrap_err();
        assert!(
            format!("{err:#}").contains("neither a file nor a directory"),
            "{err:#}"
        );
        assert!(!data.join(MARKER).exists());
        for i in 0..2 {
            assert_eq!(configured(&data, i), Path::new(DISK_DIR));
        }
        // No directory in RAM says it was made for this chain.
        let owner = std::fs::canonicalize(&data).unwrap();
        let left: Vec<PathBuf> = std::fs::read_dir(RAM_ROOT)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                std::fs::read(p.join(OWNER)).ok().as_deref()
                    == Some(owner.as_os_str().as_encoded_bytes())
            })
            .collect();
        assert!(left.is_empty(), "{left:?}");
        std::fs::remove_dir_all(&data).unwrap();
    }

    /// A save cut short at any step leaves one complete save in place, never none, and the
    /// next run finishes it.
    #[test]
    fn a_save_cut_short_is_finished_or_rolled_back() {
        let data = chain("cut", 1);
        let dir = data.join("validator-0");
        let write = |name: &str, text: &str| {
            std::fs::create_dir_all(dir.join(name)).unwrap();
            std::fs::write(dir.join(name).join("blob"), text).unwrap();
        };
        let home = || std::fs::read_to_string(dir.join(DISK_DIR).join("blob")).unwrap();
        let leftovers = || dir.join(SAVING_DIR).exists() || dir.join(OLD_DIR).exists();
        // Cut while copying: the last save stands.
        write(SAVING_DIR, "part");
        settle_on_disk(&data, 1).unwrap();
        assert_eq!(home(), "validator 0");
        assert!(!leftovers());
        // Cut after the last save was moved aside: the complete new one takes its place.
        std::fs::rename(dir.join(DISK_DIR), dir.join(OLD_DIR)).unwrap();
        write(SAVING_DIR, "new");
        settle_on_disk(&data, 1).unwrap();
        assert_eq!(home(), "new");
        assert!(!leftovers());
        // Cut before the old one was removed.
        write(OLD_DIR, "older");
        let stores = MemoryStores::load(&data, 1).unwrap();
        assert!(!leftovers());
        let ram = stores.root().join("validator-0/blob");
        assert_eq!(std::fs::read_to_string(ram).unwrap(), "new");
        stores.close().unwrap();
        assert_eq!(home(), "new");
        std::fs::remove_dir_all(&data).unwrap();
    }

    /// What `z3r0 node --resync` set aside in RAM is saved beside the validator's stores.
    #[test]
    fn stores_set_aside_in_ram_are_saved_too() {
        let data = chain("aside", 1);
        let stores = MemoryStores::load(&data, 1).unwrap();
        let aside = stores.root().join("validator-0.set-aside-7");
        std::fs::create_dir(&aside).unwrap();
        std::fs::write(aside.join("blob"), "old chain").unwrap();
        stores.close().unwrap();
        let saved = data.join("validator-0/data.set-aside-7/blob");
        assert_eq!(std::fs::read_to_string(saved).unwrap(), "old chain");
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
        let data = chain("room", 0);
        let mut stores = MemoryStores::load(&data, 0).unwrap();
        assert_eq!(stores.running_out(), None);
        stores.close().unwrap();
        // Nor is a chain loaded into RAM whose saved stores would leave it low.
        let err = preflight(StoresKind::Memory, u64::MAX)
            .unwrap_err()
            .to_string();
        assert!(err.contains("too little"), "{err}");
        preflight(StoresKind::Disk, u64::MAX).unwrap();
        std::fs::remove_dir_all(&data).unwrap();
    }

    #[test]
    fn a_marker_naming_another_directory_removes_nothing() {
        let data = chain("foreign", 0);
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
            assert!(recover(&data).is_err(), "{}", named.display());
            assert!(named.exists(), "{}", named.display());
        }
        std::fs::remove_dir_all(&data).unwrap();
    }

    /// A copy of a chain directory whose stores are in RAM names the original's stores; the
    /// copy neither removes nor saves them (the devnet that may still run on them does).
    #[test]
    fn a_copied_chain_directory_leaves_the_originals_stores_alone() {
        let original = chain("original", 1);
        let copy = chain("copy", 1);
        let stores = MemoryStores::load(&original, 1).unwrap();
        std::fs::copy(original.join(MARKER), copy.join(MARKER)).unwrap();
        remove_left(&copy).unwrap();
        let err = recover(&copy).unwrap_err().to_string();
        assert!(err.contains("another chain directory"), "{err}");
        assert!(
            stores.root().join("validator-0/blob").exists(),
            "the copy took the original's stores"
        );
        stores.close().unwrap();
        for dir in [original, copy] {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}
