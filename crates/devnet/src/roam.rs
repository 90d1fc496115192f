//! Players of a world devnet: roaming bots, each a real QUIC client of a validator of the zone
//! its body is in. Near a border its game holds a session with the neighbouring zone too; when
//! the body walks over, the game moves to that session (or opens one, [`z3r0_client::cross`])
//! and waits for the body to arrive there (no join meanwhile) while it plays on.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use z3r0_client::{ARRIVAL_WAIT, Bot, BotKind, Game, WorldRoutes};

use super::bots::Identity;

/// Chunk radius a roaming bot subscribes to.
const RADIUS: u8 = 2;
/// Chunk columns from a border within which a watching bot watches the zone beyond.
const WATCH_RADIUS: u8 = 1;
/// The first this many roaming bots watch the zones near their body and predict as a window
/// does (the others follow by opening a session when they cross). The default world's zones
/// are four columns wide, so a watching bot nearly always holds a session with a
/// neighbour, and each costs the validators' edges; all 50 bots watching cost the world's
/// finality p99 tens of milliseconds on this 2-core machine (BENCHMARKS.md).
const WATCHERS: usize = 10;

/// What one roaming bot saw.
#[derive(Debug, Default, Clone)]
pub struct RoamStats {
    pub connected: bool,
    /// Times its body left a zone for a neighbour.
    pub crossings: u64,
    /// Of those, the times the body came back into its snapshots in the neighbour.
    pub arrivals: u64,
    /// Of the crossings, those to a zone the game watched already (a session open there).
    pub seamless: u64,
    /// From the first snapshot without the body in the old zone (or, for a watched zone, the
    /// first with it in the new one, whichever came first) to the body in the new zone's
    /// session's snapshots, milliseconds.
    pub gaps_ms: Vec<f64>,
    /// How far the prediction was from the body as it arrived in each new zone, 1/1024 m.
    pub arrival_errors: Vec<i64>,
    /// Crossings after which no body arrived in time.
    pub lost: u64,
    pub applied: u64,
    pub refused: u64,
    /// Its refusals by reason (as the player is told it).
    pub refused_by: BTreeMap<String, u64>,
    pub last_error: Option<String>,
    /// Where the body last was (x, z in voxels) and the zone it is in (or on its way to).
    pub pos: Option<[i64; 2]>,
    pub zone: u32,
    /// Times the player left to come back as a new one (churn).
    pub lives_ended: u64,
    /// Zones its sessions asked for a body before joining (none for a key new to the world).
    pub zones_searched: u64,
    /// Times a session that had played no body yet moved to the zone its search found the
    /// body in (a resumed world's bots start at home, their bodies where they last went):
    /// not crossings.
    pub found_elsewhere: u64,
    /// A game player's actions and their outcomes (`None`: a roaming player).
    pub game: Option<z3r0_client::Tally>,
    /// Arrival errors of the current game already copied into `arrival_errors`.
    session_arrivals: usize,
}

/// One roaming bot: which (`index`, keys from `seed`), the zone its body starts in, how it
/// reaches each zone and knows its borders, and its churn.
pub struct RoamSpec {
    pub index: usize,
    pub seed: u64,
    pub home: u32,
    pub routes: WorldRoutes,
    pub churn: Option<Duration>,
    /// The world was made for this run: no key of its players has a body in it yet.
    pub new_world: bool,
    /// The game's script: this player plays the game instead of roaming east and west.
    pub script: Option<Arc<dyn z3r0_client::PlayerScript>>,
}

/// Starts a roaming bot, playing until `stop` turns true.
pub fn spawn(
    runtime: &tokio::runtime::Handle,
    spec: RoamSpec,
    stop: watch::Receiver<bool>,
) -> Arc<Mutex<RoamStats>> {
    let stats = Arc::new(Mutex::new(RoamStats {
        // A game player counts as one from the start, whether or not it acts.
        game: spec.script.is_some().then(z3r0_client::Tally::default),
        ..RoamStats::default()
    }));
    let bot = Roamer {
        index: spec.index,
        seed: spec.seed,
        zone: spec.home,
        routes: spec.routes,
        churn: spec.churn,
        new_world: spec.new_world,
        script: spec.script,
        stats: stats.clone(),
    };
    runtime.spawn(bot.run(stop));
    stats
}

