//! The player command (`z3r0-play`, `z3r0 client`): a player connected to a zone node over QUIC. `--headless` plays without a
//! window (as a bot with `--bot`), optionally taking a screenshot at the end.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use commonware_cryptography::ed25519::PrivateKey;
use z3r0_app::view::view;
use z3r0_client::Game;
use z3r0_client::{Bot, BotKind, PlayerScript, WorldRoutes};
use z3r0_net::ClientConfig;
use z3r0_render::{Gpu, GpuOptions, HEADLESS_FORMAT, HeadlessTarget, Renderer, RendererConfig};
use z3r0_sim::InputFrame;

use crate::whereabouts;

#[derive(Debug, clap::Args)]
pub struct ClientArgs {
    /// The nodes' player (QUIC) edges, `HOST:PORT`, comma-separated, the preferred first; the
    /// session moves to the next when its node stalls or dies. The genesis's edges are tried
    /// after these.
    #[arg(long, value_delimiter = ',', required = true)]
    connect: Vec<String>,
    /// The zone's genesis (validator keys to pin, the zone id), or a world's (`world.toml`:
    /// the player plays in the zone `--connect`'s edge serves and follows its body into the
    /// zones it walks into), or a directory holding either (a world's first).
    #[arg(long, default_value = "devnet-data")]
    genesis: PathBuf,
    /// The player's (account) key file (created on first use).
    #[arg(long, default_value = "z3r0-player.key")]
    key: PathBuf,
    /// Play with this session key file (created on first use) instead of the account key: the
    /// account key signs one delegation when the session is new or has expired, and is not read
    /// while the session lasts.
    #[arg(long)]
    session_key: Option<PathBuf>,
    /// How long a new delegation to --session-key lasts, in hours (at most 24).
    #[arg(long, default_value_t = 8)]
    session_hours: u64,
    /// Play without a window.
    #[arg(long)]
    headless: bool,
    /// Headless: ticks to play (default 200). Windowed: frames to show before quitting (default:
    /// until the window is closed).
    #[arg(long)]
    frames: Option<u32>,
    /// With --headless: write what the player sees at the end to this PNG.
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// Screenshot size, WIDTHxHEIGHT.
    #[arg(long, default_value = "640x360")]
    size: String,
    /// Play as a bot: wander, build, cheat, or (a game's own binary) game.
    #[arg(long)]
    bot: Option<BotKind>,
    /// Chunk radius streamed around the player.
    #[arg(long, default_value_t = 3)]
    radius: u8,
    /// Seed of the bot's choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Key bindings (TOML action map); defaults: WASD, mouse, space, shift, ctrl, clicks, 1-9.
    #[arg(long)]
    keys: Option<PathBuf>,
}

/// Ticks a headless client plays by default.
const HEADLESS_TICKS: u32 = 200;

/// Plays as the engine's player: see [`run_game`].
pub fn run(args: &ClientArgs) -> Result<()> {
    run_game(args, None)
}

