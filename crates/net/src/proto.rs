//! The player protocol's messages.
//!
//! - **Control stream** (bidirectional, opened by the client first): `Hello` → `Challenge` →
//!   `Auth` → `Welcome`, then `Subscribe` whenever the player's chunk neighbourhood changes.
//! - **Event stream** (unidirectional, server → client, ordered): finalized block headers,
//!   receipts for the player's own actions, and chunks with Merkle proofs.
//! - **Datagrams**: client → server signed input actions and snapshot acknowledgements;
//!   server → client one snapshot per tick (see [`crate::snapshot`]).
//!
//! Stream frames are a varint length and a body of at most [`MAX_FRAME`] bytes; datagrams are
//! at most [`MAX_DATAGRAM`] bytes. Every decoder refuses unknown tags, oversized counts and
//! trailing bytes with a typed [`WireError`].

use z3r0_voxel::{ChunkPos, Hash};

use crate::wire::{Reader, WireError, Writer};

/// Protocol version sent in `Hello` (9: `Pace`).
pub const VERSION: u16 = 9;
/// Largest datagram either side sends (fits a 1,200-byte QUIC packet on any path).
pub const MAX_DATAGRAM: usize = 1_100;
/// Largest stream frame (a 16-bit chunk with its proof fits).
pub const MAX_FRAME: usize = 128 * 1024;
/// Bytes of one cached chunk a `Subscribe` reports: its position (three i32) and its hash.
const KNOWN_ENTRY: usize = 12 + 32;
/// Most chunk hashes a client may report as cached in one `Subscribe`: as many as fit one frame
/// after the message's own fields (tag, centre, radius, count: 17 bytes at most).
pub const MAX_KNOWN: usize = (MAX_FRAME - 32) / KNOWN_ENTRY;
/// Largest subscription radius, in chunks.
pub const MAX_RADIUS: u8 = 16;
/// Domain of the player's authentication signature.
pub const AUTH_NAMESPACE: &[u8] = b"z3r0/edge/auth/v1";

/// The bytes a player signs to authenticate to `node` in `zone` with `nonce`.
pub fn auth_message(node: &[u8; 32], zone: u32, nonce: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(68);
    m.extend_from_slice(node);
    m.extend_from_slice(&zone.to_le_bytes());
    m.extend_from_slice(nonce);
    m
}

/// Client → server on the control stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientControl {
    Hello {
        version: u16,
        player: [u8; 32],
        /// Snapshots a second the client wants (0: one every tick). The node sends at most
        /// one a tick, so a faster chain sends fewer than it ticks.
        snapshot_hz: u16,
        /// The zone to play in, for a node that serves several (`None`: the node's only one).
        zone: Option<u32>,
    },
    Auth {
        signature: [u8; 64],
    },
    /// Stream the chunks within `radius` of `center`; the client already holds `known`.
    Subscribe {
        center: ChunkPos,
        radius: u8,
        known: Vec<(ChunkPos, Hash)>,
    },
    /// Snapshots a second from now on (0: every tick), as in `Hello`: a session watching a
    /// neighbouring zone asks for few, and for the player's rate once it plays there.
    Pace {
        snapshot_hz: u16,
    },
}

/// Server → client on the control stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerControl {
    Challenge {
        node: [u8; 32],
        zone: u32,
        nonce: [u8; 32],
    },
    Welcome {
        /// The tick inputs should target now.
        tick: u64,
        /// The player's next action nonce as of the last finalized block.
        next_nonce: u64,
        tick_ms: u32,
        /// Unix milliseconds at which tick 0 started.
        genesis_ms: u64,
        /// The account this session plays as: the one that delegated to the authenticated key
        /// if it is a session key (as of the last finalized block), else that key itself.
        account: [u8; 32],
        /// The zone's movement rules (its genesis's), for the client's prediction.
        movement: z3r0_sim::Movement,
    },
}

/// Movement rules, each value checked: a client never predicts with rules that overflow.
fn read_movement(r: &mut Reader<'_>) -> Result<z3r0_sim::Movement, WireError> {
    let mut values = [0u32; z3r0_sim::units::MOVEMENT_VALUES];
    for v in &mut values {
        *v = r.u32()?;
    }
    let movement = z3r0_sim::Movement::from_values(values);
    movement
        .check()
        .map_err(|_| WireError::Invalid("movement rules"))?;
    Ok(movement)
}

