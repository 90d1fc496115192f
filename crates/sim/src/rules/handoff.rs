//! Bodies crossing zone borders: exits when a body's centre leaves the zone, entries from
//! certified imports (see [`crate::handoff`]).

use super::*;
use crate::handoff::{
    Carried, Exit, Import, Link, MAX_CARRIED, MAX_CARRIED_BYTES, Record, WorldPlace, zone_number,
};
use crate::plugin::PLUGIN_TABLES;
use std::collections::BTreeSet;

/// Most ticks of transit an entering body makes up: each is a physics step, and a block
/// enters at most [`z3r0_chain::MAX_BLOCK_IMPORTS`] bodies. Longer in transit (a stalled
/// neighbour), it makes up only the last of them.
pub const MAX_TRANSIT_STEPS: u64 = 40;

/// Why an import that checked out was still not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum ImportRefusal {
    /// The certificate, proof or addressing is wrong (see [`crate::handoff::ImportError`]).
    Unverified = 1,
    /// An exit this zone already entered.
    AlreadyEntered = 2,
    /// An exit ahead of the next one due: the ones before it must enter first.
    OutOfOrder = 3,
    /// An acknowledgement no newer than the last one.
    Stale = 4,
    /// The neighbour claims more exits than this zone sent.
    Impossible = 5,
}

impl ImportRefusal {
    pub fn message(self) -> &'static str {
        match self {
            ImportRefusal::Unverified => "not certified by the source zone",
            ImportRefusal::AlreadyEntered => "already entered",
            ImportRefusal::OutOfOrder => "an earlier exit has not entered yet",
            ImportRefusal::Stale => "no newer than the last acknowledgement",
            ImportRefusal::Impossible => "acknowledges exits never sent",
        }
    }
}

/// The world's chunk columns along one axis, from this zone's columns and place: zones tile
/// the world, all of one size.
fn world_span(own: (i32, i32), index: u16, count: u16) -> (i64, i64) {
    let width = i64::from(own.1) - i64::from(own.0);
    let origin = i64::from(own.0) - i64::from(index) * width;
    (origin, origin + i64::from(count) * width)
}

impl SimConfig {
    /// The number of the zone holding chunk column `(cx, cz)`, if the world has one there
    /// (this zone's own included).
    pub fn zone_of_column(&self, cx: i32, cz: i32) -> Option<u32> {
        let place = self.world?;
        let locate = |c: i32, own: (i32, i32), index: u16, count: u16| -> Option<u16> {
            let (origin, end) = world_span(own, index, count);
            let c = i64::from(c);
            if !(origin..end).contains(&c) {
                return None;
            }
            let width = i64::from(own.1) - i64::from(own.0);
            u16::try_from((c - origin) / width).ok()
        };
        let x = locate(cx, self.chunks_x, place.zone.0, place.grid.0)?;
        let z = locate(cz, self.chunks_z, place.zone.1, place.grid.1)?;
        Some(zone_number(x, z))
    }

    /// The point of this zone's columns nearest to `pos` (`pos` itself when it is inside them),
    /// at the same height.
    pub fn nearest_inside(&self, pos: [i64; 3]) -> [i64; 3] {
        let clamp = |v: i64, (lo, hi): (i32, i32)| {
            let (lo, hi) = (i64::from(lo) * 32 * UNIT, i64::from(hi) * 32 * UNIT);
            v.clamp(lo, (hi - 1).max(lo))
        };
        [
            clamp(pos[0], self.chunks_x),
            pos[1],
            clamp(pos[2], self.chunks_z),
        ]
    }

    /// This zone's number in its world (0 for a zone of no world).
    pub fn zone_number(&self) -> u32 {
        self.world.map_or(0, |w| zone_number(w.zone.0, w.zone.1))
    }

    /// Whether voxel `p` is open ground outside this zone: in a neighbour's columns, within
    /// the zone's layers. The rules see no voxels there, and a body may pass: it leaves once its
    /// centre is across. (Beyond the world, and above and below the layers, is a wall.)
    pub fn beyond_border(&self, p: VoxelPos) -> bool {
        let chunk = p.chunk();
        let inside_layers = (self.chunks_y.0..self.chunks_y.1).contains(&chunk.y);
        inside_layers && !self.holds(chunk) && self.zone_of_column(chunk.x, chunk.z).is_some()
    }

