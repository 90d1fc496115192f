//! Scripted players: `wander` walks and jumps around, `roam` runs east and west in turns (in a
//! world it crosses zone borders), `build` also digs and places blocks next to itself, `cheat`
//! tries what a modified client would (speed, flying, reach, forged signatures, replays,
//! trespassing) so the rules' refusals can be seen and counted, and `game` plays a game's own
//! actions by its [`PlayerScript`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use z3r0_chain::Action as ChainAction;
use z3r0_net::NetError;
use z3r0_sim::{Action, InputFrame, flags};
use z3r0_voxel::VoxelPos;

use crate::PlayerScript;
use crate::game::{Game, Refusal};

/// Which script a bot follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotKind {
    Wander,
    Roam,
    Build,
    Cheat,
    /// A game's player: its [`PlayerScript`] picks the actions and the heading.
    Game,
}

impl std::str::FromStr for BotKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "wander" => Ok(Self::Wander),
            "roam" => Ok(Self::Roam),
            "build" => Ok(Self::Build),
            "cheat" => Ok(Self::Cheat),
            "game" => Ok(Self::Game),
            other => Err(format!(
                "unknown bot {other:?} (wander, roam, build, cheat or game)"
            )),
        }
    }
}

/// What became of a bot's actions.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Actions applied by finalized blocks.
    pub applied: u64,
    /// Actions refused (by the node) or rejected (by the rules), by reason.
    pub refused: BTreeMap<Refusal, u64>,
    /// Cheat actions sent: each one an action the rules or the node must refuse.
    pub cheats: u64,
    /// Cheat actions refused, by reason.
    pub cheats_refused: BTreeMap<Refusal, u64>,
    /// Cheat actions the chain applied: must stay 0.
    pub cheats_accepted: u64,
    /// Cheat actions whose outcome was not heard (lost, or still in flight at the end).
    pub cheats_unheard: u64,
    /// A game bot's script actions sent, and of those heard, applied (by the script's name
    /// for them) and refused (by reason).
    pub game_sent: u64,
    pub game_applied: BTreeMap<String, u64>,
    pub game_refused: BTreeMap<Refusal, u64>,
    /// Script actions whose outcome was not heard (lost with a session, or in flight at the
    /// end).
    pub game_unheard: u64,
}

/// How long a roaming bot runs one way before it turns back.
const ROAM_LEG_MS: u64 = 30_000;

/// A roaming bot's heading at its `ticks`-th tick: east for a leg, then west for a leg.
fn roam_yaw(ticks: u64, tick_ms: u32) -> u16 {
    const EAST: u16 = 16_384;
    const WEST: u16 = 49_152;
    let leg = ROAM_LEG_MS / u64::from(tick_ms.max(1));
    if (ticks / leg.max(1)).is_multiple_of(2) {
        EAST
    } else {
        WEST
    }
}

/// Cheat (or script) actions awaiting their outcome, at most.
const MAX_PENDING_CHEATS: usize = 256;

/// A bot's habits in ticks of its zone, from habits in real time, so that it plays alike at
/// every tick rate (counted in ticks, a 60 Hz bot built, turned and cheated three times as
/// often as a 20 Hz one, and loaded the chain and the players' downlinks accordingly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Schedule {
    /// A builder's edit, and a cheater's cheat, every this many ticks (500 ms).
    act: u64,
    /// One chance in this many per tick to turn (one turn every 2 s on average).
    turn: u64,
    /// One chance in this many per tick to jump (one jump every 2.5 s on average).
    jump: u64,
}

impl Schedule {
    /// For ticks of `tick_ms` (0, unpaced: taken as 50 ms, the default tick).
    fn for_tick(tick_ms: u32) -> Self {
        let tick_ms = match u64::from(tick_ms) {
            0 => 50,
            ms => ms,
        };
        let every = |ms: u64| (ms / tick_ms).max(1);
        Self {
            act: every(500),
            turn: every(2_000),
            jump: every(2_500),
        }
    }
}

/// A seeded script.
#[derive(Debug)]
pub struct Bot {
    pub kind: BotKind,
    rng: u64,
    yaw: u16,
    ticks: u64,
    pub tally: Tally,
    /// Nonces of cheat actions sent, awaiting the first outcome heard for them.
    pending_cheats: BTreeSet<u64>,
    /// The highest nonce whose outcome this session heard.
    heard: Option<u64>,
    /// The game's zone switches when the bot last looked: a switch ends the session with the
    /// zone left behind.
    switches: u64,
    /// Chunk columns a builder tried to claim.
    columns_tried: Vec<(i32, i32)>,
    /// A game bot's script, and its actions awaiting their outcome (by nonce, with their
    /// names).
    script: Option<Arc<dyn PlayerScript>>,
    pending_game: BTreeMap<u64, String>,
}

