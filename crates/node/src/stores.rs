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
    archive::{Archive, Identifier as ArchiveId},
    journal::segmented::variable as journal,
};
use std::num::NonZeroUsize;

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
            [
                "metadata",
                "freezer-table",
                "freezer-key",
                "freezer-value",
                "ordinal",
            ]
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
