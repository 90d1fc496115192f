//! One player's session with a zone: the streamed world, the predicted local player, the
//! interpolated others, and the actions in flight with what the chain said about them.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use commonware_cryptography::ed25519::PrivateKey;
use z3r0_chain::SignedAction;
use z3r0_net::NetError;
use z3r0_net::client::{ClientConfig, ClientEvent, EdgeClient};
use z3r0_net::server::chunk_of;
use z3r0_net::snapshot::OwnState;
use z3r0_sim::{Action, Body, Claim, InputFrame, Inventory, Reason};
use z3r0_voxel::{BlockId, ChunkPos, VoxelPos, World, blocks};

use crate::interp::Interpolator;
use crate::predict::{Authoritative, PendingEdit, Predictor};

/// Most chunks a client keeps.
const WORLD_CAPACITY: usize = 8_192;
/// Inputs are sent for this many ticks ahead of the chain's clock and resent this many times,
/// so a lost datagram does not cost a tick.
pub const INPUT_LEAD: u64 = 3;
/// Ticks the local clock may run ahead of the newest finalized tick: snapshots trail the clock
/// by finality plus the one-way delay, and a few may be lost; inputs must still stay within the
/// mempool's lead (20 ticks) after `INPUT_LEAD` is added.
const CLOCK_SLACK: u64 = 14;
/// Snapshots without the player's body after which it counts as gone (timed out, left).
const GONE_AFTER: u32 = 40;
/// Ticks after joining that the player waits at most for the chunks around it (those beyond
/// the zone's edge never come).
const LOAD_WAIT: u64 = 40;

/// What happened in a session, for the HUD and reports.
#[derive(Debug, Default, Clone)]
pub struct GameStats {
    pub chunks: u64,
    pub bad_chunks: u64,
    /// Claims whose proofs failed.
    pub bad_claims: u64,
    /// Edits not shown early (a refusal was expected) that the chain applied.
    pub held_back_applied: u64,
    pub snapshots: u64,
    pub included: u64,
    /// Actions signed and sent (each new one once; resends are not counted).
    pub actions_sent: u64,
    /// Refusals by the node and rejections by the rules, by reason text.
    pub refusals: BTreeMap<String, u64>,
    /// Finality latency samples: block tick start → its verified header here, milliseconds.
    pub finality_ms: VecDeque<f64>,
}

/// What became of one of the player's actions (by nonce), for bots and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub nonce: u64,
    /// `None`: applied by a finalized block. `Some(reason)`: refused by the node or rejected by
    /// the rules, in words.
    pub refused: Option<String>,
}

/// Outcomes kept until someone drains them.
const MAX_OUTCOMES: usize = 1024;
/// Ticks after a join without a body before joining again.
const JOIN_RETRY_TICKS: u64 = 20;
/// Releases remembered (against an older claim proven again), at most.
const MAX_RELEASES: usize = 4096;
/// Ticks after its target tick that an edit shown early stays shown without a word from the
/// chain (the mempool drops actions 20 ticks old): its datagram or its receipt was lost.
const UNDECIDED_AFTER: u64 = 24;

/// A voxel the chain changed that the player had not changed already (someone else's edit,
/// or one of the player's own that the local world did not show), for sounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockChange {
    pub pos: VoxelPos,
    pub from: BlockId,
    pub to: BlockId,
}

/// Block changes kept until someone drains them.
const MAX_BLOCK_CHANGES: usize = 256;

/// A chunk column's claim as the client holds it: checked against a finalized records root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownClaim {
    /// The claim record as proven (owner, builders).
    pub claim: Claim,
    /// The claim's entity (only its own release, proven, removes it).
    pub entity: u64,
    /// The height it was proven at (an older proof never replaces a newer one).
    pub height: u64,
}

/// A rejection or refusal the player should see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub tick: u64,
    pub text: String,
}