    /// Whether voxel `p` is in this zone's border strip, which nobody edits (see
    /// [`crate::border`]).
    pub fn in_border_strip(&self, p: VoxelPos) -> bool {
        crate::border::in_border_strip(
            |x, z| self.zone_of_column(x, z),
            self.zone_number(),
            self.strip_depth(),
            p,
        )
    }

    /// How many voxel columns deep this zone's border strips are, under its movement rules
    /// and tick ([`crate::border::strip_depth`]).
    pub fn strip_depth(&self) -> i32 {
        crate::border::strip_depth(&crate::Physics::new(&self.movement, self.tick_ms))
    }

    pub(super) fn check_place(&self) -> Result<(), SimError> {
        let Some(WorldPlace { zone, grid }) = self.world else {
            return Ok(());
        };
        if zone.0 >= grid.0 || zone.1 >= grid.1 {
            return Err(SimError::WorldPlace("the zone is outside its world's grid"));
        }
        for (own, index, count) in [
            (self.chunks_x, zone.0, grid.0),
            (self.chunks_z, zone.1, grid.1),
        ] {
            let (origin, end) = world_span(own, index, count);
            let limit = i64::from(MAX_CHUNK_COORD);
            if origin < -limit || end > limit {
                return Err(SimError::WorldPlace(
                    "the world reaches past the chunk bounds",
                ));
            }
        }
        Ok(())
    }
}

/// The chunk column a body's centre stands in.
fn body_column(body: &Body) -> (i32, i32) {
    let column = |v: i64| (v.div_euclid(UNIT).div_euclid(32)) as i32;
    (column(body.pos[0]), column(body.pos[2]))
}

impl Sim {
    /// Every player whose body's centre is now in another zone leaves for it.
    pub(super) fn exits(&mut self, receipts: &mut Vec<Receipt>) {
        if self.config.world.is_none() {
            return;
        }
        let Ok(bodies) = self.ecs.column::<Body>() else {
            return;
        };
        let own = self.config.zone_number();
        let leaving: Vec<(EntityId, u32)> = bodies
            .iter()
            .filter_map(|(e, body)| {
                let (cx, cz) = body_column(body);
                let to = self.config.zone_of_column(cx, cz)?;
                (to != own).then_some((e, to))
            })
            .collect();
        for (e, to) in leaving {
            self.exit(e, to, receipts);
        }
    }

    fn exit(&mut self, e: EntityId, to: u32, receipts: &mut Vec<Receipt>) {
        let Some(player) = self.ecs.get::<Player>(e).map(|p| p.key) else {
            return;
        };
        let (Some(body), Some(control), Some(inventory)) = (
            self.ecs.get::<Body>(e).copied(),
            self.ecs.get::<Control>(e).copied(),
            self.ecs.get::<Inventory>(e).copied(),
        ) else {
            return;
        };
        let session = self.ecs.get::<Session>(e).copied();
        let carried = self.carried(e);
        let link = self.link(to);
        let Some(seq) = self.ecs.get::<Link>(link).map(|l| l.sent) else {
            return;
        };
        let record = self.ecs.spawn();
        let exit = Exit {
            to,
            seq,
            tick: self.tick,
            player,
            body,
            control,
            inventory,
            session,
            carried,
        };
        if self.ecs.insert(record, exit).is_err() {
            let _ = self.ecs.despawn(record);
            return;
        }
        if let Some(mut l) = self.ecs.get_mut::<Link>(link) {
            l.sent = seq.saturating_add(1);
        }
        self.exits.insert((to, seq), record);
        self.remove_player(&player, e);
        receipts.push(Receipt::Exited { player, to, seq });
    }

    /// The player's plugin components, as its exit carries them. A plugin's writes keep them
    /// within the bounds ([`crate::plugin::PluginContext::insert`]), so none is left behind.
    fn carried(&self, e: EntityId) -> Vec<Carried> {
        self.ecs
            .encoded_components(e, PLUGIN_TABLES)
            .into_iter()
            .filter(|(_, value)| value.len() <= MAX_CARRIED_BYTES)
            .take(MAX_CARRIED)
            .map(|(table, value)| Carried { table, value })
            .collect()
    }

