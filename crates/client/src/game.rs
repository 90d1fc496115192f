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
use z3r0_sim::{Action, Body, InputFrame, Reason};
use z3r0_voxel::{ChunkPos, World};

use crate::interp::Interpolator;
use crate::predict::{Authoritative, Predictor};

/// Most chunks a client keeps.
const WORLD_CAPACITY: usize = 8_192;
/// Inputs are sent for this many ticks ahead of the chain's clock and resent this many times,
/// so a lost datagram does not cost a tick.
pub const INPUT_LEAD: u64 = 3;

/// What happened in a session, for the HUD and reports.
#[derive(Debug, Default, Clone)]
pub struct GameStats {
    pub chunks: u64,
    pub bad_chunks: u64,
    pub snapshots: u64,
    pub included: u64,
    /// Refusals by the node and rejections by the rules, by reason text.
    pub refusals: BTreeMap<String, u64>,
    /// Finality latency samples: block tick start → its receipt, milliseconds.
    pub finality_ms: VecDeque<f64>,
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
    /// Recent inputs by target tick, resent until their tick passes.
    inputs: BTreeMap<u64, SignedAction>,
    /// Non-input actions in flight: nonce → action kind.
    actions: BTreeMap<u64, u8>,
    subscribed: Option<ChunkPos>,
    pub radius: u8,
    pub joined: bool,
    /// The first action sent (the join), kept for the cheat bot's replay.
    first: Option<SignedAction>,
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
            inputs: BTreeMap::new(),
            actions: BTreeMap::new(),
            subscribed: None,
            radius: 3,
            joined: false,
            first: None,
        })
    }

    /// The tick the chain is in now: from its genesis time and tick length, and never behind
    /// the newest finalized tick seen (a skewed clock must not make inputs late).
    pub fn chain_tick(&self) -> u64 {
        let tick_ms = u64::from(self.edge.tick_ms.max(1));
        let by_clock = now_ms().saturating_sub(self.edge.genesis_ms) / tick_ms;
        by_clock.max(self.edge.newest_snapshot() + 1)
    }

    /// Fraction of the current tick elapsed (0..1), for drawing between ticks.
    pub fn tick_fraction(&self) -> f64 {
        let tick_ms = u64::from(self.edge.tick_ms.max(1));
        let into = now_ms().saturating_sub(self.edge.genesis_ms) % tick_ms;
        into as f64 / tick_ms as f64
    }

    /// The tick inputs sent now target.
    pub fn input_tick(&self) -> u64 {
        self.chain_tick().max(self.edge.start_tick) + INPUT_LEAD
    }

    fn notice(&mut self, tick: u64, text: String) {
        *self.stats.refusals.entry(text.clone()).or_default() += 1;
        self.notices.push_back(Notice { tick, text });
        while self.notices.len() > 32 {
            self.notices.pop_front();
        }
    }

    /// Sends a game action (not an input frame) for the input tick.
    pub fn act(&mut self, action: &Action) -> Result<SignedAction, NetError> {
        let signed = self
            .edge
            .send_action(self.input_tick(), action.encode_to_vec())?;
        self.actions.insert(signed.action.nonce, action.kind());
        self.first.get_or_insert_with(|| signed.clone());
        while self.actions.len() > 256 {
            self.actions.pop_first();
        }
        Ok(signed)
    }

    /// Sends the first action again, unchanged: the chain must refuse the used nonce.
    pub fn replay_first(&mut self) -> Result<(), NetError> {
        match &self.first {
            Some(a) => self.edge.send_signed(a),
            None => Ok(()),
        }
    }

    pub fn join(&mut self) -> Result<(), NetError> {
        self.act(&Action::Join).map(|_| ())
    }

    /// Sends this tick's input frame (once per target tick) and resends the unexpired ones.
    pub fn input(&mut self, frame: InputFrame) -> Result<(), NetError> {
        let target = self.input_tick();
        if !self.inputs.contains_key(&target) {
            let signed = self
                .edge
                .send_action(target, Action::Input(frame).encode_to_vec())?;
            self.inputs.insert(target, signed);
            self.predictor.sent(target, frame);
        }
        let chain = self.chain_tick();
        self.inputs.retain(|&t, _| t + 1 >= chain);
        for (t, a) in &self.inputs {
            if *t != target {
                // A copy the node already has is dropped there without a reply.
                let _ = self.edge.send_signed(a);
            }
        }
        Ok(())
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
                if let Some(own) = s.own {
                    self.joined = true;
                    self.own = Some(own);
                    self.predictor.authoritative(Authoritative {
                        tick: s.tick,
                        body: Body {
                            pos: own.pos,
                            vel: own.vel,
                            state: own.state,
                        },
                        frame: own.frame,
                    });
                }
                self.remote.push(s.tick, &s.entities);
            }
            ClientEvent::Chunk { pos, chunk, .. } => {
                self.stats.chunks += 1;
                let _ = self.world.remove_chunk(pos);
                if let Err(e) = self.world.insert_chunk(pos, &chunk) {
                    tracing::warn!(%e, "client world full");
                }
            }
            ClientEvent::BadChunk { pos, reason } => {
                self.stats.bad_chunks += 1;
                tracing::warn!(?pos, %reason, "chunk rejected");
            }
            ClientEvent::Included(i) => {
                self.stats.included += 1;
                let start = self
                    .edge
                    .genesis_ms
                    .saturating_add(i.tick.saturating_mul(u64::from(self.edge.tick_ms)));
                self.stats
                    .finality_ms
                    .push_back(now_ms().saturating_sub(start) as f64);
                while self.stats.finality_ms.len() > 200 {
                    self.stats.finality_ms.pop_front();
                }
                for (action, reason) in i.rejections {
                    let text = reason_text(reason);
                    self.notice(i.tick, format!("action {action} rejected: {text}"));
                }
            }
            ClientEvent::Refused { nonce, reason } => {
                let tick = self.chain_tick();
                self.notice(
                    tick,
                    format!("action {nonce} refused by the node: {reason}"),
                );
            }
            ClientEvent::Header(_) => {}
        }
        Ok(())
    }

    /// The predicted local body at the input tick (what the player sees), if joined.
    pub fn predicted(&mut self) -> Option<Body> {
        let tick = self.input_tick();
        self.predictor.predict(tick, &self.world)
    }
}

/// The rules' message for a reason code.
pub fn reason_text(code: u8) -> String {
    Reason::from_code(code).map_or_else(|| format!("reason {code}"), |r| r.message().to_string())
}