fn write_pos(w: &mut Writer, p: ChunkPos) {
    w.i32(p.x);
    w.i32(p.y);
    w.i32(p.z);
}

fn read_pos(r: &mut Reader<'_>) -> Result<ChunkPos, WireError> {
    Ok(ChunkPos::new(r.i32()?, r.i32()?, r.i32()?))
}

impl ClientControl {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Self::Hello {
                version,
                player,
                snapshot_hz,
                zone,
            } => {
                w.u8(1);
                w.u16(*version);
                w.bytes(player);
                w.u16(*snapshot_hz);
                match zone {
                    None => w.u8(0),
                    Some(z) => {
                        w.u8(1);
                        w.u32(*z);
                    }
                }
            }
            Self::Auth { signature } => {
                w.u8(2);
                w.bytes(signature);
            }
            Self::Subscribe {
                center,
                radius,
                known,
            } => {
                w.u8(3);
                write_pos(&mut w, *center);
                w.u8(*radius);
                w.varint(known.len() as u64);
                for (p, h) in known {
                    write_pos(&mut w, *p);
                    w.bytes(h);
                }
            }
            Self::Pace { snapshot_hz } => {
                w.u8(4);
                w.u16(*snapshot_hz);
            }
        }
        w.buf
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let msg = match r.u8()? {
            1 => {
                let version = r.u16()?;
                let player = r.array()?;
                // Fields added since version 6 may be absent: such a client is then refused
                // for its version, with that reason, rather than as malformed.
                let snapshot_hz = match r.remaining() {
                    0 => 0,
                    _ => r.u16()?,
                };
                let zone = match r.remaining() {
                    0 => None,
                    _ => match r.u8()? {
                        0 => None,
                        1 => Some(r.u32()?),
                        _ => return Err(WireError::Invalid("hello zone tag")),
                    },
                };
                Self::Hello {
                    version,
                    player,
                    snapshot_hz,
                    zone,
                }
            }
            2 => Self::Auth {
                signature: r.array()?,
            },
            3 => {
                let center = read_pos(&mut r)?;
                let radius = r.u8()?;
                if radius > MAX_RADIUS {
                    return Err(WireError::Invalid("subscription radius"));
                }
                let n = r.count("known chunks", MAX_KNOWN)?;
                // A short message cannot claim many entries.
                if r.remaining() < n * KNOWN_ENTRY {
                    return Err(WireError::Truncated);
                }
                let mut known = Vec::with_capacity(n);
                for _ in 0..n {
                    known.push((read_pos(&mut r)?, r.array()?));
                }
                Self::Subscribe {
                    center,
                    radius,
                    known,
                }
            }
            4 => Self::Pace {
                snapshot_hz: r.u16()?,
            },
            tag => {
                return Err(WireError::UnknownTag {
                    what: "control",
                    tag,
                });
            }
        };
        r.finish()?;
        Ok(msg)
    }
}

impl ServerControl {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Self::Challenge { node, zone, nonce } => {
                w.u8(1);
                w.bytes(node);
                w.u32(*zone);
                w.bytes(nonce);
            }
            Self::Welcome {
                tick,
                next_nonce,
                tick_ms,
                genesis_ms,
                account,
                movement,
            } => {
                w.u8(2);
                w.u64(*tick);
                w.u64(*next_nonce);
                w.u32(*tick_ms);
                w.u64(*genesis_ms);
                w.bytes(account);
                for v in movement.values() {
                    w.u32(v);
                }
            }
        }
        w.buf
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let msg = match r.u8()? {
            1 => Self::Challenge {
                node: r.array()?,
                zone: r.u32()?,
                nonce: r.array()?,
            },
            2 => Self::Welcome {
                tick: r.u64()?,
                next_nonce: r.u64()?,
                tick_ms: r.u32()?,
                genesis_ms: r.u64()?,
                account: r.array()?,
                movement: read_movement(&mut r)?,
            },
            tag => {
                return Err(WireError::UnknownTag {
                    what: "control",
                    tag,
                });
            }
        };
        r.finish()?;
        Ok(msg)
    }
}

pub use z3r0_chain::FinalityProof;

/// Most signatures a proof may carry (the largest committee genesis allows).
pub const MAX_SIGNATURES: usize = 100;

