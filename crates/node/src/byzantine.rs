//! A Byzantine leader, for tests only: whenever it leads, it turns its honest proposal into one
//! that breaks a rule, trying each attack in turn. The harness runs it as one validator of a
//! simulated zone and checks that the honest ones refuse every such block and keep finalizing.
// Values here are the attacker's own: arithmetic and indexing are checked as elsewhere.
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use crate::executor::Executed;
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use z3r0_chain::{
    ACTION_NAMESPACE, Action, Block, ChainId, MAX_BLOCK_ACTIONS, SignedAction, forge,
};

/// One way a leader can try to bend the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Attack {
    /// An action signed for a victim without its key, covered in the batch equation by one of
    /// the leader's own (coefficients predicted from the parent's state root).
    ForgedPair,
    /// A validly signed action whose payload the game cannot decode.
    JunkPayload,
    /// Actions the parent already applied, included again.
    NonceReplay,
    /// A block for the last tick there is.
    FarFutureTick,
    /// More actions than a block may carry.
    Oversized,
    /// A parent state root the chain never computed.
    LyingRoot,
    /// A validly signed action whose payload carries a second signature (a delegation's
    /// consent) that is forged.
    ForgedConsent,
}

impl Attack {
    pub const ALL: [Attack; 7] = [
        Attack::ForgedPair,
        Attack::JunkPayload,
        Attack::NonceReplay,
        Attack::FarFutureTick,
        Attack::Oversized,
        Attack::LyingRoot,
        Attack::ForgedConsent,
    ];
}

/// A validator's Byzantine mode: the attacks it tries in turn, and how often it tried each.
#[derive(Debug, Clone)]
pub struct Byzantine {
    chain: ChainId,
    /// A payload the machine decodes (the forged action carries it, so only its signature is
    /// wrong).
    valid_payload: Vec<u8>,
    /// A payload whose endorsement (see `StateMachine::endorsement`) does not hold when
    /// the leader's own key signs it.
    forged_consent: Vec<u8>,
    victim: PrivateKey,
    tried: Arc<Mutex<BTreeMap<Attack, u64>>>,
    /// The attacks tried in turn; none for a validator that only equivocates (see
    /// [`Byzantine::twin`]).
    attacks: &'static [Attack],
    /// Every block proposed, by height (twins of one validator propose different ones).
    proposed: Arc<Mutex<BTreeMap<u64, std::collections::BTreeSet<z3r0_chain::Hash>>>>,
    /// Digests of every corrupted block proposed, so a harness can show none was finalized.
    corrupted: Arc<Mutex<std::collections::BTreeSet<z3r0_chain::Hash>>>,
}

impl Byzantine {
    /// `victim` is a player the forged action speaks for (its key is used only to name it);
    /// `forged_consent` a payload whose endorsement fails (see [`Byzantine::leader_key`]).
    pub fn new(
        chain: ChainId,
        valid_payload: Vec<u8>,
        forged_consent: Vec<u8>,
        victim: PrivateKey,
    ) -> Self {
        Self {
            chain,
            valid_payload,
            forged_consent,
            victim,
            tried: Arc::default(),
            attacks: &Attack::ALL,
            proposed: Arc::default(),
            corrupted: Arc::default(),
        }
    }

    /// A validator run as twins (see `SimNet::start_twins`): its proposals are honest and
    /// recorded, so a harness can show the two halves proposed different blocks.
    pub fn twin(chain: ChainId) -> Self {
        Self {
            attacks: &[],
            ..Self::new(chain, Vec::new(), Vec::new(), PrivateKey::from_seed(0))
        }
    }

    /// Digests proposed at each height (more than one: the validator equivocated).
    pub fn proposed(&self) -> BTreeMap<u64, std::collections::BTreeSet<z3r0_chain::Hash>> {
        self.proposed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Digests of the corrupted blocks proposed so far.
    pub fn corrupted(&self) -> std::collections::BTreeSet<z3r0_chain::Hash> {
        self.corrupted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many proposals each attack corrupted so far.
    pub fn tried(&self) -> BTreeMap<Attack, u64> {
        self.tried.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Turns `block`, an honest proposal on `parent`, into the next attack's; true if it did
    /// (a twin's proposals stay honest, and are only recorded).
    pub fn corrupt(&self, block: &mut Block, parent: &Executed) -> bool {
        let Some(attack) = self.next_attack() else {
            self.proposed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(block.height)
                .or_default()
                .insert(block.digest());
            return false;
        };
        tracing::warn!(?attack, height = block.height, "byzantine proposal");
        match attack {
            Attack::ForgedPair => block.actions = self.forged_pair(block, parent),
            Attack::JunkPayload => block.actions.push(self.own(block, parent, vec![0xff; 7])),
            Attack::NonceReplay => {
                let replay = parent.block.actions.clone();
                block.actions = if replay.is_empty() {
                    let again = self.own(block, parent, self.valid_payload.clone());
                    vec![again.clone(), again]
                } else {
                    replay
                };
            }
            Attack::FarFutureTick => block.tick = u64::MAX,
            Attack::Oversized => {
                let one = self.own(block, parent, self.valid_payload.clone());
                block.actions = vec![one; MAX_BLOCK_ACTIONS.saturating_add(1)];
            }
            Attack::LyingRoot => block.parent_state_root = [0x1e; 32],
            Attack::ForgedConsent => {
                let forged = self.own(block, parent, self.forged_consent.clone());
                block.actions.push(forged);
            }
        }
        self.corrupted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(block.digest());
        true
    }

    /// The next attack in turn, counted as tried.
    fn next_attack(&self) -> Option<Attack> {
        let mut tried = self.tried.lock().unwrap_or_else(|p| p.into_inner());
        let total: u64 = tried.values().sum();
        let len = self.attacks.len() as u64;
        let index = usize::try_from(total.checked_rem(len)?).ok()?;
        let attack = *self.attacks.get(index)?;
        let count = tried.entry(attack).or_insert(0);
        *count = count.saturating_add(1);
        Some(attack)
    }

    /// The key the leader signs its own actions with.
    pub fn leader_key() -> PrivateKey {
        PrivateKey::from_seed(0x0bad)
    }

    /// An action of the leader's own key, validly signed.
    fn own(&self, block: &Block, parent: &Executed, payload: Vec<u8>) -> SignedAction {
        let key = Self::leader_key();
        Action {
            player: key.public_key(),
            zone: block.zone,
            tick: block.tick,
            nonce: parent.nonces.next(&key.public_key()),
            payload: payload.into(),
        }
        .sign(&key, &self.chain)
    }

    fn forged_pair(&self, block: &Block, parent: &Executed) -> Vec<SignedAction> {
        let accomplice = forge::Accomplice::from_seed(0x0bad);
        let action = |player: commonware_cryptography::ed25519::PublicKey| Action {
            nonce: parent.nonces.next(&player),
            player,
            zone: block.zone,
            tick: block.tick,
            payload: self.valid_payload.clone().into(),
        };
        // The coefficients honest validators once drew from the parent's root.
        let mut predictable = ChaCha20Rng::from_seed(parent.root);
        let z = forge::predict_coefficients(&mut predictable, 2);
        let (Some(&z_victim), Some(&z_cover)) = (z.first(), z.get(1)) else {
            return Vec::new();
        };
        let (forged, cover) = forge::forged_pair(
            &self.chain.namespace(ACTION_NAMESPACE),
            action(self.victim.public_key()),
            action(accomplice.public.clone()),
            &accomplice,
            z_victim,
            z_cover,
        );
        vec![forged, cover]
    }
}
