//! `z3r0 edge-probe --hostile`: one attacker against a node's player edge, every attack at
//! once for the given time, each as fast as one process can drive it: garbage datagrams,
//! handshake floods, many sessions from one address (held idle), subscribe floods, malformed
//! and oversized frames, and replayed and forged inputs. It prints what the edge answered to
//! each (close codes, refusals), so a run shows every limit at work; the honest players'
//! figures come from the devnet (or `edge-probe`) running beside it.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use z3r0_net::{ClientConfig, ClientControl, EdgeClient, quic_config, write_frame};
use z3r0_sim::{Action, InputFrame};
use z3r0_voxel::ChunkPos;

/// Counts by attack and outcome.
#[derive(Debug, Default, Clone)]
struct Tally(Arc<Mutex<BTreeMap<(&'static str, String), u64>>>);

impl Tally {
    fn add(&self, attack: &'static str, outcome: impl Into<String>, n: u64) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((attack, outcome.into())).or_default() += n;
    }

    fn print(&self) {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut last = "";
        for ((attack, outcome), n) in map.iter() {
            if *attack != last {
                println!("  {attack}");
                last = attack;
            }
            println!("    {n:>9} × {outcome}");
        }
    }
}

/// What the node said when it closed a connection, in words.
fn close_label(conn: &quinn::Connection) -> String {
    match conn.close_reason() {
        Some(quinn::ConnectionError::ApplicationClosed(c)) => {
            let code = u32::try_from(c.error_code.into_inner()).unwrap_or(u32::MAX);
            format!("closed by the node: {}", close_name(code))
        }
        Some(e) => format!("ended: {e}"),
        None => "still open".into(),
    }
}

fn close_name(code: u32) -> &'static str {
    use z3r0_net::close;
    match code {
        close::DONE => "done",
        close::MALFORMED => "malformed",
        close::AUTH => "auth",
        close::RATE => "rate",
        close::FULL => "full",
        close::FOREIGN_INPUT => "foreign input",
        close::SLOW => "slow",
        close::SHUTDOWN => "shutdown",
        close::IDLE => "idle",
        _ => "unknown code",
    }
}

/// A cheap, seeded byte source for garbage (nothing here needs to be unpredictable).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Where the attacker connects from, and to what.
#[derive(Clone)]
struct Target {
    config: ClientConfig,
    bind: IpAddr,
    until: Instant,
    tally: Tally,
}

impl Target {
    fn endpoint(&self) -> Result<quinn::Endpoint> {
        let mut endpoint = quinn::Endpoint::client(SocketAddr::new(self.bind, 0))
            .with_context(|| format!("binding a QUIC endpoint on {}", self.bind))?;
        endpoint.set_default_client_config(quic_config(&self.config)?);
        Ok(endpoint)
    }

    fn running(&self) -> bool {
        Instant::now() < self.until
    }

    /// Logs in as the player of `seed`; a refusal is tallied under `attack`, and the next try
    /// waits a little.
    async fn login(
        &self,
        endpoint: &quinn::Endpoint,
        seed: u64,
        attack: &'static str,
    ) -> Option<EdgeClient> {
        let key = PrivateKey::from_seed(seed);
        match EdgeClient::connect_with(endpoint.clone(), &self.config, key).await {
            Ok(client) => Some(client),
            Err(e) => {
                self.tally.add(attack, format!("refused: {e}"), 1);
                tokio::time::sleep(Duration::from_millis(200)).await;
                None
            }
        }
    }
}

/// One of the attacks, to run alone (a row of the fault matrix each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Attack {
    /// Random datagrams at the QUIC port.
    Garbage,
    /// QUIC handshakes opened and dropped, four at a time.
    Handshakes,
    /// Sessions from one address, held idle.
    Sessions,
    /// Logged-in sessions subscribing as fast as they may.
    Subscribe,
    /// Oversized and malformed control frames, before and after a valid hello.
    Malformed,
    /// Replayed and forged inputs.
    Forged,
}

impl Attack {
    const ALL: [Attack; 6] = [
        Attack::Garbage,
        Attack::Handshakes,
        Attack::Sessions,
        Attack::Subscribe,
        Attack::Malformed,
        Attack::Forged,
    ];

    fn describe(self, sessions: u32) -> String {
        match self {
            Attack::Garbage => "garbage datagrams".into(),
            Attack::Handshakes => "handshake floods".into(),
            Attack::Sessions => format!("{sessions} sessions held idle"),
            Attack::Subscribe => "subscribe floods".into(),
            Attack::Malformed => "malformed and oversized frames".into(),
            Attack::Forged => "replayed and forged inputs".into(),
        }
    }

