//! Where a key's body was when its player last left a world: a line next to the key file.
//!
//! A player coming back through any zone's edge searches only the zones nearest it for a body
//! it left (more would cost a session each); in a world wider than that, a body left further
//! away would be missed and the player would join with a second one. So the player remembers
//! the zone its body was in when it quit, and starts there. The file is a hint only: the edge's
//! proofs still decide where the body is, and a file that is damaged or names another world is
//! set aside with a warning.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use z3r0_genesis::{from_hex, to_hex};

/// Why a whereabouts file was not used.
#[derive(Debug, thiserror::Error)]
pub enum WhereaboutsError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: expected `world <64 hex digits> zone <number>`, found {found:?}")]
    Malformed { path: PathBuf, found: String },
}

/// The longest whereabouts line read: `world`, 64 hex digits, `zone` and a `u32`.
const MAX_LINE: usize = 128;

/// The whereabouts file of a key file: the key's path with `.zone` added.
pub fn path_for(key: &Path) -> PathBuf {
    let mut name = key.as_os_str().to_owned();
    name.push(".zone");
    PathBuf::from(name)
}

/// The zone of `world` the body was last in, if the file says so. A missing file, or one
/// written in another world, is `None`.
pub fn load(path: &Path, world: &[u8; 32]) -> Result<Option<u32>, WhereaboutsError> {
    let read_error = |source| WhereaboutsError::Read {
        path: path.to_owned(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(read_error(source)),
    };
    // One byte past the longest line is enough to refuse a longer file without reading it.
    let mut text = Vec::with_capacity(MAX_LINE + 1);
    file.take(MAX_LINE as u64 + 1)
        .read_to_end(&mut text)
        .map_err(read_error)?;
    let malformed = |text: &[u8]| WhereaboutsError::Malformed {
        path: path.to_owned(),
        found: String::from_utf8_lossy(&text[..text.len().min(MAX_LINE)]).into_owned(),
    };
    if text.len() > MAX_LINE {
        return Err(malformed(&text));
    }
    let line = std::str::from_utf8(&text).map_err(|_| malformed(&text))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [kw_world, id, kw_zone, zone] = fields.as_slice() else {
        return Err(malformed(&text));
    };
    let id = from_hex(id).filter(|id| id.len() == 32);
    let zone = zone.parse::<u32>().ok();
    match (*kw_world, id, *kw_zone, zone) {
        ("world", Some(id), "zone", Some(zone)) => Ok((id == world).then_some(zone)),
        _ => Err(malformed(&text)),
    }
}

/// Remembers that the body is in `zone` of `world`: written aside and renamed over the old
/// file, so a crash leaves the old line or the new one, never half of one.
pub fn save(path: &Path, world: &[u8; 32], zone: u32) -> std::io::Result<()> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".new");
    let aside = PathBuf::from(aside);
    std::fs::write(&aside, format!("world {} zone {zone}\n", to_hex(world)))?;
    std::fs::rename(&aside, path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("z3r0-where-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_saved_zone_is_read_back_in_its_world_only() {
        let dir = dir("saved");
        let path = path_for(&dir.join("player.key"));
        assert_eq!(path, dir.join("player.key.zone"));
        assert_eq!(load(&path, &[7; 32]).unwrap(), None, "no file yet");
        save(&path, &[7; 32], 13).unwrap();
        assert_eq!(load(&path, &[7; 32]).unwrap(), Some(13));
        assert_eq!(load(&path, &[8; 32]).unwrap(), None, "another world's");
        save(&path, &[7; 32], 2).unwrap();
        assert_eq!(
            load(&path, &[7; 32]).unwrap(),
            Some(2),
            "the newest replaces it"
        );
        assert!(!dir.join("player.key.zone.new").exists());
    }

    #[test]
    fn a_damaged_file_is_refused_with_what_it_holds() {
        let dir = dir("damaged");
        let path = dir.join("k.zone");
        let world = [7; 32];
        let good = format!("world {} zone 3", to_hex(&world));
        for bad in [
            String::new(),
            "world zone 3".to_string(),
            good.replace("zone 3", "zone -1"),
            good.replace("zone 3", "zone 4294967296"),
            good.replace("world ", "realm "),
            format!("world {} zone 3", to_hex(&[7; 31])),
            format!("{good} extra"),
            "x".repeat(4096),
        ] {
            std::fs::write(&path, &bad).unwrap();
            let err = load(&path, &world).unwrap_err();
            assert!(
                matches!(err, WhereaboutsError::Malformed { .. }),
                "{bad:?}: {err}"
            );
            assert!(err.to_string().len() < 400, "bounded: {err}");
        }
        std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
        assert!(load(&path, &world).is_err(), "not text");
        std::fs::write(&path, format!("{good}\n")).unwrap();
        assert_eq!(load(&path, &world).unwrap(), Some(3));
    }
}
