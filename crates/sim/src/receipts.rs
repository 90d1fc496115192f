//! Committed receipts: what each signer's actions came to, kept under the state root for a short
//! window so a light client can check, against one finalized header, what the chain did with
//! its actions (and a lying validator cannot tell it otherwise).
//!
//! Every key that signed an action, or whose body the rules stopped, gets a [`ReceiptLog`]
//! entity holding its [`Outcome`]s of the last [`receipt_window`] ticks. A log whose newest
//! outcome has left the window is despawned, so the logs grow with the players acting now,
//! never with history.

use crate::action::PlayerKey;
use bytes::BufMut;
use commonware_codec::varint::UInt;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};
use z3r0_ecs::Component;

/// How long an outcome stays in its log, in time so that it is the same at every tick rate
/// (and edges prove logs as often at 60 Hz as at 20). An edge proves logs at least twice per
/// window, so a client sees every outcome.
pub const RECEIPT_WINDOW_MS: u64 = 2_400;
/// Most ticks in a window (a log's length goes on the wire in a byte; under 10 ms ticks the
/// window is shorter than [`RECEIPT_WINDOW_MS`]).
pub const MAX_RECEIPT_WINDOW: u64 = 240;
/// Fewest ticks in a window (over 300 ms ticks it is longer than [`RECEIPT_WINDOW_MS`]).
pub const MIN_RECEIPT_WINDOW: u64 = 8;
// A whole log (a window and the entry that trims it) counts its entries in a byte.
const _: () = assert!(MAX_RECEIPT_WINDOW < 255);

/// Ticks an outcome stays in its log at ticks of `tick_ms`: [`RECEIPT_WINDOW_MS`] rounded up
/// (48 at 50 ms, 150 at 16 ms), within [`MIN_RECEIPT_WINDOW`]..=[`MAX_RECEIPT_WINDOW`].
pub const fn receipt_window(tick_ms: u64) -> u64 {
    let ticks = z3r0_chain::ticks_in(RECEIPT_WINDOW_MS, tick_ms);
    if ticks < MIN_RECEIPT_WINDOW {
        MIN_RECEIPT_WINDOW
    } else if ticks > MAX_RECEIPT_WINDOW {
        MAX_RECEIPT_WINDOW
    } else {
        ticks
    }
}

/// Nonces one outcome records. Verified blocks carry at most the mempool's per-player share
/// (4 by default) per signer; any beyond this are left out of the receipt.
pub const MAX_OUTCOME_NONCES: usize = 8;
/// Refusals one outcome records: its actions' refusals first, movement's while room remains.
pub const MAX_OUTCOME_REFUSALS: usize = 8;

/// Encoded in place of a slot: the refusal is of movement, not of one action.
const MOVEMENT: u8 = u8::MAX;

/// One refusal in an [`Outcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Refusal {
    /// The refused action's tag ([`crate::Action::kind`]).
    pub action: u8,
    /// [`crate::Reason`] code.
    pub reason: u8,
    /// Index into the outcome's nonces of the refused action; `None` for movement under the
    /// frame in force (a wall, a mid-air jump).
    pub slot: Option<u8>,
}

/// What one block did with one key's actions: the nonces it included, in block order, and
/// the rules' refusals. Fixed capacity, so recording one allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The tick of the block.
    pub tick: u64,
    nonces: [u64; MAX_OUTCOME_NONCES],
    nonce_count: u8,
    refusals: [Refusal; MAX_OUTCOME_REFUSALS],
    refusal_count: u8,
}

impl Outcome {
    pub fn new(tick: u64) -> Self {
        Self {
            tick,
            ..Self::default()
        }
    }

    pub fn nonces(&self) -> &[u64] {
        self.nonces
            .get(..usize::from(self.nonce_count))
            .unwrap_or_default()
    }

    pub fn refusals(&self) -> &[Refusal] {
        self.refusals
            .get(..usize::from(self.refusal_count))
            .unwrap_or_default()
    }

    /// The nonce a refusal names (`None`: movement).
    pub fn refused_nonce(&self, r: &Refusal) -> Option<u64> {
        self.nonces().get(usize::from(r.slot?)).copied()
    }

    /// Records an included nonce; its slot, or `None` when the outcome is full.
    pub fn push_nonce(&mut self, nonce: u64) -> Option<u8> {
        let slot = self.nonce_count;
        *self.nonces.get_mut(usize::from(slot))? = nonce;
        self.nonce_count = slot.checked_add(1)?;
        Some(slot)
    }

    /// Records a refusal; false when the outcome is full.
    pub fn push_refusal(&mut self, refusal: Refusal) -> bool {
        let Some(place) = self.refusals.get_mut(usize::from(self.refusal_count)) else {
            return false;
        };
        *place = refusal;
        self.refusal_count = self.refusal_count.saturating_add(1);
        true
    }
}

/// Where the previous outcome of a log left off: each outcome is encoded against it (tick and
/// nonce deltas), so a log of one input per tick costs a few bytes an entry.
#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    tick: u64,
    nonce: u64,
}

