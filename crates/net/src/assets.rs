//! Content assets by hash over the edge: a client asks on a stream of its own for the blake3
//! hash of a file (a texture, a sound: `z3r0-content` names them so), the edge answers with
//! the file in bao's verified streaming encoding, and the client checks every chunk group
//! against the hash as it arrives, so a lying edge is caught at its first bad byte and never
//! gets a byte into the cache. The cache keeps files by hash: one fetched is never fetched
//! again.
//!
//! Wire format, on a bidirectional stream the client opens: the request is
//! [`ASSET_REQUEST`] then the 32-byte hash; the answer is a status byte ([`ASSET_FOUND`] or
//! [`ASSET_MISSING`]), and if found the length (u64, big-endian) and bao's combined encoding.
//!
//! An edge whose store names an uploader (the zone's content publisher) also takes uploads
//! from that account's sessions: [`ASSET_PUT`], the hash, the length (u64) and bao's encoding,
//! checked as it arrives exactly as a client checks a fetch, and answered [`ASSET_STORED`] or
//! [`ASSET_REFUSED`]. Anyone else's upload is refused before a byte of it is read.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The request's tag (the stream's first byte).
pub const ASSET_REQUEST: u8 = 1;
pub const ASSET_FOUND: u8 = 0;
pub const ASSET_MISSING: u8 = 1;
/// An upload's tag, and its answers.
pub const ASSET_PUT: u8 = 2;
pub const ASSET_STORED: u8 = 0;
pub const ASSET_REFUSED: u8 = 1;
/// Largest asset an edge serves and a client takes (as `z3r0_content::MAX_FILE_BYTES`).
pub const MAX_ASSET_BYTES: u64 = 16 << 20;
/// Bytes read from the stream at a time.
const READ_CHUNK: usize = 64 * 1024;
/// Longest wait for any read of an asset stream, on either side: a stalled peer is left.
pub const STREAM_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest an edge spends sending one asset (16 MiB in 30 s is about 560 KB/s).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

pub type AssetHash = [u8; 32];

/// Why an asset did not arrive.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error("the edge does not hold asset {0}")]
    Missing(String),
    #[error("asset {hash}: the edge sent bytes that do not match its hash: {reason}")]
    Tampered { hash: String, reason: String },
    #[error("asset {hash}: {len} bytes, more than the {MAX_ASSET_BYTES} an asset may have")]
    TooLarge { hash: String, len: u64 },
    #[error("asset stream: {0}")]
    Stream(String),
    #[error("asset stream: nothing arrived for {0:?}")]
    Stalled(Duration),
    #[error("asset cache {path}: {source}")]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no edge could give asset {0}")]
    Unavailable(String),
    #[error("the edge refused to store asset {0}")]
    Refused(String),
}

