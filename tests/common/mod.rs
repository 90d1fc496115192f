//! Helpers shared by the multi-process tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

/// Shrinks a written genesis to a small zone: world generation stays quick in unoptimised test
/// builds.
pub fn shrink_zone(genesis: &Path) {
    let text = std::fs::read_to_string(genesis).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let line = if line.starts_with("chunks_x") || line.starts_with("chunks_z") {
            "chunks_x = [-1, 1]".replace("chunks_x", &line[..8])
        } else if line.starts_with("chunks_y") {
            "chunks_y = [-1, 2]".to_string()
        } else {
            line.to_string()
        };
        out.push_str(&line);
        out.push('\n');
    }
    std::fs::write(genesis, out).unwrap();
}
