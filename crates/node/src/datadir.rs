//! A validator's data directory on disk: whose it is (a marker written on first use, so a node
//! never runs on another chain's or another validator's data), the files behind each store (so
//! a fault names them), the audit log's integrity, and `--resync`.

use crate::stores::StoreFault;
use std::io::{Read as _, Seek as _};
use std::path::{Path, PathBuf};

/// The marker file: which chain and which validator the directory belongs to.
pub const MARKER: &str = "z3r0-data";
/// The runtime's storage (commonware partitions) inside the data directory.
pub const RUNTIME: &str = "runtime";
/// The audit log of finalized blocks inside the data directory.
pub const AUDIT_LOG: &str = "finalized.log";
/// Bytes at the end of the audit log read back at start: what the last run wrote, with a
/// bound that does not grow with the chain.
const AUDIT_TAIL: u64 = 64 * 1024;

/// Why a data directory cannot be used as it is.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error(
        "{dir}: this data directory belongs to chain {found}, but the config's genesis is chain {expected}"
    )]
    OtherChain {
        dir: PathBuf,
        found: String,
        expected: String,
    },
    #[error(
        "{dir}: this data directory belongs to validator {found}, but the config's key is validator {expected}"
    )]
    OtherValidator {
        dir: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{dir}: holds node data but no {MARKER} file saying whose it is")]
    Unmarked { dir: PathBuf },
    #[error("{path}: not a data-directory marker: {reason}")]
    BadMarker { path: PathBuf, reason: &'static str },
    #[error("{path}: {reason}")]
    AuditLog { path: PathBuf, reason: String },
    #[error("{fault} (files: {})", list(files))]
    Store {
        fault: StoreFault,
        files: Vec<PathBuf>,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn list(files: &[PathBuf]) -> String {
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    names.join(", ")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Whose a data directory is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The chain id, hex.
    pub chain: String,
    /// The validator's public key, hex.
    pub validator: String,
}

impl Owner {
    fn encode(&self) -> String {
        format!("chain {}\nvalidator {}\n", self.chain, self.validator)
    }

    fn decode(text: &str) -> Result<Self, &'static str> {
        let mut lines = text.lines();
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name))
                .and_then(|v| v.strip_prefix(' '))
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_string)
        };
        let chain = field("chain").ok_or("no chain line")?;
        let validator = field("validator").ok_or("no validator line")?;
        Ok(Self { chain, validator })
    }
}

/// Makes sure `dir` is `owner`'s: marks a new (or empty) directory, refuses another's.
pub fn claim(dir: &Path, owner: &Owner) -> Result<(), DataDirError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let marker = dir.join(MARKER);
    match std::fs::read(&marker) {
        Ok(bytes) => {
            let bad = |reason| DataDirError::BadMarker {
                path: marker.clone(),
                reason,
            };
            let text = std::str::from_utf8(&bytes).map_err(|_| bad("not text"))?;
            let found = Owner::decode(text).map_err(bad)?;
            if found.chain != owner.chain {
                return Err(DataDirError::OtherChain {
                    dir: dir.to_path_buf(),
                    found: found.chain,
                    expected: owner.chain.clone(),
                });
            }
            if found.validator != owner.validator {
                return Err(DataDirError::OtherValidator {
                    dir: dir.to_path_buf(),
                    found: found.validator,
                    expected: owner.validator.clone(),
                });
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if holds_data(dir)? {
                return Err(DataDirError::Unmarked {
                    dir: dir.to_path_buf(),
                });
            }
            std::fs::write(&marker, owner.encode()).map_err(io(&marker))
        }
        Err(e) => Err(io(&marker)(e)),
    }
}