/// A finalized block as a light client needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub height: u64,
    pub tick: u64,
    pub parent: Hash,
    pub zone: u32,
    /// State root after the parent (the chain defers roots by one block).
    pub parent_state_root: Hash,
    /// blake3 of the block's encoded actions.
    pub actions_hash: Hash,
    /// The two halves of `parent_state_root`: ECS records and voxel chunks.
    pub parent_records_root: Hash,
    pub parent_chunk_root: Hash,
    pub finality: Option<FinalityProof>,
}

/// A key's receipt log in the state after block `height`, proven against that state's records
/// root (committed by the header of `height + 1`): the `ReceiptLog` record of `entity` is `log`,
/// the outcomes of the key's actions over the receipt window (`z3r0_sim::receipt_window`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptsEntry {
    pub height: u64,
    pub entity: u64,
    pub log: z3r0_sim::ReceiptLog,
    /// Encoded `MerkleProof` of the `ReceiptLog` record.
    pub proof: Vec<u8>,
}

/// What happened to the player's actions in one finalized block, as the client reports it once
/// a [`ReceiptsEntry`] proved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Included {
    pub height: u64,
    pub tick: u64,
    /// Nonces of the player's actions in the block, in block order.
    pub nonces: Vec<u64>,
    /// The rules' refusals for this player in the block.
    pub rejections: Vec<RuleRejection>,
}

/// One refusal by the rules of a player's action in a finalized block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleRejection {
    /// The action's tag (`z3r0_sim::Action::kind`).
    pub action: u8,
    /// `z3r0_sim::Reason` code.
    pub reason: u8,
    /// The refused action's nonce; `None` when the refusal is of movement under the frame in
    /// force (a wall, a mid-air jump) rather than of one action.
    pub nonce: Option<u64>,
}

/// A chunk with its Merkle proof against the chunk root of the state after block `height`
/// (that root is committed by the header of block `height + 1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkData {
    pub height: u64,
    pub pos: ChunkPos,
    /// Canonical chunk encoding.
    pub chunk: Vec<u8>,
    /// Encoded `ChunkProof`.
    pub proof: Vec<u8>,
}

/// Voxel changes to a chunk the client holds, with the proof of the result: the client applies
/// `voxels` to its copy whose hash is `base`, and the proof must hold for the result against the
/// chunk root of the state after block `height` (committed by the header of `height + 1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkEdit {
    pub height: u64,
    pub pos: ChunkPos,
    /// Hash (blake3 of the canonical encoding) of the version the edits apply to.
    pub base: Hash,
    /// (voxel index in the chunk, new block), applied in order.
    pub voxels: Vec<(u16, u16)>,
    /// Encoded `ChunkProof` of the result.
    pub proof: Vec<u8>,
}

/// A chunk column's claim now, with its proof: the claim record of `entity` (owner and
/// builders) is in the records root, or (`owner: None`, a release) `entity` holds no claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimEntry {
    /// Chunk column.
    pub column: (i32, i32),
    /// The claim's entity in the zone's store.
    pub entity: u64,
    /// The owner's key (`None`: released).
    pub owner: Option<[u8; 32]>,
    /// Players the owner lets build there (sorted; empty when released).
    pub builders: Vec<[u8; 32]>,
    /// Encoded `MerkleProof` of the claim record, or `AbsenceProof` of a released one.
    pub proof: Vec<u8>,
}

/// The account's inventory in the state after block `height`, proven against that state's
/// records root: the `Player` record of `entity` names the account, and its `Inventory` record
/// is `inventory`. Both proofs are needed: one alone could show another player's inventory.
/// When the account has delegated, `session` is its `Session` record (session key, last tick)
/// and proof: a session key's client checks that the account the node named is its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryEntry {
    pub height: u64,
    pub entity: u64,
    pub inventory: z3r0_sim::Inventory,
    /// Encoded `MerkleProof` of the `Player` record.
    pub player_proof: Vec<u8>,
    /// Encoded `MerkleProof` of the `Inventory` record.
    pub proof: Vec<u8>,
    pub session: Option<SessionProof>,
}

/// An account's delegation record and its encoded `MerkleProof`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionProof {
    pub key: [u8; 32],
    pub until: u64,
    pub proof: Vec<u8>,
}

