//! The light client: checks a finalized header against the zone's committee from genesis, and
//! chunks against the roots such a header commits to. Needs no consensus or runtime crates.
//!
//! A header is final when a quorum of the committee signed simplex's finalize subject for it
//! (see [`z3r0_chain::finality`]; other zones check handoffs the same way). The digest is
//! recomputed from the header's fields, and the header's two roots must combine into its parent
//! state root.

use commonware_codec::DecodeExt as _;
use commonware_cryptography::ed25519::PublicKey;
use z3r0_voxel::{AbsenceProof, Chunk, ChunkPos, ChunkProof, Hash, MerkleProof};

use crate::NetError;
use crate::proto::{ChunkData, ChunkEdit, ClaimEntry, Header};

/// The committee a light client trusts, in consensus order (sorted keys): the chain's
/// certificate check ([`z3r0_chain::Committee`]) applied to headers.
#[derive(Debug, Clone)]
pub struct Committee {
    inner: z3r0_chain::Committee,
}

impl Committee {
    /// The committee of `keys` for `chain` (its votes are signed for that chain); an empty
    /// one is refused (its quorum would be zero).
    pub fn new(chain: z3r0_chain::ChainId, keys: Vec<PublicKey>) -> Result<Self, NetError> {
        let inner =
            z3r0_chain::Committee::new(chain, keys).map_err(|e| NetError::Verify(e.to_string()))?;
        Ok(Self { inner })
    }

    pub fn keys(&self) -> &[PublicKey] {
        self.inner.keys()
    }

    /// Signatures needed for a certificate.
    pub fn quorum(&self) -> usize {
        self.inner.quorum()
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
        self.inner
            .verify(&digest, finality)
            .map_err(|e| NetError::Verify(format!("header {}: {e}", header.height)))?;
        Ok(digest)
    }
}

/// Checks that `chunk` at `pos`, proven by `proof` at state `height`, matches the chunk root
/// committed by `header` (the header of block `height + 1`, whose parent state is that one).
fn check_proof(
    header: &Header,
    height: u64,
    pos: ChunkPos,
    proof: &[u8],
    chunk: &Chunk,
) -> Result<(), NetError> {
    if height.checked_add(1) != Some(header.height) {
        return Err(NetError::Verify(format!(
            "chunk proven at height {height} needs the header of {}, got {}",
            height.saturating_add(1),
            header.height
        )));
    }
    let proof = ChunkProof::decode(commonware_codec::Copying(proof))
        .map_err(|e| NetError::Verify(format!("chunk proof {pos:?}: {e}")))?;
    if proof.pos != pos {
        return Err(NetError::Verify(format!(
            "proof is for {:?}, chunk is {pos:?}",
            proof.pos
        )));
    }
    proof
        .verify(&header.parent_chunk_root, chunk)
        .map_err(|e| NetError::Verify(format!("chunk {pos:?} does not match the root: {e}")))
}

/// Checks `data` against the chunk root committed by `header` (the header of block
/// `data.height + 1`, whose parent state is the one the chunk was proven in) and decodes it.
pub fn verify_chunk(header: &Header, data: &ChunkData) -> Result<Chunk, NetError> {
    let chunk = Chunk::decode_bytes(&data.chunk)
        .map_err(|e| NetError::Verify(format!("chunk {:?}: {e}", data.pos)))?;
    check_proof(header, data.height, data.pos, &data.proof, &chunk)?;
    Ok(chunk)
}

/// Applies a chunk edit to the held copy `base` (its canonical encoding) and checks the result
/// against the header committing the chunk root after block `edit.height`. Returns the new
/// chunk and its canonical encoding.
pub fn apply_chunk_edit(
    header: &Header,
    edit: &ChunkEdit,
    base: &[u8],
) -> Result<(Chunk, Vec<u8>), NetError> {
    if *blake3::hash(base).as_bytes() != edit.base {
        return Err(NetError::Verify(format!(
            "chunk edit {:?} is for another version than the one held",
            edit.pos
        )));
    }
    let mut chunk = Chunk::decode_bytes(base)
        .map_err(|e| NetError::Verify(format!("held chunk {:?}: {e}", edit.pos)))?;
    for &(index, block) in &edit.voxels {
        if usize::from(index) >= z3r0_voxel::CHUNK_VOLUME {
            return Err(NetError::Verify("voxel index out of the chunk".into()));
        }
        chunk.set_index(usize::from(index), block);
    }
    check_proof(header, edit.height, edit.pos, &edit.proof, &chunk)?;
    let mut bytes = Vec::new();
    chunk.encode_into(&mut bytes);
    Ok((chunk, bytes))
}

