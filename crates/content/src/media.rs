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

/// A sound's sample rate and frames (left, right; a mono file on both), after the checks of
/// [`check_wav`].
pub fn decode_wav(bytes: &[u8]) -> Result<(u32, Vec<[f32; 2]>), String> {
    check_wav(bytes)?;
    let reader = hound::WavReader::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a WAV: {e}"))?;
    let spec = reader.spec();
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .into_samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?
        }
    };
    let frames = match spec.channels {
        1 => samples.iter().map(|&s| [s, s]).collect(),
        _ => samples.chunks_exact(2).map(|c| [c[0], c[1]]).collect(),
    };
    Ok((spec.sample_rate, frames))
}

/// A sound: a WAV of one or two channels, 8 to 96 kHz, at most `MAX_SOUND_SECONDS` long,
/// whose samples all decode.
pub(crate) fn check_wav(bytes: &[u8]) -> Result<(), String> {
    let reader = hound::WavReader::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a WAV: {e}"))?;
    let spec = reader.spec();
    if !(1..=2).contains(&spec.channels) {
        return Err(format!("{} channels; sounds have 1 or 2", spec.channels));
    }
    if !(8_000..=96_000).contains(&spec.sample_rate) {
        return Err(format!(
            "{} Hz; sounds are 8,000 to 96,000 Hz",
            spec.sample_rate
        ));
    }
    let seconds = reader.duration() / spec.sample_rate;
    if seconds > MAX_SOUND_SECONDS {
        return Err(format!(
            "{seconds} s long; sounds last at most {MAX_SOUND_SECONDS} s"
        ));
    }
    let decoded = match spec.sample_format {
        hound::SampleFormat::Float => reader.into_samples::<f32>().try_for_each(|s| s.map(drop)),
        hound::SampleFormat::Int => reader.into_samples::<i32>().try_for_each(|s| s.map(drop)),
    };
    decoded.map_err(|e| format!("the samples do not decode: {e}"))
}
