//! Certified handoff between the zones of a world.
//!
//! A body whose centre walks out of its zone into a neighbour's columns leaves through an
//! [`Exit`] record: the source zone's rules remove the player and commit the record, numbered in
//! order per destination. The destination admits it from an [`Import`]: the source block's
//! header, the source committee's finality certificate for it, and a Merkle proof of the record
//! against the records root that header commits to. Nobody is trusted to relay: any validator
//! may carry an import, and every one checks it against the source committee named by the world.
//!
//! Each zone keeps one [`Link`] per neighbour: exits sent, exits received and exits the
//! neighbour confirmed. The destination takes exits strictly in order (`seq == received`), so
//! no exit enters twice and none is skipped; the source keeps each exit until an import of the
//! destination's link shows it received, then deletes it. State grows with bodies in transit,
//! never with the history of crossings.

use crate::action::PlayerKey;
use crate::components::{Body, Control, Inventory, Session};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};
use std::collections::BTreeMap;
use z3r0_chain::{ChainId, Committee, FinalityProof, Hash};
use z3r0_ecs::{Component, EntityId, MerkleProof};

/// Most bytes of one import (a certificate of a large committee and a deep proof fit easily).
pub const MAX_IMPORT_BYTES: usize = 16 * 1024;
/// Most imports one block may carry: the signature checks per block stay bounded.
pub const MAX_BLOCK_IMPORTS: usize = 32;
/// Most signatures a certificate may carry (a committee larger than this cannot certify).
pub const MAX_CERT_SIGNERS: usize = 1024;
/// Longest finalize subject accepted (simplex's encoded proposal is far shorter).
const MAX_PROPOSAL_BYTES: usize = 256;

/// A zone's number from its place in the world grid (`x << 16 | z`, as the world genesis
/// numbers zones).
pub fn zone_number(x: u16, z: u16) -> u32 {
    (u32::from(x) << 16) | u32::from(z)
}

/// Where a zone sits in its world: its grid coordinates and the grid's size. With the zone's
/// own columns (all zones are the same size) this locates every zone's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorldPlace {
    pub zone: (u16, u16),
    pub grid: (u16, u16),
}

/// Most plugin components one player's entity may hold, and so carry through a border.
pub const MAX_CARRIED: usize = 8;
/// Most bytes of one carried plugin component (its canonical encoding).
pub const MAX_CARRIED_BYTES: usize = 240;

/// One of a game plugin's components of the player, carried through a border as its table
/// and canonical bytes: the engine moves a player's plugin state without knowing its types.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Carried {
    /// At or above [`crate::plugin::PLUGIN_TABLES`].
    pub table: u16,
    /// At most [`MAX_CARRIED_BYTES`].
    pub value: Vec<u8>,
}

/// A body on its way to another zone, committed by the zone it left.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exit {
    /// The destination zone's number.
    pub to: u32,
    /// Its place in the order of exits to `to`, from 0.
    pub seq: u64,
    /// The tick it left.
    pub tick: u64,
    pub player: PlayerKey,
    pub body: Body,
    pub control: Control,
    pub inventory: Inventory,
    /// A delegation in force when it left: its session key keeps signing in the destination.
    pub session: Option<Session>,
    /// The player's plugin components, by table (at most [`MAX_CARRIED`]).
    pub carried: Vec<Carried>,
}

/// The flags byte after the inventory: which optional parts follow. An exit of a world
/// without plugins encodes as it did before they travelled (0 or 1), so its roots stand.
const HAS_SESSION: u8 = 1;
const HAS_CARRIED: u8 = 2;

impl Write for Exit {
    fn write(&self, buf: &mut impl BufMut) {
        self.to.write(buf);
        self.seq.write(buf);
        self.tick.write(buf);
        self.player.write(buf);
        self.body.write(buf);
        self.control.write(buf);
        self.inventory.write(buf);
        let flags = if self.session.is_some() {
            HAS_SESSION
        } else {
            0
        } | if self.carried.is_empty() {
            0
        } else {
            HAS_CARRIED
        };
        buf.put_u8(flags);
        if let Some(s) = &self.session {
            s.write(buf);
        }
        if !self.carried.is_empty() {
            // The rules make exits within MAX_CARRIED of MAX_CARRIED_BYTES (`carried`), which
            // the reader checks; past a byte's range the counts below would wrap.
            debug_assert!(
                self.carried.len() <= usize::from(u8::MAX)
                    && self
                        .carried
                        .iter()
                        .all(|c| c.value.len() <= usize::from(u8::MAX))
            );
            buf.put_u8(self.carried.len() as u8);
            for c in &self.carried {
                c.table.write(buf);
                buf.put_u8(c.value.len() as u8);
                buf.put_slice(&c.value);
            }
        }
    }
}

