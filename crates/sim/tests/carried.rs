//! A game plugin's state on a player travels with its body: the exit carries the player's
//! plugin components as bytes, and the destination, running the same plugins, puts them on
//! the entering body. What a player may hold is bounded, so every exit carries all of it.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use bytes::BufMut;
use common::ALICE;
use common::two_zones::{Zone, config, walk_out, zone_running};
use commonware_codec::{
    Buf, Decode as _, Encode as _, EncodeSize, Error as CodecError, Read, ReadExt as _, Write,
};
use std::sync::Arc;
use z3r0_ecs::Component as _;
use z3r0_sim::handoff::{Carried, Exit, MAX_CARRIED, MAX_CARRIED_BYTES, Record};
use z3r0_sim::plugin::{GamePlugin, PLUGIN_TABLES, PluginContext, Plugins, Registry};
use z3r0_sim::{Action, Reason, Receipt, SimError};

/// A player's count of its own plugin actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Count(u64);

impl Write for Count {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.write(buf);
    }
}
impl EncodeSize for Count {
    fn encode_size(&self) -> usize {
        8
    }
}
impl Read for Count {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Count(u64::read(buf)?))
    }
}
impl z3r0_ecs::Component for Count {
    const TABLE: u16 = PLUGIN_TABLES;
    const NAME: &'static str = "count";
}

/// A player's note: as many bytes as the action's payload asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Note(Vec<u8>);

impl Write for Note {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_u16(self.0.len() as u16);
        buf.put_slice(&self.0);
    }
}
impl EncodeSize for Note {
    fn encode_size(&self) -> usize {
        2 + self.0.len()
    }
}
impl Read for Note {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let len = usize::from(u16::read(buf)?);
        if buf.remaining() < len {
            return Err(CodecError::EndOfBuffer);
        }
        let mut bytes = vec![0; len];
        buf.copy_to_slice(&mut bytes);
        Ok(Note(bytes))
    }
}
impl z3r0_ecs::Component for Note {
    const TABLE: u16 = PLUGIN_TABLES + 1;
    const NAME: &'static str = "note";
}

/// Kind 0 counts; kind 1 writes a note of `payload[0]` bytes.
struct Counter;

impl GamePlugin for Counter {
    fn name(&self) -> &'static str {
        "counter"
    }
    fn register(&self, registry: &mut Registry<'_>) -> Result<(), SimError> {
        registry.component::<Count>()?;
        registry.component::<Note>()
    }
    fn apply(&self, cx: &mut PluginContext<'_>, kind: u8, payload: &[u8]) -> Result<(), Reason> {
        let e = cx.entity();
        match kind {
            0 => {
                let n = cx.get::<Count>(e).map_or(0, |c| c.0);
                cx.insert(e, Count(n + 1))
            }
            _ => {
                let len = usize::from(*payload.first().ok_or(Reason::BadFrame)?);
                cx.insert(e, Note(vec![7; len]))
            }
        }
    }
}

fn counting(x: u16) -> Zone {
    zone_running(config(x), Plugins::new(vec![Arc::new(Counter)]))
}

fn act(kind: u8, payload: Vec<u8>) -> Action {
    Action::Plugin {
        plugin: 0,
        kind,
        payload,
    }
}

#[test]
fn a_players_plugin_state_enters_the_next_zone_with_its_body() {
    let (mut a, mut b) = (counting(0), counting(1));
    a.tick(&[(ALICE, Action::Join)], &[]);
    for _ in 0..3 {
        a.tick(&[(ALICE, act(0, Vec::new()))], &[]);
    }
    a.tick(&[(ALICE, act(1, vec![5]))], &[]);
    walk_out(&mut a, ALICE, 0);
    let (entity, exit) = a.only_exit();
    assert_eq!(
        exit.carried,
        vec![
            Carried {
                table: Count::TABLE,
                value: Count(3).encode().to_vec()
            },
            Carried {
                table: Note::TABLE,
                value: Note(vec![7; 5]).encode().to_vec()
            },
        ]
    );
    let import = a.export(Record::Exit(exit.clone()), entity);
    let receipts = b.tick(&[], &[import]);
    assert!(
        receipts
            .iter()
            .any(|r| matches!(r, Receipt::Entered { .. }))
    );
    let e = b.sim.player(&ALICE).unwrap();
    assert_eq!(b.sim.ecs.get::<Count>(e), Some(&Count(3)));
    assert_eq!(b.sim.ecs.get::<Note>(e), Some(&Note(vec![7; 5])));
    // And it goes on counting there.
    b.tick(&[(ALICE, act(0, Vec::new()))], &[]);
    assert_eq!(b.sim.ecs.get::<Count>(e), Some(&Count(4)));
}

