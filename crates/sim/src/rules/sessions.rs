//! Session keys: whom a signer acts for, and delegations.

use super::*;

impl Sim {
    /// The account `signer` acts for, and whether it signs as a session key.
    pub(super) fn acting_for(&self, signer: &PlayerKey) -> Result<(PlayerKey, bool), Reason> {
        let Some(&e) = self.sessions.get(signer) else {
            return Ok((*signer, false));
        };
        match (self.ecs.get::<Player>(e), self.ecs.get::<Session>(e)) {
            (Some(p), Some(s)) if s.until >= self.tick => Ok((p.key, true)),
            _ => Err(Reason::SessionExpired),
        }
    }

    pub(super) fn delegate(
        &mut self,
        account: &PlayerKey,
        e: EntityId,
        session: &PlayerKey,
        until: u64,
        // The consent to check; `None` when the chain verified it with the block's batch.
        consent: Option<&[u8; 64]>,
    ) -> Result<(), Reason> {
        if until <= self.tick || until - self.tick > MAX_SESSION_TICKS {
            return Err(Reason::SessionLength);
        }
        let taken_by_other = self.sessions.get(session).is_some_and(|&other| other != e);
        if session == account || self.players.contains_key(session) || taken_by_other {
            return Err(Reason::KeyInUse);
        }
        // Last, as the costliest check: one signature verification.
        if let Some(consent) = consent
            && !crate::action::session_consents(
                &self.config.chain,
                session,
                account,
                until,
                consent,
            )
        {
            return Err(Reason::NoConsent);
        }
        let old = self.ecs.get::<Session>(e).map(|s| s.key);
        self.ecs
            .insert(
                e,
                Session {
                    key: *session,
                    until,
                },
            )
            .map_err(|_| Reason::BadFrame)?;
        // The index changes only with the record, so it always matches the committed state.
        if let Some(old) = old {
            self.sessions.remove(&old);
        }
        self.sessions.insert(*session, e);
        Ok(())
    }
}
