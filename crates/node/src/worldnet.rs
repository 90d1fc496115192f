//! A world of zones on commonware's deterministic runtime and one simulated network: every pool
//! validator is one peer, and runs a replica (engine, marshal, executor, storage) of each zone
//! whose committee it sits on, each zone on channels of its own
//! ([`crate::engine::channel::of_zone`]). So a validator's connections grow with its peers, not
//! with peers × zones.

use crate::application::{EdgeHook, Finalized, Observer, Pacing};
use crate::engine::{Channels, Timeouts, ValidatorSetup, channel};
use crate::scoped::CommitteeSender;
use crate::simnet::{ChainEntry, Log, Running, spawn_validator};
use commonware_codec::Encode as _;
use commonware_cryptography::{Signer as _, ed25519::PrivateKey, ed25519::PublicKey};
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{Clock, Quota, Spawner as _, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize, ordered::Set};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use z3r0_chain::{ChainId, MempoolConfig};
use z3r0_genesis::{WorldGenesis, ZoneId};
use z3r0_sim::Sim;
use z3r0_sim::handoff::Neighbours;

const MAX_MESSAGE: u32 = 8 * 1024 * 1024;
/// Messages a peer may send a replica per second on one channel. The simulated network gives
/// each channel a queue of peers × this burst, allocated whole by the resolvers; a world of
/// many peers with the single-zone harness's 100,000 ran out of memory (4 × 4 zones, 32 peers:
/// 24 GiB). A zone at 20 ticks a second sends a peer well under this on any one channel.
const QUOTA: Quota = Quota::per_second(NZU32!(250));

type SimSender = simulated::Sender<PublicKey, deterministic::Context>;
/// Running replicas by (pool index, zone number), for the handoff intake.
type Replicas = Arc<Mutex<BTreeMap<(usize, u32), crate::simnet::ValidatorSlot<Sim>>>>;

/// Forgeries sent by kind and hash, shared by the forging relays.
pub type ForgedLog = Arc<Mutex<Vec<(crate::forger::Forgery, [u8; 32])>>>;

/// One zone of the world: its chain and who runs it.
#[derive(Debug)]
pub struct WorldZone {
    pub id: ZoneId,
    pub chain: ChainId,
    pub genesis: z3r0_genesis::Genesis,
    /// Pool indices of its committee.
    pub seats: Vec<usize>,
    /// Finalized blocks each seat reported, by pool index.
    pub logs: BTreeMap<usize, Log>,
}

/// Handoffs as the replicas finalized them, keyed by (source zone, destination zone, exit
/// number): when the first source replica finalized the exit, and when the first destination
/// replica finalized the entry (virtual time).
#[derive(Debug, Default)]
pub struct Crossings {
    pub exits: BTreeMap<(u32, u32, u64), std::time::SystemTime>,
    pub entries: BTreeMap<(u32, u32, u64), std::time::SystemTime>,
    /// Items that found no room on entry.
    pub lost: u64,
    /// Imports blocks carried and their zone refused: (zone, height, hash).
    pub refused: std::collections::BTreeSet<(u32, u64, [u8; 32])>,
    /// The hashes of the imports blocks applied, with the (zone, height) of each block that
    /// applied it (one, unless it entered twice).
    pub applied: BTreeMap<[u8; 32], std::collections::BTreeSet<(u32, u64)>>,
}

impl Crossings {
    /// From each exit's finalization to its entry's, for those that entered.
    pub fn latencies(&self) -> Vec<Duration> {
        self.entries
            .iter()
            .filter_map(|(k, entered)| entered.duration_since(*self.exits.get(k)?).ok())
            .collect()
    }

    fn record(
        &mut self,
        zone: u32,
        block: &z3r0_chain::Block,
        receipts: &[z3r0_sim::Receipt],
        now: std::time::SystemTime,
    ) {
        for hash in crate::handoff::applied_imports(block, receipts) {
            self.applied
                .entry(hash)
                .or_default()
                .insert((zone, block.height));
        }
        for r in receipts {
            match *r {
                z3r0_sim::Receipt::Exited { to, seq, .. } => {
                    self.exits.entry((zone, to, seq)).or_insert(now);
                }
                z3r0_sim::Receipt::ImportRefused { hash, .. } => {
                    self.refused.insert((zone, block.height, hash));
                }
                z3r0_sim::Receipt::Entered {
                    from, seq, lost, ..
                } => {
                    if let std::collections::btree_map::Entry::Vacant(entry) =
                        self.entries.entry((from, zone, seq))
                    {
                        entry.insert(now);
                        self.lost = self.lost.saturating_add(u64::from(lost));
                    }
                }
                _ => {}
            }
        }
    }
}

