//! The stores in a validator's data directory, and the checks run on them before it starts: a
//! fault found here names its store (and so its files), where the same fault found later by
//! marshal or simplex would end in a panic that names nothing.
//!
//! The checks read what start-up will read (the checkpoint, the archives' indices, their first
//! and latest [`RECENT`] records, the whole consensus journal, which simplex prunes to recent
//! views), so their cost follows the retained window, not the chain's history.

use commonware_consensus::simplex::{scheme::ed25519, types::Artifact};
use commonware_cryptography::blake3::Digest;
use commonware_runtime::{Clock, Metrics, Storage, buffer::paged::CacheRef};
use commonware_storage::{
    archive::{Archive, Identifier as ArchiveId, immutable, prunable},
    journal::segmented::variable as journal,
    translator::EightCap,
};
use std::num::{NonZeroU64, NonZeroUsize};

/// Latest records of each archive read back at start.
pub const RECENT: u64 = 1024;

/// One store of a validator's data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// The executed state, written every few hundred blocks.
    Checkpoint,
    /// Finalized blocks, by height and digest.
    BlockArchive,
    /// Finalization certificates, by height.
    FinalizationArchive,
    /// Simplex's journal of this validator's votes and the certificates it saw.
    ConsensusJournal,
}

impl Store {
    /// The runtime partitions (directories under `runtime/`) that hold this store.
    pub fn partitions(self, prefix: &str) -> Vec<String> {
        let archive = |name: &str| {
            ARCHIVE_PARTS
                .iter()
                .map(|part| format!("{prefix}-{name}-{part}"))
                .collect()
        };
        match self {
            Self::Checkpoint => vec![format!("{prefix}-checkpoints")],
            Self::BlockArchive => archive("blocks"),
            Self::FinalizationArchive => archive("finalizations"),
            Self::ConsensusJournal => vec![format!("{prefix}-simplex")],
        }
    }
}

impl std::fmt::Display for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Checkpoint => "checkpoint",
            Self::BlockArchive => "block archive",
            Self::FinalizationArchive => "finalization archive",
            Self::ConsensusJournal => "consensus journal",
        })
    }
}

/// The partitions of a (prunable) archive, after its name.
const ARCHIVE_PARTS: [&str; 3] = ["pruned-metadata", "pruned-keys", "pruned-values"];

/// The partitions of the archives older builds kept, which could not be pruned.
const UNPRUNABLE_PARTS: [&str; 5] = [
    "metadata",
    "freezer-table",
    "freezer-key",
    "freezer-value",
    "ordinal",
];

/// Where one of a validator's archives lives, and how it is laid out.
#[derive(Clone)]
pub struct ArchiveSetup {
    /// The validator's partition prefix.
    pub prefix: String,
    /// `blocks` or `finalizations`.
    pub name: &'static str,
    pub page_cache: CacheRef,
    /// Items per section: pruning removes whole sections.
    pub section: NonZeroU64,
}

impl ArchiveSetup {
    /// The (prunable) archive's configuration.
    pub fn prunable<C>(&self, codec_config: C) -> prunable::Config<EightCap, C> {
        let (prefix, name) = (&self.prefix, self.name);
        prunable::Config {
            translator: EightCap,
            metadata_partition: format!("{prefix}-{name}-pruned-metadata"),
            key_partition: format!("{prefix}-{name}-pruned-keys"),
            key_page_cache: self.page_cache.clone(),
            value_partition: format!("{prefix}-{name}-pruned-values"),
            compression: None,
            codec_config,
            items_per_section: self.section,
            key_write_buffer: IO_BUFFER,
            value_write_buffer: IO_BUFFER,
            replay_buffer: IO_BUFFER,
        }
    }

