//! Structure-aware mutations of valid encodings, for property tests of every decoder that takes
//! bytes from a peer, a player or the disk. Random bytes almost never get past a first length
//! check; a valid encoding with one field flipped, cut, stretched, swapped or given a huge
//! length reaches every branch behind it. A decoder must answer each with a typed error or a
//! valid value: never a panic, never an unbounded allocation.

/// One mutation of an encoding. Offsets wrap around the input's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    /// XOR one byte with a non-zero mask.
    Flip { at: usize, mask: u8 },
    /// Cut the encoding at `at`.
    Truncate { at: usize },
    /// Append `len` copies of `byte`.
    Extend { byte: u8, len: usize },
    /// Swap two equal-length ranges (fields moved into each other's place).
    Swap { a: usize, b: usize, len: usize },
    /// Repeat a range in place (a field or an element written twice).
    Duplicate { at: usize, len: usize },
    /// Overwrite four bytes with a huge big-endian value (a length or count field lying).
    Huge { at: usize, value: u32 },
}

impl From<(u8, usize, usize, u8)> for Mutation {
    /// Picks a mutation from arbitrary values (a proptest strategy's output).
    fn from((kind, a, b, byte): (u8, usize, usize, u8)) -> Self {
        let len = b % 64;
        match kind % 6 {
            0 => Mutation::Flip {
                at: a,
                mask: byte.max(1),
            },
            1 => Mutation::Truncate { at: a },
            2 => Mutation::Extend { byte, len },
            3 => Mutation::Swap { a, b, len },
            4 => Mutation::Duplicate { at: a, len },
            _ => Mutation::Huge {
                at: a,
                value: u32::MAX - u32::from(byte),
            },
        }
    }
}

impl Mutation {
    /// `bytes` with this mutation applied (empty input stays empty but for `Extend`).
    pub fn apply(self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        let n = out.len();
        let wrap = |i: usize| i.checked_rem(n).unwrap_or(0);
        match self {
            Mutation::Flip { at, mask } => {
                if let Some(b) = out.get_mut(wrap(at)) {
                    *b ^= mask;
                }
            }
            Mutation::Truncate { at } => out.truncate(wrap(at)),
            Mutation::Extend { byte, len } => out.extend(std::iter::repeat_n(byte, len)),
            Mutation::Swap { a, b, len } => {
                let (a, b) = (wrap(a).min(wrap(b)), wrap(a).max(wrap(b)));
                let len = len.min(b.saturating_sub(a)).min(n.saturating_sub(b));
                let (head, tail) = out.split_at_mut(b);
                if let (Some(x), Some(y)) =
                    (head.get_mut(a..a.saturating_add(len)), tail.get_mut(..len))
                {
                    x.swap_with_slice(y);
                }
            }
            Mutation::Duplicate { at, len } => {
                let at = wrap(at);
                let end = at.saturating_add(len).min(n);
                let copy: Vec<u8> = out.get(at..end).unwrap_or_default().to_vec();
                out.splice(at..at, copy);
            }
            Mutation::Huge { at, value } => {
                let at = wrap(at);
                for (i, b) in value.to_be_bytes().into_iter().enumerate() {
                    if let Some(slot) = out.get_mut(at.saturating_add(i)) {
                        *slot = b;
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Action, Block, ChainId};
    use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
    use proptest::prelude::*;

    #[test]
    fn mutations_change_what_they_say() {
        let bytes = [1, 2, 3, 4, 5, 6];
        assert_eq!(
            Mutation::Flip { at: 7, mask: 1 }.apply(&bytes),
            [1, 3, 3, 4, 5, 6]
        );
        assert_eq!(Mutation::Truncate { at: 2 }.apply(&bytes), [1, 2]);
        assert_eq!(
            Mutation::Extend { byte: 9, len: 2 }.apply(&bytes),
            [1, 2, 3, 4, 5, 6, 9, 9]
        );
        assert_eq!(
            Mutation::Swap { a: 0, b: 3, len: 2 }.apply(&bytes),
            [4, 5, 3, 1, 2, 6]
        );
        assert_eq!(
            Mutation::Duplicate { at: 1, len: 2 }.apply(&bytes),
            [1, 2, 3, 2, 3, 4, 5, 6]
        );
        assert_eq!(
            Mutation::Huge {
                at: 1,
                value: u32::MAX
            }
            .apply(&bytes),
            [1, 255, 255, 255, 255, 6]
        );
        assert!(Mutation::Truncate { at: 3 }.apply(&[]).is_empty());
    }

    fn block() -> Block {
        let key = PrivateKey::from_seed(3);
        let actions = (0..3)
            .map(|n| {
                Action {
                    player: key.public_key(),
                    zone: 1,
                    tick: 9,
                    nonce: n,
                    payload: vec![n as u8; 5].into(),
                }
                .sign(&key, &ChainId([1; 32]))
            })
            .collect();
        Block {
            parent: [3; 32],
            height: 5,
            tick: 9,
            zone: 1,
            parent_state_root: [4; 32],
            actions,
            imports: Vec::new(),
        }
    }

    proptest! {
        #[test]
        fn mutated_blocks_and_actions_decode_or_refuse(m in any::<(u8, usize, usize, u8)>()) {
            let m = Mutation::from(m);
            let block = block();
            let _ = Block::decode(&m.apply(&block.encode_to_vec()));
            let action = block.actions[0].encode_to_vec();
            if let Ok(decoded) = crate::SignedAction::decode(&m.apply(&action)) {
                // Whatever decodes re-encodes to the same bytes (canonical).
                prop_assert_eq!(decoded.encode_to_vec(), m.apply(&action));
            }
        }
    }
}