/// A simulated world: its genesis, the pool's keys, and each zone's replicas.
pub struct WorldNet {
    pub context: deterministic::Context,
    pub oracle: Oracle<PublicKey, deterministic::Context>,
    pub world: WorldGenesis,
    /// The pool's keys, in pool order.
    pub keys: Vec<PrivateKey>,
    pub zones: Vec<WorldZone>,
    pub failures: Arc<Mutex<Vec<String>>>,
    /// Every handoff, as the replicas finalized it.
    pub crossings: Arc<Mutex<Crossings>>,
    /// Pool members whose relays also send forgeries ([`crate::forger`]); set before they
    /// start.
    pub forgers: std::collections::BTreeSet<usize>,
    /// What the forging relays sent: each forgery's kind and hash.
    pub forged: ForgedLog,
    /// Running replicas by (zone index, pool index).
    running: BTreeMap<(usize, usize), Running<Sim>>,
    /// Each validator's handoff senders, by destination zone number.
    handoff: BTreeMap<(usize, u32), SimSender>,
    replicas: Replicas,
}

impl std::fmt::Debug for WorldNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorldNet")
            .field("zones", &self.zones.len())
            .field("pool", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// The keys must be the pool's, one for one and in order: a replica signing with a key its
/// committee does not hold would only be ignored, which a test would misread as a fault.
fn check_keys(world: &WorldGenesis, pool: &[PublicKey]) -> Result<(), String> {
    if world.pool.len() != pool.len() {
        return Err(format!(
            "{} keys for a pool of {}",
            pool.len(),
            world.pool.len()
        ));
    }
    for (i, (entry, key)) in world.pool.iter().zip(pool).enumerate() {
        if entry.public_key != z3r0_genesis::to_hex(&key.encode()) {
            return Err(format!("key {i} is not pool member {i}'s"));
        }
    }
    Ok(())
}

impl WorldNet {
    /// The network of `keys` (the pool of `world`, in order), every pair linked with `link`;
    /// no replica runs yet. Zones are paced by the world's clock (virtual time).
    pub async fn new(
        context: deterministic::Context,
        world: WorldGenesis,
        keys: Vec<PrivateKey>,
        link: Link,
    ) -> Result<Self, String> {
        world.validate().map_err(|e| e.to_string())?;
        // Its replicas run the engine alone: a game's world would run here without its game.
        if !world.plugins.is_empty() || world.content.is_some() {
            return Err(
                "WorldNet runs the engine alone: this world names a game's plugins or content"
                    .into(),
            );
        }
        let pool: Vec<PublicKey> = keys.iter().map(|k| k.public_key()).collect();
        check_keys(&world, &pool)?;
        let zones = world
            .zone_ids()
            .map(|id| {
                let genesis = world.zone_genesis(id).map_err(|e| e.to_string())?;
                let seats = world.committee(id).map_err(|e| e.to_string())?;
                Ok(WorldZone {
                    id,
                    chain: genesis.chain_id(),
                    logs: seats.iter().map(|&i| (i, Log::default())).collect(),
                    genesis,
                    seats,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: MAX_MESSAGE,
                max_peers_per_set: NZUsize!(pool.len().max(1)),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            pool.iter().cloned(),
        )
        .await;
        network.start();
        for a in &pool {
            for b in &pool {
                if a != b {
                    oracle
                        .add_link(a.clone(), b.clone(), link.clone())
                        .await
                        .map_err(|e| format!("link: {e}"))?;
                }
            }
        }
        Ok(Self {
            context,
            oracle,
            world,
            keys,
            zones,
            failures: Arc::default(),
            crossings: Arc::default(),
            forgers: std::collections::BTreeSet::new(),
            forged: Arc::default(),
            running: BTreeMap::new(),
            handoff: BTreeMap::new(),
            replicas: Arc::default(),
        })
    }

    /// Starts every replica: for each zone, each of its seats.
    pub async fn start_all(&mut self) -> Result<(), String> {
        for z in 0..self.zones.len() {
            for seat in self.zones[z].seats.clone() {
                self.start(z, seat).await?;
            }
        }
        Ok(())
    }

    /// Starts pool member `i`'s replica of zone `z` (by index in [`WorldNet::zones`]).
    pub async fn start(&mut self, z: usize, i: usize) -> Result<(), String> {
        let id = self
            .zones
            .get(z)
            .ok_or_else(|| format!("no zone at index {z}"))?
            .id;
        let number = id.number();
        let neighbours = self.world.neighbours(id).map_err(|e| e.to_string())?;
        let committees: BTreeMap<u32, Vec<PublicKey>> = neighbours
            .iter()
            .map(|(n, _, keys)| (*n, keys.clone()))
            .collect();
        let relay = self.relay(i, number, committees).await?;
        let committee = self.zones[z].genesis.public_keys()?;
        let channels = self.register(i, number, &committee).await?;
        let zone = &self.zones[z];
        let log = zone
            .logs
            .get(&i)
            .cloned()
            .ok_or_else(|| format!("validator {i} has no seat in zone {}", zone.id))?;
        let observer: Observer = Arc::new(move |f: &Finalized| {
            log.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(f.clone())
        });
        let participants = Set::from_iter_dedup(zone.genesis.public_keys()?);
        let mut machine = Sim::genesis(zone.genesis.sim_config()).map_err(|e| e.to_string())?;
        machine.set_neighbours(Arc::new(
            Neighbours::new(number, neighbours).map_err(|e| e.to_string())?,
        ));
        let setup = ValidatorSetup {
            signer: self.keys[i].clone(),
            participants,
            machine,
            mempool: MempoolConfig::for_tick(zone.chain, number, zone.genesis.tick_ms),
            pacing: Pacing {
                genesis_ms: zone.genesis.genesis_ms,
                tick_ms: zone.genesis.tick_ms,
            },
            timeouts: Timeouts::for_tick(zone.genesis.tick_ms),
            // Each replica's storage apart from the validator's other zones'.
            partition: format!("v{i}-zone{number}"),
            checkpoint_interval: 16,
            history: crate::engine::HISTORY,
            observer: Some(observer),
            edge: Some(relay),
            byzantine: None,
            diverge_at: None,
        };
        let context = self
            .context
            .child("validator")
            .with_attribute("index", i)
            .with_attribute("zone", number);
        let running = spawn_validator(
            context,
            format!("validator {i} in zone {}", zone.id),
            setup,
            channels,
            (
                self.oracle.manager(),
                self.oracle.control(self.keys[i].public_key()),
            ),
            self.failures.clone(),
        );
        self.replicas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((i, number), running.validator.clone());
        self.running.insert((z, i), running);
        Ok(())
    }

    /// The handoff channel of `zone` for validator `i`, registered on first use: its sender is
    /// kept, and what it receives goes to `i`'s replica of `zone`, if it runs one.
    async fn handoff_sender(&mut self, i: usize, zone: u32) -> Result<SimSender, String> {
        if let Some(sender) = self.handoff.get(&(i, zone)) {
            return Ok(sender.clone());
        }
        let control = self.oracle.control(self.keys[i].public_key());
        let c = channel::of_zone(zone, channel::HANDOFF);
        let (sender, receiver) = control
            .register(c, QUOTA)
            .await
            .map_err(|e| format!("register channel {c}: {e}"))?;
        let replicas = self.replicas.clone();
        self.context
            .child("handoff_intake")
            .with_attribute("index", i)
            .with_attribute("zone", zone)
            .spawn(move |_| {
                crate::handoff::intake(receiver, move |bytes| {
                    let slot = replicas
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(&(i, zone))
                        .cloned();
                    if let Some(slot) = slot {
                        let guard = slot.lock().unwrap_or_else(|p| p.into_inner());
                        if let Some(v) = guard.as_ref() {
                            let _ = v.offer_import(bytes);
                        }
                    }
                })
            });
        self.handoff.insert((i, zone), sender.clone());
        Ok(sender)
    }

    /// The edge hook of validator `i`'s replica of zone `zone`: it relays the zone's exits and
    /// acknowledgements to each neighbour's committee (`committees`, by zone number).
    async fn relay(
        &mut self,
        i: usize,
        zone: u32,
        committees: BTreeMap<u32, Vec<PublicKey>>,
    ) -> Result<EdgeHook<Sim>, String> {
        // Registering this zone's own channel starts the intake of imports for it.
        self.handoff_sender(i, zone).await?;
        let mut senders = BTreeMap::new();
        for &n in committees.keys() {
            senders.insert(n, self.handoff_sender(i, n).await?);
        }
        let (crossings, clock) = (self.crossings.clone(), self.context.child("crossings"));
        let books: EdgeHook<Sim> = Box::new(move |block, _sim, receipts, _finality| {
            crossings.lock().unwrap_or_else(|p| p.into_inner()).record(
                zone,
                block,
                receipts,
                clock.current(),
            );
        });
        let tamper = self.forgers.contains(&i).then(|| {
            let mut forger = crate::forger::Forger::new(self.keys[i].clone());
            let forged = self.forged.clone();
            let tamper: crate::handoff::Tamper = Box::new(move |height, honest| {
                let made = forger.forge(height, honest);
                let mut log = forged.lock().unwrap_or_else(|p| p.into_inner());
                made.into_iter()
                    .map(|(kind, to, bytes)| {
                        log.push((kind, *blake3::hash(&bytes).as_bytes()));
                        (to, bytes)
                    })
                    .collect()
            });
            tamper
        });
        Ok(crate::handoff::relay_hook(
            senders, committees, tamper, books,
        ))
    }

    /// The tick pool member `i`'s replica of zone `z` takes actions for now.
    pub fn current_tick(&self, z: usize, i: usize) -> Option<u64> {
        let r = self.running.get(&(z, i))?;
        let guard = r.validator.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().map(|v| v.current_tick())
    }

    /// Imports waiting in pool member `i`'s replica of zone `z`.
    pub fn imports_waiting(&self, z: usize, i: usize) -> usize {
        self.running
            .get(&(z, i))
            .and_then(|r| {
                let guard = r.validator.lock().unwrap_or_else(|p| p.into_inner());
                guard.as_ref().map(|v| v.imports_len())
            })
            .unwrap_or(0)
    }

    /// Runs `f` on pool member `i`'s finalized state of zone `z`.
    pub fn with_state<T>(&self, z: usize, i: usize, f: impl FnOnce(&mut Sim) -> T) -> Option<T> {
        let r = self.running.get(&(z, i))?;
        let guard = r.validator.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().map(|v| v.with_finalized(|sim, _| f(sim)))
    }

    /// Registers pool member `i`'s channels for zone `zone` on its one network identity.
    /// Its senders reach only the zone's `committee`, whatever the consensus crates ask.
    async fn register(
        &self,
        i: usize,
        zone: u32,
        committee: &[PublicKey],
    ) -> Result<Channels<CommitteeSender<SimSender>, simulated::Receiver<PublicKey>>, String> {
        let me = self.keys[i].public_key();
        let control = self.oracle.control(me.clone());
        let register = async |base| {
            let c = channel::of_zone(zone, base);
            control
                .register(c, QUOTA)
                .await
                .map(|(sender, receiver)| (CommitteeSender::new(sender, committee, &me), receiver))
                .map_err(|e| format!("register channel {c}: {e}"))
        };
        Ok(Channels {
            votes: register(channel::VOTES).await?,
            certificates: register(channel::CERTIFICATES).await?,
            resolver: register(channel::RESOLVER).await?,
            broadcast: register(channel::BROADCAST).await?,
            backfill: register(channel::BACKFILL).await?,
            actions: register(channel::ACTIONS).await?,
            sync: register(channel::SYNC).await?,
        })
    }

    /// Submits signed action `bytes` to pool member `i`'s replica of zone `z`, as a player's
    /// edge would: whether its mempool took it.
    pub fn submit(&self, z: usize, i: usize, bytes: &[u8]) -> bool {
        let Some(running) = self.running.get(&(z, i)) else {
            return false;
        };
        let guard = running.validator.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().is_some_and(|v| {
            v.submit(crate::application::Source::Local(0), bytes)
                .is_ok()
        })
    }

    /// Height every seat of zone `z` has finalized at least.
    pub fn height(&self, z: usize) -> u64 {
        self.zones[z]
            .logs
            .values()
            .map(|log| {
                let log = log.lock().unwrap_or_else(|p| p.into_inner());
                log.last().map_or(0, |f| f.height)
            })
            .min()
            .unwrap_or(0)
    }

    /// Waits (virtual time) until every seat of every zone reached `height`; false on timeout.
    pub async fn wait_for_all(&self, height: u64, timeout: Duration) -> bool {
        let deadline = self.context.current() + timeout;
        loop {
            if (0..self.zones.len()).all(|z| self.height(z) >= height) {
                return true;
            }
            if self.context.current() >= deadline {
                return false;
            }
            self.context.sleep(Duration::from_millis(10)).await;
        }
    }

    /// Safety within zone `z`: every seat that finalized a height has the same digest and
    /// root there. Returns the zone's agreed chain.
    pub fn agreed_chain(&self, z: usize) -> Result<Vec<ChainEntry>, String> {
        let zone = &self.zones[z];
        crate::simnet::agreed_chain(zone.logs.iter().map(|(&i, log)| (i, log)))
            .map_err(|e| format!("zone {}: {e}", zone.id))
    }
}
