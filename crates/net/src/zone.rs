//! From finalized game state to what the edge sends: one place that turns an executed block of
//! the game (`z3r0-sim`) into a [`TickUpdate`], and a chunk of the finalized state into a
//! proven [`ChunkData`]. The validator node and the tests' local zones both use it.

use std::collections::{BTreeMap, BTreeSet};

use commonware_codec::Encode as _;
use z3r0_chain::Block;
use z3r0_sim::{Claim, Inventory, Receipt, Sim};
use z3r0_voxel::{ChunkPos, Hash};

use crate::proto::{
    ChunkData, ClaimEntry, ContentEntry, FinalityProof, Header, InventoryEntry, ReceiptsEntry,
    SessionProof,
};
use crate::server::TickUpdate;
use crate::snapshot::EntityRecord;

/// Builds tick updates in height order; remembers the roots of the previous state, which the
/// next block's header commits to.
#[derive(Debug, Clone)]
pub struct FeedBuilder {
    /// (records root, chunk root) of the state before the next block.
    parent_roots: (Hash, Hash),
    /// Tick of the last block after which every live receipt log was proven.
    last_proof_tick: u64,
    /// Keys whose actions since the last prompt proof await an answer (an edit, a claim, a
    /// refusal).
    prompt: BTreeSet<[u8; 32]>,
}

/// Blocks between proof points, where every live receipt log is proven: after each block whose
/// height is a multiple of it (a second of blocks, 20 at 50 ms ticks), so the header they need
/// (the next block's) is the one an edge sends every `EdgeConfig::header_interval` anyway. A
/// multiple of [`receipt_prompt_blocks`], so the edits' headers serve it too, and at most half
/// the receipt window, so a log whose header never comes is proven again before its outcomes
/// leave it.
pub fn receipt_proof_blocks(tick_ms: u64) -> u64 {
    let prompt = receipt_prompt_blocks(tick_ms);
    let half_window = z3r0_sim::receipt_window(tick_ms) / 2;
    prompt * (half_window / prompt).clamp(1, 2)
}

/// Blocks between prompt proofs of the logs whose keys await an answer: the edge's chunk edit
/// interval (`EdgeConfig::edit_interval`, half a second of blocks, 10 at 50 ms ticks), so a
/// builder's receipts share the header its chunk edits need.
pub fn receipt_prompt_blocks(tick_ms: u64) -> u64 {
    z3r0_chain::ticks_in(500, tick_ms).min(z3r0_sim::receipt_window(tick_ms) / 2)
}

/// The two halves of the game's state root.
pub fn roots(sim: &mut Sim) -> (Hash, Hash) {
    (sim.ecs.root(), sim.voxels.chunk_root())
}

impl FeedBuilder {
    /// Starts from `sim` as it is before the next block executes.
    pub fn new(sim: &mut Sim) -> Self {
        Self {
            parent_roots: roots(sim),
            last_proof_tick: sim.tick(),
            prompt: BTreeSet::new(),
        }
    }

    /// The update for `block`, which `sim` has just executed producing `receipts`.
    /// Moves past a block without building its update (nobody is listening): the next
    /// update's header still names the right parent roots.
    pub fn skip(&mut self, sim: &mut Sim) {
        self.parent_roots = roots(sim);
    }

    pub fn update(
        &mut self,
        block: &Block,
        sim: &mut Sim,
        receipts: &[Receipt],
        finality: Option<FinalityProof>,
    ) -> TickUpdate {
        let (records, chunks) = self.parent_roots;
        let header = Header {
            height: block.height,
            tick: block.tick,
            parent: block.parent,
            zone: block.zone,
            parent_state_root: block.parent_state_root,
            actions_hash: block.actions_hash(),
            parent_records_root: records,
            parent_chunk_root: chunks,
            finality,
        };
        self.parent_roots = roots(sim);

        let receipts_proven = self.receipts(block, sim, receipts);
        let mut changed = Vec::new();
        // The last change to each claim entity counts: it is what the state now holds.
        let mut claims: BTreeMap<z3r0_ecs::EntityId, (i32, i32)> = BTreeMap::new();
        let mut inventories: BTreeMap<[u8; 32], z3r0_ecs::EntityId> = BTreeMap::new();
        let mut content_changed = false;
        for r in receipts {
            match r {
                Receipt::ContentScheduled { .. } | Receipt::ContentActivated { .. } => {
                    content_changed = true;
                }
                Receipt::BlockChanged { pos, to, .. } => changed.push((*pos, *to)),
                Receipt::ClaimChanged { entity, column, .. } => {
                    claims.insert(*entity, *column);
                }
                Receipt::InventoryChanged(entity, _) => {
                    if let Some(player) = sim.ecs.get::<z3r0_sim::Player>(*entity) {
                        inventories.insert(player.key, *entity);
                    }
                }
                // A body from another zone brings its inventory: its sessions here (a client
                // watching this zone for it) get it proven, which proves the body is here.
                Receipt::Entered { player, .. } => {
                    if let Some(entity) = sim.player(player) {
                        inventories.insert(*player, entity);
                    }
                }
                _ => {}
            }
        }
        let entities: Vec<EntityRecord> = sim
            .players()
            .filter_map(|(key, entity)| {
                let body = sim.body(key)?;
                let control = sim.control(key);
                Some(EntityRecord {
                    id: entity.0,
                    player: *key,
                    pos: body.pos,
                    vel: body.vel,
                    state: body.state,
                    frame: control.map(|c| c.frame).unwrap_or_default(),
                })
            })
            .collect();
        TickUpdate {
            header,
            entities: entities.into(),
            receipts: receipts_proven,
            changed_voxels: changed,
            claims: claim_entries(sim, claims.into_iter().map(|(e, c)| (c, e.0))),
            inventories: inventories
                .into_iter()
                .filter_map(|(key, entity)| {
                    Some((key, inventory_entry(sim, entity, block.height)?))
                })
                .collect(),
            content: content_changed.then(|| content_entries(sim)),
        }
    }
}

