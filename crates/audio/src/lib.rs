//! z3r0-audio: the game's sounds, placed in space with kira 0.12 spatial tracks.
//!
//! - [`GameAudio`]: a listener that follows the camera and one spatial track per sound event
//!   (footstep, block break, block place, claim, ambience), each sound generated procedurally so
//!   the engine ships no audio files yet.
//! - Backends: the default build uses kira without cpal, so it needs no sound card or system
//!   package; [`CaptureBackend`] renders into memory (tests, headless clients). The
//!   `audio-device` feature adds kira's cpal backend (`libasound2-dev` to build).

use std::sync::Arc;

use kira::backend::{Backend, Renderer};
use kira::sound::static_sound::{StaticSoundData, StaticSoundSettings};
use kira::track::SpatialTrackBuilder;
use kira::{AudioManager, AudioManagerSettings, Frame, Tween};

/// Why audio could not start or play.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("audio backend: {0}")]
    Backend(String),
    #[error("audio: {0}")]
    Play(String),
}

/// Sounds a content pack gives its blocks, by block id and event (footstep, break, place): a
/// block without one plays the built-in sound.
#[derive(Debug, Clone, Default)]
pub struct BlockSounds {
    sounds: std::collections::BTreeMap<(u16, Sound), StaticSoundData>,
}

impl BlockSounds {
    /// `block`'s `sound`: `frames` (left, right) at `sample_rate`.
    pub fn insert(&mut self, block: u16, sound: Sound, sample_rate: u32, frames: &[[f32; 2]]) {
        let frames: Vec<Frame> = frames
            .iter()
            .map(|&[left, right]| Frame { left, right })
            .collect();
        let data = StaticSoundData {
            sample_rate,
            frames: Arc::from(frames),
            settings: StaticSoundSettings::new(),
            slice: None,
        };
        self.sounds.insert((block, sound), data);
    }

    pub fn len(&self) -> usize {
        self.sounds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sounds.is_empty()
    }
}

/// A game sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sound {
    Footstep,
    Break,
    Place,
    Claim,
    Ambience,
}

pub const SAMPLE_RATE: u32 = 48_000;

/// The backend a game plays through: the sound card with the `audio-device` feature, otherwise
/// kira's silent mock backend (the default build needs no audio system).
pub type DeviceBackend = kira::DefaultBackend;

/// Whether [`DeviceBackend`] is the sound card (the `audio-device` feature). Without it kira's
/// mock backend never mixes and tracks would pile up: games play silently instead.
pub const HAS_DEVICE: bool = cfg!(feature = "audio-device");

/// A seeded noise source (the sounds are the same every run).
struct Noise(u32);
impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        (self.0 as f32 / u32::MAX as f32) * 2.0 - 1.0
    }
}

/// The samples of `sound` (mono, duplicated to both channels; space is added by the track).
pub fn synthesize(sound: Sound) -> Vec<Frame> {
    let rate = SAMPLE_RATE as f32;
    let mut noise = Noise(0x9E37_79B9 ^ sound as u32);
    let (secs, f): (f32, Box<dyn FnMut(f32) -> f32>) = match sound {
        // A soft, quickly damped thump with some grit.
        Sound::Footstep => (
            0.12,
            Box::new(move |t| {
                let env = (-t * 40.0).exp();
                env * (0.6 * (t * 2.0 * std::f32::consts::PI * 90.0).sin() + 0.4 * noise.next())
            }),
        ),
        // Crumbling: noise bursts.
        Sound::Break => (
            0.25,
            Box::new(move |t| {
                let env = (-t * 14.0).exp() * (1.0 + 0.5 * (t * 60.0).sin());
                env * noise.next()
            }),
        ),
        // A low knock.
        Sound::Place => (
            0.15,
            Box::new(move |t| (-t * 30.0).exp() * (t * 2.0 * std::f32::consts::PI * 140.0).sin()),
        ),
        // A rising two-note chime.
        Sound::Claim => (
            0.6,
            Box::new(move |t| {
                let hz = if t < 0.3 { 660.0 } else { 990.0 };
                let local = t % 0.3;
                (-local * 6.0).exp() * 0.5 * (t * 2.0 * std::f32::consts::PI * hz).sin()
            }),
        ),
        // Wind: smoothed noise with a slow swell (looped by the caller).
        Sound::Ambience => {
            let mut low = 0.0f32;
            (
                4.0,
                Box::new(move |t| {
                    low += (noise.next() - low) * 0.02;
                    low * (0.6 + 0.4 * (t * 0.5 * std::f32::consts::PI).sin()) * 3.0
                }),
            )
        }
    };
    let mut f = f;
    let n = (secs * rate) as usize;
    (0..n)
        .map(|i| {
            let s = f(i as f32 / rate).clamp(-1.0, 1.0) * 0.8;
            Frame { left: s, right: s }
        })
        .collect()
}

/// A backend that renders on demand into memory: the real kira mixer, no device.
#[derive(Default)]
pub struct CaptureBackend {
    renderer: Option<Renderer>,
}