/// Lower-case hex of `bytes`: an asset's file name in stores and caches.
pub fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The files an edge serves: a directory of objects named by their hex blake3 (a
/// `z3r0-content` bundle's `objects`). The edge serves what is there; clients verify.
#[derive(Debug, Clone)]
pub struct AssetStore {
    dir: PathBuf,
    /// The account whose sessions may upload, and the most bytes the store may hold.
    uploads: Option<([u8; 32], u64)>,
    /// Bytes of uploads in progress: counted against the bound while they arrive, so uploads
    /// at once cannot together pass it.
    reserved: Arc<AtomicU64>,
}

/// Room held in a store for one upload in progress; given back when dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    reserved: Arc<AtomicU64>,
    bytes: u64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.reserved.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

impl AssetStore {
    /// A store the edge only serves from.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            uploads: None,
            reserved: Arc::default(),
        }
    }

    /// A store that also takes verified uploads from `uploader`'s sessions while it holds
    /// less than `max_bytes`.
    pub fn with_uploader(dir: impl Into<PathBuf>, uploader: [u8; 32], max_bytes: u64) -> Self {
        Self {
            dir: dir.into(),
            uploads: Some((uploader, max_bytes)),
            reserved: Arc::default(),
        }
    }

    /// Whether `account` may upload here.
    pub fn takes_uploads_from(&self, account: &[u8; 32]) -> bool {
        self.uploads
            .is_some_and(|(uploader, _)| uploader == *account)
    }

    pub fn contains(&self, hash: &AssetHash) -> bool {
        self.dir.join(hex_of(hash)).is_file()
    }

    /// Holds room for an upload of `len` bytes if the store, with the uploads in progress,
    /// stays within its bound (`used`: the bytes stored now).
    pub(crate) fn reserve(&self, len: u64, used: u64) -> Option<Reservation> {
        let max = self.uploads.map_or(0, |(_, max)| max);
        let mut current = self.reserved.load(Ordering::SeqCst);
        loop {
            let total = used.saturating_add(current).saturating_add(len);
            if len > MAX_ASSET_BYTES || total > max {
                return None;
            }
            match self.reserved.compare_exchange(
                current,
                current + len,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => {
                    return Some(Reservation {
                        reserved: self.reserved.clone(),
                        bytes: len,
                    });
                }
                Err(now) => current = now,
            }
        }
    }

    /// Bytes of the files in the store (the objects, and uploads' partial files as far as
    /// they came: their room is reserved besides, so this errs high).
    fn used_bytes(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .filter(std::fs::Metadata::is_file)
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// The bytes stored under `hash`, if any (and small enough to serve).
    fn get(&self, hash: &AssetHash) -> Option<Vec<u8>> {
        let path = self.dir.join(hex_of(hash));
        let len = std::fs::metadata(&path).ok()?.len();
        if len > MAX_ASSET_BYTES {
            return None;
        }
        std::fs::read(path).ok()
    }
}

/// `f` within `limit`, or [`AssetError::Stalled`].
async fn within<T>(
    limit: Duration,
    f: impl std::future::Future<Output = T>,
) -> Result<T, AssetError> {
    tokio::time::timeout(limit, f)
        .await
        .map_err(|_| AssetError::Stalled(limit))
}

fn stream_error(e: &dyn std::fmt::Display) -> AssetError {
    AssetError::Stream(e.to_string())
}

/// What a client asks of an edge's asset store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    Get(AssetHash),
    /// An upload of `len` bytes follows.
    Put(AssetHash, u64),
}

/// Reads an asset request (the edge's side), within [`STREAM_READ_TIMEOUT`].
pub(crate) async fn read_request(recv: &mut quinn::RecvStream) -> Result<Request, AssetError> {
    let mut request = [0u8; 33];
    within(STREAM_READ_TIMEOUT, recv.read_exact(&mut request))
        .await?
        .map_err(|e| stream_error(&e))?;
    let [tag, hash @ ..] = request;
    match tag {
        ASSET_REQUEST => Ok(Request::Get(hash)),
        ASSET_PUT => {
            let mut len = [0u8; 8];
            within(STREAM_READ_TIMEOUT, recv.read_exact(&mut len))
                .await?
                .map_err(|e| stream_error(&e))?;
            Ok(Request::Put(hash, u64::from_be_bytes(len)))
        }
        _ => Err(AssetError::Stream(format!("unknown request {tag}"))),
    }
}

/// Takes an upload of `len` bytes for `hash` into `store` (the edge's side; the caller checked
/// the uploader), verified as it arrives, within the store's bound. Answers on `send`; returns
/// the bytes stored (0 when the object was there already).
pub(crate) async fn take_upload(
    store: Arc<AssetStore>,
    hash: AssetHash,
    len: u64,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) -> Result<u64, AssetError> {
    // Listing the directory is blocking work: off the session's task.
    let used = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.used_bytes())
            .await
            .map_err(|e| stream_error(&e))?
    };
    let room = store.reserve(len, used);
    let outcome = if store.contains(&hash) {
        let _ = recv.stop(quinn::VarInt::from_u32(0));
        Ok(0)
    } else if room.is_none() {
        let _ = recv.stop(quinn::VarInt::from_u32(0));
        Err(AssetError::TooLarge {
            hash: hex_of(&hash),
            len,
        })
    } else {
        let target = store.dir.join(hex_of(&hash));
        receive(&store.dir, &target, &hash, len, &mut recv)
            .await
            .map(|_| len)
    };
    let answer = if outcome.is_ok() {
        ASSET_STORED
    } else {
        ASSET_REFUSED
    };
    let reply = async {
        send.write_all(&[answer])
            .await
            .map_err(|e| stream_error(&e))?;
        send.finish().map_err(|e| stream_error(&e))
    };
    within(STREAM_READ_TIMEOUT, reply).await??;
    outcome
}

