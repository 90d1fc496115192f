//! The devnet's players: scripted bots (`z3r0_client::Bot`), each a real QUIC client of one
//! validator, run as tasks of the devnet process. A bot whose node goes away reconnects.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use tokio::sync::watch;
use z3r0_client::Game;
use z3r0_client::{Bot, BotKind, PlayerScript, Tally};
use z3r0_net::ClientConfig;

/// Chunk radius streamed to each bot (builders need the voxels around them).
const BOT_RADIUS: u8 = 2;

/// What one bot reports to the devnet.
#[derive(Debug, Default, Clone)]
pub struct BotStats {
    pub connected: bool,
    pub tally: Tally,
    pub cheats_pending: u64,
    pub actions_sent: u64,
    /// Bytes received from the node over all sessions, and seconds connected.
    pub rx_bytes: u64,
    /// Of which snapshots, headers and chunks (payload bytes).
    pub split: [u64; 3],
    /// Whole chunks, chunk edits and refused chunks received; claims proven and refused.
    pub chunks: [u64; 5],
    pub connected_s: f64,
    pub last_error: Option<String>,
    /// The longest this player went without a snapshot (reconnecting included), and its
    /// sessions that ended in an error.
    pub longest_freeze_ms: u64,
    pub disconnects: u64,
    /// Times a session moved to another validator's edge.
    pub failovers: u64,
    /// Times the player left to come back as a new one (churn).
    pub lives_ended: u64,
    /// Published content that came into force while the player played: milliseconds from
    /// the start of its tick to the switch, over all sessions.
    pub content_lag_ms: Vec<u64>,
}

impl BotStats {
    /// Download rate over the time connected, kbit/s.
    pub fn kbps(&self) -> Option<f64> {
        (self.connected_s >= 1.0).then(|| self.rx_bytes as f64 * 8.0 / 1000.0 / self.connected_s)
    }
}

#[derive(Debug)]
pub struct BotHandle {
    pub kind: BotKind,
    /// The player's name on the map: the first four bytes of its key, in hex.
    pub short_key: String,
    pub stats: Arc<Mutex<BotStats>>,
}

pub fn kind_name(kind: BotKind) -> &'static str {
    match kind {
        BotKind::Wander => "wander",
        BotKind::Roam => "roam",
        BotKind::Build => "build",
        BotKind::Cheat => "cheat",
        BotKind::Game => "game",
    }
}

/// The key of bot `index`: derived from the devnet seed, so a resumed devnet has the same
/// players.
pub fn bot_key(seed: u64, index: usize) -> PrivateKey {
    PrivateKey::from_seed(
        seed.wrapping_mul(1_000_003)
            .wrapping_add(index as u64)
            .wrapping_add(1 << 40),
    )
}

/// One bot of the devnet: which, of what kind, where it plays.
#[derive(Debug)]
pub struct BotSpec {
    pub index: usize,
    pub kind: BotKind,
    /// The devnet's seed.
    pub seed: u64,
    pub config: ClientConfig,
    pub server: SocketAddr,
    /// Entity churn (honest players only): see [`Identity`].
    pub churn: Option<Duration>,
    /// The game's script, for a [`BotKind::Game`] bot.
    pub script: Option<Arc<dyn PlayerScript>>,
}

/// Starts a bot on `runtime`, playing until `stop` turns true.
pub fn spawn(
    runtime: &tokio::runtime::Handle,
    spec: BotSpec,
    stop: watch::Receiver<bool>,
) -> BotHandle {
    let BotSpec {
        index,
        kind,
        seed,
        mut config,
        server,
        churn,
        script,
    } = spec;
    let key = bot_key(seed, index);
    let short_key = z3r0_genesis::to_hex(&key.public_key().as_ref()[..4]);
    let stats = Arc::new(Mutex::new(BotStats::default()));
    config.server = server;
    let bot_seed = seed ^ (index as u64 + 1);
    let bot = match script {
        Some(script) if kind == BotKind::Game => Bot::with_script(bot_seed, script),
        _ => Bot::new(kind, bot_seed),
    };
    runtime.spawn(play(
        bot,
        config,
        Identity::new(seed, index, churn.filter(|_| kind != BotKind::Cheat)),
        stats.clone(),
        stop,
    ));
    BotHandle {
        kind,
        short_key,
        stats,
    }
}

