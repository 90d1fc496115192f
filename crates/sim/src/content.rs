//! Game content on chain: a publisher key named in the genesis publishes a content manifest
//! (`z3r0_content::Manifest`, canonical bytes) in parts, with the tick it activates at. The
//! parts, the complete manifest waiting for its tick, and the active one are records, so the
//! state root commits to them; at the activation tick every validator switches its block rules
//! alike. A manifest may add blocks but never change what a block already means
//! (`z3r0_voxel::BlockRules::extends`), so nothing in the world changes meaning.

use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};
use z3r0_ecs::{Component, Hash};

pub use z3r0_content::canon::DEFAULT_MANIFEST;

/// Manifest bytes one `PublishContent` action carries (every part but the last is full).
pub const PART_BYTES: usize = 192;
/// Most parts one manifest may have: 384 KiB of manifest.
pub const MAX_PARTS: u16 = 2_048;
/// Most manifest bytes a publication may carry.
pub const MAX_PUBLISHED_BYTES: usize = PART_BYTES * MAX_PARTS as usize;
/// Furthest ahead an activation may be announced: a day of 50 ms ticks.
pub const MAX_NOTICE_TICKS: u64 = 24 * 60 * 60 * 20;

/// One part of a manifest being published (the payload of `Action::PublishContent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentPart {
    /// The manifest hash: blake3 of the whole manifest's bytes.
    pub manifest: Hash,
    /// The tick whose rules are the new manifest's.
    pub activate_at: u64,
    /// This part's number, below `parts`.
    pub index: u16,
    /// How many parts the manifest has, 1 to [`MAX_PARTS`].
    pub parts: u16,
    /// [`PART_BYTES`] of the manifest (the last part: 1 to [`PART_BYTES`]).
    pub bytes: Vec<u8>,
}

impl ContentPart {
    /// The parts of `manifest` (its canonical bytes), to activate at `activate_at`; `None` if
    /// it has more than [`MAX_PUBLISHED_BYTES`] or none.
    pub fn split(manifest: &[u8], activate_at: u64) -> Option<Vec<ContentPart>> {
        if manifest.is_empty() || manifest.len() > MAX_PUBLISHED_BYTES {
            return None;
        }
        let hash = *blake3::hash(manifest).as_bytes();
        let parts = manifest.len().div_ceil(PART_BYTES) as u16;
        Some(
            manifest
                .chunks(PART_BYTES)
                .zip(0u16..)
                .map(|(bytes, index)| ContentPart {
                    manifest: hash,
                    activate_at,
                    index,
                    parts,
                    bytes: bytes.to_vec(),
                })
                .collect(),
        )
    }

    /// Whether the part's length fits its place: full unless it is the last.
    pub fn well_sized(&self) -> bool {
        let last = self.index + 1 == self.parts;
        if last {
            (1..=PART_BYTES).contains(&self.bytes.len())
        } else {
            self.bytes.len() == PART_BYTES
        }
    }

    pub(crate) fn write(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.manifest);
        buf.put_u64(self.activate_at);
        buf.put_u16(self.index);
        buf.put_u16(self.parts);
        // At most PART_BYTES (< 256), checked when read.
        buf.put_u8(self.bytes.len() as u8);
        buf.put_slice(&self.bytes);
    }

    pub(crate) fn encode_size(&self) -> usize {
        32 + 8 + 2 + 2 + 1 + self.bytes.len()
    }

    pub(crate) fn read(buf: &mut impl Buf) -> Result<Self, CodecError> {
        let manifest = <[u8; 32]>::read(buf)?;
        let activate_at = u64::read(buf)?;
        let index = u16::read(buf)?;
        let parts = u16::read(buf)?;
        let len = usize::from(u8::read(buf)?);
        if !(1..=MAX_PARTS).contains(&parts) || index >= parts {
            return Err(CodecError::Invalid(
                "ContentPart",
                "part number out of range",
            ));
        }
        if len > PART_BYTES || buf.remaining() < len {
            return Err(CodecError::Invalid("ContentPart", "length"));
        }
        let mut bytes = vec![0u8; len];
        buf.copy_to_slice(&mut bytes);
        let part = ContentPart {
            manifest,
            activate_at,
            index,
            parts,
            bytes,
        };
        if !part.well_sized() {
            return Err(CodecError::Invalid(
                "ContentPart",
                "only the last part is short",
            ));
        }
        Ok(part)
    }
}

/// The publication in progress (one entity at most): the parts received so far are
/// [`ManifestPart`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Publication {
    pub manifest: Hash,
    pub activate_at: u64,
    pub parts: u16,
    /// Parts received: the next one must be this number.
    pub received: u16,
}

impl Write for Publication {
    fn write(&self, buf: &mut impl BufMut) {
        self.manifest.write(buf);
        self.activate_at.write(buf);
        self.parts.write(buf);
        self.received.write(buf);
    }
}

