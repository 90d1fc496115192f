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

/// `z3r0 render` at a small size into `dir/name`, with `extra` arguments; its pixels (RGBA).
fn render_pixels(dir: &std::path::Path, name: &str, extra: &[&std::ffi::OsStr]) -> Option<Vec<u8>> {
    let shot = dir.join(name);
    let out = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["render", "--seed", "42", "--camera=0,60,0,35,-20"])
        .args(["--size", "320x180", "--view-distance", "3", "--out"])
        .arg(&shot)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("no GPU adapter") && !required() {
        eprintln!("\n!!! CLI RENDER TEST NOT RUN: no GPU adapter.\n{stderr}");
        return None;
    }
    assert!(out.status.success(), "{stderr}");
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0u8; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut buf).unwrap();
    Some(buf)
}

#[test]
fn the_default_pack_renders_like_the_built_in_textures_and_a_changed_one_does_not() {
    let dir = temp_dir("content");
    let pack = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content/default");
    let Some(built_in) = render_pixels(&dir, "built-in.png", &[]) else {
        return;
    };
    let with_pack =
        render_pixels(&dir, "pack.png", &["--content".as_ref(), pack.as_os_str()]).unwrap();
    assert!(
        built_in == with_pack,
        "the default pack renders differently from the built-in textures"
    );

    // The same pack with the water's top painted red: the view (mostly sea) changes.
    let red = dir.join("red");
    for sub in ["", "textures", "sounds"] {
        std::fs::create_dir_all(red.join(sub)).unwrap();
        for entry in std::fs::read_dir(pack.join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), red.join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
    let file = std::fs::File::create(red.join("textures/water_top.png")).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), 16, 16);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let texels: Vec<u8> = [255u8, 0, 0].repeat(256);
    encoder
        .write_header()
        .unwrap()
        .write_image_data(&texels)
        .unwrap();
    let reddened =
        render_pixels(&dir, "red.png", &["--content".as_ref(), red.as_os_str()]).unwrap();
    let redder = reddened
        .chunks_exact(4)
        .zip(built_in.chunks_exact(4))
        .filter(|(a, b)| a[0] > b[0].saturating_add(40) && a[1] < b[1])
        .count();
    assert!(redder > 1_000, "only {redder} pixels turned red");
    std::fs::remove_dir_all(&dir).unwrap();
}
