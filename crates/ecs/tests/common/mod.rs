//! Components shared by the ECS tests.
#![allow(dead_code, clippy::unwrap_used)]

use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};
use z3r0_ecs::{Change, Component, EntityId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos(pub i64, pub i64, pub i64);

impl Write for Pos {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.write(buf);
        self.1.write(buf);
        self.2.write(buf);
    }
}
impl EncodeSize for Pos {
    fn encode_size(&self) -> usize {
        24
    }
}
impl Read for Pos {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Pos(i64::read(buf)?, i64::read(buf)?, i64::read(buf)?))
    }
}
impl Component for Pos {
    const TABLE: u16 = 1;
    const NAME: &'static str = "pos";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vel(pub i64, pub i64, pub i64);

impl Write for Vel {
    fn write(&self, buf: &mut impl BufMut) {
        Pos(self.0, self.1, self.2).write(buf);
    }
}
impl EncodeSize for Vel {
    fn encode_size(&self) -> usize {
        24
    }
}
impl Read for Vel {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let p = Pos::read(buf)?;
        Ok(Vel(p.0, p.1, p.2))
    }
}
impl Component for Vel {
    const TABLE: u16 = 2;
    const NAME: &'static str = "vel";
}

/// A health value that must be at most 100: decoding rejects anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Health(pub u8);

impl Write for Health {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.write(buf);
    }
}
impl EncodeSize for Health {
    fn encode_size(&self) -> usize {
        1
    }
}
impl Read for Health {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            h @ 0..=100 => Ok(Health(h)),
            _ => Err(CodecError::Invalid("Health", "above 100")),
        }
    }
}
impl Component for Health {
    const TABLE: u16 = 7;
    const NAME: &'static str = "health";
}

/// Receipts the tests' hooks emit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    Spawned(EntityId),
    Despawned(EntityId),
    HealthSet(EntityId, u8),
    HealthGone(EntityId, u8),
    Moved(EntityId),
}

pub fn alive_hook(e: EntityId, c: Change<'_, z3r0_ecs::Alive>, out: &mut Vec<Receipt>) {
    match c {
        Change::Inserted(_) => out.push(Receipt::Spawned(e)),
        Change::Removed(_) => out.push(Receipt::Despawned(e)),
        Change::Changed(_) => {}
    }
}

pub fn health_hook(e: EntityId, c: Change<'_, Health>, out: &mut Vec<Receipt>) {
    match c {
        Change::Inserted(h) | Change::Changed(h) => out.push(Receipt::HealthSet(e, h.0)),
        Change::Removed(h) => out.push(Receipt::HealthGone(e, h.0)),
    }
}

pub fn pos_hook(e: EntityId, c: Change<'_, Pos>, out: &mut Vec<Receipt>) {
    if let Change::Changed(_) = c {
        out.push(Receipt::Moved(e));
    }
}

/// A world with the test components and hooks registered.
pub fn world() -> z3r0_ecs::World<Receipt> {
    let mut w = z3r0_ecs::World::new();
    w.register::<Pos>().unwrap();
    w.register::<Vel>().unwrap();
    w.register::<Health>().unwrap();
    w.add_hook::<z3r0_ecs::Alive>(alive_hook).unwrap();
    w.add_hook::<Health>(health_hook).unwrap();
    w.add_hook::<Pos>(pos_hook).unwrap();
    w
}
