//! The zone block as commonware consensus sees it.
//!
//! `z3r0_chain::Block` stays free of consensus and runtime crates (clients decode it too); this
//! wrapper adds the traits simplex and marshal need and caches the digest, which marshal and the
//! executor ask for often.

use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, Write};
use commonware_consensus::{Heightable, types::Height};
use commonware_cryptography::{Digestible, blake3::Digest};
use std::sync::Arc;
use z3r0_chain::{Block, MAX_BLOCK_ACTIONS, MAX_BLOCK_IMPORTS, MAX_IMPORT_BYTES, MAX_PAYLOAD};

/// Digest of a zone block: blake3 of its canonical encoding (`Block::digest`).
pub type BlockDigest = Digest;

/// Largest encoded block: the header plus the most actions with the largest payloads, and the
/// most imports of the largest size.
pub const MAX_BLOCK_BYTES: usize = 88
    + MAX_BLOCK_ACTIONS * (32 + 4 + 8 + 8 + 5 + MAX_PAYLOAD + 64)
    + 4
    + MAX_BLOCK_IMPORTS * (4 + MAX_IMPORT_BYTES);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneBlock {
    block: Arc<Block>,
    digest: Digest,
}

impl ZoneBlock {
    pub fn new(block: Block) -> Self {
        Self::from_arc(Arc::new(block))
    }

    pub fn from_arc(block: Arc<Block>) -> Self {
        let digest = Digest(block.digest());
        Self { block, digest }
    }

    pub fn block(&self) -> &Arc<Block> {
        &self.block
    }
}

impl Write for ZoneBlock {
    fn write(&self, buf: &mut impl BufMut) {
        self.block.write(buf);
    }
}

impl EncodeSize for ZoneBlock {
    fn encode_size(&self) -> usize {
        self.block.encode_size()
    }
}

impl Read for ZoneBlock {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, cfg: &()) -> Result<Self, CodecError> {
        Ok(Self::new(Block::read_cfg(buf, cfg)?))
    }
}

impl Digestible for ZoneBlock {
    type Digest = Digest;
    fn digest(&self) -> Digest {
        self.digest
    }
}

impl Heightable for ZoneBlock {
    fn height(&self) -> Height {
        Height::new(self.block.height)
    }
}

impl commonware_consensus::Block for ZoneBlock {
    fn parent(&self) -> Digest {
        Digest(self.block.parent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::Encode as _;
    use commonware_consensus::Block as _;
    use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
    use z3r0_chain::Action;

    #[test]
    fn round_trips_and_digest_matches_the_chain_block() {
        let key = PrivateKey::from_seed(9);
        let block = Block {
            parent: [3; 32],
            height: 5,
            tick: 9,
            zone: 1,
            parent_state_root: [4; 32],
            actions: vec![
                Action {
                    player: key.public_key(),
                    zone: 1,
                    tick: 9,
                    nonce: 0,
                    payload: vec![0xab; MAX_PAYLOAD].into(),
                }
                .sign(&key, &z3r0_chain::ChainId::default()),
            ],
            imports: Vec::new(),
        };
        let wrapped = ZoneBlock::new(block.clone());
        let bytes = wrapped.encode();
        assert!(bytes.len() <= 88 + (32 + 4 + 8 + 8 + 5 + MAX_PAYLOAD + 64) + 4);
        let back: ZoneBlock =
            commonware_codec::Decode::decode_cfg(commonware_codec::Copying(&bytes[..]), &())
                .unwrap();
        assert_eq!(back, wrapped);
        assert_eq!(back.digest().0, block.digest());
        assert_eq!(back.height(), Height::new(5));
        assert_eq!(back.parent(), Digest([3; 32]));
    }
}
