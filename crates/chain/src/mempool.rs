//! The mempool: bounded, deduplicating, ordered per player by nonce, rate-limited per peer and
//! per player. Every refusal has a typed reason; nothing in it can grow without bound.
// Values here come from actions, blocks, gossip, checkpoints or the genesis: arithmetic and
// indexing are checked, and each allowance states the bound that holds.
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use crate::action::{MAX_PAYLOAD, SignedAction};
use commonware_cryptography::ed25519::PublicKey;
use std::collections::BTreeMap;

/// Limits and the zone the pool serves.
#[derive(Debug, Clone, Copy)]
pub struct MempoolConfig {
    /// The chain whose signatures are accepted.
    pub chain: crate::ChainId,
    pub zone: u32,
    /// The state machine's payload check ([`crate::StateMachine::check_payload`]; the
    /// validator sets it from its machine).
    pub payload: crate::machine::PayloadCheck,
    /// The state machine's reading of the signatures payloads carry
    /// ([`crate::StateMachine::endorsement`]; the validator sets it from its machine).
    pub endorsements: crate::action::Endorsements,
    /// Pending actions in total.
    pub max_actions: usize,
    /// Pending actions per player.
    pub max_per_player: usize,
    /// Pending actions admitted from one source (a client connection, or a peer relaying its
    /// own): no single peer, honest or not, fills the pool.
    pub max_per_source: usize,
    /// Actions one player may have included in one block.
    pub max_per_player_per_block: usize,
    /// An action for tick `t` is accepted while `t + max_age >= current tick`...
    pub max_age: u64,
    /// ...and while `t <= current tick + max_lead`.
    pub max_lead: u64,
    /// Submissions accepted per tick from one peer connection, and for one player: for a
    /// player on average, at most `max_per_player` at once (a peer's is a hard per-tick cap).
    pub peer_rate: u32,
    pub player_rate: u32,
}

impl MempoolConfig {
    /// [`MempoolConfig::for_zone`] for a chain of `tick_ms` ticks: its windows kept in time
    /// (those defaults are for 50 ms ticks). An action may be a second late or a second early,
    /// and a player may have 2 s of inputs pending (one a tick, the whole window an action may
    /// land in), at any tick rate: counted in ticks, a 40 Hz client's honest inputs overflowed
    /// the per-player bound whenever the chain ran a few ticks behind its clock, and with
    /// 0.8 s a chain whose finality stalled for a second refused an honest player's inputs as
    /// too many (nothing pending expires while the executed chain stands still). Every
    /// validator derives these from the genesis alike.
    pub fn for_tick(chain: crate::ChainId, zone: u32, tick_ms: u64) -> Self {
        let defaults = Self::for_zone(chain, zone);
        let ticks = |ms: u64| crate::ticks_in(ms, tick_ms);
        Self {
            max_age: ticks(1_000).max(defaults.max_age),
            max_lead: ticks(1_000).max(defaults.max_lead),
            max_per_player: usize::try_from(ticks(2_000))
                .unwrap_or(usize::MAX)
                .max(defaults.max_per_player),
            ..defaults
        }
    }

    pub fn for_zone(chain: crate::ChainId, zone: u32) -> Self {
        Self {
            chain,
            zone,
            payload: crate::machine::any_payload,
            endorsements: crate::action::no_endorsements,
            max_actions: 50_000,
            max_per_player: 40,
            max_per_source: 6_250,
            max_per_player_per_block: 4,
            max_age: 20,
            max_lead: 20,
            peer_rate: 2_000,
            player_rate: 8,
        }
    }
}

/// Why an action was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("undecodable action: {0}")]
    Malformed(String),
    #[error("action of {0} bytes exceeds the limit")]
    Oversize(usize),
    #[error("action is for zone {got}, this is zone {expected}")]
    WrongZone { expected: u32, got: u32 },
    #[error("action for tick {tick} expired (current tick {current})")]
    Expired { tick: u64, current: u64 },
    #[error("action for tick {tick} is too far ahead (current tick {current})")]
    TooEarly { tick: u64, current: u64 },
    #[error("nonce {nonce} already used (next is {next})")]
    Replay { nonce: u64, next: u64 },
    #[error("nonce {0} is above the last usable nonce {MAX_NONCE}")]
    NonceOutOfRange(u64),
    #[error("an action with nonce {0} is already pending")]
    Duplicate(u64),
    #[error("invalid signature")]
    BadSignature,
    #[error("payload the game cannot decode: {0}")]
    BadPayload(String),
    #[error("player has too many pending actions")]
    PlayerBacklog,
    #[error("mempool is full")]
    Full,
    #[error("this source has its whole share of the mempool pending")]
    SourceBacklog,
    #[error("player is sending too fast")]
    PlayerRateLimited,
    #[error("peer is sending too fast")]
    PeerRateLimited,
}

