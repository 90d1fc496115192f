//! The default pack (`content/default`) reproduces today's world: the engine's block table,
//! the renderer's generated textures and the sound bank's synthesized sounds.
//! `Z3R0_BLESS=1` writes the pack from the engine's code instead.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use z3r0_content::{BlockDef, ItemDef, Opacity, Pack, PackFile, PackHeader, Sounds, Textures};
use z3r0_render::textures::{FaceKind, TEXTURED_BLOCKS, texels};
use z3r0_voxel::{BlockId, block_info, blocks};

const SAMPLE_RATE: u32 = 48_000;

fn pack_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/default")
}

const FACES: [(FaceKind, &str); 3] = [
    (FaceKind::Top, "top"),
    (FaceKind::Side, "side"),
    (FaceKind::Bottom, "bottom"),
];

/// Blocks a digger can neither dig nor stand in the way of (the rules' "empty" voxels).
fn replaceable(id: BlockId) -> bool {
    id == blocks::AIR || id == blocks::WATER
}

fn opacity(id: BlockId) -> Opacity {
    match block_info(id).opacity {
        z3r0_voxel::Opacity::Empty => Opacity::Empty,
        z3r0_voxel::Opacity::Opaque => Opacity::Opaque,
        z3r0_voxel::Opacity::Transparent => Opacity::Transparent,
    }
}

fn sound(sound: z3r0_audio::Sound) -> Vec<i16> {
    z3r0_audio::synthesize(sound)
        .iter()
        .map(|f| (f.left.clamp(-1.0, 1.0) * f32::from(i16::MAX)).round() as i16)
        .collect()
}

const SOUNDS: [(z3r0_audio::Sound, &str); 3] = [
    (z3r0_audio::Sound::Break, "sounds/dig.wav"),
    (z3r0_audio::Sound::Place, "sounds/place.wav"),
    (z3r0_audio::Sound::Footstep, "sounds/step.wav"),
];

/// The manifest today's engine implies.
fn manifest() -> PackFile {
    let ids = 0..TEXTURED_BLOCKS as BlockId;
    let blocks = ids
        .clone()
        .map(|id| {
            let info = block_info(id);
            let empty = opacity(id) == Opacity::Empty;
            let same = FACES
                .iter()
                .all(|(k, _)| texels(id, *k) == texels(id, FaceKind::Side));
            let file = |face: &str| Some(format!("textures/{}_{face}.png", info.name));
            let textures = match (empty, same) {
                (true, _) => Textures::default(),
                (false, true) => Textures {
                    all: Some(format!("textures/{}.png", info.name)),
                    ..Textures::default()
                },
                (false, false) => Textures {
                    top: file("top"),
                    side: file("side"),
                    bottom: file("bottom"),
                    ..Textures::default()
                },
            };
            BlockDef {
                id,
                name: info.name.into(),
                opacity: opacity(id),
                solid: info.solid,
                replaceable: replaceable(id),
                light: 0,
                break_ticks: 0,
                drops: (!replaceable(id)).then(|| info.name.into()),
                color: info.color,
                textures,
                sounds: if empty {
                    Sounds::default()
                } else {
                    Sounds {
                        dig: Some(SOUNDS[0].1.into()),
                        place: Some(SOUNDS[1].1.into()),
                        step: Some(SOUNDS[2].1.into()),
                    }
                },
            }
        })
        .collect();
    let items = ids
        .filter(|&id| !replaceable(id))
        .map(|id| ItemDef {
            name: block_info(id).name.into(),
            stack: 64,
            places: Some(block_info(id).name.into()),
            texture: None,
        })
        .collect();
    PackFile {
        pack: PackHeader {
            name: "default".into(),
            version: 1,
        },
        blocks,
        items,
    }
}

fn write_png(path: &Path, texels: &[[u8; 4]]) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), 16, 16);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(texels.as_flattened()).unwrap();
}

fn read_png(path: &Path) -> Vec<[u8; 4]> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0u8; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut buf).unwrap();
    buf.chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect()
}

fn write_wav(path: &Path, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        writer.write_sample(s).unwrap();
    }
    writer.finalize().unwrap();
}

fn bless(dir: &Path, manifest: &PackFile) {
    std::fs::create_dir_all(dir.join("textures")).unwrap();
    std::fs::create_dir_all(dir.join("sounds")).unwrap();
    for b in &manifest.blocks {
        let t = &b.textures;
        if let Some(all) = &t.all {
            write_png(&dir.join(all), &texels(b.id, FaceKind::Side));
        }
        for ((kind, _), name) in FACES.iter().zip([&t.top, &t.side, &t.bottom]) {
            if let Some(name) = name {
                write_png(&dir.join(name), &texels(b.id, *kind));
            }
        }
    }
    for (s, name) in SOUNDS {
        write_wav(&dir.join(name), &sound(s));
    }
    let text = format!(
        "# The default content pack: today's blocks, items, textures and sounds as data.\n\
         # Written by `Z3R0_BLESS=1 cargo test -p z3r0-content --test default_pack`.\n\n{}",
        toml::to_string(manifest).unwrap()
    );
    std::fs::write(dir.join("pack.toml"), text).unwrap();
}

#[test]
fn the_default_pack_reproduces_todays_blocks_textures_and_sounds() {
    let dir = pack_dir();
    let expected = manifest();
    if std::env::var_os("Z3R0_BLESS").is_some() {
        bless(&dir, &expected);
    }
    let pack = Pack::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        pack.file, expected,
        "run with Z3R0_BLESS=1 to rewrite the pack"
    );
    for b in &pack.file.blocks {
        let t = &b.textures;
        for ((kind, face), name) in FACES.iter().zip([&t.top, &t.side, &t.bottom]) {
            let Some(name) = name.as_ref().or(t.all.as_ref()) else {
                continue;
            };
            assert_eq!(
                read_png(&dir.join(name)),
                texels(b.id, *kind),
                "{} {face}",
                b.name
            );
        }
    }
    for (s, name) in SOUNDS {
        let samples: Vec<i16> = hound::WavReader::open(dir.join(name))
            .unwrap()
            .into_samples::<i16>()
            .map(Result::unwrap)
            .collect();
        assert_eq!(samples, sound(s), "{name}");
    }
}