/// Plays with a game's player-side part: what `use` does in a window, and how `--bot game`
/// plays headless.
pub fn run_game(args: &ClientArgs, script: Option<Arc<dyn PlayerScript>>) -> Result<()> {
    if args.bot == Some(BotKind::Game) && script.is_none() {
        bail!(
            "--bot game plays a game's script, and this binary has none (a game's own binary has)"
        );
    }
    if !args.headless && (args.bot.is_some() || args.screenshot.is_some()) {
        bail!("--bot and --screenshot need --headless");
    }
    if args.radius == 0 || args.radius > z3r0_net::MAX_RADIUS {
        bail!("--radius must be between 1 and {}", z3r0_net::MAX_RADIUS);
    }
    let size = parse_size(&args.size)?;
    if args.session_hours == 0 || args.session_hours > 24 {
        bail!("--session-hours must be between 1 and 24");
    }
    let Target {
        config,
        world,
        tick_ms,
        whereabouts,
    } = match genesis_file(&args.genesis)? {
        GenesisFile::Zone(path) => zone_config(args, &path)?,
        GenesisFile::World(path) => world_config(args, &path)?,
    };
    // A player key made now has no body anywhere: its session need not look for one.
    let (key, new_key) = match &args.session_key {
        Some(path) => (key_file(path, "session")?.0, false),
        None => key_file(&args.key, "player")?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut bot = None;
    let mut game = if args.headless {
        let session = Session {
            config: &config,
            key,
            tick_ms,
            world,
            whereabouts: whereabouts.as_ref(),
            new_key,
        };
        let (game, played) = runtime.block_on(play(args, session, script))?;
        bot = played;
        game
    } else {
        let map = match &args.keys {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                z3r0_input::ActionMap::from_toml(&text)?
            }
            None => z3r0_input::ActionMap::default(),
        };
        let mut game = runtime.block_on(connect(args, &config, key, tick_ms))?;
        game.set_radius(args.radius);
        enter_world(&mut game, world, whereabouts.as_ref(), new_key);
        let stop = args.frames.map(u64::from);
        z3r0_app::run(runtime, game, map, size, args.radius, stop, script)?
    };

    if let Some((path, world)) = &whereabouts {
        remember_zone(&game, path, world);
    }
    let report = game.stats();
    let pos = game.own().map(|o| o.pos.map(|c| c as f64 / 1024.0));
    println!(
        "session: position {} · snapshots {} · chunks {} (rejected {}) · receipts {}",
        pos.map_or("none".into(), |p| format!(
            "{:.2}, {:.2}, {:.2}",
            p[0], p[1], p[2]
        )),
        report.snapshots,
        report.chunks,
        report.bad_chunks,
        report.included
    );
    let mut finality: Vec<f64> = report.finality_ms.iter().copied().collect();
    finality.sort_by(f64::total_cmp);
    if let Some(median) = finality.get(finality.len() / 2) {
        println!("  finality (tick start → verified header) p50 {median:.0} ms");
    }
    println!(
        "  prediction: {} reconciliations, {} corrections, worst error {:.1} cm",
        game.predictor().reconciliations,
        game.predictor().corrections,
        game.predictor().max_error as f64 / 10.24
    );
    println!(
        "  proven to this client: claims {} verified, {} refused; inventories {} verified, {} refused; receipt logs {} verified, {} refused",
        game.edge().claims_verified,
        game.edge().bad_claims,
        game.edge().inventories_verified,
        game.edge().bad_inventories,
        game.edge().receipts_verified,
        game.edge().bad_receipts
    );
    if report.zone_switches > 0 {
        let worst = report.arrival_errors.iter().max().copied().unwrap_or(0);
        println!(
            "  zones: followed the body {} times, {} of them to a zone watched already; worst correction on arrival {:.1} cm",
            report.zone_switches,
            report.seamless_switches,
            worst as f64 / 10.24
        );
    }
    if report.held_back_applied > 0 {
        println!(
            "  edits not shown early but applied by the chain: {}",
            report.held_back_applied
        );
    }
    for (reason, n) in &report.refusals {
        println!("  refused ×{n}: {reason}");
    }
    for (manifest, tick, lag_ms) in &report.content_switches {
        println!(
            "  content {} in force from tick {tick}, here {lag_ms} ms after that tick began",
            z3r0_net::assets::hex_of(manifest)
        );
    }
    if let Some(content) = game.content().active() {
        println!(
            "  content in force at the end: {} ({} blocks)",
            z3r0_net::assets::hex_of(&content.hash),
            content.rules.ids().count()
        );
    }
    if let Some(bot) = &bot {
        let t = &bot.tally;
        println!(
            "  actions: {} applied, {} refused; cheat actions: {} sent, {} refused, {} accepted, {} unheard",
            t.applied,
            t.refused.values().sum::<u64>(),
            t.cheats,
            t.cheats_refused.values().sum::<u64>(),
            t.cheats_accepted,
            t.cheats_unheard + bot.cheats_pending()
        );
        if bot.kind == BotKind::Game {
            let applied: Vec<String> = t
                .game_applied
                .iter()
                .map(|(label, n)| format!("{n} × {label}"))
                .collect();
            println!(
                "  game actions: {} sent, {} refused; applied: {}",
                t.game_sent,
                t.game_refused.values().sum::<u64>(),
                if applied.is_empty() {
                    "none".into()
                } else {
                    applied.join(", ")
                }
            );
        }
    }
    if let Some(path) = &args.screenshot {
        screenshot(&mut game, path, size, args.radius)?;
        println!("wrote {}", path.display());
    }
    game.edge().close();
    Ok(())
}

/// Where the player plays: the session's config, in a world its routes and edge index, and
/// the tick.
struct Target {
    config: ClientConfig,
    world: Option<(WorldRoutes, usize)>,
    tick_ms: u64,
    /// In a world: the key's whereabouts file and the world's id.
    whereabouts: Option<(PathBuf, [u8; 32])>,
}

/// A genesis the player reads: one zone's, or a world's.
enum GenesisFile {
    Zone(PathBuf),
    World(PathBuf),
}

