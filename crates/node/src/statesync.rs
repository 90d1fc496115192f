//! State sync: a validator that has no state, or whose state is further behind the chain than
//! its peers keep blocks for, starts from a committee member's checkpoint instead of replaying
//! the chain from genesis.
//!
//! Validators prune finalized blocks and certificates older than their checkpoint less a
//! history window (`ValidatorSetup::history`), so storage follows live state, not the chain's
//! age; the price is that a chain's first blocks are gone, and a new or rebuilt validator
//! must start from a recent state.
//!
//! The protocol, on a channel of its own (one request, one answer):
//! - `Ask` → `Offer` (the peer's latest checkpoint: height, blake3 digest of its bytes, length
//!   and the block's finalization certificate) or `NoOffer`;
//! - `Fetch { height, index }` → `Chunk` (at most [`CHUNK`] bytes), or `Gone` if the peer's
//!   checkpoint has moved on.
//!
//! Trust: the checkpoint holds the player nonces, which no certificate covers, so an offer is
//! taken only when `f + 1` committee members offer the same height and digest (one of them is
//! honest), and its certificate verifies. The bytes must hash to that digest, their block must
//! be the certified one, and their state must match the root recorded with it
//! (`Executor::resume`). A download that fails is retried from the next member of the group.
// Values here come from peers: arithmetic and indexing are checked, and each allowance states
// the bound that holds.
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use crate::block::BlockDigest;
use commonware_codec::{
    Decode as _, Encode as _, EncodeSize, Error as CodecError, Read, ReadExt as _, Write,
};
use commonware_consensus::simplex::{scheme::ed25519, types::Finalization};
use commonware_cryptography::ed25519::PublicKey;
use commonware_macros::select;
use commonware_p2p::{Blocker, CheckedSender as _, Receiver, Recipients, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Spawner};
use commonware_utils::ordered::Set;
use futures::StreamExt as _;
use futures::channel::mpsc;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tracing::{info, warn};

/// A zone block's finalization certificate.
pub type ZoneFinalization = Finalization<ed25519::Scheme, BlockDigest>;

/// Largest checkpoint chunk in one message (well under the p2p message limit).
pub const CHUNK: usize = 256 * 1024;
/// Largest checkpoint taken: a bound on what a peer can make us download.
pub const MAX_CHECKPOINT: u64 = 1 << 30;
/// How often an unanswered `Ask` is sent again (a peer's connection may not be up yet).
const ASK_EVERY: Duration = Duration::from_millis(250);
/// How long offers are collected: every other member answers at once when connected.
const OFFER_WAIT: Duration = Duration::from_secs(1);
/// How long one chunk is waited for before the download moves to the next peer.
const CHUNK_WAIT: Duration = Duration::from_secs(2);

const TAG_ASK: u8 = 0;
const TAG_OFFER: u8 = 1;
const TAG_NO_OFFER: u8 = 2;
const TAG_FETCH: u8 = 3;
const TAG_CHUNK: u8 = 4;
const TAG_GONE: u8 = 5;

/// A member's latest checkpoint, as offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub height: u64,
    /// blake3 of the checkpoint bytes.
    pub digest: [u8; 32],
    pub len: u64,
    /// The certificate of the checkpoint's block.
    pub finalization: ZoneFinalization,
}

/// One state-sync message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Ask,
    Offer(Offer),
    NoOffer,
    Fetch {
        height: u64,
        index: u32,
    },
    Chunk {
        height: u64,
        index: u32,
        bytes: Vec<u8>,
    },
    Gone {
        height: u64,
    },
}

impl Write for Message {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            Self::Ask => buf.put_u8(TAG_ASK),
            Self::Offer(offer) => {
                buf.put_u8(TAG_OFFER);
                buf.put_u64(offer.height);
                buf.put_slice(&offer.digest);
                buf.put_u64(offer.len);
                offer.finalization.write(buf);
            }
            Self::NoOffer => buf.put_u8(TAG_NO_OFFER),
            Self::Fetch { height, index } => {
                buf.put_u8(TAG_FETCH);
                buf.put_u64(*height);
                buf.put_u32(*index);
            }
            Self::Chunk {
                height,
                index,
                bytes,
            } => {
                buf.put_u8(TAG_CHUNK);
                buf.put_u64(*height);
                buf.put_u32(*index);
                // Bound: chunks are cut at CHUNK bytes.
                buf.put_u32(bytes.len() as u32);
                buf.put_slice(bytes);
            }
            Self::Gone { height } => {
                buf.put_u8(TAG_GONE);
                buf.put_u64(*height);
            }
        }
    }
}

