//! `z3r0`: the command-line entry point of the Z3R0 engine (the engine alone; a game built on
//! it is a binary of its own made the same way, with its parts: see the library).

fn main() -> anyhow::Result<()> {
    z3r0::Engine::default().main()
}
