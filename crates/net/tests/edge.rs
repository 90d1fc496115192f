//! The edge over real quinn on loopback, against a one-validator zone running the real game.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{LocalZone, loopback};
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use z3r0_chain::Action;
use z3r0_net::{ClientConfig, ClientEvent, EdgeClient};
use z3r0_net::{EdgeConfig, chunk_of};
use z3r0_sim::{Action as GameAction, InputFrame};
use z3r0_voxel::blocks::{AIR, STONE};
use z3r0_voxel::{ChunkPos, VoxelPos};

fn frame(forward: i8) -> Vec<u8> {
    GameAction::Input(InputFrame {
        forward,
        strafe: 0,
        yaw: 0,
        pitch: 0,
        flags: 0,
    })
    .encode_to_vec()
}

async fn next(client: &mut EdgeClient) -> ClientEvent {
    tokio::time::timeout(Duration::from_secs(10), client.next_event())
        .await
        .expect("an event within 10 s")
        .expect("the session is alive")
}

/// Waits for an event `pick` accepts, skipping others.
async fn wait_for<T>(
    client: &mut EdgeClient,
    mut pick: impl FnMut(&ClientEvent) -> Option<T>,
) -> T {
    for _ in 0..2000 {
        let e = next(client).await;
        if let Some(t) = pick(&e) {
            return t;
        }
    }
    panic!("event never came");
}

async fn join(client: &mut EdgeClient, zone: &LocalZone) {
    let tick = zone.state.lock().unwrap().mempool.current_tick();
    let sent = client
        .send_action(tick, GameAction::Join.encode_to_vec())
        .unwrap();
    let nonce = sent.action.nonce;
    wait_for(client, |e| match e {
        ClientEvent::Included(i) if i.nonces.contains(&nonce) => {
            assert!(i.rejections.is_empty(), "{i:?}");
            Some(())
        }
        ClientEvent::Refused { nonce: n, kind } if *n == nonce => panic!("refused: {kind}"),
        _ => None,
    })
    .await;
}

