//! Following the zone's content. The edge shows the proven `PublishedContent` records (the
//! manifest in force, one scheduled); the client fetches each manifest and every file it names
//! from its edge into the asset cache ahead of the activation tick (each checked against its
//! hash as it arrives, `z3r0_net::AssetCache`), and switches to it once the chain reaches that
//! tick: its block rules for prediction, and its blocks, textures and sounds for whoever
//! draws the game ([`ContentFollower::version`] changes).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use z3r0_content::Manifest;
use z3r0_net::AssetCache;
use z3r0_voxel::BlockRules;

type Hash = [u8; 32];

/// A failed fetch is tried again after this long (the edge may get the files meanwhile).
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// A manifest and its files, all in the cache and checked.
#[derive(Debug)]
pub struct LoadedContent {
    pub hash: Hash,
    pub manifest: Manifest,
    pub rules: BlockRules,
    /// Each file the manifest names, by hash, at its path in the cache.
    pub files: BTreeMap<Hash, PathBuf>,
}

type Fetched = (Hash, Result<LoadedContent, String>);

/// The content the client knows of, fetches and has in force.
#[derive(Debug)]
pub struct ContentFollower {
    cache: Option<AssetCache>,
    /// The proven records: (manifest, activation tick).
    records: Vec<(Hash, u64)>,
    loaded: BTreeMap<Hash, Arc<LoadedContent>>,
    fetching: std::collections::BTreeSet<Hash>,
    /// Where fetch tasks report.
    done_tx: tokio::sync::mpsc::UnboundedSender<Fetched>,
    done_rx: tokio::sync::mpsc::UnboundedReceiver<Fetched>,
    failed: BTreeMap<Hash, Instant>,
    /// The published content in force here (`None`: the genesis's, the built-in blocks).
    active: Option<Arc<LoadedContent>>,
    /// The activation tick of the content in force.
    active_since: Option<u64>,
    version: u64,
}

impl ContentFollower {
    /// Fetches into `cache` (`None`: content is not followed; the built-in blocks stay).
    pub fn new(cache: Option<AssetCache>) -> Self {
        let (done_tx, done_rx) = tokio::sync::mpsc::unbounded_channel();
        Self {
            cache,
            records: Vec::new(),
            loaded: BTreeMap::new(),
            fetching: std::collections::BTreeSet::new(),
            done_tx,
            done_rx,
            failed: BTreeMap::new(),
            active: None,
            active_since: None,
            version: next_version(),
        }
    }

    /// The zone's proven content records, newest set (replacing the last). Manifests no
    /// record names any more are forgotten (the one in force stays in force): what the
    /// follower holds grows with the zone's live content, not its history.
    pub fn set_records(&mut self, records: Vec<(Hash, u64)>) {
        let named = |h: &Hash| records.iter().any(|(r, _)| r == h);
        self.loaded.retain(|h, _| named(h));
        self.failed.retain(|h, _| named(h));
        self.records = records;
    }

    /// Collects finished fetches, starts those due from `edge`, and switches to the newest
    /// record whose tick `chain_tick` has reached, once it is loaded.
    pub fn poll(&mut self, chain_tick: u64, edge: &quinn::Connection) {
        self.collect();
        self.start(edge);
        let due = self
            .records
            .iter()
            .filter(|(_, at)| *at <= chain_tick)
            .max_by_key(|(_, at)| *at)
            .map(|(hash, _)| *hash);
        let Some(hash) = due else {
            return;
        };
        if self.active.as_ref().is_some_and(|a| a.hash == hash) {
            return;
        }
        if let Some(loaded) = self.loaded.get(&hash) {
            self.active = Some(loaded.clone());
            self.active_since = self
                .records
                .iter()
                .find(|(h, _)| *h == hash)
                .map(|(_, at)| *at);
            self.version = next_version();
            tracing::info!(manifest = %z3r0_net::assets::hex_of(&hash), tick = chain_tick, "content in force");
        }
    }

    fn collect(&mut self) {
        while let Ok((hash, result)) = self.done_rx.try_recv() {
            self.fetching.remove(&hash);
            match result {
                Ok(loaded) => {
                    self.loaded.insert(hash, Arc::new(loaded));
                }
                Err(e) => {
                    tracing::warn!(manifest = %z3r0_net::assets::hex_of(&hash), error = %e, "content fetch failed");
                    self.failed.insert(hash, Instant::now());
                }
            }
        }
    }

    fn start(&mut self, edge: &quinn::Connection) {
        let Some(cache) = &self.cache else {
            return;
        };
        for (hash, _) in &self.records {
            let waiting = self.loaded.contains_key(hash)
                || self.fetching.contains(hash)
                || self
                    .failed
                    .get(hash)
                    .is_some_and(|at| at.elapsed() < RETRY_AFTER);
            if waiting {
                continue;
            }
            self.failed.remove(hash);
            let (cache, edge, hash, done) =
                (cache.clone(), edge.clone(), *hash, self.done_tx.clone());
            self.fetching.insert(hash);
            tokio::spawn(async move {
                // The follower may be gone: nobody to tell.
                let _ = done.send((hash, fetch(cache, edge, hash).await));
            });
        }
    }

    /// The block rules in force: the published content's, or the built-in blocks.
    pub fn rules(&self) -> &BlockRules {
        self.active
            .as_ref()
            .map_or(BlockRules::builtin(), |a| &a.rules)
    }

    /// The published content in force (`None`: the genesis's built-in blocks).
    pub fn active(&self) -> Option<&Arc<LoadedContent>> {
        self.active.as_ref()
    }

    /// The activation tick of the published content in force.
    pub fn active_since(&self) -> Option<u64> {
        self.active_since
    }

    /// Changes each time other content comes into force, and differs between followers: a
    /// window given a new game (a reconnect) sees its content change too.
    pub fn version(&self) -> u64 {
        self.version
    }
}

/// A version no follower of this process had before.
fn next_version() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Fetches manifest `hash` and every file it names into `cache`.
async fn fetch(
    cache: AssetCache,
    edge: quinn::Connection,
    hash: Hash,
) -> Result<LoadedContent, String> {
    let edges = [edge];
    let path = cache
        .get_or_fetch(&hash, &edges)
        .await
        .map_err(|e| e.to_string())?;
    let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
    let manifest = Manifest::decode(&bytes).map_err(|e| format!("manifest: {e}"))?;
    let mut files = BTreeMap::new();
    for file in manifest.files() {
        let path = cache
            .get_or_fetch(&file, &edges)
            .await
            .map_err(|e| e.to_string())?;
        files.insert(file, path);
    }
    Ok(LoadedContent {
        hash,
        rules: manifest.block_rules(),
        manifest,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::ContentFollower;

    #[test]
    fn a_new_sessions_content_has_a_version_no_earlier_one_had() {
        // A window given a new game (a reconnect) must see its content as changed even where
        // both games' followers made the same number of switches.
        let (a, b) = (ContentFollower::new(None), ContentFollower::new(None));
        assert_ne!(a.version(), b.version());
    }
}