impl EncodeSize for Message {
    // Bound: fixed fields, a certificate and a chunk of at most CHUNK bytes.
    #[allow(clippy::arithmetic_side_effects)]
    fn encode_size(&self) -> usize {
        1 + match self {
            Self::Ask | Self::NoOffer => 0,
            Self::Offer(offer) => 8 + 32 + 8 + offer.finalization.encode_size(),
            Self::Fetch { .. } => 12,
            Self::Chunk { bytes, .. } => 16 + bytes.len(),
            Self::Gone { .. } => 8,
        }
    }
}

impl Read for Message {
    /// The certificate's codec configuration (the committee's size).
    type Cfg = <ZoneFinalization as Read>::Cfg;

    fn read_cfg(buf: &mut impl commonware_codec::Buf, cfg: &Self::Cfg) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            TAG_ASK => Self::Ask,
            TAG_OFFER => Self::Offer(Offer {
                height: u64::read(buf)?,
                digest: <[u8; 32]>::read(buf)?,
                len: u64::read(buf)?,
                finalization: ZoneFinalization::read_cfg(buf, cfg)?,
            }),
            TAG_NO_OFFER => Self::NoOffer,
            TAG_FETCH => Self::Fetch {
                height: u64::read(buf)?,
                index: u32::read(buf)?,
            },
            TAG_CHUNK => {
                let height = u64::read(buf)?;
                let index = u32::read(buf)?;
                let len = u32::read(buf)? as usize;
                if len > CHUNK || len > buf.remaining() {
                    return Err(CodecError::InvalidLength(len));
                }
                let mut bytes = vec![0; len];
                buf.copy_to_slice(&mut bytes);
                Self::Chunk {
                    height,
                    index,
                    bytes,
                }
            }
            TAG_GONE => Self::Gone {
                height: u64::read(buf)?,
            },
            tag => return Err(CodecError::InvalidEnum(tag)),
        })
    }
}

/// The checkpoint this validator offers its committee.
#[derive(Debug, Clone)]
pub struct Served {
    pub offer: Offer,
    pub bytes: Arc<Vec<u8>>,
}

/// Checkpoints a validator keeps serving after a newer one: a download that began on one
/// finishes although the member checkpointed again meanwhile (every 4.3 s at 60 ticks a second).
const KEPT: usize = 3;

/// This validator's offered checkpoints (its latest [`KEPT`]), shared by the finalizer (which
/// adds them) and the server (which answers from them).
#[derive(Debug, Clone, Default)]
pub struct Shelf(Arc<Mutex<std::collections::VecDeque<Served>>>);

impl Shelf {
    /// Offers `bytes`, the checkpoint after the block `finalization` certifies at `height`.
    pub fn put(&self, height: u64, bytes: Vec<u8>, finalization: ZoneFinalization) {
        let served = Served {
            offer: Offer {
                height,
                digest: *blake3::hash(&bytes).as_bytes(),
                len: bytes.len() as u64,
                finalization,
            },
            bytes: Arc::new(bytes),
        };
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.retain(|s| s.offer.height < height);
        kept.push_back(served);
        while kept.len() > KEPT {
            kept.pop_front();
        }
    }

    /// The latest offered checkpoint's height (0: none).
    pub fn height(&self) -> u64 {
        self.latest().map_or(0, |s| s.offer.height)
    }

    fn latest(&self) -> Option<Served> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .back()
            .cloned()
    }

    /// The heights of the checkpoints on the shelf.
    fn heights(&self) -> Vec<u64> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter().map(|s| s.offer.height).collect()
    }

    /// The chunks of the checkpoint at `height`, if it is on the shelf.
    fn chunks(&self, height: u64) -> Option<u64> {
        self.at(height)
            .map(|s| s.bytes.len().div_ceil(CHUNK) as u64)
    }

    fn at(&self, height: u64) -> Option<Served> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter().find(|s| s.offer.height == height).cloned()
    }

    /// The answer to a request (`None` for anything that is not one).
    pub fn answer(&self, request: &Message) -> Option<Message> {
        match request {
            Message::Ask => Some(match self.latest() {
                Some(served) => Message::Offer(served.offer),
                None => Message::NoOffer,
            }),
            Message::Fetch { height, index } => {
                let chunk = self
                    .at(*height)
                    .and_then(|s| chunk_of(&s.bytes, *index).map(<[u8]>::to_vec));
                Some(match chunk {
                    Some(bytes) => Message::Chunk {
                        height: *height,
                        index: *index,
                        bytes,
                    },
                    None => Message::Gone { height: *height },
                })
            }
            _ => None,
        }
    }
}

