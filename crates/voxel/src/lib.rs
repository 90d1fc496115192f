//! The Z3R0 voxel world core.
//!
//! - [`Chunk`]: 32×32×32 voxels, uniform or palette + bit-packed indices, with a canonical
//!   encoding (commonware-codec) whose decoder rejects every malformed or non-canonical input.
//! - [`World`]: loaded chunks in a fixed-capacity pool, canonical order, dirty tracking, and an
//!   incrementally updated Merkle root over chunk hashes with per-chunk proofs.
//! - [`WorldGen`]: seeded, integer-only terrain (validators on every platform agree).
//! - [`Mesher`]: binary greedy meshing into 8-byte [`Quad`]s with culling across chunk borders.
//!
//! This crate is on the consensus path: no floats, no hash-map iteration order, no clocks.

pub mod block;
pub mod chunk;
pub mod commit;
pub mod mesh;
pub mod pos;
pub mod world;
pub mod worldgen;

pub use block::{
    BlockId, BlockIdTooLarge, BlockInfo, BlockRules, MAX_BLOCK_IDS, Opacities, Opacity,
    RulesChange, block_info, blocks,
};
pub use chunk::{Chunk, ChunkDecodeError};
pub use commit::{
    AbsenceProof, ChunkProof, Hash, MerkleProof, ProofError, SparseMerkleTree, chunk_key,
};
pub use mesh::{ChunkMesh, Mesher, Neighborhood, Quad};
pub use pos::{CHUNK_SIZE, CHUNK_VOLUME, ChunkPos, Face, LocalPos, VoxelPos, voxel_index};
pub use world::{World, WorldError};
pub use worldgen::{ColumnHeights, WorldGen};
