//! Chunk column claims as the client holds them: each checked against a finalized records
//! root, the newest proof winning.

use std::collections::BTreeMap;

use z3r0_net::ClaimEntry;
use z3r0_sim::Claim;

/// Releases remembered (against an older claim proven again), at most.
const MAX_RELEASES: usize = 4096;

/// A chunk column's claim as the client holds it: checked against a finalized records root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownClaim {
    /// The claim record as proven (owner, builders).
    pub claim: Claim,
    /// The claim's entity (only its own release, proven, removes it).
    pub entity: u64,
    /// The height it was proven at (an older proof never replaces a newer one).
    pub height: u64,
}

#[derive(Debug, Default)]
pub(super) struct Claims {
    /// Who owns each claimed chunk column, as finalized and proven.
    shown: BTreeMap<(i32, i32), ShownClaim>,
    /// Columns whose claim the player saw released, with the height of the release.
    released: BTreeMap<(i32, i32), u64>,
}

impl Claims {
    pub(super) fn get(&self, column: (i32, i32)) -> Option<&ShownClaim> {
        self.shown.get(&column)
    }

    /// Takes proven claims (and releases) at `height`: an older proof never replaces a newer
    /// claim or undoes a newer release, and a release removes a column's claim only if it is
    /// of the entity held there.
    pub(super) fn apply(&mut self, height: u64, claims: Vec<ClaimEntry>) {
        for c in claims {
            let held = self.shown.get(&c.column);
            let newer_release = self.released.get(&c.column).is_some_and(|&r| r > height);
            if newer_release || held.is_some_and(|h| h.height > height) {
                continue;
            }
            match c.owner {
                Some(owner) => {
                    // An entity holds one claim, and ids are reused: an entity proven to claim
                    // this column no longer holds one it was shown with at an older height.
                    self.shown.retain(|column, s| {
                        *column == c.column || s.entity != c.entity || s.height > height
                    });
                    self.released.remove(&c.column);
                    let claim = Claim {
                        column: c.column,
                        owner,
                        builders: c.builders,
                    };
                    let entity = c.entity;
                    self.shown.insert(
                        c.column,
                        ShownClaim {
                            claim,
                            entity,
                            height,
                        },
                    );
                }
                // The proof is of that entity holding no claim: it releases the column only if
                // that was the claim held.
                None if held.is_some_and(|h| h.entity == c.entity) => {
                    self.shown.remove(&c.column);
                    // An older claim proven again must not bring it back.
                    self.released.insert(c.column, height);
                    while self.released.len() > MAX_RELEASES {
                        self.released.pop_first();
                    }
                }
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ClaimEntry, Claims, ShownClaim};

    fn entry(column: (i32, i32), entity: u64, owner: Option<[u8; 32]>) -> ClaimEntry {
        ClaimEntry {
            column,
            entity,
            owner,
            builders: if owner.is_some() {
                vec![[7; 32]]
            } else {
                Vec::new()
            },
            proof: Vec::new(),
        }
    }

    #[test]
    fn claims_follow_the_newest_proof_and_releases_only_their_own_entity() {
        let mut claims = Claims::default();
        let col = (2, -3);
        claims.apply(10, vec![entry(col, 40, Some([1; 32]))]);
        let claim = claims.shown.get(&col).cloned();
        assert_eq!(
            claim,
            Some(ShownClaim {
                claim: z3r0_sim::Claim {
                    column: col,
                    owner: [1; 32],
                    builders: vec![[7; 32]],
                },
                entity: 40,
                height: 10
            })
        );
        // An older proof does not replace it; a release of another entity does not remove it.
        claims.apply(8, vec![entry(col, 39, Some([2; 32]))]);
        claims.apply(11, vec![entry(col, 41, None)]);
        assert_eq!(claims.shown.get(&col).map(|c| c.claim.owner), Some([1; 32]));
        // Its own release does; the old claim proven again later does not come back.
        claims.apply(12, vec![entry(col, 40, None)]);
        assert!(!claims.shown.contains_key(&col));
        claims.apply(10, vec![entry(col, 40, Some([1; 32]))]);
        assert!(
            !claims.shown.contains_key(&col),
            "a stale claim after its release"
        );
        // A new claim after the release does.
        claims.apply(13, vec![entry(col, 42, Some([3; 32]))]);
        assert_eq!(claims.shown.get(&col).map(|c| c.claim.owner), Some([3; 32]));
        // Entity ids are reused: entity 42 proven later on another column left this one.
        let other = (5, 5);
        claims.apply(14, vec![entry(other, 42, Some([4; 32]))]);
        assert!(
            !claims.shown.contains_key(&col),
            "an entity shown on two columns"
        );
        assert_eq!(claims.shown.get(&other).map(|c| c.entity), Some(42));
    }
}
