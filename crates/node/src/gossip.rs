//! Action gossip: a player may send its actions to any validator of the zone; each validator
//! relays the actions it admitted from its own clients to the rest of the committee, so whichever
//! validator leads the next view can include them.
//!
//! A batch is a count (at most [`MAX_BATCH`]) followed by canonically encoded signed actions and
//! nothing else. A peer that sends bytes that do not decode, or an action with a bad signature
//! (which it should have refused itself), is blocked. Other refusals (duplicates, expired ticks,
//! rate limits) are normal in gossip and only dropped.
// Values here come from actions, blocks, gossip, checkpoints or the genesis: arithmetic and
// indexing are checked, and each allowance states the bound that holds.
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use crate::application::{SharedZone, lock};
use crate::metrics::ZoneMetrics;
use bytes::BufMut as _;
use commonware_codec::{Encode as _, EncodeSize as _, Read as _, ReadExt as _};
use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::{Blocker, Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Spawner};
use commonware_utils::ordered::Set;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{debug, warn};
use z3r0_chain::{SignedAction, Snapshot, StateMachine};

/// Most actions in one gossip message.
pub const MAX_BATCH: usize = 1_024;
/// Most admitted actions waiting to be relayed; beyond it the oldest are not relayed (they still
/// reach the chain when this validator leads).
const MAX_OUTBOX: usize = 16_384;
/// How often queued actions are relayed: a few times per 50 ms tick, so an action reaches the
/// next leader in time, without a message per action.
const FLUSH: Duration = Duration::from_millis(15);

/// Admitted local actions waiting to be relayed.
#[derive(Debug, Default, Clone)]
pub struct Outbox(Arc<Mutex<Vec<SignedAction>>>);

impl Outbox {
    pub fn push(&self, action: SignedAction) {
        let mut queue = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if queue.len() < MAX_OUTBOX {
            queue.push(action);
        }
    }

    fn take(&self) -> Vec<SignedAction> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Encodes one gossip message.
pub fn encode_batch(actions: &[SignedAction]) -> Vec<u8> {
    let size = actions
        .iter()
        .fold(4usize, |n, a| n.saturating_add(a.encode_size()));
    let mut out = Vec::with_capacity(size);
    out.put_u32(actions.len() as u32);
    for a in actions {
        out.extend_from_slice(&a.encode());
    }
    out
}

/// Why a gossip message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("batch of {0} actions exceeds {MAX_BATCH}")]
    TooMany(usize),
    #[error("undecodable action: {0}")]
    Malformed(String),
    #[error("{0} trailing bytes")]
    Trailing(usize),
}

/// Decodes one gossip message; never panics on arbitrary bytes.
pub fn decode_batch(bytes: &[u8]) -> Result<Vec<SignedAction>, BatchError> {
    let mut copying = commonware_codec::Copying(bytes);
    let buf = &mut copying;
    let count = u32::read(buf).map_err(|e| BatchError::Malformed(e.to_string()))? as usize;
    if count > MAX_BATCH {
        return Err(BatchError::TooMany(count));
    }
    let mut actions = Vec::with_capacity(count.min(buf.0.len() / 64));
    for _ in 0..count {
        actions.push(
            SignedAction::read_cfg(buf, &()).map_err(|e| BatchError::Malformed(e.to_string()))?,
        );
    }
    if !buf.0.is_empty() {
        return Err(BatchError::Trailing(buf.0.len()));
    }
    Ok(actions)
}

/// Starts the relay (flushes the outbox to every peer) and the intake (admits peers' actions).
pub(crate) fn start<E, M, S, R, B>(
    context: E,
    zone: SharedZone<M>,
    outbox: Outbox,
    participants: Set<PublicKey>,
    metrics: ZoneMetrics,
    (mut sender, mut receiver): (S, R),
    mut blocker: B,
) where
    E: Spawner + Clock + commonware_runtime::Supervisor + rand_core::CryptoRng,
    M: StateMachine + Snapshot + Send + 'static,
    M::Receipt: Send,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
{
    context.child("relay").spawn(move |clock| async move {
        loop {
            clock.sleep(FLUSH).await;
            let queued = outbox.take();
            for batch in queued.chunks(MAX_BATCH) {
                sender.send(Recipients::All, encode_batch(batch), false);
            }
        }
    });
    let chain = lock(&zone).executor.config().chain;
    context.child("intake").spawn(move |mut rng| async move {
        while let Ok((peer, message)) = receiver.recv().await {
            let actions = match decode_batch(message.as_ref()) {
                Ok(actions) => actions,
                Err(e) => {
                    warn!(%peer, error = %e, "blocking peer: bad action gossip");
                    blocker.block(peer);
                    continue;
                }
            };
            let position = participants
                .position(&peer)
                .and_then(|p| u32::try_from(p).ok());
            let source = crate::application::Source::Peer(position);
            // One batch verification for the whole message; a peer relaying a forgery (which it
            // should have refused itself) is faulty.
            if !z3r0_chain::verify_all_endorsed(&mut rng, &chain, &actions, M::endorsement)
                .is_empty()
            {
                warn!(%peer, "blocking peer: relayed an action with a bad signature");
                blocker.block(peer);
                continue;
            }
            admit(&zone, &metrics, &peer, source, actions);
        }
    });
}

/// Offers a peer's batch-verified actions to the mempool.
fn admit<M: StateMachine + Snapshot>(
    zone: &SharedZone<M>,
    metrics: &ZoneMetrics,
    peer: &PublicKey,
    source: crate::application::Source,
    actions: Vec<SignedAction>,
) {
    let mut zone = lock(zone);
    for action in actions {
        match zone.mempool.submit_verified(&source, action) {
            Ok(()) => {
                metrics.submitted.inc();
            }
            Err(reason) => {
                debug!(%peer, %reason, "gossiped action not admitted");
                metrics.rejected.inc();
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)] // a panic fails the test
mod tests {
    use super::*;
    use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
    use z3r0_chain::Action;

    fn action(n: u64) -> SignedAction {
        let key = PrivateKey::from_seed(n);
        Action {
            player: key.public_key(),
            zone: 0,
            tick: n,
            nonce: n,
            payload: vec![1, 2, 3].into(),
        }
        .sign(&key, &z3r0_chain::ChainId::default())
    }

    #[test]
    fn batches_round_trip_and_bad_bytes_are_refused() {
        let actions: Vec<_> = (0..5).map(action).collect();
        let bytes = encode_batch(&actions);
        assert_eq!(decode_batch(&bytes).unwrap(), actions);
        assert!(matches!(
            decode_batch(&bytes[..bytes.len() - 1]),
            Err(BatchError::Malformed(_))
        ));
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(decode_batch(&long), Err(BatchError::Trailing(1)));
        let mut many = (MAX_BATCH as u32 + 1).to_be_bytes().to_vec();
        many.extend_from_slice(&bytes[4..]);
        assert_eq!(decode_batch(&many), Err(BatchError::TooMany(MAX_BATCH + 1)));
        assert!(decode_batch(&[]).is_err());
        assert_eq!(decode_batch(&0u32.to_be_bytes()).unwrap(), vec![]);
    }
}