/// Refuses an upload without reading it.
pub(crate) async fn refuse_upload(mut send: quinn::SendStream, mut recv: quinn::RecvStream) {
    let _ = recv.stop(quinn::VarInt::from_u32(0));
    let reply = async {
        let _ = send.write_all(&[ASSET_REFUSED]).await;
        let _ = send.finish();
    };
    let _ = within(STREAM_READ_TIMEOUT, reply).await;
}

/// Uploads `bytes` to an edge that takes uploads from this session's account, in bao's
/// encoding so the edge checks it as it arrives. Ok once the edge holds the object.
pub async fn put_asset(edge: &quinn::Connection, bytes: &[u8]) -> Result<(), AssetError> {
    let len = bytes.len() as u64;
    let hash = *blake3::hash(bytes).as_bytes();
    if len > MAX_ASSET_BYTES {
        return Err(AssetError::TooLarge {
            hash: hex_of(&hash),
            len,
        });
    }
    let (encoded, _) = bao::encode::encode(bytes);
    let (mut send, mut recv) = edge.open_bi().await.map_err(|e| stream_error(&e))?;
    let mut head = [0u8; 41];
    head[0] = ASSET_PUT;
    head[1..33].copy_from_slice(&hash);
    head[33..].copy_from_slice(&len.to_be_bytes());
    let write = async {
        send.write_all(&head).await?;
        send.write_all(&encoded).await?;
        send.finish().map_err(|_| quinn::WriteError::ClosedStream)
    };
    // An edge that holds the object already, or refuses it, stops reading early: its answer
    // says which, so a failed write is not yet a failure.
    let _ = within(SEND_TIMEOUT, write).await;
    let mut answer = [0u8; 1];
    within(STREAM_READ_TIMEOUT, recv.read_exact(&mut answer))
        .await?
        .map_err(|e| stream_error(&e))?;
    match answer[0] {
        ASSET_STORED => Ok(()),
        _ => Err(AssetError::Refused(hex_of(&hash))),
    }
}

/// Answers a request for `hash` on `send` within [`SEND_TIMEOUT`] (the edge's side). Returns
/// the asset's size in bytes (0 when the edge does not hold it).
pub(crate) async fn answer(
    store: Arc<AssetStore>,
    hash: AssetHash,
    mut send: quinn::SendStream,
) -> Result<u64, AssetError> {
    // Reading and encoding a file is blocking work: off the session's task.
    let found = tokio::task::spawn_blocking(move || {
        store.get(&hash).map(|bytes| {
            let (encoded, _) = bao::encode::encode(&bytes);
            (bytes.len() as u64, encoded)
        })
    })
    .await
    .map_err(|e| stream_error(&e))?;
    let write = async {
        let served = match found {
            None => {
                send.write_all(&[ASSET_MISSING])
                    .await
                    .map_err(|e| stream_error(&e))?;
                0
            }
            Some((len, encoded)) => {
                let mut head = [ASSET_FOUND; 9];
                head[1..].copy_from_slice(&len.to_be_bytes());
                send.write_all(&head).await.map_err(|e| stream_error(&e))?;
                send.write_all(&encoded)
                    .await
                    .map_err(|e| stream_error(&e))?;
                len
            }
        };
        send.finish().map_err(|e| stream_error(&e))?;
        Ok(served)
    };
    within(SEND_TIMEOUT, write).await?
}