impl Bot {
    pub fn new(kind: BotKind, seed: u64) -> Self {
        Self {
            kind,
            rng: seed | 1,
            yaw: (seed as u16).wrapping_mul(7_919),
            ticks: 0,
            tally: Tally::default(),
            pending_cheats: BTreeSet::new(),
            heard: None,
            switches: 0,
            columns_tried: Vec::new(),
            script: None,
            pending_game: BTreeMap::new(),
        }
    }

    /// A [`BotKind::Game`] bot playing by `script`.
    pub fn with_script(seed: u64, script: Arc<dyn PlayerScript>) -> Self {
        Self {
            script: Some(script),
            ..Self::new(BotKind::Game, seed)
        }
    }

    /// Cheat actions sent whose outcome has not been heard yet.
    pub fn cheats_pending(&self) -> u64 {
        self.pending_cheats.len() as u64
    }

    fn cheat_sent(&mut self, nonce: Option<u64>) {
        let Some(nonce) = nonce else { return };
        self.tally.cheats += 1;
        if !self.pending_cheats.insert(nonce) {
            // A copy with this nonce is in flight: one outcome settles one of them.
            self.tally.cheats_unheard += 1;
        }
        while self.pending_cheats.len() > MAX_PENDING_CHEATS {
            self.pending_cheats.pop_first();
            self.tally.cheats_unheard += 1;
        }
    }

    /// Counts the outcomes the game heard since the last call. A cheat's fate is the first
    /// outcome heard for its nonce after it was sent.
    pub fn settle(&mut self, game: &mut Game) {
        for outcome in game.drain_outcomes() {
            self.count(&outcome);
        }
    }

    /// The game's session ended: the cheats still waiting never hear their outcome in this
    /// session. A next session may number its actions from the same nonces (the chain forgets
    /// an idle key's nonces), so their nonces must not match its outcomes.
    pub fn session_ended(&mut self) {
        self.tally.cheats_unheard += self.pending_cheats.len() as u64;
        self.pending_cheats.clear();
        self.tally.game_unheard += self.pending_game.len() as u64;
        self.pending_game.clear();
        self.heard = None;
    }

    /// Whether the first action (the join), `(nonce, tick)`, may be replayed at tick `now`: its
    /// own outcome was heard (else that outcome, "applied", would be taken for the replay's),
    /// no copy is in flight (every copy has the same nonce), and its tick is past the node's
    /// resend window (inside it a byte-identical copy is a client's resend, taken in silence).
    fn may_replay(&self, first: Option<(u64, u64)>, now: u64) -> bool {
        first.is_some_and(|(nonce, tick)| {
            self.heard >= Some(nonce)
                && !self.pending_cheats.contains(&nonce)
                && now > tick.saturating_add(z3r0_net::RESEND_TICKS)
        })
    }

