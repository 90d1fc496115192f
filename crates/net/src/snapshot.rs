//! Per-tick snapshots of a player's area of interest, delta-compressed against the last
//! snapshot the client acknowledged.
//!
//! - Remote entities are quantised: positions to 1/64 m, yaw to 1/256 turn, pitch to 1/256
//!   turn. The player's own body is sent exactly (position, velocity, state in the rules' units)
//!   so prediction can reconcile against it bit for bit.
//! - A snapshot names its base tick; entities equal to their base state are left out, changed
//!   ones carry zigzag-varint deltas, entities gone since the base are listed by id.
//! - One snapshot fits one datagram: when the area is busy, entities due for a refresh (not sent
//!   for `refresh_ticks`) go first, then the nearest; whatever does not fit keeps its base state
//!   on the client and is sent in a later tick.
//! - The client reconstructs a snapshot only from a base it still holds and never applies one
//!   older than the newest it applied.

use std::collections::{BTreeMap, VecDeque};

use z3r0_sim::InputFrame;

use crate::proto::MAX_DATAGRAM;
use crate::wire::{Reader, WireError, Writer};

/// Sim position units (1/1024 m) per quantised unit (1/64 m).
pub const POS_QUANTUM: i64 = 16;
/// How many past snapshots each side keeps as delta bases.
pub const HISTORY: usize = 32;

/// One entity as the server knows it after a finalized tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityRecord {
    pub id: u64,
    pub player: [u8; 32],
    /// 1/1024 m.
    pub pos: [i64; 3],
    pub vel: [i64; 3],
    pub state: u8,
    /// The input frame in force (its yaw and pitch are the entity's view).
    pub frame: InputFrame,
}

/// A remote entity as a snapshot carries it (quantised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EntityState {
    /// 1/64 m.
    pub pos: [i64; 3],
    /// 1/256 turn.
    pub yaw: u8,
    pub pitch: i8,
    pub state: u8,
}

impl EntityState {
    pub fn quantise(r: &EntityRecord) -> Self {
        Self {
            pos: r.pos.map(|c| c.div_euclid(POS_QUANTUM)),
            yaw: (r.frame.yaw >> 8) as u8,
            pitch: (r.frame.pitch >> 8) as i8,
            state: r.state,
        }
    }
    /// Position in metres.
    pub fn metres(&self) -> [f64; 3] {
        self.pos.map(|c| c as f64 / (1024 / POS_QUANTUM) as f64)
    }
}

/// The player's own body, exact, and the input frame in force: what prediction replays from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnState {
    pub entity: u64,
    pub pos: [i64; 3],
    pub vel: [i64; 3],
    pub state: u8,
    pub frame: InputFrame,
}

/// A decoded (reconstructed) snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub tick: u64,
    pub own: Option<OwnState>,
    /// Every entity the client knows in its area, by id.
    pub entities: BTreeMap<u64, EntityState>,
}

/// Field bits of an entity delta: one per position axis, yaw, pitch, state; `FIELD_NEW` alone
/// marks an entity sent whole.
const FIELD_POS: [u8; 3] = [1, 2, 4];
const FIELD_YAW: u8 = 8;
const FIELD_PITCH: u8 = 16;
const FIELD_STATE: u8 = 32;
const FIELD_NEW: u8 = 64;
const FIELD_ANY: u8 = 1 | 2 | 4 | FIELD_YAW | FIELD_PITCH | FIELD_STATE;
/// Most entities a snapshot can describe (a datagram could not hold more).
const MAX_ENTITIES: usize = MAX_DATAGRAM;
/// Most entities a client keeps in view: a node cannot grow its memory past this.
pub const MAX_VIEW: usize = 4_096;

/// The wire form: tick, base, own body, removals, entity deltas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotDelta {
    pub tick: u64,
    /// 0: no base (every entity is new).
    pub base: u64,
    pub own: Option<OwnState>,
    pub removed: Vec<u64>,
    /// (id, new state); encoded against the base state when the base has the entity.
    pub changed: Vec<(u64, EntityState)>,
}

