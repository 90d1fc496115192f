//! Blocks: one per game tick, carrying that tick's ordered actions.
//!
//! The state root is deferred by one block: block `h` commits to the root that executing blocks
//! up to `h - 1` produced. A proposer can then build block `h` as soon as `h - 1` is finalized and
//! executed, without executing its own block first; every validator checks the root when it
//! executes the parent.
// Values here come from actions, blocks, gossip, checkpoints or the genesis: arithmetic and
// indexing are checked, and each allowance states the bound that holds.
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use crate::action::SignedAction;
use crate::machine::Hash;
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};

/// Most actions one block may carry.
pub const MAX_BLOCK_ACTIONS: usize = 8_192;
/// Most imports (records of other zones' finalized state) one block may carry: each costs a
/// certificate check.
pub const MAX_BLOCK_IMPORTS: usize = 32;
/// Most bytes of one import.
pub const MAX_IMPORT_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub parent: Hash,
    pub height: u64,
    pub tick: u64,
    pub zone: u32,
    /// State root after executing every block up to the parent.
    pub parent_state_root: Hash,
    pub actions: Vec<SignedAction>,
    /// Records of neighbouring zones' finalized state, each with its proof (opaque to the
    /// chain; the state machine checks and applies them before the actions).
    pub imports: Vec<Vec<u8>>,
}

/// Why a block does not follow its parent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("block parent {got:02x?} is not the expected {expected:02x?}")]
    WrongParent { expected: Hash, got: Hash },
    #[error("block height {got} should be {expected}")]
    WrongHeight { expected: u64, got: u64 },
    #[error("block tick {tick} does not follow parent tick {parent}")]
    TickNotAfterParent { tick: u64, parent: u64 },
    #[error("block is for zone {got}, this chain is zone {expected}")]
    WrongZone { expected: u32, got: u32 },
    #[error(
        "state root mismatch at height {height}: block says {claimed:02x?}, we computed {computed:02x?}"
    )]
    StateRoot {
        height: u64,
        claimed: Hash,
        computed: Hash,
    },
}

impl Block {
    pub fn genesis(zone: u32, state_root: Hash) -> Self {
        Block {
            parent: [0; 32],
            height: 0,
            tick: 0,
            zone,
            parent_state_root: state_root,
            actions: Vec::new(),
            imports: Vec::new(),
        }
    }

    /// The block's identity: a hash over its header, which commits to the actions through
    /// [`Block::actions_hash`]. A light client checks a header (and the state root in it)
    /// against a finality certificate without downloading the actions.
    pub fn digest(&self) -> Hash {
        header_digest(
            &self.parent,
            self.height,
            self.tick,
            self.zone,
            &self.parent_state_root,
            &self.actions_hash(),
        )
    }

    /// The nonce of the action at `index` in this block (receipts name actions by place).
    pub fn nonce_at(&self, index: u32) -> Option<u64> {
        let action = self.actions.get(usize::try_from(index).ok()?)?;
        Some(action.action.nonce)
    }

    /// The body hash the header commits to: the hash of the actions' canonical encoding, and of
    /// the imports too when there are any (a block without imports hashes as it always did).
    pub fn actions_hash(&self) -> Hash {
        let actions = self.hash_of_actions();
        if self.imports.is_empty() {
            return actions;
        }
        let mut h = blake3::Hasher::new();
        h.update(b"z3r0/body/v1");
        h.update(&actions);
        h.update(&(self.imports.len() as u32).to_be_bytes());
        for import in &self.imports {
            h.update(&(import.len() as u32).to_be_bytes());
            h.update(import);
        }
        *h.finalize().as_bytes()
    }

    /// blake3 of the actions' canonical encoding (count, then each signed action).
    fn hash_of_actions(&self) -> Hash {
        let mut h = blake3::Hasher::new();
        h.update(&(self.actions.len() as u32).to_be_bytes());
        let mut scratch = Vec::new();
        for a in &self.actions {
            scratch.clear();
            a.write(&mut scratch);
            h.update(&scratch);
        }
        *h.finalize().as_bytes()
    }