    fn count(&mut self, outcome: &crate::Outcome) {
        self.heard = self.heard.max(Some(outcome.nonce));
        let cheat = self.pending_cheats.remove(&outcome.nonce);
        let scripted = self.pending_game.remove(&outcome.nonce);
        match outcome.refused {
            None => {
                self.tally.applied += 1;
                if let Some(label) = scripted.clone() {
                    *self.tally.game_applied.entry(label).or_default() += 1;
                }
                if cheat {
                    self.tally.cheats_accepted += 1;
                    tracing::warn!(nonce = outcome.nonce, "a cheat action was applied");
                }
            }
            Some(reason) => {
                if cheat {
                    *self.tally.cheats_refused.entry(reason).or_default() += 1;
                }
                if scripted.is_some() {
                    *self.tally.game_refused.entry(reason).or_default() += 1;
                }
                *self.tally.refused.entry(reason).or_default() += 1;
            }
        }
    }

    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Plays one tick of `game` (after counting what it heard).
    pub fn tick(&mut self, game: &mut Game) -> Result<(), NetError> {
        self.settle(game);
        let switches = game.stats().zone_switches;
        if switches != self.switches {
            // The game followed its body into another zone: what is still due here was the
            // old zone's, and the new chain numbers its actions anew.
            self.switches = switches;
            self.session_ended();
        }
        self.ticks += 1;
        if !game.joined() {
            return game.join();
        }
        if self.kind != BotKind::Cheat && !game.area_loaded() {
            // Stand still until the world around has streamed in (a cheater does not wait: its
            // script keeps the schedule it had from the start).
            return game
                .input(InputFrame {
                    yaw: self.yaw,
                    ..InputFrame::default()
                })
                .map(|_| ());
        }
        let schedule = Schedule::for_tick(game.edge().tick_ms);
        if self.next().is_multiple_of(schedule.turn) {
            self.yaw = self.yaw.wrapping_add((self.next() % 30_000) as u16);
        }
        let jump = if self.next().is_multiple_of(schedule.jump) {
            flags::JUMP
        } else {
            0
        };
        let frame = InputFrame {
            forward: 127,
            strafe: 0,
            yaw: self.yaw,
            pitch: 0,
            flags: jump,
        };
        let frame = match self.kind {
            BotKind::Roam => InputFrame {
                yaw: roam_yaw(self.ticks, game.edge().tick_ms),
                flags: frame.flags | flags::SPRINT,
                ..frame
            },
            BotKind::Game => {
                // Asked once a turn (a script may search the world around the player).
                let heading = self
                    .ticks
                    .is_multiple_of(schedule.act)
                    .then(|| self.script.as_ref().and_then(|s| s.heading(game)))
                    .flatten();
                if let Some(yaw) = heading {
                    self.yaw = yaw;
                }
                InputFrame {
                    yaw: self.yaw,
                    ..frame
                }
            }
            _ => frame,
        };
        match self.kind {
            BotKind::Wander | BotKind::Roam => {}
            BotKind::Game => {
                if self.ticks.is_multiple_of(schedule.act) {
                    self.scripted(game)?;
                }
            }
            BotKind::Build => {
                if self.ticks.is_multiple_of(schedule.act)
                    && let Some(own) = game.own()
                {
                    // Dig the block under the feet, or place one beside them.
                    let [x, y, z] = own.pos.map(|c| c.div_euclid(1024) as i32);
                    // Claim each new column it builds in, while it may claim more (someone may
                    // own it already: then the refusal says so).
                    let size = z3r0_voxel::CHUNK_SIZE as i32;
                    let column = (x.div_euclid(size), z.div_euclid(size));
                    if self.columns_tried.len() < 4 && !self.columns_tried.contains(&column) {
                        self.columns_tried.push(column);
                        game.act(&Action::Claim(column.0, column.1))?;
                    }
                    let action = if self.next().is_multiple_of(2) {
                        Action::Break(VoxelPos::new(x, y - 1, z))
                    } else {
                        Action::Place(VoxelPos::new(x + 1, y, z), z3r0_voxel::blocks::DIRT)
                    };
                    game.edit(&action)?;
                }
            }
            BotKind::Cheat => {
                if self.ticks.is_multiple_of(schedule.act) {
                    return self.cheat(game, frame, schedule.act);
                }
            }
        }
        game.input(frame).map(|_| ())
    }

    /// The script's action for this turn, sent and awaited.
    fn scripted(&mut self, game: &mut Game) -> Result<(), NetError> {
        let roll = self.next();
        let Some(script) = self.script.clone() else {
            return Ok(());
        };
        let Some(action) = script.act(game, roll) else {
            return Ok(());
        };
        let nonce = game.edit(&action)?;
        self.tally.game_sent += 1;
        self.pending_game.insert(nonce, script.label(&action));
        while self.pending_game.len() > MAX_PENDING_CHEATS {
            self.pending_game.pop_first();
            self.tally.game_unheard += 1;
        }
        Ok(())
    }

    /// One cheat (the `every`-tick schedule's turn), and this tick's input frame.
    fn cheat(
        &mut self,
        game: &mut Game,
        mut frame: InputFrame,
        every: u64,
    ) -> Result<(), NetError> {
        let pos = game
            .own()
            .map_or([0; 3], |o| o.pos.map(|c| c.div_euclid(1024) as i32));
        match (self.ticks / every) % 6 {
            // Speed hack: the stick beyond full.
            0 => {
                let nonce = game.input(speed_hack(frame))?;
                self.cheat_sent(nonce);
                return Ok(());
            }
            // Fly hack: jump in mid-air. Not an action the chain refuses but a move the physics
            // does not make (a `NotOnGround` movement receipt), so it is not counted as a cheat
            // action: on the ground the same frame is an honest jump.
            1 => frame.flags = flags::JUMP,
            // Reach hack: dig a block 20 m away.
            2 => {
                let sent = game.act(&Action::Break(VoxelPos::new(
                    pos[0] + 20,
                    pos[1] - 1,
                    pos[2],
                )))?;
                self.cheat_sent(Some(sent.action.nonce));
            }
            // Forged signature: an action signed by someone else in this player's name.
            3 => {
                let stranger = PrivateKey::from_seed(self.next());
                let mut forged = ChainAction {
                    player: stranger.public_key(),
                    zone: game.edge().zone,
                    tick: game.input_tick(),
                    // Its own nonce, which no honest action of the player uses: its fate can
                    // only be its own (a refusal lost with a failed node leaves it unheard).
                    nonce: game.edge_mut().take_nonce(),
                    payload: Action::Join.encode_to_vec().into(),
                }
                .sign(&stranger, &game.edge().chain);
                forged.action.player = game.edge().public_key();
                game.send_signed(&forged)?;
                self.cheat_sent(Some(forged.action.nonce));
            }
            // Replay: the join again, byte for byte (its nonce is used: never applied twice).
            // One at a time: every copy has the same nonce, so a second one in flight could
            // not be told from the first.
            4 => {
                if self.may_replay(game.first_sent(), game.input_tick()) {
                    let nonce = game.replay_first()?;
                    self.cheat_sent(nonce);
                }
            }
            // Build far above the head (out of reach, and in a column not its own).
            _ => {
                let sent = game.act(&Action::Place(
                    VoxelPos::new(pos[0], pos[1] + 30, pos[2]),
                    z3r0_voxel::blocks::STONE,
                ))?;
                self.cheat_sent(Some(sent.action.nonce));
            }
        }
        game.input(frame).map(|_| ())
    }
}

