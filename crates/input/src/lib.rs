//! z3r0-input: from keys and mouse to the game's per-tick input frames and commands.
//!
//! - [`ActionMap`]: which keys and buttons do what, loaded from TOML (any missing entry keeps
//!   its default: WASD, mouse look, space, shift, control, left/right click, F to use a block,
//!   1–9 for the hotbar). Unknown key names are refused with the name.
//! - [`InputState`]: held controls and accumulated look angles; [`InputState::frame`] gives the
//!   tick's `InputFrame`, [`InputState::take_commands`] the clicks and hotbar presses since the
//!   last call.
//! - [`from_window_event`] / [`from_mouse_motion`]: winit events into [`InputEvent`]s.
//! - Gamepads: buttons are controls like keys ([`PadButton`], bound by default: A jumps, B
//!   crouches, Y claims, X uses, triggers dig and place, bumpers walk the hotbar, left stick press
//!   sprints), sticks are [`InputEvent::Axis`] (left moves, right looks, at
//!   [`ActionMap::stick_look`] degrees per second through [`InputState::advance`]). The
//!   `gamepad` feature reads real pads with gilrs ([`gamepad::Gamepads`]; needs `libudev-dev` on
//!   Linux); without it the rest works the same.

use std::collections::BTreeSet;

use serde::Deserialize;
use winit::event::{ElementState, MouseButton, WindowEvent};
use winit::keyboard::{KeyCode, PhysicalKey};
use z3r0_sim::{InputFrame, flags};

#[cfg(feature = "gamepad")]
pub mod gamepad;

/// A physical control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Control {
    Key(KeyCode),
    Mouse(u8),
    Pad(PadButton),
}

/// A gamepad button, by position (South is A on an Xbox pad, Cross on a PlayStation one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PadButton {
    South,
    East,
    North,
    West,
    LeftBumper,
    RightBumper,
    LeftTrigger,
    RightTrigger,
    Select,
    Start,
    LeftStick,
    RightStick,
    DPadUp,
    DPadDown,
    DPadLeft,
    DPadRight,
}

impl PadButton {
    const NAMES: [(&'static str, PadButton); 16] = [
        ("PadSouth", PadButton::South),
        ("PadEast", PadButton::East),
        ("PadNorth", PadButton::North),
        ("PadWest", PadButton::West),
        ("PadLeftBumper", PadButton::LeftBumper),
        ("PadRightBumper", PadButton::RightBumper),
        ("PadLeftTrigger", PadButton::LeftTrigger),
        ("PadRightTrigger", PadButton::RightTrigger),
        ("PadSelect", PadButton::Select),
        ("PadStart", PadButton::Start),
        ("PadLeftStick", PadButton::LeftStick),
        ("PadRightStick", PadButton::RightStick),
        ("PadUp", PadButton::DPadUp),
        ("PadDown", PadButton::DPadDown),
        ("PadLeft", PadButton::DPadLeft),
        ("PadRight", PadButton::DPadRight),
    ];
}

/// A gamepad stick axis; values in -1..=1, +x right, +y up (forward).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadAxis {
    LeftX,
    LeftY,
    RightX,
    RightY,
}

/// Stick travel below this counts as rest (worn sticks do not drift the player).
pub const STICK_DEAD_ZONE: f64 = 0.15;

/// What a player does with the controls (besides moving and looking).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Break,
    Place,
    Claim,
    /// Use the block looked at: what it does is the game's (a door opens).
    Use,
    Hotbar(u8),
}

/// Input as the game sees it, whatever produced it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InputEvent {
    Pressed(Control),
    Released(Control),
    /// Mouse movement in pixels (captured mouse).
    Look {
        dx: f64,
        dy: f64,
    },
    /// A gamepad stick moved to `value`.
    Axis {
        axis: PadAxis,
        value: f64,
    },
}

/// Why an action map was refused.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("action map: {0}")]
    Parse(#[from] toml::de::Error),
    #[error(
        "action map: unknown control {0:?} (use key names like \"KeyW\", \"Space\", \"ShiftLeft\", \"Digit1\", \"Mouse1\"…\"Mouse3\", or pad buttons like \"PadSouth\", \"PadRightTrigger\", \"PadUp\")"
    )]
    UnknownControl(String),
    #[error("gamepads: {0}")]
    Gamepad(String),
}

