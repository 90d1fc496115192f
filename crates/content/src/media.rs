//! Decoding a pack's media with their libraries (png, hound), so a file that would fail in a
//! player's renderer or sound bank is refused when the pack is built. Sizes are checked from
//! the headers before anything is decoded.

use crate::{MAX_SOUND_SECONDS, TEXTURE_SIZE};

/// A texture: a PNG of `TEXTURE_SIZE` square, 8-bit RGB or RGBA, that decodes whole.
pub(crate) fn check_png(bytes: &[u8]) -> Result<(), String> {
    decode_png(bytes).map(drop)
}

/// A texture's texels, row-major RGBA (RGB gets full alpha), after the checks of
/// [`check_png`].
pub fn decode_png(bytes: &[u8]) -> Result<Vec<[u8; 4]>, String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().map_err(|e| format!("not a PNG: {e}"))?;
    let (width, height) = (reader.info().width, reader.info().height);
    if (width, height) != (TEXTURE_SIZE, TEXTURE_SIZE) {
        return Err(format!(
            "{width}×{height} texels; textures are {TEXTURE_SIZE}×{TEXTURE_SIZE}"
        ));
    }
    let size = reader
        .output_buffer_size()
        .ok_or("the image is too large")?;
    let mut buf = vec![0u8; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("the PNG does not decode: {e}"))?;
    if info.bit_depth != png::BitDepth::Eight {
        return Err(format!(
            "{:?} bits per channel; textures have 8",
            info.bit_depth
        ));
    }
    let pixels = buf.get(..info.buffer_size()).unwrap_or_default();
    match info.color_type {
        png::ColorType::Rgba => Ok(pixels
            .chunks_exact(4)
            .map(|c| [c[0], c[1], c[2], c[3]])
            .collect()),
        png::ColorType::Rgb => Ok(pixels
            .chunks_exact(3)
            .map(|c| [c[0], c[1], c[2], 255])
            .collect()),
        other => Err(format!("colour type {other:?}; textures are RGB or RGBA")),
    }
}

/// A decoded sound: its sample rate and frames (left, right; a mono file on both).
pub type Decoded = (u32, Vec<[f32; 2]>);

/// A sound: a WAV of one or two channels, 8 to 96 kHz, at most `MAX_SOUND_SECONDS` long, that
/// decodes whole. An OGG file is refused by its magic: the Vorbis decoders at hand size their
/// buffers from the file's header counts before anything can be checked, so a few hostile
/// bytes could exhaust a player's memory.
pub fn decode_sound(bytes: &[u8]) -> Result<Decoded, String> {
    if bytes.starts_with(b"OggS") {
        return Err("an OGG file; sounds are WAV files (PCM)".into());
    }
    decode_wav(bytes)
}

/// [`decode_sound`]'s checks, for a pack being built.
pub(crate) fn check_sound(bytes: &[u8]) -> Result<(), String> {
    decode_sound(bytes).map(drop)
}

/// The header checks: channels and rate.
fn check_format(channels: u16, rate: u32) -> Result<(), String> {
    if !(1..=2).contains(&channels) {
        return Err(format!("{channels} channels; sounds have 1 or 2"));
    }
    if !(8_000..=96_000).contains(&rate) {
        return Err(format!("{rate} Hz; sounds are 8,000 to 96,000 Hz"));
    }
    Ok(())
}

fn too_long(frames: usize, rate: u32) -> Option<String> {
    (frames as u64 > u64::from(MAX_SOUND_SECONDS) * u64::from(rate)).then(|| {
        format!("longer than {MAX_SOUND_SECONDS} s; sounds last at most {MAX_SOUND_SECONDS} s")
    })
}

/// Interleaved samples as frames (a mono file on both sides).
fn frames(samples: &[f32], channels: u16) -> Vec<[f32; 2]> {
    match channels {
        1 => samples.iter().map(|&s| [s, s]).collect(),
        _ => samples.chunks_exact(2).map(|c| [c[0], c[1]]).collect(),
    }
}

/// A WAV: its header checked, the length read from it, before any sample is decoded.
fn decode_wav(bytes: &[u8]) -> Result<Decoded, String> {
    let reader = hound::WavReader::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a WAV: {e}"))?;
    let spec = reader.spec();
    check_format(spec.channels, spec.sample_rate)?;
    if let Some(long) = too_long(reader.duration() as usize, spec.sample_rate) {
        return Err(long);
    }
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.into_samples::<f32>().collect::<Result<_, _>>(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
        }
    }
    .map_err(|e| format!("the samples do not decode: {e}"))?;
    Ok((spec.sample_rate, frames(&samples, spec.channels)))
}