fn encode_entity(w: &mut Writer, base: Option<&EntityState>, s: &EntityState) {
    match base {
        None => {
            w.u8(FIELD_NEW);
            for c in s.pos {
                w.zigzag(c);
            }
            w.u8(s.yaw);
            w.u8(s.pitch as u8);
            w.u8(s.state);
        }
        Some(b) => {
            let mut mask = 0;
            for i in 0..3 {
                if b.pos[i] != s.pos[i] {
                    mask |= FIELD_POS[i];
                }
            }
            if b.yaw != s.yaw {
                mask |= FIELD_YAW;
            }
            if b.pitch != s.pitch {
                mask |= FIELD_PITCH;
            }
            if b.state != s.state {
                mask |= FIELD_STATE;
            }
            w.u8(mask);
            for i in 0..3 {
                if mask & FIELD_POS[i] != 0 {
                    w.zigzag(s.pos[i].wrapping_sub(b.pos[i]));
                }
            }
            if mask & FIELD_YAW != 0 {
                w.u8(s.yaw.wrapping_sub(b.yaw));
            }
            if mask & FIELD_PITCH != 0 {
                w.u8((s.pitch as u8).wrapping_sub(b.pitch as u8));
            }
            if mask & FIELD_STATE != 0 {
                w.u8(s.state);
            }
        }
    }
}

impl SnapshotDelta {
    /// Encodes against `base` (the snapshot named by `self.base`, or empty).
    pub fn encode(&self, base: &BTreeMap<u64, EntityState>) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(1);
        w.varint(self.tick);
        let back = if self.base == 0 {
            0
        } else {
            self.tick.saturating_sub(self.base)
        };
        w.varint(back);
        match &self.own {
            None => w.u8(0),
            Some(o) => {
                w.u8(1);
                w.varint(o.entity);
                for c in o.pos.iter().chain(&o.vel) {
                    w.zigzag(*c);
                }
                w.u8(o.state);
                w.u8(o.frame.forward as u8);
                w.u8(o.frame.strafe as u8);
                w.u16(o.frame.yaw);
                w.u16(o.frame.pitch as u16);
                w.u8(o.frame.flags);
            }
        }
        w.varint(self.removed.len() as u64);
        let mut last = 0u64;
        for &id in &self.removed {
            w.varint(id.wrapping_sub(last));
            last = id;
        }
        w.varint(self.changed.len() as u64);
        let mut last = 0u64;
        for (id, s) in &self.changed {
            w.varint(id.wrapping_sub(last));
            last = *id;
            encode_entity(&mut w, base.get(id), s);
        }
        w.buf
    }

    /// Decodes the header only: `(tick, base)`, so the client can find the base first.
    pub fn peek(bytes: &[u8]) -> Result<(u64, u64), WireError> {
        let mut r = Reader::new(bytes);
        if r.u8()? != 1 {
            return Err(WireError::Invalid("snapshot tag"));
        }
        let tick = r.varint()?;
        let back = r.varint()?;
        if back > tick {
            return Err(WireError::Invalid("snapshot base after its tick"));
        }
        Ok((tick, if back == 0 { 0 } else { tick - back }))
    }

    /// Decodes and applies to `base`, giving the full snapshot.
    pub fn decode_onto(
        bytes: &[u8],
        base: &BTreeMap<u64, EntityState>,
    ) -> Result<Snapshot, WireError> {
        let (tick, base_tick) = Self::peek(bytes)?;
        let mut r = Reader::new(bytes);
        r.u8()?;
        r.varint()?;
        r.varint()?;
        let own = match r.u8()? {
            0 => None,
            1 => {
                let entity = r.varint()?;
                let mut v = [0i64; 6];
                for c in &mut v {
                    *c = r.zigzag()?;
                }
                let state = r.u8()?;
                let frame = InputFrame {
                    forward: r.u8()? as i8,
                    strafe: r.u8()? as i8,
                    yaw: r.u16()?,
                    pitch: r.u16()? as i16,
                    flags: r.u8()?,
                };
                // The client steps this body in its prediction: nothing the rules could not
                // have produced gets that far.
                let (pos, vel) = v.split_at(3);
                let max_pos = (u64::from(z3r0_sim::MAX_CHUNK_COORD.unsigned_abs()) + 1) * 32 * 1024;
                let max_vel = z3r0_sim::units::MAX_BODY_SPEED.unsigned_abs();
                if pos.iter().any(|c| c.unsigned_abs() > max_pos)
                    || vel.iter().any(|c| c.unsigned_abs() > max_vel)
                {
                    return Err(WireError::Invalid("own body beyond the rules' bounds"));
                }
                Some(OwnState {
                    entity,
                    pos: [v[0], v[1], v[2]],
                    vel: [v[3], v[4], v[5]],
                    state,
                    frame,
                })
            }
            tag => return Err(WireError::UnknownTag { what: "own", tag }),
        };
        let mut entities = if base_tick == 0 {
            BTreeMap::new()
        } else {
            base.clone()
        };
        let n = r.count("removed entities", MAX_ENTITIES)?;
        let mut id = 0u64;
        for i in 0..n {
            let d = r.varint()?;
            if i > 0 && d == 0 {
                return Err(WireError::Invalid("removed ids not increasing"));
            }
            id = id.wrapping_add(d);
            entities.remove(&id);
        }
        let n = r.count("changed entities", MAX_ENTITIES)?;
        let mut id = 0u64;
        for i in 0..n {
            let d = r.varint()?;
            if i > 0 && d == 0 {
                return Err(WireError::Invalid("entity ids not increasing"));
            }
            id = id.wrapping_add(d);
            let mask = r.u8()?;
            let state = if mask == FIELD_NEW {
                let mut pos = [0i64; 3];
                for c in &mut pos {
                    *c = r.zigzag()?;
                }
                EntityState {
                    pos,
                    yaw: r.u8()?,
                    pitch: r.u8()? as i8,
                    state: r.u8()?,
                }
            } else {
                if mask & !FIELD_ANY != 0 {
                    return Err(WireError::Invalid("entity field mask"));
                }
                let mut s = *entities
                    .get(&id)
                    .ok_or(WireError::Invalid("delta for an entity not in the base"))?;
                for i in 0..3 {
                    if mask & FIELD_POS[i] != 0 {
                        s.pos[i] = s.pos[i].wrapping_add(r.zigzag()?);
                    }
                }
                if mask & FIELD_YAW != 0 {
                    s.yaw = s.yaw.wrapping_add(r.u8()?);
                }
                if mask & FIELD_PITCH != 0 {
                    s.pitch = (s.pitch as u8).wrapping_add(r.u8()?) as i8;
                }
                if mask & FIELD_STATE != 0 {
                    s.state = r.u8()?;
                }
                s
            };
            entities.insert(id, state);
            if entities.len() > MAX_VIEW {
                return Err(WireError::TooMany {
                    what: "entities in view",
                    count: entities.len() as u64,
                    limit: MAX_VIEW as u64,
                });
            }
        }
        r.finish()?;
        Ok(Snapshot {
            tick,
            own,
            entities,
        })
    }
}

