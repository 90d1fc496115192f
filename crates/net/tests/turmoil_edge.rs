//! The edge under simulated latency, loss and a partition: quinn over turmoil (a seeded,
//! single-threaded network simulation) through a small `AsyncUdpSocket` adapter that also drops
//! a seeded 5 % of datagrams. Link latency 20 ms each way (40 ms RTT).
//!
//! Asserted: at least 90 % of the ticks published while the link is up reach the client and are
//! applied within 100 ms; snapshots are applied in strictly increasing tick order (stale ones
//! dropped); the session survives a 1 s partition on the same connection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::io::{self, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use common::LocalZone;
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use quinn::udp::{RecvMeta, Transmit};
use quinn::{AsyncUdpSocket, UdpPoller};
use tokio::sync::mpsc;
use tokio::time::Instant;
use z3r0_net::{ClientConfig, ClientEvent, EdgeClient, quic_config};
use z3r0_net::{EdgeConfig, serve_on, server_config};
use z3r0_sim::{Action, InputFrame};

const PORT: u16 = 4433;

/// quinn's socket interface over a turmoil UDP socket, dropping `loss` of what it sends.
#[derive(Debug)]
struct SimUdp {
    socket: Arc<turmoil::net::UdpSocket>,
    incoming: Mutex<mpsc::Receiver<(Vec<u8>, SocketAddr)>>,
    local: SocketAddr,
    loss: f64,
    rng: Mutex<u64>,
}

impl SimUdp {
    async fn bind(port: u16, loss: f64, seed: u64) -> Arc<Self> {
        let socket = Arc::new(
            turmoil::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port))
                .await
                .unwrap(),
        );
        let local = socket.local_addr().unwrap();
        let (tx, rx) = mpsc::channel(1024);
        let reader = socket.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            while let Ok((n, from)) = reader.recv_from(&mut buf).await {
                if tx.send((buf[..n].to_vec(), from)).await.is_err() {
                    return;
                }
            }
        });
        Arc::new(Self {
            socket,
            incoming: Mutex::new(rx),
            local,
            loss,
            rng: Mutex::new(seed | 1),
        })
    }

    fn dropped(&self) -> bool {
        let mut x = self.rng.lock().unwrap();
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        (*x % 10_000) as f64 / 10_000.0 < self.loss
    }
}