    /// The entity of this zone's link to `zone`, made on first use.
    fn link(&mut self, zone: u32) -> EntityId {
        if let Some(&e) = self.links.get(&zone) {
            return e;
        }
        let e = self.ecs.spawn();
        let _ = self.ecs.insert(
            e,
            Link {
                zone,
                ..Link::default()
            },
        );
        self.links.insert(zone, e);
        e
    }

    /// Applies a block's imports at the start of its tick, in their order (each source's
    /// acknowledgement, then its exits by number) whatever the block's order, so a proposer
    /// cannot make an exit wait by misordering it.
    pub(super) fn imports(&mut self, imports: &[Vec<u8>], receipts: &mut Vec<Receipt>) {
        if imports.is_empty() {
            return;
        }
        let mut verified = Vec::with_capacity(imports.len());
        for bytes in imports {
            let hash = *blake3::hash(bytes).as_bytes();
            match self.neighbours.verify(bytes) {
                Ok(import) => verified.push((import.order_key(), hash, import)),
                Err(_) => receipts.push(Receipt::ImportRefused {
                    hash,
                    reason: ImportRefusal::Unverified,
                }),
            }
        }
        verified.sort_by_key(|v| (v.0, v.1));
        for (_, hash, import) in verified {
            if let Err(reason) = self.import(&import, receipts) {
                receipts.push(Receipt::ImportRefused { hash, reason });
            }
        }
    }

    /// What an import proves, as (source, kind, number), if this state still needs it: an exit
    /// not yet entered, an acknowledgement newer than the last. `None` for anything else,
    /// including bytes that do not decode. No signature is checked.
    pub fn import_key(&self, bytes: &[u8]) -> Option<(u32, u8, u64)> {
        let import = Import::decode(bytes).ok()?;
        if import.destination() != self.neighbours.zone
            || !self.neighbours.committees.contains_key(&import.source())
        {
            return None;
        }
        let link = self
            .links
            .get(&import.source())
            .and_then(|&e| self.ecs.get::<Link>(e))
            .copied()
            .unwrap_or_default();
        // Exits beyond what one block could enter after the next one due are not held yet (their
        // relays come again): a pool full of them would refuse the one everything waits for.
        let window = z3r0_chain::MAX_BLOCK_IMPORTS as u64;
        let due = match &import.record {
            Record::Exit(exit) => exit.seq >= link.received && exit.seq - link.received < window,
            Record::Ack(theirs) => theirs.received > link.acked,
        };
        due.then(|| import.order_key())
    }

    fn import(
        &mut self,
        import: &Import,
        receipts: &mut Vec<Receipt>,
    ) -> Result<(), ImportRefusal> {
        let from = import.source();
        match &import.record {
            Record::Exit(exit) => self.enter(from, exit, receipts),
            Record::Ack(theirs) => self.acknowledged(from, theirs.received),
        }
    }

    fn enter(
        &mut self,
        from: u32,
        exit: &Exit,
        receipts: &mut Vec<Receipt>,
    ) -> Result<(), ImportRefusal> {
        let link = self.link(from);
        let expected = self.ecs.get::<Link>(link).map_or(0, |l| l.received);
        if exit.seq < expected {
            return Err(ImportRefusal::AlreadyEntered);
        }
        if exit.seq > expected {
            return Err(ImportRefusal::OutOfOrder);
        }
        // A body certified outside this zone's columns (a source drawing the border elsewhere)
        // enters at the nearest point inside them: refusing it would lose the player, and hold
        // up every later exit of the link behind it.
        let exit = &Exit {
            body: Body {
                pos: self.config.nearest_inside(exit.body.pos),
                ..exit.body
            },
            ..exit.clone()
        };
        if let Some(mut l) = self.ecs.get_mut::<Link>(link) {
            l.received = expected.saturating_add(1);
        }
        let lost = match self.players.get(&exit.player).copied() {
            Some(e) => {
                self.merge_carried(e, &exit.carried);
                self.merge_inventory(e, &exit.inventory)
            }
            None => {
                self.spawn_entered(exit);
                0
            }
        };
        receipts.push(Receipt::Entered {
            player: exit.player,
            from,
            seq: exit.seq,
            lost,
        });
        Ok(())
    }

