//! A validator's Prometheus metrics, registered with the commonware runtime (which serves them
//! with its own).

use commonware_runtime::{
    Metrics,
    telemetry::metrics::{Counter, Gauge, Histogram, MetricsExt as _},
};

/// Finality latency buckets, in seconds: fine-grained below a 50 ms tick.
const FINALITY_BUCKETS: [f64; 16] = [
    0.002, 0.004, 0.006, 0.008, 0.010, 0.012, 0.015, 0.020, 0.030, 0.050, 0.075, 0.100, 0.200,
    0.500, 1.0, 5.0,
];

#[derive(Clone, Debug)]
pub struct ZoneMetrics {
    /// Height of the last executed finalized block.
    pub height: Gauge,
    /// Highest finalized height known (may run ahead of `height` while catching up).
    pub finalized_tip: Gauge,
    /// From first proposing or verifying a block to executing it final, in seconds.
    pub finality: Histogram,
    /// Actions in finalized blocks.
    pub actions: Counter,
    /// Pending actions in the mempool.
    pub mempool: Gauge,
    pub proposed: Counter,
    pub verified: Counter,
    pub refused: Counter,
    /// Actions accepted from clients and peers, and refused.
    pub submitted: Counter,
    pub rejected: Counter,
    /// Times the state ran ahead of finality on a fresh fork of the finalized state (a child
    /// came before its parent was final).
    pub forks: Gauge,
    /// Times this validator, running, fell behind the committee's history and state-synced
    /// from its checkpoint.
    pub state_syncs: Counter,
}

impl ZoneMetrics {
    pub fn register(context: &impl Metrics) -> Self {
        Self {
            height: context.gauge("height", "height of the last executed finalized block"),
            finalized_tip: context.gauge("finalized_tip", "highest finalized height known"),
            finality: context.histogram(
                "finality_seconds",
                "from first proposing or verifying a block to executing it final",
                FINALITY_BUCKETS,
            ),
            actions: context.counter("finalized_actions", "actions in finalized blocks"),
            mempool: context.gauge("mempool_actions", "pending actions in the mempool"),
            proposed: context.counter("proposed_blocks", "blocks this validator proposed"),
            verified: context.counter("verified_blocks", "proposals this validator accepted"),
            refused: context.counter("refused_blocks", "proposals this validator refused"),
            submitted: context.counter("submitted_actions", "actions admitted to the mempool"),
            rejected: context.counter("rejected_actions", "actions refused by the mempool"),
            forks: context.gauge(
                "state_forks",
                "forks of the finalized state to execute ahead of finality",
            ),
            state_syncs: context.counter(
                "state_syncs",
                "times this validator fell behind the committee's history while running and synced",
            ),
        }
    }
}