/// One published content manifest of the zone (see `z3r0_sim::content`): the
/// `PublishedContent` record of `entity` (manifest hash, activation tick) and its encoded
/// `MerkleProof`. The manifest's bytes are fetched by its hash, which checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentEntry {
    pub entity: u64,
    pub manifest: [u8; 32],
    pub activate_at: u64,
    pub proof: Vec<u8>,
}

/// Published manifest records a zone holds at most: the one in force and one scheduled.
pub const MAX_CONTENT_RECORDS: usize = 2;

/// Most claims one event carries (more go in several).
pub const MAX_CLAIMS: usize = 1_024;
/// Largest encoded record proof (a proof to the trie's full depth).
const MAX_CLAIM_PROOF: usize = 2 + 32 * z3r0_voxel::commit::MAX_DEPTH + 65;

/// Largest encoded receipt log: a whole window of full outcomes.
const MAX_RECEIPT_LOG: usize = 33
    + (z3r0_sim::MAX_RECEIPT_WINDOW as usize + 1)
        * (10
            + 1
            + 10 * z3r0_sim::receipts::MAX_OUTCOME_NONCES
            + 1
            + 3 * z3r0_sim::receipts::MAX_OUTCOME_REFUSALS);

/// Deflate effort for chunks on the wire (fast: a node sends many).
const CHUNK_DEFLATE_LEVEL: u8 = 3;

/// Most voxels one chunk edit carries (more changes: the whole chunk is sent instead).
pub const MAX_EDIT_VOXELS: usize = 1_024;

/// Server → client on the event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Header(Header),
    /// Proven outcomes of the player's actions (and of its account's movement).
    Receipts(ReceiptsEntry),
    /// The node refused the action with `nonce` before it reached a block, for a reason of
    /// this kind (the code goes on the wire; its text is derived from it).
    Refused {
        nonce: u64,
        kind: z3r0_chain::RejectionKind,
    },
    Chunk(ChunkData),
    ChunkEdit(ChunkEdit),
    /// Who owns which chunk column: every claim when the session starts, then the changes of
    /// each finalized block, proven against the state after block `height` (whose records
    /// root the header of `height + 1` commits to).
    Claims {
        height: u64,
        claims: Vec<ClaimEntry>,
    },
    /// The account's inventory, proven: when the session starts, then whenever a block changes
    /// it (checked against the header of `height + 1`).
    Inventory(InventoryEntry),
    /// Every published content manifest of the zone after block `height` (the one in force,
    /// one scheduled), proven: when the session starts, then whenever a block schedules or
    /// activates one (checked against the header of `height + 1`). The genesis content needs
    /// none: no record means the default pack.
    Content {
        height: u64,
        records: Vec<ContentEntry>,
    },
}

