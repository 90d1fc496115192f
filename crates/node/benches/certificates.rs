//! CPU cost of the vote scheme per block: verifying a notarization and a finalization
//! certificate (a quorum of n - f signatures each) for committees of 4, 7 and 20, with ed25519
//! (our choice) and BLS12-381 multisig (the alternative).
//!
//!     cargo bench -p z3r0-node --bench certificates

use commonware_consensus::simplex::{
    scheme::{bls12381_multisig, ed25519},
    types::{Finalization, Finalize, Notarization, Notarize, Proposal},
};
use commonware_consensus::types::{Epoch, Round, View};
use commonware_cryptography::{bls12381::primitives::variant::MinPk, sha256::Digest};
use commonware_parallel::Sequential;
use commonware_utils::non_empty;
use criterion::{Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::hint::black_box;

const NAMESPACE: &[u8] = b"z3r0/consensus/v1";

macro_rules! bench_scheme {
    ($c:expr, $name:literal, $fixture:expr, $n:expr) => {{
        let n: u32 = $n;
        // N3f1: a quorum is n - f, f = (n - 1) / 3.
        let quorum = (n - (n - 1) / 3) as usize;
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let fixture = $fixture(&mut rng, n);
        let proposal = Proposal::new(Round::new(Epoch::zero(), View::new(9)), View::new(8), Digest([5; 32]));
        let notarizes: Vec<_> = fixture.schemes[..quorum]
            .iter()
            .map(|s| Notarize::sign(s, proposal.clone()).expect("member signs"))
            .collect();
        let finalizes: Vec<_> = fixture.schemes[..quorum]
            .iter()
            .map(|s| Finalize::sign(s, proposal.clone()).expect("member signs"))
            .collect();
        let notarization =
            Notarization::from_notarizes(&fixture.verifier, non_empty![@notarizes.iter()], &Sequential)
                .expect("quorum");
        let finalization =
            Finalization::from_finalizes(&fixture.verifier, non_empty![@finalizes.iter()], &Sequential)
                .expect("quorum");
        $c.bench_function(&format!("{}/n{n}/block_certificates", $name), |b| {
            b.iter(|| {
                assert!(notarization.verify(&mut rng, &fixture.verifier, &Sequential));
                assert!(finalization.verify(&mut rng, &fixture.verifier, &Sequential));
                black_box(())
            })
        });
        $c.bench_function(&format!("{}/n{n}/sign_vote", $name), |b| {
            b.iter(|| black_box(Notarize::sign(&fixture.schemes[0], proposal.clone())))
        });
    }};
}

fn certificates(c: &mut Criterion) {
    for n in [4, 7, 20] {
        bench_scheme!(
            c,
            "ed25519",
            |rng: &mut ChaCha20Rng, n| ed25519::fixture(rng, NAMESPACE, n),
            n
        );
        bench_scheme!(
            c,
            "bls12381_multisig",
            |rng: &mut ChaCha20Rng, n| bls12381_multisig::fixture::<MinPk, _>(rng, NAMESPACE, n),
            n
        );
    }
}

criterion_group!(benches, certificates);
criterion_main!(benches);
