//! Commitments: a sparse Merkle tree over 32-byte keys, and the chunk commitment built on it.
//!
//! The tree is a binary trie on the bits of `key`, where any subtree holding a single key is
//! collapsed to that key's leaf. Its shape, and so its root, depends only on the set of
//! (key, value) pairs, never on the order of inserts and removals, which is what consensus needs.
//! Keys are hashes, so the trie is balanced: an update or a proof touches about log2(n) nodes.
//!
//! Hashes: empty = 32 zero bytes; leaf = blake3_keyed(LEAF_KEY, key ‖ value);
//! internal = blake3_keyed(NODE_KEY, left ‖ right), with two fixed 32-byte keys.

use crate::chunk::Chunk;
use crate::pos::ChunkPos;
use bytes::{Buf as _, BufMut};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, Write};

pub type Hash = [u8; 32];
pub const EMPTY_HASH: Hash = [0; 32];
/// The longest path a proof may claim (one level per key bit).
pub const MAX_DEPTH: usize = 256;

// Domain separation by blake3's keyed mode: a leaf or node input is then exactly one 64-byte
// block (one compression), where a tag byte would make it two.
const LEAF_KEY: &[u8; 32] = b"z3r0/sparse-merkle/leaf/v1......";
const NODE_KEY: &[u8; 32] = b"z3r0/sparse-merkle/node/v1......";
const NONE: u32 = u32::MAX;

#[inline]
fn keyed_pair(key: &[u8; 32], a: &Hash, b: &Hash) -> Hash {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(a);
    block[32..].copy_from_slice(b);
    *blake3::keyed_hash(key, &block).as_bytes()
}

pub fn leaf_hash(key: &Hash, value: &Hash) -> Hash {
    keyed_pair(LEAF_KEY, key, value)
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    keyed_pair(NODE_KEY, left, right)
}

#[inline]
fn bit(key: &Hash, depth: usize) -> usize {
    usize::from((key[depth / 8] >> (7 - depth % 8)) & 1)
}

#[derive(Debug, Clone)]
enum Kind {
    Leaf { key: Hash, value: Hash },
    Node { children: [u32; 2] },
}

#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    hash: Hash,
    /// The cached hash is stale.
    dirty: bool,
}

/// An incrementally hashed sparse Merkle tree. Updates mark paths dirty; [`SparseMerkleTree::root`]
/// rehashes only those paths.
#[derive(Debug, Clone, Default)]
pub struct SparseMerkleTree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    len: usize,
}