/// Times a member uploads each checkpoint to one peer: a download tries each member at most
/// twice, and a sync that fails on a slow link tries again, so more is a peer making this
/// member upload for nothing.
const UPLOADS_PER_PEER: u64 = 4;

/// The chunks each peer was sent of each checkpoint still on the shelf: a peer asking for
/// more than [`UPLOADS_PER_PEER`] times a checkpoint is told it is gone. Without it one
/// Byzantine member could make another upload at the channel's whole quota (8 MiB a
/// second) for ever; with it, each checkpoint four times (one every interval of blocks).
/// Bounded: committee members only, the shelf's checkpoints only.
#[derive(Debug, Default)]
pub struct Uploads(BTreeMap<(PublicKey, u64), u64>);

impl Uploads {
    /// The answer to `peer`'s request: [`Shelf::answer`], within the peer's allowance.
    pub fn answer(
        &mut self,
        shelf: &Shelf,
        peer: &PublicKey,
        request: &Message,
    ) -> Option<Message> {
        if let Message::Fetch { height, .. } = request {
            let kept = shelf.heights();
            self.0.retain(|(_, h), _| kept.contains(h));
            if let Some(chunks) = shelf.chunks(*height) {
                let sent = self.0.entry((peer.clone(), *height)).or_default();
                if *sent >= chunks.saturating_mul(UPLOADS_PER_PEER) {
                    warn!(%peer, height, "state sync: a peer fetched a checkpoint too often");
                    return Some(Message::Gone { height: *height });
                }
                *sent = sent.saturating_add(1);
            }
        }
        shelf.answer(request)
    }
}

/// Chunk `index` of `bytes` (`None` past the end).
fn chunk_of(bytes: &[u8], index: u32) -> Option<&[u8]> {
    let start = (index as usize).checked_mul(CHUNK)?;
    let end = start.saturating_add(CHUNK).min(bytes.len());
    bytes.get(start..end).filter(|c| !c.is_empty())
}

/// The committee as state sync sees it.
#[derive(Debug, Clone)]
pub struct Peers {
    pub me: PublicKey,
    pub committee: Set<PublicKey>,
    /// Verifies the committee's certificates.
    pub scheme: ed25519::Scheme,
}

impl Peers {
    fn others(&self) -> Vec<PublicKey> {
        self.committee
            .iter()
            .filter(|k| **k != self.me)
            .cloned()
            .collect()
    }

    /// Members that must agree on an offer: `f + 1` of a committee of `3f + 1` or more.
    pub fn quorum(&self) -> usize {
        (self.committee.len().saturating_sub(1) / 3).saturating_add(1)
    }

    fn cfg(&self) -> <Message as Read>::Cfg {
        use commonware_cryptography::certificate::Verifier as _;
        self.scheme.certificate_codec_config()
    }
}

/// The offer chosen, and the members that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub offer: Offer,
    pub from: Vec<PublicKey>,
}

/// What makes two offers alike: height, digest, length, and the block their certificate
/// names (so a member cannot pair an agreed digest with another block's certificate).
type OfferKey = (u64, [u8; 32], u64, [u8; 32]);

/// `clock`'s time `after` from now (saturating: a clock near its end waits no longer).
fn later<E: Clock>(clock: &E, after: Duration) -> SystemTime {
    let now = clock.current();
    now.checked_add(after).unwrap_or(now)
}

