//! The audit log a validator appends to (`finalized.log` in its storage directory), one line per
//! finalized block: `height digest root at_ms latency_us`, hex for the hashes, `at_ms` when the
//! node executed it (Unix milliseconds), `latency_us` its finality latency there or `-` for a
//! block it replayed or backfilled. The node writes it and the devnet reads it with this one
//! type, so the format lives in one place.

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
    #[error("audit line: more than five fields")]
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
}