impl SparseMerkleTree {
    pub fn new() -> Self {
        Self {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NONE,
            len: 0,
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn alloc(&mut self, kind: Kind) -> u32 {
        let node = Node {
            kind,
            hash: EMPTY_HASH,
            dirty: true,
        };
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Sets `key` to `value` and returns the previous value (None if the key is new). Updating
    /// an existing key allocates nothing; setting the value it already has changes nothing, so
    /// the next [`SparseMerkleTree::root`] rehashes nothing for it.
    pub fn insert(&mut self, key: Hash, value: Hash) -> Option<Hash> {
        let (root, previous) = self.insert_at(self.root, 0, key, value);
        self.root = root;
        previous
    }

    fn insert_at(&mut self, at: u32, depth: usize, key: Hash, value: Hash) -> (u32, Option<Hash>) {
        if at == NONE {
            self.len += 1;
            return (self.alloc(Kind::Leaf { key, value }), None);
        }
        let node = &mut self.nodes[at as usize];
        match &mut node.kind {
            Kind::Leaf { key: k, value: v } if *k == key => {
                let previous = *v;
                if previous != value {
                    *v = value;
                    node.dirty = true;
                }
                (at, Some(previous))
            }
            Kind::Leaf { key: other, .. } => {
                let other = *other;
                self.len += 1;
                let new_leaf = self.alloc(Kind::Leaf { key, value });
                (self.split(at, other, new_leaf, key, depth), None)
            }
            Kind::Node { children } => {
                let b = bit(&key, depth);
                let child = children[b];
                let (new_child, previous) = self.insert_at(child, depth + 1, key, value);
                if previous == Some(value) {
                    return (at, previous);
                }
                let node = &mut self.nodes[at as usize];
                if let Kind::Node { children } = &mut node.kind {
                    children[b] = new_child;
                }
                node.dirty = true;
                (at, previous)
            }
        }
    }

    /// Internal nodes from `depth` down to where `a_key` and `b_key` first differ.
    fn split(&mut self, a: u32, a_key: Hash, b: u32, b_key: Hash, depth: usize) -> u32 {
        let (ba, bb) = (bit(&a_key, depth), bit(&b_key, depth));
        let children = if ba == bb {
            let below = self.split(a, a_key, b, b_key, depth + 1);
            if ba == 0 {
                [below, NONE]
            } else {
                [NONE, below]
            }
        } else if ba == 0 {
            [a, b]
        } else {
            [b, a]
        };
        self.alloc(Kind::Node { children })
    }

    /// Removes `key`; returns whether it was present.
    pub fn remove(&mut self, key: &Hash) -> bool {
        let before = self.len;
        self.root = self.remove_at(self.root, 0, key);
        self.len < before
    }

    fn remove_at(&mut self, at: u32, depth: usize, key: &Hash) -> u32 {
        if at == NONE {
            return NONE;
        }
        match self.nodes[at as usize].kind.clone() {
            Kind::Leaf { key: k, .. } => {
                if k == *key {
                    self.len -= 1;
                    self.free.push(at);
                    NONE
                } else {
                    at
                }
            }
            Kind::Node { mut children } => {
                let b = bit(key, depth);
                let before = self.len;
                let new_child = self.remove_at(children[b], depth + 1, key);
                if self.len == before {
                    return at; // key absent: nothing below changed
                }
                children[b] = new_child;
                let other = children[1 - b];
                // Collapse: a node left with one leaf and an empty side becomes that leaf.
                let lone_leaf = |n: u32| matches!(self.nodes[n as usize].kind, Kind::Leaf { .. });
                if new_child == NONE && other != NONE && lone_leaf(other) {
                    self.free.push(at);
                    return other;
                }
                if other == NONE && new_child != NONE && lone_leaf(new_child) {
                    self.free.push(at);
                    return new_child;
                }
                if new_child == NONE && other == NONE {
                    self.free.push(at);
                    return NONE;
                }
                let node = &mut self.nodes[at as usize];
                node.kind = Kind::Node { children };
                node.dirty = true;
                at
            }
        }
    }

    pub fn get(&self, key: &Hash) -> Option<Hash> {
        let mut at = self.root;
        let mut depth = 0;
        while at != NONE {
            match &self.nodes[at as usize].kind {
                Kind::Leaf { key: k, value } => return (k == key).then_some(*value),
                Kind::Node { children } => {
                    at = children[bit(key, depth)];
                    depth += 1;
                }
            }
        }
        None
    }

    /// The root hash, rehashing the paths changed since the last call.
    pub fn root(&mut self) -> Hash {
        self.rehash(self.root)
    }

    fn rehash(&mut self, at: u32) -> Hash {
        if at == NONE {
            return EMPTY_HASH;
        }
        let node = &self.nodes[at as usize];
        if !node.dirty {
            return node.hash;
        }
        let hash = match node.kind {
            Kind::Leaf { key, value } => leaf_hash(&key, &value),
            Kind::Node { children } => {
                let l = self.rehash(children[0]);
                let r = self.rehash(children[1]);
                node_hash(&l, &r)
            }
        };
        let node = &mut self.nodes[at as usize];
        node.hash = hash;
        node.dirty = false;
        hash
    }

    /// A membership proof for `key`, or `None` if absent. Call [`SparseMerkleTree::root`] first
    /// if the tree changed (the proof uses cached hashes).
    pub fn prove(&mut self, key: &Hash) -> Option<MerkleProof> {
        self.root();
        let mut siblings = Vec::new();
        let mut at = self.root;
        let mut depth = 0;
        while at != NONE {
            match &self.nodes[at as usize].kind {
                Kind::Leaf { key: k, .. } => {
                    return (k == key).then_some(MerkleProof { siblings });
                }
                Kind::Node { children } => {
                    let b = bit(key, depth);
                    let sib = children[1 - b];
                    siblings.push(if sib == NONE {
                        EMPTY_HASH
                    } else {
                        self.nodes[sib as usize].hash
                    });
                    at = children[b];
                    depth += 1;
                }
            }
        }
        None
    }

    /// A proof that `key` is absent, or `None` if it is present. Call
    /// [`SparseMerkleTree::root`] first if the tree changed (the proof uses cached hashes).
    pub fn prove_absent(&mut self, key: &Hash) -> Option<AbsenceProof> {
        self.root();
        let mut siblings = Vec::new();
        let mut at = self.root;
        let mut depth = 0;
        while at != NONE {
            match &self.nodes[at as usize].kind {
                Kind::Leaf { key: k, value } => {
                    return (k != key).then_some(AbsenceProof {
                        path: MerkleProof { siblings },
                        other: Some((*k, *value)),
                    });
                }
                Kind::Node { children } => {
                    let b = bit(key, depth);
                    let sib = children[1 - b];
                    siblings.push(if sib == NONE {
                        EMPTY_HASH
                    } else {
                        self.nodes[sib as usize].hash
                    });
                    at = children[b];
                    depth += 1;
                }
            }
        }
        Some(AbsenceProof {
            path: MerkleProof { siblings },
            other: None,
        })
    }
}

/// Sibling hashes from the root down to a leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleProof {
    pub siblings: Vec<Hash>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("proof does not lead to the expected root")]
    RootMismatch,
    #[error("proof depth {0} exceeds the maximum of {MAX_DEPTH}")]
    TooDeep(usize),
    #[error("the key is present: an absence proof cannot end at its own leaf")]
    Present,
}

impl MerkleProof {
    /// Checks that `key` maps to `value` in the tree with root `root`.
    pub fn verify(&self, root: &Hash, key: &Hash, value: &Hash) -> Result<(), ProofError> {
        self.climb(root, key, leaf_hash(key, value))
    }