/// A signed difference as an unsigned varint value (small either way).
fn zigzag(delta: u64) -> u64 {
    let d = delta as i64;
    ((d << 1) ^ (d >> 63)) as u64
}

fn unzigzag(z: u64) -> u64 {
    ((z >> 1) as i64 ^ -((z & 1) as i64)) as u64
}

impl Outcome {
    fn write_after(&self, at: &mut Cursor, buf: &mut impl BufMut) {
        UInt(self.tick.wrapping_sub(at.tick)).write(buf);
        at.tick = self.tick;
        self.nonce_count.write(buf);
        for &n in self.nonces() {
            UInt(zigzag(n.wrapping_sub(at.nonce))).write(buf);
            at.nonce = n;
        }
        self.refusal_count.write(buf);
        for r in self.refusals() {
            r.action.write(buf);
            r.reason.write(buf);
            r.slot.unwrap_or(MOVEMENT).write(buf);
        }
    }

    fn size_after(&self, at: &mut Cursor) -> usize {
        let tick = UInt(self.tick.wrapping_sub(at.tick)).encode_size();
        at.tick = self.tick;
        let mut nonces = 0;
        for &n in self.nonces() {
            nonces += UInt(zigzag(n.wrapping_sub(at.nonce))).encode_size();
            at.nonce = n;
        }
        tick + 1 + nonces + 1 + 3 * self.refusals().len()
    }

    fn read_after(at: &mut Cursor, buf: &mut impl Buf) -> Result<Self, CodecError> {
        let delta = UInt::<u64>::read(buf)?.0;
        let tick = at
            .tick
            .checked_add(delta)
            .ok_or(CodecError::Invalid("Outcome", "tick overflows"))?;
        at.tick = tick;
        let mut o = Outcome::new(tick);
        let nonces = u8::read(buf)?;
        if usize::from(nonces) > MAX_OUTCOME_NONCES {
            return Err(CodecError::Invalid("Outcome", "too many nonces"));
        }
        for _ in 0..nonces {
            let n = at.nonce.wrapping_add(unzigzag(UInt::<u64>::read(buf)?.0));
            at.nonce = n;
            o.push_nonce(n);
        }
        let refusals = u8::read(buf)?;
        if usize::from(refusals) > MAX_OUTCOME_REFUSALS {
            return Err(CodecError::Invalid("Outcome", "too many refusals"));
        }
        for _ in 0..refusals {
            let (action, reason, slot) = (u8::read(buf)?, u8::read(buf)?, u8::read(buf)?);
            let slot = (slot != MOVEMENT).then_some(slot);
            if slot.is_some_and(|s| s >= nonces) {
                return Err(CodecError::Invalid(
                    "Outcome",
                    "refusal of no included nonce",
                ));
            }
            o.push_refusal(Refusal {
                action,
                reason,
                slot,
            });
        }
        Ok(o)
    }
}

/// The outcomes of one key's actions over the last [`RECEIPT_WINDOW`] ticks, oldest first
/// (ticks strictly increasing).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiptLog {
    pub key: PlayerKey,
    pub entries: Vec<Outcome>,
}

impl ReceiptLog {
    /// A log for `key`, with room for a whole window of `window` ticks (so recording never
    /// reallocates).
    pub fn new(key: PlayerKey, window: u64) -> Self {
        let window = window.min(MAX_RECEIPT_WINDOW) as usize;
        Self {
            key,
            entries: Vec::with_capacity(window + 1),
        }
    }

    /// The outcome of the block at `tick`, started (and the log trimmed to the last `window`
    /// ticks) on the first call in a block.
    pub fn current(&mut self, tick: u64, window: u64) -> &mut Outcome {
        if self.entries.last().is_none_or(|o| o.tick != tick) {
            let keep_from = tick.saturating_sub(window.min(MAX_RECEIPT_WINDOW));
            let expired = self.entries.partition_point(|o| o.tick <= keep_from);
            self.entries.drain(..expired);
            self.entries.push(Outcome::new(tick));
        }
        let last = self.entries.len().saturating_sub(1);
        // Just pushed or found: the log is not empty.
        &mut self.entries[last]
    }

    /// Whether every outcome has left the window of `window` ticks at `tick`.
    pub fn expired(&self, tick: u64, window: u64) -> bool {
        self.entries
            .last()
            .is_none_or(|o| o.tick.saturating_add(window) <= tick)
    }
}

impl Write for ReceiptLog {
    fn write(&self, buf: &mut impl BufMut) {
        self.key.write(buf);
        (self.entries.len() as u8).write(buf);
        let mut at = Cursor::default();
        for o in &self.entries {
            o.write_after(&mut at, buf);
        }
    }
}

impl EncodeSize for ReceiptLog {
    fn encode_size(&self) -> usize {
        let mut at = Cursor::default();
        32 + 1
            + self
                .entries
                .iter()
                .map(|o| o.size_after(&mut at))
                .sum::<usize>()
    }
}

