//! Chunk column claims: claiming, releasing, granting build rights.

use super::*;

impl Sim {
    pub(super) fn in_zone(&self, column: (i32, i32)) -> bool {
        let c = &self.config;
        (c.chunks_x.0..c.chunks_x.1).contains(&column.0)
            && (c.chunks_z.0..c.chunks_z.1).contains(&column.1)
    }

    pub(super) fn claim_column(
        &mut self,
        player: &PlayerKey,
        column: (i32, i32),
    ) -> Result<(), Reason> {
        if !self.in_zone(column) {
            return Err(Reason::OutOfZone);
        }
        if self.claims.contains_key(&column) {
            return Err(Reason::AlreadyClaimed);
        }
        let owned = self
            .claims
            .values()
            .filter(|&&c| self.ecs.get::<Claim>(c).is_some_and(|c| c.owner == *player))
            .count();
        if owned as u32 >= self.config.claim_limit {
            return Err(Reason::ClaimLimit);
        }
        let e = self.ecs.spawn();
        self.ecs
            .insert(
                e,
                Claim {
                    column,
                    owner: *player,
                    builders: Vec::new(),
                },
            )
            .map_err(|_| Reason::BadFrame)?;
        self.claims.insert(column, e);
        Ok(())
    }

    pub(super) fn owned_claim(
        &self,
        player: &PlayerKey,
        column: (i32, i32),
    ) -> Result<EntityId, Reason> {
        let e = *self.claims.get(&column).ok_or(Reason::NotClaimed)?;
        match self.ecs.get::<Claim>(e) {
            Some(c) if c.owner == *player => Ok(e),
            Some(_) => Err(Reason::NotYours),
            None => Err(Reason::NotClaimed),
        }
    }

    pub(super) fn release_column(
        &mut self,
        player: &PlayerKey,
        column: (i32, i32),
    ) -> Result<(), Reason> {
        let e = self.owned_claim(player, column)?;
        self.claims.remove(&column);
        self.ecs.despawn(e).map_err(|_| Reason::NotClaimed)
    }

    pub(super) fn set_builder(
        &mut self,
        player: &PlayerKey,
        column: (i32, i32),
        who: &PlayerKey,
        grant: bool,
    ) -> Result<(), Reason> {
        let e = self.owned_claim(player, column)?;
        let mut claim = self.ecs.get_mut::<Claim>(e).ok_or(Reason::NotClaimed)?;
        match (claim.builders.binary_search(who), grant) {
            (Ok(_), true) | (Err(_), false) => Ok(()),
            (Err(at), true) => {
                if claim.builders.len() >= crate::components::MAX_BUILDERS {
                    return Err(Reason::TooManyBuilders);
                }
                claim.builders.insert(at, *who);
                Ok(())
            }
            (Ok(at), false) => {
                claim.builders.remove(at);
                Ok(())
            }
        }
    }
}
