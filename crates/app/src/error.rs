//! Why the windowed player stopped.

use z3r0_net::NetError;
use z3r0_render::RenderError;
use z3r0_render::winit::error::{EventLoopError, OsError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot open a window: {0}")]
    Window(#[from] OsError),
    #[error("the window's event loop failed: {0}")]
    EventLoop(#[from] EventLoopError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("the connection to the node: {0}")]
    Net(#[from] NetError),
    #[error("cannot start the {0} thread: {1}")]
    Thread(&'static str, std::io::Error),
    #[error("the render thread panicked")]
    RenderPanicked,
    #[error("a client thread still holds the game")]
    GameHeld,
}