impl EncodeSize for Publication {
    fn encode_size(&self) -> usize {
        32 + 8 + 2 + 2
    }
}

impl Read for Publication {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let p = Publication {
            manifest: <[u8; 32]>::read(buf)?,
            activate_at: u64::read(buf)?,
            parts: u16::read(buf)?,
            received: u16::read(buf)?,
        };
        if !(1..=MAX_PARTS).contains(&p.parts) || p.received >= p.parts {
            return Err(CodecError::Invalid("Publication", "part count"));
        }
        Ok(p)
    }
}

impl Component for Publication {
    const TABLE: u16 = 19;
    const NAME: &'static str = "publication";
}

/// One received part of the publication in progress.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManifestPart {
    pub index: u16,
    pub bytes: Vec<u8>,
}

impl Write for ManifestPart {
    fn write(&self, buf: &mut impl BufMut) {
        self.index.write(buf);
        write_bytes(&self.bytes, buf);
    }
}

impl EncodeSize for ManifestPart {
    fn encode_size(&self) -> usize {
        2 + 4 + self.bytes.len()
    }
}

impl Read for ManifestPart {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(ManifestPart {
            index: u16::read(buf)?,
            bytes: read_bytes(buf, PART_BYTES, "ManifestPart")?,
        })
    }
}

impl Component for ManifestPart {
    const TABLE: u16 = 20;
    const NAME: &'static str = "manifest_part";
}

/// A complete published manifest: waiting for its tick, or the active one. Its bytes are a
/// [`ManifestBytes`] record on the same entity, so a client can be shown this small record's
/// proof and fetch the bytes by their hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublishedContent {
    /// The manifest hash: blake3 of its bytes.
    pub manifest: Hash,
    pub activate_at: u64,
}

impl Write for PublishedContent {
    fn write(&self, buf: &mut impl BufMut) {
        self.manifest.write(buf);
        self.activate_at.write(buf);
    }
}

impl EncodeSize for PublishedContent {
    fn encode_size(&self) -> usize {
        32 + 8
    }
}

impl Read for PublishedContent {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(PublishedContent {
            manifest: <[u8; 32]>::read(buf)?,
            activate_at: u64::read(buf)?,
        })
    }
}

impl Component for PublishedContent {
    const TABLE: u16 = 21;
    const NAME: &'static str = "content";
}

/// A published manifest's canonical bytes (their blake3 hash is its [`PublishedContent`]'s).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManifestBytes {
    pub bytes: Vec<u8>,
}

impl Write for ManifestBytes {
    fn write(&self, buf: &mut impl BufMut) {
        write_bytes(&self.bytes, buf);
    }
}

impl EncodeSize for ManifestBytes {
    fn encode_size(&self) -> usize {
        4 + self.bytes.len()
    }
}

impl Read for ManifestBytes {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(ManifestBytes {
            bytes: read_bytes(buf, MAX_PUBLISHED_BYTES, "ManifestBytes")?,
        })
    }
}

impl Component for ManifestBytes {
    const TABLE: u16 = 22;
    const NAME: &'static str = "manifest_bytes";
}

fn write_bytes(bytes: &[u8], buf: &mut impl BufMut) {
    // Bounded by the record's maximum, far below u32::MAX.
    buf.put_u32(bytes.len() as u32);
    buf.put_slice(bytes);
}

fn read_bytes(buf: &mut impl Buf, max: usize, what: &'static str) -> Result<Vec<u8>, CodecError> {
    let len = u32::read(buf)? as usize;
    if len > max || buf.remaining() < len {
        return Err(CodecError::Invalid(what, "length"));
    }
    let mut bytes = vec![0u8; len];
    buf.copy_to_slice(&mut bytes);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_splits_into_full_parts_and_a_last_short_one() {
        let manifest = vec![7u8; PART_BYTES * 2 + 5];
        let parts = ContentPart::split(&manifest, 9).unwrap();
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(ContentPart::well_sized));
        assert_eq!(parts[2].bytes.len(), 5);
        let action = crate::Action::PublishContent(parts[1].clone());
        let bytes = action.encode_to_vec();
        assert!(bytes.len() <= z3r0_chain::MAX_PAYLOAD);
        assert_eq!(crate::Action::decode(&bytes).unwrap(), action);
        assert!(ContentPart::split(&[], 9).is_none());
        assert!(ContentPart::split(&vec![0; MAX_PUBLISHED_BYTES + 1], 9).is_none());
    }

    #[test]
    fn a_short_part_that_is_not_the_last_is_refused() {
        let mut part = ContentPart::split(&[1u8; PART_BYTES * 2], 9)
            .unwrap()
            .remove(0);
        part.bytes.pop();
        let bytes = crate::Action::PublishContent(part).encode_to_vec();
        assert!(crate::Action::decode(&bytes).is_err());
    }
}