    /// Hashes up from `bottom` (what ends `key`'s path) by `key`'s own bits and checks the
    /// result is `root`.
    fn climb(&self, root: &Hash, key: &Hash, bottom: Hash) -> Result<(), ProofError> {
        if self.siblings.len() > MAX_DEPTH {
            return Err(ProofError::TooDeep(self.siblings.len()));
        }
        let mut h = bottom;
        for (depth, sib) in self.siblings.iter().enumerate().rev() {
            h = if bit(key, depth) == 0 {
                node_hash(&h, sib)
            } else {
                node_hash(sib, &h)
            };
        }
        if h == *root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        }
    }
}

impl Write for MerkleProof {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_u16(self.siblings.len() as u16);
        for s in &self.siblings {
            buf.put_slice(s);
        }
    }
}

impl EncodeSize for MerkleProof {
    fn encode_size(&self) -> usize {
        2 + 32 * self.siblings.len()
    }
}

impl Read for MerkleProof {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        if buf.remaining() < 2 {
            return Err(CodecError::EndOfBuffer);
        }
        let n = usize::from(buf.get_u16());
        if n > MAX_DEPTH {
            return Err(CodecError::InvalidLength(n));
        }
        if buf.remaining() < 32 * n {
            return Err(CodecError::EndOfBuffer);
        }
        let siblings = (0..n)
            .map(|_| {
                let mut h = EMPTY_HASH;
                buf.copy_to_slice(&mut h);
                h
            })
            .collect();
        Ok(Self { siblings })
    }
}

/// Proof that a key is not in the tree: the sibling hashes along the key's path down to where
/// it ends, in an empty slot (`other: None`) or at the leaf of another key (its key and value),
/// which in this trie means no other key shares that path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsenceProof {
    pub path: MerkleProof,
    pub other: Option<(Hash, Hash)>,
}

impl AbsenceProof {
    /// Checks that `key` is absent from the tree with root `root`.
    pub fn verify(&self, root: &Hash, key: &Hash) -> Result<(), ProofError> {
        let bottom = match &self.other {
            Some((other, _)) if other == key => return Err(ProofError::Present),
            Some((other, value)) => leaf_hash(other, value),
            None => EMPTY_HASH,
        };
        // Climbing by the key's own bits: a leaf of another key only leads to the root if it
        // sits on the key's path.
        self.path.climb(root, key, bottom)
    }
}

impl Write for AbsenceProof {
    fn write(&self, buf: &mut impl BufMut) {
        self.path.write(buf);
        match &self.other {
            None => buf.put_u8(0),
            Some((key, value)) => {
                buf.put_u8(1);
                buf.put_slice(key);
                buf.put_slice(value);
            }
        }
    }
}

impl EncodeSize for AbsenceProof {
    fn encode_size(&self) -> usize {
        self.path.encode_size() + 1 + if self.other.is_some() { 64 } else { 0 }
    }
}

impl Read for AbsenceProof {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let path = MerkleProof::read_cfg(buf, &())?;
        let other = match u8::read_cfg(buf, &())? {
            0 => None,
            1 => Some((
                <[u8; 32]>::read_cfg(buf, &())?,
                <[u8; 32]>::read_cfg(buf, &())?,
            )),
            _ => return Err(CodecError::Invalid("AbsenceProof", "bad leaf tag")),
        };
        Ok(Self { path, other })
    }
}

