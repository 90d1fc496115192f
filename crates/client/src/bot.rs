//! Scripted players: `wander` walks and jumps around, `build` also digs and places blocks next
//! to itself, `cheat` tries what a modified client would (speed, flying, reach, forged
//! signatures, replays, trespassing) so the rules' refusals can be seen and counted.

use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use z3r0_chain::Action as ChainAction;
use z3r0_net::NetError;
use z3r0_sim::{Action, InputFrame, flags};
use z3r0_voxel::VoxelPos;

use crate::game::Game;

/// Which script a bot follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotKind {
    Wander,
    Build,
    Cheat,
}

impl std::str::FromStr for BotKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "wander" => Ok(Self::Wander),
            "build" => Ok(Self::Build),
            "cheat" => Ok(Self::Cheat),
            other => Err(format!("unknown bot {other:?} (wander, build or cheat)")),
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
    /// Cheat attempts made, by kind.
    pub cheats: u64,
}

impl Bot {
    pub fn new(kind: BotKind, seed: u64) -> Self {
        Self {
            kind,
            rng: seed | 1,
            yaw: (seed as u16).wrapping_mul(7_919),
            ticks: 0,
            cheats: 0,
        }
    }

    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Plays one tick of `game`.
    pub fn tick(&mut self, game: &mut Game) -> Result<(), NetError> {
        self.ticks += 1;
        if !game.joined {
            if self.ticks % 20 == 1 {
                game.join()?;
            }
            return Ok(());
        }
        if self.next().is_multiple_of(40) {
            self.yaw = self.yaw.wrapping_add((self.next() % 30_000) as u16);
        }
        let jump = if self.next().is_multiple_of(50) {
            flags::JUMP
        } else {
            0
        };
        let mut frame = InputFrame {
            forward: 127,
            strafe: 0,
            yaw: self.yaw,
            pitch: 0,
            flags: jump,
        };
        match self.kind {
            BotKind::Wander => {}
            BotKind::Build => {
                if self.ticks.is_multiple_of(10)
                    && let Some(own) = game.own
                {
                    // Dig the block under the feet, or place one beside them.
                    let [x, y, z] = own.pos.map(|c| c.div_euclid(1024) as i32);
                    let action = if self.next().is_multiple_of(2) {
                        Action::Break(VoxelPos::new(x, y - 1, z))
                    } else {
                        Action::Place(VoxelPos::new(x + 1, y, z), z3r0_voxel::blocks::DIRT)
                    };
                    game.edit(&action)?;
                }
            }
            BotKind::Cheat => {
                if self.ticks.is_multiple_of(10) {
                    self.cheats += 1;
                    self.cheat(game, &mut frame)?;
                }
            }
        }
        game.input(frame)
    }

    fn cheat(&mut self, game: &mut Game, frame: &mut InputFrame) -> Result<(), NetError> {
        let pos = game
            .own
            .map_or([0; 3], |o| o.pos.map(|c| c.div_euclid(1024) as i32));
        match (self.ticks / 10) % 6 {
            // Speed hack: the stick beyond full.
            0 => frame.strafe = 127,
            // Fly hack: jump while in the air (every tick: most of them are mid-air).
            1 => frame.flags = flags::JUMP,
            // Reach hack: dig a block 20 m away.
            2 => {
                game.act(&Action::Break(VoxelPos::new(
                    pos[0] + 20,
                    pos[1] - 1,
                    pos[2],
                )))?;
            }
            // Forged signature: an action signed by someone else in this player's name.
            3 => {
                let stranger = PrivateKey::from_seed(self.next());
                let mut forged = ChainAction {
                    player: stranger.public_key(),
                    zone: game.edge.zone,
                    tick: game.input_tick(),
                    nonce: game.edge.next_nonce(),
                    payload: Action::Join.encode_to_vec().into(),
                }
                .sign(&stranger);
                forged.action.player = game.edge.public_key();
                game.edge.send_signed(&forged)?;
            }
            // Replay: the join again, byte for byte (its nonce is used: never applied twice).
            4 => game.replay_first()?,
            // Trespass: claim a column and build in someone else's (or an unclaimed wall).
            _ => {
                game.act(&Action::Place(
                    VoxelPos::new(pos[0], pos[1] + 30, pos[2]),
                    z3r0_voxel::blocks::STONE,
                ))?;
            }
        }
        Ok(())
    }
}
