//! Tests and drills: a Byzantine relay's handoff attacks (`z3r0 node --byzantine` on a world).
//! From each honest exit it relays, it makes the forgeries a dishonest validator could send a
//! neighbour's committee: the same exit again long after it entered, the exit with a richer
//! inventory, an exit of a body that never left, the certificate's signatures forged, and
//! another block's certificate. None carries what proves it, so every destination must refuse
//! every one; each forgery's hash goes to `forged.log`, which the devnet compares with the
//! imports the destinations' blocks applied.

use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use std::collections::{BTreeMap, VecDeque};
use z3r0_chain::FinalityProof;
use z3r0_sim::handoff::{Import, Record, SourceHeader};

/// A relay's handoff attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Forgery {
    /// An exit relayed again long after it entered: it would enter twice.
    Replay,
    /// The exit with items the body did not carry.
    RicherInventory,
    /// An exit of a body that never left (another player's key on it).
    WithoutExit,
    /// The certificate's signatures replaced by the relay's own.
    ForgedCertificate,
    /// The certificate and header of another block (of another zone when the relay serves
    /// one, else an older one of the same zone).
    ForeignCertificate,
}

impl Forgery {
    pub fn name(self) -> &'static str {
        match self {
            Forgery::Replay => "replay",
            Forgery::RicherInventory => "richer_inventory",
            Forgery::WithoutExit => "without_exit",
            Forgery::ForgedCertificate => "forged_certificate",
            Forgery::ForeignCertificate => "foreign_certificate",
        }
    }
}

/// Blocks after which an exit relayed honestly is replayed: it entered long before.
const REPLAY_AFTER: u64 = 100;
/// Honest exits held for replay, at most.
const HELD: usize = 64;

/// Makes forgeries from the honest imports a relay sends.
pub struct Forger {
    /// Honest exits relayed, oldest first: (height relayed, destination, bytes).
    held: VecDeque<(u64, u32, Vec<u8>)>,
    /// The newest header and certificate seen from each source zone, and the one before.
    certificates: BTreeMap<u32, (SourceHeader, FinalityProof)>,
    signer: PrivateKey,
    /// Counts forged exits' player keys, so each is new.
    made: u64,
}

impl std::fmt::Debug for Forger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forger")
            .field("held", &self.held.len())
            .field("made", &self.made)
            .finish_non_exhaustive()
    }
}

impl Forger {
    pub fn new(signer: PrivateKey) -> Self {
        Self {
            held: VecDeque::new(),
            certificates: BTreeMap::new(),
            signer,
            made: 0,
        }
    }

    /// The forgeries to send with the `honest` imports relayed after block `height`, each
    /// with its destination: the replays now due, and one of each kind for each exit
    /// (acknowledgements are left alone).
    pub fn forge(
        &mut self,
        height: u64,
        honest: &[(u32, Vec<u8>)],
    ) -> Vec<(Forgery, u32, Vec<u8>)> {
        let mut out = self.replays(height);
        for (to, bytes) in honest {
            out.extend(self.forge_one(height, *to, bytes));
        }
        out
    }

    /// The forgeries of one honest import.
    fn forge_one(&mut self, height: u64, to: u32, bytes: &[u8]) -> Vec<(Forgery, u32, Vec<u8>)> {
        let mut out = Vec::new();
        let Ok(import) = Import::decode(bytes) else {
            return out;
        };
        let source = import.source();
        let foreign = self
            .certificates
            .iter()
            .find(|(zone, (header, _))| **zone != source || header.height != import.header.height)
            .map(|(_, c)| c.clone());
        self.certificates
            .insert(source, (import.header, import.finality.clone()));
        let Record::Exit(exit) = &import.record else {
            return out;
        };
        if self.held.len() < HELD {
            self.held.push_back((height, to, bytes.to_vec()));
        }
        let mut richer = import.clone();
        if let Record::Exit(e) = &mut richer.record {
            let slot = &mut e.inventory.slots[0];
            slot.0 = if slot.1 == 0 {
                z3r0_voxel::blocks::STONE
            } else {
                slot.0
            };
            slot.1 = slot.1.saturating_add(64);
        }
        out.push((Forgery::RicherInventory, to, richer.encode_to_vec()));

        let mut stranger = import.clone();
        self.made += 1;
        let key = PrivateKey::from_seed(0x00f0_4e00_0000 + self.made);
        if let Record::Exit(e) = &mut stranger.record {
            e.player = key.public_key().as_ref().try_into().unwrap_or(exit.player);
        }
        out.push((Forgery::WithoutExit, to, stranger.encode_to_vec()));

        let mut forged = import.clone();
        let own = self.signer.sign(b"z3r0/forged", &import.header.digest());
        let own: [u8; 64] = own.as_ref().try_into().unwrap_or([0; 64]);
        for signature in &mut forged.finality.signatures {
            signature.1 = own;
        }
        out.push((Forgery::ForgedCertificate, to, forged.encode_to_vec()));

        if let Some((header, finality)) = foreign {
            let mut other = import;
            other.header = header;
            other.finality = finality;
            out.push((Forgery::ForeignCertificate, to, other.encode_to_vec()));
        }
        out
    }

    /// Honest exits relayed long enough ago to have entered, sent again.
    fn replays(&mut self, height: u64) -> Vec<(Forgery, u32, Vec<u8>)> {
        let mut out = Vec::new();
        while self
            .held
            .front()
            .is_some_and(|(at, _, _)| height >= at + REPLAY_AFTER)
        {
            if let Some((_, to, bytes)) = self.held.pop_front() {
                out.push((Forgery::Replay, to, bytes));
            }
        }
        out
    }
}