/// The tree key of a chunk: a hash of its position, so the trie stays balanced however
/// the loaded chunks cluster.
pub fn chunk_key(pos: ChunkPos) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(b"z3r0/chunk-key/v1");
    h.update(&pos.x.to_be_bytes());
    h.update(&pos.y.to_be_bytes());
    h.update(&pos.z.to_be_bytes());
    *h.finalize().as_bytes()
}

/// A proof that a chunk with given content is part of the world committed to by a chunk root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkProof {
    pub pos: ChunkPos,
    pub proof: MerkleProof,
}

impl ChunkProof {
    /// Verifies `chunk` (at `self.pos`) against `root`.
    pub fn verify(&self, root: &Hash, chunk: &Chunk) -> Result<(), ProofError> {
        let mut scratch = Vec::new();
        self.verify_hash(root, &chunk.hash_with(&mut scratch))
    }

    pub fn verify_hash(&self, root: &Hash, chunk_hash: &Hash) -> Result<(), ProofError> {
        self.proof.verify(root, &chunk_key(self.pos), chunk_hash)
    }
}

impl Write for ChunkProof {
    fn write(&self, buf: &mut impl BufMut) {
        self.pos.write(buf);
        self.proof.write(buf);
    }
}

impl EncodeSize for ChunkProof {
    fn encode_size(&self) -> usize {
        self.pos.encode_size() + self.proof.encode_size()
    }
}

impl Read for ChunkProof {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            pos: ChunkPos::read_cfg(buf, &())?,
            proof: MerkleProof::read_cfg(buf, &())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(i: u32) -> Hash {
        *blake3::hash(&i.to_be_bytes()).as_bytes()
    }

    /// Root computed from scratch by the definition, for comparison.
    fn reference_root(entries: &[(Hash, Hash)], depth: usize) -> Hash {
        match entries.len() {
            0 => EMPTY_HASH,
            1 => leaf_hash(&entries[0].0, &entries[0].1),
            _ => {
                let (l, r): (Vec<_>, Vec<_>) =
                    entries.iter().partition(|(key, _)| bit(key, depth) == 0);
                node_hash(
                    &reference_root(&l, depth + 1),
                    &reference_root(&r, depth + 1),
                )
            }
        }
    }

    #[test]
    fn root_matches_definition_and_ignores_history() {
        let mut a = SparseMerkleTree::new();
        let mut b = SparseMerkleTree::new();
        let entries: Vec<(Hash, Hash)> = (0..200).map(|i| (k(i), k(i + 1000))).collect();
        for (key, v) in &entries {
            a.insert(*key, *v);
        }
        // b: reverse order, with extra keys inserted then removed, and values overwritten.
        for i in 500..560 {
            b.insert(k(i), k(i));
        }
        for (key, v) in entries.iter().rev() {
            b.insert(*key, [9; 32]);
            b.insert(*key, *v);
        }
        b.root(); // cache hashes, so removals must invalidate them correctly
        for i in 500..560 {
            assert!(b.remove(&k(i)));
            if i % 10 == 0 {
                b.root();
            }
        }
        assert!(!b.remove(&k(9999)));
        assert_eq!(a.len(), 200);
        assert_eq!(b.len(), 200);
        assert_eq!(a.root(), reference_root(&entries, 0));
        assert_eq!(a.root(), b.root());
        for (key, v) in &entries {
            assert_eq!(a.get(key), Some(*v));
        }
    }

    #[test]
    fn incremental_updates_match_full_rebuild() {
        let mut t = SparseMerkleTree::new();
        let mut entries: Vec<(Hash, Hash)> = (0..100).map(|i| (k(i), k(i))).collect();
        for (key, v) in &entries {
            t.insert(*key, *v);
        }
        t.root();
        for round in 0..5u32 {
            for i in (round as usize..100).step_by(7) {
                entries[i].1 = k(10_000 + round * 100 + i as u32);
                t.insert(entries[i].0, entries[i].1);
            }
            assert_eq!(t.root(), reference_root(&entries, 0));
        }
    }