/// The highest offer above `above` that `quorum` members made alike ([`OfferKey`]) and whose
/// certificate verifies; `None` if there is none.
pub fn choose(
    offers: &BTreeMap<PublicKey, Offer>,
    quorum: usize,
    above: u64,
    scheme: &ed25519::Scheme,
    rng: &mut impl rand_core::CryptoRng,
) -> Option<Choice> {
    let mut groups: BTreeMap<OfferKey, Vec<(&PublicKey, &Offer)>> = BTreeMap::new();
    for (peer, offer) in offers {
        if offer.height > above && offer.len <= MAX_CHECKPOINT && offer.len > 0 {
            groups
                .entry((
                    offer.height,
                    offer.digest,
                    offer.len,
                    offer.finalization.proposal.payload.0,
                ))
                .or_default()
                .push((peer, offer));
        }
    }
    groups.into_values().rev().find_map(|group| {
        if group.len() < quorum {
            return None;
        }
        let (_, offer) = group.iter().find(|(_, o)| {
            o.finalization.verify(rng, scheme, &Sequential)
                && o.finalization.round().epoch() == commonware_consensus::types::Epoch::zero()
        })?;
        Some(Choice {
            offer: (*offer).clone(),
            from: group.iter().map(|(p, _)| (*p).clone()).collect(),
        })
    })
}

/// A checkpoint fetched from the committee: its bytes hash to the agreed digest, its
/// certificate verifies, and `accept` took it (`checked` is what it made of the bytes).
#[derive(Debug)]
pub struct Synced<T> {
    pub offer: Offer,
    pub bytes: Vec<u8>,
    pub checked: T,
}

/// Rounds of offers at most: until `quorum` members answered (their connections may take a
/// few seconds to come up), and while members disagree (one may be a checkpoint behind).
const ROUNDS: usize = 8;

/// Asks the committee for its latest checkpoint and fetches the highest one that `quorum`
/// members offer alike, if it is above `local` (this validator's state height) by more than
/// `gap` (below that, marshal's backfill is the cheaper way). `accept` checks the fetched
/// bytes against the offer (their block is the certified one, their state its recorded root);
/// a checkpoint it refuses is fetched from the next member. Returns `None` to start from the
/// local state: no member is far enough ahead, or none could be heard or trusted.
///
/// A validator asks at start, and again whenever it falls behind the history while running.
pub async fn catch_up<E, S, T>(
    context: &mut E,
    client: &mut Client<S>,
    peers: &Peers,
    (local, gap): (u64, u64),
    mut accept: impl FnMut(&mut E, &Offer, &[u8]) -> Option<T>,
) -> Option<Synced<T>>
where
    E: Clock + rand_core::CryptoRng,
    S: Sender<PublicKey = PublicKey>,
{
    if peers.others().is_empty() {
        return None;
    }
    let above = local.saturating_add(gap);
    client.forget();
    for round in 0..ROUNDS {
        let (answered, offers) = client.collect_offers(context, peers).await;
        let ahead = offers.values().any(|o| o.height > above);
        if !ahead && answered >= peers.quorum() {
            return None;
        }
        let choice = choose(&offers, peers.quorum(), above, &peers.scheme, context);
        let Some(mut choice) = choice else {
            info!(
                round,
                answered, "state sync: no offer made alike by enough members yet"
            );
            context.sleep(ASK_EVERY).await;
            continue;
        };
        shuffle(&mut choice.from, context);
        if let Some(synced) = client.fetch(context, &choice, &mut accept).await {
            return Some(synced);
        }
    }
    warn!("state sync: no checkpoint fetched; starting from local state");
    None
}