#[derive(Debug)]
pub struct Game {
    pub edge: EdgeClient,
    pub world: World,
    pub predictor: Predictor,
    pub remote: Interpolator,
    pub own: Option<OwnState>,
    pub stats: GameStats,
    /// The newest notices (bounded).
    pub notices: VecDeque<Notice>,
    /// Outcomes of the player's actions, oldest first (bounded: the oldest are dropped).
    pub outcomes: VecDeque<Outcome>,
    /// Changes to held chunks as proven edits brought them, oldest first (bounded).
    pub block_changes: VecDeque<BlockChange>,
    /// Who owns each claimed chunk column, as finalized and proven.
    pub claims: BTreeMap<(i32, i32), ShownClaim>,
    /// Columns whose claim the player saw released, with the height of the release.
    released: BTreeMap<(i32, i32), u64>,
    /// Recent inputs by target tick, resent until their tick passes.
    inputs: BTreeMap<u64, SignedAction>,
    subscribed: Option<ChunkPos>,
    pub radius: u8,
    pub joined: bool,
    /// The account's inventory as of the last finalized block that changed it (`None` until
    /// the node said).
    pub inventory: Option<Inventory>,
    /// The tick of the last join sent.
    join_sent: Option<u64>,
    /// The first action sent (the join), kept for the cheat bot's replay.
    first: Option<SignedAction>,
    /// Edits shown locally before the chain decides, by nonce.
    pending_edits: BTreeMap<u64, PendingEdit>,
    /// The player's edits the chain applied, by voxel: the height of the block that did and
    /// the block now there. A chunk proven before that height does not have them yet, and they
    /// are kept over it until one proven at or after it comes.
    applied_edits: BTreeMap<VoxelPos, (u64, BlockId)>,
    /// Edits sent but not shown (the client expects a refusal), by nonce: where, which tick.
    held_back: BTreeMap<u64, (VoxelPos, u64)>,
    /// Snapshots in a row without the player's body.
    missing_body: u32,
    /// The tick of the first snapshot with the player's body since it joined.
    joined_at: Option<u64>,
    lag: f64,
}