#[test]
fn a_player_holds_no_more_plugin_state_than_an_exit_carries() {
    let mut a = counting(0);
    a.tick(&[(ALICE, Action::Join)], &[]);
    let fits = MAX_CARRIED_BYTES - 2;
    let receipts = a.tick(&[(ALICE, act(1, vec![fits as u8 + 1]))], &[]);
    assert!(
        receipts.iter().any(|r| matches!(
            r,
            Receipt::Rejected {
                reason: Reason::PlayerStateTooLarge,
                ..
            }
        )),
        "{receipts:?}"
    );
    let e = a.sim.player(&ALICE).unwrap();
    assert_eq!(a.sim.ecs.get::<Note>(e), None, "nothing written");
    a.tick(&[(ALICE, act(1, vec![fits as u8]))], &[]);
    assert_eq!(a.sim.ecs.get::<Note>(e).map(|n| n.0.len()), Some(fits));
    // The refusal has a stable code, as receipts carry it.
    assert_eq!(Reason::from_code(35), Some(Reason::PlayerStateTooLarge));
    // A zone of its own has no exits: its chains keep the rules they were made with.
    let mut alone =
        z3r0_sim::Sim::genesis_with(common::tiny_zone(), Plugins::new(vec![Arc::new(Counter)]))
            .unwrap();
    let (join, note) = (
        Action::Join.encode().to_vec(),
        act(1, vec![250]).encode().to_vec(),
    );
    let mut receipts = Vec::new();
    alone.execute_tick(1, [(&ALICE, join.as_slice())], &mut receipts);
    alone.execute_tick(2, [(&ALICE, note.as_slice())], &mut receipts);
    let e = alone.player(&ALICE).unwrap();
    assert_eq!(alone.ecs.get::<Note>(e).map(|n| n.0.len()), Some(250));
}

/// Decodes bytes as an exit record (what a certified import carries).
fn decode(bytes: &[u8]) -> Result<Exit, CodecError> {
    Exit::decode_cfg(commonware_codec::Copying(bytes), &())
}

#[test]
fn an_exit_without_plugin_state_encodes_as_before_and_a_bad_carry_is_refused() {
    let plain = Exit {
        to: 1,
        seq: 2,
        tick: 3,
        player: ALICE,
        ..Exit::default()
    };
    let bytes = plain.encode().to_vec();
    assert_eq!(
        bytes.last(),
        Some(&0),
        "the flags byte of an exit with no session"
    );
    assert_eq!(bytes.len(), plain.encode_size());
    assert_eq!(decode(&bytes).unwrap(), plain);
    let carrying = |carried: Vec<Carried>| Exit {
        carried,
        ..plain.clone()
    };
    let one = |table: u16, len: usize| Carried {
        table,
        value: vec![1; len],
    };
    let good = carrying(vec![
        one(PLUGIN_TABLES, 3),
        one(PLUGIN_TABLES + 4, MAX_CARRIED_BYTES),
    ]);
    let bytes = good.encode().to_vec();
    assert_eq!(bytes.len(), good.encode_size());
    assert_eq!(decode(&bytes).unwrap(), good);
    // Each of these has another encoding, or none: refused.
    for bad in [
        carrying(vec![one(PLUGIN_TABLES - 1, 1)]),
        carrying(vec![one(PLUGIN_TABLES + 1, 1), one(PLUGIN_TABLES, 1)]),
        carrying(vec![one(PLUGIN_TABLES, 1), one(PLUGIN_TABLES, 1)]),
        carrying(vec![one(PLUGIN_TABLES, MAX_CARRIED_BYTES + 1)]),
        carrying(
            (0..=MAX_CARRIED as u16)
                .map(|i| one(PLUGIN_TABLES + i, 1))
                .collect(),
        ),
    ] {
        assert!(decode(&bad.encode()).is_err(), "{bad:?}");
    }
    // The carry flag with no components, an unknown flag, a length beyond the bytes.
    let mut empty = plain.encode().to_vec();
    *empty.last_mut().unwrap() = 2;
    empty.push(0);
    assert!(decode(&empty).is_err());
    let mut unknown = plain.encode().to_vec();
    *unknown.last_mut().unwrap() = 4;
    assert!(decode(&unknown).is_err());
    let mut short = good.encode().to_vec();
    short.truncate(short.len() - 1);
    assert!(decode(&short).is_err());
}

