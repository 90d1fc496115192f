//! What a light client needs to check that a block is final, without the consensus crates.

/// The finality of a block as the committee signed it: the simplex finalize subject (the
/// encoded proposal, ending with the block digest) and the signatures of at least a quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalityProof {
    pub proposal: Vec<u8>,
    /// (index of the validator in the genesis committee, its signature).
    pub signatures: Vec<(u16, [u8; 64])>,
}