impl FeedBuilder {
    /// The receipt logs to prove after `block`: every live one at a proof point (every
    /// [`receipt_proof_blocks`], or after half a window of ticks without one), and every
    /// [`receipt_prompt_blocks`] those of keys whose actions were refused or were more than an
    /// input frame (an edit, a claim: a player waits on those).
    fn receipts(
        &mut self,
        block: &Block,
        sim: &mut Sim,
        receipts: &[Receipt],
    ) -> BTreeMap<[u8; 32], ReceiptsEntry> {
        self.note_prompt(block, receipts);
        // Ticks can run ahead of heights (skipped ticks): half a window of them is a point too.
        let tick_ms = sim.config().tick_ms;
        let half_window = z3r0_sim::receipt_window(tick_ms) / 2;
        let point = block.height.is_multiple_of(receipt_proof_blocks(tick_ms))
            || block.tick >= self.last_proof_tick.saturating_add(half_window);
        let keys: BTreeSet<[u8; 32]> = if point {
            self.last_proof_tick = block.tick;
            self.prompt.clear();
            sim.receipt_logs().map(|(k, _)| *k).collect()
        } else if block.height.is_multiple_of(receipt_prompt_blocks(tick_ms)) {
            std::mem::take(&mut self.prompt)
        } else {
            BTreeSet::new()
        };
        keys.into_iter()
            .filter_map(|key| Some((key, receipts_entry(sim, &key, block.height)?)))
            .collect()
    }

    /// Notes the keys of `block` that await an answer.
    fn note_prompt(&mut self, block: &Block, receipts: &[Receipt]) {
        let refused = receipts.iter().filter_map(|r| match r {
            Receipt::Rejected {
                player,
                index: Some(_),
                ..
            } => Some(*player),
            _ => None,
        });
        let acted = block.actions.iter().filter_map(|a| {
            let frame = matches!(
                z3r0_sim::Action::decode(a.action.payload.as_ref()),
                Ok(z3r0_sim::Action::Input(_))
            );
            let key = <[u8; 32]>::try_from(a.action.player.as_ref()).ok()?;
            (!frame).then_some(key)
        });
        self.prompt.extend(refused.chain(acted));
    }
}

/// `key`'s receipt log as `sim` holds it after block `height`, proven against the records root
/// of the last commit.
pub fn receipts_entry(sim: &mut Sim, key: &[u8; 32], height: u64) -> Option<ReceiptsEntry> {
    let (entity, log) = sim.receipt_log(key)?;
    let log = log.clone();
    let proof = sim.ecs.prove::<z3r0_sim::ReceiptLog>(entity).ok()??;
    Some(ReceiptsEntry {
        height,
        entity: entity.0,
        log,
        proof: proof.encode().to_vec(),
    })
}

/// The chunk at `pos` in `sim`'s state after block `height`, with its proof.
/// The claims of `which` (column, claim entity) as `sim` holds them now, each with its proof
/// against the records root of the last commit: the claim record, or the absence of one (a
/// release).
pub fn claim_entries(
    sim: &mut Sim,
    which: impl IntoIterator<Item = ((i32, i32), u64)>,
) -> Vec<ClaimEntry> {
    let mut out = Vec::new();
    for (column, entity) in which {
        let entity = z3r0_ecs::EntityId(entity);
        let entry = match sim.ecs.get::<Claim>(entity).cloned() {
            Some(claim) => {
                let Ok(Some(proof)) = sim.ecs.prove::<Claim>(entity) else {
                    continue;
                };
                ClaimEntry {
                    column: claim.column,
                    entity: entity.0,
                    owner: Some(claim.owner),
                    builders: claim.builders,
                    proof: proof.encode().to_vec(),
                }
            }
            None => {
                let Ok(Some(proof)) = sim.ecs.prove_absent::<Claim>(entity) else {
                    continue;
                };
                ClaimEntry {
                    column,
                    entity: entity.0,
                    owner: None,
                    builders: Vec::new(),
                    proof: proof.encode().to_vec(),
                }
            }
        };
        out.push(entry);
    }
    out
}