/// The controls bound to each game action.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionMap {
    pub forward: Vec<Control>,
    pub back: Vec<Control>,
    pub left: Vec<Control>,
    pub right: Vec<Control>,
    pub jump: Vec<Control>,
    pub sprint: Vec<Control>,
    pub crouch: Vec<Control>,
    pub break_block: Vec<Control>,
    pub place: Vec<Control>,
    pub claim: Vec<Control>,
    pub use_block: Vec<Control>,
    /// Slots 1–9.
    pub hotbar: [Vec<Control>; 9],
    /// The next and the previous hotbar slot.
    pub hotbar_next: Vec<Control>,
    pub hotbar_prev: Vec<Control>,
    /// Degrees of view per pixel of mouse movement.
    pub sensitivity: f64,
    /// Degrees of view per second with the right stick fully over.
    pub stick_look: f64,
    pub invert_y: bool,
}

const DIGITS: [KeyCode; 9] = [
    KeyCode::Digit1,
    KeyCode::Digit2,
    KeyCode::Digit3,
    KeyCode::Digit4,
    KeyCode::Digit5,
    KeyCode::Digit6,
    KeyCode::Digit7,
    KeyCode::Digit8,
    KeyCode::Digit9,
];

impl Default for ActionMap {
    fn default() -> Self {
        use Control::{Key, Mouse, Pad};
        Self {
            forward: vec![Key(KeyCode::KeyW)],
            back: vec![Key(KeyCode::KeyS)],
            left: vec![Key(KeyCode::KeyA)],
            right: vec![Key(KeyCode::KeyD)],
            jump: vec![Key(KeyCode::Space), Pad(PadButton::South)],
            sprint: vec![Key(KeyCode::ShiftLeft), Pad(PadButton::LeftStick)],
            crouch: vec![Key(KeyCode::ControlLeft), Pad(PadButton::East)],
            break_block: vec![Mouse(1), Pad(PadButton::RightTrigger)],
            place: vec![Mouse(2), Pad(PadButton::LeftTrigger)],
            claim: vec![Key(KeyCode::KeyC), Pad(PadButton::North)],
            use_block: vec![Key(KeyCode::KeyF), Pad(PadButton::West)],
            hotbar: DIGITS.map(|k| vec![Key(k)]),
            hotbar_next: vec![Pad(PadButton::RightBumper)],
            hotbar_prev: vec![Pad(PadButton::LeftBumper)],
            sensitivity: 0.12,
            stick_look: 180.0,
            invert_y: false,
        }
    }
}

/// The TOML form: every entry optional, controls by name.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    forward: Option<Vec<String>>,
    back: Option<Vec<String>>,
    left: Option<Vec<String>>,
    right: Option<Vec<String>>,
    jump: Option<Vec<String>>,
    sprint: Option<Vec<String>>,
    crouch: Option<Vec<String>>,
    break_block: Option<Vec<String>>,
    place: Option<Vec<String>>,
    claim: Option<Vec<String>>,
    use_block: Option<Vec<String>>,
    hotbar: Option<Vec<Vec<String>>>,
    hotbar_next: Option<Vec<String>>,
    hotbar_prev: Option<Vec<String>>,
    sensitivity: Option<f64>,
    stick_look: Option<f64>,
    invert_y: Option<bool>,
}

/// Key names accepted in action maps (winit's `KeyCode` names).
fn key_by_name(name: &str) -> Option<KeyCode> {
    use KeyCode::*;
    const LETTERS: [KeyCode; 26] = [
        KeyA, KeyB, KeyC, KeyD, KeyE, KeyF, KeyG, KeyH, KeyI, KeyJ, KeyK, KeyL, KeyM, KeyN, KeyO,
        KeyP, KeyQ, KeyR, KeyS, KeyT, KeyU, KeyV, KeyW, KeyX, KeyY, KeyZ,
    ];
    if let Some(rest) = name.strip_prefix("Key")
        && let [c] = rest.as_bytes()
        && c.is_ascii_uppercase()
    {
        return Some(LETTERS[usize::from(c - b'A')]);
    }
    if let Some(rest) = name.strip_prefix("Digit")
        && let [c] = rest.as_bytes()
        && c.is_ascii_digit()
    {
        return Some(if *c == b'0' {
            Digit0
        } else {
            DIGITS[usize::from(c - b'1')]
        });
    }
    Some(match name {
        "Space" => Space,
        "ShiftLeft" => ShiftLeft,
        "ShiftRight" => ShiftRight,
        "ControlLeft" => ControlLeft,
        "ControlRight" => ControlRight,
        "AltLeft" => AltLeft,
        "AltRight" => AltRight,
        "Tab" => Tab,
        "Enter" => Enter,
        "Escape" => Escape,
        "Backspace" => Backspace,
        "ArrowUp" => ArrowUp,
        "ArrowDown" => ArrowDown,
        "ArrowLeft" => ArrowLeft,
        "ArrowRight" => ArrowRight,
        _ => return None,
    })
}

