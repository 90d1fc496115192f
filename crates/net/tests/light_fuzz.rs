//! Light-client proofs under structure-aware mutation: every proof a node sends a player
//! (chunks, claims, inventories, receipt logs) is taken from a real zone, then its proof bytes
//! and its value are flipped, cut, stretched, swapped or given lying lengths. A check must
//! end in a typed error or in accepting exactly what the state holds: never a panic, never a
//! changed value or proof that still verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../sim/tests/common/mod.rs"]
mod sim_common;

use commonware_codec::{DecodeExt as _, Encode as _};
use proptest::prelude::*;
use sim_common::{ALICE, BOB, joined, tick};
use z3r0_chain::mutate::Mutation;
use z3r0_net::{ChunkData, ClaimEntry, Header, InventoryEntry, ReceiptsEntry};
use z3r0_net::{account_inventory, all_claim_entries, chunk_data, receipts_entry};
use z3r0_net::{verify_chunk, verify_claim, verify_inventory, verify_receipts};
use z3r0_sim::{Action, Sim};
use z3r0_voxel::{ChunkPos, MerkleProof};

/// Proven views of one zone state, and the header of the block after it.
struct Views {
    header: Header,
    chunk: ChunkData,
    claim: ClaimEntry,
    inventory: InventoryEntry,
    receipts: ReceiptsEntry,
}

fn views() -> Views {
    let mut s: Sim = joined(&[ALICE, BOB]);
    tick(&mut s, &[(ALICE, Action::Claim(0, 0)), (BOB, Action::Join)]);
    let height = 1;
    let header = Header {
        height: height + 1,
        tick: 9,
        parent: [0; 32],
        zone: 0,
        parent_state_root: s.root(),
        actions_hash: [0; 32],
        parent_records_root: s.ecs.root(),
        parent_chunk_root: s.voxels.chunk_root(),
        finality: None,
    };
    let pos = ChunkPos::new(0, 0, 0);
    Views {
        chunk: chunk_data(&mut s, pos, height).unwrap(),
        claim: all_claim_entries(&mut s).remove(0),
        inventory: account_inventory(&mut s, &ALICE, height).unwrap(),
        receipts: receipts_entry(&mut s, &BOB, height).unwrap(),
        header,
    }
}

/// Whether `mutated` proof bytes decode to the same proof as `original`.
fn same_proof(original: &[u8], mutated: &[u8]) -> bool {
    let decode = |b: &[u8]| MerkleProof::decode(commonware_codec::Copying(b)).ok();
    decode(mutated).is_some() && decode(mutated) == decode(original)
}

#[test]
fn the_views_verify_unmutated() {
    let v = views();
    verify_chunk(&v.header, &v.chunk).unwrap();
    verify_claim(&v.header, &v.claim).unwrap();
    verify_inventory(&v.header, &ALICE, &ALICE, &v.inventory).unwrap();
    verify_receipts(&v.header, &v.receipts).unwrap();
    assert!(!v.receipts.log.entries.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mutated_proofs_never_verify(m in any::<(u8, usize, usize, u8)>()) {
        let m = Mutation::from(m);
        let v = views();
        let mut chunk = v.chunk.clone();
        chunk.proof = m.apply(&v.chunk.proof);
        if verify_chunk(&v.header, &chunk).is_ok() {
            prop_assert_eq!(&chunk.proof, &v.chunk.proof);
        }
        let mut claim = v.claim.clone();
        claim.proof = m.apply(&v.claim.proof);
        if verify_claim(&v.header, &claim).is_ok() {
            prop_assert!(same_proof(&v.claim.proof, &claim.proof));
        }
        let mut inventory = v.inventory.clone();
        inventory.proof = m.apply(&v.inventory.proof);
        if verify_inventory(&v.header, &ALICE, &ALICE, &inventory).is_ok() {
            prop_assert!(same_proof(&v.inventory.proof, &inventory.proof));
        }
        let mut inventory = v.inventory.clone();
        inventory.player_proof = m.apply(&v.inventory.player_proof);
        if verify_inventory(&v.header, &ALICE, &ALICE, &inventory).is_ok() {
            prop_assert!(same_proof(&v.inventory.player_proof, &inventory.player_proof));
        }
        let mut receipts = v.receipts.clone();
        receipts.proof = m.apply(&v.receipts.proof);
        if verify_receipts(&v.header, &receipts).is_ok() {
            prop_assert!(same_proof(&v.receipts.proof, &receipts.proof));
        }
    }

    #[test]
    fn mutated_values_never_verify(m in any::<(u8, usize, usize, u8)>()) {
        let m = Mutation::from(m);
        let v = views();
        let mut chunk = v.chunk.clone();
        chunk.chunk = m.apply(&v.chunk.chunk);
        if let Ok(got) = verify_chunk(&v.header, &chunk) {
            prop_assert_eq!(got, verify_chunk(&v.header, &v.chunk).unwrap());
        }
        if let Ok(log) = z3r0_sim::ReceiptLog::decode(commonware_codec::Copying(
            &m.apply(&v.receipts.log.encode()),
        )) {
            let receipts = ReceiptsEntry { log, ..v.receipts.clone() };
            if verify_receipts(&v.header, &receipts).is_ok() {
                prop_assert_eq!(&receipts.log, &v.receipts.log);
            }
        }
        if let Ok(inventory) = z3r0_sim::Inventory::decode(commonware_codec::Copying(
            &m.apply(&v.inventory.inventory.encode()),
        )) {
            let entry = InventoryEntry { inventory, ..v.inventory.clone() };
            if verify_inventory(&v.header, &ALICE, &ALICE, &entry).is_ok() {
                prop_assert_eq!(entry.inventory, v.inventory.inventory);
            }
        }
    }
}