impl Event {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Self::Header(h) => {
                w.u8(1);
                w.u64(h.height);
                w.u64(h.tick);
                w.bytes(&h.parent);
                w.u32(h.zone);
                w.bytes(&h.parent_state_root);
                w.bytes(&h.actions_hash);
                w.bytes(&h.parent_records_root);
                w.bytes(&h.parent_chunk_root);
                match &h.finality {
                    None => w.u8(0),
                    Some(f) => {
                        w.u8(1);
                        w.blob(&f.proposal);
                        w.varint(f.signatures.len() as u64);
                        for (i, s) in &f.signatures {
                            w.u16(*i);
                            w.bytes(s);
                        }
                    }
                }
            }
            Self::Receipts(e) => {
                w.u8(2);
                w.u64(e.height);
                w.u64(e.entity);
                w.blob(&commonware_codec::Encode::encode(&e.log));
                w.blob(&e.proof);
            }
            Self::Refused { nonce, kind } => {
                w.u8(3);
                w.varint(*nonce);
                w.u8(kind.code());
            }
            Self::Chunk(c) => {
                w.u8(4);
                w.u64(c.height);
                write_pos(&mut w, c.pos);
                // Voxel data deflates several times over; the canonical bytes are restored on
                // arrival (their hash is what the proof commits to).
                w.blob(&miniz_oxide::deflate::compress_to_vec(
                    &c.chunk,
                    CHUNK_DEFLATE_LEVEL,
                ));
                w.blob(&c.proof);
            }
            Self::Claims { height, claims } => {
                w.u8(6);
                w.u64(*height);
                w.varint(claims.len() as u64);
                for c in claims {
                    w.bytes(&c.column.0.to_be_bytes());
                    w.bytes(&c.column.1.to_be_bytes());
                    w.u64(c.entity);
                    match &c.owner {
                        Some(owner) => {
                            w.u8(1);
                            w.bytes(owner);
                            w.varint(c.builders.len() as u64);
                            for b in &c.builders {
                                w.bytes(b);
                            }
                        }
                        None => w.u8(0),
                    }
                    w.blob(&c.proof);
                }
            }
            Self::Inventory(e) => {
                w.u8(7);
                w.u64(e.height);
                w.u64(e.entity);
                w.bytes(&commonware_codec::Encode::encode(&e.inventory));
                w.blob(&e.player_proof);
                w.blob(&e.proof);
                match &e.session {
                    None => w.u8(0),
                    Some(s) => {
                        w.u8(1);
                        w.bytes(&s.key);
                        w.u64(s.until);
                        w.blob(&s.proof);
                    }
                }
            }
            Self::Content { height, records } => {
                w.u8(8);
                w.u64(*height);
                w.varint(records.len() as u64);
                for c in records {
                    w.u64(c.entity);
                    w.bytes(&c.manifest);
                    w.u64(c.activate_at);
                    w.blob(&c.proof);
                }
            }
            Self::ChunkEdit(e) => {
                w.u8(5);
                w.u64(e.height);
                write_pos(&mut w, e.pos);
                w.bytes(&e.base);
                w.varint(e.voxels.len() as u64);
                for (i, b) in &e.voxels {
                    w.u16(*i);
                    w.u16(*b);
                }
                w.blob(&e.proof);
            }
        }
        w.buf
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let msg = match r.u8()? {
            1 => {
                let height = r.u64()?;
                let tick = r.u64()?;
                let parent = r.array()?;
                let zone = r.u32()?;
                let parent_state_root = r.array()?;
                let actions_hash = r.array()?;
                let parent_records_root = r.array()?;
                let parent_chunk_root = r.array()?;
                let finality = match r.u8()? {
                    0 => None,
                    1 => {
                        let proposal = r.blob("proposal bytes", 256)?.to_vec();
                        let n = r.count("signatures", MAX_SIGNATURES)?;
                        let mut signatures = Vec::with_capacity(n);
                        for _ in 0..n {
                            signatures.push((r.u16()?, r.array()?));
                        }
                        Some(FinalityProof {
                            proposal,
                            signatures,
                        })
                    }
                    tag => {
                        return Err(WireError::UnknownTag {
                            what: "finality",
                            tag,
                        });
                    }
                };
                Self::Header(Header {
                    height,
                    tick,
                    parent,
                    zone,
                    parent_state_root,
                    actions_hash,
                    parent_records_root,
                    parent_chunk_root,
                    finality,
                })
            }
            2 => {
                let height = r.u64()?;
                let entity = r.u64()?;
                let log = r.blob("receipt log", MAX_RECEIPT_LOG)?;
                let log = <z3r0_sim::ReceiptLog as commonware_codec::Decode>::decode_cfg(
                    commonware_codec::Copying(log),
                    &(),
                )
                .map_err(|_| WireError::Invalid("receipt log"))?;
                let proof = r.blob("receipts proof", MAX_CLAIM_PROOF)?.to_vec();
                Self::Receipts(ReceiptsEntry {
                    height,
                    entity,
                    log,
                    proof,
                })
            }
            3 => {
                let nonce = r.varint()?;
                let kind = z3r0_chain::RejectionKind::from_code(r.u8()?)
                    .ok_or(WireError::Invalid("refusal code"))?;
                Self::Refused { nonce, kind }
            }
            4 => {
                let height = r.u64()?;
                let pos = read_pos(&mut r)?;
                let packed = r.blob("chunk bytes", MAX_FRAME)?;
                let chunk = miniz_oxide::inflate::decompress_to_vec_with_limit(packed, MAX_FRAME)
                    .map_err(|_| WireError::Invalid("deflated chunk"))?;
                let proof = r.blob("proof bytes", 64 * 1024)?.to_vec();
                Self::Chunk(ChunkData {
                    height,
                    pos,
                    chunk,
                    proof,
                })
            }
            5 => {
                let height = r.u64()?;
                let pos = read_pos(&mut r)?;
                let base = r.array::<32>()?;
                let n = r.count("edited voxels", MAX_EDIT_VOXELS)?;
                let mut voxels = Vec::with_capacity(n.min(r.remaining() / 4));
                for _ in 0..n {
                    let index = r.u16()?;
                    if usize::from(index) >= z3r0_voxel::CHUNK_VOLUME {
                        return Err(WireError::Invalid("voxel index"));
                    }
                    voxels.push((index, r.u16()?));
                }
                let proof = r.blob("proof bytes", 64 * 1024)?.to_vec();
                Self::ChunkEdit(ChunkEdit {
                    height,
                    pos,
                    base,
                    voxels,
                    proof,
                })
            }
            6 => {
                let height = r.u64()?;
                let n = r.count("claims", MAX_CLAIMS)?;
                let mut claims = Vec::with_capacity(n.min(r.remaining() / 18));
                for _ in 0..n {
                    let x = i32::from_be_bytes(r.array::<4>()?);
                    let z = i32::from_be_bytes(r.array::<4>()?);
                    let entity = r.u64()?;
                    let (owner, builders) = match r.u8()? {
                        0 => (None, Vec::new()),
                        1 => {
                            let owner = r.array::<32>()?;
                            let n = r.count("claim builders", z3r0_sim::MAX_BUILDERS)?;
                            let builders = (0..n)
                                .map(|_| r.array::<32>())
                                .collect::<Result<Vec<_>, _>>()?;
                            (Some(owner), builders)
                        }
                        tag => return Err(WireError::UnknownTag { what: "claim", tag }),
                    };
                    let proof = r.blob("claim proof", MAX_CLAIM_PROOF)?.to_vec();
                    claims.push(ClaimEntry {
                        column: (x, z),
                        entity,
                        owner,
                        builders,
                        proof,
                    });
                }
                Self::Claims { height, claims }
            }
            7 => {
                let height = r.u64()?;
                let entity = r.u64()?;
                let size =
                    commonware_codec::EncodeSize::encode_size(&z3r0_sim::Inventory::default());
                let bytes = r.take(size)?;
                let inventory = <z3r0_sim::Inventory as commonware_codec::Decode>::decode_cfg(
                    commonware_codec::Copying(bytes),
                    &(),
                )
                .map_err(|_| WireError::Invalid("inventory"))?;
                let player_proof = r.blob("player proof", MAX_CLAIM_PROOF)?.to_vec();
                let proof = r.blob("inventory proof", MAX_CLAIM_PROOF)?.to_vec();
                let session = match r.u8()? {
                    0 => None,
                    1 => Some(SessionProof {
                        key: r.array::<32>()?,
                        until: r.u64()?,
                        proof: r.blob("session proof", MAX_CLAIM_PROOF)?.to_vec(),
                    }),
                    tag => {
                        return Err(WireError::UnknownTag {
                            what: "session",
                            tag,
                        });
                    }
                };
                Self::Inventory(InventoryEntry {
                    height,
                    entity,
                    inventory,
                    player_proof,
                    proof,
                    session,
                })
            }
            8 => {
                let height = r.u64()?;
                let n = r.count("content records", MAX_CONTENT_RECORDS)?;
                let mut records = Vec::with_capacity(n);
                for _ in 0..n {
                    records.push(ContentEntry {
                        entity: r.u64()?,
                        manifest: r.array::<32>()?,
                        activate_at: r.u64()?,
                        proof: r.blob("content proof", MAX_CLAIM_PROOF)?.to_vec(),
                    });
                }
                Self::Content { height, records }
            }
            tag => return Err(WireError::UnknownTag { what: "event", tag }),
        };
        r.finish()?;
        Ok(msg)
    }
}

