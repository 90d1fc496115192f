//! The canonical manifest as the chain reads it: the default pack's round trip and rules, and
//! hostile bytes refused with a typed error, never a panic.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::Path;
use z3r0_content::{Manifest, ManifestError, Pack};
use z3r0_voxel::BlockRules;

fn default_manifest() -> Manifest {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/default");
    Pack::load(&dir).unwrap().manifest()
}

#[test]
fn the_default_pack_round_trips_and_means_the_builtin_rules() {
    let m = default_manifest();
    let bytes = m.encode();
    assert_eq!(Manifest::decode(&bytes).unwrap(), m);
    assert_eq!(m.hash(), *blake3::hash(&bytes).as_bytes());
    assert_eq!(&m.block_rules(), BlockRules::builtin());
    assert_eq!(
        z3r0_content::hex(&m.hash()),
        z3r0_content::hex(&z3r0_content::canon::DEFAULT_MANIFEST)
    );
}

#[test]
fn every_prefix_and_any_trailing_byte_is_refused() {
    let bytes = default_manifest().encode();
    for len in 0..bytes.len() {
        assert!(Manifest::decode(&bytes[..len]).is_err(), "prefix of {len}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(Manifest::decode(&longer), Err(ManifestError::Trailing(1)));
}

#[test]
fn a_manifest_that_is_not_canonical_or_well_formed_is_refused() {
    let m = default_manifest();
    let refused = |m: &Manifest| Manifest::decode(&m.encode()).unwrap_err();

    let mut swapped = m.clone();
    swapped.blocks.swap(1, 2);
    assert!(
        matches!(refused(&swapped), ManifestError::Invalid { why, .. } if why.contains("order"))
    );

    let mut no_air = m.clone();
    no_air.blocks.remove(0);
    assert!(matches!(refused(&no_air), ManifestError::Invalid { what, .. } if what == "block 0"));

    let mut solid_air = m.clone();
    solid_air.blocks[0].solid = true;
    assert!(matches!(refused(&solid_air), ManifestError::Invalid { .. }));

    let mut faceless = m.clone();
    faceless.blocks[1].faces = None;
    assert!(matches!(refused(&faceless), ManifestError::Invalid { .. }));

    let mut twice = m.clone();
    twice.blocks[2].name = twice.blocks[1].name.clone();
    assert!(matches!(refused(&twice), ManifestError::Invalid { why, .. } if why.contains("twice")));

    let mut shouting = m.clone();
    shouting.name = "Default".into();
    assert!(matches!(refused(&shouting), ManifestError::Invalid { .. }));

    let mut bad_flag = m.encode();
    // The first block's `solid` flag: after the format, the pack name, the version, the block
    // count, the id, and the name and its length, then the opacity byte.
    let at = z3r0_content::canon::FORMAT.len()
        + 8
        + m.name.len()
        + 4
        + 8
        + 2
        + 8
        + m.blocks[0].name.len()
        + 1;
    bad_flag[at] = 7;
    assert!(matches!(
        Manifest::decode(&bad_flag),
        Err(ManifestError::Invalid { why, .. }) if why.contains("flag")
    ));
}

#[test]
fn counts_and_sizes_are_bounded_before_they_are_used() {
    let mut huge_count = z3r0_content::canon::FORMAT.to_vec();
    huge_count.extend_from_slice(&1u64.to_be_bytes());
    huge_count.push(b'a');
    huge_count.extend_from_slice(&1u32.to_be_bytes());
    huge_count.extend_from_slice(&u64::MAX.to_be_bytes());
    assert_eq!(
        Manifest::decode(&huge_count),
        Err(ManifestError::TooManyBlocks(u64::MAX))
    );
    let too_large = vec![0u8; z3r0_content::canon::MAX_ENCODED_BYTES + 1];
    assert!(matches!(
        Manifest::decode(&too_large),
        Err(ManifestError::TooLarge(_))
    ));
    assert_eq!(
        Manifest::decode(b"not a manifest at all"),
        Err(ManifestError::Format)
    );
}

#[test]
fn the_default_packs_files_decode_for_the_renderer_and_the_sound_bank() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/default");
    let texels =
        z3r0_content::decode_texture(&std::fs::read(dir.join("textures/glass.png")).unwrap())
            .unwrap();
    assert_eq!(texels.len(), 256);
    let (rate, frames) =
        z3r0_content::decode_sound(&std::fs::read(dir.join("sounds/dig.wav")).unwrap()).unwrap();
    assert_eq!(rate, 48_000);
    assert!(!frames.is_empty());
    assert!(
        frames
            .iter()
            .all(|f| f.iter().all(|s| (-1.0..=1.0).contains(s)))
    );
    assert!(frames.iter().any(|f| f[0].abs() > 0.01), "not silence");
    assert!(z3r0_content::decode_sound(b"RIFF not a wav").is_err());
}

fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

#[test]
fn an_ogg_sound_is_refused_with_a_reason() {
    // tone.ogg: a quarter second of a 440 Hz sine (oggenc -q 0).
    let refused = z3r0_content::decode_sound(&data("tone.ogg")).unwrap_err();
    assert_eq!(refused, "an OGG file; sounds are WAV files (PCM)");
}