/// Shuffles `items` (Fisher–Yates): a Byzantine member is not always asked first.
fn shuffle<T>(items: &mut [T], rng: &mut impl rand_core::Rng) {
    for i in (1..items.len()).rev() {
        // Bound: `i + 1` is at most the slice's length.
        #[allow(clippy::arithmetic_side_effects)]
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// The syncing side of the channel: its sender, and the answers the server task forwards.
pub struct Client<S> {
    sender: S,
    answers: mpsc::Receiver<(PublicKey, Message)>,
}

impl<S> std::fmt::Debug for Client<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

/// Answers forwarded to a syncing client at most: a client waits for one chunk at a time and
/// for one offer per member, so more would only be a peer flooding it.
const ANSWERS: usize = 64;

impl<S: Sender<PublicKey = PublicKey>> Client<S> {
    /// Drops the answers that came since the last sync (late chunks, offers since outdated).
    fn forget(&mut self) {
        while self.answers.try_recv().is_ok() {}
    }

    fn send(&mut self, to: Recipients<PublicKey>, message: &Message) {
        let _ = self.sender.send(to, message.encode(), false);
    }

    /// Sends `message` to `peer` within the channel's rate to it, waiting for it if needed
    /// (a download asks for chunks faster than the quota allows a burst).
    async fn send_paced<E: Clock>(&mut self, clock: &E, peer: &PublicKey, message: &Message) {
        for _ in 0..4 {
            match self.sender.check(Recipients::One(peer.clone())) {
                Ok(checked) => {
                    let _ = checked.send(message.encode(), false);
                    return;
                }
                Err(at) => clock.sleep_until(at).await,
            }
        }
    }

    /// The next answer before `deadline`.
    async fn next<E: Clock>(
        &mut self,
        clock: &E,
        deadline: SystemTime,
    ) -> Option<(PublicKey, Message)> {
        select! {
            _ = clock.sleep_until(deadline) => None,
            answer = self.answers.next() => match answer {
                Some(answer) => Some(answer),
                None => {
                    clock.sleep_until(deadline).await;
                    None
                }
            },
        }
    }

    /// Offers from the other members, asking again those not heard from, until all answered
    /// or [`OFFER_WAIT`] passed; with how many answered.
    async fn collect_offers<E: Clock>(
        &mut self,
        clock: &E,
        peers: &Peers,
    ) -> (usize, BTreeMap<PublicKey, Offer>) {
        let others = peers.others();
        let deadline = later(clock, OFFER_WAIT);
        let mut answered = BTreeMap::new();
        while clock.current() < deadline {
            let missing: Vec<_> = others
                .iter()
                .filter(|p| !answered.contains_key(*p))
                .cloned()
                .collect();
            if missing.is_empty() {
                break;
            }
            self.send(Recipients::Some(missing), &Message::Ask);
            let round_end = later(clock, ASK_EVERY).min(deadline);
            while let Some((peer, message)) = self.next(clock, round_end).await {
                match message {
                    Message::Offer(offer) => {
                        answered.insert(peer, Some(offer));
                    }
                    Message::NoOffer => {
                        answered.insert(peer, None);
                    }
                    _ => {}
                }
            }
        }
        let count = answered.len();
        let offers = answered
            .into_iter()
            .filter_map(|(peer, offer)| Some((peer, offer?)))
            .collect();
        (count, offers)
    }

    /// The checkpoint of `choice`, fetched from its members in turn: one that stops answering
    /// is left for the next at the chunk it reached; bytes that fail the digest or `accept`
    /// are fetched again from the next. Each member is tried at most twice.
    async fn fetch<E: Clock, T>(
        &mut self,
        context: &mut E,
        choice: &Choice,
        accept: &mut impl FnMut(&mut E, &Offer, &[u8]) -> Option<T>,
    ) -> Option<Synced<T>> {
        let offer = &choice.offer;
        let len = usize::try_from(offer.len).ok()?;
        let mut bytes = Vec::with_capacity(len.min(64 << 20));
        let attempts = choice.from.len().saturating_mul(2);
        for peer in choice.from.iter().cycle().take(attempts) {
            if self
                .download(context, peer, offer, &mut bytes)
                .await
                .is_none()
            {
                warn!(%peer, height = offer.height, "state sync: a member stopped serving");
                continue;
            }
            let checked = (*blake3::hash(&bytes).as_bytes() == offer.digest)
                .then(|| accept(context, offer, &bytes))
                .flatten();
            match checked {
                Some(checked) => {
                    info!(height = offer.height, bytes = bytes.len(), %peer, "state sync: checkpoint fetched");
                    return Some(Synced {
                        offer: offer.clone(),
                        bytes,
                        checked,
                    });
                }
                None => {
                    warn!(%peer, height = offer.height, "state sync: a checkpoint failed its checks");
                    bytes.clear();
                }
            }
        }
        None
    }

    /// Appends `offer`'s chunks from `peer` to `bytes`, from the chunk it holds up to the
    /// end; `None` if the peer stops answering, moves on, or sends a chunk of the wrong size.
    async fn download<E: Clock>(
        &mut self,
        clock: &E,
        peer: &PublicKey,
        offer: &Offer,
        bytes: &mut Vec<u8>,
    ) -> Option<()> {
        let height = offer.height;
        let len = usize::try_from(offer.len).ok()?;
        while bytes.len() < len {
            let index = u32::try_from(bytes.len() / CHUNK).ok()?;
            let expected = len.saturating_sub(bytes.len()).min(CHUNK);
            self.send_paced(clock, peer, &Message::Fetch { height, index })
                .await;
            let deadline = later(clock, CHUNK_WAIT);
            let chunk = loop {
                let (from, message) = self.next(clock, deadline).await?;
                if from != *peer {
                    continue;
                }
                match message {
                    Message::Chunk {
                        height: h,
                        index: i,
                        bytes,
                    } if h == height && i == index => break bytes,
                    Message::Gone { height: h } if h == height => return None,
                    _ => {}
                }
            };
            if chunk.len() != expected {
                return None;
            }
            bytes.extend_from_slice(&chunk);
        }
        Some(())
    }
}

/// Starts the server: for as long as the validator runs, it answers the committee's requests
/// from `shelf`, and forwards answers to the returned client while it syncs. A member that
/// sends bytes that do not decode is blocked; anyone else's messages are dropped.
pub(crate) fn start<E, S, R, B>(
    context: E,
    shelf: Shelf,
    peers: Peers,
    (sender, mut receiver): (S, R),
    mut blocker: B,
) -> Client<S>
where
    E: Spawner,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    let (mut forward, answers) = mpsc::channel(ANSWERS);
    let mut replies = sender.clone();
    context.spawn(move |_| async move {
        let cfg = peers.cfg();
        let mut uploads = Uploads::default();
        while let Ok((peer, bytes)) = receiver.recv().await {
            if peer == peers.me || peers.committee.position(&peer).is_none() {
                continue;
            }
            let message = match Message::decode_cfg(commonware_codec::Copying(bytes.as_ref()), &cfg)
            {
                Ok(m) => m,
                Err(e) => {
                    warn!(%peer, error = %e, "blocking peer: bad state-sync message");
                    blocker.block(peer);
                    continue;
                }
            };
            match uploads.answer(&shelf, &peer, &message) {
                Some(reply) => {
                    let _ = replies.send(Recipients::One(peer), reply.encode(), false);
                }
                // An answer: for the client while it syncs, dropped after or when it is full.
                None => {
                    let _ = forward.try_send((peer, message));
                }
            }
        }
    });
    Client { sender, answers }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)] // a panic fails the test
