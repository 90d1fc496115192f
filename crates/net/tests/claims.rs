//! Claims reach players with proofs against the finalized records root: the claim record
//! (owner, builders) or, for a release, the absence of that claim entity's record. A node
//! that lies about an owner, a builder, a column or a release is caught.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../sim/tests/common/mod.rs"]
mod sim_common;

use sim_common::{ALICE, BOB, joined, tick};
use z3r0_net::verify_claim;
use z3r0_net::{ClaimEntry, Header};
use z3r0_net::{all_claim_entries, claim_entries};
use z3r0_sim::{Action, Receipt, Sim};

/// A header committing to `sim`'s records root as it is now (all `verify_claim` reads).
fn header_now(sim: &mut Sim) -> Header {
    Header {
        height: 2,
        tick: 2,
        parent: [0; 32],
        zone: 0,
        parent_state_root: [0; 32],
        actions_hash: [0; 32],
        parent_records_root: sim.ecs.root(),
        parent_chunk_root: sim.voxels.chunk_root(),
        finality: None,
    }
}

#[test]
fn claims_and_releases_are_proven_and_lies_are_caught() {
    let mut s = joined(&[ALICE, BOB]);
    let column = (0, 0);
    let r = tick(&mut s, &[(ALICE, Action::Claim(column.0, column.1))]);
    let entity = r
        .iter()
        .find_map(|x| match x {
            Receipt::ClaimChanged { entity, .. } => Some(*entity),
            _ => None,
        })
        .expect("the claim's receipt names its entity");
    tick(&mut s, &[(ALICE, Action::Grant(column.0, column.1, BOB))]);
    let claimed = header_now(&mut s);
    let entries = all_claim_entries(&mut s);
    assert_eq!(entries.len(), 1);
    let claim = entries[0].clone();
    assert_eq!(claim.column, column);
    assert_eq!(claim.entity, entity.0);
    assert_eq!(claim.owner, Some(ALICE));
    assert_eq!(claim.builders, vec![BOB]);
    verify_claim(&claimed, &claim).unwrap();

    let lie = |f: &dyn Fn(&mut ClaimEntry)| {
        let mut c = claim.clone();
        f(&mut c);
        verify_claim(&claimed, &c)
    };
    assert!(lie(&|c| c.owner = Some(BOB)).is_err(), "another owner");
    assert!(lie(&|c| c.builders.clear()).is_err(), "a builder hidden");
    assert!(lie(&|c| c.column = (1, 0)).is_err(), "another column");
    assert!(lie(&|c| c.entity += 1).is_err(), "another entity");
    assert!(lie(&|c| c.proof.truncate(10)).is_err(), "a cut proof");
    // Claiming the column was released while it is held: no proof shows that.
    assert!(
        lie(&|c| {
            c.owner = None;
            c.builders.clear();
        })
        .is_err(),
        "a release that did not happen"
    );

    // The release, proven against the state after it; the old claim no longer holds there,
    // and the release did not hold before.
    let r = tick(&mut s, &[(ALICE, Action::Release(column.0, column.1))]);
    assert!(r.iter().any(
        |x| matches!(x, Receipt::ClaimChanged { claim: None, entity: e, .. } if *e == entity)
    ));
    let released = header_now(&mut s);
    let gone = claim_entries(&mut s, [(column, entity.0)]);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].owner, None);
    verify_claim(&released, &gone[0]).unwrap();
    assert!(verify_claim(&claimed, &gone[0]).is_err());
    assert!(verify_claim(&released, &claim).is_err());
    assert!(all_claim_entries(&mut s).is_empty());
}
