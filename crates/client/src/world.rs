//! Playing in a world of zones: how to reach each zone's edges and where its borders run
//! ([`WorldRoutes`]), and following the body into the zone it walked into. Near a border a game
//! already holds a session with the neighbour (see [`Game::watched_zones`]) and moves to it
//! by itself; [`cross`] is for a body that went where no session was open.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use commonware_cryptography::ed25519::PrivateKey;
use z3r0_genesis::{WorldGenesis, ZoneId};
use z3r0_net::{ClientConfig, EdgeClient, NetError};

use crate::game::{Game, ZoneOf, connect_edge};

/// How long a session opened in the zone a body walked into waits for it before it joins
/// anew (the handoff takes about two ticks and a finality).
pub const ARRIVAL_WAIT: Duration = Duration::from_secs(5);

/// A world zone's genesis could not be derived.
#[derive(Debug, thiserror::Error)]
#[error("zone {zone}: {reason}")]
pub struct RouteError {
    pub zone: u32,
    pub reason: String,
}

/// How a player reaches each zone of a world (its chain, committee keys and edges) and which
/// zone owns each chunk column.
#[derive(Clone)]
pub struct WorldRoutes {
    /// Per zone number, one config per committee edge: the `k`-th tries edge `k` first and the
    /// others after it, so players spread over the edges.
    zones: Arc<BTreeMap<u32, Vec<ClientConfig>>>,
    borders: ZoneOf,
}

impl std::fmt::Debug for WorldRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorldRoutes")
            .field("zones", &self.zones.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl WorldRoutes {
    pub fn new(world: &WorldGenesis) -> Result<Self, RouteError> {
        let mut zones = BTreeMap::new();
        for zone in world.zone_ids() {
            let error = |reason: String| RouteError {
                zone: zone.number(),
                reason,
            };
            let genesis = world.zone_genesis(zone).map_err(|e| error(e.to_string()))?;
            let keys = genesis.public_keys().map_err(|e| error(e.to_string()))?;
            let edges: Vec<std::net::SocketAddr> = genesis
                .validators
                .iter()
                .filter_map(|v| v.players)
                .collect();
            if edges.is_empty() {
                return Err(error("no member serves players".into()));
            }
            let configs = (0..edges.len())
                .map(|first| {
                    let mut c = ClientConfig::new(edges[first], genesis.chain_id(), keys.clone());
                    c.zone = Some(zone.number());
                    c.fallbacks = (1..edges.len())
                        .map(|k| edges[(first + k) % edges.len()])
                        .collect();
                    c
                })
                .collect();
            zones.insert(zone.number(), configs);
        }
        let world = world.clone();
        let borders: ZoneOf = Arc::new(move |x, z| world.zone_of_column(x, z).map(ZoneId::number));
        Ok(Self::from_parts(zones, borders))
    }

    /// Routes given directly: per zone number, one config per committee edge (see
    /// [`WorldRoutes::config`]), and which zone owns each chunk column.
    pub fn from_parts(zones: BTreeMap<u32, Vec<ClientConfig>>, borders: ZoneOf) -> Self {
        Self {
            zones: Arc::new(zones),
            borders,
        }
    }

    /// The config for `zone` that tries edge `index` (modulo the committee) first.
    pub fn config(&self, zone: u32, index: usize) -> Option<ClientConfig> {
        let configs = self.zones.get(&zone)?;
        configs.get(index % configs.len().max(1)).cloned()
    }

    /// The first zone whose committee serves players at `edge`, with that edge's index.
    pub fn zone_served_at(&self, edge: std::net::SocketAddr) -> Option<(u32, usize)> {
        self.zones.iter().find_map(|(&zone, configs)| {
            configs
                .iter()
                .position(|c| c.server == edge)
                .map(|i| (zone, i))
        })
    }

    pub fn zones(&self) -> impl Iterator<Item = u32> + '_ {
        self.zones.keys().copied()
    }

    pub fn borders(&self) -> ZoneOf {
        self.borders.clone()
    }
}

/// Where to follow `game`'s body: the config of the zone it walked into
/// ([`Game::crossed`]) and the session's key. `None` if the body has not crossed or the game
/// is not in a world ([`Game::set_world`]).
pub fn next_zone(game: &Game) -> Option<Result<NextZone, NetError>> {
    let to = game.crossed()?;
    let (routes, index) = game.routes()?;
    let Some(config) = routes.config(to, index) else {
        return Some(Err(NetError::Protocol(format!(
            "the body walked into zone {to}, which the world does not have"
        ))));
    };
    Some(Ok(NextZone {
        config,
        key: game.edge().signing_key(),
    }))
}

/// A session to open in the zone a body walked into ([`next_zone`]).
#[derive(Debug)]
pub struct NextZone {
    pub config: ClientConfig,
    key: PrivateKey,
}