/// How long a player goes without a snapshot, over its sessions.
#[derive(Debug, Default)]
struct Freeze {
    /// When the newest snapshot was first seen (`None`: none yet).
    last: Option<Instant>,
    /// Snapshots the current session had at the last look.
    seen: u64,
    longest: Duration,
}

impl Freeze {
    fn new_session(&mut self) {
        self.seen = 0;
    }

    /// The player left on purpose: the time until its next life's first snapshot is no
    /// freeze.
    fn forget(&mut self) {
        self.last = None;
    }

    /// The session has received `snapshots` so far.
    fn observe(&mut self, snapshots: u64) {
        if snapshots == self.seen {
            return;
        }
        self.seen = snapshots;
        let now = Instant::now();
        if let Some(last) = self.last {
            self.longest = self.longest.max(now.duration_since(last));
        }
        self.last = Some(now);
    }

    /// The longest gap so far, the one still open included.
    fn longest_ms(&self) -> u64 {
        let open = self.last.map_or(Duration::ZERO, |t| t.elapsed());
        self.longest.max(open).as_millis() as u64
    }
}

/// Who a bot plays as: its key, and with churn, when it leaves to come back as a new player.
pub(crate) struct Identity {
    key: PrivateKey,
    devnet_seed: u64,
    index: usize,
    /// Leave after about this long (between half and one and a half times it) and join again
    /// with a fresh key: entity churn for soaks.
    churn: Option<Duration>,
}

impl Identity {
    /// Player `index` of the players whose keys derive from `devnet_seed`, in its first life.
    pub(crate) fn new(devnet_seed: u64, index: usize, churn: Option<Duration>) -> Self {
        Self {
            key: bot_key(devnet_seed, index),
            devnet_seed,
            index,
            churn,
        }
    }

    pub(crate) fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// How long the session that starts now lasts before the player leaves (`None`: until
    /// the end).
    pub(crate) fn session_length(&self, generation: u64) -> Option<Duration> {
        let spread = (self.index as u64 ^ generation.wrapping_mul(0x9e37)) % 100;
        self.churn.map(|c| c.mul_f64(0.5 + spread as f64 / 100.0))
    }

    /// A fresh key for the player's next life.
    pub(crate) fn renew(&mut self, generation: u64) {
        self.key = bot_key(self.devnet_seed.wrapping_add(generation << 24), self.index);
    }
}