/// The speed hack's frame: `frame` with the stick pushed beyond full whatever it was (standing
/// still too), so the rules must refuse it.
fn speed_hack(frame: InputFrame) -> InputFrame {
    InputFrame {
        forward: if frame.forward < 0 { -127 } else { 127 },
        strafe: 127,
        ..frame
    }
}

#[cfg(test)]
mod tests {
    use z3r0_sim::InputFrame;

    use super::{Bot, BotKind, Schedule, speed_hack};

    /// Counted in ticks, a 60 Hz bot built, turned and cheated three times as often as a
    /// 20 Hz one.
    #[test]
    fn a_bot_keeps_its_habits_in_time_at_every_tick_rate() {
        let at_20_hz = Schedule::for_tick(50);
        assert_eq!(
            at_20_hz,
            Schedule {
                act: 10,
                turn: 40,
                jump: 50
            }
        );
        assert_eq!(Schedule::for_tick(0), at_20_hz);
        for tick_ms in [100, 33, 25, 16] {
            let s = Schedule::for_tick(tick_ms);
            // Within a tick of 500 ms, 2 s and 2.5 s.
            for (ticks, ms) in [(s.act, 500), (s.turn, 2_000), (s.jump, 2_500)] {
                let t = ticks * u64::from(tick_ms);
                assert!(
                    t <= ms && ms - t < u64::from(tick_ms),
                    "{tick_ms} ms: {s:?}"
                );
            }
        }
    }

    /// After a validator restart the bot's session ended with cheats in flight, and its next
    /// session numbered actions from nonce 0 again: their honest outcomes were counted as those
    /// cheats, "accepted".
    #[test]
    fn a_cheat_unheard_in_its_session_is_not_matched_in_the_next() {
        let mut bot = Bot::new(BotKind::Cheat, 1);
        bot.cheat_sent(Some(7));
        bot.session_ended();
        bot.count(&crate::Outcome {
            nonce: 7,
            refused: None,
        });
        assert_eq!(bot.tally.cheats_accepted, 0, "{:?}", bot.tally);
        assert_eq!(bot.tally.cheats_unheard, 1, "{:?}", bot.tally);
        assert_eq!(bot.tally.applied, 1);
        assert_eq!(bot.cheats_pending(), 0);
    }

    /// At 16 ms ticks the cheater replayed its join before the join's own outcome came back
    /// (proven receipts take a few hundred milliseconds): the join's "applied" was the first
    /// outcome heard for the nonce after the replay was sent, and counted as the replay's.
    #[test]
    fn the_join_is_replayed_only_once_its_own_outcome_was_heard() {
        let mut bot = Bot::new(BotKind::Cheat, 1);
        // The join: nonce 0 for tick 100.
        let join = Some((0, 100));
        let later = 101 + z3r0_net::RESEND_TICKS;
        assert!(
            !bot.may_replay(join, later),
            "the join's fate is not known yet"
        );
        bot.count(&crate::Outcome {
            nonce: 0,
            refused: None,
        });
        assert!(bot.may_replay(join, later));
        assert!(
            !bot.may_replay(join, later - 1),
            "inside the resend window a copy is a resend, answered by nothing"
        );
        bot.cheat_sent(Some(0));
        assert!(!bot.may_replay(join, later), "one copy in flight at a time");
        assert!(!bot.may_replay(None, later));
    }

    #[test]
    fn a_speed_hack_frame_is_always_beyond_a_full_stick() {
        for forward in [-127, -90, -1, 0, 1, 64, 127] {
            let frame = InputFrame {
                forward,
                ..InputFrame::default()
            };
            assert!(!speed_hack(frame).within_stick(), "forward {forward}");
        }
    }
}
