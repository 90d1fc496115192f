//! `z3r0 render` end to end: the headless PNG path, argument errors, and the windowed path
//! under Xvfb.
//!
//! Like the renderer's own tests these need an adapter (lavapipe in CI); `Z3R0_REQUIRE_GPU=1`
//! (set by `scripts/test`) makes a missing adapter or a missing `xvfb-run` a failure.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn required() -> bool {
    std::env::var_os("Z3R0_REQUIRE_GPU").is_some()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("z3r0-cli-render-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn render_writes_a_png_and_prints_frame_statistics() {
    let dir = temp_dir("png");
    let shot = dir.join("shot.png");
    let out = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args([
            "render",
            "--seed",
            "42",
            "--camera=0,60,0,35,-20",
            "--size",
            "320x180",
            "--view-distance",
            "3",
            "--frames",
            "2",
            "--demo-overlays",
            "--out",
        ])
        .arg(&shot)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("no GPU adapter") && !required() {
        eprintln!("\n!!! CLI RENDER TEST NOT RUN: no GPU adapter.\n{stderr}");
        return;
    }
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    for field in [
        "adapter ",
        "draw calls",
        "triangles",
        "drawn",
        "culled",
        "· GPU ",
        "upload ",
        "wrote ",
    ] {
        assert!(stdout.contains(field), "missing {field:?}: {stdout}");
    }
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let reader = decoder.read_info().unwrap();
    assert_eq!((reader.info().width, reader.info().height), (320, 180));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn render_rejects_bad_arguments_with_a_reason() {
    for (args, reason) in [
        (vec!["--camera=1,2,3"], "X,Y,Z,YAW,PITCH"),
        (vec!["--camera=1,2,x,0,0"], "not a number"),
        (vec!["--camera=0,0,0,0,120"], "PITCH"),
        (vec!["--size", "0x10"], "--size"),
        (vec!["--size", "wide"], "WIDTHxHEIGHT"),
        (vec!["--view-distance", "0"], "--view-distance"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_z3r0"))
            .arg("render")
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}

#[test]
fn render_opens_a_window_and_presents_frames_under_xvfb() {
    let has_xvfb = Command::new("xvfb-run")
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stdout.is_empty() || !o.stderr.is_empty());
    if !has_xvfb {
        assert!(
            !required(),
            "Z3R0_REQUIRE_GPU is set but xvfb-run is missing (apt-get install xvfb xauth)"
        );
        eprintln!("\n!!! WINDOW TEST NOT RUN: xvfb-run is not installed.\n");
        return;
    }
    let out = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 640x480x24"])
        .arg(env!("CARGO_BIN_EXE_z3r0"))
        .args([
            "render",
            "--window",
            "--vsync",
            "false",
            "--frames",
            "20",
            "--size",
            "320x180",
            "--view-distance",
            "2",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("no GPU adapter") && !required() {
        eprintln!("\n!!! WINDOW TEST NOT RUN: no GPU adapter.\n{stderr}");
        return;
    }
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("presented 20 frames"), "{stdout}");
    assert!(stdout.contains("surface "), "{stdout}");
}

#[test]
fn window_without_a_display_fails_with_a_clear_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["render", "--window", "--view-distance", "1"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot open a window"), "{stderr}");
}