struct Roamer {
    index: usize,
    seed: u64,
    /// The zone the body is in (or on its way to).
    zone: u32,
    routes: WorldRoutes,
    /// Leave after about this long, to come back as a new player in the zone it is in.
    churn: Option<Duration>,
    new_world: bool,
    script: Option<Arc<dyn z3r0_client::PlayerScript>>,
    stats: Arc<Mutex<RoamStats>>,
}

impl Roamer {
    fn set(&self, f: impl FnOnce(&mut RoamStats)) {
        f(&mut self.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }

    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut identity = Identity::new(self.seed ^ 0x0a0a_0000, self.index, self.churn);
        let (mut generation, mut life) = (0u64, Instant::now());
        let seed = self.seed.wrapping_add(self.index as u64);
        let mut bot = match self.script.clone() {
            Some(script) => Bot::with_script(seed, script),
            None => Bot::new(BotKind::Roam, seed),
        };
        // When the body was last seen leaving (a crossing waiting for its arrival).
        let mut arriving: Option<Instant> = None;
        // The key has never played in this world: its first session skips the body search,
        // as a player's binary does for a key it has just made.
        let mut new_key = self.new_world;
        while !*stop.borrow() {
            let mut moves = Moves::default();
            let Some(config) = self.routes.config(self.zone, self.index) else {
                self.set(|s| s.last_error = Some(format!("no edge for zone {}", self.zone)));
                return;
            };
            let mut game = match Game::connect(&config, identity.key().clone()).await {
                Ok(g) => g,
                Err(e) => {
                    self.set(|s| s.last_error = Some(e.to_string()));
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => {}
                    }
                    continue;
                }
            };
            self.set(|s| s.session_arrivals = 0);
            game.set_radius(RADIUS);
            let watching = self.index < WATCHERS;
            game.set_watch_radius(if watching { WATCH_RADIUS } else { 0 });
            game.set_world(self.routes.clone(), self.index);
            if std::mem::take(&mut new_key) {
                game.new_player();
            }
            if let Some(since) = arriving {
                game.expect_arrival(ARRIVAL_WAIT.saturating_sub(since.elapsed()));
            }
            let tick = Duration::from_millis(u64::from(game.edge().tick_ms.max(1)));
            let mut interval = tokio::time::interval(tick);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let ended = loop {
                tokio::select! {
                    _ = interval.tick() => {}
                    _ = stop.changed() => break None,
                }
                let seamless = game.stats().seamless_switches;
                if let Err(e) = game.poll().await {
                    break Some(e.to_string());
                }
                // Followed as a player's client follows its body: to the watched zone by the
                // game itself, or to a session opened now (the gap counts from the body's
                // leaving, before the connection).
                let left = Instant::now();
                if let Some(Err(e)) = z3r0_client::cross(&mut game).await {
                    break Some(e.to_string());
                }
                let moved = game.edge().zone != self.zone;
                match moves.classify(game.joined(), moved) {
                    Some(Move::Crossing) => {
                        let watched = game.stats().seamless_switches > seamless;
                        self.set(|s| {
                            s.crossings += 1;
                            s.seamless += u64::from(watched);
                        });
                        arriving = Some(left);
                    }
                    Some(Move::FoundElsewhere) => self.set(|s| s.found_elsewhere += 1),
                    None => {}
                }
                self.zone = game.edge().zone;
                arriving = self.arrival(&game, arriving);
                // Churn: leave (never with a body in transit) and come back as a new player.
                let over = identity
                    .session_length(generation)
                    .is_some_and(|l| life.elapsed() >= l);
                if over && arriving.is_none() && game.joined() {
                    if game.act(&z3r0_sim::Action::Leave).is_ok() {
                        generation += 1;
                        identity.renew(generation);
                        new_key = self.new_world;
                        life = Instant::now();
                        self.set(|s| s.lives_ended = generation);
                    }
                    break None;
                }
                if let Err(e) = bot.tick(&mut game) {
                    break Some(e.to_string());
                }
                if watching {
                    // Predict as a window does, so arrivals measure the correction a player
                    // sees.
                    game.predicted();
                }
                let (applied, refused) =
                    (bot.tally.applied, bot.tally.refused.values().sum::<u64>());
                let game_tally = self.game_tally(&bot);

                let joined = game.joined();
                let pos = game.own().map(|o| [o.pos[0] / 1024, o.pos[2] / 1024]);
                let zone = self.zone;
                let arrival_errors = game.stats().arrival_errors.len();
                self.set(|s| {
                    s.connected = joined;
                    s.applied = applied;
                    if refused != s.refused {
                        s.refused_by = tally_reasons(&bot.tally.refused);
                    }
                    s.refused = refused;
                    s.pos = pos.or(s.pos);
                    s.zone = zone;
                    if game_tally.is_some() {
                        s.game = game_tally;
                    }
                    if arrival_errors > s.session_arrivals {
                        let new = game.stats().arrival_errors.iter().skip(s.session_arrivals);
                        s.arrival_errors.extend(new);
                        s.session_arrivals = arrival_errors;
                    }
                });
            };
            bot.settle(&mut game);
            bot.session_ended();
            if let Some(tally) = self.script.is_some().then(|| bot.tally.clone()) {
                self.set(|s| s.game = Some(tally));
            }
            let searched = game.stats().zones_searched;
            self.set(|s| s.zones_searched += searched);
            game.edge().close();
            if let Some(e) = ended {
                self.set(|s| {
                    s.connected = false;
                    s.last_error = Some(e);
                });
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// A game player's tally when its game actions' count changed since the last copy (a
    /// copy each tick would be a map clone each tick per player).
    fn game_tally(&self, bot: &Bot) -> Option<z3r0_client::Tally> {
        self.script.as_ref()?;
        let t = &bot.tally;
        let heard = t.game_applied.values().sum::<u64>() + t.game_refused.values().sum::<u64>();
        let stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        let copied = stats.game.as_ref().map_or((u64::MAX, 0), |g| {
            let heard = g.game_applied.values().sum::<u64>() + g.game_refused.values().sum::<u64>();
            (g.game_sent, heard)
        });
        drop(stats);
        ((t.game_sent, heard) != copied).then(|| t.clone())
    }

    /// A body waited for since `arriving`: it arrived (the gap is counted), or it is given up
    /// as lost; `None` once settled either way.
    fn arrival(&self, game: &Game, arriving: Option<Instant>) -> Option<Instant> {
        let since = arriving?;
        if game.joined() {
            let gap = since.elapsed().as_secs_f64() * 1000.0;
            self.set(|s| {
                s.arrivals += 1;
                s.gaps_ms.push(gap);
            });
            return None;
        }
        if since.elapsed() > ARRIVAL_WAIT {
            self.set(|s| s.lost += 1);
            return None;
        }
        arriving
    }
}

/// How a session's move to another zone counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    /// The body it played crossed a border.
    Crossing,
    /// It had played no body yet: its search found the body in that zone.
    FoundElsewhere,
}

/// One session's moves to other zones, told apart by whether it had played a body before.
#[derive(Debug, Default)]
struct Moves {
    played: bool,
}

impl Moves {
    /// After a poll in which the session is `joined` (or not) and `moved` to another zone.
    fn classify(&mut self, joined: bool, moved: bool) -> Option<Move> {
        let kind = moved.then_some(if self.played {
            Move::Crossing
        } else {
            Move::FoundElsewhere
        });
        self.played |= joined;
        kind
    }
}

/// A bot's refusals by reason, as the player reads them.
fn tally_reasons(refused: &BTreeMap<z3r0_client::Refusal, u64>) -> BTreeMap<String, u64> {
    refused
        .iter()
        .map(|(why, &n)| (why.to_string(), n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session that found its body in another zone before it played one did not cross;
    /// once it plays the body, each move is a crossing.
    #[test]
    fn a_body_found_elsewhere_is_not_a_crossing() {
        let mut moves = Moves::default();
        assert_eq!(moves.classify(false, false), None);
        assert_eq!(moves.classify(false, true), Some(Move::FoundElsewhere));
        assert_eq!(moves.classify(true, false), None);
        assert_eq!(
            moves.classify(false, true),
            Some(Move::Crossing),
            "in transit"
        );
        assert_eq!(moves.classify(true, true), Some(Move::Crossing));
        // A new key joins where it connected: its moves are crossings.
        let mut fresh = Moves::default();
        assert_eq!(fresh.classify(true, false), None);
        assert_eq!(fresh.classify(true, true), Some(Move::Crossing));
    }
}