/// The inventory of `entity` (a player) as `sim` holds it after block `height`, with the proofs
/// of its `Player` and `Inventory` records against the records root of the last commit.
pub fn inventory_entry(
    sim: &mut Sim,
    entity: z3r0_ecs::EntityId,
    height: u64,
) -> Option<InventoryEntry> {
    let inventory = *sim.ecs.get::<Inventory>(entity)?;
    let player_proof = sim.ecs.prove::<z3r0_sim::Player>(entity).ok()??;
    let proof = sim.ecs.prove::<Inventory>(entity).ok()??;
    let session = match sim.ecs.get::<z3r0_sim::Session>(entity).copied() {
        Some(s) => Some(SessionProof {
            key: s.key,
            until: s.until,
            proof: sim
                .ecs
                .prove::<z3r0_sim::Session>(entity)
                .ok()??
                .encode()
                .to_vec(),
        }),
        None => None,
    };
    Some(InventoryEntry {
        height,
        entity: entity.0,
        inventory,
        player_proof: player_proof.encode().to_vec(),
        proof: proof.encode().to_vec(),
        session,
    })
}

/// The inventory of `account`'s player after block `height`, proven (see [`inventory_entry`]).
pub fn account_inventory(sim: &mut Sim, account: &[u8; 32], height: u64) -> Option<InventoryEntry> {
    let entity = sim.player(account)?;
    inventory_entry(sim, entity, height)
}

/// Every published content manifest record `sim` holds, proven.
pub fn content_entries(sim: &mut Sim) -> Vec<ContentEntry> {
    let (active, scheduled) = sim.content_entities();
    let mut out = Vec::new();
    for entity in [active, scheduled].into_iter().flatten() {
        let Some(record) = sim
            .ecs
            .get::<z3r0_sim::content::PublishedContent>(entity)
            .copied()
        else {
            continue;
        };
        let Ok(Some(proof)) = sim.ecs.prove::<z3r0_sim::content::PublishedContent>(entity) else {
            continue;
        };
        out.push(ContentEntry {
            entity: entity.0,
            manifest: record.manifest,
            activate_at: record.activate_at,
            proof: proof.encode().to_vec(),
        });
    }
    out
}

/// Every claim `sim` holds, proven (a session's starting view).
pub fn all_claim_entries(sim: &mut Sim) -> Vec<ClaimEntry> {
    let which: Vec<_> = sim.claim_entities().map(|(c, e)| (c, e.0)).collect();
    claim_entries(sim, which)
}

pub fn chunk_data(sim: &mut Sim, pos: ChunkPos, height: u64) -> Option<ChunkData> {
    let proof = sim.voxels.prove_chunk(pos)?;
    let chunk = sim.voxels.chunk(pos)?;
    let mut bytes = Vec::new();
    chunk.encode_into(&mut bytes);
    Some(ChunkData {
        height,
        pos,
        chunk: bytes,
        proof: proof.encode().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{FeedBuilder, receipt_prompt_blocks, receipt_proof_blocks};
    use z3r0_chain::Block;
    use z3r0_sim::{Receipt, Sim, SimConfig};

    /// A body entering from another zone brings its inventory: the update carries it, so the
    /// player's sessions here get it proven (a watching client's proof that the body is here).
    #[test]
    fn an_entered_body_gets_its_inventory_proven() {
        let mut sim = Sim::genesis(SimConfig::default()).unwrap();
        let player = [7; 32];
        let mut receipts = Vec::new();
        let join = z3r0_sim::Action::Join.encode_to_vec();
        sim.execute_tick(1, [(&player, join.as_slice())], &mut receipts);
        let entity = sim.player(&player).unwrap();
        let mut builder = FeedBuilder::new(&mut sim);
        let block = Block::genesis(0, sim.root());
        let entered = [Receipt::Entered {
            player,
            from: 1,
            seq: 0,
            lost: 0,
        }];
        let update = builder.update(&block, &mut sim, &entered, None);
        let entry = update.inventories.get(&player).unwrap();
        assert_eq!(entry.entity, entity.0);
        // Nothing entered, nothing changed: no inventory.
        let quiet = builder.update(&block, &mut sim, &[], None);
        assert!(quiet.inventories.is_empty());
    }

    #[test]
    fn proof_points_and_edit_flushes_share_their_blocks_at_every_tick_rate() {
        assert_eq!(
            (receipt_prompt_blocks(50), receipt_proof_blocks(50)),
            (10, 20)
        );
        assert_eq!(
            (receipt_prompt_blocks(16), receipt_proof_blocks(16)),
            (32, 64)
        );
        for tick_ms in 1..=1_000 {
            let (prompt, proof) = (
                receipt_prompt_blocks(tick_ms),
                receipt_proof_blocks(tick_ms),
            );
            let half_window = z3r0_sim::receipt_window(tick_ms) / 2;
            assert!(prompt >= 1 && proof.is_multiple_of(prompt), "{tick_ms} ms");
            assert!(proof <= half_window, "{tick_ms} ms");
            let edge = crate::EdgeConfig::for_tick("127.0.0.1:1".parse().unwrap(), tick_ms);
            assert_eq!(edge.header_interval, proof);
            assert_eq!(edge.edit_interval, prompt);
        }
    }
}
