//! `doors`: the engine's command line with the doors game's parts. `doors devnet` runs a zone
//! whose validators run the doors plugin with the game's pack as its content, and lets a third of
//! its players build and open doors.

use std::path::Path;
use std::sync::Arc;
use z3r0_example_doors::{DoorsPlayer, DoorsPlugin, write_pack};

/// The engine's default pack, which the game's pack extends (read from this repository).
const DEFAULT_PACK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../content/default");

fn main() -> anyhow::Result<()> {
    z3r0::Engine::new("doors")
        .plugin(Arc::new(DoorsPlugin))
        .pack(|out| write_pack(Path::new(DEFAULT_PACK), out))
        .players(Arc::new(DoorsPlayer))
        .main()
}
