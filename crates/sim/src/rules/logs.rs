//! Receipt logs: each block's outcomes recorded per signing key (see `crate::receipts`).

use super::*;

impl Sim {
    /// Applies one action and records its outcome in the signer's log (`tick`: the block's).
    pub(super) fn apply_noted(
        &mut self,
        tick: u64,
        a: &BlockAction<'_>,
        index: usize,
        receipts: &mut Vec<Receipt>,
    ) {
        let before = receipts.len();
        self.apply_payload(a, u32::try_from(index).ok(), receipts);
        let refusal = receipts.get(before..).and_then(|new| {
            new.iter().find_map(|r| match r {
                Receipt::Rejected {
                    player,
                    action,
                    reason,
                    index: Some(_),
                } if player == a.player => Some((*action, *reason as u8)),
                _ => None,
            })
        });
        let window = self.config.receipt_window();
        self.with_log(a.player, |log| {
            let outcome = log.current(tick, window);
            let slot = outcome.push_nonce(a.nonce);
            if let (Some((action, reason)), Some(slot)) = (refusal, slot) {
                outcome.push_refusal(Refusal {
                    action,
                    reason,
                    slot: Some(slot),
                });
            }
        });
    }

    /// Records this block's movement refusals (walls, mid-air jumps) in their players' logs.
    pub(super) fn note_movement(&mut self, tick: u64, receipts: &[Receipt]) {
        let window = self.config.receipt_window();
        for r in receipts {
            if let Receipt::Rejected {
                player,
                action,
                reason,
                index: None,
            } = r
            {
                self.with_log(player, |log| {
                    log.current(tick, window).push_refusal(Refusal {
                        action: *action,
                        reason: *reason as u8,
                        slot: None,
                    });
                });
            }
        }
    }

    /// Runs `f` on `key`'s receipt log, spawning the log first if it has none.
    pub(super) fn with_log(&mut self, key: &PlayerKey, f: impl FnOnce(&mut ReceiptLog)) {
        let e = match self.logs.get(key) {
            Some(&e) => e,
            None => {
                let e = self.ecs.spawn();
                // Just spawned: alive, and the component is registered at genesis.
                let window = self.config.receipt_window();
                let _ = self.ecs.insert(e, ReceiptLog::new(*key, window));
                self.logs.insert(*key, e);
                e
            }
        };
        if let Some(mut log) = self.ecs.get_mut::<ReceiptLog>(e) {
            f(&mut log);
        }
    }

    /// Despawns the logs whose every outcome has left the window.
    pub(super) fn expire_logs(&mut self, tick: u64) {
        let window = self.config.receipt_window();
        let Self { logs, ecs, .. } = self;
        logs.retain(|_, e| {
            let keep = ecs
                .get::<ReceiptLog>(*e)
                .is_some_and(|log| !log.expired(tick, window));
            if !keep {
                let _ = ecs.despawn(*e);
            }
            keep
        });
    }

    /// Every live receipt log's key and entity, in key order.
    pub fn receipt_logs(&self) -> impl Iterator<Item = (&PlayerKey, EntityId)> + '_ {
        self.logs.iter().map(|(k, &e)| (k, e))
    }

    /// `key`'s receipt log and its entity: the outcomes of its actions in the last
    /// receipt window ([`crate::receipt_window`]).
    pub fn receipt_log(&self, key: &PlayerKey) -> Option<(EntityId, &ReceiptLog)> {
        let e = *self.logs.get(key)?;
        Some((e, self.ecs.get::<ReceiptLog>(e)?))
    }
}