/// What kind of refusal a [`Rejection`] is, as a stable code: what goes on the wire to a
/// player (the details stay with the node), with its text derived from the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum RejectionKind {
    Malformed = 1,
    Oversize = 2,
    WrongZone = 3,
    Expired = 4,
    TooEarly = 5,
    Replay = 6,
    NonceOutOfRange = 7,
    Duplicate = 8,
    BadSignature = 9,
    BadPayload = 10,
    PlayerBacklog = 11,
    Full = 12,
    SourceBacklog = 13,
    PlayerRateLimited = 14,
    PeerRateLimited = 15,
}

impl RejectionKind {
    /// Every kind, in code order (code = index + 1).
    pub const ALL: [RejectionKind; 15] = [
        RejectionKind::Malformed,
        RejectionKind::Oversize,
        RejectionKind::WrongZone,
        RejectionKind::Expired,
        RejectionKind::TooEarly,
        RejectionKind::Replay,
        RejectionKind::NonceOutOfRange,
        RejectionKind::Duplicate,
        RejectionKind::BadSignature,
        RejectionKind::BadPayload,
        RejectionKind::PlayerBacklog,
        RejectionKind::Full,
        RejectionKind::SourceBacklog,
        RejectionKind::PlayerRateLimited,
        RejectionKind::PeerRateLimited,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    /// The kind with stable code `code` (`None`: unknown).
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

    /// What a player is told.
    /// A short label for metrics (`snake_case`, stable like the code).
    pub fn label(self) -> &'static str {
        match self {
            RejectionKind::Malformed => "malformed",
            RejectionKind::Oversize => "oversize",
            RejectionKind::WrongZone => "wrong_zone",
            RejectionKind::Expired => "expired",
            RejectionKind::TooEarly => "too_early",
            RejectionKind::Replay => "replay",
            RejectionKind::NonceOutOfRange => "nonce_out_of_range",
            RejectionKind::Duplicate => "duplicate",
            RejectionKind::BadSignature => "bad_signature",
            RejectionKind::BadPayload => "bad_payload",
            RejectionKind::PlayerBacklog => "player_backlog",
            RejectionKind::Full => "full",
            RejectionKind::SourceBacklog => "source_backlog",
            RejectionKind::PlayerRateLimited => "player_rate_limited",
            RejectionKind::PeerRateLimited => "peer_rate_limited",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            RejectionKind::Malformed => "undecodable action",
            RejectionKind::Oversize => "action too large",
            RejectionKind::WrongZone => "action for another zone",
            RejectionKind::Expired => "action for tick expired",
            RejectionKind::TooEarly => "action for tick too far ahead",
            RejectionKind::Replay => "nonce already used",
            RejectionKind::NonceOutOfRange => "nonce above the last usable nonce",
            RejectionKind::Duplicate => "an action with this nonce is already pending",
            RejectionKind::BadSignature => "invalid signature",
            RejectionKind::BadPayload => "payload the game cannot decode",
            RejectionKind::PlayerBacklog => "player has too many pending actions",
            RejectionKind::Full => "mempool is full",
            RejectionKind::SourceBacklog => {
                "this source has its whole share of the mempool pending"
            }
            RejectionKind::PlayerRateLimited => "player is sending too fast",
            RejectionKind::PeerRateLimited => "peer is sending too fast",
        }
    }
}

impl std::fmt::Display for RejectionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl Rejection {
    pub fn kind(&self) -> RejectionKind {
        match self {
            Rejection::Malformed(_) => RejectionKind::Malformed,
            Rejection::Oversize(_) => RejectionKind::Oversize,
            Rejection::WrongZone { .. } => RejectionKind::WrongZone,
            Rejection::Expired { .. } => RejectionKind::Expired,
            Rejection::TooEarly { .. } => RejectionKind::TooEarly,
            Rejection::Replay { .. } => RejectionKind::Replay,
            Rejection::NonceOutOfRange(_) => RejectionKind::NonceOutOfRange,
            Rejection::Duplicate(_) => RejectionKind::Duplicate,
            Rejection::BadSignature => RejectionKind::BadSignature,
            Rejection::BadPayload(_) => RejectionKind::BadPayload,
            Rejection::PlayerBacklog => RejectionKind::PlayerBacklog,
            Rejection::Full => RejectionKind::Full,
            Rejection::SourceBacklog => RejectionKind::SourceBacklog,
            Rejection::PlayerRateLimited => RejectionKind::PlayerRateLimited,
            Rejection::PeerRateLimited => RejectionKind::PeerRateLimited,
        }
    }
}

