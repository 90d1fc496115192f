//! The light client: checks a finalized header against the zone's committee from genesis, and
//! chunks against the roots such a header commits to. Needs no consensus or runtime crates.
//!
//! A header is final when a quorum of the committee (n − ⌊(n − 1)/3⌋ of n) signed simplex's
//! finalize subject for it: the encoded proposal, whose last 32 bytes are the block digest,
//! under the namespace `CONSENSUS_NAMESPACE ‖ "_FINALIZE"`. The digest is recomputed from the
//! header's fields, and the header's two roots must combine into its parent state root.

use commonware_codec::DecodeExt as _;
use commonware_cryptography::Verifier as _;
use commonware_cryptography::ed25519::{PublicKey, Signature};
use z3r0_voxel::{Chunk, ChunkProof, Hash};

use crate::NetError;
use crate::proto::{ChunkData, Header};

/// The committee a light client trusts, in consensus order (sorted keys).
#[derive(Debug, Clone)]
pub struct Committee {
    keys: Vec<PublicKey>,
    finalize_namespace: Vec<u8>,
}

impl Committee {
    pub fn new(mut keys: Vec<PublicKey>) -> Self {
        keys.sort();
        keys.dedup();
        let mut finalize_namespace = z3r0_chain::CONSENSUS_NAMESPACE.to_vec();
        finalize_namespace.extend_from_slice(b"_FINALIZE");
        Self {
            keys,
            finalize_namespace,
        }
    }

    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Signatures needed for a certificate.
    pub fn quorum(&self) -> usize {
        let n = self.keys.len();
        n - n.saturating_sub(1) / 3
    }

    /// The block digest the header describes.
    pub fn digest(header: &Header) -> Hash {
        z3r0_chain::header_digest(
            &header.parent,
            header.height,
            header.tick,
            header.zone,
            &header.parent_state_root,
            &header.actions_hash,
        )
    }

    /// Checks the header's internal consistency and its finality certificate.
    pub fn verify_header(&self, header: &Header) -> Result<Hash, NetError> {
        let fail = |why: String| Err(NetError::Verify(why));
        if z3r0_ecs::state_root(&header.parent_records_root, &header.parent_chunk_root)
            != header.parent_state_root
        {
            return fail(format!(
                "header {}: records and chunk roots do not make its state root",
                header.height
            ));
        }
        let digest = Self::digest(header);
        let Some(finality) = &header.finality else {
            return fail(format!(
                "header {} carries no finality proof",
                header.height
            ));
        };
        if !finality.proposal.ends_with(&digest) {
            return fail(format!(
                "header {}: the certificate is for another block",
                header.height
            ));
        }
        let mut seen = vec![false; self.keys.len()];
        let mut valid = 0;
        for (index, signature) in &finality.signatures {
            let i = usize::from(*index);
            let Some(key) = self.keys.get(i) else {
                return fail(format!("signer {i} is not in the committee"));
            };
            if std::mem::replace(&mut seen[i], true) {
                return fail(format!("signer {i} signed twice"));
            }
            let sig = Signature::decode(commonware_codec::Copying(&signature[..]))
                .map_err(|e| NetError::Verify(format!("signature {i}: {e}")))?;
            if !key.verify(&self.finalize_namespace, &finality.proposal, &sig) {
                return fail(format!(
                    "header {}: signature of validator {i} is invalid",
                    header.height
                ));
            }
            valid += 1;
        }
        if valid < self.quorum() {
            return fail(format!(
                "header {}: {valid} signatures, a quorum is {}",
                header.height,
                self.quorum()
            ));
        }
        Ok(digest)
    }
}

/// Checks `data` against the chunk root committed by `header` (the header of block
/// `data.height + 1`, whose parent state is the one the chunk was proven in) and decodes it.
pub fn verify_chunk(header: &Header, data: &ChunkData) -> Result<Chunk, NetError> {
    if header.height != data.height + 1 {
        return Err(NetError::Verify(format!(
            "chunk proven at height {} needs the header of {}, got {}",
            data.height,
            data.height + 1,
            header.height
        )));
    }
    let chunk = Chunk::decode_bytes(&data.chunk)
        .map_err(|e| NetError::Verify(format!("chunk {:?}: {e}", data.pos)))?;
    let proof = ChunkProof::decode(commonware_codec::Copying(&data.proof[..]))
        .map_err(|e| NetError::Verify(format!("chunk proof {:?}: {e}", data.pos)))?;
    if proof.pos != data.pos {
        return Err(NetError::Verify(format!(
            "proof is for {:?}, chunk is {:?}",
            proof.pos, data.pos
        )));
    }
    proof
        .verify(&header.parent_chunk_root, &chunk)
        .map_err(|e| {
            NetError::Verify(format!("chunk {:?} does not match the root: {e}", data.pos))
        })?;
    Ok(chunk)
}