/// Server side, one per session: which ticks' snapshots go out, at the rate the client asked
/// for and at most one a tick, so a 60 Hz chain sends a 30 Hz client every other one.
#[derive(Debug, Clone)]
pub struct SnapshotPace {
    /// Microseconds between snapshots (0: every tick).
    every_us: u64,
    tick_us: u64,
    next_due_us: u64,
}

impl SnapshotPace {
    /// `hz` snapshots a second (0: every tick) on a chain of `tick_ms` ticks.
    pub fn new(hz: u16, tick_ms: u64) -> Self {
        Self {
            every_us: 1_000_000u64.checked_div(u64::from(hz)).unwrap_or(0),
            tick_us: tick_ms.saturating_mul(1000),
            next_due_us: 0,
        }
    }

    /// Whether the snapshot of `tick` goes out. The rhythm is kept (no drift from rounding
    /// to ticks), but a gap (blocks that did not come) is not made up with a burst.
    pub fn due(&mut self, tick: u64) -> bool {
        let at = tick.saturating_mul(self.tick_us);
        if at < self.next_due_us {
            return false;
        }
        let next = self.next_due_us.saturating_add(self.every_us);
        self.next_due_us = if next <= at {
            at.saturating_add(self.every_us)
        } else {
            next
        };
        true
    }
}