/// Whether `dir` holds a node's data (anything besides an empty runtime directory).
fn holds_data(dir: &Path) -> Result<bool, DataDirError> {
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        let empty_runtime = path.file_name() == Some(RUNTIME.as_ref())
            && std::fs::read_dir(&path)
                .map_err(io(&path))?
                .next()
                .is_none();
        if !empty_runtime {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The files of `store` under the data directory `dir` (partition `prefix`), for a fault's
/// message: the one a runtime error names first, when it names one.
pub fn store_files(dir: &Path, prefix: &str, fault: &StoreFault) -> Vec<PathBuf> {
    let runtime = dir.join(RUNTIME);
    let mut files = Vec::new();
    if let Some((partition, blob)) = named_blob(&fault.reason) {
        files.push(runtime.join(partition).join(blob));
    }
    for partition in fault.store.partitions(prefix) {
        let path = runtime.join(&partition);
        let mut found: Vec<PathBuf> = std::fs::read_dir(&path)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        found.sort();
        if found.is_empty() {
            found.push(path);
        }
        files.extend(
            found
                .into_iter()
                .filter(|f| !files.contains(f))
                .collect::<Vec<_>>(),
        );
    }
    files
}

/// The `(partition, blob)` a commonware runtime error names (`BlobCorrupt("p", "b", ..)`).
pub fn named_blob(message: &str) -> Option<(String, String)> {
    let rest = &message[message.find("BlobCorrupt(")? + "BlobCorrupt(".len()..];
    let mut quoted = rest.split('"').skip(1).step_by(2);
    let partition = quoted.next()?;
    let blob = quoted.next()?;
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (plain(partition) && plain(blob)).then(|| (partition.to_string(), blob.to_string()))
}

/// A store fault with its files.
pub fn store_error(dir: &Path, prefix: &str, fault: StoreFault) -> DataDirError {
    let files = store_files(dir, prefix, &fault);
    DataDirError::Store { fault, files }
}

/// Checks the end of the audit log: whole lines only, each one an audit line. Returns the
/// highest height it records there (0 for none; a restart logs replayed heights again).
pub fn check_audit_log(dir: &Path) -> Result<u64, DataDirError> {
    let path = dir.join(AUDIT_LOG);
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io(&path)(e)),
    };
    let len = file.metadata().map_err(io(&path))?.len();
    let start = len.saturating_sub(AUDIT_TAIL);
    file.seek(std::io::SeekFrom::Start(start))
        .map_err(io(&path))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).map_err(io(&path))?;
    let bad = |reason: String| DataDirError::AuditLog {
        path: path.clone(),
        reason,
    };
    if !tail.is_empty() && tail.last() != Some(&b'\n') {
        return Err(bad("ends inside a line (cut short)".into()));
    }
    // A window that starts mid-file starts mid-line: its first, partial line is skipped.
    let whole = if start > 0 {
        tail.iter()
            .position(|&b| b == b'\n')
            .map_or(&tail[..0], |i| &tail[i + 1..])
    } else {
        &tail[..]
    };
    let mut last = 0;
    for (i, line) in whole.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let at = || {
            let offset = start + (tail.len() - whole.len()) as u64;
            format!("line {} after byte {offset}", i + 1)
        };
        let text = std::str::from_utf8(line).map_err(|_| bad(format!("{}: not text", at())))?;
        let parsed: z3r0_genesis::AuditLine =
            text.parse().map_err(|e| bad(format!("{}: {e}", at())))?;
        last = last.max(parsed.height);
    }
    Ok(last)
}

/// Moves a damaged data directory aside (nothing is deleted), so the node starts on an empty
/// one and rebuilds it from its peers. Returns where it went, if it existed.
pub fn set_aside(dir: &Path) -> Result<Option<PathBuf>, DataDirError> {
    if !dir.exists() {
        return Ok(None);
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".set-aside-{stamp}"));
    let aside = dir.with_file_name(name);
    std::fs::rename(dir, &aside).map_err(io(dir))?;
    Ok(Some(aside))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic fails the test
mod tests {
    use super::*;