/// `path` as a genesis file: a `world.toml` is a world's, another file a zone's, and a
/// directory holds one of them (a world's first).
fn genesis_file(path: &std::path::Path) -> Result<GenesisFile> {
    if path.is_dir() {
        for (name, world) in [("world.toml", true), ("genesis.toml", false)] {
            let file = path.join(name);
            if file.is_file() {
                return Ok(match world {
                    true => GenesisFile::World(file),
                    false => GenesisFile::Zone(file),
                });
            }
        }
        bail!("{} holds no world.toml or genesis.toml", path.display());
    }
    Ok(match path.file_name().is_some_and(|n| n == "world.toml") {
        true => GenesisFile::World(path.to_path_buf()),
        false => GenesisFile::Zone(path.to_path_buf()),
    })
}

/// A session with a zone: `--connect` first, then the genesis's edges.
fn zone_config(args: &ClientArgs, path: &std::path::Path) -> Result<Target> {
    let genesis = z3r0_genesis::Genesis::load(path)
        .with_context(|| format!("loading the genesis {}", path.display()))?;
    let keys = genesis
        .public_keys()
        .map_err(|e| anyhow::anyhow!("genesis keys: {e}"))?;
    let edges = edges(&args.connect, &genesis.player_edges())?;
    let mut config = ClientConfig::new(edges[0], genesis.chain_id(), keys);
    config.fallbacks = edges[1..].to_vec();
    config.zone = Some(genesis.zone);
    Ok(Target {
        config,
        world: None,
        tick_ms: genesis.tick_ms,
        whereabouts: None,
    })
}

/// A session in a world: in the zone `--connect`'s first edge serves, with the world's routes
/// to follow the body.
fn world_config(args: &ClientArgs, path: &std::path::Path) -> Result<Target> {
    if args.session_key.is_some() {
        bail!("--session-key plays in one zone; a world's zones would each need the delegation");
    }
    let world = z3r0_genesis::WorldGenesis::load(path)
        .with_context(|| format!("loading the world {}", path.display()))?;
    let routes = WorldRoutes::new(&world)?;
    let named = edges(&args.connect, &[])?;
    let (zone, index) = named
        .iter()
        .find_map(|&e| routes.zone_served_at(e))
        .with_context(|| {
            format!(
                "{} serves no zone of the world in {}",
                args.connect.join(","),
                path.display()
            )
        })?;
    let world_id = world.world_id().0;
    let remembered = whereabouts::path_for(&args.key);
    let zone = start_zone(&remembered, &world_id, &routes, zone, index);
    let config = routes.config(zone, index).context("the zone has a route")?;
    println!("world: playing in zone {zone} through {}", config.server);
    Ok(Target {
        config,
        world: Some((routes, index)),
        tick_ms: world.tick_ms,
        whereabouts: Some((remembered, world_id)),
    })
}

/// The zone a session starts in: the one the key's body was in when it last left this world
/// (the search for a body covers only the zones nearest where it starts), else `named`, the
/// zone `--connect` serves. A damaged whereabouts file is only a warning.
fn start_zone(
    path: &std::path::Path,
    world: &[u8; 32],
    routes: &WorldRoutes,
    named: u32,
    index: usize,
) -> u32 {
    match whereabouts::load(path, world) {
        Ok(Some(zone)) if routes.config(zone, index).is_some() => {
            if zone != named {
                println!("world: this key's body was in zone {zone} when it last played");
            }
            zone
        }
        Ok(_) => named,
        Err(e) => {
            eprintln!("warning: {e}; starting in the zone --connect serves");
            named
        }
    }
}

/// Remembers the zone the body is in at the end of a session, for the next one.
fn remember_zone(game: &Game, path: &std::path::Path, world: &[u8; 32]) {
    if game.own().is_some() {
        save_zone(path, world, game.edge().zone);
    }
}

/// Writes the whereabouts file; a failure is only a warning (the file is a hint).
fn save_zone(path: &std::path::Path, world: &[u8; 32], zone: u32) {
    if let Err(e) = whereabouts::save(path, world, zone) {
        eprintln!(
            "warning: could not remember the body's zone in {}: {e}",
            path.display()
        );
    }
}

