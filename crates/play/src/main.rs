//! `z3r0-play`: play a Z3R0 zone (see `z3r0_play::play`).

use anyhow::Result;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "z3r0-play",
    version,
    about = "Play a Z3R0 zone over QUIC: in a window, or headless and as a bot"
)]
struct Cli {
    #[command(flatten)]
    args: z3r0_play::ClientArgs,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    z3r0_play::run(&Cli::parse().args)
}