fn control_by_name(name: &str) -> Result<Control, InputError> {
    if let Some(n) = name.strip_prefix("Mouse")
        && let Ok(n @ 1..=5) = n.parse::<u8>()
    {
        return Ok(Control::Mouse(n));
    }
    if let Some((_, b)) = PadButton::NAMES.iter().find(|(n, _)| *n == name) {
        return Ok(Control::Pad(*b));
    }
    key_by_name(name)
        .map(Control::Key)
        .ok_or_else(|| InputError::UnknownControl(name.to_string()))
}

fn controls(names: Option<Vec<String>>, default: &[Control]) -> Result<Vec<Control>, InputError> {
    match names {
        None => Ok(default.to_vec()),
        Some(names) => names.iter().map(|n| control_by_name(n)).collect(),
    }
}

impl ActionMap {
    /// Parses a TOML action map; absent entries keep their defaults.
    pub fn from_toml(text: &str) -> Result<Self, InputError> {
        let file: MapFile = toml::from_str(text)?;
        let d = Self::default();
        let mut hotbar = d.hotbar.clone();
        if let Some(slots) = file.hotbar {
            for (i, names) in slots.into_iter().take(9).enumerate() {
                hotbar[i] = controls(Some(names), &[])?;
            }
        }
        Ok(Self {
            forward: controls(file.forward, &d.forward)?,
            back: controls(file.back, &d.back)?,
            left: controls(file.left, &d.left)?,
            right: controls(file.right, &d.right)?,
            jump: controls(file.jump, &d.jump)?,
            sprint: controls(file.sprint, &d.sprint)?,
            crouch: controls(file.crouch, &d.crouch)?,
            break_block: controls(file.break_block, &d.break_block)?,
            place: controls(file.place, &d.place)?,
            claim: controls(file.claim, &d.claim)?,
            use_block: controls(file.use_block, &d.use_block)?,
            hotbar,
            hotbar_next: controls(file.hotbar_next, &d.hotbar_next)?,
            hotbar_prev: controls(file.hotbar_prev, &d.hotbar_prev)?,
            sensitivity: file.sensitivity.unwrap_or(d.sensitivity),
            stick_look: file.stick_look.unwrap_or(d.stick_look),
            invert_y: file.invert_y.unwrap_or(d.invert_y),
        })
    }
}

/// Held controls and the look direction.
#[derive(Debug, Clone)]
pub struct InputState {
    pub map: ActionMap,
    held: BTreeSet<Control>,
    /// Degrees; yaw 0 looks along +z, 90 along +x.
    pub yaw_deg: f64,
    pub pitch_deg: f64,
    commands: Vec<Command>,
    pub hotbar_slot: u8,
    /// Stick positions: left x, left y, right x, right y.
    sticks: [f64; 4],
}

impl InputState {
    pub fn new(map: ActionMap) -> Self {
        Self {
            map,
            held: BTreeSet::new(),
            yaw_deg: 0.0,
            pitch_deg: 0.0,
            commands: Vec::new(),
            hotbar_slot: 0,
            sticks: [0.0; 4],
        }
    }

    fn any_held(&self, controls: &[Control]) -> bool {
        controls.iter().any(|c| self.held.contains(c))
    }