/// Puts the game in its world, if it plays in one, and remembers each zone the session follows
/// the body into: a player whose process dies mid-session still starts where its body went.
/// A key made for this session (`new_key`) joins without asking the world for its body.
fn enter_world(
    game: &mut Game,
    world: Option<(WorldRoutes, usize)>,
    whereabouts: Option<&(PathBuf, [u8; 32])>,
    new_key: bool,
) {
    let Some((routes, index)) = world else {
        return;
    };
    game.set_world(routes, index);
    if new_key {
        game.new_player();
    }
    if let Some((path, world)) = whereabouts.cloned() {
        game.on_zone_entered(move |zone| save_zone(&path, &world, zone));
    }
}

/// What a headless session connects with.
struct Session<'a> {
    config: &'a ClientConfig,
    key: PrivateKey,
    tick_ms: u64,
    world: Option<(WorldRoutes, usize)>,
    whereabouts: Option<&'a (PathBuf, [u8; 32])>,
    /// The key was made for this session.
    new_key: bool,
}

/// Reads a key file, or creates it with a new random key; whether it was created.
fn key_file(path: &std::path::Path, what: &str) -> Result<(PrivateKey, bool)> {
    if path.exists() {
        return Ok((z3r0_genesis::read_key(path)?, false));
    }
    let key = z3r0_genesis::random_key()?;
    z3r0_genesis::write_key(path, &key)?;
    println!("created {what} key {}", path.display());
    Ok((key, true))
}

/// Connects as `key`: the account key, or with --session-key the session key (delegated to
/// first by the account key if the chain does not know it as a live session).
async fn connect(
    args: &ClientArgs,
    config: &ClientConfig,
    key: PrivateKey,
    tick_ms: u64,
) -> Result<Game> {
    let connecting = || format!("connecting to {}", config.server);
    if args.session_key.is_none() {
        return Game::connect(config, key).await.with_context(connecting);
    }
    let ticks = (args.session_hours * 3_600_000 / tick_ms.max(1)).min(z3r0_sim::MAX_SESSION_TICKS);
    let account_path = args.key.clone();
    let game = z3r0_client::connect_session(config, key, ticks, Duration::from_secs(15), || {
        println!(
            "delegating to the session key with the account key {} for {} h",
            account_path.display(),
            args.session_hours
        );
        key_file(&account_path, "player")
            .map(|(key, _)| key)
            .map_err(|e| format!("{e:#}"))
    })
    .await
    .with_context(connecting)?;
    println!(
        "playing as account {} through session key {}",
        z3r0_genesis::to_hex(&game.edge().account()[..4]),
        z3r0_genesis::to_hex(&game.edge().public_key().as_ref()[..4])
    );
    Ok(game)
}

async fn play(
    args: &ClientArgs,
    session: Session<'_>,
    script: Option<Arc<dyn PlayerScript>>,
) -> Result<(Game, Option<Bot>)> {
    let mut game = connect(args, session.config, session.key, session.tick_ms).await?;
    game.set_radius(args.radius);
    enter_world(
        &mut game,
        session.world,
        session.whereabouts,
        session.new_key,
    );
    let mut bot = args.bot.map(|kind| match (kind, script) {
        (BotKind::Game, Some(script)) => Bot::with_script(args.seed, script),
        (kind, _) => Bot::new(kind, args.seed),
    });
    let tick = Duration::from_millis(u64::from(game.edge().tick_ms.max(1)));
    let mut interval = tokio::time::interval(tick);
    for _ in 0..args.frames.unwrap_or(HEADLESS_TICKS) {
        interval.tick().await;
        let (zone, seamless) = (game.edge().zone, game.stats().seamless_switches);
        game.poll().await?;
        if let Some(crossed) = z3r0_client::cross(&mut game).await {
            crossed.context("following the body into the next zone")?;
        }
        if game.edge().zone != zone {
            // Near the border the game had a session with that zone already (the bot sees
            // the switch and settles what the zone left behind owed it).
            let how = if game.stats().seamless_switches > seamless {
                "watched"
            } else {
                "opened"
            };
            println!(
                "followed the body into zone {} (a session {how} there)",
                game.edge().zone
            );
        }
        match bot.as_mut() {
            Some(b) => b.tick(&mut game)?,
            None if !game.joined() => game.join()?,
            None => {
                game.input(InputFrame::default())?;
            }
        }
        // Predict every tick, as a window would, so the report measures real corrections.
        game.predicted();
    }
    // Let the last chunks and receipts in.
    game.wait(Duration::from_millis(500)).await?;
    if let Some(b) = bot.as_mut() {
        b.settle(&mut game);
    }
    Ok((game, bot))
}

