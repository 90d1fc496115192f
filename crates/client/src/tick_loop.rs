//! The network and tick thread of a windowed client: it handles what the node sends and sends
//! one input frame per chain tick, whatever the frame rate. The window's input thread publishes
//! the player's controls to it; the render thread locks the game only to read the world and
//! the predicted body.
//!
//! Why a thread of its own: with rendering and input on one loop, a slow frame (a software
//! GPU, a burst of meshing) delays the input frames past their ticks and the player's moves
//! arrive late or not at all. Here the tick thread polls every [`POLL_INTERVAL`] and locks the
//! game only while it handles events and sends.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use z3r0_net::NetError;
use z3r0_sim::InputFrame;

use crate::game::Game;

/// How often the tick thread looks at the network and the chain's clock.
pub const POLL_INTERVAL: Duration = Duration::from_millis(4);

#[derive(Debug, Default, Clone, Copy)]
struct Controls {
    latest: InputFrame,
    /// Flags (jump, sprint, crouch) held at any moment since the tick thread last sampled: a
    /// tap shorter than a tick still reaches the chain.
    latched_flags: u8,
}

impl Controls {
    fn publish(&mut self, frame: InputFrame) {
        self.latest = frame;
        self.latched_flags |= frame.flags;
    }

    /// The frame for the next tick: the latest controls with every flag held since the last
    /// call.
    fn take(&mut self) -> InputFrame {
        let mut frame = self.latest;
        frame.flags |= self.latched_flags;
        self.latched_flags = 0;
        frame
    }
}

/// What the client's threads share.
#[derive(Debug)]
pub struct Shared {
    game: Mutex<Game>,
    controls: Mutex<Controls>,
    stop: AtomicBool,
    /// Chain ticks the tick thread has handled (sent an input or a join for).
    ticks: AtomicU64,
    /// Ticks the thread saw pass without handling them (it was held up for over a tick).
    ticks_skipped: AtomicU64,
}

/// Locks `m`, taking the value over from a thread that panicked while holding it (the game is
/// still consistent between calls: every mutation is one call).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// The game, locked: hold it briefly (the tick thread waits meanwhile).
    pub fn game(&self) -> MutexGuard<'_, Game> {
        lock(&self.game)
    }

    /// The player's controls as of now (from the input thread).
    pub fn set_controls(&self, frame: InputFrame) {
        lock(&self.controls).publish(frame);
    }

    /// The frame to send for the next tick; clears the latched flags.
    fn take_frame(&self) -> InputFrame {
        lock(&self.controls).take()
    }

    /// The game, once no thread shares it.
    pub fn into_game(self) -> Game {
        self.game
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Asks the tick thread to end.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether the tick thread was asked to end or has ended (on an error).
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Chain ticks handled, and ticks that passed unhandled.
    pub fn tick_counts(&self) -> (u64, u64) {
        (
            self.ticks.load(Ordering::Relaxed),
            self.ticks_skipped.load(Ordering::Relaxed),
        )
    }
}

/// Stops every thread of the client when dropped: a thread that ends for any reason, a panic
/// included, ends the others.
#[derive(Debug)]
pub struct StopOnDrop<'a>(pub &'a Shared);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// The running tick thread.
#[derive(Debug)]
pub struct TickLoop {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Result<(), NetError>>>,
}

impl TickLoop {
    /// Starts the tick thread for `game`; the connection's futures run on `runtime`.
    pub fn spawn(runtime: tokio::runtime::Handle, game: Game) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            game: Mutex::new(game),
            controls: Mutex::new(Controls::default()),
            stop: AtomicBool::new(false),
            ticks: AtomicU64::new(0),
            ticks_skipped: AtomicU64::new(0),
        });
        let thread = std::thread::Builder::new()
            .name("z3r0-tick".into())
            .spawn({
                let shared = shared.clone();
                move || {
                    // Whatever ends the loop, a panic included, the other threads see it.
                    let _stop = StopOnDrop(&shared);
                    run(&runtime, &shared)
                }
            })?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops the thread and hands the game back, with the error that ended the loop if any.
    pub fn finish(mut self) -> (Result<(), NetError>, Arc<Shared>) {
        self.shared.stop();
        let result = match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(NetError::Protocol("the tick thread panicked".into())),
            None => Ok(()),
        };
        (result, self.shared.clone())
    }
}

impl Drop for TickLoop {
    fn drop(&mut self) {
        self.shared.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(runtime: &tokio::runtime::Handle, shared: &Shared) -> Result<(), NetError> {
    let mut last_tick = None;
    while !shared.stopped() {
        // In a world, a body that walked into a zone no session was open with (near a border
        // the game moves to its watch of the neighbour by itself) is followed there: the
        // session is opened without the game locked, then the game moves to it.
        let next = crate::world::next_zone(&shared.game()).transpose()?;
        if let Some(next) = next {
            let (edge, config) = runtime.block_on(next.open_patiently())?;
            runtime.block_on(shared.game().enter_zone(edge, config));
            last_tick = None;
        }
        {
            let mut game = shared.game();
            runtime.block_on(game.poll())?;
            let tick = game.chain_tick();
            if last_tick != Some(tick) {
                if let Some(last) = last_tick {
                    let skipped = tick.saturating_sub(last).saturating_sub(1);
                    shared.ticks_skipped.fetch_add(skipped, Ordering::Relaxed);
                }
                last_tick = Some(tick);
                shared.ticks.fetch_add(1, Ordering::Relaxed);
                if game.joined() {
                    let mut frame = shared.take_frame();
                    if !game.area_loaded() {
                        // Look around, but stay put until the world around has streamed in.
                        (frame.forward, frame.strafe, frame.flags) = (0, 0, 0);
                    }
                    game.input(frame)?;
                } else {
                    game.join()?;
                }
            }
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use z3r0_sim::{InputFrame, flags};

    use super::Controls;

    #[test]
    fn a_tap_between_two_ticks_still_reaches_the_chain() {
        let mut c = Controls::default();
        let jump = InputFrame {
            flags: flags::JUMP,
            forward: 127,
            ..InputFrame::default()
        };
        // Pressed and released before the tick thread looked.
        c.publish(jump);
        c.publish(InputFrame::default());
        let sent = c.take();
        assert_eq!(sent.flags, flags::JUMP, "the jump was lost");
        assert_eq!(sent.forward, 0, "movement is the latest, not latched");
        // Once sent, the tap is over.
        assert_eq!(c.take().flags, 0);
    }
}