mod tests {
    use super::*;

    use commonware_consensus::simplex::types::{Finalize, Proposal};
    use commonware_consensus::types::{Epoch, Round, View};
    use commonware_cryptography::{Signer as _, blake3::Digest, ed25519::PrivateKey};
    use commonware_utils::non_empty;
    use rand_core::SeedableRng as _;

    /// Four members' signing schemes over `namespace`.
    fn schemes(namespace: &[u8]) -> Vec<ed25519::Scheme> {
        let keys: Vec<_> = (0..4).map(|i| PrivateKey::from_seed(900 + i)).collect();
        let participants = Set::from_iter_dedup(keys.iter().map(|k| k.public_key()));
        keys.into_iter()
            .map(|k| ed25519::Scheme::signer(namespace, participants.clone(), k).unwrap())
            .collect()
    }

    /// A finalization of `payload` at view `view` by three of `schemes`.
    fn finalization(schemes: &[ed25519::Scheme], view: u64, payload: u8) -> ZoneFinalization {
        let proposal = Proposal::new(
            Round::new(Epoch::zero(), View::new(view)),
            View::new(view - 1),
            Digest([payload; 32]),
        );
        let votes: Vec<_> = schemes[..3]
            .iter()
            .map(|s| Finalize::sign(s, proposal.clone()).unwrap())
            .collect();
        ZoneFinalization::from_finalizes(&schemes[0], non_empty![@&votes], &Sequential).unwrap()
    }

    fn offer(height: u64, digest: u8, finalization: ZoneFinalization) -> Offer {
        Offer {
            height,
            digest: [digest; 32],
            len: 1_000,
            finalization,
        }
    }

    fn member(i: u64) -> PublicKey {
        PrivateKey::from_seed(900 + i).public_key()
    }