/// A reason without what makes each message unique (numbers, parenthesised details), for
/// counting.
pub fn reason_key(text: &str) -> String {
    let mut words = String::new();
    let mut depth = 0u32;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 && !c.is_ascii_digit() => words.push(c),
            _ => {}
        }
    }
    words.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Game {
    pub async fn connect(config: &ClientConfig, key: PrivateKey) -> Result<Self, NetError> {
        let edge = EdgeClient::connect(config, key).await?;
        Ok(Self {
            edge,
            world: World::with_capacity(WORLD_CAPACITY),
            predictor: Predictor::new(),
            remote: Interpolator::default(),
            own: None,
            stats: GameStats::default(),
            notices: VecDeque::new(),
            outcomes: VecDeque::new(),
            block_changes: VecDeque::new(),
            claims: BTreeMap::new(),
            released: BTreeMap::new(),
            inputs: BTreeMap::new(),
            subscribed: None,
            radius: 3,
            joined: false,
            inventory: None,
            join_sent: None,
            first: None,
            pending_edits: BTreeMap::new(),
            held_back: BTreeMap::new(),
            applied_edits: BTreeMap::new(),
            missing_body: 0,
            joined_at: None,
            lag: 2.0,
        })
    }

    /// The tick the chain is in now: from its genesis time and tick length, kept within a few
    /// ticks after the newest finalized tick seen, so a skewed local clock makes inputs neither
    /// late nor too far ahead for the mempool.
    pub fn chain_tick(&self) -> u64 {
        let newest = self.edge.newest_snapshot();
        if self.edge.tick_ms == 0 {
            // Unpaced chain: there is no clock, only the blocks seen.
            return newest.max(self.edge.start_tick) + 1;
        }
        let by_clock = now_ms().saturating_sub(self.edge.genesis_ms) / u64::from(self.edge.tick_ms);
        match newest {
            0 => by_clock,
            _ => by_clock.clamp(newest + 1, newest + 1 + CLOCK_SLACK),
        }
    }

    /// The chain's clock in ticks, continuous (for drawing between ticks).
    pub fn clock_ticks(&self) -> f64 {
        let tick_ms = f64::from(self.edge.tick_ms.max(1));
        now_ms().saturating_sub(self.edge.genesis_ms) as f64 / tick_ms
    }

    /// How far behind the clock snapshots arrive, in ticks (smoothed).
    pub fn snapshot_lag(&self) -> f64 {
        self.lag
    }

    /// The tick inputs sent now target.
    pub fn input_tick(&self) -> u64 {
        self.chain_tick().max(self.edge.start_tick) + INPUT_LEAD
    }

    fn notice(&mut self, tick: u64, text: String) {
        *self.stats.refusals.entry(reason_key(&text)).or_default() += 1;
        self.notices.push_back(Notice { tick, text });
        while self.notices.len() > 32 {
            self.notices.pop_front();
        }
    }

    fn outcome(&mut self, outcome: Outcome) {
        self.outcomes.push_back(outcome);
        while self.outcomes.len() > MAX_OUTCOMES {
            self.outcomes.pop_front();
        }
    }

    /// Sends a game action (not an input frame) for the input tick.
    pub fn act(&mut self, action: &Action) -> Result<SignedAction, NetError> {
        let signed = self
            .edge
            .send_action(self.input_tick(), action.encode_to_vec())?;
        self.stats.actions_sent += 1;
        self.first.get_or_insert_with(|| signed.clone());
        Ok(signed)
    }

    /// Digs or places with immediate local feedback: the voxel changes in the client's world at
    /// once, and changes back if the chain refuses the action (the streamed chunk settles it
    /// either way). An edit the rules will refuse as far as the client can tell is only sent:
    /// a refused edit shown early misleads prediction (a block placed where the player stands
    /// lifts it, until the refusal drops it back).
    pub fn edit(&mut self, action: &Action) -> Result<(), NetError> {
        let (pos, to) = match action {
            Action::Break(pos) => (*pos, blocks::AIR),
            Action::Place(pos, id) => (*pos, *id),
            _ => {
                self.act(action)?;
                return Ok(());
            }
        };
        let show = self.likely_accepted(pos, to);
        let signed = self.act(action)?;
        if !show {
            self.held_back
                .insert(signed.action.nonce, (pos, signed.action.tick));
            while self.held_back.len() > 64 {
                self.held_back.pop_first();
            }
        }
        if show && let Ok(before) = self.world.set_voxel(pos, to) {
            let edit = PendingEdit {
                pos,
                before,
                to,
                tick: signed.action.tick,
            };
            self.pending_edits.insert(signed.action.nonce, edit);
            while self.pending_edits.len() > 64 {
                self.pending_edits.pop_first();
            }
        }
        Ok(())
    }

    /// Whether the rules will accept setting `pos` to `to` (air: a dig), as far as the client
    /// knows: the rules' own edit checks on the local world from the predicted eye, in a column
    /// that is unclaimed or the player's, with the block carried, and no player's body where a
    /// solid block would go.
    fn likely_accepted(&mut self, pos: VoxelPos, to: BlockId) -> bool {
        // The rules check the edit against the body before its tick's movement. (Predicting
        // the input tick itself here, before its frame is sent, would also record a prediction
        // without that frame, measured later as a correction.)
        let before = self.input_tick().saturating_sub(1);
        let Some(body) = self
            .predicted_at(before)
            .or_else(|| self.predictor.base().map(|b| b.body))
        else {
            return false;
        };
        let placing = to != blocks::AIR;
        let eye = [
            body.pos[0],
            body.pos[1] + z3r0_sim::physics::EYE,
            body.pos[2],
        ];
        let account = self.edge.account();
        let c = pos.chunk();
        let may_build = self
            .claims
            .get(&(c.x, c.z))
            .is_none_or(|shown| shown.claim.may_build(&account));
        let world = &self.world;
        if z3r0_sim::edit_check(&|p| world.voxel(p), eye, pos, placing, may_build).is_err() {
            return false;
        }
        if !placing {
            return true;
        }
        if self.inventory.is_some_and(|i| i.count(to) == 0) {
            return false;
        }
        if !z3r0_voxel::block_info(to).solid {
            return true;
        }
        let own = self.own.map(|o| o.entity);
        let newest = self.remote.newest().unwrap_or(0) as f64;
        let others = self
            .remote
            .at(newest)
            .into_iter()
            .filter(|e| Some(e.id) != own)
            .map(|e| e.pos.map(|c| (c * 1024.0).round() as i64));
        !std::iter::once(body.pos)
            .chain(others)
            .any(|p| z3r0_sim::physics::Aabb::player(p).intersects_voxel(pos))
    }

    /// The chain decided on the edit with `nonce`: refused, or applied by the block at
    /// `height`.
    fn settle_edit(&mut self, nonce: u64, refused: bool, height: Option<u64>) {
        if let Some(edit) = self.pending_edits.remove(&nonce) {
            match (refused, height) {
                (true, _) => {
                    let _ = self.world.set_voxel(edit.pos, edit.before);
                }
                (false, Some(height)) => {
                    self.applied_edits.insert(edit.pos, (height, edit.to));
                    while self.applied_edits.len() > 256 {
                        self.applied_edits.pop_first();
                    }
                }
                (false, None) => {}
            }
        }
        if let Some((pos, tick)) = self.held_back.remove(&nonce)
            && !refused
        {
            // The client guessed a refusal and the chain applied it: prediction ran without it.
            self.stats.held_back_applied += 1;
            tracing::debug!(?pos, tick, "an edit not shown early was applied");
        }
    }

    /// Undoes edits shown early that the chain never decided on by `tick` (their action or its
    /// receipt was lost): the chain has the voxel as it was.
    fn expire_undecided(&mut self, tick: u64) {
        for nonce in undecided(&self.pending_edits, tick) {
            if let Some(edit) = self.pending_edits.remove(&nonce)
                && self.world.voxel(edit.pos) == Some(edit.to)
            {
                let _ = self.world.set_voxel(edit.pos, edit.before);
            }
        }
    }

    /// Sends the first action again, unchanged: the chain must refuse the used nonce. Returns
    /// that nonce (`None`: nothing sent yet).
    pub fn replay_first(&mut self) -> Result<Option<u64>, NetError> {
        match &self.first {
            Some(a) => {
                self.edge.send_signed(a)?;
                self.stats.actions_sent += 1;
                Ok(Some(a.action.nonce))
            }
            None => Ok(None),
        }
    }

    /// Joins the zone if it should (call it every tick until `joined`):
    /// - not through a session key: the account is in the zone while the session lasts, and
    ///   once the account has gone a join would make the session key a player of its own
    ///   (connect again, which delegates anew);
    /// - not before the first snapshot, which tells whether the player is in the zone already
    ///   (a reconnect: a join would only be refused);
    /// - again only a second after the last one if no body has shown up (a datagram may be
    ///   lost).
    pub fn join(&mut self) -> Result<(), NetError> {
        if self.is_session() || self.joined || self.stats.snapshots == 0 {
            return Ok(());
        }
        let tick = self.chain_tick();
        if self
            .join_sent
            .is_some_and(|t| tick < t.saturating_add(JOIN_RETRY_TICKS))
        {
            return Ok(());
        }
        self.join_sent = Some(tick);
        self.act(&Action::Join).map(|_| ())
    }

    /// Sends this tick's input frame (once per target tick) and resends the unexpired ones.
    /// Returns the new frame's nonce (`None`: this tick already had its frame).
    pub fn input(&mut self, frame: InputFrame) -> Result<Option<u64>, NetError> {
        let target = self.input_tick();
        let mut sent = None;
        if !self.inputs.contains_key(&target) {
            let signed = self
                .edge
                .send_action(target, Action::Input(frame).encode_to_vec())?;
            sent = Some(signed.action.nonce);
            self.stats.actions_sent += 1;
            self.inputs.insert(target, signed);
            self.predictor.sent(target, frame);
        }
        // A copy can only help before its tick's block is proposed.
        let chain = self.chain_tick();
        self.inputs.retain(|&t, _| t >= chain);
        for (t, a) in &self.inputs {
            if *t != target {
                // A copy the node already has is dropped there without a reply.
                let _ = self.edge.send_signed(a);
            }
        }
        Ok(sent)
    }

    /// Handles everything that has arrived, without waiting.
    pub async fn poll(&mut self) -> Result<(), NetError> {
        while let Some(event) = self.edge.try_next_event().await? {
            self.apply(event)?;
        }
        self.resubscribe().await
    }

    /// Waits up to `timeout` for one event and handles it (and whatever else is queued).
    pub async fn wait(&mut self, timeout: Duration) -> Result<(), NetError> {
        if let Ok(event) = tokio::time::timeout(timeout, self.edge.next_event()).await {
            self.apply(event?)?;
        }
        self.poll().await
    }

    async fn resubscribe(&mut self) -> Result<(), NetError> {
        let Some(own) = self.own else { return Ok(()) };
        let center = chunk_of(own.pos);
        if self.subscribed != Some(center) {
            self.subscribed = Some(center);
            // Drop chunks beyond the radius plus one of hysteresis.
            let keep = i32::from(self.radius) + 1;
            let far: Vec<ChunkPos> = self
                .world
                .chunks()
                .map(|(p, _)| p)
                .filter(|p| {
                    let d =
                        (p.x - center.x).pow(2) + (p.y - center.y).pow(2) + (p.z - center.z).pow(2);
                    d > keep * keep
                })
                .collect();
            for p in far {
                let _ = self.world.remove_chunk(p);
                self.applied_edits.retain(|q, _| q.chunk() != p);
                self.edge.cache.remove(&p);
            }
            self.edge.subscribe(center, self.radius).await?;
        }
        Ok(())
    }

    fn apply(&mut self, event: ClientEvent) -> Result<(), NetError> {
        match event {
            ClientEvent::Snapshot(s) => {
                self.stats.snapshots += 1;
                self.expire_undecided(s.tick);
                if self.edge.tick_ms > 0 {
                    let behind = (self.clock_ticks() - s.tick as f64).max(0.0);
                    self.lag += (behind - self.lag) * 0.1;
                }
                if s.own.is_none() && self.joined {
                    self.missing_body += 1;
                    if self.missing_body >= GONE_AFTER {
                        // Timed out or removed: play again from a new join.
                        self.joined = false;
                        self.joined_at = None;
                        self.own = None;
                        self.predictor = Predictor::new();
                        self.notice(s.tick, "the player is no longer in the zone".into());
                    }
                }
                if let Some(own) = s.own {
                    self.missing_body = 0;
                    self.joined = true;
                    self.joined_at.get_or_insert(s.tick);
                    self.own = Some(own);
                    let reconciled = self.predictor.authoritative(Authoritative {
                        tick: s.tick,
                        body: Body {
                            pos: own.pos,
                            vel: own.vel,
                            state: own.state,
                        },
                        frame: own.frame,
                    });
                    if let Some(e) = reconciled.error
                        && e > crate::predict::TOLERANCE
                    {
                        let sent = self.inputs.contains_key(&s.tick);
                        tracing::debug!(
                            tick = s.tick,
                            error = e,
                            frame = ?own.frame,
                            input_still_held = sent,
                            area_loaded = self.area_loaded(),
                            pending_edits = self.pending_edits.len(),
                            "prediction corrected"
                        );
                    }
                }
                self.remote.push(s.tick, &s.entities);
            }
            ClientEvent::Chunk {
                pos,
                height,
                chunk,
                edited,
            } => {
                self.stats.chunks += 1;
                let own_edits =
                    edits_to_keep(&mut self.applied_edits, &self.pending_edits, pos, height);
                let origin = pos.origin();
                for index in edited {
                    let i = usize::from(index);
                    let local = z3r0_voxel::LocalPos::from_index(i);
                    let voxel = VoxelPos::new(
                        origin.x + i32::from(local.x()),
                        origin.y + i32::from(local.y()),
                        origin.z + i32::from(local.z()),
                    );
                    let to = chunk.get_index(i);
                    if let Some(from) = self.world.voxel(voxel)
                        && from != to
                        && !own_edits.iter().any(|(p, _)| *p == voxel)
                    {
                        self.block_changes.push_back(BlockChange {
                            pos: voxel,
                            from,
                            to,
                        });
                        while self.block_changes.len() > MAX_BLOCK_CHANGES {
                            self.block_changes.pop_front();
                        }
                    }
                }
                let _ = self.world.remove_chunk(pos);
                if let Err(e) = self.world.insert_chunk(pos, &chunk) {
                    // Not held after all: the node must send it again later (it learns that
                    // from the next subscription).
                    self.edge.forget(pos);
                    self.subscribed = None;
                    tracing::warn!(%e, "client world full");
                }
                for (p, to) in own_edits {
                    let _ = self.world.set_voxel(p, to);
                }
            }
            ClientEvent::BadChunk { pos, reason } => {
                self.stats.bad_chunks += 1;
                // The client dropped it: subscribing again tells the node, which resends it.
                self.subscribed = None;
                tracing::warn!(?pos, %reason, "chunk rejected");
            }
            ClientEvent::Included(i) => {
                self.stats.included += 1;
                for r in &i.rejections {
                    // Walls and mid-air jumps are movement feedback, not refusals to show.
                    if r.nonce.is_some() {
                        self.notice(i.tick, reason_text(r.reason));
                    }
                }
                for &nonce in &i.nonces {
                    let refused = i
                        .rejections
                        .iter()
                        .find(|r| r.nonce == Some(nonce))
                        .map(|r| reason_text(r.reason));
                    self.settle_edit(nonce, refused.is_some(), Some(i.height));
                    self.outcome(Outcome { nonce, refused });
                }
            }
            ClientEvent::Refused { nonce, kind } => {
                self.settle_edit(nonce, true, None);
                let tick = self.chain_tick();
                let text = format!("refused by the node: {kind}");
                self.notice(tick, text.clone());
                self.outcome(Outcome {
                    nonce,
                    refused: Some(text),
                });
            }
            ClientEvent::Inventory(inventory) => self.inventory = Some(inventory),
            ClientEvent::Claims { height, claims } => {
                apply_claims(&mut self.claims, &mut self.released, height, claims);
            }
            ClientEvent::BadClaim { column, reason } => {
                self.stats.bad_claims += 1;
                tracing::warn!(?column, %reason, "claim rejected");
            }
            ClientEvent::BadInventory { reason } => {
                tracing::warn!(%reason, "inventory rejected");
            }
            ClientEvent::BadReceipts { reason } => {
                tracing::warn!(%reason, "receipts rejected");
            }
            ClientEvent::Header(h) => {
                // A verified header's arrival, from the start of its tick: finality as this
                // player sees it.
                let start = self
                    .edge
                    .genesis_ms
                    .saturating_add(h.tick.saturating_mul(u64::from(self.edge.tick_ms)));
                self.stats
                    .finality_ms
                    .push_back(now_ms().saturating_sub(start) as f64);
                while self.stats.finality_ms.len() > 200 {
                    self.stats.finality_ms.pop_front();
                }
            }
        }
        Ok(())
    }

    /// Whether the world the player can touch soon has loaded: its chunk, the four beside it
    /// and the one below. Prediction takes a missing chunk for solid, so walking into one
    /// predicts a wall the chain does not have (a correction as the chunk arrives). Players
    /// should stand still until then; after `LOAD_WAIT` ticks it is true regardless.
    pub fn area_loaded(&self) -> bool {
        let Some(own) = self.own else { return false };
        if self
            .joined_at
            .is_some_and(|t| self.chain_tick() >= t + LOAD_WAIT)
        {
            return true;
        }
        let c = chunk_of(own.pos);
        [
            (0, 0, 0),
            (1, 0, 0),
            (-1, 0, 0),
            (0, 0, 1),
            (0, 0, -1),
            (0, -1, 0),
        ]
        .iter()
        .all(|&(dx, dy, dz)| {
            let p = ChunkPos::new(c.x + dx, c.y + dy, c.z + dz);
            self.world.chunk(p).is_some()
        })
    }

    /// The owner of the chunk column holding `voxel`, as finalized (`None`: unclaimed).
    pub fn owner_of(&self, voxel: VoxelPos) -> Option<[u8; 32]> {
        let c = voxel.chunk();
        self.claims.get(&(c.x, c.z)).map(|c| c.claim.owner)
    }

    /// The predicted local body at the input tick (what the player sees), if joined.
    /// Until the world around has streamed in it is the chain's body: chunks not held yet
    /// count as solid in prediction, a floor that is not there (a player spawned above the
    /// ground would be predicted standing in the air while the chain has it fall).
    pub fn predicted(&mut self) -> Option<Body> {
        self.predicted_at(self.input_tick())
    }

    fn predicted_at(&mut self, tick: u64) -> Option<Body> {
        if !self.area_loaded() {
            return self.predictor.base().map(|b| b.body);
        }
        // Nonces rise with send order, so this is oldest first.
        let pending: Vec<PendingEdit> = self.pending_edits.values().copied().collect();
        self.predictor.predict(tick, &self.world, &pending)
    }
}