#[derive(Debug)]
struct AlwaysWritable;
impl UdpPoller for AlwaysWritable {
    fn poll_writable(self: Pin<&mut Self>, _: &mut Context) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncUdpSocket for SimUdp {
    fn create_io_poller(self: Arc<Self>) -> Pin<Box<dyn UdpPoller>> {
        Box::pin(AlwaysWritable)
    }

    fn try_send(&self, transmit: &Transmit) -> io::Result<()> {
        if self.dropped() {
            return Ok(());
        }
        match self
            .socket
            .try_send_to(transmit.contents, transmit.destination)
        {
            Ok(_) => Ok(()),
            // A partitioned or full link loses the datagram, as a real network would.
            Err(_) => Ok(()),
        }
    }

    fn poll_recv(
        &self,
        cx: &mut Context,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        let mut rx = self.incoming.lock().unwrap();
        match rx.poll_recv(cx) {
            Poll::Ready(Some((bytes, from))) => {
                let n = bytes.len().min(bufs[0].len());
                bufs[0][..n].copy_from_slice(&bytes[..n]);
                meta[0] = RecvMeta {
                    addr: from,
                    len: n,
                    stride: n,
                    ecn: None,
                    dst_ip: None,
                };
                Poll::Ready(Ok(1))
            }
            Poll::Ready(None) => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    fn may_fragment(&self) -> bool {
        false
    }
}

fn endpoint(socket: Arc<SimUdp>, server: Option<quinn::ServerConfig>) -> quinn::Endpoint {
    quinn::Endpoint::new_with_abstract_socket(
        quinn::EndpointConfig::default(),
        server,
        socket,
        Arc::new(quinn::TokioRuntime),
    )
    .unwrap()
}

#[derive(Debug, Default)]
struct Outcome {
    /// tick → when the client applied it.
    applied: BTreeMap<u64, Instant>,
    out_of_order: usize,
    stale_dropped: u64,
    partition: Option<(Instant, Instant)>,
    same_connection: bool,
}

fn run(seed: u64) -> (Outcome, BTreeMap<u64, Instant>) {
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(60))
        .min_message_latency(Duration::from_millis(20))
        .max_message_latency(Duration::from_millis(20))
        .rng_seed(seed)
        .build();
    let zone_key = PrivateKey::from_seed(1);
    let validator = zone_key.public_key();
    let published: Arc<Mutex<BTreeMap<u64, Instant>>> = Arc::default();
    let outcome: Arc<Mutex<Outcome>> = Arc::default();

    let published_in = published.clone();
    sim.host("node", move || {
        let published = published_in.clone();
        async move {
            let zone = LocalZone::new(1);
            let socket = SimUdp::bind(PORT, 0.05, seed ^ 0xa5a5).await;
            let listen = socket.local_addr().unwrap();
            let config = EdgeConfig::new(listen);
            let server = server_config(&zone.key, &config).unwrap();
            let _edge = serve_on(
                endpoint(socket, Some(server)),
                &zone.key,
                config,
                zone.clone(),
                zone.feed.clone(),
            )
            .unwrap();
            let _ticker = zone.run();
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let p = zone.published.lock().unwrap().clone();
                *published.lock().unwrap() = p;
            }
        }
    });

    let out = outcome.clone();
    sim.client("player", async move {
        let server = SocketAddr::new(turmoil::lookup("node"), PORT);
        let config = ClientConfig::new(server, common::CHAIN, vec![validator]);
        let socket = SimUdp::bind(0, 0.05, seed ^ 0x5a5a).await;
        let mut ep = endpoint(socket, None);
        ep.set_default_client_config(quic_config(&config).unwrap());
        let mut client = EdgeClient::connect_with(ep, &config, PrivateKey::from_seed(77))
            .await
            .unwrap();
        let id = client.connection().stable_id();
        client
            .send_action(client.start_tick, Action::Join.encode_to_vec())
            .unwrap();
        let start = Instant::now();
        let mut last = 0;
        let mut partitioned = None;
        while start.elapsed() < Duration::from_secs(20) {
            if partitioned.is_none() && start.elapsed() >= Duration::from_secs(8) {
                turmoil::partition("node", "player");
                partitioned = Some(Instant::now());
            }
            if let Some(t) = partitioned
                && t.elapsed() >= Duration::from_secs(1)
                && out.lock().unwrap().partition.is_none()
            {
                turmoil::repair("node", "player");
                out.lock().unwrap().partition = Some((t, Instant::now()));
            }
            let event =
                match tokio::time::timeout(Duration::from_millis(100), client.next_event()).await {
                    Err(_) => continue,
                    Ok(e) => e.expect("the session survives"),
                };
            if let ClientEvent::Snapshot(s) = event {
                let mut o = out.lock().unwrap();
                if s.tick <= last {
                    o.out_of_order += 1;
                }
                last = s.tick;
                o.applied.insert(s.tick, Instant::now());
                drop(o);
                let frame = Action::Input(InputFrame {
                    forward: 127,
                    strafe: 0,
                    yaw: 9000,
                    pitch: 0,
                    flags: 0,
                });
                let _ = client.send_action(s.tick + 1, frame.encode_to_vec());
            }
        }
        let mut o = out.lock().unwrap();
        o.stale_dropped = client.stale_snapshots();
        o.same_connection = client.connection().stable_id() == id;
        Ok(())
    });
    sim.run().unwrap();
    let outcome = std::mem::take(&mut *outcome.lock().unwrap());
    let published = published.lock().unwrap().clone();
    (outcome, published)
}

#[test]
fn snapshots_arrive_in_time_under_latency_loss_and_a_partition() {
    let (o, published) = run(7);
    let (cut, healed) = o.partition.expect("the partition happened");
    assert_eq!(o.out_of_order, 0, "a stale snapshot was applied");
    assert!(
        o.same_connection,
        "the session survived on the same connection"
    );
    // Ticks published while the link was up (after the first second, and from one second
    // after the partition healed to the end of the client's run).
    let first = *o.applied.keys().next().expect("snapshots arrived");
    let end = *o.applied.values().max().unwrap();
    let up: Vec<(u64, Instant)> = published
        .iter()
        .filter(|&(&t, &at)| {
            t > first + 20
                && at + Duration::from_millis(200) < end
                && (at < cut || at > healed + Duration::from_secs(1))
        })
        .map(|(&t, &at)| (t, at))
        .collect();
    assert!(up.len() > 200, "{} ticks measured", up.len());
    let on_time = up
        .iter()
        .filter(|(t, at)| {
            o.applied
                .get(t)
                .is_some_and(|&got| got.duration_since(*at) <= Duration::from_millis(100))
        })
        .count();
    let share = on_time as f64 / up.len() as f64;
    eprintln!(
        "{on_time} of {} ticks applied within 100 ms ({:.1} %), {} stale dropped",
        up.len(),
        share * 100.0,
        o.stale_dropped
    );
    assert!(share >= 0.90, "only {:.1} % on time", share * 100.0);
    // After the partition healed, snapshots flowed again.
    assert!(
        o.applied
            .values()
            .any(|&t| t > healed + Duration::from_secs(1))
    );
}