async fn play(
    mut bot: Bot,
    config: ClientConfig,
    mut identity: Identity,
    stats: Arc<Mutex<BotStats>>,
    mut stop: watch::Receiver<bool>,
) {
    // Counts from sessions that ended.
    let (mut rx_before, mut sent_before, mut connected_before) = (0u64, 0u64, 0.0f64);
    let mut split_before = [0u64; 3];
    let split = |g: &Game| {
        [
            g.edge().snapshot_bytes,
            g.edge().header_bytes,
            g.edge().chunk_bytes,
        ]
    };
    let add = |a: [u64; 3], b: [u64; 3]| [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
    let mut chunks_before = [0u64; 5];
    let chunks = |g: &Game| {
        [
            g.edge().chunks_whole,
            g.edge().chunk_edits,
            g.edge().bad_chunks,
            g.edge().claims_verified,
            g.edge().bad_claims,
        ]
    };
    let add5 = |a: [u64; 5], b: [u64; 5]| std::array::from_fn(|i| a[i] + b[i]);
    let set = |f: &dyn Fn(&mut BotStats)| f(&mut stats.lock().unwrap_or_else(|p| p.into_inner()));
    let mut freeze = Freeze::default();
    let mut disconnects = 0u64;
    let mut failovers_before = 0u64;
    let mut lags_before: Vec<u64> = Vec::new();
    let mut generation = 0u64;
    while !*stop.borrow() {
        let mut game = match Game::connect(&config, identity.key.clone()).await {
            Ok(g) => g,
            Err(e) => {
                set(&|s| s.last_error = Some(e.to_string()));
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
        };
        game.set_radius(BOT_RADIUS);
        freeze.new_session();
        let since = Instant::now();
        let tick = Duration::from_millis(u64::from(game.edge().tick_ms.max(1)));
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut ticks = 0u64;
        let lifetime = identity.session_length(generation);
        let mut left = false;
        let ended = loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = stop.changed() => break None,
            }
            if lifetime.is_some_and(|l| since.elapsed() >= l) && game.joined() {
                // Churn: leave; the next session is a new player with a fresh key.
                left = game.act(&z3r0_sim::Action::Leave).is_ok();
                break None;
            }
            if let Err(e) = game.poll().await {
                break Some(e.to_string());
            }
            freeze.observe(game.stats().snapshots);
            if let Err(e) = bot.tick(&mut game) {
                break Some(e.to_string());
            }
            ticks += 1;
            if ticks.is_multiple_of(10) {
                let rx = game.rx_bytes();
                let connected = since.elapsed().as_secs_f64();
                let (tally, pending, sent) = (
                    bot.tally.clone(),
                    bot.cheats_pending(),
                    game.stats().actions_sent,
                );
                let frozen = freeze.longest_ms();
                let failovers = failovers_before + game.failovers();
                let mut lags = lags_before.clone();
                lags.extend(game.stats().content_switches.iter().map(|s| s.2));
                set(&|s| {
                    s.content_lag_ms = lags.clone();
                    s.connected = game.joined();
                    s.longest_freeze_ms = frozen;
                    s.failovers = failovers;
                    s.tally = tally.clone();
                    s.cheats_pending = pending;
                    s.actions_sent = sent_before + sent;
                    s.rx_bytes = rx_before + rx;
                    s.connected_s = connected_before + connected;
                });
            }
        };
        if left {
            generation += 1;
            set(&|s| s.lives_ended = generation);
            identity.renew(generation);
            freeze.forget();
        }
        if ended.is_none() {
            // Let the outcomes of the last actions in.
            let until = Instant::now() + Duration::from_secs(1);
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                if game.wait(left).await.is_err() {
                    break;
                }
            }
        }
        // What this session heard; its cheats still in flight stay unheard.
        bot.settle(&mut game);
        bot.session_ended();
        rx_before += game.rx_bytes();
        sent_before += game.stats().actions_sent;
        split_before = add(split_before, split(&game));
        chunks_before = add5(chunks_before, chunks(&game));
        connected_before += since.elapsed().as_secs_f64();
        game.edge().close();
        disconnects += u64::from(ended.is_some());
        failovers_before += game.failovers();
        lags_before.extend(game.stats().content_switches.iter().map(|s| s.2));
        let failovers = failovers_before;
        let (tally, pending, frozen) =
            (bot.tally.clone(), bot.cheats_pending(), freeze.longest_ms());
        set(&|s| {
            s.connected = false;
            s.longest_freeze_ms = frozen;
            s.disconnects = disconnects;
            s.failovers = failovers;
            s.tally = tally.clone();
            s.cheats_pending = pending;
            s.actions_sent = sent_before;
            s.rx_bytes = rx_before;
            s.split = split_before;
            s.chunks = chunks_before;
            s.connected_s = connected_before;
            if let Some(e) = &ended {
                s.last_error = Some(e.clone());
            }
        });
        if ended.is_some() {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Identity, bot_key};
    use commonware_cryptography::Signer as _;
    use std::time::Duration;

    #[test]
    fn churning_players_live_half_to_one_and_a_half_lives_and_come_back_new() {
        let mut who = Identity {
            key: bot_key(1, 3),
            devnet_seed: 1,
            index: 3,
            churn: Some(Duration::from_secs(60)),
        };
        let lives: Vec<Duration> = (0..50).filter_map(|g| who.session_length(g)).collect();
        assert_eq!(lives.len(), 50);
        assert!(
            lives
                .iter()
                .all(|l| *l >= Duration::from_secs(30) && *l < Duration::from_secs(90))
        );
        assert!(lives.iter().any(|l| *l != lives[0]), "lives differ");
        let before = who.key.public_key();
        who.renew(1);
        assert_ne!(who.key.public_key(), before);
        let again = who.key.public_key();
        who.renew(1);
        assert_eq!(who.key.public_key(), again, "keys derive from the seed");
        who.churn = None;
        assert_eq!(who.session_length(0), None);
    }
}