    pub fn encode_to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encode_size());
        self.write(&mut out);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        commonware_codec::Decode::decode_cfg(commonware_codec::Copying(bytes), &())
    }

    /// Structure relative to the parent: digest, height, tick order, zone. (Actions are checked
    /// with [`crate::check_block_actions`], the root when the parent executes.)
    pub fn check_follows(&self, parent: &Block) -> Result<(), BlockError> {
        let expected = parent.digest();
        if self.parent != expected {
            return Err(BlockError::WrongParent {
                expected,
                got: self.parent,
            });
        }
        // A parent at the last height has no child: nothing can be expected of one.
        match parent.height.checked_add(1) {
            Some(expected) if self.height == expected => {}
            expected => {
                return Err(BlockError::WrongHeight {
                    expected: expected.unwrap_or(u64::MAX),
                    got: self.height,
                });
            }
        }
        if self.tick <= parent.tick {
            return Err(BlockError::TickNotAfterParent {
                tick: self.tick,
                parent: parent.tick,
            });
        }
        if self.zone != parent.zone {
            return Err(BlockError::WrongZone {
                expected: parent.zone,
                got: self.zone,
            });
        }
        Ok(())
    }
}

/// Domain of block digests.
const BLOCK_DIGEST_DOMAIN: &[u8] = b"z3r0/block/v1";

/// The digest of a block with these header fields (see [`Block::digest`]).
pub fn header_digest(
    parent: &Hash,
    height: u64,
    tick: u64,
    zone: u32,
    parent_state_root: &Hash,
    actions_hash: &Hash,
) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(BLOCK_DIGEST_DOMAIN);
    h.update(parent);
    h.update(&height.to_be_bytes());
    h.update(&tick.to_be_bytes());
    h.update(&zone.to_be_bytes());
    h.update(parent_state_root);
    h.update(actions_hash);
    *h.finalize().as_bytes()
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.parent);
        buf.put_u64(self.height);
        buf.put_u64(self.tick);
        buf.put_u32(self.zone);
        buf.put_slice(&self.parent_state_root);
        buf.put_u32(self.actions.len() as u32);
        for a in &self.actions {
            a.write(buf);
        }
        buf.put_u32(self.imports.len() as u32);
        for import in &self.imports {
            buf.put_u32(import.len() as u32);
            buf.put_slice(import);
        }
    }
}

impl EncodeSize for Block {
    // Bound: fixed header fields and the sizes of in-memory actions, far below `usize::MAX`.
    #[allow(clippy::arithmetic_side_effects)]
    fn encode_size(&self) -> usize {
        32 + 8
            + 8
            + 4
            + 32
            + 4
            + self
                .actions
                .iter()
                .map(EncodeSize::encode_size)
                .sum::<usize>()
            + 4
            + self.imports.iter().map(|i| 4 + i.len()).sum::<usize>()
    }
}

impl Read for Block {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let parent = <[u8; 32]>::read(buf)?;
        let height = u64::read(buf)?;
        let tick = u64::read(buf)?;
        let zone = u32::read(buf)?;
        let parent_state_root = <[u8; 32]>::read(buf)?;
        let count = u32::read(buf)? as usize;
        if count > MAX_BLOCK_ACTIONS {
            return Err(CodecError::InvalidLength(count));
        }
        let mut actions = Vec::with_capacity(count.min(buf.remaining() / 64));
        for _ in 0..count {
            actions.push(SignedAction::read(buf)?);
        }
        let count = u32::read(buf)? as usize;
        if count > MAX_BLOCK_IMPORTS {
            return Err(CodecError::InvalidLength(count));
        }
        let mut imports = Vec::with_capacity(count);
        for _ in 0..count {
            let len = u32::read(buf)? as usize;
            if len > MAX_IMPORT_BYTES || len > buf.remaining() {
                return Err(CodecError::InvalidLength(len));
            }
            let mut import = vec![0; len];
            buf.copy_to_slice(&mut import);
            imports.push(import);
        }
        Ok(Block {
            parent,
            height,
            tick,
            zone,
            parent_state_root,
            actions,
            imports,
        })
    }
}
