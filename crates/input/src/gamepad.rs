//! Real gamepads through gilrs (the `gamepad` feature; on Linux it needs `libudev-dev` to
//! build and reads `/dev/input`): their buttons and sticks as [`InputEvent`]s.

use crate::{Control, InputError, InputEvent, PadAxis, PadButton};

/// The connected gamepads (all of them drive the one player).
pub struct Gamepads {
    gilrs: gilrs::Gilrs,
}

impl std::fmt::Debug for Gamepads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gamepads")
            .field("connected", &self.gilrs.gamepads().count())
            .finish()
    }
}

/// gilrs's button (by position) as ours; `None` for buttons the game does not use.
pub fn button(b: gilrs::Button) -> Option<PadButton> {
    use gilrs::Button as B;
    Some(match b {
        B::South => PadButton::South,
        B::East => PadButton::East,
        B::North => PadButton::North,
        B::West => PadButton::West,
        // gilrs calls the shoulder buttons triggers and the triggers "trigger 2".
        B::LeftTrigger => PadButton::LeftBumper,
        B::RightTrigger => PadButton::RightBumper,
        B::LeftTrigger2 => PadButton::LeftTrigger,
        B::RightTrigger2 => PadButton::RightTrigger,
        B::Select => PadButton::Select,
        B::Start => PadButton::Start,
        B::LeftThumb => PadButton::LeftStick,
        B::RightThumb => PadButton::RightStick,
        B::DPadUp => PadButton::DPadUp,
        B::DPadDown => PadButton::DPadDown,
        B::DPadLeft => PadButton::DPadLeft,
        B::DPadRight => PadButton::DPadRight,
        _ => return None,
    })
}

/// gilrs's stick axis as ours (both have +y up).
pub fn axis(a: gilrs::Axis) -> Option<PadAxis> {
    use gilrs::Axis as A;
    Some(match a {
        A::LeftStickX => PadAxis::LeftX,
        A::LeftStickY => PadAxis::LeftY,
        A::RightStickX => PadAxis::RightX,
        A::RightStickY => PadAxis::RightY,
        _ => return None,
    })
}

/// One gilrs event as game input, if it is any.
pub fn event(e: &gilrs::EventType) -> Option<InputEvent> {
    use gilrs::EventType as E;
    match e {
        E::ButtonPressed(b, _) => Some(InputEvent::Pressed(Control::Pad(button(*b)?))),
        E::ButtonReleased(b, _) => Some(InputEvent::Released(Control::Pad(button(*b)?))),
        E::AxisChanged(a, value, _) => Some(InputEvent::Axis {
            axis: axis(*a)?,
            value: f64::from(*value),
        }),
        _ => None,
    }
}

impl Gamepads {
    /// Opens the gamepad subsystem (no gamepad needs to be connected yet).
    pub fn new() -> Result<Self, InputError> {
        let gilrs = gilrs::Gilrs::new().map_err(|e| InputError::Gamepad(e.to_string()))?;
        Ok(Self { gilrs })
    }

    /// Names of the connected gamepads.
    pub fn connected(&self) -> Vec<String> {
        self.gilrs
            .gamepads()
            .map(|(_, pad)| pad.name().to_string())
            .collect()
    }

    /// Everything the pads did since the last call.
    pub fn poll(&mut self, out: &mut Vec<InputEvent>) {
        while let Some(e) = self.gilrs.next_event() {
            out.extend(event(&e.event));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gilrs_buttons_and_axes_map_by_position() {
        assert_eq!(button(gilrs::Button::South), Some(PadButton::South));
        assert_eq!(
            button(gilrs::Button::RightTrigger2),
            Some(PadButton::RightTrigger)
        );
        assert_eq!(
            button(gilrs::Button::LeftTrigger),
            Some(PadButton::LeftBumper)
        );
        assert_eq!(button(gilrs::Button::Mode), None);
        assert_eq!(axis(gilrs::Axis::RightStickY), Some(PadAxis::RightY));
        assert_eq!(axis(gilrs::Axis::LeftZ), None);
        assert_eq!(event(&gilrs::EventType::Connected), None);
    }
}
