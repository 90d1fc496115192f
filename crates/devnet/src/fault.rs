//! Faults the devnet injects into its validators while the players play, so anyone can
//! reproduce a row of the fault matrix: `--fault pause:V:SECS[@AT]` stops validator V's process
//! (SIGSTOP) for SECS, then lets it go on (SIGCONT); `--fault kill:V[@AT]` kills it (SIGKILL),
//! and the supervisor restarts it; `--fault diverge:V[@AT]` makes validator V's state leave the
//! chain's at the height reached AT after genesis (a bug or a flipped bit): it must exit as
//! diverged, and the supervisor must leave it stopped; `--fault skew:V:±MS` runs validator V's
//! clock MS milliseconds ahead (or behind) from its start. For pause and kill, AT is the time after
//! the players start (10 s if not given).

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::parse_duration;
use crate::supervisor::Validator;

/// When a fault strikes unless its text says otherwise.
const DEFAULT_AT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultKind {
    /// The process is stopped for this long, then continued.
    Pause(Duration),
    /// The process is killed; the supervisor restarts it.
    Kill,
    /// The validator's state leaves the chain's (it is started so).
    Diverge,
    /// The validator's clock runs this many milliseconds ahead (negative: behind), from its
    /// start.
    Skew(i64),
}

/// One fault: what, to which validator, when (after the players start).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    pub kind: FaultKind,
    pub validator: usize,
    pub at: Duration,
}

impl Fault {
    /// Parses `pause:V:SECS[@AT]` or `kill:V[@AT]` (durations as `--duration` takes them).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (spec, at) = match text.split_once('@') {
            Some((spec, at)) => (spec, parse_duration(at)?),
            None => (text, DEFAULT_AT),
        };
        let parts: Vec<&str> = spec.split(':').collect();
        let validator = |v: &str| {
            v.parse::<usize>()
                .map_err(|_| format!("{text:?}: {v:?} is not a validator index"))
        };
        let kind = match parts.as_slice() {
            ["pause", v, secs] => (FaultKind::Pause(parse_duration(secs)?), validator(v)?),
            ["kill", v] => (FaultKind::Kill, validator(v)?),
            ["diverge", v] => (FaultKind::Diverge, validator(v)?),
            ["skew", v, ms] => {
                let skew = ms
                    .trim_end_matches("ms")
                    .trim_start_matches('+')
                    .parse::<i64>()
                    .map_err(|_| format!("{text:?}: {ms:?} is not a skew in milliseconds"))?;
                (FaultKind::Skew(skew), validator(v)?)
            }
            _ => {
                return Err(format!(
                    "{text:?}: a fault is pause:V:SECS[@AT], kill:V[@AT], diverge:V[@AT] or skew:V:±MS"
                ));
            }
        };
        Ok(Self {
            kind: kind.0,
            validator: kind.1,
            at,
        })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.at.as_secs_f64();
        match self.kind {
            FaultKind::Pause(d) => write!(f, "pause:{}:{}s@{at}s", self.validator, d.as_secs_f64()),
            FaultKind::Kill => write!(f, "kill:{}@{at}s", self.validator),
            FaultKind::Diverge => write!(f, "diverge:{}@{at}s", self.validator),
            FaultKind::Skew(ms) => write!(f, "skew:{}:{ms:+}ms", self.validator),
        }
    }
}

/// A signal to send to one validator's process, at a time after the players started.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub at: Duration,
    pub validator: usize,
    pub signal: Signal,
}

/// A run's faults: their signals not sent yet, in time order, and the validators paused now.
#[derive(Debug, Default)]
pub struct Injector {
    steps: VecDeque<Step>,
    paused: BTreeSet<usize>,
}

impl Injector {
    pub fn new(faults: &[Fault]) -> Self {
        Self {
            steps: schedule(faults).into(),
            paused: BTreeSet::new(),
        }
    }

    /// Sends the signals due `elapsed` after the players started to `validators` (by their
    /// index), saying what it did.
    pub fn inject(&mut self, validators: &[Validator], elapsed: Duration, say: &dyn Fn(String)) {
        while self.steps.front().is_some_and(|s| s.at <= elapsed) {
            let Some(step) = self.steps.pop_front() else {
                break;
            };
            let Some(v) = validators.iter().find(|v| v.index == step.validator) else {
                continue;
            };
            let Some(pid) = v.pid() else {
                say(format!(
                    "fault: validator {} is not running; {} not sent",
                    step.validator, step.signal
                ));
                continue;
            };
            match send(pid, step.signal) {
                Ok(()) => say(format!(
                    "fault: {} sent to validator {} at {:.1} s",
                    step.signal,
                    step.validator,
                    elapsed.as_secs_f64()
                )),
                Err(e) => say(format!("fault: {e}")),
            }
            match step.signal {
                Signal::SIGSTOP => self.paused.insert(step.validator),
                _ => self.paused.remove(&step.validator),
            };
        }
    }