    fn spawn(self, tasks: &mut tokio::task::JoinSet<Result<()>>, t: &Target, sessions: u32) {
        match self {
            Attack::Garbage => {
                tasks.spawn(garbage(t.clone()));
            }
            Attack::Handshakes => {
                for _ in 0..4 {
                    tasks.spawn(handshakes(t.clone()));
                }
            }
            Attack::Sessions => {
                tasks.spawn(many_sessions(t.clone(), sessions));
            }
            Attack::Subscribe => {
                for i in 0..4 {
                    tasks.spawn(subscribe_flood(t.clone(), 9_000 + i));
                }
            }
            Attack::Malformed => {
                tasks.spawn(malformed(t.clone()));
            }
            Attack::Forged => {
                tasks.spawn(forged(t.clone(), 9_100));
            }
        }
    }
}

/// Runs `attacks` (every one when empty) against `config.server` from `bind` for `seconds`.
pub fn run(
    config: ClientConfig,
    bind: IpAddr,
    seconds: u64,
    sessions: u32,
    attacks: &[Attack],
) -> Result<()> {
    let mut attacks = match attacks {
        [] => Attack::ALL.to_vec(),
        some => some.to_vec(),
    };
    attacks.sort_unstable();
    attacks.dedup();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let target = Target {
        config,
        bind,
        until: Instant::now() + Duration::from_secs(seconds.max(1)),
        tally: Tally::default(),
    };
    let named: Vec<String> = attacks.iter().map(|a| a.describe(sessions)).collect();
    println!(
        "attacking {} from {bind} for {seconds} s: {}",
        target.config.server,
        named.join(", ")
    );
    runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for attack in &attacks {
            attack.spawn(&mut tasks, &target, sessions);
        }
        while let Some(done) = tasks.join_next().await {
            if let Ok(Err(e)) = done {
                eprintln!("an attack stopped: {e:#}");
            }
        }
    });
    println!("what the edge answered:");
    target.tally.print();
    Ok(())
}