/// Checks a claim (or a release) against the records root committed by `header`, the header of
/// the block after the one the claim is proven at.
pub fn verify_claim(header: &Header, claim: &ClaimEntry) -> Result<(), NetError> {
    let entity = z3r0_ecs::EntityId(claim.entity);
    let root = &header.parent_records_root;
    let fail = |e: z3r0_voxel::ProofError| {
        NetError::Verify(format!(
            "claim of column {:?} does not match the records root: {e}",
            claim.column
        ))
    };
    let malformed = |e: commonware_codec::Error| {
        NetError::Verify(format!("claim of column {:?}: {e}", claim.column))
    };
    match claim.owner {
        Some(owner) => {
            let proof = MerkleProof::decode(commonware_codec::Copying(claim.proof.as_slice()))
                .map_err(malformed)?;
            let record = z3r0_sim::Claim {
                column: claim.column,
                owner,
                builders: claim.builders.clone(),
            };
            z3r0_ecs::verify_record(&proof, root, entity, &record).map_err(fail)
        }
        None => {
            let proof = AbsenceProof::decode(commonware_codec::Copying(claim.proof.as_slice()))
                .map_err(malformed)?;
            z3r0_ecs::verify_absent_record::<z3r0_sim::Claim>(&proof, root, entity).map_err(fail)
        }
    }
}

/// Checks a published content record against `header` (of the block after the height it is
/// proven at): the `PublishedContent` record of `entry.entity` names `entry.manifest` and
/// `entry.activate_at`.
pub fn verify_content(header: &Header, entry: &crate::proto::ContentEntry) -> Result<(), NetError> {
    let fail = |e: &dyn std::fmt::Display| {
        NetError::Verify(format!(
            "content record {}: {e}",
            crate::assets::hex_of(&entry.manifest)
        ))
    };
    let proof = MerkleProof::decode(commonware_codec::Copying(entry.proof.as_slice()))
        .map_err(|e| fail(&e))?;
    let record = z3r0_sim::content::PublishedContent {
        manifest: entry.manifest,
        activate_at: entry.activate_at,
    };
    z3r0_ecs::verify_record(
        &proof,
        &header.parent_records_root,
        z3r0_ecs::EntityId(entry.entity),
        &record,
    )
    .map_err(|e| fail(&e))
}

/// Checks a receipt log against `header` (of the block after `entry.height`): the
/// `ReceiptLog` record of `entry.entity` is `entry.log`. Whose log it is, the log says; the
/// caller checks that it is a key it plays with.
pub fn verify_receipts(
    header: &Header,
    entry: &crate::proto::ReceiptsEntry,
) -> Result<(), NetError> {
    if entry.height.checked_add(1) != Some(header.height) {
        return Err(NetError::Verify(format!(
            "receipts proven at height {} need the header of the block after, got {}",
            entry.height, header.height
        )));
    }
    let proof = MerkleProof::decode(commonware_codec::Copying(entry.proof.as_slice()))
        .map_err(|e| NetError::Verify(format!("receipts proof: {e}")))?;
    z3r0_ecs::verify_record(
        &proof,
        &header.parent_records_root,
        z3r0_ecs::EntityId(entry.entity),
        &entry.log,
    )
    .map_err(|e| NetError::Verify(format!("receipts do not match the records root: {e}")))
}

