//! The node's HTTP endpoint, served by axum: the runtime's metrics registry (ours included) as
//! Prometheus text at `/metrics` (and `/`), and the explorer as JSON under `/api/`.

use crate::explorer::{Explorer, KEPT_BLOCKS};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;

/// Renders the metrics registry as Prometheus text.
pub type MetricsText = Arc<dyn Fn() -> String + Send + Sync>;

#[derive(Clone)]
struct Endpoint {
    metrics: MetricsText,
    explorer: Arc<Explorer>,
}

/// `/api/blocks`' query: blocks after height `after` (default 0), at most `limit` (default 20).
#[derive(Debug, serde::Deserialize)]
struct Recent {
    after: Option<u64>,
    limit: Option<usize>,
}

/// The endpoint's routes.
pub fn router(metrics: MetricsText, explorer: Arc<Explorer>) -> Router {
    Router::new()
        .route("/", get(metrics_text))
        .route("/metrics", get(metrics_text))
        .route("/api/map", get(map))
        .route("/api/blocks", get(blocks))
        .route("/api/block/{height}", get(block))
        .fallback(not_found)
        .with_state(Endpoint { metrics, explorer })
}

async fn metrics_text(State(e): State<Endpoint>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        (e.metrics)(),
    )
        .into_response()
}

async fn map(State(e): State<Endpoint>) -> Response {
    axum::Json(e.explorer.map()).into_response()
}

async fn blocks(State(e): State<Endpoint>, Query(q): Query<Recent>) -> Response {
    let recent = e
        .explorer
        .recent(q.after.unwrap_or(0), q.limit.unwrap_or(20));
    axum::Json(recent).into_response()
}

async fn block(State(e): State<Endpoint>, Path(height): Path<u64>) -> Response {
    match e.explorer.block(height) {
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
    fn metrics_explorer_and_refusals() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let metrics: MetricsText = Arc::new(|| "zone_height 7\n".to_string());
            let app = router(metrics, Arc::new(Explorer::default()));
            tokio::spawn(async move { axum::serve(listener, app).await });
            let m = get(addr, "/metrics").await;
            assert!(
                m.starts_with("HTTP/1.1 200") && m.contains("zone_height 7"),
                "{m}"
            );
            assert!(m.contains("text/plain; version=0.0.4"), "{m}");
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
}
