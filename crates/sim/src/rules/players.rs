//! Joining and leaving: spawn points, player entities.

use super::*;

impl Sim {
    /// Spawn point: in a column picked from the key near the zone centre, on the highest solid
    /// voxel with two free voxels above it (the top of the zone if there is none).
    pub(super) fn spawn_point(&self, key: &PlayerKey) -> [i64; 3] {
        let c = &self.config;
        let mid = |r: (i32, i32)| (i64::from(r.0) + i64::from(r.1)) * 16;
        let h = blake3::hash(key);
        let off = |b: u8| i64::from(b % 16) - 8;
        let x = (mid(c.chunks_x) + off(h.as_bytes()[0])) as i32;
        let z = (mid(c.chunks_z) + off(h.as_bytes()[1])) as i32;
        let (bottom, top) = (c.chunks_y.0 * 32 + 1, c.chunks_y.1 * 32 - 2);
        let free = |y: i32| !self.solid(VoxelPos::new(x, y, z));
        let y = (bottom..=top)
            .rev()
            .find(|&y| !free(y - 1) && free(y) && free(y + 1))
            .unwrap_or(top);
        [
            i64::from(x) * UNIT + UNIT / 2,
            i64::from(y) * UNIT,
            i64::from(z) * UNIT + UNIT / 2,
        ]
    }

    pub(super) fn join(
        &mut self,
        key: &PlayerKey,
        receipts: &mut Vec<Receipt>,
    ) -> Result<(), Reason> {
        if self.players.contains_key(key) {
            return Err(Reason::AlreadyJoined);
        }
        let pos = self.spawn_point(key);
        let e = self.ecs.spawn();
        // The join tick counts as the last input, but an input frame may still follow it.
        let tick = self.tick.saturating_sub(1);
        let inserted = (|| {
            self.ecs.insert(e, Player { key: *key })?;
            self.ecs.insert(
                e,
                Body {
                    pos,
                    ..Body::default()
                },
            )?;
            self.ecs.insert(
                e,
                Control {
                    frame: InputFrame::default(),
                    last_input_tick: tick,
                },
            )?;
            self.ecs.insert(e, Inventory::default())
        })();
        if inserted.is_err() {
            // Unreachable with the tables registered at genesis; refuse rather than half-join.
            let _ = self.ecs.despawn(e);
            return Err(Reason::BadFrame);
        }
        self.players.insert(*key, e);
        receipts.push(Receipt::Joined {
            player: *key,
            entity: e,
        });
        Ok(())
    }

    pub(super) fn remove_player(&mut self, key: &PlayerKey, e: EntityId) {
        self.players.remove(key);
        if let Some(session) = self.ecs.get::<Session>(e).map(|s| s.key) {
            self.sessions.remove(&session);
        }
        let _ = self.ecs.despawn(e);
    }
}