    /// Whether validator `index` is paused now.
    pub fn is_paused(&self, index: usize) -> bool {
        self.paused.contains(&index)
    }

    /// Lets the paused validators run again: a stopped process cannot stop.
    pub fn resume_all(&self, validators: &[Validator]) {
        for v in validators.iter().filter(|v| self.paused.contains(&v.index)) {
            if let Some(pid) = v.pid() {
                let _ = send(pid, Signal::SIGCONT);
            }
        }
    }
}

/// The signals `faults` send, in time order: a pause is a stop and a continue.
pub fn schedule(faults: &[Fault]) -> Vec<Step> {
    let mut steps: Vec<Step> = faults
        .iter()
        .flat_map(|f| {
            let step = |at, signal| Step {
                at,
                validator: f.validator,
                signal,
            };
            match f.kind {
                FaultKind::Pause(d) => vec![
                    step(f.at, Signal::SIGSTOP),
                    step(f.at.saturating_add(d), Signal::SIGCONT),
                ],
                FaultKind::Kill => vec![step(f.at, Signal::SIGKILL)],
                FaultKind::Diverge | FaultKind::Skew(_) => Vec::new(),
            }
        })
        .collect();
    steps.sort_by_key(|s| s.at);
    steps
}

/// The height after which `validator`'s state is to diverge: the tick reached `at` after
/// genesis (heights follow ticks), or none.
pub fn diverge_height(faults: &[Fault], validator: usize, tick_ms: u64) -> Option<u64> {
    let f = faults
        .iter()
        .find(|f| f.validator == validator && f.kind == FaultKind::Diverge)?;
    let at_ms = u64::try_from(f.at.as_millis()).unwrap_or(u64::MAX);
    Some((at_ms / tick_ms.max(1)).max(1))
}

/// How far ahead `validator`'s clock runs, in milliseconds (0: true time).
pub fn clock_skew(faults: &[Fault], validator: usize) -> i64 {
    faults
        .iter()
        .filter(|f| f.validator == validator)
        .find_map(|f| match f.kind {
            FaultKind::Skew(ms) => Some(ms),
            _ => None,
        })
        .unwrap_or(0)
}

/// Sends `signal` to process `pid`.
pub fn send(pid: u32, signal: Signal) -> Result<(), String> {
    let pid = i32::try_from(pid).map_err(|_| format!("pid {pid} out of range"))?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal)
        .map_err(|e| format!("{signal} to {pid}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_and_schedule_in_time_order() {
        let pause = Fault::parse("pause:1:30s").unwrap();
        assert_eq!(
            pause,
            Fault {
                kind: FaultKind::Pause(Duration::from_secs(30)),
                validator: 1,
                at: DEFAULT_AT
            }
        );
        let kill = Fault::parse("kill:2@5s").unwrap();
        assert_eq!(kill.kind, FaultKind::Kill);
        assert_eq!((kill.validator, kill.at), (2, Duration::from_secs(5)));
        assert_eq!(pause.to_string(), "pause:1:30s@10s");
        let diverge = Fault::parse("diverge:3@4s").unwrap();
        assert_eq!(diverge.kind, FaultKind::Diverge);
        assert_eq!(diverge_height(&[pause, diverge], 3, 50), Some(80));
        assert_eq!(diverge_height(&[pause, diverge], 1, 50), None);
        let behind = Fault::parse("skew:1:-200ms").unwrap();
        assert_eq!(behind.kind, FaultKind::Skew(-200));
        assert_eq!(
            Fault::parse("skew:0:+200").unwrap().kind,
            FaultKind::Skew(200)
        );
        assert_eq!(clock_skew(&[pause, behind], 1), -200);
        assert_eq!(clock_skew(&[pause, behind], 0), 0);
        assert_eq!(behind.to_string(), "skew:1:-200ms");
        for bad in [
            "skew:1",
            "skew:1:soon",
            "diverge:1:2s",
            "pause:1",
            "kill:x",
            "stop:1",
            "pause:1:forever",
            "kill:1@soon",
        ] {
            assert!(Fault::parse(bad).is_err(), "{bad}");
        }
        let steps = schedule(&[pause, kill]);
        let order: Vec<_> = steps
            .iter()
            .map(|s| (s.at.as_secs(), s.validator, s.signal))
            .collect();
        assert_eq!(
            order,
            [
                (5, 2, Signal::SIGKILL),
                (10, 1, Signal::SIGSTOP),
                (40, 1, Signal::SIGCONT)
            ]
        );
    }
}
