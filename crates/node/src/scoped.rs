//! A sender that keeps a zone's traffic inside its committee. One network carries every zone a
//! validator serves, and the consensus crates send much of their traffic to `Recipients::All`:
//! on a network shared by a whole world's pool, that would reach every validator of every
//! zone, so a validator's messages would grow with the world instead of with the zones it
//! serves.

use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::{LimitedSender, Recipients};
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