impl EncodeSize for Exit {
    fn encode_size(&self) -> usize {
        4 + 8
            + 8
            + 32
            + self.body.encode_size()
            + self.control.encode_size()
            + self.inventory.encode_size()
            + 1
            + self.session.as_ref().map_or(0, EncodeSize::encode_size)
            + if self.carried.is_empty() {
                0
            } else {
                1 + self
                    .carried
                    .iter()
                    .map(|c| 2 + 1 + c.value.len())
                    .sum::<usize>()
            }
    }
}

/// The carried components after [`HAS_CARRIED`]: 1 to [`MAX_CARRIED`], tables ascending from
/// [`crate::plugin::PLUGIN_TABLES`], each at most [`MAX_CARRIED_BYTES`]: one encoding per set.
fn read_carried(buf: &mut impl Buf) -> Result<Vec<Carried>, CodecError> {
    let count = usize::from(u8::read(buf)?);
    if !(1..=MAX_CARRIED).contains(&count) {
        return Err(CodecError::Invalid("Exit", "carried component count"));
    }
    let mut carried: Vec<Carried> = Vec::with_capacity(count);
    for _ in 0..count {
        let table = u16::read(buf)?;
        let ascending = carried.last().is_none_or(|last| last.table < table);
        if table < crate::plugin::PLUGIN_TABLES || !ascending {
            return Err(CodecError::Invalid("Exit", "carried component table"));
        }
        let len = usize::from(u8::read(buf)?);
        if len > MAX_CARRIED_BYTES || buf.remaining() < len {
            return Err(CodecError::Invalid("Exit", "carried component length"));
        }
        let mut value = vec![0; len];
        buf.copy_to_slice(&mut value);
        carried.push(Carried { table, value });
    }
    Ok(carried)
}

impl Read for Exit {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Exit {
            to: u32::read(buf)?,
            seq: u64::read(buf)?,
            tick: u64::read(buf)?,
            player: <[u8; 32]>::read(buf)?,
            body: Body::read(buf)?,
            control: Control::read(buf)?,
            inventory: Inventory::read(buf)?,
            ..Exit::default()
        }
        .with_optional_parts(buf)
    }
}

impl Exit {
    /// Reads the flags byte and the parts it names.
    fn with_optional_parts(mut self, buf: &mut impl Buf) -> Result<Self, CodecError> {
        let flags = u8::read(buf)?;
        if flags & !(HAS_SESSION | HAS_CARRIED) != 0 {
            return Err(CodecError::InvalidEnum(flags));
        }
        if flags & HAS_SESSION != 0 {
            self.session = Some(Session::read(buf)?);
        }
        if flags & HAS_CARRIED != 0 {
            self.carried = read_carried(buf)?;
        }
        Ok(self)
    }
}

impl Component for Exit {
    const TABLE: u16 = 17;
    const NAME: &'static str = "exit";
}

/// This zone's side of the way to one neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Link {
    /// The neighbour's number.
    pub zone: u32,
    /// Exits sent to it (the next exit's `seq`).
    pub sent: u64,
    /// Exits entered from it (the next `seq` it must send).
    pub received: u64,
    /// Exits it confirmed entering: those below are deleted here.
    pub acked: u64,
}

impl Write for Link {
    fn write(&self, buf: &mut impl BufMut) {
        self.zone.write(buf);
        self.sent.write(buf);
        self.received.write(buf);
        self.acked.write(buf);
    }
}

impl EncodeSize for Link {
    fn encode_size(&self) -> usize {
        4 + 8 * 3
    }
}

impl Read for Link {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let link = Link {
            zone: u32::read(buf)?,
            sent: u64::read(buf)?,
            received: u64::read(buf)?,
            acked: u64::read(buf)?,
        };
        if link.acked > link.sent {
            return Err(CodecError::Invalid("Link", "more confirmed than sent"));
        }
        Ok(link)
    }
}

impl Component for Link {
    const TABLE: u16 = 18;
    const NAME: &'static str = "link";
}