    /// An empty scratch directory of its own for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("z3r0-datadir-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn owner(chain: &str) -> Owner {
        Owner {
            chain: chain.into(),
            validator: "ab".into(),
        }
    }

    #[test]
    fn a_directory_is_claimed_once_and_refused_to_another_chain() {
        let dir = scratch("claim");
        let data = dir.as_path().join("data");
        claim(&data, &owner("01")).unwrap();
        claim(&data, &owner("01")).unwrap();
        let err = claim(&data, &owner("02")).unwrap_err();
        assert!(matches!(err, DataDirError::OtherChain { .. }), "{err}");
        let other = Owner {
            chain: "01".into(),
            validator: "cd".into(),
        };
        assert!(matches!(
            claim(&data, &other).unwrap_err(),
            DataDirError::OtherValidator { .. }
        ));
    }

    #[test]
    fn data_without_a_marker_is_refused() {
        let dir = scratch("unmarked");
        std::fs::create_dir_all(dir.as_path().join(RUNTIME).join("zone-simplex")).unwrap();
        let err = claim(dir.as_path(), &owner("01")).unwrap_err();
        assert!(matches!(err, DataDirError::Unmarked { .. }), "{err}");
        // An empty runtime directory is not data.
        let fresh = scratch("fresh");
        std::fs::create_dir_all(fresh.as_path().join(RUNTIME)).unwrap();
        claim(fresh.as_path(), &owner("01")).unwrap();
    }

    #[test]
    fn a_damaged_marker_is_named() {
        let dir = scratch("marker");
        std::fs::write(dir.as_path().join(MARKER), b"chain zz\n").unwrap();
        let err = claim(dir.as_path(), &owner("01")).unwrap_err();
        assert!(err.to_string().contains(MARKER), "{err}");
    }

    fn line(height: u64) -> String {
        z3r0_genesis::AuditLine {
            height,
            digest: [1; 32],
            root: [2; 32],
            at_ms: 5,
            latency_us: Some(7),
        }
        .to_string()
    }

    #[test]
    fn the_audit_log_tail_must_be_whole_lines() {
        let dir = scratch("audit");
        assert_eq!(check_audit_log(dir.as_path()).unwrap(), 0);
        let text: String = (1..=2000).map(|h| line(h) + "\n").collect();
        let path = dir.as_path().join(AUDIT_LOG);
        std::fs::write(&path, &text).unwrap();
        assert_eq!(check_audit_log(dir.as_path()).unwrap(), 2000);
        // Cut short.
        std::fs::write(&path, &text[..text.len() - 9]).unwrap();
        let err = check_audit_log(dir.as_path()).unwrap_err();
        assert!(err.to_string().contains("finalized.log"), "{err}");
        // A flipped byte near the end.
        let mut bytes = text.into_bytes();
        let at = bytes.len() - 40;
        bytes[at] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            check_audit_log(dir.as_path()).unwrap_err(),
            DataDirError::AuditLog { .. }
        ));
    }

    #[test]
    fn a_blob_named_by_the_runtime_is_found() {
        let message = r#"unable to open journal: Runtime(BlobCorrupt("zone-simplex", "0000000000000156", "invalid header padding"))"#;
        assert_eq!(
            named_blob(message),
            Some(("zone-simplex".into(), "0000000000000156".into()))
        );
        assert_eq!(named_blob("BlobCorrupt(\"../x\", \"y\")"), None);
        assert_eq!(named_blob("checksum mismatch"), None);
    }

    #[test]
    fn set_aside_keeps_the_old_directory() {
        let dir = scratch("blob");
        let data = dir.as_path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("x"), b"1").unwrap();
        let aside = set_aside(&data).unwrap().unwrap();
        assert!(!data.exists());
        assert_eq!(std::fs::read(aside.join("x")).unwrap(), b"1");
        assert_eq!(set_aside(&data).unwrap(), None);
    }
}
