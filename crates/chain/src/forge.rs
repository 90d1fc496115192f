//! A Byzantine proposer's batch forgery, for tests and the Byzantine harness only.
//!
//! Batch verification checks `sum z_i (R_i + k_i A_i - s_i B) = 0` with random coefficients
//! `z_i`. Whoever knows the `z_i` before choosing signatures can make two error terms cancel: a
//! "signature" under any victim's key, and a compensating signature under a key the forger
//! owns. This module builds such a pair, and predicts the coefficients that
//! [`crate::verify_all`] draws from a given generator, so tests can show that a predictable
//! generator lets the pair through and an unpredictable one does not.
// Tooling for tests: every `expect` is on bytes this module made itself.
#![allow(clippy::expect_used)]

use crate::action::{Action, SignedAction};
use commonware_codec::{Copying, DecodeExt as _, Encode as _, EncodeSize as _, Write as _};
use commonware_cryptography::ed25519::{PublicKey, Signature};
use commonware_cryptography::transcript::{Summary, Transcript, Version};
use curve25519_dalek::{
    constants::ED25519_BASEPOINT_POINT as B, edwards::EdwardsPoint, scalar::Scalar,
};
use rand_core::{CryptoRng, Rng as _};
use sha2::{Digest as _, Sha512};

/// A key the forger holds as a bare scalar (it needs the scalar, not an ed25519 seed).
#[derive(Debug, Clone)]
pub struct Accomplice {
    secret: Scalar,
    pub public: PublicKey,
}

impl Accomplice {
    pub fn from_seed(seed: u64) -> Self {
        let secret = Scalar::from(u128::from(seed) + 7);
        let bytes = (B * secret).compress().to_bytes();
        let public = PublicKey::decode(Copying(&bytes[..])).expect("a multiple of the base point");
        Self { secret, public }
    }
}

/// The coefficients [`crate::verify_all`] draws from `rng` for a batch of `n` signatures
/// (commonware's sequential batch: one seed, then one 128-bit scalar per entry in order).
pub fn predict_coefficients(rng: &mut impl CryptoRng, n: usize) -> Vec<Scalar> {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let seed = Summary::decode(Copying(&seed[..])).expect("32 bytes");
    let mut noise = Transcript::resume(seed, Version::V1)
        .commit(0u64.encode())
        .noise(b"batch_verify");
    (0..n)
        .map(|_| {
            let mut z = [0u8; 16];
            noise.fill_bytes(&mut z);
            Scalar::from(u128::from_le_bytes(z))
        })
        .collect()
}

fn challenge(r: &[u8; 32], key: &PublicKey, namespace: &[u8], message: &[u8]) -> Scalar {
    let len = commonware_codec::varint::UInt(namespace.len() as u32);
    let mut prefix = Vec::with_capacity(len.encode_size());
    len.write(&mut prefix);
    let hash = Sha512::new()
        .chain_update(r)
        .chain_update(key.as_ref())
        .chain_update(&prefix)
        .chain_update(namespace)
        .chain_update(message);
    Scalar::from_hash(hash)
}

fn signature(r: &EdwardsPoint, s: &Scalar) -> Signature {
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(r.compress().as_bytes());
    bytes[32..].copy_from_slice(s.as_bytes());
    Signature::decode(Copying(&bytes[..])).expect("64 bytes")
}

/// Signs `victim` without its key and `cover` (whose player is set to the accomplice) so that
/// the two error terms cancel in a batch whose coefficients are `z_victim` and `z_cover`.
/// Neither signature is valid on its own.
pub fn forged_pair(
    namespace: &[u8],
    victim: Action,
    mut cover: Action,
    accomplice: &Accomplice,
    z_victim: Scalar,
    z_cover: Scalar,
) -> (SignedAction, SignedAction) {
    // Victim: R = B, s = 1, so its error term is k_v * A_v.
    let r_v = B;
    let k_v = challenge(
        r_v.compress().as_bytes(),
        &victim.player,
        namespace,
        &victim.signing_bytes(),
    );
    let a_v = curve25519_dalek::edwards::CompressedEdwardsY(
        victim.player.as_ref().try_into().expect("32-byte key"),
    )
    .decompress()
    .expect("a valid key");
    let forged_victim = SignedAction {
        signature: signature(&r_v, &Scalar::ONE),
        action: victim,
    };
    // Cover: R = [r]B - (z_v / z_c) k_v A_v, s = r + k_c a, so its error term is
    // -(z_v / z_c) k_v A_v and the weighted sum is zero.
    cover.player = accomplice.public.clone();
    let r = Scalar::from(0x5eed_u64);
    let r_c = B * r - a_v * (z_victim * z_cover.invert() * k_v);
    let k_c = challenge(
        r_c.compress().as_bytes(),
        &cover.player,
        namespace,
        &cover.signing_bytes(),
    );
    let forged_cover = SignedAction {
        signature: signature(&r_c, &(r + k_c * accomplice.secret)),
        action: cover,
    };
    (forged_victim, forged_cover)
}
