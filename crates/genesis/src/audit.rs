//! The audit log a validator appends to (`finalized.log` in its storage directory), one line per
//! finalized block: `height digest root at_ms latency_us`, hex for the hashes, `at_ms` when the
//! node executed it (Unix milliseconds), `latency_us` its finality latency there or `-` for a
//! block it replayed or backfilled. The node writes it and the devnet reads it with this one
//! type, so the format lives in one place.
//!
//! A world validator keeps a second log per zone, `handoffs.log`: one [`HandoffLine`] per
//! body that left or entered the zone, and per import a block carried that the zone refused.

use crate::{from_hex, to_hex};

/// One line of the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditLine {
    pub height: u64,
    pub digest: [u8; 32],
    pub root: [u8; 32],
    pub at_ms: u64,
    pub latency_us: Option<u64>,
}

/// Why a line is not an audit line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("audit line: missing {0}")]
    Missing(&'static str),
    #[error("audit line: bad {0}")]
    Bad(&'static str),
    #[error("audit line: too many fields")]
    Trailing,
}

impl std::fmt::Display for AuditLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let latency = self
            .latency_us
            .map_or_else(|| "-".to_string(), |l| l.to_string());
        write!(
            f,
            "{} {} {} {} {latency}",
            self.height,
            to_hex(&self.digest),
            to_hex(&self.root),
            self.at_ms
        )
    }
}

impl std::str::FromStr for AuditLine {
    type Err = AuditError;

    fn from_str(line: &str) -> Result<Self, AuditError> {
        let mut fields = line.split(' ');
        let mut next = |what| fields.next().ok_or(AuditError::Missing(what));
        let hash = |text: &str, what| -> Result<[u8; 32], AuditError> {
            from_hex(text)
                .and_then(|b| b.try_into().ok())
                .ok_or(AuditError::Bad(what))
        };
        let height = next("height")?
            .parse()
            .map_err(|_| AuditError::Bad("height"))?;
        let digest = hash(next("digest")?, "digest")?;
        let root = hash(next("root")?, "root")?;
        let at_ms = next("at_ms")?
            .parse()
            .map_err(|_| AuditError::Bad("at_ms"))?;
        let latency_us = match next("latency")? {
            "-" => None,
            n => Some(n.parse().map_err(|_| AuditError::Bad("latency"))?),
        };
        if fields.next().is_some() {
            return Err(AuditError::Trailing);
        }
        Ok(Self {
            height,
            digest,
            root,
            at_ms,
            latency_us,
        })
    }
}

/// One line of a zone's handoff log: `exit TO SEQ HEIGHT AT_MS`, `entry FROM SEQ HEIGHT AT_MS
/// LOST`, `refused HEIGHT AT_MS` or `applied HASH HEIGHT AT_MS`; zones by number, `AT_MS` when the node executed the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffLine {
    /// A body left for zone `to` as its exit number `seq`.
    Exit {
        to: u32,
        seq: u64,
        height: u64,
        at_ms: u64,
    },
    /// Exit number `seq` of zone `from` entered; `lost` items found no room.
    Entry {
        from: u32,
        seq: u64,
        height: u64,
        at_ms: u64,
        lost: u32,
    },
    /// A block carried an import the zone refused.
    Refused { height: u64, at_ms: u64 },
    /// A block applied the import whose blake3 hash is `hash` (the devnet looks a Byzantine
    /// relay's forgeries up among them).
    Applied {
        hash: [u8; 32],
        height: u64,
        at_ms: u64,
    },
}

impl std::fmt::Display for HandoffLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exit {
                to,
                seq,
                height,
                at_ms,
            } => write!(f, "exit {to} {seq} {height} {at_ms}"),
            Self::Entry {
                from,
                seq,
                height,
                at_ms,
                lost,
            } => write!(f, "entry {from} {seq} {height} {at_ms} {lost}"),
            Self::Refused { height, at_ms } => write!(f, "refused {height} {at_ms}"),
            Self::Applied {
                hash,
                height,
                at_ms,
            } => write!(f, "applied {} {height} {at_ms}", to_hex(hash)),
        }
    }
}

