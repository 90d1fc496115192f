//! What a light client, or another zone, needs to check that a block is final without the
//! consensus crates: the committee's finalize certificate over the block digest.
//!
//! A block is final when a quorum of the committee (n − ⌊(n − 1)/3⌋ of n) signed simplex's
//! finalize subject for it: the encoded proposal, whose last 32 bytes are the block digest,
//! under the namespace `chain.namespace(CONSENSUS_NAMESPACE) ‖ "_FINALIZE"` (votes are bound to
//! one genesis).

use crate::{CONSENSUS_NAMESPACE, ChainId, Hash};
use commonware_codec::DecodeExt as _;
use commonware_cryptography::Verifier as _;
use commonware_cryptography::ed25519::{PublicKey, Signature};

/// The finality of a block as the committee signed it: the simplex finalize subject (the
/// encoded proposal, ending with the block digest) and the signatures of at least a quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalityProof {
    pub proposal: Vec<u8>,
    /// (index of the validator in the genesis committee, its signature).
    pub signatures: Vec<(u16, [u8; 64])>,
}

/// Why a certificate does not show a block final.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FinalityError {
    #[error("an empty committee certifies nothing")]
    EmptyCommittee,
    #[error("the certificate is for another block")]
    OtherBlock,
    #[error("signer {0} is not in the committee")]
    NotAMember(usize),
    #[error("signer {0} signed twice")]
    SignedTwice(usize),
    #[error("signature of validator {0} is malformed")]
    Malformed(usize),
    #[error("signature of validator {0} is invalid")]
    Invalid(usize),
    #[error("{got} signatures, a quorum is {quorum}")]
    NoQuorum { got: usize, quorum: usize },
    #[error("{0} signatures: more than the committee has")]
    TooMany(usize),
}

/// A zone's committee as its genesis names it, for checking its certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committee {
    keys: Vec<PublicKey>,
    finalize_namespace: Vec<u8>,
}

impl Committee {
    /// The committee of `keys` (in any order; consensus orders them) for `chain`.
    pub fn new(chain: ChainId, mut keys: Vec<PublicKey>) -> Result<Self, FinalityError> {
        keys.sort();
        keys.dedup();
        if keys.is_empty() {
            return Err(FinalityError::EmptyCommittee);
        }
        let mut finalize_namespace = chain.namespace(CONSENSUS_NAMESPACE);
        finalize_namespace.extend_from_slice(b"_FINALIZE");
        Ok(Self {
            keys,
            finalize_namespace,
        })
    }

    /// The keys in consensus order (sorted): a signer's index is its place here.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// The namespace finalize votes are signed under (for signing test certificates).
    pub fn finalize_namespace(&self) -> &[u8] {
        &self.finalize_namespace
    }

    /// Signatures needed for a certificate.
    pub fn quorum(&self) -> usize {
        let n = self.keys.len();
        n.saturating_sub(n.saturating_sub(1) / 3)
    }

    /// Checks that `proof` finalizes the block with `digest`: cheapest checks first (subject,
    /// count, indexes), then each signature; the cost is bounded by the committee's size.
    pub fn verify(&self, digest: &Hash, proof: &FinalityProof) -> Result<(), FinalityError> {
        if !proof.proposal.ends_with(digest) {
            return Err(FinalityError::OtherBlock);
        }
        if proof.signatures.len() > self.keys.len() {
            return Err(FinalityError::TooMany(proof.signatures.len()));
        }
        if proof.signatures.len() < self.quorum() {
            return Err(FinalityError::NoQuorum {
                got: proof.signatures.len(),
                quorum: self.quorum(),
            });
        }
        let mut seen = vec![false; self.keys.len()];
        for (index, _) in &proof.signatures {
            let i = usize::from(*index);
            let slot = seen.get_mut(i).ok_or(FinalityError::NotAMember(i))?;
            if std::mem::replace(slot, true) {
                return Err(FinalityError::SignedTwice(i));
            }
        }
        for (index, signature) in &proof.signatures {
            let i = usize::from(*index);
            let key = self.keys.get(i).ok_or(FinalityError::NotAMember(i))?;
            let sig = Signature::decode(commonware_codec::Copying(&signature[..]))
                .map_err(|_| FinalityError::Malformed(i))?;
            if !key.verify(&self.finalize_namespace, &proof.proposal, &sig) {
                return Err(FinalityError::Invalid(i));
            }
        }
        Ok(())
    }
}