    /// A body from another zone, where it stood (lifted out of anything solid there), moved on
    /// by the ticks it spent in transit.
    fn spawn_entered(&mut self, exit: &Exit) {
        let lifted = Body {
            pos: self.free_above(exit.body.pos),
            ..exit.body
        };
        let body = self.caught_up(exit, lifted);
        let e = self.ecs.spawn();
        // Time in transit is not idleness: the player's timeout starts on arrival, as on a
        // join. (Frames are signed for one chain, so none of the source's can land here.)
        let control = Control {
            last_input_tick: self.tick.saturating_sub(1),
            ..exit.control
        };
        let inserted = (|| {
            self.ecs.insert(e, Player { key: exit.player })?;
            self.ecs.insert(e, body)?;
            self.ecs.insert(e, control)?;
            self.ecs.insert(e, exit.inventory)
        })();
        if inserted.is_err() {
            let _ = self.ecs.despawn(e);
            return;
        }
        // A session key already acting here for someone else is not taken over: the player
        // delegates again.
        if let Some(session) = exit.session
            && !self.sessions.contains_key(&session.key)
            && !self.players.contains_key(&session.key)
            && self.ecs.insert(e, session).is_ok()
        {
            self.sessions.insert(session.key, e);
        }
        self.players.insert(exit.player, e);
        self.merge_carried(e, &exit.carried);
    }

    /// Puts carried plugin components on `e` where it has none of that table (a player who
    /// joined here while in transit keeps its own), up to [`MAX_CARRIED`] in all. Every zone
    /// of a world runs the world's plugins, so each table is known here; one that were not
    /// would be left out.
    fn merge_carried(&mut self, e: EntityId, carried: &[Carried]) {
        let held: BTreeSet<u16> = self
            .ecs
            .encoded_components(e, PLUGIN_TABLES)
            .into_iter()
            .map(|(table, _)| table)
            .collect();
        // Within what the next exit carries, as a plugin's own writes are; a component that
        // does not decode here takes no room.
        let mut room = MAX_CARRIED.saturating_sub(held.len());
        for c in carried.iter().filter(|c| !held.contains(&c.table)) {
            if room == 0 {
                break;
            }
            if self.ecs.insert_encoded(e, c.table, &c.value).is_ok() {
                room -= 1;
            }
        }
    }

    /// `body` after the ticks between its exit and this one, each a step under the frame it
    /// left with in this zone's voxels (at most [`MAX_TRANSIT_STEPS`]): a body in transit goes
    /// on as it would have on one chain, so its player, who predicted it walking on, sees no
    /// jump when it arrives. The step of this tick itself is the tick's movement.
    fn caught_up(&self, exit: &Exit, mut body: Body) -> Body {
        let first = exit
            .tick
            .saturating_add(1)
            .max(self.tick.saturating_sub(MAX_TRANSIT_STEPS));
        let view = |p: VoxelPos| self.ground(p);
        let rules = &*self.content.rules;
        for tick in first..self.tick {
            body = step_in_view(
                &view,
                rules,
                &body,
                &exit.control.frame,
                &self.physics,
                tick,
            )
            .0;
        }
        body
    }

    /// The first feet position at or above `pos` in its column with room for a body. The source
    /// saw no voxels across its border, so a body may arrive inside a wall built there.
    fn free_above(&self, pos: [i64; 3]) -> [i64; 3] {
        let voxel = |v: i64| v.div_euclid(UNIT) as i32;
        let (x, z) = (voxel(pos[0]), voxel(pos[2]));
        let top = self.config.chunks_y.1.saturating_mul(32).saturating_sub(2);
        let free = |y: i32| !self.solid(VoxelPos::new(x, y, z));
        let mut y = voxel(pos[1]);
        if free(y) && free(y.saturating_add(1)) {
            return pos;
        }
        while y < top && !(free(y) && free(y.saturating_add(1))) {
            y = y.saturating_add(1);
        }
        [pos[0], i64::from(y) * UNIT, pos[2]]
    }

