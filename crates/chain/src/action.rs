//! Actions: a player's signed input for one tick. The payload is opaque here (the game state
//! machine decodes it); the chain checks who signed it, for which zone and tick, and its nonce.
// Values here come from actions, blocks, gossip, checkpoints or the genesis: arithmetic and
// indexing are checked, and each allowance states the bound that holds.
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use bytes::{Buf as _, BufMut, Bytes};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};
use commonware_cryptography::ed25519::{PrivateKey, PublicKey, Signature};
use commonware_cryptography::{BatchEntry, BatchVerifier as _, Signer as _, Verifier as _};
use rand_core::CryptoRng;
use std::collections::BTreeMap;

use crate::ChainId;

/// Domain of action signatures: a signature over an action can never be replayed as anything
/// else (consensus votes, peer handshakes). The namespace is [`ChainId::namespace`] of it, so
/// an action signed for one genesis never verifies under another.
pub const ACTION_NAMESPACE: &[u8] = b"z3r0/action/v1";

/// Largest payload an action may carry.
pub const MAX_PAYLOAD: usize = 256;

/// A player's input for one tick, before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub player: PublicKey,
    pub zone: u32,
    pub tick: u64,
    /// Per-player sequence number: each included action's nonce is above the last one's.
    pub nonce: u64,
    pub payload: Bytes,
}

impl Action {
    /// The bytes that are signed: the canonical encoding.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encode_size());
        self.write(&mut out);
        out
    }

    /// Signs for `chain`.
    pub fn sign(self, key: &PrivateKey, chain: &ChainId) -> SignedAction {
        let signature = key.sign(&chain.namespace(ACTION_NAMESPACE), &self.signing_bytes());
        SignedAction {
            action: self,
            signature,
        }
    }
}

impl Write for Action {
    fn write(&self, buf: &mut impl BufMut) {
        self.player.write(buf);
        buf.put_u32(self.zone);
        buf.put_u64(self.tick);
        buf.put_u64(self.nonce);
        buf.put_u16(self.payload.len() as u16);
        buf.put_slice(&self.payload);
    }
}

impl EncodeSize for Action {
    // Bound: a few fixed fields and one in-memory payload, far below `usize::MAX`.
    #[allow(clippy::arithmetic_side_effects)]
    fn encode_size(&self) -> usize {
        self.player.encode_size() + 4 + 8 + 8 + 2 + self.payload.len()
    }
}

/// Decoded player keys by their bytes. Decoding a key decompresses its curve point (a square
/// root, ~10 µs), and a validator decodes each action at least twice (gossip, then the block)
/// from a player set that changes slowly. Bounded: cleared when full. A pure memo of a
/// deterministic function, so it changes no result.
static PLAYER_KEYS: std::sync::Mutex<BTreeMap<[u8; 32], PublicKey>> =
    std::sync::Mutex::new(BTreeMap::new());
const PLAYER_KEYS_CACHED: usize = 16_384;

fn read_player(buf: &mut impl Buf) -> Result<PublicKey, CodecError> {
    let bytes = <[u8; 32]>::read(buf)?;
    let lock = || PLAYER_KEYS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(key) = lock().get(&bytes) {
        return Ok(key.clone());
    }
    // Decompressed without the lock held: other decoders need not wait for it.
    let key = PublicKey::read(&mut commonware_codec::Copying(&bytes[..]))?;
    let mut cache = lock();
    if cache.len() >= PLAYER_KEYS_CACHED {
        cache.clear();
    }
    cache.insert(bytes, key.clone());
    Ok(key)
}

impl Read for Action {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let player = read_player(buf)?;
        let zone = u32::read(buf)?;
        let tick = u64::read(buf)?;
        let nonce = u64::read(buf)?;
        let len = usize::from(u16::read(buf)?);
        if len > MAX_PAYLOAD {
            return Err(CodecError::InvalidLength(len));
        }
        if buf.remaining() < len {
            return Err(CodecError::EndOfBuffer);
        }
        let payload = buf.copy_to_bytes(len);
        Ok(Action {
            player,
            zone,
            tick,
            nonce,
            payload,
        })
    }
}

/// An action with its player's ed25519 signature (ZIP-215 rules, as commonware-cryptography
/// implements them, so single and batch verification agree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAction {
    pub action: Action,
    pub signature: Signature,
}

impl SignedAction {
    /// Whether the signature is the player's, made for `chain`.
    pub fn verify(&self, chain: &ChainId) -> bool {
        self.action.player.verify(
            &chain.namespace(ACTION_NAMESPACE),
            &self.action.signing_bytes(),
            &self.signature,
        )
    }