/// The header fields of a source block that an import needs: enough to recompute its digest
/// (which the certificate signs) and the two halves of the state root it commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceHeader {
    pub parent: Hash,
    pub height: u64,
    pub tick: u64,
    pub zone: u32,
    pub parent_state_root: Hash,
    /// The block's body hash ([`z3r0_chain::Block::actions_hash`]).
    pub actions_hash: Hash,
    pub records_root: Hash,
    pub chunk_root: Hash,
}

impl SourceHeader {
    pub fn digest(&self) -> Hash {
        z3r0_chain::header_digest(
            &self.parent,
            self.height,
            self.tick,
            self.zone,
            &self.parent_state_root,
            &self.actions_hash,
        )
    }
}

impl Write for SourceHeader {
    fn write(&self, buf: &mut impl BufMut) {
        self.parent.write(buf);
        self.height.write(buf);
        self.tick.write(buf);
        self.zone.write(buf);
        self.parent_state_root.write(buf);
        self.actions_hash.write(buf);
        self.records_root.write(buf);
        self.chunk_root.write(buf);
    }
}

impl EncodeSize for SourceHeader {
    fn encode_size(&self) -> usize {
        32 * 5 + 8 + 8 + 4
    }
}

impl Read for SourceHeader {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(SourceHeader {
            parent: <[u8; 32]>::read(buf)?,
            height: u64::read(buf)?,
            tick: u64::read(buf)?,
            zone: u32::read(buf)?,
            parent_state_root: <[u8; 32]>::read(buf)?,
            actions_hash: <[u8; 32]>::read(buf)?,
            records_root: <[u8; 32]>::read(buf)?,
            chunk_root: <[u8; 32]>::read(buf)?,
        })
    }
}

/// The record an import proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A body leaving the source for this zone.
    Exit(Exit),
    /// The source's link to this zone: how many of this zone's exits it has entered.
    Ack(Link),
}

impl Record {
    /// The zone the record is addressed to.
    pub fn destination(&self) -> u32 {
        match self {
            Record::Exit(exit) => exit.to,
            Record::Ack(link) => link.zone,
        }
    }

    /// Its kind (0: acknowledgement, 1: exit) and number: acknowledgements of a source apply
    /// before its exits, exits by number.
    pub fn kind_and_number(&self) -> (u8, u64) {
        match self {
            Record::Ack(link) => (0, link.received),
            Record::Exit(exit) => (1, exit.seq),
        }
    }
}

/// A record of another zone's finalized state, with what proves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub header: SourceHeader,
    pub finality: FinalityProof,
    /// The entity holding the record in the source's state.
    pub entity: u64,
    pub proof: MerkleProof,
    pub record: Record,
}

impl Import {
    pub fn encode_to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encode_size());
        self.write(&mut out);
        out
    }

    /// Decodes a whole import: too many bytes, trailing bytes or anything non-canonical is an
    /// error.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        if bytes.len() > MAX_IMPORT_BYTES {
            return Err(CodecError::InvalidLength(bytes.len()));
        }
        commonware_codec::Decode::decode_cfg(commonware_codec::Copying(bytes), &())
    }

    /// The source zone: the import's source must be a neighbour the world names.
    pub fn source(&self) -> u32 {
        self.header.zone
    }

    /// The zone this record is addressed to.
    pub fn destination(&self) -> u32 {
        self.record.destination()
    }

    /// Orders imports in a block: per source, acknowledgements, then exits by number.
    pub fn order_key(&self) -> (u32, u8, u64) {
        let (kind, number) = self.record.kind_and_number();
        (self.source(), kind, number)
    }
}

impl Write for Import {
    fn write(&self, buf: &mut impl BufMut) {
        self.header.write(buf);
        buf.put_u16(self.finality.proposal.len() as u16);
        buf.put_slice(&self.finality.proposal);
        buf.put_u16(self.finality.signatures.len() as u16);
        for (index, signature) in &self.finality.signatures {
            buf.put_u16(*index);
            buf.put_slice(signature);
        }
        self.entity.write(buf);
        self.proof.write(buf);
        match &self.record {
            Record::Exit(exit) => {
                buf.put_u8(0);
                exit.write(buf);
            }
            Record::Ack(link) => {
                buf.put_u8(1);
                link.write(buf);
            }
        }
    }
}