/// Client → server datagrams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientDatagram {
    /// A signed action (the chain's canonical `SignedAction` bytes).
    Input(Vec<u8>),
    /// The newest snapshot tick the client applied.
    Ack(u64),
}

impl ClientDatagram {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Self::Input(bytes) => {
                w.u8(1);
                w.bytes(bytes);
            }
            Self::Ack(tick) => {
                w.u8(2);
                w.varint(*tick);
            }
        }
        w.buf
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        if bytes.len() > MAX_DATAGRAM {
            return Err(WireError::Invalid("datagram size"));
        }
        let mut r = Reader::new(bytes);
        match r.u8()? {
            1 => Ok(Self::Input(r.take(r.remaining())?.to_vec())),
            2 => {
                let tick = r.varint()?;
                r.finish()?;
                Ok(Self::Ack(tick))
            }
            tag => Err(WireError::UnknownTag {
                what: "datagram",
                tag,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_subscription_reporting_the_most_known_chunks_fits_one_frame() {
        let far = ChunkPos::new(i32::MIN, i32::MAX, i32::MIN);
        let msg = ClientControl::Subscribe {
            center: far,
            radius: MAX_RADIUS,
            known: vec![(far, [0xff; 32]); MAX_KNOWN],
        };
        let bytes = msg.encode();
        assert!(bytes.len() <= MAX_FRAME, "{} bytes", bytes.len());
        assert_eq!(ClientControl::decode(&bytes).unwrap(), msg);
    }

    use super::*;
    use proptest::prelude::*;

    fn header(finality: Option<FinalityProof>) -> Header {
        Header {
            height: 9,
            tick: 12,
            parent: [1; 32],
            zone: 3,
            parent_state_root: [2; 32],
            actions_hash: [3; 32],
            parent_records_root: [4; 32],
            parent_chunk_root: [5; 32],
            finality,
        }
    }

    fn controls() -> Vec<ClientControl> {
        vec![
            ClientControl::Hello {
                version: VERSION,
                player: [7; 32],
                snapshot_hz: 30,
                zone: None,
            },
            ClientControl::Hello {
                version: VERSION,
                player: [7; 32],
                snapshot_hz: 20,
                zone: Some(0x0001_0002),
            },
            ClientControl::Auth { signature: [8; 64] },
            ClientControl::Subscribe {
                center: ChunkPos::new(-1, 2, -3),
                radius: 6,
                known: vec![(ChunkPos::new(0, 0, 0), [9; 32])],
            },
            ClientControl::Pace { snapshot_hz: 5 },
        ]
    }

    fn server() -> Vec<ServerControl> {
        vec![
            ServerControl::Challenge {
                node: [1; 32],
                zone: 2,
                nonce: [3; 32],
            },
            ServerControl::Welcome {
                tick: 4,
                next_nonce: 5,
                tick_ms: 50,
                genesis_ms: 6,
                account: [7; 32],
                movement: z3r0_sim::Movement {
                    jump_height_mm: 2_000,
                    ..z3r0_sim::Movement::default()
                },
            },
        ]
    }

    fn receipt_log() -> z3r0_sim::ReceiptLog {
        let mut log = z3r0_sim::ReceiptLog::new([6; 32], 48);
        for tick in [3, 4] {
            let o = log.current(tick, 48);
            let slot = o.push_nonce(tick * 10);
            o.push_refusal(z3r0_sim::Refusal {
                action: 2,
                reason: 5,
                slot,
            });
            o.push_refusal(z3r0_sim::Refusal {
                action: 2,
                reason: 4,
                slot: None,
            });
        }
        log
    }

    fn events() -> Vec<Event> {
        vec![
            Event::Header(header(None)),
            Event::Header(header(Some(FinalityProof {
                proposal: vec![1, 2, 3],
                signatures: vec![(0, [4; 64]), (3, [5; 64])],
            }))),
            Event::Receipts(ReceiptsEntry {
                height: 1,
                entity: 9,
                log: receipt_log(),
                proof: vec![8; 40],
            }),
            Event::Refused {
                nonce: 77,
                kind: z3r0_chain::RejectionKind::Replay,
            },
            Event::Chunk(ChunkData {
                height: 3,
                pos: ChunkPos::new(1, -1, 1),
                chunk: vec![0, 1, 0],
                proof: vec![9; 40],
            }),
            Event::Claims {
                height: 12,
                claims: vec![
                    ClaimEntry {
                        column: (-3, 7),
                        entity: 40,
                        owner: Some([9; 32]),
                        builders: vec![[1; 32], [2; 32]],
                        proof: vec![5; 66],
                    },
                    ClaimEntry {
                        column: (0, 0),
                        entity: 41,
                        owner: None,
                        builders: Vec::new(),
                        proof: vec![6; 3],
                    },
                ],
            },
            Event::ChunkEdit(ChunkEdit {
                height: 4,
                pos: ChunkPos::new(0, 2, -3),
                base: [7; 32],
                voxels: vec![(0, 3), (32_767, 0)],
                proof: vec![8; 40],
            }),
            Event::Inventory(InventoryEntry {
                height: 6,
                entity: 12,
                inventory: {
                    let mut inventory = z3r0_sim::Inventory::default();
                    inventory.add(3);
                    inventory.add(3);
                    inventory.add(5);
                    inventory
                },
                player_proof: vec![1; 40],
                proof: vec![2; 41],
                session: Some(SessionProof {
                    key: [3; 32],
                    until: 99,
                    proof: vec![4; 42],
                }),
            }),
            Event::Inventory(InventoryEntry {
                height: 7,
                entity: 13,
                inventory: z3r0_sim::Inventory::default(),
                player_proof: vec![1; 40],
                proof: vec![2; 41],
                session: None,
            }),
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for m in controls() {
            assert_eq!(ClientControl::decode(&m.encode()).unwrap(), m);
        }
        for m in server() {
            assert_eq!(ServerControl::decode(&m.encode()).unwrap(), m);
        }
        for m in events() {
            assert_eq!(Event::decode(&m.encode()).unwrap(), m);
        }
        // A slot over a full stack is refused, not believed.
        let mut bad = Event::Inventory(InventoryEntry {
            height: 1,
            entity: 2,
            inventory: z3r0_sim::Inventory::default(),
            player_proof: Vec::new(),
            proof: Vec::new(),
            session: None,
        })
        .encode();
        // Tag, height and entity come first; then the first slot's block and count.
        bad[19..21].copy_from_slice(&65u16.to_be_bytes());
        assert!(Event::decode(&bad).is_err());
        for m in [
            ClientDatagram::Input(vec![1, 2, 3]),
            ClientDatagram::Ack(99),
        ] {
            assert_eq!(ClientDatagram::decode(&m.encode()).unwrap(), m);
        }
    }

    #[test]
    fn hostile_counts_are_refused_before_allocating() {
        let mut w = Writer::new();
        w.u8(3);
        w.bytes(&[0; 12]);
        w.u8(4);
        w.varint(1_000_000);
        assert!(matches!(
            ClientControl::decode(&w.buf),
            Err(WireError::TooMany { .. })
        ));
        let mut w = Writer::new();
        w.u8(3);
        w.bytes(&[0; 12]);
        w.u8(4);
        w.varint(100);
        assert_eq!(ClientControl::decode(&w.buf), Err(WireError::Truncated));
        let long = vec![1u8; MAX_DATAGRAM + 1];
        assert!(ClientDatagram::decode(&long).is_err());
        // Every refusal kind round-trips by its code; an unknown code is refused.
        for kind in z3r0_chain::RejectionKind::ALL {
            let refused = Event::Refused { nonce: 1, kind };
            assert_eq!(Event::decode(&refused.encode()).unwrap(), refused);
        }
        let mut bytes = Event::Refused {
            nonce: 1,
            kind: z3r0_chain::RejectionKind::Full,
        }
        .encode();
        *bytes.last_mut().unwrap() = 0;
        assert_eq!(
            Event::decode(&bytes),
            Err(WireError::Invalid("refusal code"))
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = ClientControl::decode(&bytes);
            let _ = ServerControl::decode(&bytes);
            let _ = Event::decode(&bytes);
            let _ = ClientDatagram::decode(&bytes);
        }

        /// Every message kind, mutated field-aware: a typed error or a valid message.
        #[test]
        fn mutated_encodings_decode_or_refuse(m in any::<(u8, usize, usize, u8)>()) {
            let m = z3r0_chain::mutate::Mutation::from(m);
            for c in controls() {
                let _ = ClientControl::decode(&m.apply(&c.encode()));
            }
            for c in server() {
                let _ = ServerControl::decode(&m.apply(&c.encode()));
            }
            for e in events() {
                let _ = Event::decode(&m.apply(&e.encode()));
            }
            for d in [ClientDatagram::Input(vec![1, 2, 3]), ClientDatagram::Ack(99)] {
                let _ = ClientDatagram::decode(&m.apply(&d.encode()));
            }
        }

        #[test]
        fn mutated_messages_never_panic(flip in 0usize..400, value in any::<u8>()) {
            let m = Event::Header(header(Some(FinalityProof {
                proposal: vec![1; 40],
                signatures: vec![(1, [2; 64])],
            })));
            let mut bytes = m.encode();
            let i = flip % bytes.len();
            bytes[i] = value;
            let _ = Event::decode(&bytes);
            bytes.truncate(i);
            prop_assert!(Event::decode(&bytes).is_err());
        }
    }
}
