//! What a validator's HTTP endpoint shows of its finalized chain: the last blocks with their
//! actions and receipts (an explorer), and where the players are and who owns which chunk
//! column (a map). Recorded from the finalizer's hook, so it only ever shows final state. The
//! hook runs with the zone locked, so it keeps compact copies (no text); the words and hex are
//! made when someone asks.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;
use z3r0_chain::Block;
use z3r0_sim::{Action, Receipt, Sim};

use crate::genesis::to_hex;

/// Blocks kept for the explorer.
pub const KEPT_BLOCKS: usize = 1_024;
/// Most block summaries one request returns.
pub const MAX_SUMMARIES: usize = 64;

/// A player as the explorer names it: the first four bytes of its key (shown in hex).
type Short = [u8; 4];

fn short_of(key: &[u8]) -> Short {
    let mut out = [0u8; 4];
    let n = key.len().min(4);
    out[..n].copy_from_slice(&key[..n]);
    out
}

fn short(key: &[u8]) -> String {
    to_hex(&short_of(key))
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionRecord {
    pub player: String,
    pub nonce: u64,
    /// What was asked, in words (`"break 1 2 3"`).
    pub action: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RejectionRecord {
    pub player: String,
    /// The refused action's nonce; `None` for an outcome of movement.
    pub nonce: Option<u64>,
    pub action: &'static str,
    pub reason: &'static str,
}

/// One finalized block, as the explorer shows it.
#[derive(Debug, Clone, Serialize)]
pub struct BlockRecord {
    pub height: u64,
    pub tick: u64,
    pub digest: String,
    /// State root after the block.
    pub root: String,
    pub actions: Vec<ActionRecord>,
    pub rejections: Vec<RejectionRecord>,
    /// Joins, departures, edits and claims, in words.
    pub events: Vec<String>,
}

/// A block in a list: counts instead of contents.
#[derive(Debug, Clone, Serialize)]
pub struct BlockSummary {
    pub height: u64,
    pub tick: u64,
    pub digest: String,
    pub root: String,
    pub actions: usize,
    pub rejections: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlayerRecord {
    pub id: u64,
    pub key: String,
    /// Position in metres (voxels).
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClaimRecord {
    pub cx: i32,
    pub cz: i32,
    pub owner: String,
}

/// Players and claims after the newest finalized block.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MapRecord {
    pub height: u64,
    pub tick: u64,
    pub players: Vec<PlayerRecord>,
    pub claims: Vec<ClaimRecord>,
}

/// Players after the newest block: each one's entity, key and position (1/1024 m).
#[derive(Debug, Default)]
struct StoredMap {
    height: u64,
    tick: u64,
    players: Vec<(u64, Short, [i64; 3])>,
}

/// A block as kept: the actions' payloads copied (a shared slice would keep the whole block's
/// buffer alive), words come later.
#[derive(Debug)]
struct StoredBlock {
    height: u64,
    tick: u64,
    digest: z3r0_chain::Hash,
    root: z3r0_chain::Hash,
    actions: Vec<(Short, u64, Box<[u8]>)>,
    rejections: Vec<RejectionRecord>,
    events: Vec<String>,
}

impl StoredBlock {
    fn record(&self) -> BlockRecord {
        BlockRecord {
            height: self.height,
            tick: self.tick,
            digest: to_hex(&self.digest),
            root: to_hex(&self.root),
            actions: self
                .actions
                .iter()
                .map(|(player, nonce, payload)| ActionRecord {
                    player: to_hex(player),
                    nonce: *nonce,
                    action: describe(payload),
                })
                .collect(),
            rejections: self.rejections.clone(),
            events: self.events.clone(),
        }
    }

    fn summary(&self) -> BlockSummary {
        BlockSummary {
            height: self.height,
            tick: self.tick,
            digest: to_hex(&self.digest),
            root: to_hex(&self.root),
            actions: self.actions.len(),
            rejections: self.rejections.len(),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    blocks: VecDeque<StoredBlock>,
    /// Players after the newest block.
    map: StoredMap,
    /// Chunk column → owner, kept from the claim receipts after a first full read.
    claims: Option<BTreeMap<(i32, i32), Short>>,
}

/// The explorer of one validator (shared between its finalizer and its HTTP endpoint).
#[derive(Debug, Default)]
pub struct Explorer {
    state: Mutex<State>,
}

fn describe(payload: &[u8]) -> String {
    match Action::decode(payload) {
        Err(_) => format!("undecodable ({} bytes)", payload.len()),
        Ok(Action::Break(p)) => format!("break {} {} {}", p.x, p.y, p.z),
        Ok(Action::Place(p, b)) => format!(
            "place {} {} {} {}",
            z3r0_voxel::block_info(b).name,
            p.x,
            p.y,
            p.z
        ),
        Ok(Action::Claim(x, z)) => format!("claim {x} {z}"),
        Ok(Action::Release(x, z)) => format!("release {x} {z}"),
        Ok(Action::Grant(x, z, who)) => format!("grant {x} {z} to {}", short(&who)),
        Ok(Action::Revoke(x, z, who)) => format!("revoke {x} {z} from {}", short(&who)),
        Ok(Action::Delegate { session, until, .. }) => {
            format!("delegate to session {} until tick {until}", short(&session))
        }
        Ok(a) => Action::kind_name(a.kind()).to_string(),
    }
}

impl Explorer {
    /// Records a block the finalizer just executed (`sim` is the state after it). Runs with
    /// the zone locked: linear in the block's actions and receipts and the players.
    pub fn record(&self, block: &Block, sim: &Sim, receipts: &[Receipt]) {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = &mut *guard;
        let claims = state.claims.get_or_insert_with(|| {
            sim.claims()
                .map(|c| (c.column, short_of(&c.owner)))
                .collect()
        });
        let mut rejections = Vec::new();
        let mut events = Vec::new();
        for r in receipts {
            match r {
                Receipt::Rejected {
                    player,
                    action,
                    reason,
                    index,
                } => rejections.push(RejectionRecord {
                    player: short(player),
                    nonce: index.and_then(|i| block.nonce_at(i)),
                    action: Action::kind_name(*action),
                    reason: reason.message(),
                }),
                Receipt::Joined { player, .. } => events.push(format!("{} joined", short(player))),
                Receipt::Left { player } => events.push(format!("{} left", short(player))),
                Receipt::TimedOut { player } => events.push(format!("{} timed out", short(player))),
                Receipt::BlockChanged { pos, from, to, by } => events.push(format!(
                    "block {} {} {} {} -> {} by {}",
                    pos.x,
                    pos.y,
                    pos.z,
                    z3r0_voxel::block_info(*from).name,
                    z3r0_voxel::block_info(*to).name,
                    short(by)
                )),
                Receipt::ClaimChanged { column, claim, .. } => match claim {
                    Some(c) => {
                        claims.insert(*column, short_of(&c.owner));
                        events.push(format!(
                            "column {} {} claimed by {}",
                            column.0,
                            column.1,
                            short(&c.owner)
                        ));
                    }
                    None => {
                        claims.remove(column);
                        events.push(format!("column {} {} released", column.0, column.1));
                    }
                },
                Receipt::Exited { player, to, seq } => events.push(format!(
                    "{} left for zone {to:#x} (exit {seq})",
                    short(player)
                )),
                Receipt::Entered {
                    player, from, seq, ..
                } => events.push(format!(
                    "{} arrived from zone {from:#x} (exit {seq})",
                    short(player)
                )),
                Receipt::ImportRefused { reason, .. } => {
                    events.push(format!("import refused: {}", reason.message()))
                }
                _ => {}
            }
        }
        state.map.height = block.height;
        state.map.tick = block.tick;
        state.map.players.clear();
        state.map.players.extend(
            sim.players()
                .filter_map(|(key, entity)| Some((entity.0, short_of(key), sim.body(key)?.pos))),
        );
        state.blocks.push_back(StoredBlock {
            height: block.height,
            tick: block.tick,
            digest: block.digest(),
            root: sim.root(),
            actions: block
                .actions
                .iter()
                .map(|a| {
                    (
                        short_of(a.action.player.as_ref()),
                        a.action.nonce,
                        Box::from(a.action.payload.as_ref()),
                    )
                })
                .collect(),
            rejections,
            events,
        });
        while state.blocks.len() > KEPT_BLOCKS {
            state.blocks.pop_front();
        }
    }

    pub fn block(&self, height: u64) -> Option<BlockRecord> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let first = state.blocks.front()?.height;
        let i = usize::try_from(height.checked_sub(first)?).ok()?;
        state
            .blocks
            .get(i)
            .filter(|b| b.height == height)
            .map(StoredBlock::record)
    }

    /// Summaries of the newest blocks above `after`, newest first, at most `limit`.
    pub fn recent(&self, after: u64, limit: usize) -> Vec<BlockSummary> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state
            .blocks
            .iter()
            .rev()
            .take_while(|b| b.height > after)
            .take(limit.min(MAX_SUMMARIES))
            .map(StoredBlock::summary)
            .collect()
    }

    pub fn map(&self) -> MapRecord {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let m = |c: i64| c as f64 / 1024.0;
        MapRecord {
            height: state.map.height,
            tick: state.map.tick,
            players: state
                .map
                .players
                .iter()
                .map(|(id, key, pos)| PlayerRecord {
                    id: *id,
                    key: to_hex(key),
                    x: m(pos[0]),
                    y: m(pos[1]),
                    z: m(pos[2]),
                })
                .collect(),
            claims: state
                .claims
                .iter()
                .flatten()
                .map(|(&(cx, cz), owner)| ClaimRecord {
                    cx,
                    cz,
                    owner: to_hex(owner),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
    use z3r0_chain::{Action as ChainAction, StateMachine as _};
    use z3r0_sim::{InputFrame, SimConfig};

    fn signed(
        key: &PrivateKey,
        tick: u64,
        nonce: u64,
        action: &Action,
    ) -> z3r0_chain::SignedAction {
        ChainAction {
            player: key.public_key(),
            zone: 0,
            tick,
            nonce,
            payload: action.encode_to_vec().into(),
        }
        .sign(key, &z3r0_chain::ChainId::default())
    }

    #[test]
    fn records_actions_rejections_and_players_and_forgets_old_blocks() {
        let mut sim = Sim::genesis(SimConfig {
            chunks_x: (-1, 1),
            chunks_y: (-1, 2),
            chunks_z: (-1, 1),
            ..SimConfig::default()
        })
        .unwrap();
        let key = PrivateKey::from_seed(7);
        let explorer = Explorer::default();
        let mut parent = Block::genesis(0, sim.root());
        for height in 1..=(KEPT_BLOCKS as u64 + 3) {
            let actions = if height == 1 {
                vec![
                    signed(&key, 1, 0, &Action::Join),
                    // Joined in this block already: refused.
                    signed(&key, 1, 1, &Action::Join),
                ]
            } else {
                let frame = Action::Input(InputFrame::default());
                vec![signed(&key, height, height, &frame)]
            };
            let block = Block {
                parent: parent.digest(),
                height,
                tick: height,
                zone: 0,
                parent_state_root: sim.root(),
                actions,
                imports: Vec::new(),
            };
            let mut receipts = Vec::new();
            sim.execute(height, &block.actions, &[], &mut receipts);
            explorer.record(&block, &sim, &receipts);
            if height == 1 {
                let first = explorer.block(1).unwrap();
                assert_eq!(first.actions.len(), 2);
                assert_eq!(first.actions[0].action, "join");
                assert_eq!(first.rejections.len(), 1, "{first:?}");
                assert_eq!(first.rejections[0].nonce, Some(1));
                assert_eq!(first.rejections[0].reason, "already joined");
                assert!(first.events.iter().any(|e| e.ends_with("joined")));
                assert_eq!(first.root, to_hex(&sim.root()));
            }
            parent = block;
        }
        let last = KEPT_BLOCKS as u64 + 3;
        assert!(explorer.block(1).is_none(), "old blocks are forgotten");
        assert_eq!(explorer.block(last).unwrap().height, last);
        let recent = explorer.recent(last - 5, 100);
        assert_eq!(
            recent.iter().map(|b| b.height).collect::<Vec<_>>(),
            (last - 4..=last).rev().collect::<Vec<_>>()
        );
        assert_eq!(explorer.recent(0, 1_000).len(), MAX_SUMMARIES);
        let map = explorer.map();
        assert_eq!(map.height, last);
        assert_eq!(map.players.len(), 1);
        assert_eq!(map.players[0].key, short(key.public_key().as_ref()));
    }
}
