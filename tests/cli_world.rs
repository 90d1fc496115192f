//! `z3r0 world` end to end: runs the binary, checks its report and the map it writes.

use std::process::Command;

#[test]
fn world_command_reports_stats_and_writes_map() {
    let dir = std::env::temp_dir().join(format!("z3r0-cli-world-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let map = dir.join("map.png");
    let out = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args([
            "world", "--seed", "42", "--radius", "1", "--min-y", "-1", "--max-y", "1", "--out",
        ])
        .arg(&map)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("chunks           12"), "{stdout}");
    for field in [
        "non-air voxels",
        "bytes/voxel",
        "quads",
        "mesh µs/chunk",
        "chunk root",
    ] {
        assert!(stdout.contains(field), "missing {field}: {stdout}");
    }
    // A 2×2-column region is 64×64 pixels.
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&map).unwrap()));
    let reader = decoder.read_info().unwrap();
    assert_eq!((reader.info().width, reader.info().height), (64, 64));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn world_command_rejects_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["world", "--radius", "0", "--no-map"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--radius must be between 1 and 64"));
}