impl std::fmt::Debug for CaptureBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureBackend")
            .field("started", &self.renderer.is_some())
            .finish()
    }
}

impl Backend for CaptureBackend {
    type Settings = ();
    type Error = AudioError;

    fn setup(_: (), _internal_buffer_size: usize) -> Result<(Self, u32), AudioError> {
        Ok((Self::default(), SAMPLE_RATE))
    }

    fn start(&mut self, renderer: Renderer) -> Result<(), AudioError> {
        self.renderer = Some(renderer);
        Ok(())
    }
}

impl CaptureBackend {
    /// Mixes the next `frames` stereo frames.
    pub fn render(&mut self, frames: usize) -> Vec<Frame> {
        let Some(renderer) = self.renderer.as_mut() else {
            return vec![
                Frame {
                    left: 0.0,
                    right: 0.0
                };
                frames
            ];
        };
        let mut out = Vec::with_capacity(frames);
        let mut block = vec![0.0f32; 2 * 128];
        while out.len() < frames {
            renderer.on_start_processing();
            renderer.process(&mut block, 2);
            for pair in block.chunks_exact(2) {
                out.push(Frame {
                    left: pair[0],
                    right: pair[1],
                });
            }
        }
        out.truncate(frames);
        out
    }
}

/// A game position in kira's space. The game's frame is left-handed (looking along +z, +x is
/// on the right), kira's is right-handed, so x is mirrored.
fn vec3(p: [f32; 3]) -> mint::Vector3<f32> {
    mint::Vector3::from([-p[0], p[1], p[2]])
}

/// The listener's orientation for a camera `yaw` (degrees, 0 looking along +z, 90 along +x):
/// in the mirrored space, kira's forward (-z) and right (+x) turned about +y by 180° − yaw.
fn orientation(yaw_deg: f32) -> mint::Quaternion<f32> {
    let angle = (180.0 - yaw_deg).to_radians();
    let (s, c) = (angle * 0.5).sin_cos();
    mint::Quaternion {
        v: mint::Vector3 {
            x: 0.0,
            y: s,
            z: 0.0,
        },
        s: c,
    }
}

/// The game's sound stage.
pub struct GameAudio<B: Backend> {
    pub manager: AudioManager<B>,
    listener: kira::listener::ListenerHandle,
    sounds: Vec<(Sound, StaticSoundData)>,
    /// The content's sounds for its blocks.
    block_sounds: BlockSounds,
    /// Sounds started, for the HUD and tests.
    pub played: u64,
}

impl<B: Backend> std::fmt::Debug for GameAudio<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GameAudio")
            .field("played", &self.played)
            .finish_non_exhaustive()
    }
}