    pub fn apply(&mut self, event: InputEvent) {
        match event {
            InputEvent::Pressed(c) => {
                let fresh = self.held.insert(c);
                if fresh {
                    if self.map.break_block.contains(&c) {
                        self.commands.push(Command::Break);
                    }
                    if self.map.place.contains(&c) {
                        self.commands.push(Command::Place);
                    }
                    if self.map.claim.contains(&c) {
                        self.commands.push(Command::Claim);
                    }
                    if self.map.use_block.contains(&c) {
                        self.commands.push(Command::Use);
                    }
                    let step = if self.map.hotbar_next.contains(&c) {
                        Some(1)
                    } else if self.map.hotbar_prev.contains(&c) {
                        Some(8)
                    } else {
                        None
                    };
                    let slot = self
                        .map
                        .hotbar
                        .iter()
                        .position(|b| b.contains(&c))
                        .map(|s| s as u8)
                        .or(step.map(|k| (self.hotbar_slot + k) % 9));
                    if let Some(slot) = slot {
                        self.hotbar_slot = slot;
                        self.commands.push(Command::Hotbar(slot));
                    }
                }
            }
            InputEvent::Released(c) => {
                self.held.remove(&c);
            }
            InputEvent::Look { dx, dy } => {
                let s = self.map.sensitivity;
                let dy = if self.map.invert_y { -dy } else { dy };
                // Moving the mouse right turns right (towards +x from +z), up looks up.
                self.yaw_deg = (self.yaw_deg + dx * s).rem_euclid(360.0);
                self.pitch_deg = (self.pitch_deg - dy * s).clamp(-89.0, 89.0);
            }
            InputEvent::Axis { axis, value } => {
                let value = if value.is_finite() {
                    value.clamp(-1.0, 1.0)
                } else {
                    0.0
                };
                self.sticks[axis as usize] = value;
            }
        }
    }

    /// A stick's position past the dead zone, rescaled to 0..=1 travel.
    fn stick(&self, x: usize, y: usize) -> (f64, f64) {
        let (sx, sy) = (self.sticks[x], self.sticks[y]);
        let len = (sx * sx + sy * sy).sqrt();
        if len < STICK_DEAD_ZONE {
            return (0.0, 0.0);
        }
        let k = ((len - STICK_DEAD_ZONE) / (1.0 - STICK_DEAD_ZONE)).min(1.0) / len;
        (sx * k, sy * k)
    }

    /// Turns the view by the right stick for `dt_s` seconds (call once per displayed frame).
    pub fn advance(&mut self, dt_s: f64) {
        let (x, y) = self.stick(2, 3);
        let rate = self.map.stick_look * dt_s.clamp(0.0, 0.25);
        let y = if self.map.invert_y { -y } else { y };
        self.yaw_deg = (self.yaw_deg + x * rate).rem_euclid(360.0);
        self.pitch_deg = (self.pitch_deg + y * rate).clamp(-89.0, 89.0);
    }

    /// Lets go of everything (the window lost focus: its key releases will not arrive).
    pub fn release_all(&mut self) {
        self.held.clear();
        self.sticks = [0.0; 4];
    }

    /// Clicks and hotbar presses since the last call.
    pub fn take_commands(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.commands)
    }

    /// The input frame for this tick: stick within the rules' circle, angles in turn units.
    pub fn frame(&self) -> InputFrame {
        let axis = |pos: bool, neg: bool| i32::from(pos) - i32::from(neg);
        let f = axis(
            self.any_held(&self.map.forward),
            self.any_held(&self.map.back),
        );
        let s = axis(
            self.any_held(&self.map.right),
            self.any_held(&self.map.left),
        );
        // Diagonals are scaled so the stick stays within the rules' limit (f² + s² ≤ 127²).
        let full = if f != 0 && s != 0 { 89 } else { 127 };
        // Keys win; otherwise the left stick, which is within the circle already.
        let (forward, strafe) = if f != 0 || s != 0 {
            ((f * full) as i8, (s * full) as i8)
        } else {
            let (x, y) = self.stick(0, 1);
            let q = |v: f64| (v * 126.0).round() as i8;
            (q(y), q(x))
        };
        let mut flags_ = 0;
        if self.any_held(&self.map.jump) {
            flags_ |= flags::JUMP;
        }
        if self.any_held(&self.map.sprint) {
            flags_ |= flags::SPRINT;
        }
        if self.any_held(&self.map.crouch) {
            flags_ |= flags::CROUCH;
        }
        InputFrame {
            forward,
            strafe,
            yaw: (self.yaw_deg / 360.0 * 65_536.0).round() as i64 as u16,
            pitch: (self.pitch_deg / 360.0 * 65_536.0).round() as i16,
            flags: flags_,
        }
    }
}

/// The game input in a winit window event, if any.
pub fn from_window_event(event: &WindowEvent) -> Option<InputEvent> {
    match event {
        WindowEvent::KeyboardInput { event, .. } if !event.repeat => {
            let PhysicalKey::Code(code) = event.physical_key else {
                return None;
            };
            Some(match event.state {
                ElementState::Pressed => InputEvent::Pressed(Control::Key(code)),
                ElementState::Released => InputEvent::Released(Control::Key(code)),
            })
        }
        WindowEvent::MouseInput { state, button, .. } => {
            let n = match button {
                MouseButton::Left => 1,
                MouseButton::Right => 2,
                MouseButton::Middle => 3,
                MouseButton::Back => 4,
                MouseButton::Forward => 5,
                MouseButton::Other(_) => return None,
            };
            Some(match state {
                ElementState::Pressed => InputEvent::Pressed(Control::Mouse(n)),
                ElementState::Released => InputEvent::Released(Control::Mouse(n)),
            })
        }
        _ => None,
    }
}