impl NextZone {
    /// Opens it with the same key, for [`Game::enter_zone`].
    pub async fn open(&self) -> Result<(EdgeClient, ClientConfig), NetError> {
        connect_edge(&self.config, self.key.clone()).await
    }

    /// [`NextZone::open`], tried again every [`RETRY`] while the body may still be waiting
    /// for its player there ([`ARRIVAL_WAIT`]): an edge of the next zone that is down for a
    /// moment does not end the player's session.
    pub async fn open_patiently(&self) -> Result<(EdgeClient, ClientConfig), NetError> {
        let started = std::time::Instant::now();
        loop {
            match self.open().await {
                Ok(game) => return Ok(game),
                Err(e) if started.elapsed() + RETRY < ARRIVAL_WAIT => {
                    tracing::warn!(error = %e, zone = ?self.config.zone, "the next zone did not answer; trying again");
                    tokio::time::sleep(RETRY).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// How long a player waits before it tries the next zone's edges again.
pub const RETRY: Duration = Duration::from_millis(500);

/// Follows `game`'s body if it walked into a zone no session was open with: the session
/// moves there ([`Game::enter_zone`]). `None` if there is nothing to follow.
pub async fn cross(game: &mut Game) -> Option<Result<(), NetError>> {
    let next = match next_zone(game)? {
        Ok(next) => next,
        Err(e) => return Some(Err(e)),
    };
    match next.open_patiently().await {
        Ok((edge, config)) => {
            game.enter_zone(edge, config).await;
            Some(Ok(()))
        }
        Err(e) => Some(Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::Signer as _;

    /// A 2 × 1 world of four members, three a committee, seed 1, ports from `base_port`.
    fn spec(base_port: u16) -> z3r0_genesis::world::WorldSpec {
        let mut spec = z3r0_genesis::world::WorldSpec::new(4, base_port, [2, 1], 3);
        spec.world_seed = 1;
        spec
    }

    #[test]
    fn routes_reach_every_zone_through_each_member_and_know_the_borders() {
        let dir = std::env::temp_dir().join(format!("z3r0-routes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let world = z3r0_genesis::world::generate(&dir, &spec(31_000)).unwrap();
        let routes = WorldRoutes::new(&world).unwrap();
        let zones: Vec<u32> = routes.zones().collect();
        assert_eq!(zones.len(), 2);
        for &zone in &zones {
            let genesis = world.zone_genesis(ZoneId::from_number(zone)).unwrap();
            let edges: Vec<_> = genesis
                .validators
                .iter()
                .filter_map(|v| v.players)
                .collect();
            assert_eq!(edges.len(), 3, "a committee of three");
            for (k, &edge) in edges.iter().enumerate() {
                let config = routes.config(zone, k).unwrap();
                assert_eq!(config.server, edge, "member {k}'s edge first");
                assert_eq!(config.fallbacks.len(), 2, "then the others");
                assert_eq!(config.zone, Some(zone));
                assert_eq!(config.chain, genesis.chain_id());
                assert_eq!(routes.config(zone, k + 3).unwrap().server, edge, "modulo");
            }
            let (served, k) = routes.zone_served_at(edges[1]).unwrap();
            assert!(served <= zone, "the first zone that edge serves");
            assert_eq!(routes.config(served, k).unwrap().server, edges[1]);
        }
        assert!(routes.config(99, 0).is_none());
        assert!(
            routes
                .zone_served_at("127.0.0.1:1".parse().unwrap())
                .is_none()
        );
        // West of the middle is the first zone, east of it the second.
        let borders = routes.borders();
        let (west, east) = (borders(-1, 0), borders(0, 0));
        assert_eq!(west, world.zone_of_column(-1, 0).map(ZoneId::number));
        assert_ne!(west, east);
        assert!(borders(10_000, 0).is_none(), "outside the world");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_silent_next_zone_is_tried_again_while_the_body_waits() {
        let dir = std::env::temp_dir().join(format!("z3r0-patient-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let world = z3r0_genesis::world::generate(&dir, &spec(32_000)).unwrap();
        let routes = WorldRoutes::new(&world).unwrap();
        // Nobody listens on the zone's edges: every attempt times out.
        let mut config = routes.config(0, 0).unwrap();
        config.fallbacks.clear();
        config.connect_timeout = Duration::from_millis(200);
        let next = NextZone {
            config,
            key: PrivateKey::from_seed(3),
        };
        let started = std::time::Instant::now();
        assert!(next.open_patiently().await.is_err());
        let waited = started.elapsed();
        assert!(
            waited + RETRY >= ARRIVAL_WAIT,
            "gave up after {waited:?}, while the body still waited"
        );
        assert!(waited < ARRIVAL_WAIT + Duration::from_secs(2), "{waited:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