/// Files fetched by hash, on disk: `<dir>/<hex hash>`, written only once verified.
#[derive(Debug, Clone)]
pub struct AssetCache {
    dir: PathBuf,
}

impl AssetCache {
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, AssetError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| AssetError::Cache {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
    }

    pub fn path(&self, hash: &AssetHash) -> PathBuf {
        self.dir.join(hex_of(hash))
    }

    pub fn contains(&self, hash: &AssetHash) -> bool {
        self.path(hash).is_file()
    }

    /// The asset's path in the cache, fetched from the first of `edges` that gives bytes
    /// matching `hash` if it is not cached yet. A missing asset, a broken or stalled stream or
    /// a tampered byte moves on to the next edge.
    pub async fn get_or_fetch(
        &self,
        hash: &AssetHash,
        edges: &[quinn::Connection],
    ) -> Result<PathBuf, AssetError> {
        if self.contains(hash) {
            return Ok(self.path(hash));
        }
        for edge in edges {
            match self.fetch(edge, hash).await {
                Ok(path) => return Ok(path),
                Err(e) => {
                    tracing::warn!(remote = %edge.remote_address(), error = %e, "asset fetch failed");
                }
            }
        }
        Err(AssetError::Unavailable(hex_of(hash)))
    }

    /// Fetches `hash` from one edge, verifying as it arrives; every read waits at most
    /// [`STREAM_READ_TIMEOUT`].
    pub async fn fetch(
        &self,
        edge: &quinn::Connection,
        hash: &AssetHash,
    ) -> Result<PathBuf, AssetError> {
        let (mut send, mut recv) = edge.open_bi().await.map_err(|e| stream_error(&e))?;
        let mut request = [ASSET_REQUEST; 33];
        request[1..].copy_from_slice(hash);
        send.write_all(&request)
            .await
            .map_err(|e| stream_error(&e))?;
        send.finish().map_err(|e| stream_error(&e))?;
        let len = read_answer_head(&mut recv, hash).await?;
        receive(&self.dir, &self.path(hash), hash, len, &mut recv).await
    }
}

/// Reads `len` bytes of `hash`'s bao encoding from `recv` into a partial file in `dir`,
/// verifying every chunk group as it arrives; the checked file becomes `target`, and anything
/// else leaves nothing behind.
async fn receive(
    dir: &Path,
    target: &Path,
    hash: &AssetHash,
    len: u64,
    recv: &mut quinn::RecvStream,
) -> Result<PathBuf, AssetError> {
    // This transfer's own file: removed however it ends unless it is kept.
    let partial = Partial::create(dir, hash)?;
    // The stream feeds a verifying decoder on a blocking thread through a bounded channel.
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(16);
    let decoding = {
        let (file, hash) = (partial.file()?, *hash);
        tokio::task::spawn_blocking(move || decode_to(file, &hash, len, rx))
    };
    while let Some(chunk) = within(STREAM_READ_TIMEOUT, recv.read_chunk(READ_CHUNK, true))
        .await?
        .map_err(|e| stream_error(&e))?
    {
        if tx.send(chunk.bytes).await.is_err() {
            // The decoder stopped (a bad byte, or the whole asset read): it says which.
            break;
        }
    }
    drop(tx);
    decoding.await.map_err(|e| stream_error(&e))??;
    partial.keep_as(target)
}

/// The answer's status and length: the asset's size if the edge has it.
async fn read_answer_head(
    recv: &mut quinn::RecvStream,
    hash: &AssetHash,
) -> Result<u64, AssetError> {
    let mut head = [0u8; 9];
    within(STREAM_READ_TIMEOUT, recv.read_exact(&mut head[..1]))
        .await?
        .map_err(|e| stream_error(&e))?;
    if head[0] != ASSET_FOUND {
        return Err(AssetError::Missing(hex_of(hash)));
    }
    within(STREAM_READ_TIMEOUT, recv.read_exact(&mut head[1..]))
        .await?
        .map_err(|e| stream_error(&e))?;
    let [_, len @ ..] = head;
    let len = u64::from_be_bytes(len);
    if len > MAX_ASSET_BYTES {
        return Err(AssetError::TooLarge {
            hash: hex_of(hash),
            len,
        });
    }
    Ok(len)
}