impl std::str::FromStr for HandoffLine {
    type Err = AuditError;

    fn from_str(line: &str) -> Result<Self, AuditError> {
        let mut fields = line.split(' ');
        let kind = fields.next().ok_or(AuditError::Missing("kind"))?;
        let hash = if kind == "applied" {
            let text = fields.next().ok_or(AuditError::Missing("hash"))?;
            from_hex(text)
                .and_then(|b| b.try_into().ok())
                .ok_or(AuditError::Bad("hash"))?
        } else {
            [0; 32]
        };
        let mut number = |what| -> Result<u64, AuditError> {
            fields
                .next()
                .ok_or(AuditError::Missing(what))?
                .parse()
                .map_err(|_| AuditError::Bad(what))
        };
        let zone = |n: u64, what| u32::try_from(n).map_err(|_| AuditError::Bad(what));
        let parsed = match kind {
            "exit" => Self::Exit {
                to: zone(number("zone")?, "zone")?,
                seq: number("seq")?,
                height: number("height")?,
                at_ms: number("at_ms")?,
            },
            "entry" => Self::Entry {
                from: zone(number("zone")?, "zone")?,
                seq: number("seq")?,
                height: number("height")?,
                at_ms: number("at_ms")?,
                lost: u32::try_from(number("lost")?).map_err(|_| AuditError::Bad("lost"))?,
            },
            "refused" => Self::Refused {
                height: number("height")?,
                at_ms: number("at_ms")?,
            },
            "applied" => Self::Applied {
                hash,
                height: number("height")?,
                at_ms: number("at_ms")?,
            },
            _ => return Err(AuditError::Bad("kind")),
        };
        if fields.next().is_some() {
            return Err(AuditError::Trailing);
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_bad_ones_are_refused() {
        for latency_us in [Some(8_123), None] {
            let line = AuditLine {
                height: 42,
                digest: [1; 32],
                root: [2; 32],
                at_ms: 1_765_000_000_000,
                latency_us,
            };
            assert_eq!(line.to_string().parse::<AuditLine>(), Ok(line));
        }
        let good = AuditLine {
            height: 1,
            digest: [3; 32],
            root: [4; 32],
            at_ms: 5,
            latency_us: None,
        }
        .to_string();
        assert_eq!("".parse::<AuditLine>(), Err(AuditError::Bad("height")));
        assert_eq!("7".parse::<AuditLine>(), Err(AuditError::Missing("digest")));
        let short_root = good.replacen(&to_hex(&[4; 32]), "0404", 1);
        assert_eq!(
            short_root.parse::<AuditLine>(),
            Err(AuditError::Bad("root"))
        );
        assert_eq!(
            format!("{good} x").parse::<AuditLine>(),
            Err(AuditError::Trailing)
        );
        let bad_latency = good.replace(" -", " soon");
        assert_eq!(
            bad_latency.parse::<AuditLine>(),
            Err(AuditError::Bad("latency"))
        );
    }

    #[test]
    fn handoff_lines_round_trip_and_bad_ones_are_refused() {
        let lines = [
            HandoffLine::Exit {
                to: 65_536,
                seq: 3,
                height: 40,
                at_ms: 1_765_000_000_000,
            },
            HandoffLine::Entry {
                from: 1,
                seq: 0,
                height: 41,
                at_ms: 9,
                lost: 2,
            },
            HandoffLine::Refused {
                height: 7,
                at_ms: 8,
            },
            HandoffLine::Applied {
                hash: [9; 32],
                height: 7,
                at_ms: 8,
            },
        ];
        for line in lines {
            assert_eq!(line.to_string().parse::<HandoffLine>(), Ok(line));
        }
        assert_eq!("".parse::<HandoffLine>(), Err(AuditError::Bad("kind")));
        assert_eq!(
            "exit 1 2".parse::<HandoffLine>(),
            Err(AuditError::Missing("height"))
        );
        assert_eq!(
            "exit 4294967296 0 1 1".parse::<HandoffLine>(),
            Err(AuditError::Bad("zone"))
        );
        assert_eq!(
            "refused 1 2 3".parse::<HandoffLine>(),
            Err(AuditError::Trailing)
        );
    }
}
