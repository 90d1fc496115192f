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
#[derive(Debug, Clone)]
pub struct Committee {
    keys: Vec<PublicKey>,
    finalize_namespace: Vec<u8>,
    /// Certificates already verified, shared by the copies of this committee.
    verified: std::sync::Arc<std::sync::Mutex<Verified>>,
}

/// Whether two committees are the same is a matter of keys and chain, not of what each has
/// verified.
impl PartialEq for Committee {
    fn eq(&self, other: &Self) -> bool {
        self.keys == other.keys && self.finalize_namespace == other.finalize_namespace
    }
}
impl Eq for Committee {}

/// Most certificates a committee remembers as verified.
pub const VERIFIED_MEMORY: usize = 4_096;

/// Certificates that verified, by the hash of their subject and signatures, the oldest
/// forgotten first. An import is checked when offered to the pool, at block verification and
/// at every execution, and a leader may fill blocks with stale but genuine ones: a certificate
/// met again costs a hash, not a quorum of signature checks. Only certificates that verified
/// are kept, so a hit answers as verifying again would (the keys and namespace are the
/// committee's own, fixed); a forged one is checked in full every time.
#[derive(Debug, Default)]
struct Verified {
    known: std::collections::BTreeSet<Hash>,
    order: std::collections::VecDeque<Hash>,
    hits: u64,
}

impl Verified {
    fn insert(&mut self, key: Hash) {
        if self.known.insert(key) {
            self.order.push_back(key);
        }
        while self.order.len() > VERIFIED_MEMORY {
            if let Some(old) = self.order.pop_front() {
                self.known.remove(&old);
            }
        }
    }
}

/// What identifies a certificate: its subject and its signatures.
fn certificate_key(proof: &FinalityProof) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(b"z3r0/finality/certificate");
    h.update(&(proof.proposal.len() as u64).to_le_bytes());
    h.update(&proof.proposal);
    for (index, signature) in &proof.signatures {
        h.update(&index.to_le_bytes());
        h.update(signature);
    }
    *h.finalize().as_bytes()
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
            verified: Default::default(),
        })
    }

    /// Certificates met again and answered from memory, not by checking signatures.
    pub fn verified_hits(&self) -> u64 {
        self.memory().hits
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Verified> {
        self.verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
    /// count, indexes), then a certificate verified before is taken as it was, then each
    /// signature; the cost is bounded by the committee's size.
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
        let certificate = certificate_key(proof);
        {
            let mut memory = self.memory();
            if memory.known.contains(&certificate) {
                memory.hits += 1;
                return Ok(());
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
        self.memory().insert(certificate);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::Encode as _;
    use commonware_cryptography::{Signer as _, ed25519::PrivateKey};

    fn signed(committee: &Committee, keys: &[PrivateKey], digest: &Hash) -> FinalityProof {
        let mut proposal = b"proposal".to_vec();
        proposal.extend_from_slice(digest);
        let signatures = (0..committee.quorum())
            .map(|i| {
                let key = keys
                    .iter()
                    .find(|k| k.public_key() == committee.keys()[i])
                    .unwrap();
                let sig = key.sign(committee.finalize_namespace(), &proposal);
                (i as u16, sig.encode().as_ref().try_into().unwrap())
            })
            .collect();
        FinalityProof {
            proposal,
            signatures,
        }
    }

    #[test]
    fn a_certificate_met_again_is_answered_from_memory_and_a_forged_one_never_is() {
        let keys: Vec<PrivateKey> = (0..4).map(PrivateKey::from_seed).collect();
        let committee = Committee::new(
            ChainId([7; 32]),
            keys.iter().map(|k| k.public_key()).collect(),
        )
        .unwrap();
        let digest = [9u8; 32];
        let proof = signed(&committee, &keys, &digest);
        committee.verify(&digest, &proof).unwrap();
        assert_eq!(committee.verified_hits(), 0);
        // A copy (a speculative executor's) shares the memory.
        let copy = committee.clone();
        copy.verify(&digest, &proof).unwrap();
        assert_eq!(committee.verified_hits(), 1);
        // The cheap checks still come first: the same certificate for another block fails.
        assert_eq!(
            committee.verify(&[8; 32], &proof),
            Err(FinalityError::OtherBlock)
        );
        // One flipped signature byte: a different certificate, checked in full, every time.
        let mut forged = proof.clone();
        forged.signatures[0].1[5] ^= 1;
        for _ in 0..2 {
            assert_eq!(
                committee.verify(&digest, &forged),
                Err(FinalityError::Invalid(0))
            );
        }
        assert_eq!(committee.verified_hits(), 1);
        // The memory is bounded: the oldest certificates are forgotten first.
        for n in 0..VERIFIED_MEMORY as u64 {
            committee
                .memory()
                .insert(*blake3::hash(&n.to_le_bytes()).as_bytes());
        }
        assert_eq!(committee.memory().known.len(), VERIFIED_MEMORY);
        committee.verify(&digest, &proof).unwrap();
        assert_eq!(committee.verified_hits(), 1, "forgotten, so checked again");
    }
}