/// Server side, one per session: picks, encodes and remembers snapshots.
#[derive(Debug)]
pub struct SnapshotWriter {
    /// What the client will hold after each sent snapshot, by tick.
    sent: VecDeque<(u64, BTreeMap<u64, EntityState>)>,
    acked: u64,
    last_sent: BTreeMap<u64, u64>,
    /// Area of interest radius, in 1/1024 m.
    pub radius: i64,
    pub refresh_ticks: u64,
    pub budget: usize,
}

impl Default for SnapshotWriter {
    fn default() -> Self {
        Self {
            sent: VecDeque::new(),
            acked: 0,
            last_sent: BTreeMap::new(),
            radius: 96 * 1024,
            refresh_ticks: 10,
            budget: MAX_DATAGRAM,
        }
    }
}

/// What one built snapshot contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SnapshotStats {
    pub in_area: usize,
    pub sent: usize,
    pub deferred: usize,
    pub bytes: usize,
}

impl SnapshotWriter {
    /// A writer for an area of `radius_m` metres, refreshing each entity at least every
    /// `refresh_ticks`, within `budget` bytes per snapshot.
    pub fn new(radius_m: i64, refresh_ticks: u64, budget: usize) -> Self {
        Self {
            radius: radius_m * 1024,
            refresh_ticks,
            budget,
            ..Self::default()
        }
    }

    /// The client applied `tick`.
    pub fn ack(&mut self, tick: u64) {
        if tick > self.acked && self.sent.iter().any(|(t, _)| *t == tick) {
            self.acked = tick;
        }
    }

    #[cfg(test)]
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Builds the snapshot of `tick` for the player `own` among `entities`.
    pub fn build(
        &mut self,
        tick: u64,
        own: Option<&EntityRecord>,
        entities: &[EntityRecord],
    ) -> (Vec<u8>, SnapshotStats) {
        let empty = BTreeMap::new();
        let (base_tick, base) = self
            .sent
            .iter()
            .find(|(t, _)| *t == self.acked)
            .map_or((0, &empty), |(t, m)| (*t, m));
        let centre = own.map_or([0; 3], |o| o.pos);
        let mut area: Vec<(u64, i64, EntityState)> = entities
            .iter()
            .filter(|e| own.is_none_or(|o| o.id != e.id))
            .filter_map(|e| {
                let d = (0..3)
                    .map(|i| (e.pos[i] - centre[i]).abs())
                    .max()
                    .unwrap_or(0);
                (d <= self.radius).then(|| (e.id, d, EntityState::quantise(e)))
            })
            .collect();
        let mut stats = SnapshotStats {
            in_area: area.len(),
            ..Default::default()
        };
        // Due for a refresh first (longest waiting first), then nearest.
        let since = |id: u64| tick.saturating_sub(self.last_sent.get(&id).copied().unwrap_or(0));
        area.sort_by_key(|&(id, d, _)| {
            let wait = since(id);
            if wait >= self.refresh_ticks {
                (0, u64::MAX - wait, 0)
            } else {
                (1, 0, d)
            }
        });
        let in_area: BTreeMap<u64, ()> = area.iter().map(|&(id, _, _)| (id, ())).collect();
        let mut delta = SnapshotDelta {
            tick,
            base: base_tick,
            own: own.map(|o| OwnState {
                entity: o.id,
                pos: o.pos,
                vel: o.vel,
                state: o.state,
                frame: o.frame,
            }),
            removed: base
                .keys()
                .filter(|id| !in_area.contains_key(id))
                .copied()
                .collect(),
            changed: Vec::new(),
        };
        // Removals get at most half the budget (an id is at most 10 bytes); those that do not
        // fit stay in the client's view and go out in a later snapshot.
        let max_removed = self.budget / 2 / 10;
        let kept_for_later: Vec<u64> = delta
            .removed
            .split_off(delta.removed.len().min(max_removed));
        let mut client_view: BTreeMap<u64, EntityState> = base
            .iter()
            .filter(|(id, _)| in_area.contains_key(id) || kept_for_later.contains(id))
            .map(|(&id, &s)| (id, s))
            .collect();
        // Size without entities, plus the entity count's varint (at most 2 bytes here).
        let mut size = delta.encode(base).len() + 2;
        let mut chosen = Vec::new();
        for &(id, _, state) in &area {
            if base.get(&id) == Some(&state) {
                self.last_sent.insert(id, tick);
                continue;
            }
            // Upper bound of this entity's cost: its full id (ids are sent as gaps), mask, fields.
            let mut w = Writer::new();
            w.varint(id);
            encode_entity(&mut w, base.get(&id), &state);
            if size + w.len() > self.budget {
                stats.deferred += 1;
                continue;
            }
            size += w.len();
            chosen.push((id, state));
            client_view.insert(id, state);
            self.last_sent.insert(id, tick);
        }
        chosen.sort_by_key(|&(id, _)| id);
        delta.changed = chosen;
        let bytes = delta.encode(base);
        stats.sent = delta.changed.len();
        stats.bytes = bytes.len();
        self.last_sent.retain(|id, _| in_area.contains_key(id));
        self.sent.push_back((tick, client_view));
        while self.sent.len() > HISTORY {
            self.sent.pop_front();
        }
        (bytes, stats)
    }
}

