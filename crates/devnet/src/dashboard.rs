//! The devnet's dashboard on loopback: one page (`dashboard.html`), a stream of live stats as
//! server-sent events, a top-down picture of the zone, and block details fetched from a
//! running validator's explorer.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use super::stats::http_get;

const PAGE: &str = include_str!("dashboard.html");
/// Open dashboard connections at most (each page holds one event stream).
const MAX_CONNECTIONS: usize = 64;

#[derive(Debug)]
pub struct Dashboard {
    /// The newest stats, as one JSON object.
    pub stats: watch::Sender<Arc<String>>,
    /// Explorer endpoints of the validators now running.
    pub explorers: Mutex<Vec<SocketAddr>>,
    terrain_png: Vec<u8>,
}

impl Dashboard {
    pub fn new(terrain_png: Vec<u8>) -> Arc<Self> {
        Arc::new(Self {
            stats: watch::channel(Arc::new("{}".to_string())).0,
            explorers: Mutex::new(Vec::new()),
            terrain_png,
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
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    runtime.spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                // Too many open pages: refuse this one rather than queue it.
                drop(socket);
                continue;
            };
            let dashboard = dashboard.clone();
            tokio::spawn(async move {
                if let Err(e) = handle(socket, &dashboard).await {
                    tracing::debug!(error = %e, "dashboard connection");
                }
                drop(permit);
            });
        }
    });
    Ok(bound)
}

async fn respond(
    socket: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(body).await
}

async fn handle(mut socket: TcpStream, dashboard: &Dashboard) -> std::io::Result<()> {
    let mut request = [0u8; 2048];
    let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut request))
        .await
        .unwrap_or(Ok(0))?;
    let head = String::from_utf8_lossy(&request[..n]);
    let Some(target) = head
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("GET "))
        .and_then(|l| l.split(' ').next())
    else {
        return respond(&mut socket, "400 Bad Request", "text/plain", b"GET only").await;
    };
    let path = target.split('?').next().unwrap_or(target);
    match path {
        "/" | "/index.html" => {
            respond(
                &mut socket,
                "200 OK",
                "text/html; charset=utf-8",
                PAGE.as_bytes(),
            )
            .await
        }
        "/terrain.png" => respond(&mut socket, "200 OK", "image/png", &dashboard.terrain_png).await,
        "/events" => events(socket, dashboard).await,
        "/api/stats" => {
            let stats = dashboard.stats.borrow().clone();
            respond(&mut socket, "200 OK", "application/json", stats.as_bytes()).await
        }
        _ if path.starts_with("/api/block/") => {
            let answer = match dashboard.explorer() {
                Some(node) => http_get(node, path).await,
                None => None,
            };
            match answer {
                Some((200, body)) => {
                    respond(&mut socket, "200 OK", "application/json", body.as_bytes()).await
                }
                Some((_, body)) => {
                    respond(&mut socket, "404 Not Found", "text/plain", body.as_bytes()).await
                }
                None => {
                    let body = b"no validator is answering right now";
                    respond(&mut socket, "503 Service Unavailable", "text/plain", body).await
                }
            }
        }
        _ => respond(&mut socket, "404 Not Found", "text/plain", b"no such page").await,
    }
}

/// Server-sent events: the newest stats each time they change, until the page goes away.
async fn events(mut socket: TcpStream, dashboard: &Dashboard) -> std::io::Result<()> {
    socket
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: keep-alive\r\n\r\nretry: 1000\n\n")
        .await?;
    let mut stats = dashboard.stats.subscribe();
    loop {
        let data = stats.borrow_and_update().clone();
        socket
            .write_all(format!("event: stats\ndata: {data}\n\n").as_bytes())
            .await?;
        if stats.changed().await.is_err() {
            return Ok(());
        }
    }
}