/// Random datagrams of random length at the QUIC port, in bursts.
async fn garbage(t: Target) -> Result<()> {
    let socket = tokio::net::UdpSocket::bind(SocketAddr::new(t.bind, 0)).await?;
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    while t.running() {
        for _ in 0..100 {
            let len = 1 + (noise.next() % 1_200) as usize;
            let datagram = noise.bytes(len);
            match socket.send_to(&datagram, t.config.server).await {
                Ok(_) => t.tally.add("garbage datagrams", "sent", 1),
                Err(_) => t.tally.add("garbage datagrams", "send failed", 1),
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// QUIC handshakes completed and dropped at once, and others left open without a word.
async fn handshakes(t: Target) -> Result<()> {
    let endpoint = t.endpoint()?;
    let mut held = Vec::new();
    let mut n = 0u64;
    while t.running() {
        n += 1;
        let connecting = endpoint.connect(t.config.server, "z3r0-node")?;
        match tokio::time::timeout(Duration::from_secs(2), connecting).await {
            Ok(Ok(conn)) if n.is_multiple_of(8) => {
                // Opens nothing, says nothing: the auth timeout must close it.
                held.push(conn);
            }
            Ok(Ok(conn)) => {
                t.tally
                    .add("handshake flood", "handshake completed, dropped", 1);
                conn.close(0u32.into(), b"");
            }
            Ok(Err(e)) => t.tally.add("handshake flood", format!("refused: {e}"), 1),
            Err(_) => t.tally.add("handshake flood", "handshake timed out", 1),
        }
    }
    for conn in held {
        t.tally.add("silent connections", close_label(&conn), 1);
    }
    Ok(())
}

/// `n` sessions from one address, logged in and then silent.
async fn many_sessions(t: Target, n: u32) -> Result<()> {
    let endpoint = t.endpoint()?;
    let mut open = Vec::new();
    for i in 0..n {
        if !t.running() {
            break;
        }
        let key = PrivateKey::from_seed(50_000 + u64::from(i));
        match EdgeClient::connect_with(endpoint.clone(), &t.config, key).await {
            Ok(client) => {
                t.tally.add("sessions from one address", "admitted", 1);
                open.push(client);
            }
            Err(e) => t
                .tally
                .add("sessions from one address", format!("refused: {e}"), 1),
        }
    }
    // Held without a word until the end: the idle timeout must close them first.
    while t.running() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for client in &open {
        t.tally
            .add("idle sessions", close_label(client.connection()), 1);
    }
    Ok(())
}

/// A session that asks for the widest area as fast as it can, reading what comes.
/// The subscribe flood's pause between subscriptions.
const FLOOD_PAUSE: Duration = Duration::from_millis(1);

async fn subscribe_flood(t: Target, seed: u64) -> Result<()> {
    let endpoint = t.endpoint()?;
    while t.running() {
        let Some(mut client) = t.login(&endpoint, seed, "subscribe flood").await else {
            continue;
        };
        let mut centre = 0i32;
        while t.running() {
            centre = centre.wrapping_add(7);
            let at = ChunkPos::new(centre % 64, 0, centre / 64 % 64);
            if client.subscribe(at, z3r0_net::MAX_RADIUS).await.is_err() {
                break;
            }
            t.tally.add("subscribe flood", "subscribe sent", 1);
            // Read whatever arrived, so the session is not closed for being slow.
            while let Ok(Ok(Some(_))) =
                tokio::time::timeout(Duration::from_millis(1), client.try_next_event()).await
            {
            }
            // About a thousand a second, 500 times what a session may: without a pause the
            // loop only filled the stream's buffer (52 million "sent" in 40 s, 670 sessions)
            // and spent a core of the machine the zone shares, which measured the sharing.
            tokio::time::sleep(FLOOD_PAUSE).await;
        }
        t.tally
            .add("subscribe flood", close_label(client.connection()), 1);
    }
    Ok(())
}

/// Connections whose control stream carries a frame that is not a message, or a length past
/// the frame limit.
async fn malformed(t: Target) -> Result<()> {
    let endpoint = t.endpoint()?;
    let mut noise = Noise(0x2545_f491_4f6c_dd1d);
    let mut n = 0u64;
    while t.running() {
        n += 1;
        let Ok(Ok(conn)) = tokio::time::timeout(
            Duration::from_secs(2),
            endpoint.connect(t.config.server, "z3r0-node")?,
        )
        .await
        else {
            t.tally.add("malformed frames", "no connection", 1);
            continue;
        };
        let Ok((mut send, _recv)) = conn.open_bi().await else {
            t.tally.add("malformed frames", close_label(&conn), 1);
            continue;
        };
        let what = if n.is_multiple_of(2) {
            // A length prefix of 64 MiB, then a little of it.
            let mut bytes = (64u32 << 20).to_be_bytes().to_vec();
            bytes.extend(noise.bytes(64));
            let _ = send.write_all(&bytes).await;
            "oversized frame"
        } else {
            let _ = write_frame(&mut send, &noise.bytes(48)).await;
            "garbage frame"
        };
        let _ = tokio::time::timeout(Duration::from_secs(3), conn.closed()).await;
        t.tally.add(
            "malformed frames",
            format!("{what}: {}", close_label(&conn)),
            1,
        );
        // A malformed message after a valid hello, on a fresh connection.
        if n.is_multiple_of(5) {
            let _ = hello_then_garbage(&endpoint, &t, &mut noise).await;
        }
    }
    Ok(())
}

async fn hello_then_garbage(
    endpoint: &quinn::Endpoint,
    t: &Target,
    noise: &mut Noise,
) -> Result<()> {
    let conn = endpoint.connect(t.config.server, "z3r0-node")?.await?;
    let (mut send, _recv) = conn.open_bi().await?;
    let hello = ClientControl::Hello {
        version: z3r0_net::VERSION,
        player: [7; 32],
        snapshot_hz: 0,
        zone: None,
    };
    write_frame(&mut send, &hello.encode()).await?;
    write_frame(&mut send, &noise.bytes(80)).await?;
    let _ = tokio::time::timeout(Duration::from_secs(3), conn.closed()).await;
    t.tally.add(
        "malformed frames",
        format!("hello, then garbage: {}", close_label(&conn)),
        1,
    );
    Ok(())
}

/// A logged-in player who sends each input three times: as signed, again (a replay), and with
/// its tick changed after signing (a forgery).
async fn forged(t: Target, seed: u64) -> Result<()> {
    let endpoint = t.endpoint()?;
    while t.running() {
        let Some(mut client) = t.login(&endpoint, seed, "replayed and forged inputs").await else {
            continue;
        };
        let mut tick = client.start_tick;
        while t.running() {
            tick += 1;
            let frame = Action::Input(InputFrame {
                forward: 0,
                strafe: 0,
                yaw: 0,
                pitch: 0,
                flags: 0,
            });
            let Ok(signed) = client.send_action(tick, frame.encode_to_vec()) else {
                break;
            };
            let mut forged = signed.clone();
            forged.action.tick += 1;
            if client.send_signed(&signed).is_err() || client.send_signed(&forged).is_err() {
                break;
            }
            t.tally.add(
                "replayed and forged inputs",
                "input, replay and forgery sent",
                1,
            );
            // Without a yield this loop never gives quinn's driver the thread: the datagrams
            // pile up in its send buffer, which drops them (27 of 3 million left the client).
            tokio::task::yield_now().await;
            let deadline = Instant::now() + Duration::from_millis(50);
            while let Ok(Ok(Some(event))) = tokio::time::timeout(
                deadline.saturating_duration_since(Instant::now()),
                client.try_next_event(),
            )
            .await
            {
                if let z3r0_net::ClientEvent::Refused { kind, .. } = event {
                    t.tally.add(
                        "replayed and forged inputs",
                        format!("refused: {}", kind.label()),
                        1,
                    );
                }
            }
        }
        // quinn drops the oldest datagram when its send buffer is full: count what left.
        let left = client.connection().stats().frame_tx.datagram;
        t.tally.add(
            "replayed and forged inputs",
            "datagrams that left the client",
            left,
        );
        t.tally.add(
            "replayed and forged inputs",
            close_label(client.connection()),
            1,
        );
    }
    Ok(())
}