/// Takes proven claims (and releases) at `height` into `shown`: an older proof never
/// replaces a newer claim or undoes a newer release, and a release removes a column's claim
/// only if it is of the entity held there.
fn apply_claims(
    shown: &mut BTreeMap<(i32, i32), ShownClaim>,
    released: &mut BTreeMap<(i32, i32), u64>,
    height: u64,
    claims: Vec<z3r0_net::proto::ClaimEntry>,
) {
    for c in claims {
        let held = shown.get(&c.column);
        let newer_release = released.get(&c.column).is_some_and(|&r| r > height);
        if newer_release || held.is_some_and(|h| h.height > height) {
            continue;
        }
        match c.owner {
            Some(owner) => {
                // An entity holds one claim, and ids are reused: an entity proven to claim this
                // column no longer holds one it was shown with at an older height.
                shown.retain(|column, s| {
                    *column == c.column || s.entity != c.entity || s.height > height
                });
                released.remove(&c.column);
                shown.insert(
                    c.column,
                    ShownClaim {
                        claim: Claim {
                            column: c.column,
                            owner,
                            builders: c.builders,
                        },
                        entity: c.entity,
                        height,
                    },
                );
            }
            // The proof is of that entity holding no claim: it releases the column only if
            // that was the claim held.
            None if held.is_some_and(|h| h.entity == c.entity) => {
                shown.remove(&c.column);
                // An older claim proven again must not bring it back.
                released.insert(c.column, height);
                while released.len() > MAX_RELEASES {
                    released.pop_first();
                }
            }
            None => {}
        }
    }
}