/// A raw mouse motion (winit's `DeviceEvent::MouseMotion`) as a look event.
pub fn from_mouse_motion(delta: (f64, f64)) -> InputEvent {
    InputEvent::Look {
        dx: delta.0,
        dy: delta.1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_left_stick_walks_within_the_circle_and_keys_win() {
        let mut s = InputState::new(ActionMap::default());
        let axis = |axis, value| InputEvent::Axis { axis, value };
        // Resting drift inside the dead zone does nothing.
        s.apply(axis(PadAxis::LeftY, 0.1));
        assert_eq!((s.frame().forward, s.frame().strafe), (0, 0));
        s.apply(axis(PadAxis::LeftY, 1.0));
        assert_eq!((s.frame().forward, s.frame().strafe), (126, 0));
        // Fully over on both axes (a square gate): still within the rules' circle.
        s.apply(axis(PadAxis::LeftX, 1.0));
        let f = s.frame();
        let (a, b) = (i32::from(f.forward), i32::from(f.strafe));
        assert!(a > 80 && b > 80 && a * a + b * b <= 127 * 127, "{a} {b}");
        // Nonsense from a driver is rest.
        s.apply(axis(PadAxis::LeftX, f64::NAN));
        assert_eq!(s.frame().strafe, 0);
        s.apply(InputEvent::Pressed(Control::Key(KeyCode::KeyS)));
        assert_eq!(s.frame().forward, -127, "keys win over the stick");
    }

    #[test]
    fn the_right_stick_turns_at_the_configured_rate() {
        let mut s = InputState::new(ActionMap::default());
        s.apply(InputEvent::Axis {
            axis: PadAxis::RightX,
            value: 1.0,
        });
        s.advance(0.25);
        s.advance(0.25);
        assert!((s.yaw_deg - 90.0).abs() < 1e-9, "{}", s.yaw_deg);
        s.apply(InputEvent::Axis {
            axis: PadAxis::RightX,
            value: 0.0,
        });
        s.apply(InputEvent::Axis {
            axis: PadAxis::RightY,
            value: 1.0,
        });
        s.advance(10.0); // a stalled frame turns a quarter second's worth at most
        assert!((s.pitch_deg - 45.0).abs() < 1e-9, "{}", s.pitch_deg);
        s.release_all();
        let before = s.yaw_deg;
        s.advance(1.0);
        assert_eq!(s.yaw_deg, before, "focus lost: the sticks rest");
    }

    #[test]
    fn pad_buttons_jump_dig_and_walk_the_hotbar() {
        let mut s = InputState::new(ActionMap::default());
        let pad = |b| InputEvent::Pressed(Control::Pad(b));
        s.apply(pad(PadButton::South));
        assert_eq!(s.frame().flags, flags::JUMP);
        s.apply(pad(PadButton::RightTrigger));
        s.apply(pad(PadButton::LeftBumper));
        assert_eq!(s.hotbar_slot, 8, "previous from the first slot wraps");
        s.apply(pad(PadButton::RightBumper));
        assert_eq!(
            s.take_commands(),
            vec![Command::Break, Command::Hotbar(8), Command::Hotbar(0)]
        );
        let map =
            ActionMap::from_toml("jump = [\"PadWest\"]\nhotbar_next = [\"PadRight\"]").unwrap();
        assert_eq!(map.jump, vec![Control::Pad(PadButton::West)]);
        assert_eq!(map.hotbar_next, vec![Control::Pad(PadButton::DPadRight)]);
        assert!(ActionMap::from_toml("jump = [\"PadTurbo\"]").is_err());
    }

    fn key(k: KeyCode) -> Control {
        Control::Key(k)
    }

    #[test]
    fn f_and_the_pads_west_button_use_a_block_and_rebind() {
        let mut s = InputState::new(ActionMap::default());
        s.apply(InputEvent::Pressed(key(KeyCode::KeyF)));
        s.apply(InputEvent::Pressed(key(KeyCode::KeyF)));
        s.apply(InputEvent::Pressed(Control::Pad(PadButton::West)));
        assert_eq!(
            s.take_commands(),
            vec![Command::Use, Command::Use],
            "one use per press, not per repeat"
        );
        let map = ActionMap::from_toml("use_block = [\"KeyE\", \"Mouse3\"]").unwrap();
        assert_eq!(map.use_block, vec![key(KeyCode::KeyE), Control::Mouse(3)]);
        let mut s = InputState::new(map);
        s.apply(InputEvent::Pressed(key(KeyCode::KeyF)));
        s.apply(InputEvent::Pressed(Control::Mouse(3)));
        assert_eq!(s.take_commands(), vec![Command::Use]);
    }

    #[test]
    fn wasd_space_and_shift_make_the_frame() {
        let mut s = InputState::new(ActionMap::default());
        s.apply(InputEvent::Pressed(key(KeyCode::KeyW)));
        assert_eq!((s.frame().forward, s.frame().strafe), (127, 0));
        s.apply(InputEvent::Pressed(key(KeyCode::KeyD)));
        let f = s.frame();
        assert_eq!((f.forward, f.strafe), (89, 89));
        let (a, b) = (i32::from(f.forward), i32::from(f.strafe));
        assert!(a * a + b * b <= 127 * 127, "diagonals stay legal");
        s.apply(InputEvent::Pressed(key(KeyCode::Space)));
        s.apply(InputEvent::Pressed(key(KeyCode::ShiftLeft)));
        assert_eq!(s.frame().flags, flags::JUMP | flags::SPRINT);
        s.apply(InputEvent::Released(key(KeyCode::KeyW)));
        s.apply(InputEvent::Released(key(KeyCode::KeyD)));
        s.apply(InputEvent::Pressed(key(KeyCode::KeyS)));
        assert_eq!(s.frame().forward, -127);
        s.release_all();
        assert_eq!(s.frame().forward, 0, "focus loss lets go of keys");
    }

    #[test]
    fn the_mouse_turns_and_looks_within_limits() {
        let mut s = InputState::new(ActionMap::default());
        s.apply(InputEvent::Look { dx: 750.0, dy: 0.0 });
        assert!((s.yaw_deg - 90.0).abs() < 1e-9);
        assert_eq!(s.frame().yaw, 16_384, "a quarter turn");
        s.apply(InputEvent::Look {
            dx: 0.0,
            dy: -10_000.0,
        });
        assert_eq!(s.pitch_deg, 89.0, "pitch is clamped");
        s.apply(InputEvent::Look {
            dx: -1500.0,
            dy: 0.0,
        });
        assert!((s.yaw_deg - 270.0).abs() < 1e-9, "yaw wraps: {}", s.yaw_deg);
    }

    #[test]
    fn clicks_and_hotbar_are_edge_triggered_commands() {
        let mut s = InputState::new(ActionMap::default());
        s.apply(InputEvent::Pressed(Control::Mouse(1)));
        s.apply(InputEvent::Pressed(Control::Mouse(1)));
        s.apply(InputEvent::Pressed(key(KeyCode::Digit3)));
        s.apply(InputEvent::Pressed(Control::Mouse(2)));
        assert_eq!(
            s.take_commands(),
            vec![Command::Break, Command::Hotbar(2), Command::Place]
        );
        assert!(s.take_commands().is_empty());
        assert_eq!(s.hotbar_slot, 2);
    }

    #[test]
    fn maps_load_from_toml_and_keep_defaults() {
        let map = ActionMap::from_toml(
            "forward = [\"ArrowUp\", \"KeyZ\"]\njump = [\"Mouse3\"]\nsensitivity = 0.5\nhotbar = [[\"KeyQ\"]]",
        )
        .unwrap();
        assert_eq!(map.forward, vec![key(KeyCode::ArrowUp), key(KeyCode::KeyZ)]);
        assert_eq!(map.jump, vec![Control::Mouse(3)]);
        assert_eq!(map.back, ActionMap::default().back);
        assert_eq!(map.hotbar[0], vec![key(KeyCode::KeyQ)]);
        assert_eq!(map.hotbar[1], vec![key(KeyCode::Digit2)]);
        assert_eq!(map.sensitivity, 0.5);
        let bad = ActionMap::from_toml("left = [\"KeyÄ\"]").unwrap_err();
        assert!(bad.to_string().contains("KeyÄ"), "{bad}");
        assert!(
            ActionMap::from_toml("walk = [\"KeyW\"]").is_err(),
            "unknown entries refused"
        );
        assert!(ActionMap::from_toml("jump = [\"Mouse9\"]").is_err());
    }
}