impl<B: Backend> GameAudio<B>
where
    B::Error: std::fmt::Debug,
    B::Settings: Default,
{
    pub fn new(settings: B::Settings) -> Result<Self, AudioError> {
        let mut manager = AudioManager::<B>::new(AudioManagerSettings {
            backend_settings: settings,
            ..Default::default()
        })
        .map_err(|e| AudioError::Backend(format!("{e:?}")))?;
        let listener = manager
            .add_listener(vec3([0.0; 3]), orientation(0.0))
            .map_err(|e| AudioError::Play(e.to_string()))?;
        let sounds = [
            Sound::Footstep,
            Sound::Break,
            Sound::Place,
            Sound::Claim,
            Sound::Ambience,
        ]
        .into_iter()
        .map(|s| {
            let data = StaticSoundData {
                sample_rate: SAMPLE_RATE,
                frames: Arc::from(synthesize(s)),
                settings: StaticSoundSettings::new(),
                slice: None,
            };
            (s, data)
        })
        .collect();
        Ok(Self {
            manager,
            listener,
            sounds,
            block_sounds: BlockSounds::default(),
            played: 0,
        })
    }

    /// Plays blocks' sounds from `bank` from now on (the content in force changed).
    pub fn set_block_sounds(&mut self, bank: BlockSounds) {
        self.block_sounds = bank;
    }

    /// Plays `sound` of `block` from `position`: the block's own if the content gives it
    /// one, else the built-in sound.
    pub fn play_block_at(
        &mut self,
        sound: Sound,
        block: Option<u16>,
        position: [f32; 3],
    ) -> Result<(), AudioError> {
        let own = block.and_then(|b| self.block_sounds.sounds.get(&(b, sound)).cloned());
        match own {
            Some(data) => self.play_data(data, position),
            None => self.play_at(sound, position),
        }
    }

    /// Moves the listener to the camera.
    pub fn set_listener(&mut self, position: [f32; 3], yaw_deg: f32) {
        self.listener.set_position(vec3(position), Tween::default());
        self.listener
            .set_orientation(orientation(yaw_deg), Tween::default());
    }

    /// Plays `sound` from `position` (world metres).
    pub fn play_at(&mut self, sound: Sound, position: [f32; 3]) -> Result<(), AudioError> {
        let data = self
            .sounds
            .iter()
            .find(|(s, _)| *s == sound)
            .map(|(_, d)| d.clone())
            .ok_or_else(|| AudioError::Play(format!("no {sound:?} sound")))?;
        self.play_data(data, position)
    }

    fn play_data(&mut self, data: StaticSoundData, position: [f32; 3]) -> Result<(), AudioError> {
        let mut track = self
            .manager
            .add_spatial_sub_track(
                &self.listener,
                vec3(position),
                SpatialTrackBuilder::new().persist_until_sounds_finish(true),
            )
            .map_err(|e| AudioError::Play(e.to_string()))?;
        track
            .play(data)
            .map_err(|e| AudioError::Play(e.to_string()))?;
        self.played += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loudness(frames: &[Frame]) -> (f32, f32) {
        let sq = |f: fn(&Frame) -> f32| frames.iter().map(|x| f(x) * f(x)).sum::<f32>();
        (sq(|f| f.left).sqrt(), sq(|f| f.right).sqrt())
    }

    fn stage() -> GameAudio<CaptureBackend> {
        GameAudio::<CaptureBackend>::new(()).unwrap()
    }

    #[test]
    fn a_block_with_a_sound_of_its_own_plays_it_and_others_the_built_in_one() {
        let played = |bank: &BlockSounds, block: Option<u16>| {
            let mut audio = stage();
            audio.set_block_sounds(bank.clone());
            audio.set_listener([0.0, 0.0, 0.0], 0.0);
            audio.manager.backend_mut().render(256);
            audio
                .play_block_at(Sound::Break, block, [0.0, 0.0, 1.0])
                .unwrap();
            let (l, r) = loudness(&audio.manager.backend_mut().render(SAMPLE_RATE as usize / 4));
            l + r
        };
        // The lamp breaks in silence; stone, unknown to the bank, with the built-in sound.
        let mut bank = BlockSounds::default();
        bank.insert(11, Sound::Break, 22_050, &[[0.0, 0.0]; 4_000]);
        assert_eq!(bank.len(), 1);
        assert!(
            played(&bank, Some(11)) < 1e-3,
            "the lamp's own (silent) sound"
        );
        assert!(played(&bank, Some(1)) > 0.01, "the built-in sound");
        assert!(played(&bank, None) > 0.01);
        assert!(played(&BlockSounds::default(), Some(11)) > 0.01);
    }

    #[test]
    fn a_sound_left_of_the_listener_is_louder_on_the_left() {
        // The listener looks along +z, so +x is to its right and -x to its left.
        for (emitter, left_louder) in [([-3.0, 0.0, 0.0], true), ([3.0, 0.0, 0.0], false)] {
            let mut audio = stage();
            audio.set_listener([0.0, 0.0, 0.0], 0.0);
            audio.manager.backend_mut().render(256);
            audio.play_at(Sound::Break, emitter).unwrap();
            let (l, r) = loudness(&audio.manager.backend_mut().render(SAMPLE_RATE as usize / 4));
            assert!(l > 0.01 && r > 0.0, "silence: {l} {r}");
            assert_eq!(
                l > r * 1.2,
                left_louder,
                "emitter {emitter:?}: left {l}, right {r}"
            );
            assert_eq!(
                r > l * 1.2,
                !left_louder,
                "emitter {emitter:?}: left {l}, right {r}"
            );
        }
    }

    #[test]
    fn turning_around_swaps_the_sides() {
        let mut audio = stage();
        // Looking along -z (yaw 180), -x is on the right.
        audio.set_listener([0.0, 0.0, 0.0], 180.0);
        audio.manager.backend_mut().render(256);
        audio.play_at(Sound::Place, [-3.0, 0.0, 0.0]).unwrap();
        let (l, r) = loudness(&audio.manager.backend_mut().render(4_800));
        assert!(r > l * 1.2, "left {l}, right {r}");
        // Looking along +x (yaw 90), +z is on the left.
        let mut audio = stage();
        audio.set_listener([0.0, 0.0, 0.0], 90.0);
        audio.manager.backend_mut().render(256);
        audio.play_at(Sound::Place, [0.0, 0.0, 3.0]).unwrap();
        let (l, r) = loudness(&audio.manager.backend_mut().render(4_800));
        assert!(l > r * 1.2, "left {l}, right {r}");
    }

    #[test]
    fn every_event_produces_a_sound_that_ends() {
        let mut audio = stage();
        for s in [Sound::Footstep, Sound::Break, Sound::Place, Sound::Claim] {
            audio.play_at(s, [0.0, 0.0, 2.0]).unwrap();
        }
        assert_eq!(audio.played, 4);
        let (l, _) = loudness(&audio.manager.backend_mut().render(4_800));
        assert!(l > 0.01);
        // All are shorter than a second: after it, silence.
        audio.manager.backend_mut().render(SAMPLE_RATE as usize);
        let (l, r) = loudness(&audio.manager.backend_mut().render(4_800));
        assert!(l < 1e-4 && r < 1e-4, "still playing: {l} {r}");
        // Sounds are deterministic.
        assert_eq!(synthesize(Sound::Break), synthesize(Sound::Break));
    }
}