/// A fetch's partial file, `<hash>.<pid>-<n>.partial`, created new so that two fetches of one
/// hash never share one; deleted when dropped unless kept under the asset's name.
struct Partial {
    path: PathBuf,
    kept: bool,
}

/// Numbers partial files apart within this process.
static PARTIALS: AtomicU64 = AtomicU64::new(0);

impl Partial {
    fn create(dir: &Path, hash: &AssetHash) -> Result<Self, AssetError> {
        let n = PARTIALS.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}.{}-{n}.partial", hex_of(hash), std::process::id());
        let path = dir.join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| AssetError::Cache {
                path: path.clone(),
                source,
            })?;
        Ok(Self { path, kept: false })
    }

    fn file(&self) -> Result<std::fs::File, AssetError> {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&self.path)
            .map_err(|source| AssetError::Cache {
                path: self.path.clone(),
                source,
            })
    }

    /// Renames the checked file to `path`: a reader sees all of it or none.
    fn keep_as(mut self, path: &Path) -> Result<PathBuf, AssetError> {
        std::fs::rename(&self.path, path).map_err(|source| AssetError::Cache {
            path: path.to_path_buf(),
            source,
        })?;
        self.kept = true;
        Ok(path.to_path_buf())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Verifies bao-encoded bytes from `rx` against `hash` and writes the `len` bytes of content to
/// `file` as each chunk group checks out.
fn decode_to(
    mut file: std::fs::File,
    hash: &AssetHash,
    len: u64,
    rx: tokio::sync::mpsc::Receiver<bytes::Bytes>,
) -> Result<(), AssetError> {
    let tampered = |reason: String| AssetError::Tampered {
        hash: hex_of(hash),
        reason,
    };
    let reader = ChannelReader {
        rx,
        current: bytes::Bytes::new(),
    };
    let mut decoder = bao::decode::Decoder::new(reader, &bao::Hash::from(*hash));
    // The decoder checks the length the encoding carries against the hash and stops at its
    // end (bytes after it are never read); one byte past `len` shows a disagreement.
    let copied = std::io::copy(&mut (&mut decoder).take(len.saturating_add(1)), &mut file)
        .map_err(|e| tampered(e.to_string()))?;
    if copied != len {
        return Err(tampered(format!(
            "{copied} bytes where the edge said {len}"
        )));
    }
    file.sync_all().map_err(|source| AssetError::Cache {
        path: PathBuf::from(hex_of(hash)),
        source,
    })
}

/// A blocking reader over byte chunks sent from the stream's task.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<bytes::Bytes>,
    current: bytes::Bytes,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        let chunk = self.current.split_to(n);
        buf.get_mut(..n)
            .ok_or_else(|| std::io::Error::other("buffer"))?
            .copy_from_slice(&chunk);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_at_once_share_the_stores_bound() {
        let store = AssetStore::with_uploader("/nonexistent", [1; 32], 10 << 20);
        let first = store.reserve(6 << 20, 1 << 20).unwrap();
        assert!(
            store.reserve(6 << 20, 1 << 20).is_none(),
            "two at once would pass the bound"
        );
        let second = store.reserve(3 << 20, 1 << 20).unwrap();
        drop(first);
        assert!(store.reserve(5 << 20, 1 << 20).is_some(), "room given back");
        drop(second);
        assert!(store.reserve(MAX_ASSET_BYTES + 1, 0).is_none());
        assert!(
            AssetStore::new("/nonexistent").reserve(1, 0).is_none(),
            "no uploads"
        );
    }
}
