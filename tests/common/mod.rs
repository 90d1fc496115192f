//! Helpers shared by the multi-process tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Writes a loopback network of `validators` at a 50 ms tick with `z3r0 genesis` into `dir`,
/// ports from `base`, in a small zone.
pub fn small_network(dir: &Path, validators: usize, base: u16) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["genesis", "--tick-ms", "50", "--validators"])
        .arg(validators.to_string())
        .arg("--base-port")
        .arg(base.to_string())
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    shrink_zone(&dir.join("genesis.toml"));
}

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

/// The first base from `start` (in steps of 10, below the ephemeral range) whose `n` ports
/// are free for TCP and UDP, so parallel tests and stray processes do not collide.
pub fn free_ports(start: u16, n: u16) -> u16 {
    // Ranges this process handed out already: `cargo test` runs a binary's tests as threads
    // of one process, and a range is free until the devnet it went to binds it, so two tests
    // starting from the same base would both get it.
    static HANDED_OUT: std::sync::Mutex<Vec<(u16, u16)>> = std::sync::Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let mut base = start;
    loop {
        let taken = handed_out
            .iter()
            .any(|&(b, len)| base < b + len && b < base + n);
        let free = !taken
            && (0..n).all(|i| {
                let addr = ("127.0.0.1", base + i);
                std::net::TcpListener::bind(addr).is_ok() && std::net::UdpSocket::bind(addr).is_ok()
            });
        if free {
            handed_out.push((base, n));
            return base;
        }
        base = if base + 10 + n < 32_000 {
            base + 10
        } else {
            20_000
        };
    }
}

/// `(height, digest, root)` of every line of a node's audit log (none if it is not there yet).
pub fn audit_entries(log: &Path) -> Vec<(u64, String, String)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            Some((
                f.next()?.parse().ok()?,
                f.next()?.to_string(),
                f.next()?.to_string(),
            ))
        })
        .collect()
}

/// Every height has one digest and one root across the audit logs `logs` (duplicates from
/// replay agree), and no height is missing.
pub fn assert_one_chain(logs: &[PathBuf]) {
    let mut chain: BTreeMap<u64, (String, String)> = BTreeMap::new();
    for (i, log) in logs.iter().enumerate() {
        for (h, d, r) in audit_entries(log) {
            let entry = chain.entry(h).or_insert_with(|| (d.clone(), r.clone()));
            assert_eq!(entry, &(d, r), "validator {i} disagrees at height {h}");
        }
    }
    let heights: Vec<u64> = chain.keys().copied().collect();
    assert_eq!(heights, (1..=heights.len() as u64).collect::<Vec<_>>());
}

/// Whether Xvfb and xdotool are here to play a window through real X input. Where they are
/// not, CI (which sets `Z3R0_REQUIRE_GPU`) fails; elsewhere the caller skips `what`, and
/// says so loudly.
pub fn x_input_available(what: &str) -> bool {
    let has = |tool: &str, arg: &str| std::process::Command::new(tool).arg(arg).output().is_ok();
    if has("xvfb-run", "--help") && has("xdotool", "version") {
        return true;
    }
    assert!(
        std::env::var_os("Z3R0_REQUIRE_GPU").is_none(),
        "xvfb-run or xdotool is missing (apt-get install xvfb xauth xdotool)"
    );
    eprintln!("\n!!! {what} NOT CHECKED: xvfb-run or xdotool is not installed.\n");
    false
}

/// Runs `script` with `sh` on a screen of its own under Xvfb, `Z3R0` naming the binary under
/// test and `vars` set, quiet logs; its standard output, once it exited successfully.
pub fn run_in_xvfb(script: &str, vars: &[(&str, &std::ffi::OsStr)]) -> String {
    let mut command = std::process::Command::new("xvfb-run");
    command
        .args(["-a", "-s", "-screen 0 640x480x24", "sh", "-c", script])
        .env("Z3R0", env!("CARGO_BIN_EXE_z3r0"))
        .env("RUST_LOG", "warn");
    for (name, value) in vars {
        command.env(name, value);
    }
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