    /// Identity of the signed action: blake3 of its canonical encoding.
    pub fn id(&self) -> [u8; 32] {
        let mut out = Vec::with_capacity(self.encode_size());
        self.write(&mut out);
        *blake3::hash(&out).as_bytes()
    }

    pub fn encode_to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encode_size());
        self.write(&mut out);
        out
    }

    /// Decodes one signed action from exactly `bytes` (trailing bytes are an error).
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        commonware_codec::Decode::decode_cfg(commonware_codec::Copying(bytes), &())
    }
}

impl Write for SignedAction {
    fn write(&self, buf: &mut impl BufMut) {
        self.action.write(buf);
        self.signature.write(buf);
    }
}

impl EncodeSize for SignedAction {
    // Bound: as for `Action`, plus a 64-byte signature.
    #[allow(clippy::arithmetic_side_effects)]
    fn encode_size(&self) -> usize {
        self.action.encode_size() + self.signature.encode_size()
    }
}

impl Read for SignedAction {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(SignedAction {
            action: Action::read(buf)?,
            signature: Signature::read(buf)?,
        })
    }
}

/// A signature an action's payload carries besides the action's own (a session key's consent
/// to act for the signer): checked wherever the action's signature is, and in the same batch.
#[derive(Debug, Clone)]
pub struct Endorsement {
    pub key: PublicKey,
    /// Signing domain; the namespace is [`ChainId::namespace`] of it.
    pub domain: &'static [u8],
    pub message: Vec<u8>,
    pub signature: Signature,
}

impl Endorsement {
    fn verify(&self, chain: &ChainId) -> bool {
        self.key.verify(
            &chain.namespace(self.domain),
            &self.message,
            &self.signature,
        )
    }
}

/// A state machine's reading of the signatures a payload carries (see
/// [`crate::StateMachine::endorsement`]): none, one, or a reason the payload's signature cannot
/// be read (such an action is refused like a bad signature).
pub type Endorsements = fn(&SignedAction) -> Result<Option<Endorsement>, String>;

/// For a machine whose payloads carry no signatures.
pub fn no_endorsements(_: &SignedAction) -> Result<Option<Endorsement>, String> {
    Ok(None)
}

impl SignedAction {
    /// Whether the action's signature and every signature its payload carries are valid.
    pub fn verify_endorsed(&self, chain: &ChainId, endorsements: Endorsements) -> bool {
        self.verify(chain)
            && match endorsements(self) {
                Ok(None) => true,
                Ok(Some(e)) => e.verify(chain),
                Err(_) => false,
            }
    }
}

/// Verifies every signature at once (one multi-scalar check); on failure, finds the offenders one
/// by one. Returns the indices of invalid actions (empty: all valid). `rng` draws the batch
/// coefficients and must be the verifier's own randomness: whoever can predict the coefficients
/// can make a forged signature cancel against one of its own (see the `forge` feature), so it
/// is never seeded from data a proposer, peer or player chooses.
pub fn verify_all(
    rng: &mut impl CryptoRng,
    chain: &ChainId,
    actions: &[SignedAction],
) -> Vec<usize> {
    verify_all_endorsed(rng, chain, actions, no_endorsements)
}

/// [`verify_all`] with the signatures the payloads carry (`endorsements`) in the same batch.
pub fn verify_all_endorsed(
    rng: &mut impl CryptoRng,
    chain: &ChainId,
    actions: &[SignedAction],
    endorsements: Endorsements,
) -> Vec<usize> {
    if actions.is_empty() {
        return Vec::new();
    }
    let namespace = chain.namespace(ACTION_NAMESPACE);
    // (namespace, message, key, signature) per signature to check.
    let mut entries: Vec<(Vec<u8>, Vec<u8>, &PublicKey, &Signature)> =
        Vec::with_capacity(actions.len());
    let mut extra = Vec::new();
    let mut unreadable = false;
    for a in actions {
        entries.push((
            namespace.clone(),
            a.action.signing_bytes(),
            &a.action.player,
            &a.signature,
        ));
        match endorsements(a) {
            Ok(None) => {}
            Ok(Some(e)) => extra.push(e),
            Err(_) => unreadable = true,
        }
    }
    for e in &extra {
        entries.push((
            chain.namespace(e.domain),
            e.message.clone(),
            &e.key,
            &e.signature,
        ));
    }
    let ok = !unreadable
        && PublicKey::verify_batch(
            rng,
            &entries,
            |_, (namespace, message, key, signature)| BatchEntry {
                namespace,
                message,
                public_key: key,
                signature,
            },
            &commonware_parallel::Sequential,
        );
    if ok {
        return Vec::new();
    }
    actions
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.verify_endorsed(chain, endorsements))
        .map(|(i, _)| i)
        .collect()
}