    /// The configuration older builds wrote this archive with (immutable: never pruned).
    pub fn unprunable<C>(&self, codec_config: C) -> immutable::Config<C> {
        let (prefix, name) = (&self.prefix, self.name);
        immutable::Config {
            metadata_partition: format!("{prefix}-{name}-metadata"),
            freezer_table_partition: format!("{prefix}-{name}-freezer-table"),
            freezer_table_initial_size: 4_096,
            freezer_table_resize_frequency: 4,
            freezer_table_resize_chunk_size: 16_384,
            freezer_key_partition: format!("{prefix}-{name}-freezer-key"),
            freezer_key_page_cache: self.page_cache.clone(),
            freezer_value_partition: format!("{prefix}-{name}-freezer-value"),
            freezer_value_target_size: 1 << 28,
            freezer_value_compression: None,
            ordinal_partition: format!("{prefix}-{name}-ordinal"),
            items_per_section: NonZeroU64::new(65_536).unwrap_or(NonZeroU64::MIN),
            freezer_key_write_buffer: IO_BUFFER,
            freezer_value_write_buffer: IO_BUFFER,
            ordinal_write_buffer: IO_BUFFER,
            replay_buffer: IO_BUFFER,
            codec_config,
        }
    }
}

const IO_BUFFER: NonZeroUsize = match NonZeroUsize::new(64 * 1024) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

/// Whether an older build left this archive in the unprunable format.
pub async fn has_unprunable<E: Storage>(context: &E, archive: &ArchiveSetup) -> bool {
    for part in UNPRUNABLE_PARTS {
        let partition = format!("{}-{}-{part}", archive.prefix, archive.name);
        if context
            .scan(&partition)
            .await
            .is_ok_and(|blobs| !blobs.is_empty())
        {
            return true;
        }
    }
    false
}

/// Moves every record of `old` (an archive an older build wrote) into `into`, syncs it, then
/// removes `old`. An upgraded validator keeps its history instead of rebuilding from the
/// committee; a move cut short is done again at the next start (records already moved are
/// skipped: an index is stored once).
pub async fn move_archive<Old, New>(
    old: Old,
    mut into: New,
    store: Store,
    key_of: impl Fn(&Old::Value) -> Old::Key,
) -> Result<New, StoreFault>
where
    Old: Archive,
    New: Archive<Key = Old::Key, Value = Old::Value>,
{
    let fault = |e: commonware_storage::archive::Error| {
        StoreFault::new(store, format_args!("moving the older build's records: {e}"))
    };
    let mut moved = 0u64;
    if let (Some(first), Some(last)) = (old.first_index(), old.last_index()) {
        for index in first..=last {
            if let Some(value) = old.get(ArchiveId::Index(index)).await.map_err(fault)? {
                into = into
                    .put(index, key_of(&value), &value)
                    .await
                    .map_err(fault)?;
                moved = moved.saturating_add(1);
            }
        }
        into = into.sync().await.map_err(fault)?;
    }
    old.destroy().await.map_err(fault)?;
    tracing::info!(%store, moved, "moved an older build's archive into the prunable format");
    Ok(into)
}

/// A store that cannot be read back as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {store} is damaged: {reason}")]
pub struct StoreFault {
    pub store: Store,
    pub reason: String,
}

impl StoreFault {
    pub fn new(store: Store, reason: impl std::fmt::Display) -> Self {
        Self {
            store,
            reason: reason.to_string(),
        }
    }
}

/// Reads back the first record and the latest [`RECENT`] records of `archive` by index, then
/// each by its key (`key_of`), as start-up, catch-up and peers' requests will: checksums,
/// encodings and the key index are all checked.
pub async fn check_archive<A: Archive>(
    archive: &A,
    store: Store,
    key_of: impl Fn(&A::Value) -> A::Key,
) -> Result<(), StoreFault> {
    let (Some(first), Some(last)) = (archive.first_index(), archive.last_index()) else {
        return Ok(());
    };
    let recent = last.saturating_sub(RECENT - 1).max(first);
    let indices = std::iter::once(first).chain(recent.max(first.saturating_add(1))..=last);
    for index in indices {
        let fault =
            |e: &dyn std::fmt::Display| StoreFault::new(store, format_args!("record {index}: {e}"));
        let Some(value) = archive
            .get(ArchiveId::Index(index))
            .await
            .map_err(|e| fault(&e))?
        else {
            continue;
        };
        let key = key_of(&value);
        if !archive
            .has(ArchiveId::Key(&key))
            .await
            .map_err(|e| fault(&e))?
        {
            return Err(fault(&"not found by its key"));
        }
    }
    Ok(())
}