    #[test]
    fn proofs_verify_and_reject_tampering() {
        let mut t = SparseMerkleTree::new();
        for i in 0..300 {
            t.insert(k(i), k(i + 1));
        }
        let root = t.root();
        for i in [0, 17, 299] {
            let p = t.prove(&k(i)).unwrap();
            assert!(
                p.siblings.len() < 40,
                "balanced: depth {}",
                p.siblings.len()
            );
            assert_eq!(p.verify(&root, &k(i), &k(i + 1)), Ok(()));
            assert_eq!(
                p.verify(&root, &k(i), &k(i + 2)),
                Err(ProofError::RootMismatch)
            );
            assert_eq!(
                p.verify(&root, &k(i + 1), &k(i + 1)),
                Err(ProofError::RootMismatch)
            );
            let mut bad = p.clone();
            bad.siblings[0][0] ^= 1;
            assert_eq!(
                bad.verify(&root, &k(i), &k(i + 1)),
                Err(ProofError::RootMismatch)
            );
        }
        assert!(t.prove(&k(1000)).is_none());
        let single = {
            let mut s = SparseMerkleTree::new();
            s.insert(k(1), k(2));
            s
        };
        let mut single = single;
        let r = single.root();
        assert_eq!(r, leaf_hash(&k(1), &k(2)));
        assert_eq!(single.prove(&k(1)).unwrap().siblings.len(), 0);
    }

    #[test]
    fn empty_tree() {
        let mut t = SparseMerkleTree::new();
        assert_eq!(t.root(), EMPTY_HASH);
        t.insert(k(1), k(1));
        assert!(t.remove(&k(1)));
        assert_eq!(t.root(), EMPTY_HASH);
        assert!(t.is_empty());
    }

    #[test]
    fn insert_reports_the_previous_value() {
        let mut t = SparseMerkleTree::new();
        for i in 0..50 {
            assert_eq!(t.insert(k(i), k(i)), None);
        }
        let root = t.root();
        assert_eq!(t.insert(k(7), k(7)), Some(k(7)));
        assert_eq!(t.root(), root, "same value: same root");
        assert_eq!(t.insert(k(7), k(8)), Some(k(7)));
        assert_ne!(t.root(), root);
        assert_eq!(t.insert(k(7), k(7)), Some(k(8)));
        assert_eq!(t.root(), root);
    }

    #[test]
    fn absence_proofs_hold_for_absent_keys_only() {
        let mut t = SparseMerkleTree::new();
        assert_eq!(
            t.prove_absent(&k(1)).unwrap().verify(&t.root(), &k(1)),
            Ok(()),
            "anything is absent from the empty tree"
        );
        for i in 0..300 {
            t.insert(k(i), k(i + 1));
        }
        let root = t.root();
        let mut ended_at_leaf = 0;
        let mut ended_empty = 0;
        for i in 300..600 {
            let p = t.prove_absent(&k(i)).unwrap();
            assert_eq!(p.verify(&root, &k(i)), Ok(()), "key {i}");
            match p.other {
                Some(_) => ended_at_leaf += 1,
                None => ended_empty += 1,
            }
            // No absence proof works for a key that is there.
            assert!(p.verify(&root, &k(i - 300)).is_err(), "key {}", i - 300);
            let mut bad = p.clone();
            if let Some(s) = bad.path.siblings.first_mut() {
                s[0] ^= 1;
                assert_eq!(bad.verify(&root, &k(i)), Err(ProofError::RootMismatch));
            }
            // The codec round-trips it.
            use commonware_codec::{DecodeExt as _, Encode as _};
            assert_eq!(AbsenceProof::decode(p.encode()).unwrap(), p);
        }
        assert!(
            ended_at_leaf > 0 && ended_empty > 0,
            "{ended_at_leaf} / {ended_empty}"
        );
        // A present key has no absence proof, and none can be made from its own leaf or from
        // another key's membership proof.
        assert!(t.prove_absent(&k(5)).is_none());
        let membership = t.prove(&k(5)).unwrap();
        let forged = AbsenceProof {
            path: membership.clone(),
            other: Some((k(5), k(6))),
        };
        assert_eq!(forged.verify(&root, &k(5)), Err(ProofError::Present));
        let elsewhere = t.prove(&k(6)).unwrap();
        let forged = AbsenceProof {
            path: elsewhere,
            other: Some((k(6), k(7))),
        };
        assert_eq!(forged.verify(&root, &k(5)), Err(ProofError::RootMismatch));
        let empty_slot = AbsenceProof {
            path: membership,
            other: None,
        };
        assert_eq!(
            empty_slot.verify(&root, &k(5)),
            Err(ProofError::RootMismatch)
        );
        // Once removed, it is provably absent against the new root.
        assert!(t.remove(&k(5)));
        let root = t.root();
        assert_eq!(t.prove_absent(&k(5)).unwrap().verify(&root, &k(5)), Ok(()));
    }
}