    #[test]
    fn messages_round_trip_and_bad_bytes_are_refused() {
        let schemes = schemes(b"zone");
        let cfg = Peers {
            me: member(0),
            committee: Set::from_iter_dedup((0..4).map(member)),
            scheme: schemes[0].clone(),
        }
        .cfg();
        let decode = |bytes: &[u8]| Message::decode_cfg(commonware_codec::Copying(bytes), &cfg);
        let all = [
            Message::Ask,
            Message::Offer(offer(256, 1, finalization(&schemes, 300, 1))),
            Message::NoOffer,
            Message::Fetch {
                height: 256,
                index: 3,
            },
            Message::Chunk {
                height: 256,
                index: 3,
                bytes: vec![7; CHUNK],
            },
            Message::Gone { height: 256 },
        ];
        for message in &all {
            let bytes = message.encode();
            assert_eq!(bytes.len(), message.encode_size());
            assert_eq!(&decode(&bytes).unwrap(), message);
            assert!(
                decode(&bytes[..bytes.len() - 1]).is_err(),
                "{message:?} cut short"
            );
            let mut long = bytes.to_vec();
            long.push(0);
            assert!(decode(&long).is_err(), "{message:?} with a trailing byte");
        }
        assert!(decode(&[9]).is_err());
        assert!(decode(&[]).is_err());
        // A chunk longer than CHUNK is refused before it is read.
        let mut big = vec![TAG_CHUNK];
        big.extend_from_slice(&256u64.to_be_bytes());
        big.extend_from_slice(&0u32.to_be_bytes());
        big.extend_from_slice(&(CHUNK as u32 + 1).to_be_bytes());
        big.resize(big.len() + CHUNK + 1, 0);
        assert!(decode(&big).is_err());
    }

    #[test]
    fn a_shelf_answers_asks_and_fetches_of_its_checkpoint_only() {
        let schemes = schemes(b"zone");
        let shelf = Shelf::default();
        assert_eq!(shelf.answer(&Message::Ask), Some(Message::NoOffer));
        assert_eq!(shelf.answer(&Message::NoOffer), None);
        let bytes: Vec<u8> = (0..CHUNK + 10).map(|i| i as u8).collect();
        shelf.put(256, bytes.clone(), finalization(&schemes, 300, 1));
        let Some(Message::Offer(offered)) = shelf.answer(&Message::Ask) else {
            panic!("no offer");
        };
        assert_eq!(offered.height, 256);
        assert_eq!(offered.len, bytes.len() as u64);
        assert_eq!(offered.digest, *blake3::hash(&bytes).as_bytes());
        let fetch = |height, index| shelf.answer(&Message::Fetch { height, index });
        assert_eq!(
            fetch(256, 1),
            Some(Message::Chunk {
                height: 256,
                index: 1,
                bytes: bytes[CHUNK..].to_vec()
            })
        );
        assert_eq!(fetch(256, 2), Some(Message::Gone { height: 256 }));
        assert_eq!(fetch(240, 0), Some(Message::Gone { height: 240 }));
        // Newer checkpoints are offered; the last KEPT are still served to downloads begun on
        // them, older ones are gone.
        for height in [512, 768, 1024] {
            shelf.put(
                height,
                vec![height as u8; 10],
                finalization(&schemes, 300, 1),
            );
        }
        let Some(Message::Offer(latest)) = shelf.answer(&Message::Ask) else {
            panic!("no offer");
        };
        assert_eq!(latest.height, 1024);
        assert!(matches!(fetch(512, 0), Some(Message::Chunk { .. })));
        assert_eq!(fetch(256, 0), Some(Message::Gone { height: 256 }));
    }

    /// A peer that fetches a checkpoint more often than two syncs try a member is told it
    /// is gone; other peers, and the next checkpoint, are served as before.
    #[test]
    fn a_peer_is_sent_each_checkpoint_four_times_at_most() {
        let schemes = schemes(b"zone");
        let shelf = Shelf::default();
        shelf.put(256, vec![1; CHUNK + 10], finalization(&schemes, 300, 1));
        let mut uploads = Uploads::default();
        let fetch = |uploads: &mut Uploads, peer: u64, height, index| {
            uploads.answer(&shelf, &member(peer), &Message::Fetch { height, index })
        };
        for _ in 0..UPLOADS_PER_PEER {
            for index in 0..2 {
                assert!(matches!(
                    fetch(&mut uploads, 1, 256, index),
                    Some(Message::Chunk { .. })
                ));
            }
        }
        assert_eq!(
            fetch(&mut uploads, 1, 256, 0),
            Some(Message::Gone { height: 256 })
        );
        assert!(matches!(
            fetch(&mut uploads, 2, 256, 0),
            Some(Message::Chunk { .. })
        ));
        shelf.put(512, vec![2; 10], finalization(&schemes, 300, 1));
        assert!(matches!(
            fetch(&mut uploads, 1, 512, 0),
            Some(Message::Chunk { .. })
        ));
        // Asks are not counted.
        assert!(matches!(
            uploads.answer(&shelf, &member(1), &Message::Ask),
            Some(Message::Offer(_))
        ));
    }