    /// Adds an entering inventory to the one a player already has here (it joined here while
    /// in transit). Returns how many items found no room.
    fn merge_inventory(&mut self, e: EntityId, incoming: &Inventory) -> u32 {
        let Some(mut inv) = self.ecs.get_mut::<Inventory>(e) else {
            return 0;
        };
        let mut lost = 0u32;
        for &(block, count) in &incoming.slots {
            for _ in 0..count {
                if !inv.add(block) {
                    lost = lost.saturating_add(1);
                }
            }
        }
        lost
    }

    /// The neighbour entered this zone's exits below `received`: they are deleted here.
    fn acknowledged(&mut self, from: u32, received: u64) -> Result<(), ImportRefusal> {
        let link = self.link(from);
        let Some(current) = self.ecs.get::<Link>(link).copied() else {
            return Err(ImportRefusal::Impossible);
        };
        if received > current.sent {
            return Err(ImportRefusal::Impossible);
        }
        if received <= current.acked {
            return Err(ImportRefusal::Stale);
        }
        let done: Vec<(u32, u64)> = self
            .exits
            .range((from, current.acked)..(from, received))
            .map(|(&k, _)| k)
            .collect();
        for key in done {
            if let Some(e) = self.exits.remove(&key) {
                let _ = self.ecs.despawn(e);
            }
        }
        if let Some(mut l) = self.ecs.get_mut::<Link>(link) {
            l.acked = received;
        }
        Ok(())
    }

    /// The exits waiting for their destination's acknowledgement, in (destination, number)
    /// order, with the entity holding each.
    pub fn pending_exits(&self) -> impl Iterator<Item = (EntityId, &Exit)> + '_ {
        self.exits
            .values()
            .filter_map(|&e| Some((e, self.ecs.get::<Exit>(e)?)))
    }

    /// This zone's links to its neighbours, with the entity holding each.
    pub fn links(&self) -> impl Iterator<Item = (EntityId, &Link)> + '_ {
        self.links
            .values()
            .filter_map(|&e| Some((e, self.ecs.get::<Link>(e)?)))
    }

    /// An import of `record` (held by `entity` in this state) for another zone: the caller
    /// supplies the header of the block that commits this state and its certificate.
    pub fn prove_record(
        &mut self,
        entity: EntityId,
        record: &Record,
    ) -> Option<z3r0_ecs::MerkleProof> {
        match record {
            Record::Exit(_) => self.ecs.prove::<Exit>(entity).ok().flatten(),
            Record::Ack(_) => self.ecs.prove::<Link>(entity).ok().flatten(),
        }
    }

    /// The neighbours whose imports this zone checks.
    pub fn neighbours(&self) -> &crate::handoff::Neighbours {
        &self.neighbours
    }

    /// The neighbours, to hand to a copy of this zone.
    pub(crate) fn shared_neighbours(&self) -> std::sync::Arc<crate::handoff::Neighbours> {
        self.neighbours.clone()
    }

    /// Names the neighbours' committees (from the world genesis): without them every import is
    /// refused.
    pub fn set_neighbours(&mut self, neighbours: std::sync::Arc<crate::handoff::Neighbours>) {
        self.neighbours = neighbours;
    }

    /// What the rules see at `p` as bodies move: this zone's voxels, its neighbours' border
    /// strips, open ground further into a neighbour, and `None` (a wall) beyond the world or
    /// the layers.
    pub fn ground(&self, p: VoxelPos) -> Option<BlockId> {
        super::movement::seen(&self.voxels, &self.border, &self.config, p)
    }

    /// The neighbours' border strips, to hand to a copy of this zone.
    pub(crate) fn shared_border(&self) -> std::sync::Arc<crate::border::BorderGround> {
        self.border.clone()
    }

    /// Replaces the neighbours' border strips this zone sees (generated from the seed at
    /// genesis): for a world whose neighbours were not built by the generator, as tests build
    /// flat ones.
    pub fn set_border_ground(&mut self, border: std::sync::Arc<crate::border::BorderGround>) {
        self.border = border;
    }
}
