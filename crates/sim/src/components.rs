//! The game's components (ECS tables). Table numbers are part of the state commitment: never
//! renumber or reuse them.

use crate::action::{InputFrame, PlayerKey};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};
use z3r0_ecs::Component;
use z3r0_voxel::BlockId;

/// Implements the codec traits for a struct from a list of its fields (each field's type must
/// implement them).
macro_rules! record {
    ($name:ident { $($field:ident),* }) => {
        impl Write for $name {
            fn write(&self, buf: &mut impl BufMut) {
                $(self.$field.write(buf);)*
            }
        }
        impl EncodeSize for $name {
            fn encode_size(&self) -> usize {
                0 $(+ self.$field.encode_size())*
            }
        }
    };
}

/// The account behind a player entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Player {
    pub key: PlayerKey,
}
record!(Player { key });
impl Read for Player {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Player {
            key: <[u8; 32]>::read(buf)?,
        })
    }
}
impl Component for Player {
    const TABLE: u16 = 10;
    const NAME: &'static str = "player";
}

/// Physical state: feet position and velocity in fixed point (1/1024 m, per tick).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Body {
    pub pos: [i64; 3],
    pub vel: [i64; 3],
    /// Bit 0 on ground, bit 1 in water, bit 2 jump held last tick, bit 3 pushing into a wall.
    pub state: u8,
}
pub mod body_state {
    pub const ON_GROUND: u8 = 1;
    pub const IN_WATER: u8 = 2;
    pub const JUMP_HELD: u8 = 4;
    pub const BLOCKED: u8 = 8;
    pub const ALL: u8 = 15;
}
record!(Body { pos, vel, state });
impl Read for Body {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let mut v = [0i64; 6];
        for x in &mut v {
            *x = i64::read(buf)?;
        }
        let state = u8::read(buf)?;
        if state & !body_state::ALL != 0 {
            return Err(CodecError::Invalid("Body", "unknown state bits"));
        }
        Ok(Body {
            pos: [v[0], v[1], v[2]],
            vel: [v[3], v[4], v[5]],
            state,
        })
    }
}
impl Component for Body {
    const TABLE: u16 = 11;
    const NAME: &'static str = "body";
}

/// The controls a player holds (the last input frame) and the tick it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Control {
    pub frame: InputFrame,
    /// The tick the frame in force targets (a late frame can be applied a block later).
    pub last_input_tick: u64,
}
impl Write for Control {
    fn write(&self, buf: &mut impl BufMut) {
        crate::action::Action::Input(self.frame).write(buf);
        self.last_input_tick.write(buf);
    }
}
impl EncodeSize for Control {
    fn encode_size(&self) -> usize {
        8 + 8
    }
}
impl Read for Control {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let crate::action::Action::Input(frame) = crate::action::Action::read_cfg(buf, &())? else {
            return Err(CodecError::Invalid("Control", "not an input frame"));
        };
        Ok(Control {
            frame,
            last_input_tick: u64::read(buf)?,
        })
    }
}
impl Component for Control {
    const TABLE: u16 = 12;
    const NAME: &'static str = "control";
}

pub const INVENTORY_SLOTS: usize = 9;
pub const STACK: u16 = 64;

/// Blocks carried: slots of (block, count); an empty slot is (0, 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Inventory {
    pub slots: [(BlockId, u16); INVENTORY_SLOTS],
}
impl Inventory {
    pub fn count(&self, block: BlockId) -> u32 {
        self.slots
            .iter()
            .filter(|s| s.0 == block && s.1 > 0)
            .map(|s| u32::from(s.1))
            .sum()
    }

    /// Adds one block; false if there is no room.
    pub fn add(&mut self, block: BlockId) -> bool {
        if let Some(s) = self
            .slots
            .iter_mut()
            .find(|s| s.0 == block && s.1 > 0 && s.1 < STACK)
        {
            s.1 += 1;
            return true;
        }
        if let Some(s) = self.slots.iter_mut().find(|s| s.1 == 0) {
            *s = (block, 1);
            return true;
        }
        false
    }

    /// Takes one block; false if there is none.
    pub fn take(&mut self, block: BlockId) -> bool {
        match self
            .slots
            .iter_mut()
            .rev()
            .find(|s| s.0 == block && s.1 > 0)
        {
            Some(s) => {
                s.1 -= 1;
                if s.1 == 0 {
                    *s = (0, 0);
                }
                true
            }
            None => false,
        }
    }
}
impl Write for Inventory {
    fn write(&self, buf: &mut impl BufMut) {
        for (b, c) in self.slots {
            buf.put_u16(b);
            buf.put_u16(c);
        }
    }
}
impl EncodeSize for Inventory {
    fn encode_size(&self) -> usize {
        INVENTORY_SLOTS * 4
    }
}
impl Read for Inventory {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let mut inv = Inventory::default();
        for s in &mut inv.slots {
            *s = (u16::read(buf)?, u16::read(buf)?);
            let canonical_empty = s.1 != 0 || s.0 == 0;
            if s.1 > STACK || !canonical_empty {
                return Err(CodecError::Invalid("Inventory", "bad slot"));
            }
        }
        Ok(inv)
    }
}
impl Component for Inventory {
    const TABLE: u16 = 13;
    const NAME: &'static str = "inventory";
}

/// Most players one claim can grant build rights to.
pub const MAX_BUILDERS: usize = 8;

/// A claimed chunk column: its owner decides who may build there.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Claim {
    pub column: (i32, i32),
    pub owner: PlayerKey,
    /// Sorted, no duplicates, at most [`MAX_BUILDERS`].
    pub builders: Vec<PlayerKey>,
}
impl Claim {
    pub fn may_build(&self, who: &PlayerKey) -> bool {
        self.owner == *who || self.builders.binary_search(who).is_ok()
    }
}
impl Write for Claim {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_i32(self.column.0);
        buf.put_i32(self.column.1);
        buf.put_slice(&self.owner);
        buf.put_u8(self.builders.len() as u8);
        for b in &self.builders {
            buf.put_slice(b);
        }
    }
}
impl EncodeSize for Claim {
    fn encode_size(&self) -> usize {
        8 + 32 + 1 + 32 * self.builders.len()
    }
}
impl Read for Claim {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let column = (i32::read(buf)?, i32::read(buf)?);
        let owner = <[u8; 32]>::read(buf)?;
        let n = usize::from(u8::read(buf)?);
        if n > MAX_BUILDERS {
            return Err(CodecError::Invalid("Claim", "too many builders"));
        }
        let mut builders = Vec::with_capacity(n);
        for _ in 0..n {
            let k = <[u8; 32]>::read(buf)?;
            if builders.last().is_some_and(|last| *last >= k) {
                return Err(CodecError::Invalid("Claim", "builders not sorted"));
            }
            builders.push(k);
        }
        Ok(Claim {
            column,
            owner,
            builders,
        })
    }
}
impl Component for Claim {
    const TABLE: u16 = 14;
    const NAME: &'static str = "claim";
}

/// A session key the account has delegated its actions to, valid through tick `until`. Actions
/// signed by `key` act for the account (one session per account; a new delegation replaces it),
/// so the account key can stay offline while the session key signs every input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Session {
    pub key: PlayerKey,
    pub until: u64,
}
record!(Session { key, until });
impl Read for Session {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Session {
            key: <[u8; 32]>::read(buf)?,
            until: u64::read(buf)?,
        })
    }
}
impl Component for Session {
    const TABLE: u16 = 15;
    const NAME: &'static str = "session";
}