    /// The nonces in a checkpoint are covered by no certificate: an offer is taken only when
    /// `f + 1` members make it alike, with a certificate that verifies.
    #[test]
    fn an_offer_is_taken_only_when_enough_members_make_it_alike() {
        let members = schemes(b"zone");
        let verifier = &members[0];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let good = finalization(&members, 300, 1);
        let foreign = finalization(&schemes(b"another zone"), 300, 1);
        let pick = |offers: &[(u64, Offer)], above, rng: &mut rand_chacha::ChaCha8Rng| {
            let offers: BTreeMap<_, _> = offers
                .iter()
                .map(|(i, o)| (member(*i), o.clone()))
                .collect();
            choose(&offers, 2, above, verifier, rng)
        };
        // One liar with a higher offer, or the same height with other bytes, is outvoted.
        let honest = [
            (1, offer(512, 1, good.clone())),
            (2, offer(512, 1, good.clone())),
        ];
        let mut offers = honest.to_vec();
        offers.push((3, offer(1_024, 9, good.clone())));
        let choice = pick(&offers, 0, &mut rng).unwrap();
        assert_eq!(choice.offer, offer(512, 1, good.clone()));
        assert_eq!(choice.from, vec![member(1), member(2)]);
        offers.pop();
        offers.push((3, offer(512, 9, good.clone())));
        assert_eq!(pick(&offers, 0, &mut rng).unwrap().offer.digest, [1; 32]);
        // Alone, the liar's offer is not taken.
        assert_eq!(
            pick(&[(3, offer(1_024, 9, good.clone()))], 0, &mut rng),
            None
        );
        // Agreement with a certificate from another chain is not enough; one good one is.
        let forged = [
            (1, offer(512, 1, foreign.clone())),
            (2, offer(512, 1, foreign.clone())),
        ];
        assert_eq!(pick(&forged, 0, &mut rng), None);
        let mixed = [
            (1, offer(512, 1, foreign)),
            (2, offer(512, 1, good.clone())),
        ];
        assert_eq!(pick(&mixed, 0, &mut rng).unwrap().offer.finalization, good);
        // A member pairing the agreed digest with another block's certificate (which verifies)
        // makes an offer of its own, which no one else makes.
        let other_block = finalization(&members, 299, 2);
        let mut paired = honest.to_vec();
        paired.insert(0, (0, offer(512, 1, other_block.clone())));
        let choice = pick(&paired, 0, &mut rng).unwrap();
        assert_eq!(choice.offer.finalization, good);
        assert_eq!(choice.from, vec![member(1), member(2)]);
        let split = [
            (0, offer(512, 1, other_block)),
            (1, offer(512, 1, good.clone())),
        ];
        assert_eq!(pick(&split, 0, &mut rng), None);
        // Nothing above the local state, or too large to fetch, is taken.
        assert_eq!(pick(&honest, 512, &mut rng), None);
        let mut huge = honest.clone();
        for (_, o) in &mut huge {
            o.len = MAX_CHECKPOINT + 1;
        }
        assert_eq!(pick(&huge, 0, &mut rng), None);
    }

    #[test]
    fn chunks_cover_the_bytes_exactly() {
        let bytes: Vec<u8> = (0..(2 * CHUNK + 5)).map(|i| i as u8).collect();
        let joined: Vec<u8> = (0..3)
            .flat_map(|i| chunk_of(&bytes, i).unwrap().to_vec())
            .collect();
        assert_eq!(joined, bytes);
        assert_eq!(chunk_of(&bytes, 3), None);
        assert_eq!(chunk_of(&bytes, u32::MAX), None);
    }
}
