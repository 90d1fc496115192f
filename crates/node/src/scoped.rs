//! A sender that keeps a zone's traffic inside its committee. One network carries every zone a
//! validator serves, and the consensus crates send much of their traffic to `Recipients::All`:
//! on a network shared by a whole world's pool, that would reach every validator of every
//! zone, so a validator's messages would grow with the world instead of with the zones it
//! serves.

use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::{LimitedSender, PeerSetSubscription, PeerSetUpdate, Provider};
use commonware_p2p::{Recipients, TrackedPeers};
use commonware_runtime::{Spawner, Supervisor};
use commonware_utils::channel::mpsc;
use commonware_utils::ordered::Set;
use std::sync::Arc;
use std::time::SystemTime;

/// `inner`, with `Recipients::All` narrowed to the committee (less this validator).
#[derive(Clone, Debug)]
pub struct CommitteeSender<S> {
    inner: S,
    others: Arc<Vec<PublicKey>>,
}

impl<S> CommitteeSender<S> {
    /// A sender for `me` on a zone whose committee is `committee`.
    pub fn new(inner: S, committee: &[PublicKey], me: &PublicKey) -> Self {
        let others = committee.iter().filter(|k| *k != me).cloned().collect();
        Self {
            inner,
            others: Arc::new(others),
        }
    }
}

impl<S: LimitedSender<PublicKey = PublicKey>> LimitedSender for CommitteeSender<S> {
    type PublicKey = PublicKey;
    type Checked<'a>
        = S::Checked<'a>
    where
        Self: 'a;

    fn check(
        &mut self,
        recipients: Recipients<PublicKey>,
    ) -> Result<Self::Checked<'_>, SystemTime> {
        let recipients = match recipients {
            Recipients::All => Recipients::Some(self.others.as_ref().clone()),
            other => other,
        };
        self.inner.check(recipients)
    }
}

/// `inner`'s peer sets narrowed to the committee. Marshal's resolver asks these peers for
/// missing blocks: on a network shared by a world's pool, the others hold no replica of this
/// zone, so a request to one of them only times out. (The block broadcast keeps the whole
/// set: it hears only from the committee anyway, as the zone's channels reach no one else.)
pub struct CommitteePeers<C, E> {
    inner: C,
    committee: Arc<Set<PublicKey>>,
    /// Runs the task that narrows each subscription's updates.
    spawner: Arc<E>,
}

impl<C: Clone, E> Clone for CommitteePeers<C, E> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            committee: self.committee.clone(),
            spawner: self.spawner.clone(),
        }
    }
}

impl<C, E> CommitteePeers<C, E> {
    pub fn new(inner: C, committee: Set<PublicKey>, spawner: E) -> Self {
        Self {
            inner,
            committee: Arc::new(committee),
            spawner: Arc::new(spawner),
        }
    }
}

impl<C: std::fmt::Debug, E> std::fmt::Debug for CommitteePeers<C, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitteePeers")
            .field("inner", &self.inner)
            .field("committee", &self.committee.len())
            .finish()
    }
}

/// `peers` less everyone outside `committee`.
fn narrow(committee: &Set<PublicKey>, peers: TrackedPeers<PublicKey>) -> TrackedPeers<PublicKey> {
    let keep = |set: Set<PublicKey>| {
        Set::from_iter_dedup(set.into_iter().filter(|k| committee.position(k).is_some()))
    };
    TrackedPeers::new(keep(peers.primary), keep(peers.secondary))
}

impl<C, E> Provider for CommitteePeers<C, E>
where
    C: Provider<PublicKey = PublicKey>,
    E: Spawner + Supervisor + Send + Sync + 'static,
{
    type PublicKey = PublicKey;

    async fn peer_set(&mut self, id: u64) -> Option<TrackedPeers<PublicKey>> {
        let peers = self.inner.peer_set(id).await?;
        Some(narrow(&self.committee, peers))
    }

    async fn subscribe(&mut self) -> PeerSetSubscription<PublicKey> {
        let mut updates = self.inner.subscribe().await;
        let (sender, narrowed) = mpsc::unbounded_channel();
        let committee = self.committee.clone();
        self.spawner
            .child("committee_peers")
            .spawn(move |_| async move {
                while let Some(update) = updates.recv().await {
                    let update = PeerSetUpdate {
                        index: update.index,
                        latest: narrow(&committee, update.latest),
                        all: narrow(&committee, update.all),
                    };
                    if sender.send(update).is_err() {
                        break;
                    }
                }
            });
        narrowed
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
    use commonware_macros::select;
    use commonware_p2p::Manager as _;
    use commonware_p2p::simulated::{Config, Network};
    use commonware_runtime::{Clock as _, Runner as _, deterministic};
    use commonware_utils::NZUsize;
    use std::time::Duration;

    #[test]
    fn marshal_sees_only_the_committee_of_a_shared_network() {
        deterministic::Runner::seeded(7).start(|context| async move {
            let pool: Vec<PublicKey> = (0..5)
                .map(|i| PrivateKey::from_seed(i).public_key())
                .collect();
            let (network, oracle) = Network::new_with_peers(
                context.child("network"),
                Config {
                    max_size: 1 << 16,
                    max_peers_per_set: NZUsize!(5),
                    disconnect_on_block: true,
                    tracked_peer_sets: NZUsize!(2),
                },
                pool.iter().cloned(),
            )
            .await;
            network.start();
            let committee =
                Set::from_iter_dedup([pool[0].clone(), pool[2].clone(), pool[4].clone()]);
            let mut peers =
                CommitteePeers::new(oracle.manager(), committee.clone(), context.child("peers"));
            let mut updates = peers.subscribe().await;
            let mut manager = oracle.manager();
            let _ = manager.track(1, Set::from_iter_dedup(pool.iter().cloned()));
            // The whole pool is tracked; the zone's marshal hears of its committee only.
            let update = loop {
                select! {
                    update = updates.recv() => {
                        let update = update.expect("the subscription stays open");
                        if update.index == 1 {
                            break update;
                        }
                    },
                    _ = context.sleep(Duration::from_secs(5)) => panic!("no peer set update"),
                }
            };
            assert_eq!(update.latest.clone().union(), committee);
            assert_eq!(update.all.union(), committee);
            assert_eq!(peers.peer_set(1).await.unwrap().union(), committee);
            // The network itself still tracks everyone.
            assert_eq!(manager.peer_set(1).await.unwrap().union().len(), 5);
        });
    }
}