/// A one-byte plugin component at table `PLUGIN_TABLES + 10 + N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Flag<const N: u16>(u8);

impl<const N: u16> Write for Flag<N> {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_u8(self.0);
    }
}
impl<const N: u16> EncodeSize for Flag<N> {
    fn encode_size(&self) -> usize {
        1
    }
}
impl<const N: u16> Read for Flag<N> {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Flag(u8::read(buf)?))
    }
}
impl<const N: u16> z3r0_ecs::Component for Flag<N> {
    const TABLE: u16 = PLUGIN_TABLES + 10 + N;
    const NAME: &'static str = "flag";
}

/// Nine components; kind N sets component N on the player.
struct Flags;

impl GamePlugin for Flags {
    fn name(&self) -> &'static str {
        "flags"
    }
    fn register(&self, r: &mut Registry<'_>) -> Result<(), SimError> {
        r.component::<Flag<0>>()?;
        r.component::<Flag<1>>()?;
        r.component::<Flag<2>>()?;
        r.component::<Flag<3>>()?;
        r.component::<Flag<4>>()?;
        r.component::<Flag<5>>()?;
        r.component::<Flag<6>>()?;
        r.component::<Flag<7>>()?;
        r.component::<Flag<8>>()
    }
    fn apply(&self, cx: &mut PluginContext<'_>, kind: u8, _: &[u8]) -> Result<(), Reason> {
        let e = cx.entity();
        let v = cx.tick() as u8;
        match kind {
            0 => cx.insert(e, Flag::<0>(v)),
            1 => cx.insert(e, Flag::<1>(v)),
            2 => cx.insert(e, Flag::<2>(v)),
            3 => cx.insert(e, Flag::<3>(v)),
            4 => cx.insert(e, Flag::<4>(v)),
            5 => cx.insert(e, Flag::<5>(v)),
            6 => cx.insert(e, Flag::<6>(v)),
            7 => cx.insert(e, Flag::<7>(v)),
            _ => cx.insert(e, Flag::<8>(v)),
        }
    }
}

#[test]
fn a_player_holds_at_most_as_many_plugin_components_as_an_exit_carries() {
    let mut a = zone_running(config(0), Plugins::new(vec![Arc::new(Flags)]));
    a.tick(&[(ALICE, Action::Join)], &[]);
    let rejected = |receipts: &[Receipt]| {
        receipts.iter().any(|r| {
            matches!(
                r,
                Receipt::Rejected {
                    reason: Reason::PlayerStateTooLarge,
                    ..
                }
            )
        })
    };
    for kind in 0..MAX_CARRIED as u8 {
        assert!(!rejected(&a.tick(&[(ALICE, act(kind, Vec::new()))], &[])));
    }
    // A ninth table is refused; setting one it holds again is not.
    assert!(rejected(&a.tick(&[(ALICE, act(8, Vec::new()))], &[])));
    assert!(!rejected(&a.tick(&[(ALICE, act(3, Vec::new()))], &[])));
    let e = a.sim.player(&ALICE).unwrap();
    assert_eq!(a.sim.ecs.get::<Flag<8>>(e), None);
    assert_eq!(
        a.sim.ecs.encoded_components(e, PLUGIN_TABLES).len(),
        MAX_CARRIED
    );
}
