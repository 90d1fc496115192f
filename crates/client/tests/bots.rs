//! Bots playing a one-validator zone (the real game and mempool on a timer, served over real
//! QUIC on loopback): a wanderer joins, walks and is predicted without corrections; a cheater's
//! attempts are refused with reasons.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../net/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use z3r0_client::Game;
use z3r0_client::bot::{Bot, BotKind};
use z3r0_net::client::ClientConfig;
use z3r0_net::server::EdgeConfig;

async fn play(kind: BotKind, seed: u64, ticks: u32) -> (Game, Bot, Option<[i64; 3]>) {
    let zone = common::LocalZone::new(seed);
    let edge = zone.serve(EdgeConfig::new(common::loopback()));
    let _ticker = zone.run();
    let config = ClientConfig::new(edge.local_addr().unwrap(), vec![zone.validator()]);
    let mut game = Game::connect(&config, PrivateKey::from_seed(seed + 100))
        .await
        .unwrap();
    // The local zone's ticks start at its creation, not at a genesis time: follow its clock.
    game.edge.genesis_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        - game.edge.start_tick * common::TICK_MS;
    let mut bot = Bot::new(kind, seed);
    let mut first = None;
    let mut interval = tokio::time::interval(Duration::from_millis(common::TICK_MS));
    for _ in 0..ticks {
        interval.tick().await;
        game.poll().await.unwrap();
        bot.tick(&mut game).unwrap();
        if first.is_none() {
            first = game.own.map(|o| o.pos);
        }
    }
    game.wait(Duration::from_millis(200)).await.unwrap();
    edge.shutdown().await;
    (game, bot, first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wandering_bot_joins_walks_and_is_predicted_without_corrections() {
    let (mut game, _, first) = play(BotKind::Wander, 11, 80).await;
    assert!(game.joined, "the bot never joined");
    let start = first.expect("an own state arrived");
    let now = game.own.unwrap().pos;
    let moved = (0..3).map(|i| (now[i] - start[i]).abs()).max().unwrap();
    assert!(moved > 1024, "moved {moved}/1024 m");
    assert!(game.stats.chunks > 0 || game.world.is_empty());
    assert!(game.predictor.reconciliations > 20);
    assert_eq!(
        game.predictor.corrections, 0,
        "max error {}",
        game.predictor.max_error
    );
    assert!(game.predicted().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cheating_bot_is_refused_with_reasons() {
    let (game, bot, _) = play(BotKind::Cheat, 12, 140).await;
    assert!(bot.cheats >= 6, "{} attempts", bot.cheats);
    let reasons: Vec<&String> = game.stats.refusals.keys().collect();
    let has = |needle: &str| reasons.iter().any(|r| r.contains(needle));
    assert!(has("too fast"), "{reasons:?}");
    assert!(
        has("out of reach") || has("no line of sight"),
        "{reasons:?}"
    );
    assert!(has("signature"), "{reasons:?}");
}