/// Client side: reconstructs snapshots and keeps the newest applied.
#[derive(Debug, Default)]
pub struct SnapshotReader {
    history: VecDeque<(u64, BTreeMap<u64, EntityState>)>,
    newest: u64,
    pub stale: u64,
    pub missing_base: u64,
}

/// What became of a received snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Newer than anything applied: apply it (and acknowledge its tick).
    Apply(Snapshot),
    /// Not newer than the newest applied: dropped.
    Stale,
    /// Its base is no longer held: dropped (the server falls back to a full snapshot).
    MissingBase,
}

impl SnapshotReader {
    pub fn newest(&self) -> u64 {
        self.newest
    }

    pub fn receive(&mut self, bytes: &[u8]) -> Result<Received, WireError> {
        let (tick, base) = SnapshotDelta::peek(bytes)?;
        if tick <= self.newest {
            self.stale += 1;
            return Ok(Received::Stale);
        }
        let empty = BTreeMap::new();
        let base_map = if base == 0 {
            &empty
        } else {
            match self.history.iter().find(|(t, _)| *t == base) {
                Some((_, m)) => m,
                None => {
                    self.missing_base += 1;
                    return Ok(Received::MissingBase);
                }
            }
        };
        let snapshot = SnapshotDelta::decode_onto(bytes, base_map)?;
        self.newest = tick;
        self.history.push_back((tick, snapshot.entities.clone()));
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
        Ok(Received::Apply(snapshot))
    }
}

#[cfg(test)]
mod pace_tests {
    use super::SnapshotPace;

    fn sent(hz: u16, tick_ms: u64, ticks: std::ops::Range<u64>) -> usize {
        let mut pace = SnapshotPace::new(hz, tick_ms);
        ticks.filter(|&t| pace.due(t)).count()
    }

    #[test]
    fn a_client_gets_the_rate_it_asked_for_at_most_one_a_tick() {
        // 30 Hz from a 62.5 Hz chain: 30 in a second of ticks, within one.
        let n = sent(30, 16, 1_000..1_063);
        assert!((29..=31).contains(&n), "{n}");
        // 30 Hz from a 20 Hz chain: every tick.
        assert_eq!(sent(30, 50, 1_000..1_020), 20);
        // 0: every tick.
        assert_eq!(sent(0, 16, 0..100), 100);
        // 20 Hz from a 40 Hz chain: every other tick.
        assert_eq!(sent(20, 25, 1_000..1_040), 20);
    }

