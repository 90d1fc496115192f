//! The node's HTTP endpoint, served by axum, each request on its own task and cut off after
//! [`REQUEST_TIMEOUT`]:
//! - the runtime's metrics registry (ours included) and the player edge's counters as
//!   Prometheus text at `/metrics` (and `/`);
//! - `/health`: 200 while the node finalizes blocks, 503 otherwise;
//! - `/api/status`: height, finality, the newest certificate's signers, players, version,
//!   genesis, and the content manifest in force and scheduled;
//! - the explorer as JSON under `/api/`.
//!
//! A validator seated on several zones of a world serves one endpoint for them all: `/health`
//! is 200 only while every zone finalizes, `/api/zones` lists each zone's status, and
//! `/api/zone/{number}/…` is that zone's status and explorer (the routes above are its
//! first zone's).

use crate::explorer::{Explorer, KEPT_BLOCKS};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use z3r0_net::EdgeStats;

/// Renders the metrics registry as Prometheus text.
pub type MetricsText = Arc<dyn Fn() -> String + Send + Sync>;

/// A request that takes longer is answered 408 and dropped.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The node's liveness as `/health` and `/api/status` report it, kept current as blocks
/// finalize.
#[derive(Debug)]
pub struct NodeStatus {
    genesis: String,
    tick_ms: u64,
    committee: usize,
    height: AtomicU64,
    /// Wall-clock milliseconds when the newest block was executed here (0: none yet).
    finalized_at_ms: AtomicU64,
    /// That block's finality: from the start of its tick to its execution here.
    finality_ms: AtomicU64,
    /// Validators whose signatures finalized the newest certified block.
    signers: AtomicU64,
    edge: OnceLock<Arc<EdgeStats>>,
    /// The content manifest in force and the one scheduled, after the newest block.
    content: Mutex<(Hash, Option<(Hash, u64)>)>,
}

type Hash = [u8; 32];

/// The zone's content as `/api/status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContentStatus {
    /// The manifest hash in force (hex).
    pub active: String,
    /// A published manifest waiting for its tick.
    pub scheduled: Option<ScheduledContent>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScheduledContent {
    pub manifest: String,
    pub at_tick: u64,
}

/// `/api/status`'s body.
#[derive(Debug, serde::Serialize)]
pub struct StatusReport {
    pub finalizing: bool,
    pub height: u64,
    pub finality_ms: u64,
    /// Milliseconds since the newest block was executed here (`None`: none yet).
    pub since_last_block_ms: Option<u64>,
    pub committee: usize,
    pub last_certificate_signers: u64,
    pub players: u64,
    pub version: &'static str,
    pub genesis: String,
    pub content: ContentStatus,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl NodeStatus {
    /// `genesis` is the chain id in hex.
    pub fn new(genesis: String, tick_ms: u64, committee: usize) -> Self {
        Self {
            genesis,
            tick_ms,
            committee,
            height: AtomicU64::new(0),
            finalized_at_ms: AtomicU64::new(0),
            finality_ms: AtomicU64::new(0),
            signers: AtomicU64::new(0),
            edge: OnceLock::new(),
            content: Mutex::new((z3r0_sim::content::DEFAULT_MANIFEST, None)),
        }
    }

    /// The player edge, once it serves: its sessions are the players.
    pub fn set_edge(&self, stats: Arc<EdgeStats>) {
        let _ = self.edge.set(stats);
    }

    /// A finalized block of height `height` and tick `tick` was executed here now, certified
    /// by `signers` validators (`None`: no certificate came with it).
    pub fn finalized(&self, height: u64, tick: u64, genesis_ms: u64, signers: Option<usize>) {
        let now = now_ms();
        let started = genesis_ms.saturating_add(tick.saturating_mul(self.tick_ms));
        self.height.store(height, Ordering::Relaxed);
        self.finalized_at_ms.store(now, Ordering::Relaxed);
        self.finality_ms
            .store(now.saturating_sub(started), Ordering::Relaxed);
        if let Some(n) = signers {
            self.signers.store(n as u64, Ordering::Relaxed);
        }
    }

    /// The content after the newest block: the manifest in force and the one scheduled.
    pub fn content(&self, manifests: (Hash, Option<(Hash, u64)>)) {
        if let Ok(mut content) = self.content.lock() {
            *content = manifests;
        }
    }

    fn content_report(&self) -> ContentStatus {
        let (active, scheduled) = self
            .content
            .lock()
            .map(|c| *c)
            .unwrap_or((z3r0_sim::content::DEFAULT_MANIFEST, None));
        ContentStatus {
            active: z3r0_genesis::to_hex(&active),
            scheduled: scheduled.map(|(m, at)| ScheduledContent {
                manifest: z3r0_genesis::to_hex(&m),
                at_tick: at,
            }),
        }
    }

    /// How long without a finalized block before the node counts as not finalizing: ten
    /// ticks, and never under two seconds (a restart replays, an unpaced chain has no tick).
    fn stale_after_ms(&self) -> u64 {
        self.tick_ms.saturating_mul(10).max(2_000)
    }

    pub fn report(&self) -> StatusReport {
        let at = self.finalized_at_ms.load(Ordering::Relaxed);
        let since = (at > 0).then(|| now_ms().saturating_sub(at));
        StatusReport {
            finalizing: since.is_some_and(|ms| ms <= self.stale_after_ms()),
            height: self.height.load(Ordering::Relaxed),
            finality_ms: self.finality_ms.load(Ordering::Relaxed),
            since_last_block_ms: since,
            committee: self.committee,
            last_certificate_signers: self.signers.load(Ordering::Relaxed),
            players: self
                .edge
                .get()
                .map_or(0, |e| e.sessions.load(Ordering::Relaxed) as u64),
            version: env!("CARGO_PKG_VERSION"),
            genesis: self.genesis.clone(),
            content: self.content_report(),
        }
    }

    /// The edge's counters as Prometheus text (empty before the edge serves).
    fn edge_metrics(&self) -> String {
        self.edge.get().map(|e| e.prometheus()).unwrap_or_default()
    }
}

/// One zone's pages: its explorer and its status.
#[derive(Clone, Debug)]
pub struct ZonePages {
    pub explorer: Arc<Explorer>,
    pub status: Arc<NodeStatus>,
}

#[derive(Clone)]
struct Endpoint {
    metrics: MetricsText,
    /// By zone number; the first serves the routes without a zone.
    zones: Arc<std::collections::BTreeMap<u32, ZonePages>>,
}

impl Endpoint {
    fn first(&self) -> Option<&ZonePages> {
        self.zones.values().next()
    }