/// Checks `entry` against `header` (of the block after `entry.height`): the `Player` record of
/// the entity is `account`'s and its `Inventory` record is the one shown; and when `account`
/// is not the client's own key (`me`), the entity's `Session` record names `me`, so the node
/// cannot pass off another account as this session's.
pub fn verify_inventory(
    header: &Header,
    me: &[u8; 32],
    account: &[u8; 32],
    entry: &crate::proto::InventoryEntry,
) -> Result<(), NetError> {
    let entity = z3r0_ecs::EntityId(entry.entity);
    let root = &header.parent_records_root;
    let decode = |bytes: &[u8]| {
        MerkleProof::decode(commonware_codec::Copying(bytes))
            .map_err(|e| NetError::Verify(format!("inventory proof: {e}")))
    };
    let player = z3r0_sim::Player { key: *account };
    z3r0_ecs::verify_record(&decode(&entry.player_proof)?, root, entity, &player).map_err(|e| {
        NetError::Verify(format!(
            "entity {} is not this account's player: {e}",
            entry.entity
        ))
    })?;
    if account != me {
        let not_mine =
            || NetError::Verify("the account the node named has not delegated to this key".into());
        let session = entry
            .session
            .as_ref()
            .filter(|s| s.key == *me)
            .ok_or_else(not_mine)?;
        let record = z3r0_sim::Session {
            key: session.key,
            until: session.until,
        };
        z3r0_ecs::verify_record(&decode(&session.proof)?, root, entity, &record)
            .map_err(|e| NetError::Verify(format!("session record: {e}")))?;
    }
    z3r0_ecs::verify_record(&decode(&entry.proof)?, root, entity, &entry.inventory)
        .map_err(|e| NetError::Verify(format!("inventory does not match the records root: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::FinalityProof;
    use commonware_codec::Encode as _;
    use commonware_cryptography::Signer as _;
    use commonware_cryptography::ed25519::PrivateKey;

    const CHAIN: z3r0_chain::ChainId = z3r0_chain::ChainId([3; 32]);

    fn keys(n: u64) -> Vec<PrivateKey> {
        (0..n).map(|i| PrivateKey::from_seed(500 + i)).collect()
    }

    /// A header with consistent roots, signed by `signers` (indexes into the sorted committee).
    fn header(all: &[PrivateKey], signers: &[usize]) -> (Committee, Header) {
        let committee =
            Committee::new(CHAIN, all.iter().map(|k| k.public_key()).collect()).unwrap();
        let (records, chunks) = ([1u8; 32], [2u8; 32]);
        let mut h = Header {
            height: 5,
            tick: 9,
            parent: [3; 32],
            zone: 1,
            parent_state_root: z3r0_ecs::state_root(&records, &chunks),
            actions_hash: [4; 32],
            parent_records_root: records,
            parent_chunk_root: chunks,
            finality: None,
        };
        let mut proposal = b"proposal".to_vec();
        proposal.extend_from_slice(&Committee::digest(&h));
        let signatures = signers
            .iter()
            .map(|&i| {
                let key = all
                    .iter()
                    .find(|k| k.public_key() == committee.keys()[i])
                    .unwrap();
                let sig = key.sign(committee.inner.finalize_namespace(), &proposal);
                (i as u16, sig.encode().as_ref().try_into().unwrap())
            })
            .collect();
        h.finality = Some(FinalityProof {
            proposal,
            signatures,
        });
        (committee, h)
    }

    #[test]
    fn exactly_a_quorum_of_distinct_members_is_needed() {
        let all = keys(4);
        let (c, h) = header(&all, &[0, 1, 3]);
        assert_eq!(c.quorum(), 3);
        c.verify_header(&h).unwrap();
        let (c, h) = header(&all, &[0, 1]);
        assert!(
            c.verify_header(&h)
                .unwrap_err()
                .to_string()
                .contains("quorum")
        );
        let (c, h) = header(&all, &[0, 1, 1]);
        assert!(
            c.verify_header(&h)
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        let (c, mut h) = header(&all, &[0, 1, 2]);
        h.finality.as_mut().unwrap().signatures[2].0 = 9;
        assert!(
            c.verify_header(&h)
                .unwrap_err()
                .to_string()
                .contains("not in the committee")
        );
    }

    #[test]
    fn a_certificate_of_another_genesis_is_refused() {
        let all = keys(4);
        let (_, h) = header(&all, &[0, 1, 2, 3]);
        let keys = all.iter().map(|k| k.public_key()).collect();
        let elsewhere = Committee::new(z3r0_chain::ChainId([4; 32]), keys).unwrap();
        assert!(elsewhere.verify_header(&h).is_err());
    }

    #[test]
    fn the_certificate_binds_the_header_and_its_roots() {
        let all = keys(4);
        let (c, h) = header(&all, &[0, 1, 2, 3]);
        let mut other = h.clone();
        other.tick += 1;
        assert!(
            c.verify_header(&other)
                .unwrap_err()
                .to_string()
                .contains("another block")
        );
        let mut roots = h.clone();
        roots.parent_chunk_root[0] ^= 1;
        assert!(
            c.verify_header(&roots)
                .unwrap_err()
                .to_string()
                .contains("roots")
        );
        let mut bare = h;
        bare.finality = None;
        assert!(c.verify_header(&bare).is_err());
        assert!(Committee::new(CHAIN, Vec::new()).is_err());
    }
}
