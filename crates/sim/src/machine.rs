//! The game as the zone chain's state machine: one finalized block executes one tick.

use crate::action::PlayerKey;
use crate::rules::{BlockAction, Receipt, Sim, SimError};
use commonware_codec::DecodeExt as _;
use commonware_cryptography::ed25519::{PublicKey, Signature};
use z3r0_chain::{Endorsement, Hash, SignedAction, Snapshot, StateMachine};

impl StateMachine for Sim {
    type Receipt = Receipt;

    fn import_key(&self, import: &[u8]) -> Option<(u32, u8, u64)> {
        Sim::import_key(self, import)
    }

    /// An import must be a record of a neighbour's finalized state, certified by its committee
    /// and addressed to this zone.
    fn check_import(&self, import: &[u8]) -> Result<(), String> {
        self.neighbours()
            .verify(import)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// The neighbours' committees are shared with every copy of the zone, and do not change.
    fn import_checker(&self) -> z3r0_chain::ImportChecker {
        let neighbours = self.shared_neighbours();
        std::sync::Arc::new(move |import: &[u8]| {
            neighbours
                .verify(import)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }

    /// A payload must decode as a game [`crate::Action`].
    fn check_payload(payload: &[u8]) -> Result<(), String> {
        crate::Action::decode(payload)
            .map(|_| ())
            .map_err(|e| format!("not a game action: {e}"))
    }

    /// A `Delegate` carries the session key's consent: the chain batch-verifies it with the
    /// block's signatures, so execution does not check it again under the zone lock.
    fn endorsement(action: &SignedAction) -> Result<Option<Endorsement>, String> {
        let Ok(crate::Action::Delegate {
            session,
            until,
            consent,
        }) = crate::Action::decode(action.action.payload.as_ref())
        else {
            return Ok(None);
        };
        let key = PublicKey::decode(commonware_codec::Copying(&session[..]))
            .map_err(|e| format!("session key: {e}"))?;
        let signature = Signature::decode(commonware_codec::Copying(&consent[..]))
            .map_err(|e| format!("session consent: {e}"))?;
        let account = <&PlayerKey>::try_from(action.action.player.as_ref())
            .map_err(|_| "account key length".to_string())?;
        Ok(Some(Endorsement {
            key,
            domain: crate::action::SESSION_NAMESPACE,
            message: crate::action::session_consent_message(account, until).to_vec(),
            signature,
        }))
    }

    fn root(&self) -> Hash {
        Sim::root(self)
    }

    /// The signer's ed25519 public key (32 bytes) is the player's account; the payload is a game
    /// [`crate::Action`] (undecodable ones are refused with `BadFrame`, never fatal), applied at
    /// the tick the action targets.
    fn execute(
        &mut self,
        tick: u64,
        actions: &[SignedAction],
        imports: &[Vec<u8>],
        receipts: &mut Vec<Receipt>,
    ) -> Hash {
        let keyed = actions.iter().filter_map(|a| {
            Some(BlockAction {
                player: <&PlayerKey>::try_from(a.action.player.as_ref()).ok()?,
                tick: a.action.tick,
                nonce: a.action.nonce,
                payload: a.action.payload.as_ref(),
                endorsed: true,
            })
        });
        self.execute_with_imports(tick, keyed, imports, receipts)
    }
}

impl Snapshot for Sim {
    type Error = SimError;

    fn snapshot(&self, out: &mut Vec<u8>) -> Result<(), SimError> {
        Sim::snapshot(self, out)
    }

    /// The neighbours are configuration, not state: they come from this zone, or a restored
    /// validator would refuse the imports its peers apply.
    fn restore(&self, bytes: &[u8]) -> Result<Self, SimError> {
        let mut restored = Sim::restore_parts(
            *self.config(),
            self.plugins().clone(),
            bytes,
            self.shared_border(),
        )?;
        restored.set_neighbours(self.shared_neighbours());
        Ok(restored)
    }

    /// A copy in memory: no encoding and decoding of every chunk, which was most of a fork's
    /// cost.
    fn fork(&self) -> Result<Self, SimError> {
        Ok(self.clone())
    }
}