    /// Zone `number`'s pages, or the 404 that says this node does not serve it.
    fn zone(&self, number: u32) -> Result<&ZonePages, Box<Response>> {
        self.zones.get(&number).ok_or_else(|| {
            Box::new(
                (
                    StatusCode::NOT_FOUND,
                    format!("this node serves no zone {number}"),
                )
                    .into_response(),
            )
        })
    }
}

/// `/api/blocks`' query: blocks after height `after` (default 0), at most `limit` (default 20).
#[derive(Debug, serde::Deserialize)]
struct Recent {
    after: Option<u64>,
    limit: Option<usize>,
}

/// The endpoint's routes for a validator of one zone.
pub fn router(metrics: MetricsText, explorer: Arc<Explorer>, status: Arc<NodeStatus>) -> Router {
    world_router(metrics, [(0, ZonePages { explorer, status })].into())
}

/// The endpoint's routes for a validator seated on `zones` (by zone number; at least one).
pub fn world_router(
    metrics: MetricsText,
    zones: std::collections::BTreeMap<u32, ZonePages>,
) -> Router {
    Router::new()
        .route("/", get(metrics_text))
        .route("/metrics", get(metrics_text))
        .route("/health", get(health))
        .route("/api/status", get(status_json))
        .route("/api/map", get(map))
        .route("/api/blocks", get(blocks))
        .route("/api/block/{height}", get(block))
        .route("/api/zones", get(zones_json))
        .route("/api/zone/{zone}/status", get(zone_status))
        .route("/api/zone/{zone}/map", get(zone_map))
        .route("/api/zone/{zone}/blocks", get(zone_blocks))
        .route("/api/zone/{zone}/block/{height}", get(zone_block))
        .fallback(not_found)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(Endpoint {
            metrics,
            zones: Arc::new(zones),
        })
}

async fn metrics_text(State(e): State<Endpoint>) -> Response {
    let mut text = (e.metrics)();
    // The registry's text ends with OpenMetrics' end marker: the edge's counters go before it.
    let end = text.strip_suffix("# EOF\n").map(str::len);
    // One edge serves every zone: its counters are given to the first zone's status.
    let edge = e
        .first()
        .map(|z| z.status.edge_metrics())
        .unwrap_or_default();
    match end {
        Some(len) => {
            text.truncate(len);
            text.push_str(&edge);
            text.push_str("# EOF\n");
        }
        None => text.push_str(&edge),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn health(State(e): State<Endpoint>) -> Response {
    let mut ok = Vec::new();
    let mut failing = Vec::new();
    let several = e.zones.len() > 1;
    for (number, zone) in e.zones.iter() {
        let report = zone.status.report();
        let name = if several {
            format!("zone {number:#x}: ")
        } else {
            String::new()
        };
        match (report.finalizing, report.since_last_block_ms) {
            (true, _) => ok.push(format!("{name}finalizing: height {}\n", report.height)),
            (false, Some(ms)) => failing.push(format!(
                "{name}not finalizing: no block for {ms} ms (height {})\n",
                report.height
            )),
            (false, None) => {
                failing.push(format!("{name}not finalizing: no block executed yet\n"));
            }
        }
    }
    let code = if failing.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, failing.into_iter().chain(ok).collect::<String>()).into_response()
}

async fn status_json(State(e): State<Endpoint>) -> Response {
    match e.first() {
        Some(zone) => axum::Json(zone.status.report()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn map(State(e): State<Endpoint>) -> Response {
    match e.first() {
        Some(zone) => axum::Json(zone.explorer.map()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn blocks(State(e): State<Endpoint>, q: Query<Recent>) -> Response {
    match e.first() {
        Some(zone) => recent_blocks(zone, &q),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn block(State(e): State<Endpoint>, Path(height): Path<u64>) -> Response {
    match e.first() {
        Some(zone) => one_block(zone, height),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/api/zones`: each zone's status, by zone number.
async fn zones_json(State(e): State<Endpoint>) -> Response {
    let zones: std::collections::BTreeMap<u32, StatusReport> = e
        .zones
        .iter()
        .map(|(n, z)| (*n, z.status.report()))
        .collect();
    axum::Json(zones).into_response()
}

async fn zone_status(State(e): State<Endpoint>, Path(zone): Path<u32>) -> Response {
    match e.zone(zone) {
        Ok(z) => axum::Json(z.status.report()).into_response(),
        Err(r) => *r,
    }
}

async fn zone_map(State(e): State<Endpoint>, Path(zone): Path<u32>) -> Response {
    match e.zone(zone) {
        Ok(z) => axum::Json(z.explorer.map()).into_response(),
        Err(r) => *r,
    }
}

async fn zone_blocks(
    State(e): State<Endpoint>,
    Path(zone): Path<u32>,
    q: Query<Recent>,
) -> Response {
    match e.zone(zone) {
        Ok(z) => recent_blocks(z, &q),
        Err(r) => *r,
    }
}

async fn zone_block(State(e): State<Endpoint>, Path((zone, height)): Path<(u32, u64)>) -> Response {
    match e.zone(zone) {
        Ok(z) => one_block(z, height),
        Err(r) => *r,
    }
}

fn recent_blocks(zone: &ZonePages, q: &Recent) -> Response {
    let recent = zone
        .explorer
        .recent(q.after.unwrap_or(0), q.limit.unwrap_or(20));
    axum::Json(recent).into_response()
}

fn one_block(zone: &ZonePages, height: u64) -> Response {
    match zone.explorer.block(height) {
        Some(block) => axum::Json(block).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            format!("block {height} is not among the last {KEPT_BLOCKS} finalized here"),
        )
            .into_response(),
    }
}

async fn not_found(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("no such page: {}", uri.path()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    async fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[test]
    fn metrics_health_status_explorer_and_refusals() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let metrics: MetricsText = Arc::new(|| "zone_height 7\n# EOF\n".to_string());
            let status = Arc::new(NodeStatus::new("ab".into(), 50, 4));
            let app = router(metrics, Arc::new(Explorer::default()), status.clone());
            tokio::spawn(async move { axum::serve(listener, app).await });
            // A client that never finishes its request holds no one else up.
            let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
            stalled
                .write_all(b"GET /metrics HTTP/1.1\r\n")
                .await
                .unwrap();

            let health = get(addr, "/health").await;
            assert!(
                health.starts_with("HTTP/1.1 503") && health.contains("no block executed yet"),
                "{health}"
            );
            let edge = Arc::new(EdgeStats::default());
            edge.sessions.store(3, Ordering::Relaxed);
            edge.subscriptions.store(9, Ordering::Relaxed);
            status.set_edge(edge);
            status.finalized(12, 40, now_ms().saturating_sub(40 * 50 + 30), Some(3));
            let health = get(addr, "/health").await;
            assert!(
                health.starts_with("HTTP/1.1 200") && health.contains("height 12"),
                "{health}"
            );
            let s = get(addr, "/api/status").await;
            let body: serde_json::Value =
                serde_json::from_str(s.split("\r\n\r\n").nth(1).unwrap()).unwrap();
            assert_eq!(body["finalizing"], true, "{s}");
            assert_eq!(body["height"], 12, "{s}");
            assert_eq!(body["players"], 3, "{s}");
            assert_eq!(body["committee"], 4, "{s}");
            assert_eq!(body["last_certificate_signers"], 3, "{s}");
            assert_eq!(body["genesis"], "ab", "{s}");
            assert!(body["finality_ms"].as_u64().unwrap() >= 30, "{s}");

            let m = get(addr, "/metrics").await;
            assert!(
                m.starts_with("HTTP/1.1 200") && m.contains("zone_height 7"),
                "{m}"
            );
            assert!(m.contains("text/plain; version=0.0.4"), "{m}");
            assert!(m.contains("\nedge_sessions 3\n"), "{m}");
            assert!(m.contains("\nedge_subscriptions_total 9\n"), "{m}");
            assert!(
                m.contains("edge_refusals_total{reason=\"bad_signature\"} 0"),
                "{m}"
            );
            assert!(m.ends_with("# EOF\n"), "the end marker stays last: {m}");
            let map = get(addr, "/api/map").await;
            assert!(
                map.starts_with("HTTP/1.1 200") && map.contains("application/json"),
                "{map}"
            );
            let blocks = get(addr, "/api/blocks?after=0&limit=5").await;
            assert!(
                blocks.starts_with("HTTP/1.1 200") && blocks.ends_with("[]"),
                "{blocks}"
            );
            let missing = get(addr, "/api/block/99").await;
            assert!(
                missing.starts_with("HTTP/1.1 404") && missing.contains("block 99"),
                "{missing}"
            );
            let bad = get(addr, "/api/blocks?limit=many").await;
            assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
            let nowhere = get(addr, "/nowhere").await;
            assert!(
                nowhere.starts_with("HTTP/1.1 404") && nowhere.contains("/nowhere"),
                "{nowhere}"
            );
        });
    }

    #[test]
    fn a_world_validator_reports_each_zone_and_is_healthy_only_when_all_finalize() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let metrics: MetricsText = Arc::new(|| "# EOF\n".to_string());
            let pages = |genesis: &str| ZonePages {
                explorer: Arc::new(Explorer::default()),
                status: Arc::new(NodeStatus::new(genesis.into(), 50, 3)),
            };
            let (a, b) = (pages("aa"), pages("bb"));
            let zones = [(0, a.clone()), (65_536, b.clone())].into();
            let app = world_router(metrics, zones);
            tokio::spawn(async move { axum::serve(listener, app).await });

            a.status
                .finalized(5, 9, now_ms().saturating_sub(9 * 50), Some(3));
            let health = get(addr, "/health").await;
            assert!(
                health.starts_with("HTTP/1.1 503")
                    && health.contains("zone 0x10000: not finalizing")
                    && health.contains("zone 0x0: finalizing: height 5"),
                "{health}"
            );
            b.status
                .finalized(7, 9, now_ms().saturating_sub(9 * 50), Some(2));
            let health = get(addr, "/health").await;
            assert!(health.starts_with("HTTP/1.1 200"), "{health}");

            let zones = get(addr, "/api/zones").await;
            let body: serde_json::Value =
                serde_json::from_str(zones.split("\r\n\r\n").nth(1).unwrap()).unwrap();
            assert_eq!(body["0"]["genesis"], "aa", "{zones}");
            assert_eq!(body["65536"]["height"], 7, "{zones}");
            let one = get(addr, "/api/zone/65536/status").await;
            assert!(one.contains("\"genesis\":\"bb\""), "{one}");
            // The routes without a zone are the first zone's.
            let first = get(addr, "/api/status").await;
            assert!(first.contains("\"genesis\":\"aa\""), "{first}");
            let missing = get(addr, "/api/zone/3/blocks").await;
            assert!(
                missing.starts_with("HTTP/1.1 404") && missing.contains("no zone 3"),
                "{missing}"
            );
            let blocks = get(addr, "/api/zone/0/blocks?limit=2").await;
            assert!(
                blocks.starts_with("HTTP/1.1 200") && blocks.ends_with("[]"),
                "{blocks}"
            );
        });
    }
}