fn client_config(zone: &LocalZone, edge: &z3r0_net::Edge) -> ClientConfig {
    ClientConfig::new(
        edge.local_addr().unwrap(),
        common::CHAIN,
        vec![zone.validator()],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_joins_walks_and_sees_itself_move_in_snapshots() {
    let zone = LocalZone::new(1);
    let edge = zone.serve(EdgeConfig::new(loopback()));
    let _ticker = zone.run();
    let mut client = EdgeClient::connect(&client_config(&zone, &edge), PrivateKey::from_seed(10))
        .await
        .unwrap();
    assert_eq!(client.zone, common::ZONE);
    join(&mut client, &zone).await;
    let start = wait_for(&mut client, |e| match e {
        ClientEvent::Snapshot(s) => s.own.map(|o| o.pos),
        _ => None,
    })
    .await;
    // Walk forward (+z at yaw 0) for a while, one input per tick.
    let mut last_tick = 0;
    let mut latest = start;
    for _ in 0..40 {
        let tick = zone.state.lock().unwrap().mempool.current_tick();
        client.send_action(tick, frame(127)).unwrap();
        tokio::time::sleep(Duration::from_millis(common::TICK_MS)).await;
        while let Ok(Ok(e)) =
            tokio::time::timeout(Duration::from_millis(1), client.next_event()).await
        {
            if let ClientEvent::Snapshot(s) = e {
                assert!(s.tick > last_tick, "snapshots only move forward");
                last_tick = s.tick;
                if let Some(o) = s.own {
                    latest = o.pos;
                }
            }
        }
    }
    assert!(
        latest[2] > start[2] + 1024,
        "the player walked more than a metre along +z: {start:?} → {latest:?}"
    );
    assert!(client.headers_verified > 0, "finality was checked");
    // The edge counted what it carried (its `/metrics` figures).
    let counted = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    assert!(counted(&edge.stats.datagrams_in) >= 40, "{:?}", edge.stats);
    assert!(counted(&edge.stats.bytes_in) > counted(&edge.stats.datagrams_in));
    assert!(counted(&edge.stats.datagrams_out) >= 40, "{:?}", edge.stats);
    client.close();
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_players_see_each_other() {
    let zone = LocalZone::new(2);
    let edge = zone.serve(EdgeConfig::new(loopback()));
    let _ticker = zone.run();
    let config = client_config(&zone, &edge);
    let mut a = EdgeClient::connect(&config, PrivateKey::from_seed(20))
        .await
        .unwrap();
    let mut b = EdgeClient::connect(&config, PrivateKey::from_seed(21))
        .await
        .unwrap();
    join(&mut a, &zone).await;
    join(&mut b, &zone).await;
    let b_entity = wait_for(&mut b, |e| match e {
        ClientEvent::Snapshot(s) => s.own.map(|o| o.entity),
        _ => None,
    })
    .await;
    wait_for(&mut a, |e| match e {
        ClientEvent::Snapshot(s) if s.entities.contains_key(&b_entity) => Some(()),
        _ => None,
    })
    .await;
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_arrive_nearest_first_verified_and_cached() {
    let zone = LocalZone::new(3);
    let edge = zone.serve(EdgeConfig::new(loopback()));
    let _ticker = zone.run();
    let config = client_config(&zone, &edge);
    let mut client = EdgeClient::connect(&config, PrivateKey::from_seed(30))
        .await
        .unwrap();
    let center = ChunkPos::new(0, 0, 0);
    client.subscribe(center, 1).await.unwrap();
    // Radius 1: the centre and its 6 face neighbours, all inside the zone.
    let mut got = Vec::new();
    while got.len() < 7 {
        match next(&mut client).await {
            ClientEvent::Chunk { pos, .. } => got.push(pos),
            ClientEvent::BadChunk { pos, reason } => panic!("{pos:?}: {reason}"),
            _ => {}
        }
    }
    assert_eq!(got[0], center, "nearest first: {got:?}");
    assert_eq!(client.cache.len(), 7);
    // A second session that reports its cache gets nothing it already holds.
    let cache = client.cache.clone();
    client.close();
    let mut again = EdgeClient::connect(&config, PrivateKey::from_seed(30))
        .await
        .unwrap();
    again.cache = cache;
    again.subscribe(center, 1).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(600);
    let mut alive = 0;
    while tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(50), again.next_event()).await {
            Ok(Ok(ClientEvent::Chunk { pos, .. })) => {
                panic!("chunk {pos:?} was sent again though the client holds it")
            }
            Ok(Ok(_)) => alive += 1,
            Ok(Err(e)) => panic!("the second session died: {e}"),
            Err(_) => {}
        }
    }
    assert!(alive > 0, "the second session received nothing at all");
    let subscriptions = edge
        .stats
        .subscriptions
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(subscriptions, 2, "each session subscribed once");
    edge.shutdown().await;
}

/// A validator that state-synced in place skips heights in its feed: its sessions get the
/// chunks the skipped blocks changed (checked again), not a view stuck before the skip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_over_a_skip_in_the_chain_gets_the_chunks_it_changed() {
    let zone = LocalZone::new(5);
    let edge = zone.serve(EdgeConfig::new(loopback()));
    let _ticker = zone.run();
    let config = client_config(&zone, &edge);
    let mut client = EdgeClient::connect(&config, PrivateKey::from_seed(31))
        .await
        .unwrap();
    let center = ChunkPos::new(0, 0, 0);
    client.subscribe(center, 1).await.unwrap();
    let mut got = 0;
    while got < 7 {
        match next(&mut client).await {
            ClientEvent::Chunk { .. } => got += 1,
            ClientEvent::BadChunk { pos, reason } => panic!("{pos:?}: {reason}"),
            _ => {}
        }
    }
    let voxel = VoxelPos::new(1, 1, 1);
    let mut now = 0;
    zone.jump(40, |sim| {
        let was = sim.voxels.voxel(voxel).unwrap();
        now = if was == AIR { STONE } else { AIR };
        sim.voxels.set_voxel(voxel, now).unwrap();
    });
    let changed = tokio::time::timeout(
        Duration::from_secs(5),
        wait_for(&mut client, |e| match e {
            ClientEvent::Chunk { pos, chunk, .. } if *pos == center => {
                Some(chunk.get(voxel.local()))
            }
            ClientEvent::BadChunk { pos, reason } => panic!("{pos:?}: {reason}"),
            _ => None,
        }),
    )
    .await
    .expect("the chunk the skipped blocks changed was not sent again");
    assert_eq!(changed, now);
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_with_a_bad_proof_is_rejected() {
    let zone = LocalZone::new(4);
    zone.corrupt_chunks
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let edge = zone.serve(EdgeConfig::new(loopback()));
    let _ticker = zone.run();
    let mut client = EdgeClient::connect(&client_config(&zone, &edge), PrivateKey::from_seed(40))
        .await
        .unwrap();
    client.subscribe(ChunkPos::new(0, 0, 0), 0).await.unwrap();
    let reason = wait_for(&mut client, |e| match e {
        ClientEvent::BadChunk { reason, .. } => Some(reason.clone()),
        ClientEvent::Chunk { pos, .. } => panic!("corrupt chunk {pos:?} accepted"),
        _ => None,
    })
    .await;
    assert!(reason.contains("chunk"), "{reason}");
    assert!(client.cache.is_empty());
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_signed_outside_the_committee_ends_the_session() {
    let zone = LocalZone::new(5);
    zone.forge_finality
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let edge = zone.serve(EdgeConfig::new(loopback()));
    let _ticker = zone.run();
    let mut client = EdgeClient::connect(&client_config(&zone, &edge), PrivateKey::from_seed(50))
        .await
        .unwrap();
    client.subscribe(ChunkPos::new(0, 0, 0), 0).await.unwrap();
    let err = loop {
        match tokio::time::timeout(Duration::from_secs(10), client.next_event())
            .await
            .unwrap()
        {
            Ok(ClientEvent::Header(h)) => panic!("forged header {} accepted", h.height),
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert!(err.to_string().contains("signature"), "{err}");
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_foreign_inputs_are_refused() {
    let zone = LocalZone::new(6);
    let edge = zone.serve(EdgeConfig::new(loopback()));
    let _ticker = zone.run();
    let config = client_config(&zone, &edge);
    let me = PrivateKey::from_seed(60);
    let mut client = EdgeClient::connect(&config, me.clone()).await.unwrap();
    join(&mut client, &zone).await;
    // My key, but the signature is over different bytes: the mempool refuses it, with a reason.
    let tick = zone.state.lock().unwrap().mempool.current_tick();
    let mut forged = Action {
        player: me.public_key(),
        zone: common::ZONE,
        tick,
        nonce: client.next_nonce(),
        payload: frame(1).into(),
    }
    .sign(&me, &common::CHAIN);
    forged.action.payload = frame(127).into();
    client.send_signed(&forged).unwrap();
    let reason = wait_for(&mut client, |e| match e {
        ClientEvent::Refused { nonce, kind } if *nonce == forged.action.nonce => {
            assert_eq!(*kind, z3r0_chain::RejectionKind::BadSignature);
            Some(kind.to_string())
        }
        ClientEvent::Included(i) if i.nonces.contains(&forged.action.nonce) => {
            panic!("forged input was included")
        }
        _ => None,
    })
    .await;
    assert!(reason.to_lowercase().contains("signature"), "{reason}");
    let bad_signature = edge.stats.prometheus();
    assert!(
        bad_signature.contains("edge_refusals_total{reason=\"bad_signature\"} 1\n"),
        "{bad_signature}"
    );
    // An input signed by someone else closes the session.
    let other = PrivateKey::from_seed(61);
    let foreign = Action {
        player: other.public_key(),
        zone: common::ZONE,
        tick,
        nonce: 0,
        payload: frame(1).into(),
    }
    .sign(&other, &common::CHAIN);
    client.send_signed(&foreign).unwrap();
    let err = loop {
        match tokio::time::timeout(Duration::from_secs(10), client.next_event())
            .await
            .unwrap()
        {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert!(err.to_string().contains("another player"), "{err}");
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_another_genesis_cannot_log_in() {
    let zone = LocalZone::new(7);
    let edge = zone.serve(EdgeConfig::new(loopback()));
    let _ticker = zone.run();
    let mut config = client_config(&zone, &edge);
    config.chain = z3r0_chain::ChainId([9; 32]);
    let err = EdgeClient::connect(&config, PrivateKey::from_seed(71))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("authentication"), "{err}");
    // The same player on the zone's own chain gets in.
    config.chain = common::CHAIN;
    let client = EdgeClient::connect(&config, PrivateKey::from_seed(71))
        .await
        .unwrap();
    client.close();
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_pinning_another_key_refuses_the_node() {
    let zone = LocalZone::new(7);
    let edge = zone.serve(EdgeConfig::new(loopback()));
    let config = ClientConfig::new(
        edge.local_addr().unwrap(),
        common::CHAIN,
        vec![PrivateKey::from_seed(12345).public_key()],
    );
    let err = EdgeClient::connect(&config, PrivateKey::from_seed(70))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("pinned"), "{err}");
    edge.shutdown().await;
}

/// Subscriptions beyond the session's budget wait, and only the newest is served: a client
/// that resubscribes in a burst is not disconnected, and gets the chunks it asked for last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_subscriptions_is_served_at_the_budget_newest_last() {
    let zone = LocalZone::new(20);
    let mut config = EdgeConfig::new(loopback());
    config.subscriptions_per_sec = 2;
    let edge = zone.serve(config);
    let _ticker = zone.run();
    let mut client = EdgeClient::connect(&client_config(&zone, &edge), PrivateKey::from_seed(200))
        .await
        .unwrap();
    for x in 0..10 {
        client
            .subscribe(ChunkPos::new(x - 10, 0, 0), 0)
            .await
            .unwrap();
    }
    let last = ChunkPos::new(-1, 0, 0);
    client.subscribe(last, 0).await.unwrap();
    let served = || {
        edge.stats
            .subscriptions
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    assert!(served() <= 2, "{} served at once", served());
    loop {
        match next(&mut client).await {
            ClientEvent::Chunk { pos, .. } if pos == last => break,
            ClientEvent::BadChunk { pos, reason } => panic!("{pos:?}: {reason}"),
            _ => {}
        }
    }
    assert!(served() <= 4, "{} served", served());
    edge.shutdown().await;
}

/// A QUIC connection to the edge, no session opened: the code it is closed with.
async fn refused_with(zone: &LocalZone, edge: &z3r0_net::Edge) -> u64 {
    closed_code(&quic_to(zone, edge).await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edge_refuses_sessions_beyond_its_limit_with_the_full_code() {
    let zone = LocalZone::new(8);
    let mut config = EdgeConfig::new(loopback());
    config.max_sessions = 1;
    let edge = zone.serve(config);
    let _ticker = zone.run();
    let cfg = client_config(&zone, &edge);
    let _first = EdgeClient::connect(&cfg, PrivateKey::from_seed(80))
        .await
        .unwrap();
    let second = EdgeClient::connect(&cfg, PrivateKey::from_seed(81)).await;
    let err = second
        .expect_err("a second session was accepted")
        .to_string();
    assert!(err.to_lowercase().contains("full"), "{err}");
    assert_eq!(
        refused_with(&zone, &edge).await,
        u64::from(z3r0_net::close::FULL)
    );
    // Clients prove their address (a QUIC retry) before a slot is considered.
    let retries = edge
        .stats
        .retries
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(retries >= 3, "{retries}");
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_a_few_sessions_not_the_whole_edge() {
    let zone = LocalZone::new(18);
    let mut config = EdgeConfig::new(loopback());
    config.max_sessions_per_address = 2;
    let edge = zone.serve(config);
    let _ticker = zone.run();
    let cfg = client_config(&zone, &edge);
    let _a = EdgeClient::connect(&cfg, PrivateKey::from_seed(180))
        .await
        .unwrap();
    let b = EdgeClient::connect(&cfg, PrivateKey::from_seed(181))
        .await
        .unwrap();
    assert_eq!(
        refused_with(&zone, &edge).await,
        u64::from(z3r0_net::close::FULL)
    );
    // A session that ends gives its address's slot back.
    b.close();
    drop(b);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match EdgeClient::connect(&cfg, PrivateKey::from_seed(182)).await {
            Ok(_) => break,
            Err(e) => assert!(std::time::Instant::now() < deadline, "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_opens_connections_at_a_bounded_rate() {
    let zone = LocalZone::new(20);
    let mut config = EdgeConfig::new(loopback());
    config.max_sessions_per_address = 3;
    config.handshakes_per_address_per_sec = 1;
    let edge = zone.serve(config);
    let _ticker = zone.run();
    let refused = |result: &Result<quinn::Connection, quinn::ConnectionError>| match result {
        Err(quinn::ConnectionError::ConnectionClosed(c)) => {
            c.error_code == quinn::TransportErrorCode::CONNECTION_REFUSED
        }
        _ => false,
    };
    // Ten connections as fast as they go, each closed at once: a burst as large as the
    // address's session cap is let in, and then about one a second.
    let mut outcomes = Vec::new();
    for _ in 0..10 {
        let result = try_quic_to(&zone, &edge).await;
        if let Ok(conn) = &result {
            conn.close(0u32.into(), b"done");
        }
        outcomes.push(refused(&result));
    }
    assert_eq!(
        outcomes[..3],
        [false; 3],
        "the burst was refused: {outcomes:?}"
    );
    let refusals = outcomes.iter().filter(|&&r| r).count();
    assert!(refusals >= 3, "{refusals} of 7 refused: {outcomes:?}");
    let limited = edge
        .stats
        .handshakes_limited
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(limited, refusals as u64);
    // A second later the budget has a token again.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert!(!refused(&try_quic_to(&zone, &edge).await));
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_sends_nothing_is_closed_although_quic_keeps_it_alive() {
    let zone = LocalZone::new(19);
    let mut config = EdgeConfig::new(loopback());
    config.idle_timeout = Duration::from_secs(1);
    let edge = zone.serve(config);
    let _ticker = zone.run();
    let client = EdgeClient::connect(&client_config(&zone, &edge), PrivateKey::from_seed(190))
        .await
        .unwrap();
    // The client reads nothing and sends nothing; QUIC's keep-alives still flow.
    let closed = tokio::time::timeout(Duration::from_secs(5), client.connection().closed())
        .await
        .expect("an idle session stayed open");
    match closed {
        quinn::ConnectionError::ApplicationClosed(c) => {
            assert_eq!(c.error_code.into_inner(), u64::from(z3r0_net::close::IDLE));
        }
        other => panic!("closed by {other}"),
    }
    edge.shutdown().await;
}

#[test]
fn chunk_of_rounds_towards_negative_infinity() {
    assert_eq!(chunk_of([0, 0, 0]), ChunkPos::new(0, 0, 0));
    assert_eq!(
        chunk_of([-1, 32 * 1024, 32 * 1024 - 1]),
        ChunkPos::new(-1, 1, 0)
    );
}

/// A raw session: the pinned QUIC connection and its control stream, before authentication.
async fn raw_session(
    zone: &LocalZone,
    edge: &z3r0_net::Edge,
) -> (quinn::Connection, quinn::SendStream, quinn::RecvStream) {
    let conn = quic_to(zone, edge).await;
    let (send, recv) = conn.open_bi().await.unwrap();
    (conn, send, recv)
}

/// A pinned QUIC connection to `edge`, nothing sent on it.
async fn quic_to(zone: &LocalZone, edge: &z3r0_net::Edge) -> quinn::Connection {
    try_quic_to(zone, edge).await.unwrap()
}

async fn try_quic_to(
    zone: &LocalZone,
    edge: &z3r0_net::Edge,
) -> Result<quinn::Connection, quinn::ConnectionError> {
    let config = client_config(zone, edge);
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(z3r0_net::quic_config(&config).unwrap());
    endpoint.connect(config.server, "z3r0-node").unwrap().await
}

async fn closed_code(conn: &quinn::Connection) -> u64 {
    match tokio::time::timeout(Duration::from_secs(10), conn.closed())
        .await
        .unwrap()
    {
        quinn::ConnectionError::ApplicationClosed(c) => c.error_code.into_inner(),
        other => panic!("closed by {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_version_or_a_bad_signature_fails_authentication() {
    use z3r0_net::{ClientControl, ServerControl};
    use z3r0_net::{read_frame, write_frame};
    let zone = LocalZone::new(9);
    let edge = zone.serve(EdgeConfig::new(loopback()));
    let player: [u8; 32] =
        commonware_codec::Encode::encode(&PrivateKey::from_seed(90).public_key())
            .as_ref()
            .try_into()
            .unwrap();

    let (conn, mut send, _recv) = raw_session(&zone, &edge).await;
    let hello = ClientControl::Hello {
        version: 99,
        player,
        snapshot_hz: 30,
        zone: None,
    };
    write_frame(&mut send, &hello.encode()).await.unwrap();
    assert_eq!(closed_code(&conn).await, u64::from(z3r0_net::close::AUTH));

    // A client of version 6 (its hello has no snapshot rate) is refused for its version too.
    let (conn, mut send, _recv) = raw_session(&zone, &edge).await;
    let mut old = ClientControl::Hello {
        version: 6,
        player,
        snapshot_hz: 0,
        zone: None,
    }
    .encode();
    // A version-6 hello had neither the snapshot rate nor the zone.
    old.truncate(old.len() - 3);
    write_frame(&mut send, &old).await.unwrap();
    assert_eq!(closed_code(&conn).await, u64::from(z3r0_net::close::AUTH));

    let (conn, mut send, mut recv) = raw_session(&zone, &edge).await;
    let hello = ClientControl::Hello {
        version: z3r0_net::VERSION,
        player,
        snapshot_hz: 30,
        zone: None,
    };
    write_frame(&mut send, &hello.encode()).await.unwrap();
    let challenge = read_frame(&mut recv).await.unwrap().unwrap();
    assert!(matches!(
        ServerControl::decode(&challenge).unwrap(),
        ServerControl::Challenge { .. }
    ));
    let forged = ClientControl::Auth { signature: [7; 64] };
    write_frame(&mut send, &forged.encode()).await.unwrap();
    assert_eq!(closed_code(&conn).await, u64::from(z3r0_net::close::AUTH));

    // Garbage instead of a hello is malformed.
    let (conn, mut send, _recv) = raw_session(&zone, &edge).await;
    write_frame(&mut send, &[0xee, 1, 2, 3]).await.unwrap();
    assert_eq!(
        closed_code(&conn).await,
        u64::from(z3r0_net::close::MALFORMED)
    );
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_key_plays_as_its_account() {
    let zone = LocalZone::new(23);
    let edge = zone.serve(EdgeConfig::new(loopback()));
    let _ticker = zone.run();
    let config = client_config(&zone, &edge);
    let (account_key, session_key) = (PrivateKey::from_seed(230), PrivateKey::from_seed(231));
    let account: [u8; 32] = account_key.public_key().as_ref().try_into().unwrap();
    let session: [u8; 32] = session_key.public_key().as_ref().try_into().unwrap();

    // The account joins and delegates, with the session key's consent.
    let mut owner = EdgeClient::connect(&config, account_key).await.unwrap();
    assert_eq!(owner.account(), account);
    join(&mut owner, &zone).await;
    let tick = zone.state.lock().unwrap().mempool.current_tick();
    let until = tick + 400;
    let delegate = GameAction::Delegate {
        session,
        until,
        consent: z3r0_sim::session_consent(&common::CHAIN, &session_key, &account, until),
    };
    let nonce = owner
        .send_action(tick, delegate.encode_to_vec())
        .unwrap()
        .action
        .nonce;
    wait_for(&mut owner, |e| match e {
        ClientEvent::Included(i) if i.nonces.contains(&nonce) => {
            assert!(i.rejections.is_empty(), "{i:?}");
            Some(())
        }
        _ => None,
    })
    .await;
    owner.close();

    // The session key is told whose account it plays, proven by the account's session record
    // with its inventory, gets that body in its snapshots...
    let mut player = EdgeClient::connect(&config, session_key).await.unwrap();
    assert_eq!(player.account(), account);
    wait_for(&mut player, |e| match e {
        ClientEvent::Inventory(_) => Some(()),
        ClientEvent::BadInventory { reason } => panic!("{reason}"),
        _ => None,
    })
    .await;
    wait_for(&mut player, |e| match e {
        ClientEvent::Snapshot(s) => s.own.map(|_| ()),
        _ => None,
    })
    .await;
    // ...and its inputs move that body.
    let start = zone.state.lock().unwrap().sim.body(&account).unwrap().pos;
    for _ in 0..20 {
        let tick = zone.state.lock().unwrap().mempool.current_tick();
        player.send_action(tick, frame(127)).unwrap();
        tokio::time::sleep(Duration::from_millis(common::TICK_MS)).await;
    }
    let moved = zone.state.lock().unwrap().sim.body(&account).unwrap().pos;
    assert_ne!(moved, start, "the session's inputs moved the account");
    assert!(zone.state.lock().unwrap().sim.player(&session).is_none());
    player.close();
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_are_reported_only_when_proven() {
    let zone = LocalZone::new(13);
    let edge = zone.serve(EdgeConfig::new(loopback()));
    let _ticker = zone.run();
    let config = client_config(&zone, &edge);
    let mut alice = EdgeClient::connect(&config, PrivateKey::from_seed(130))
        .await
        .unwrap();
    let mut bob = EdgeClient::connect(&config, PrivateKey::from_seed(131))
        .await
        .unwrap();
    join(&mut alice, &zone).await;
    join(&mut bob, &zone).await;
    // A refusal the chain made reaches the player, proven against a verified header.
    let send = |client: &mut EdgeClient| {
        let tick = zone.state.lock().unwrap().mempool.current_tick();
        client
            .send_action(tick, GameAction::Join.encode_to_vec())
            .unwrap()
            .action
            .nonce
    };
    let nonce = send(&mut alice);
    let reasons = wait_for(&mut alice, |e| match e {
        ClientEvent::Included(i) if i.nonces.contains(&nonce) => Some(i.rejections.clone()),
        ClientEvent::BadReceipts { reason } => panic!("{reason}"),
        _ => None,
    })
    .await;
    assert_eq!(reasons.len(), 1);
    assert_eq!(reasons[0].reason, z3r0_sim::Reason::AlreadyJoined as u8);
    assert!(alice.receipts_verified >= 2 && alice.bad_receipts == 0);
    // A node adding a refusal the chain did not make is caught: nothing is reported.
    *zone.lie_receipts.lock().unwrap() = common::ReceiptLie::Refuse;
    let nonce = send(&mut alice);
    let reason = wait_for(&mut alice, |e| match e {
        ClientEvent::Included(i) if i.nonces.contains(&nonce) => {
            panic!("an unproven receipt was reported: {i:?}")
        }
        ClientEvent::BadReceipts { reason } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains("records root"), "{reason}");
    // Alice's genuine, proven log shown to Bob is refused: it is not his.
    let alice_key: [u8; 32] = alice.public_key().as_ref().try_into().unwrap();
    *zone.lie_receipts.lock().unwrap() = common::ReceiptLie::Other(alice_key);
    send(&mut alice);
    let nonce = send(&mut bob);
    // (Bob's own logs altered by the previous lie may still come first: refused as well.)
    let reason = wait_for(&mut bob, |e| match e {
        ClientEvent::Included(i) if i.nonces.contains(&nonce) => {
            panic!("another key's receipts were reported: {i:?}")
        }
        ClientEvent::BadReceipts { reason } if !reason.contains("records root") => {
            Some(reason.clone())
        }
        _ => None,
    })
    .await;
    assert!(reason.contains("not this session's"), "{reason}");
    assert!(bob.bad_receipts >= 1);
    alice.close();
    bob.close();
    edge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventories_are_shown_only_when_proven() {
    let zone = LocalZone::new(12);
    let edge = zone.serve(EdgeConfig::new(loopback()));
    let _ticker = zone.run();
    let config = client_config(&zone, &edge);
    let key = PrivateKey::from_seed(120);
    let mut client = EdgeClient::connect(&config, key.clone()).await.unwrap();
    join(&mut client, &zone).await;
    client.close();
    // A session of a joined player opens with its inventory, shown once its proofs held
    // against the next verified header.
    let mut client = EdgeClient::connect(&config, key.clone()).await.unwrap();
    wait_for(&mut client, |e| {
        matches!(e, ClientEvent::Inventory(_)).then_some(())
    })
    .await;
    assert_eq!(
        (client.inventories_verified, client.bad_inventories),
        (1, 0)
    );
    client.close();
    // A node showing an inventory its proof does not cover is refused, and nothing is shown.
    zone.corrupt_inventory
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let mut client = EdgeClient::connect(&config, key.clone()).await.unwrap();
    let reason = wait_for(&mut client, |e| match e {
        ClientEvent::Inventory(_) => panic!("an unproven inventory was shown"),
        ClientEvent::BadInventory { reason } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains("records root"), "{reason}");
    assert_eq!(client.bad_inventories, 1);
    client.close();
    // A node naming another player's account to this key shows that account's genuine
    // inventory: refused, as that account never delegated to this key.
    zone.corrupt_inventory
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let victim: [u8; 32] = commonware_codec::Encode::encode(&key.public_key())
        .as_ref()
        .try_into()
        .unwrap();
    *zone.lie_account.lock().unwrap() = Some(victim);
    let mut stranger = EdgeClient::connect(&config, PrivateKey::from_seed(121))
        .await
        .unwrap();
    assert_eq!(stranger.account(), victim);
    let reason = wait_for(&mut stranger, |e| match e {
        ClientEvent::Inventory(_) => panic!("another account's inventory was shown"),
        ClientEvent::BadInventory { reason } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains("has not delegated"), "{reason}");
    stranger.close();
    edge.shutdown().await;
}

/// Snapshots in `window` after the first one, by the tick span they cover.
async fn snapshots_over(client: &mut EdgeClient, window: Duration) -> (usize, u64) {
    let first = wait_for(client, |e| match e {
        ClientEvent::Snapshot(s) => Some(s.tick),
        _ => None,
    })
    .await;
    let deadline = tokio::time::Instant::now() + window;
    let (mut count, mut last) = (0, first);
    while tokio::time::Instant::now() < deadline {
        if let Ok(Ok(ClientEvent::Snapshot(s))) =
            tokio::time::timeout(Duration::from_millis(20), client.next_event()).await
        {
            count += 1;
            last = s.tick;
        }
    }
    (count, last - first)
}

/// The node sends snapshots at the rate each client asks for, one a tick at most, and at the
/// rate it asks for later: remote players are interpolated between them, so a faster chain
/// need not cost a client more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_come_at_the_rate_the_client_asked_for() {
    let zone = LocalZone::new(21);
    let edge = zone.serve(EdgeConfig::new(loopback()));
    let _ticker = zone.run();
    let mut config = client_config(&zone, &edge);
    config.snapshot_hz = 5;
    let mut slow = EdgeClient::connect(&config, PrivateKey::from_seed(210))
        .await
        .unwrap();
    let mut every = EdgeClient::connect(&client_config(&zone, &edge), PrivateKey::from_seed(211))
        .await
        .unwrap();
    let window = Duration::from_secs(2);
    let ((slow_n, slow_ticks), (every_n, every_ticks)) = tokio::join!(
        snapshots_over(&mut slow, window),
        snapshots_over(&mut every, window)
    );
    // 50 ms ticks: at 5 Hz one snapshot in four ticks; the default (20 Hz) gets every tick.
    let per_snapshot = |ticks: u64, n: usize| ticks as f64 / n.max(1) as f64;
    assert!(
        (3.0..=5.0).contains(&per_snapshot(slow_ticks, slow_n)),
        "5 Hz: {slow_n} snapshots over {slow_ticks} ticks"
    );
    assert!(
        per_snapshot(every_ticks, every_n) <= 1.5,
        "20 Hz: {every_n} snapshots over {every_ticks} ticks"
    );
    // A session may change its rate (a watch of a neighbouring zone that becomes the
    // player's session): from now on it gets every tick's.
    slow.set_snapshot_rate(20).await.unwrap();
    let (faster_n, faster_ticks) = snapshots_over(&mut slow, window).await;
    assert!(
        per_snapshot(faster_ticks, faster_n) <= 1.5,
        "paced to 20 Hz: {faster_n} snapshots over {faster_ticks} ticks"
    );
    edge.shutdown().await;
}

/// A validator seated on several zones serves them all on one edge: a player names its zone
/// in the hello and plays there; a hello that names none, or one the node does not serve, is
/// refused with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_edge_serves_each_of_its_zones_to_the_players_who_name_it() {
    let (a, b) = (LocalZone::new_in(21, 7), LocalZone::new_in(21, 9));
    let zones = [&a, &b].map(|z| z3r0_net::ZoneEdge {
        backend: z.clone(),
        feed: z.feed.clone(),
    });
    let edge = z3r0_net::serve_zones(&a.key, EdgeConfig::new(loopback()), zones.to_vec()).unwrap();
    let (_ta, _tb) = (a.run(), b.run());
    let mut config = client_config(&b, &edge);
    config.zone = Some(9);
    let mut client = EdgeClient::connect(&config, PrivateKey::from_seed(30))
        .await
        .unwrap();
    assert_eq!(client.zone, 9);
    // It plays in zone 9: its join is zone 9's, and zone 7 never hears of it.
    join(&mut client, &b).await;
    let key: [u8; 32] = PrivateKey::from_seed(30)
        .public_key()
        .as_ref()
        .to_vec()
        .try_into()
        .unwrap();
    assert!(b.state.lock().unwrap().sim.player(&key).is_some());
    assert!(a.state.lock().unwrap().sim.player(&key).is_none());

    config.zone = None;
    let Err(unnamed) = EdgeClient::connect(&config, PrivateKey::from_seed(31)).await else {
        panic!("a hello naming no zone is refused by an edge of two");
    };
    assert!(unnamed.to_string().contains("name the one"), "{unnamed}");
    config.zone = Some(8);
    let Err(elsewhere) = EdgeClient::connect(&config, PrivateKey::from_seed(32)).await else {
        panic!("a zone the node does not serve is refused");
    };
    assert!(
        elsewhere.to_string().contains("does not serve zone 0x8"),
        "{elsewhere}"
    );
}