fn screenshot(game: &mut Game, path: &std::path::Path, size: (u32, u32), radius: u8) -> Result<()> {
    let yaw = game
        .own()
        .map_or(0.0, |o| f32::from(o.frame.yaw) / 65_536.0 * 360.0);
    let view = view(game, yaw, -12.0, 0.0).context("the player never got a body to look from")?;
    let gpu = Gpu::headless(&GpuOptions::default())?;
    let mut renderer = Renderer::new(
        &gpu,
        RendererConfig::new(HEADLESS_FORMAT, u32::from(radius)),
    )?;
    if let Some(content) = game.content().active() {
        renderer.set_block_look(&gpu, &z3r0_app::content::block_look(content));
    }
    renderer.sync_world(&gpu, game.world_mut())?;
    let target = HeadlessTarget::new(&gpu, size.0, size.1)?;
    // What the player sees, HUD included (no frame rate without a display).
    let tick = game.chain_tick();
    let hotbar = z3r0_app::content::HotbarCache::default().get(game.content());
    let info = z3r0_app::hud::HudInfo::now(game, 0.0, tick, 0, view.camera.position, hotbar)
        .with_target(game, view.target);
    let hud = z3r0_app::hud::layout(&info, size.0, size.1);
    let frame = view.frame_input(0.0, Some(&hud));
    let stats = target.render(&gpu, &mut renderer, &frame)?;
    target.read(&gpu)?.write_png(path)?;
    println!(
        "  screenshot: {} chunks drawn, {} triangles, {} players",
        stats.chunks_drawn, stats.triangles, stats.entities
    );
    Ok(())
}

/// A window or image size from `WIDTHxHEIGHT`.
pub fn parse_size(s: &str) -> Result<(u32, u32)> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .with_context(|| format!("--size wants WIDTHxHEIGHT, got {s:?}"))?;
    let w: u32 = w
        .trim()
        .parse()
        .with_context(|| format!("--size width {w:?}"))?;
    let h: u32 = h
        .trim()
        .parse()
        .with_context(|| format!("--size height {h:?}"))?;
    if w == 0 || h == 0 || w > 16384 || h > 16384 {
        bail!("--size must be between 1x1 and 16384x16384, got {w}x{h}");
    }
    Ok((w, h))
}

/// The edges to play through: each `--connect` entry resolved (host names too), then the
/// genesis's edges not named already. Fails if an entry does not resolve.
fn edges(connect: &[String], genesis: &[SocketAddr]) -> Result<Vec<SocketAddr>> {
    use std::net::ToSocketAddrs as _;
    let mut out: Vec<SocketAddr> = Vec::new();
    for entry in connect {
        let resolved = entry.trim().to_socket_addrs().with_context(|| {
            format!("--connect {entry:?}: not HOST:PORT, or the host is unknown")
        })?;
        out.extend(resolved.filter(|a| !out.contains(a)).collect::<Vec<_>>());
    }
    for a in genesis {
        if !out.contains(a) {
            out.push(*a);
        }
    }
    if out.is_empty() {
        bail!("--connect: no address");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{GenesisFile, edges, genesis_file};

    #[test]
    fn a_directory_names_its_world_before_its_zone() {
        let dir = std::env::temp_dir().join(format!("z3r0-play-genesis-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(genesis_file(&dir).is_err(), "neither file");
        std::fs::write(dir.join("genesis.toml"), "").unwrap();
        assert!(
            matches!(genesis_file(&dir).unwrap(), GenesisFile::Zone(p) if p.ends_with("genesis.toml"))
        );
        std::fs::write(dir.join("world.toml"), "").unwrap();
        assert!(
            matches!(genesis_file(&dir).unwrap(), GenesisFile::World(p) if p.ends_with("world.toml"))
        );
        let named = dir.join("zone.toml");
        assert!(matches!(genesis_file(&named).unwrap(), GenesisFile::Zone(p) if p == named));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn edges_resolve_host_names_and_append_the_genesis() {
        let genesis = [
            "127.0.0.1:9002".parse().unwrap(),
            "127.0.0.1:9003".parse().unwrap(),
        ];
        let got = edges(
            &["localhost:9003".into(), "127.0.0.1:9001".into()],
            &genesis,
        )
        .unwrap();
        assert!(got.len() >= 3, "{got:?}");
        assert_eq!(got[0].port(), 9003, "the preferred edge first: {got:?}");
        assert!(got.contains(&"127.0.0.1:9001".parse().unwrap()));
        assert!(got.contains(&genesis[0]));
        assert!(edges(&["no-such-host.invalid:1".into()], &genesis).is_err());
        assert!(edges(&["9001".into()], &genesis).is_err());
    }
}
