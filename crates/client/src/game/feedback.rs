//! What the player is told about its session: refusals, outcomes of its actions, notices,
//! block changes and counters. Every queue here is bounded.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use z3r0_chain::RejectionKind;
use z3r0_sim::Reason;
use z3r0_voxel::{BlockId, VoxelPos};

/// Notices kept (the newest).
const MAX_NOTICES: usize = 32;
/// Outcomes kept until someone drains them.
const MAX_OUTCOMES: usize = 1024;
/// Block changes kept until someone drains them.
const MAX_BLOCK_CHANGES: usize = 256;
/// Finality samples kept.
const MAX_FINALITY_SAMPLES: usize = 200;

/// Why one of the player's actions was not applied, from the codes on the wire: the node
/// refused it before any block, or the rules rejected it in one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Refusal {
    Node(RejectionKind),
    Rules(Reason),
    /// A rules code this client does not know (a newer node's).
    UnknownRule(u8),
}

impl Refusal {
    /// The refusal for a rules reason code.
    pub fn from_rule_code(code: u8) -> Self {
        Reason::from_code(code).map_or(Refusal::UnknownRule(code), Refusal::Rules)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Node(kind) => write!(f, "refused by the node: {kind}"),
            Refusal::Rules(reason) => f.write_str(reason.message()),
            Refusal::UnknownRule(code) => write!(f, "reason {code}"),
        }
    }
}

/// What happened in a session, for the HUD and reports.
#[derive(Debug, Default, Clone)]
pub struct GameStats {
    pub chunks: u64,
    pub bad_chunks: u64,
    /// Claims whose proofs failed.
    pub bad_claims: u64,
    /// Edits not shown early (a refusal was expected) that the chain applied.
    pub held_back_applied: u64,
    pub snapshots: u64,
    pub included: u64,
    /// Actions signed and sent (each new one once; resends are not counted).
    pub actions_sent: u64,
    /// Refusals by the node and rejections by the rules, by reason.
    pub refusals: BTreeMap<Refusal, u64>,
    /// Finality latency samples: block tick start → its verified header here, milliseconds.
    pub finality_ms: VecDeque<f64>,
    /// Published content that came into force here: (manifest, its tick, milliseconds from
    /// the start of that tick to the switch here).
    pub content_switches: Vec<([u8; 32], u64, u64)>,
    /// Chunks an edge sent that were not shown: of another zone's columns (in a world, a zone
    /// proves only its own), or beyond the subscription's reach.
    pub foreign_chunks: u64,
    /// Times the session moved to another zone of the world, following the body.
    pub zone_switches: u64,
    /// Of those, the times a session with that zone was already open (watched near the
    /// border): no connection to wait for, and its chunks already held.
    pub seamless_switches: u64,
    /// After each switch, how far the prediction was from the body as it arrived in the new
    /// zone, 1/1024 m (the newest [`MAX_ARRIVALS`]).
    pub arrival_errors: VecDeque<i64>,
    /// Zones asked whether the body was there, by a session that had none yet in a world
    /// (before it joined).
    pub zones_searched: u64,
}

/// Arrival errors kept in [`GameStats`].
pub const MAX_ARRIVALS: usize = 1024;

/// What became of one of the player's actions (by nonce), for bots and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub nonce: u64,
    /// `None`: applied by a finalized block. `Some`: refused by the node or rejected by the
    /// rules.
    pub refused: Option<Refusal>,
}

/// A voxel the chain changed that the player had not changed already (someone else's edit,
/// or one of the player's own that the local world did not show), for sounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockChange {
    pub pos: VoxelPos,
    pub from: BlockId,
    pub to: BlockId,
}

/// Something the player should read: a refusal, or the player having left the zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub tick: u64,
    pub text: String,
}

/// The session's feedback queues and counters.
#[derive(Debug, Default)]
pub(super) struct Feedback {
    pub(super) stats: GameStats,
    pub(super) notices: VecDeque<Notice>,
    pub(super) outcomes: VecDeque<Outcome>,
    pub(super) block_changes: VecDeque<BlockChange>,
}

impl Feedback {
    pub(super) fn notice(&mut self, tick: u64, text: String) {
        push_bounded(&mut self.notices, Notice { tick, text }, MAX_NOTICES);
    }

    /// Counts a refusal and tells the player.
    pub(super) fn refused(&mut self, tick: u64, refusal: Refusal) {
        *self.stats.refusals.entry(refusal).or_default() += 1;
        self.notice(tick, refusal.to_string());
    }

    pub(super) fn outcome(&mut self, outcome: Outcome) {
        push_bounded(&mut self.outcomes, outcome, MAX_OUTCOMES);
    }

    pub(super) fn block_change(&mut self, change: BlockChange) {
        push_bounded(&mut self.block_changes, change, MAX_BLOCK_CHANGES);
    }

    pub(super) fn finality(&mut self, ms: f64) {
        push_bounded(&mut self.stats.finality_ms, ms, MAX_FINALITY_SAMPLES);
    }
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T, max: usize) {
    queue.push_back(item);
    while queue.len() > max {
        queue.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::{Feedback, MAX_NOTICES, Refusal};
    use z3r0_chain::RejectionKind;
    use z3r0_sim::Reason;

    #[test]
    fn refusals_are_counted_by_code_and_read_as_text() {
        let mut feedback = Feedback::default();
        for tick in 0..3 {
            feedback.refused(tick, Refusal::Node(RejectionKind::Expired));
        }
        feedback.refused(3, Refusal::from_rule_code(Reason::OutOfReach as u8));
        feedback.refused(4, Refusal::from_rule_code(200));
        feedback.notice(5, "the player is no longer in the zone".into());
        let counts: Vec<_> = feedback.stats.refusals.iter().collect();
        assert_eq!(
            counts,
            vec![
                (&Refusal::Node(RejectionKind::Expired), &3),
                (&Refusal::Rules(Reason::OutOfReach), &1),
                (&Refusal::UnknownRule(200), &1),
            ]
        );
        let texts: Vec<&str> = feedback.notices.iter().map(|n| n.text.as_str()).collect();
        assert_eq!(texts[0], "refused by the node: action for tick expired");
        assert_eq!(texts[3], Reason::OutOfReach.message());
        assert_eq!(texts[4], "reason 200");
        for tick in 0..100 {
            feedback.notice(tick, String::new());
        }
        assert_eq!(feedback.notices.len(), MAX_NOTICES);
    }
}
