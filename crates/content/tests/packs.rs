//! Checking packs: each error names its file and field; files are addressed by content.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use z3r0_content::{Pack, hex};

/// A copy of the default pack in a fresh directory named `name`.
fn copy_of_default(name: &str) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/default");
    let to = std::env::temp_dir().join(format!("z3r0-pack-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&to);
    for sub in ["", "textures", "sounds"] {
        std::fs::create_dir_all(to.join(sub)).unwrap();
        for entry in std::fs::read_dir(from.join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), to.join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
    to
}

fn edit_manifest(dir: &Path, from: &str, to: &str) {
    let path = dir.join("pack.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from:?} not in the manifest");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// The errors `Pack::load` gives for `dir`, as text.
fn errors(dir: &Path) -> Vec<String> {
    Pack::load(dir)
        .unwrap_err()
        .0
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn each_error_names_its_file_and_field() {
    let dir = copy_of_default("errors");
    edit_manifest(&dir, "id = 2\n", "id = 1\n");
    edit_manifest(&dir, "drops = \"sand\"", "drops = \"sandd\"");
    edit_manifest(&dir, "\"textures/glass.png\"", "\"../escape.png\"");
    edit_manifest(
        &dir,
        "light = 0\nbreak_ticks = 0\ndrops = \"log\"",
        "light = 99\nbreak_ticks = 0\ndrops = \"log\"",
    );
    let found = errors(&dir);
    let manifest = dir.join("pack.toml").display().to_string();
    for (field, reason) in [
        ("block[2].id", "id 1 is used twice"),
        ("block[4].drops", "no item is named \"sandd\""),
        ("block[10].textures.all", "relative path inside the pack"),
        ("block[6].light", "99; light is 0 to 15"),
    ] {
        assert!(
            found
                .iter()
                .any(|e| e.starts_with(&format!("{manifest}: {field}: ")) && e.contains(reason)),
            "no {field}: {reason} in {found:#?}"
        );
    }
    assert_eq!(found.len(), 4, "{found:#?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_media_and_bad_toml_are_refused_with_a_reason() {
    let dir = copy_of_default("media");
    // A texture of the wrong size, a sound that is not a WAV, a texture that is truncated.
    write_rgba(&dir.join("textures/snow_top.png"), 32, &[200; 32 * 32 * 4]);
    std::fs::write(dir.join("sounds/step.wav"), b"RIFF nonsense").unwrap();
    let stone = std::fs::read(dir.join("textures/stone_top.png")).unwrap();
    std::fs::write(
        dir.join("textures/stone_top.png"),
        &stone[..stone.len() / 2],
    )
    .unwrap();
    let found = errors(&dir).join("\n");
    assert!(
        found
            .contains("block[1].textures.top: \"textures/stone_top.png\": the PNG does not decode"),
        "{found}"
    );
    assert!(
        found.contains("block[1].sounds.step: \"sounds/step.wav\": not a WAV"),
        "{found}"
    );
    assert!(
        found.contains(
            "block[9].textures.top: \"textures/snow_top.png\": 32×32 texels; textures are 16×16"
        ),
        "{found}"
    );

    std::fs::write(
        dir.join("pack.toml"),
        "[pack]\nname = \"x\"\nversion = 1\nbogus = 3\n",
    )
    .unwrap();
    let found = errors(&dir).join("\n");
    assert!(
        found.contains("pack.toml: line 4: unknown field `bogus`"),
        "{found}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn files_are_addressed_by_content_and_a_tampered_byte_changes_the_hash() {
    let dir = copy_of_default("hash");
    let pack = Pack::load(&dir).unwrap();
    let hash = pack.manifest_hash();
    // File names do not matter, only content.
    std::fs::rename(dir.join("sounds/dig.wav"), dir.join("sounds/crumble.wav")).unwrap();
    let text = std::fs::read_to_string(dir.join("pack.toml")).unwrap();
    std::fs::write(
        dir.join("pack.toml"),
        text.replace("sounds/dig.wav", "sounds/crumble.wav"),
    )
    .unwrap();
    assert_eq!(Pack::load(&dir).unwrap().manifest_hash(), hash);
    // One texel changed: another file hash, another manifest hash.
    let path = dir.join("textures/glass.png");
    let mut texels = read_rgba(&path);
    texels[0] ^= 1;
    write_rgba(&path, 16, &texels);
    let changed = Pack::load(&dir).unwrap();
    assert_ne!(changed.manifest_hash(), hash);
    assert_ne!(
        changed.hashes["textures/glass.png"],
        pack.hashes["textures/glass.png"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bundle_is_a_pack_with_the_same_hash_and_objects_named_by_hash() {
    let dir = copy_of_default("bundle");
    let out = dir.with_extension("out");
    let _ = std::fs::remove_dir_all(&out);
    let pack = Pack::load(&dir).unwrap();
    let hash = pack.write_bundle(&out).unwrap();
    assert_eq!(hash, pack.manifest_hash());
    let objects: Vec<_> = std::fs::read_dir(out.join("objects")).unwrap().collect();
    // Every object's name is its blake3, and shared files are stored once.
    let distinct: std::collections::BTreeSet<_> = pack.hashes.values().collect();
    assert_eq!(objects.len(), distinct.len());
    for entry in objects {
        let entry = entry.unwrap();
        let bytes = std::fs::read(entry.path()).unwrap();
        assert_eq!(
            entry.file_name().to_str().unwrap(),
            hex(blake3::hash(&bytes).as_bytes())
        );
    }
    let bundled = Pack::load(&out).unwrap();
    assert_eq!(bundled.manifest_hash(), hash);
    // Writing again leaves the objects as they are.
    assert_eq!(pack.write_bundle(&out).unwrap(), hash);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
}

fn read_rgba(path: &Path) -> Vec<u8> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0u8; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut buf).unwrap();
    buf
}

fn write_rgba(path: &Path, size: u32, texels: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .unwrap()
        .write_image_data(texels)
        .unwrap();
}

#[test]
fn links_out_of_the_pack_pipes_and_devices_are_refused_without_reading_them() {
    let dir = copy_of_default("links");
    // A texture that is a symlink to a file outside the pack, and a sound that is a pipe.
    let outside = dir.with_extension("outside.png");
    std::fs::copy(dir.join("textures/glass.png"), &outside).unwrap();
    std::fs::remove_file(dir.join("textures/glass.png")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("textures/glass.png")).unwrap();
    std::fs::remove_file(dir.join("sounds/step.wav")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(dir.join("sounds/step.wav"))
        .status()
        .unwrap();
    assert!(made.success());
    let found = errors(&dir).join("\n");
    assert!(
        found.contains("\"textures/glass.png\": it leads outside the pack"),
        "{found}"
    );
    assert!(
        found.contains("\"sounds/step.wav\": it is not a regular file"),
        "{found}"
    );
    // A manifest that is a device reads at most its bound.
    std::fs::remove_file(dir.join("pack.toml")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("pack.toml")).unwrap();
    let found = errors(&dir).join("\n");
    assert!(
        found.contains("pack.toml: (file): it leads outside the pack"),
        "{found}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&outside).unwrap();
}

#[test]
fn a_pack_with_an_ogg_sound_is_refused_naming_the_file() {
    let dir = copy_of_default("ogg");
    let tone = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tone.ogg");
    std::fs::copy(&tone, dir.join("sounds/chime.ogg")).unwrap();
    edit_manifest(&dir, "\"sounds/dig.wav\"", "\"sounds/chime.ogg\"");
    let found = errors(&dir).join("\n");
    assert!(
        found.contains("\"sounds/chime.ogg\": an OGG file; sounds are WAV files (PCM)"),
        "{found}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