impl EncodeSize for Import {
    fn encode_size(&self) -> usize {
        self.header.encode_size()
            + 2
            + self.finality.proposal.len()
            + 2
            + self.finality.signatures.len() * 66
            + 8
            + self.proof.encode_size()
            + 1
            + match &self.record {
                Record::Exit(exit) => exit.encode_size(),
                Record::Ack(link) => link.encode_size(),
            }
    }
}

impl Read for Import {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let header = SourceHeader::read(buf)?;
        let len = usize::from(u16::read(buf)?);
        if len > MAX_PROPOSAL_BYTES || buf.remaining() < len {
            return Err(CodecError::InvalidLength(len));
        }
        let mut proposal = vec![0; len];
        buf.copy_to_slice(&mut proposal);
        let count = usize::from(u16::read(buf)?);
        if count > MAX_CERT_SIGNERS || buf.remaining() < count.saturating_mul(66) {
            return Err(CodecError::InvalidLength(count));
        }
        let mut signatures = Vec::with_capacity(count);
        for _ in 0..count {
            signatures.push((u16::read(buf)?, <[u8; 64]>::read(buf)?));
        }
        Ok(Import {
            header,
            finality: FinalityProof {
                proposal,
                signatures,
            },
            entity: u64::read(buf)?,
            proof: MerkleProof::read(buf)?,
            record: match u8::read(buf)? {
                0 => Record::Exit(Exit::read(buf)?),
                1 => Record::Ack(Link::read(buf)?),
                t => return Err(CodecError::InvalidEnum(t)),
            },
        })
    }
}

/// Why an import is refused before any state is looked at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("undecodable import: {0}")]
    Decode(String),
    #[error("zone {0} is not a neighbour of this zone")]
    NotANeighbour(u32),
    #[error("the record is for zone {got}, not this zone ({ours})")]
    NotForUs { got: u32, ours: u32 },
    #[error("the header's records and chunk roots do not make its state root")]
    Roots,
    #[error("the record does not match the source's records root: {0}")]
    Proof(String),
    #[error("the source block is not final: {0}")]
    Finality(#[from] z3r0_chain::FinalityError),
    #[error("this zone belongs to no world: it imports nothing")]
    NoWorld,
}

/// The zones this zone trades bodies with, by number: each one's committee, bound to its chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Neighbours {
    /// This zone's own number.
    pub zone: u32,
    pub committees: BTreeMap<u32, Committee>,
}

impl Neighbours {
    /// The neighbours of zone `zone`, from (number, chain, committee keys) of each.
    pub fn new(
        zone: u32,
        zones: impl IntoIterator<
            Item = (
                u32,
                ChainId,
                Vec<commonware_cryptography::ed25519::PublicKey>,
            ),
        >,
    ) -> Result<Self, z3r0_chain::FinalityError> {
        let committees = zones
            .into_iter()
            .map(|(n, chain, keys)| Ok((n, Committee::new(chain, keys)?)))
            .collect::<Result<_, z3r0_chain::FinalityError>>()?;
        Ok(Self { zone, committees })
    }

    /// Decodes and checks an import, cheapest first: size and encoding, source and destination,
    /// the header's roots, the record's proof (hashing), then the certificate (signatures).
    /// What it does to the state is for the rules to decide.
    pub fn verify(&self, bytes: &[u8]) -> Result<Import, ImportError> {
        let import = Import::decode(bytes).map_err(|e| ImportError::Decode(e.to_string()))?;
        let committee = self
            .committees
            .get(&import.source())
            .ok_or(ImportError::NotANeighbour(import.source()))?;
        if import.destination() != self.zone {
            return Err(ImportError::NotForUs {
                got: import.destination(),
                ours: self.zone,
            });
        }
        let h = &import.header;
        if z3r0_ecs::state_root(&h.records_root, &h.chunk_root) != h.parent_state_root {
            return Err(ImportError::Roots);
        }
        let entity = EntityId(import.entity);
        let proven = match &import.record {
            Record::Exit(exit) => {
                z3r0_ecs::verify_record(&import.proof, &h.records_root, entity, exit)
            }
            Record::Ack(link) => {
                z3r0_ecs::verify_record(&import.proof, &h.records_root, entity, link)
            }
        };
        proven.map_err(|e| ImportError::Proof(e.to_string()))?;
        committee.verify(&h.digest(), &import.finality)?;
        Ok(import)
    }
}