/// Replays simplex's journal as simplex will at start (which would panic on a bad record).
pub async fn check_consensus_journal<E>(
    context: E,
    partition: &str,
    scheme: &ed25519::Scheme,
    page_cache: CacheRef,
    buffer: NonZeroUsize,
) -> Result<(), StoreFault>
where
    E: Storage + Metrics + Clock,
{
    use commonware_cryptography::certificate::Verifier as _;
    let fault = |e: &dyn std::fmt::Display| StoreFault::new(Store::ConsensusJournal, e);
    let journal = journal::Journal::<_, Artifact<ed25519::Scheme, Digest>>::init(
        context,
        journal::Config {
            partition: partition.to_string(),
            compression: None,
            codec_config: scheme.certificate_codec_config(),
            page_cache,
            write_buffer: buffer,
        },
    )
    .await
    .map_err(|e| fault(&e))?;
    let mut replay = journal
        .replay(0, 0, buffer, commonware_runtime::ReadOptions::DONT_CACHE)
        .await
        .map_err(|e| fault(&e))?;
    while let Some(item) = replay.next().await {
        item.map_err(|e| fault(&e))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic fails the test
mod tests {
    use super::*;
    use commonware_runtime::{Runner as _, Supervisor as _, deterministic};

    /// An archive an older build wrote (unprunable) is moved whole into the prunable one,
    /// readable by index and by key, and the old one is gone.
    #[test]
    fn an_older_builds_archive_is_moved_into_the_prunable_format() {
        deterministic::Runner::default().start(|context| async move {
            let setup = ArchiveSetup {
                prefix: "v0".into(),
                name: "blocks",
                page_cache: CacheRef::new(
                    std::num::NonZeroU16::new(4096).unwrap(),
                    NonZeroUsize::new(16).unwrap(),
                ),
                section: NonZeroU64::new(16).unwrap(),
            };
            let key = |v: &u64| Digest([*v as u8; 32]);
            assert!(!has_unprunable(&context, &setup).await);
            let mut old = immutable::Archive::<_, Digest, u64>::init(
                context.child("old"),
                setup.unprunable(()),
            )
            .await
            .unwrap();
            for index in [1u64, 2, 3, 40] {
                old = old
                    .put(index, key(&(index * 10)), &(index * 10))
                    .await
                    .unwrap();
            }
            old.sync().await.unwrap();
            assert!(has_unprunable(&context, &setup).await);
            let old = immutable::Archive::<_, Digest, u64>::init(
                context.child("old_again"),
                setup.unprunable(()),
            )
            .await
            .unwrap();
            let into = prunable::Archive::<_, _, Digest, u64>::init(
                context.child("new"),
                setup.prunable(()),
            )
            .await
            .unwrap();
            let into = move_archive(old, into, Store::BlockArchive, key)
                .await
                .unwrap();
            assert!(!has_unprunable(&context, &setup).await);
            for index in [1u64, 2, 3, 40] {
                let value = index * 10;
                assert_eq!(
                    into.get(ArchiveId::Index(index)).await.unwrap(),
                    Some(value)
                );
                assert!(into.has(ArchiveId::Key(&key(&value))).await.unwrap());
            }
            assert_eq!(into.get(ArchiveId::Index(4)).await.unwrap(), None);
            // The moved records are pruned like any other.
            let into = into.prune(32).await.unwrap();
            assert_eq!(into.get(ArchiveId::Index(3)).await.unwrap(), None);
            assert_eq!(into.get(ArchiveId::Index(40)).await.unwrap(), Some(400));
        });
    }
}
