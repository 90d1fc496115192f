//! The devnet's dashboard on loopback, served by axum: one page (`dashboard.html`), a stream of
//! live stats as server-sent events, a top-down picture of the zone, and block details fetched
//! from a running validator's explorer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::stats::http_get;

const PAGE: &str = include_str!("dashboard.html");
/// A world's page: every zone on the map, with its committee, its figures and its players.
const WORLD_PAGE: &str = include_str!("world.html");
/// Open event streams at most (each page holds one); more are refused, not queued.
const MAX_STREAMS: usize = 64;

#[derive(Debug)]
pub struct Dashboard {
    /// The newest stats, as one JSON object.
    pub stats: watch::Sender<Arc<String>>,
    /// Explorer endpoints of the validators now running.
    pub explorers: Mutex<Vec<SocketAddr>>,
    terrain_png: Vec<u8>,
    streams: Arc<Semaphore>,
    page: &'static str,
}

impl Dashboard {
    pub fn new(terrain_png: Vec<u8>) -> Arc<Self> {
        Arc::new(Self {
            stats: watch::channel(Arc::new("{}".to_string())).0,
            explorers: Mutex::new(Vec::new()),
            terrain_png,
            streams: Arc::new(Semaphore::new(MAX_STREAMS)),
            page: PAGE,
        })
    }

    /// A world devnet's dashboard: the map of every zone ([`WORLD_PAGE`]).
    pub fn new_world(terrain_png: Vec<u8>) -> Arc<Self> {
        Arc::new(Self {
            stats: watch::channel(Arc::new("{}".to_string())).0,
            explorers: Mutex::new(Vec::new()),
            terrain_png,
            streams: Arc::new(Semaphore::new(MAX_STREAMS)),
            page: WORLD_PAGE,
        })
    }

    pub fn explorer(&self) -> Option<SocketAddr> {
        self.explorers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .first()
            .copied()
    }
}

/// The dashboard's routes.
pub fn router(dashboard: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/index.html", get(page))
        .route("/terrain.png", get(terrain))
        .route("/events", get(events))
        .route("/api/stats", get(stats))
        .route("/api/block/{height}", get(block))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such page") })
        .with_state(dashboard)
}

/// Binds `addr` and serves the dashboard on `runtime` until the process ends.
pub fn serve(
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    dashboard: Arc<Dashboard>,
) -> Result<SocketAddr> {
    let listener = runtime.block_on(TcpListener::bind(addr)).with_context(|| {
        format!("cannot serve the dashboard on {addr} (choose another with --dashboard)")
    })?;
    let bound = listener.local_addr()?;
    runtime.spawn(async move {
        if let Err(e) = axum::serve(listener, router(dashboard)).await {
            tracing::warn!(error = %e, "the dashboard stopped");
        }
    });
    Ok(bound)
}

/// A response the browser must not cache (every figure is live).
fn fresh(content_type: &'static str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn page(State(d): State<Arc<Dashboard>>) -> Response {
    fresh("text/html; charset=utf-8", d.page)
}

async fn terrain(State(d): State<Arc<Dashboard>>) -> Response {
    fresh("image/png", d.terrain_png.clone())
}

async fn stats(State(d): State<Arc<Dashboard>>) -> Response {
    let stats = d.stats.borrow().clone();
    fresh("application/json", stats.as_str().to_string())
}

/// A block's details from a running validator's explorer.
async fn block(State(d): State<Arc<Dashboard>>, Path(height): Path<u64>) -> Response {
    let answer = match d.explorer() {
        Some(node) => http_get(node, &format!("/api/block/{height}")).await,
        None => None,
    };
    match answer {
        Some((200, body)) => fresh("application/json", body),
        Some((_, body)) => (StatusCode::NOT_FOUND, body).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "no validator is answering right now",
        )
            .into_response(),
    }
}

/// Server-sent events: the newest stats each time they change, until the page goes away.
async fn events(State(d): State<Arc<Dashboard>>) -> Response {
    let Ok(permit) = d.streams.clone().try_acquire_owned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "too many open dashboards").into_response();
    };
    let stream = futures::stream::unfold(
        (d.stats.subscribe(), permit, true),
        |(mut stats, permit, first): (_, OwnedSemaphorePermit, bool)| async move {
            if !first && stats.changed().await.is_err() {
                return None;
            }
            let data = stats.borrow_and_update().clone();
            let mut event = Event::default().event("stats").data(data.as_str());
            if first {
                // The page reconnects a second after a lost stream.
                event = event.retry(Duration::from_secs(1));
            }
            Some((Ok::<_, Infallible>(event), (stats, permit, false)))
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