impl Read for ReceiptLog {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let key = <[u8; 32]>::read(buf)?;
        let n = u8::read(buf)?;
        // One more than the window: the block that trims the oldest entry adds one first.
        if u64::from(n) > MAX_RECEIPT_WINDOW + 1 {
            return Err(CodecError::Invalid("ReceiptLog", "too many outcomes"));
        }
        let mut entries: Vec<Outcome> = Vec::with_capacity(usize::from(n));
        let mut at = Cursor::default();
        for _ in 0..n {
            let o = Outcome::read_after(&mut at, buf)?;
            if entries.last().is_some_and(|last| last.tick >= o.tick) {
                return Err(CodecError::Invalid("ReceiptLog", "ticks out of order"));
            }
            entries.push(o);
        }
        Ok(Self { key, entries })
    }
}

impl Component for ReceiptLog {
    const TABLE: u16 = 16;
    const NAME: &'static str = "receipts";
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{DecodeExt as _, Encode as _};

    #[test]
    fn a_log_keeps_one_window_and_round_trips() {
        const RECEIPT_WINDOW: u64 = 48;
        let mut log = ReceiptLog::new([7; 32], RECEIPT_WINDOW);
        for tick in 1..=100u64 {
            let o = log.current(tick, RECEIPT_WINDOW);
            let slot = o.push_nonce(tick * 3);
            o.push_refusal(Refusal {
                action: 1,
                reason: 2,
                slot,
            });
            assert_eq!(log.current(tick, RECEIPT_WINDOW).nonces(), &[tick * 3]);
        }
        assert_eq!(log.entries.len() as u64, RECEIPT_WINDOW);
        assert_eq!(log.entries[0].tick, 100 - RECEIPT_WINDOW + 1);
        assert!(!log.expired(100 + RECEIPT_WINDOW - 1, RECEIPT_WINDOW));
        assert!(log.expired(100 + RECEIPT_WINDOW, RECEIPT_WINDOW));
        let back = ReceiptLog::decode(log.encode()).unwrap();
        assert_eq!(back, log);
        let o = &back.entries[5];
        assert_eq!(o.refused_nonce(&o.refusals()[0]), Some(o.nonces()[0]));
    }

    #[test]
    fn an_outcome_is_bounded_and_refuses_dangling_slots() {
        let mut o = Outcome::new(1);
        for n in 0..20 {
            o.push_nonce(n);
        }
        assert_eq!(o.nonces().len(), MAX_OUTCOME_NONCES);
        let mut log = ReceiptLog::new([2; 32], 48);
        log.entries.push(Outcome::new(1));
        let mut bytes = log.encode().to_vec();
        // No nonces, one refusal naming slot 0.
        bytes.truncate(bytes.len() - 1);
        bytes.extend_from_slice(&[1, 4, 2, 0]);
        assert!(ReceiptLog::decode(commonware_codec::Copying(bytes.as_slice())).is_err());
    }

    #[test]
    fn a_log_of_one_input_per_tick_costs_a_few_bytes_an_entry() {
        let mut log = ReceiptLog::new([2; 32], MAX_RECEIPT_WINDOW);
        for tick in 1_000_000..1_000_000 + MAX_RECEIPT_WINDOW {
            log.current(tick, MAX_RECEIPT_WINDOW).push_nonce(tick * 2);
        }
        let per_entry = (log.encode_size() - 33) as f64 / log.entries.len() as f64;
        assert!(per_entry <= 4.5, "{per_entry} bytes an entry");
        assert_eq!(log.encode().len(), log.encode_size());
        assert_eq!(ReceiptLog::decode(log.encode()).unwrap(), log);
        // Nonces that go down (the rules' direct execution numbers them per block) round-trip.
        let mut odd = ReceiptLog::new([3; 32], 48);
        for (tick, n) in [(5, 9), (6, 0), (7, u64::MAX)] {
            odd.current(tick, 48).push_nonce(n);
        }
        assert_eq!(ReceiptLog::decode(odd.encode()).unwrap(), odd);
    }

    #[test]
    fn the_window_lasts_as_long_at_every_tick_rate() {
        assert_eq!(receipt_window(50), 48);
        assert_eq!(receipt_window(16), 150);
        assert_eq!(receipt_window(100), 24);
        for tick_ms in 10..=300 {
            let lasts = receipt_window(tick_ms) * tick_ms;
            assert!(
                (RECEIPT_WINDOW_MS..RECEIPT_WINDOW_MS + tick_ms).contains(&lasts),
                "{tick_ms} ms"
            );
        }
        assert_eq!(receipt_window(1), MAX_RECEIPT_WINDOW);
        assert_eq!(receipt_window(1_000), MIN_RECEIPT_WINDOW);
    }

    #[test]
    fn a_log_with_ticks_out_of_order_is_refused() {
        let log = ReceiptLog {
            key: [1; 32],
            entries: vec![Outcome::new(5), Outcome::new(5)],
        };
        assert!(ReceiptLog::decode(log.encode()).is_err());
    }
}