/// Edits shown early that the chain has not decided on by `tick`, long after their target
/// tick: their action or its receipt was lost.
fn undecided(pending: &BTreeMap<u64, PendingEdit>, tick: u64) -> Vec<u64> {
    pending
        .iter()
        .filter(|(_, e)| e.tick.saturating_add(UNDECIDED_AFTER) < tick)
        .map(|(&n, _)| n)
        .collect()
}

/// The player's own edits to keep shown over chunk `pos` proven after block `height`: those
/// the chain applied after that height (forgotten once a chunk proven at or after it comes),
/// and those not decided yet.
fn edits_to_keep(
    applied: &mut BTreeMap<VoxelPos, (u64, BlockId)>,
    pending: &BTreeMap<u64, PendingEdit>,
    pos: ChunkPos,
    height: u64,
) -> Vec<(VoxelPos, BlockId)> {
    applied.retain(|p, (at, _)| p.chunk() != pos || *at > height);
    applied
        .iter()
        .filter(|(p, _)| p.chunk() == pos)
        .map(|(p, (_, to))| (*p, *to))
        .chain(
            pending
                .values()
                .filter(|e| e.pos.chunk() == pos)
                .map(|e| (e.pos, e.to)),
        )
        .collect()
}

/// The rules' message for a reason code.
pub fn reason_text(code: u8) -> String {
    Reason::from_code(code).map_or_else(|| format!("reason {code}"), |r| r.message().to_string())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use z3r0_voxel::{VoxelPos, blocks};

    use super::{
        PendingEdit, ShownClaim, UNDECIDED_AFTER, apply_claims, edits_to_keep, reason_key,
        undecided,
    };
    use z3r0_net::proto::ClaimEntry;

    fn entry(column: (i32, i32), entity: u64, owner: Option<[u8; 32]>) -> ClaimEntry {
        ClaimEntry {
            column,
            entity,
            owner,
            builders: if owner.is_some() {
                vec![[7; 32]]
            } else {
                Vec::new()
            },
            proof: Vec::new(),
        }
    }

    #[test]
    fn claims_follow_the_newest_proof_and_releases_only_their_own_entity() {
        let (mut shown, mut released) = (BTreeMap::new(), BTreeMap::new());
        let col = (2, -3);
        apply_claims(
            &mut shown,
            &mut released,
            10,
            vec![entry(col, 40, Some([1; 32]))],
        );
        let claim = shown.get(&col).cloned();
        assert_eq!(
            claim,
            Some(ShownClaim {
                claim: z3r0_sim::Claim {
                    column: col,
                    owner: [1; 32],
                    builders: vec![[7; 32]],
                },
                entity: 40,
                height: 10
            })
        );
        // An older proof does not replace it; a release of another entity does not remove it.
        apply_claims(
            &mut shown,
            &mut released,
            8,
            vec![entry(col, 39, Some([2; 32]))],
        );
        apply_claims(&mut shown, &mut released, 11, vec![entry(col, 41, None)]);
        assert_eq!(shown.get(&col).map(|c| c.claim.owner), Some([1; 32]));
        // Its own release does; the old claim proven again later does not come back.
        apply_claims(&mut shown, &mut released, 12, vec![entry(col, 40, None)]);
        assert!(!shown.contains_key(&col));
        apply_claims(
            &mut shown,
            &mut released,
            10,
            vec![entry(col, 40, Some([1; 32]))],
        );
        assert!(!shown.contains_key(&col), "a stale claim after its release");
        // A new claim after the release does.
        apply_claims(
            &mut shown,
            &mut released,
            13,
            vec![entry(col, 42, Some([3; 32]))],
        );
        assert_eq!(shown.get(&col).map(|c| c.claim.owner), Some([3; 32]));
        // Entity ids are reused: entity 42 proven later on another column left this one.
        let other = (5, 5);
        apply_claims(
            &mut shown,
            &mut released,
            14,
            vec![entry(other, 42, Some([4; 32]))],
        );
        assert!(!shown.contains_key(&col), "an entity shown on two columns");
        assert_eq!(shown.get(&other).map(|c| c.entity), Some(42));
    }

    #[test]
    fn edits_undecided_long_after_their_tick_expire() {
        let edit = |tick| PendingEdit {
            pos: VoxelPos::new(0, 0, 0),
            before: blocks::STONE,
            to: blocks::AIR,
            tick,
        };
        let pending = BTreeMap::from([(1, edit(100)), (2, edit(110))]);
        assert!(undecided(&pending, 100 + UNDECIDED_AFTER).is_empty());
        assert_eq!(undecided(&pending, 101 + UNDECIDED_AFTER), vec![1]);
        assert_eq!(undecided(&pending, 200), vec![1, 2]);
    }

    #[test]
    fn own_edits_stay_over_chunks_proven_before_them() {
        let dug = VoxelPos::new(3, 40, 5);
        let placed = VoxelPos::new(4, 41, 5);
        let elsewhere = VoxelPos::new(100, 40, 5);
        let chunk = dug.chunk();
        let mut applied =
            BTreeMap::from([(dug, (10, blocks::AIR)), (elsewhere, (10, blocks::AIR))]);
        let pending = BTreeMap::from([(
            7,
            PendingEdit {
                pos: placed,
                before: blocks::AIR,
                to: blocks::STONE,
                tick: 12,
            },
        )]);
        // Proven after block 8: the dig (block 10) is not in it yet, nor the pending place.
        let keep = edits_to_keep(&mut applied, &pending, chunk, 8);
        assert_eq!(keep, vec![(dug, blocks::AIR), (placed, blocks::STONE)]);
        // Proven after block 10: it has the dig, which is forgotten; the place stays.
        let keep = edits_to_keep(&mut applied, &pending, chunk, 10);
        assert_eq!(keep, vec![(placed, blocks::STONE)]);
        assert!(!applied.contains_key(&dug));
        // Another chunk's edit is untouched.
        assert!(applied.contains_key(&elsewhere));
        assert_ne!(elsewhere.chunk(), chunk);
    }

    #[test]
    fn reason_keys_drop_numbers_and_details() {
        assert_eq!(
            reason_key("refused by the node: action for tick 12 expired (current tick 40)"),
            "refused by the node: action for tick expired"
        );
        assert_eq!(
            reason_key("refused by the node: nonce 3 already used (next is 9)"),
            "refused by the node: nonce already used"
        );
        assert_eq!(reason_key("out of reach"), "out of reach");
    }
}