    #[test]
    fn a_gap_in_blocks_is_not_made_up_with_a_burst() {
        let mut pace = SnapshotPace::new(20, 16);
        assert!(pace.due(100));
        // Ten seconds without blocks, then blocks again: the first is due, the next not.
        assert!(pace.due(725));
        assert!(!pace.due(726));
        assert!(!pace.due(727));
        assert!(pace.due(729));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The player's own body is stepped by the client's prediction, which multiplies its
    /// velocity: a node's body beyond what the rules allow is refused at decoding, not
    /// overflowed in the physics.
    #[test]
    fn an_own_body_beyond_the_rules_is_refused() {
        let own = |pos: [i64; 3], vel: [i64; 3]| SnapshotDelta {
            tick: 5,
            base: 0,
            own: Some(OwnState {
                entity: 1,
                pos,
                vel,
                state: 1,
                frame: InputFrame::default(),
            }),
            removed: Vec::new(),
            changed: Vec::new(),
        };
        let decode = |d: SnapshotDelta| {
            SnapshotDelta::decode_onto(&d.encode(&BTreeMap::new()), &BTreeMap::new())
        };
        assert!(decode(own([1_024, 20_480, -3_000], [220, -900, 0])).is_ok());
        for (pos, vel) in [
            ([0, 0, 0], [i64::MAX, 0, 0]),
            ([0, 0, 0], [0, i64::MIN, 0]),
            ([i64::MAX, 0, 0], [0, 0, 0]),
            ([0, 0, i64::MIN], [0, 0, 0]),
        ] {
            assert_eq!(
                decode(own(pos, vel)),
                Err(WireError::Invalid("own body beyond the rules' bounds")),
                "{pos:?} {vel:?}"
            );
        }
    }

    fn walker(id: u64, tick: u64) -> EntityRecord {
        let t = tick as i64;
        EntityRecord {
            id,
            player: [id as u8; 32],
            // A grid 3 m apart, everyone walking the same way.
            pos: [
                (id as i64 % 12) * 3072 + t * 220,
                10 * 1024,
                (id as i64 / 12) * 3072 - t * 90,
            ],
            vel: [220, 0, -90],
            state: 1,
            frame: InputFrame {
                forward: 127,
                strafe: 0,
                yaw: (id as u16).wrapping_mul(977).wrapping_add(tick as u16 * 40),
                pitch: 0,
                flags: 0,
            },
        }
    }

    /// A standing player in the middle of the walkers.
    fn watcher(id: u64) -> EntityRecord {
        EntityRecord {
            pos: [18 * 1024, 10 * 1024, 15 * 1024],
            vel: [0; 3],
            ..walker(id, 0)
        }
    }

    fn exchange(
        writer: &mut SnapshotWriter,
        reader: &mut SnapshotReader,
        tick: u64,
        all: &[EntityRecord],
        own: &EntityRecord,
    ) -> (Snapshot, SnapshotStats) {
        let (bytes, stats) = writer.build(tick, Some(own), all);
        assert!(bytes.len() <= MAX_DATAGRAM, "{} bytes", bytes.len());
        match reader.receive(&bytes).unwrap() {
            Received::Apply(s) => {
                writer.ack(s.tick);
                (s, stats)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deltas_reconstruct_exactly_what_the_server_sent() {
        let mut writer = SnapshotWriter::default();
        let mut reader = SnapshotReader::default();
        let own = walker(0, 0);
        for tick in 1..60 {
            let all: Vec<_> = (0..30).map(|id| walker(id, tick)).collect();
            let (snap, stats) = exchange(&mut writer, &mut reader, tick, &all, &own);
            assert_eq!(snap.own.unwrap().pos, own.pos, "own state is exact");
            assert_eq!(stats.deferred, 0);
            for e in &all[1..] {
                assert_eq!(snap.entities[&e.id], EntityState::quantise(e));
            }
            assert!(
                !snap.entities.contains_key(&0),
                "own entity is not a remote one"
            );
        }
    }

    #[test]
    fn a_hundred_walkers_fit_one_datagram_and_stay_small() {
        let mut writer = SnapshotWriter::default();
        let mut reader = SnapshotReader::default();
        let own = watcher(1000);
        let mut sizes = Vec::new();
        for tick in 1..100 {
            let all: Vec<_> = (0..100).map(|id| walker(id, tick)).collect();
            let (snap, stats) = exchange(&mut writer, &mut reader, tick, &all, &own);
            sizes.push(stats.bytes);
            if tick > 10 {
                assert_eq!(snap.entities.len(), 100);
            }
        }
        let steady = sizes[20..].iter().sum::<usize>() / sizes[20..].len();
        // 100 moving entities in well under a datagram: about 5 bytes each.
        assert!(steady < 650, "steady snapshot {steady} bytes");
    }

    #[test]
    fn a_busy_area_is_prioritised_and_every_entity_is_refreshed() {
        let mut writer = SnapshotWriter::new(96, 10, 300);
        let mut reader = SnapshotReader::default();
        let own = watcher(1000);
        let mut seen_at: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for tick in 1..80 {
            let all: Vec<_> = (0..120).map(|id| walker(id, tick)).collect();
            let (bytes, stats) = writer.build(tick, Some(&own), &all);
            assert!(bytes.len() <= 300);
            assert!(stats.deferred > 0);
            let Received::Apply(s) = reader.receive(&bytes).unwrap() else {
                panic!()
            };
            writer.ack(s.tick);
            for e in &all {
                if s.entities.get(&e.id) == Some(&EntityState::quantise(e)) {
                    seen_at.entry(e.id).or_default().push(tick);
                }
            }
        }
        // Every entity is brought up to date again and again despite the budget.
        for id in 0..120 {
            let ticks = seen_at.get(&id).map_or(0, Vec::len);
            assert!(ticks >= 3, "entity {id} refreshed {ticks} times");
        }
    }

    #[test]
    fn stale_and_baseless_snapshots_are_dropped() {
        let mut writer = SnapshotWriter::default();
        let mut reader = SnapshotReader::default();
        let own = walker(50, 0);
        let all: Vec<_> = (0..5).map(|id| walker(id, 1)).collect();
        let (first, _) = writer.build(1, Some(&own), &all);
        let (second, _) = writer.build(2, Some(&own), &all);
        assert!(matches!(
            reader.receive(&second).unwrap(),
            Received::Apply(_)
        ));
        assert_eq!(reader.receive(&first).unwrap(), Received::Stale);
        writer.ack(2);
        let (third, _) = writer.build(3, Some(&own), &all);
        // A fresh reader does not hold tick 2.
        let mut fresh = SnapshotReader::default();
        assert_eq!(fresh.receive(&third).unwrap(), Received::MissingBase);
        // Acknowledging an unknown tick does not move the base.
        writer.ack(1_000);
        assert_eq!(writer.acked(), 2);
    }

    #[test]
    fn a_crowd_leaving_at_once_is_removed_within_the_budget() {
        let mut writer = SnapshotWriter::new(96, 10, 400);
        let mut reader = SnapshotReader::default();
        let own = watcher(5000);
        // Large ids: the removals are long varints.
        let crowd: Vec<_> = (0..150)
            .map(|i| EntityRecord {
                id: i * 1_000_003,
                ..walker(i, 1)
            })
            .collect();
        let mut seen = 0;
        for tick in 1..40 {
            let (bytes, _) = writer.build(tick, Some(&own), &crowd);
            let Received::Apply(s) = reader.receive(&bytes).unwrap() else {
                panic!()
            };
            writer.ack(s.tick);
            seen = s.entities.len();
        }
        assert_eq!(seen, 150, "the crowd was in view first");
        let mut gone = crowd.clone();
        for e in &mut gone {
            e.pos[0] += 1_000 * 1024;
        }
        let mut left = usize::MAX;
        for tick in 40..60 {
            let (bytes, _) = writer.build(tick, Some(&own), &gone);
            assert!(bytes.len() <= 400, "{} bytes", bytes.len());
            let Received::Apply(s) = reader.receive(&bytes).unwrap() else {
                panic!()
            };
            writer.ack(s.tick);
            left = s.entities.len();
        }
        assert_eq!(left, 0, "everyone who left was removed");
    }

    #[test]
    fn entities_leaving_the_area_are_removed() {
        let mut writer = SnapshotWriter::default();
        let mut reader = SnapshotReader::default();
        let own = walker(9, 0);
        let near: Vec<_> = (0..4).map(|id| walker(id, 1)).collect();
        let (snap, _) = exchange(&mut writer, &mut reader, 1, &near, &own);
        assert_eq!(snap.entities.len(), 4);
        let mut moved = near.clone();
        moved[2].pos[0] += 500 * 1024;
        let (snap, _) = exchange(&mut writer, &mut reader, 2, &moved, &own);
        assert_eq!(snap.entities.len(), 3);
        assert!(!snap.entities.contains_key(&2));
    }

    proptest! {
        #[test]
        fn arbitrary_snapshot_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
            let base: BTreeMap<u64, EntityState> = (0..10).map(|i| (i, EntityState::default())).collect();
            let _ = SnapshotDelta::decode_onto(&bytes, &base);
            let mut reader = SnapshotReader::default();
            let _ = reader.receive(&bytes);
        }
    }
}
