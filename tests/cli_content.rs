//! `z3r0 content build`: a pack checked and bundled from the command line.

use std::process::Command;

#[test]
fn content_build_bundles_the_default_pack_and_lists_every_error_of_a_bad_one() {
    let out = std::env::temp_dir().join(format!("z3r0-cli-content-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let pack = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content/default");
    let run = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["content", "build"])
        .arg(&pack)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("pack default v1: 11 blocks, 9 items"),
        "{stdout}"
    );
    let hash = z3r0_content::hex(&z3r0_content::Pack::load(&pack).unwrap().manifest_hash());
    assert!(stdout.contains(&format!("manifest {hash}")), "{stdout}");
    assert!(out.join("pack.toml").exists());

    // A broken pack: both errors, each with its file and field, and no bundle.
    let bad = out.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("pack.toml"),
        "[pack]\nname = \"Bad Name\"\nversion = 0\n",
    )
    .unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_z3r0"))
        .args(["content", "build"])
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    for field in ["pack.name", "pack.version", "block: no block 0"] {
        assert!(
            stderr.contains(&format!("pack.toml: {field}")),
            "{field}: {stderr}"
        );
    }
    assert!(!bad.join("bundle").exists());
    std::fs::remove_dir_all(&out).unwrap();
}