/// The last nonce an action may carry: every used nonce must leave a next one, or the
/// "next nonce" arithmetic of proposers and verifiers would overflow (and, wrapping, let an old
/// nonce back in).
pub const MAX_NONCE: u64 = u64::MAX - 1;

/// The next nonce after `nonce`, refusing one with no successor.
pub fn nonce_after(nonce: u64) -> Result<u64, Rejection> {
    if nonce > MAX_NONCE {
        return Err(Rejection::NonceOutOfRange(nonce));
    }
    nonce
        .checked_add(1)
        .ok_or(Rejection::NonceOutOfRange(nonce))
}

/// One player's nonce record: the next usable nonce, and the newest tick its included actions
/// targeted (the record is kept while such an action could still be replayed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NonceRecord {
    pub next: u64,
    pub tick: u64,
}

/// The next usable nonce of every player that acted recently: chain state, updated only by
/// [`Nonces::apply`]. A record is dropped once every action its player ever had included has
/// expired (its tick is more than `max_age` behind the block's): any replay of one is refused
/// as expired, so the map holds live players only and per-block cost does not grow with every
/// key ever seen. A player back after that starts again from nonce 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nonces {
    next: BTreeMap<PublicKey, NonceRecord>,
}

impl Nonces {
    pub fn next(&self, player: &PublicKey) -> u64 {
        self.next.get(player).map_or(0, |r| r.next)
    }

    /// Records the actions of a finalized block at `tick`, then forgets the players none of
    /// whose actions can still be included (see the type's docs).
    pub fn apply(&mut self, tick: u64, actions: &[SignedAction], max_age: u64) {
        for a in actions {
            let r = self.next.entry(a.action.player.clone()).or_default();
            r.next = r.next.max(a.action.nonce.saturating_add(1));
            r.tick = r.tick.max(a.action.tick);
        }
        self.next
            .retain(|_, r| r.tick.saturating_add(max_age) >= tick);
    }

    pub fn len(&self) -> usize {
        self.next.len()
    }

    pub fn is_empty(&self) -> bool {
        self.next.is_empty()
    }

    /// Every (player, record), in key order (for checkpoints).
    pub fn iter(&self) -> impl Iterator<Item = (&PublicKey, NonceRecord)> {
        self.next.iter().map(|(k, r)| (k, *r))
    }

    pub fn from_entries(entries: impl IntoIterator<Item = (PublicKey, NonceRecord)>) -> Self {
        Self {
            next: entries.into_iter().collect(),
        }
    }
}

/// A token bucket in the clock's ticks: `rate` submissions a tick on average, at most `burst`
/// at once. Honest traffic comes in bursts: a player whose edge failed resends its unexpired
/// inputs to the next at once, and a node back from a pause reads what waited for it.
#[derive(Debug, Clone, Copy)]
struct Window {
    tick: u64,
    tokens: u32,
}

impl Window {
    /// A new source's window at `tick`: a whole burst to spend, as after any quiet spell.
    fn full(tick: u64, burst: u32) -> Self {
        Self {
            tick,
            tokens: burst,
        }
    }

    fn admit(&mut self, tick: u64, rate: u32, burst: u32) -> bool {
        if tick != self.tick {
            // A tick older than the last (a clock told a smaller one) refills nothing.
            let elapsed = u32::try_from(tick.saturating_sub(self.tick)).unwrap_or(u32::MAX);
            self.tokens = burst.min(self.tokens.saturating_add(elapsed.saturating_mul(rate)));
            self.tick = self.tick.max(tick);
        }
        if self.tokens == 0 {
            return false;
        }
        self.tokens = self.tokens.saturating_sub(1);
        true
    }
}

/// A pending action and the source that offered it (its share is released when it goes).
#[derive(Debug)]
struct Pending<P> {
    action: SignedAction,
    source: P,
}

/// Pending actions, by player then nonce. `P` identifies the peer connection an action came from.
#[derive(Debug)]
pub struct Mempool<P: Ord + Clone> {
    config: MempoolConfig,
    current_tick: u64,
    /// The newest tick by the node's clock (0: not told): an action may target up to
    /// `max_lead` past it even while the executed chain lags behind.
    clock_tick: u64,
    nonces: Nonces,
    pending: BTreeMap<PublicKey, BTreeMap<u64, Pending<P>>>,
    total: usize,
    /// Pending actions by the source that offered them (sources with none are forgotten).
    by_source: BTreeMap<P, usize>,
    peers: BTreeMap<P, Window>,
    players: BTreeMap<PublicKey, Window>,
}

impl<P: Ord + Clone> Mempool<P> {
    pub fn new(config: MempoolConfig, nonces: Nonces, current_tick: u64) -> Self {
        Self {
            config,
            current_tick,
            clock_tick: 0,
            nonces,
            pending: BTreeMap::new(),
            total: 0,
            by_source: BTreeMap::new(),
            peers: BTreeMap::new(),
            players: BTreeMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.total
    }

    /// Whether this exact signed action is pending here, so its signature was already verified
    /// on admission (single and batch verification agree under ZIP-215).
    pub fn holds(&self, action: &SignedAction) -> bool {
        self.pending
            .get(&action.action.player)
            .and_then(|q| q.get(&action.action.nonce))
            .is_some_and(|held| held.action == *action)
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub fn current_tick(&self) -> u64 {
        self.current_tick
    }

    pub fn nonces(&self) -> &Nonces {
        &self.nonces
    }

    /// The player's first nonce neither used by a finalized block nor waiting here: where a
    /// client that reconnects goes on (its last actions may not have landed yet).
    pub fn next_unused_nonce(&self, player: &PublicKey) -> u64 {
        let pending = self
            .pending
            .get(player)
            .and_then(|q| q.last_key_value())
            .map_or(0, |(n, _)| n.saturating_add(1));
        self.nonces.next(player).max(pending)
    }

    /// Decodes and admits an action received as bytes.
    pub fn submit_bytes(&mut self, from: &P, bytes: &[u8]) -> Result<(), Rejection> {
        let max = 32 + 4 + 8 + 8 + 2 + MAX_PAYLOAD + 64;
        if bytes.len() > max {
            return Err(Rejection::Oversize(bytes.len()));
        }
        let action =
            SignedAction::decode(bytes).map_err(|e| Rejection::Malformed(e.to_string()))?;
        self.submit(from, action)
    }

    /// Admits an action, cheapest checks first and the signature last.
    pub fn submit(&mut self, from: &P, signed: SignedAction) -> Result<(), Rejection> {
        self.admit(from, signed, false)
    }

    /// Admits an action whose signature the caller has already verified (for instance a whole
    /// gossip batch at once with [`crate::verify_all`], which is cheaper than one by one).
    pub fn submit_verified(&mut self, from: &P, signed: SignedAction) -> Result<(), Rejection> {
        self.admit(from, signed, true)
    }

    fn admit(&mut self, from: &P, signed: SignedAction, verified: bool) -> Result<(), Rejection> {
        // Rates are per tick of the clock: while finality stalls the executed tick stands
        // still, and counting every submission since as one tick's refused honest players.
        let tick = self.current_tick.max(self.clock_tick);
        let peer_rate = self.config.peer_rate;
        if !self
            .peers
            .entry(from.clone())
            .or_insert_with(|| Window::full(tick, peer_rate))
            .admit(tick, peer_rate, peer_rate)
        {
            return Err(Rejection::PeerRateLimited);
        }
        self.precheck(from, &signed)?;
        let a = &signed.action;
        if !verified && !signed.verify_endorsed(&self.config.chain, self.config.endorsements) {
            return Err(Rejection::BadSignature);
        }
        let burst = self.player_burst();
        if !self
            .players
            .entry(a.player.clone())
            .or_insert_with(|| Window::full(tick, burst))
            .admit(tick, self.config.player_rate, burst)
        {
            return Err(Rejection::PlayerRateLimited);
        }
        let count = self.by_source.entry(from.clone()).or_insert(0);
        *count = count.saturating_add(1);
        self.pending.entry(a.player.clone()).or_default().insert(
            a.nonce,
            Pending {
                action: signed,
                source: from.clone(),
            },
        );
        self.total = self.total.saturating_add(1);
        Ok(())
    }

    /// Submissions one player may make at once: as many as it may have pending (2 s of
    /// inputs), or a tick's rate if that is more.
    fn player_burst(&self) -> u32 {
        u32::try_from(self.config.max_per_player)
            .unwrap_or(u32::MAX)
            .max(self.config.player_rate)
    }

    /// The refusals of [`Mempool::submit`] that cost no signature check, cheapest first,
    /// admitting nothing. A caller that verifies signatures outside the pool's lock runs these
    /// first, so junk never costs it an ed25519 verification.
    pub fn precheck(&self, from: &P, signed: &SignedAction) -> Result<(), Rejection> {
        let tick = self.current_tick;
        let a = &signed.action;
        if a.zone != self.config.zone {
            return Err(Rejection::WrongZone {
                expected: self.config.zone,
                got: a.zone,
            });
        }
        nonce_after(a.nonce)?;
        self.check_tick(a.tick, tick)?;
        (self.config.payload)(&a.payload).map_err(Rejection::BadPayload)?;
        let next = self.nonces.next(&a.player);
        if a.nonce < next {
            return Err(Rejection::Replay {
                nonce: a.nonce,
                next,
            });
        }
        let queue = self.pending.get(&a.player);
        if queue.is_some_and(|q| q.contains_key(&a.nonce)) {
            return Err(Rejection::Duplicate(a.nonce));
        }
        if queue.is_some_and(|q| q.len() >= self.config.max_per_player) {
            return Err(Rejection::PlayerBacklog);
        }
        if self.total >= self.config.max_actions {
            return Err(Rejection::Full);
        }
        if self.by_source.get(from).copied().unwrap_or(0) >= self.config.max_per_source {
            return Err(Rejection::SourceBacklog);
        }
        Ok(())
    }

    /// The node's clock says tick `tick`. A node catching up (after a pause or a restart)
    /// executes blocks of past ticks while players already aim at the clock's: without this
    /// their inputs would be refused as too far ahead. Expiry stays with the executed chain,
    /// so a clock running ahead never refuses an honest action.
    pub fn observe_clock(&mut self, tick: u64) {
        self.clock_tick = self.clock_tick.max(tick);
    }

    fn check_tick(&self, tick: u64, current: u64) -> Result<(), Rejection> {
        if tick.saturating_add(self.config.max_age) < current {
            return Err(Rejection::Expired { tick, current });
        }
        if tick
            > current
                .max(self.clock_tick)
                .saturating_add(self.config.max_lead)
        {
            return Err(Rejection::TooEarly { tick, current });
        }
        Ok(())
    }

    /// Actions for a block at `tick`: at most `max`, players in key order taking turns (one
    /// action each per round, lowest nonce first, up to the per-block limit), only actions for
    /// ticks up to `tick` and not yet expired at it. The pool is not changed: [`Mempool::finalized`] removes what lands.
    pub fn propose(&self, tick: u64, max: usize) -> Vec<SignedAction> {
        let max_age = self.config.max_age;
        let mut queues: Vec<_> = self
            .pending
            .values()
            .map(|q| {
                q.values()
                    .map(|p| &p.action)
                    .filter(move |a| {
                        a.action.tick <= tick && a.action.tick.saturating_add(max_age) >= tick
                    })
                    .peekable()
            })
            .collect();
        let mut out = Vec::new();
        for _round in 0..self.config.max_per_player_per_block {
            let mut any = false;
            for q in &mut queues {
                if out.len() >= max {
                    return out;
                }
                if let Some(a) = q.next() {
                    out.push(a.clone());
                    any = true;
                }
            }
            if !any {
                break;
            }
        }
        out
    }

    /// A finalized block at `tick` included `actions`: advance nonces, drop what was included or
    /// can no longer be, and forget rate windows of past ticks.
    pub fn finalized(&mut self, tick: u64, actions: &[SignedAction]) {
        self.nonces.apply(tick, actions, self.config.max_age);
        self.current_tick = self.current_tick.max(tick.saturating_add(1));
        let current = self.current_tick;
        let max_age = self.config.max_age;
        let nonces = &self.nonces;
        let by_source = &mut self.by_source;
        let mut removed = 0usize;
        self.pending.retain(|player, queue| {
            let next = nonces.next(player);
            queue.retain(|&nonce, p| {
                let keep = nonce >= next && p.action.action.tick.saturating_add(max_age) >= current;
                if !keep {
                    removed = removed.saturating_add(1);
                    if let Some(n) = by_source.get_mut(&p.source) {
                        *n = n.saturating_sub(1);
                    }
                }
                keep
            });
            !queue.is_empty()
        });
        by_source.retain(|_, n| *n > 0);
        self.total = self.total.saturating_sub(removed);
        self.peers
            .retain(|_, w| w.tick >= current.saturating_sub(1));
        self.players
            .retain(|_, w| w.tick >= current.saturating_sub(1));
    }
}

/// Why a block's actions are invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockActionsError {
    #[error("{count} actions exceed the block limit of {limit}")]
    TooMany { count: usize, limit: usize },
    #[error("action {index}: {reason}")]
    Invalid { index: usize, reason: Rejection },
    #[error("player has more than {0} actions in the block")]
    PlayerOverLimit(usize),
}

/// Checks the actions of a proposed block at `tick` against the committed nonces: zone, tick
/// window, strictly increasing nonces per player, per-player and per-block counts, signatures
/// (batch-verified).
pub fn check_block_actions(
    config: &MempoolConfig,
    nonces: &Nonces,
    tick: u64,
    actions: &[SignedAction],
    max_actions: usize,
    rng: &mut impl rand_core::CryptoRng,
) -> Result<(), BlockActionsError> {
    check_block_actions_known(config, nonces, tick, actions, max_actions, rng, |_| false)
}

/// [`check_block_actions`], skipping the signatures of actions for which `verified` says they
/// were verified before (e.g. [`Mempool::holds`]).
pub fn check_block_actions_known(
    config: &MempoolConfig,
    nonces: &Nonces,
    tick: u64,
    actions: &[SignedAction],
    max_actions: usize,
    rng: &mut impl rand_core::CryptoRng,
    verified: impl Fn(&SignedAction) -> bool,
) -> Result<(), BlockActionsError> {
    if actions.len() > max_actions {
        return Err(BlockActionsError::TooMany {
            count: actions.len(),
            limit: max_actions,
        });
    }
    let mut last: BTreeMap<&PublicKey, (u64, usize)> = BTreeMap::new();
    for (index, s) in actions.iter().enumerate() {
        let a = &s.action;
        let invalid = |reason| BlockActionsError::Invalid { index, reason };
        if a.zone != config.zone {
            return Err(invalid(Rejection::WrongZone {
                expected: config.zone,
                got: a.zone,
            }));
        }
        if a.tick > tick {
            return Err(invalid(Rejection::TooEarly {
                tick: a.tick,
                current: tick,
            }));
        }
        if a.tick.saturating_add(config.max_age) < tick {
            return Err(invalid(Rejection::Expired {
                tick: a.tick,
                current: tick,
            }));
        }
        // `prev` passed `nonce_after` below, so it has a successor; checked all the same, as a
        // wrapped successor would let an old nonce back in.
        let next = match last.get(&a.player) {
            Some(&(prev, _)) => nonce_after(prev).map_err(invalid)?,
            None => nonces.next(&a.player),
        };
        if a.nonce < next {
            return Err(invalid(Rejection::Replay {
                nonce: a.nonce,
                next,
            }));
        }
        nonce_after(a.nonce).map_err(invalid)?;
        (config.payload)(&a.payload)
            .map_err(Rejection::BadPayload)
            .map_err(invalid)?;
        let count = last.get(&a.player).map_or(0, |&(_, c)| c).saturating_add(1);
        if count > config.max_per_player_per_block {
            return Err(BlockActionsError::PlayerOverLimit(
                config.max_per_player_per_block,
            ));
        }
        last.insert(&a.player, (a.nonce, count));
    }
    let unverified: Vec<(usize, &SignedAction)> = actions
        .iter()
        .enumerate()
        .filter(|(_, a)| !verified(a))
        .collect();
    let bad = if unverified.len() == actions.len() {
        crate::action::verify_all_endorsed(rng, &config.chain, actions, config.endorsements)
    } else {
        let subset: Vec<SignedAction> = unverified.iter().map(|(_, a)| (*a).clone()).collect();
        crate::action::verify_all_endorsed(rng, &config.chain, &subset, config.endorsements)
            .into_iter()
            .filter_map(|i| unverified.get(i).map(|(index, _)| *index))
            .collect()
    };
    if let Some(&index) = bad.first() {
        return Err(BlockActionsError::Invalid {
            index,
            reason: Rejection::BadSignature,
        });
    }
    Ok(())
}
