//! Fixed-point units and integer trigonometry: the consensus rules never touch floats.

/// Fixed-point units per metre (one voxel is one metre).
pub const UNIT: i64 = 1024;

/// A full turn in yaw units (`u16` wraps around naturally).
pub const TURN: i64 = 65_536;

/// sin(i · π/128) · 16384 for i in 0..=64: a quarter wave.
const QUARTER_SINE: [i32; 65] = [
    0, 402, 804, 1205, 1606, 2006, 2404, 2801, 3196, 3590, 3981, 4370, 4756, 5139, 5520, 5897,
    6270, 6639, 7005, 7366, 7723, 8076, 8423, 8765, 9102, 9434, 9760, 10080, 10394, 10702, 11003,
    11297, 11585, 11866, 12140, 12406, 12665, 12916, 13160, 13395, 13623, 13842, 14053, 14256,
    14449, 14635, 14811, 14978, 15137, 15286, 15426, 15557, 15679, 15791, 15893, 15986, 16069,
    16143, 16207, 16261, 16305, 16340, 16364, 16379, 16384,
];

/// Scale of [`sin`] and [`cos`] results: 1.0 = 16384.
pub const TRIG_ONE: i64 = 16_384;

/// Sine of an angle in turn units (65536 = 360°), scaled by [`TRIG_ONE`]; linear interpolation
/// between 256 samples per turn (error below 0.02 %).
pub fn sin(angle: u16) -> i64 {
    let a = i64::from(angle);
    let quadrant = a >> 14;
    let within = a & 0x3fff; // 0..16384 in the quadrant
    let (idx, frac) = ((within >> 8) as usize, within & 0xff);
    let lerp = |i: usize, f: i64| {
        let (a, b) = (i64::from(QUARTER_SINE[i]), i64::from(QUARTER_SINE[i + 1]));
        a + (b - a) * f / 256
    };
    match quadrant {
        0 => lerp(idx, frac),
        1 => lerp(63 - idx, 256 - frac),
        2 => -lerp(idx, frac),
        _ => -lerp(63 - idx, 256 - frac),
    }
}

pub fn cos(angle: u16) -> i64 {
    sin(angle.wrapping_add(16_384))
}

/// Integer square root (floor), by Newton's method from a power of two above the root.
pub fn isqrt(v: i64) -> i64 {
    if v <= 0 {
        return 0;
    }
    let mut x = 1i64 << (64 - v.leading_zeros()).div_ceil(2);
    loop {
        let y = (x + v / x) / 2;
        if y >= x {
            return x;
        }
        x = y;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trig_matches_the_reference_within_a_few_units() {
        for a in (0..65_536u32).step_by(97) {
            let angle = a as f64 / 65_536.0 * std::f64::consts::TAU;
            let s = sin(a as u16) as f64 / TRIG_ONE as f64;
            let c = cos(a as u16) as f64 / TRIG_ONE as f64;
            assert!(
                (s - angle.sin()).abs() < 3e-4,
                "sin {a}: {s} vs {}",
                angle.sin()
            );
            assert!((c - angle.cos()).abs() < 3e-4, "cos {a}");
        }
    }

    #[test]
    fn isqrt_is_floor_sqrt() {
        for v in (0..2_000_000i64)
            .step_by(7919)
            .chain([1, 2, 3, 4, i64::MAX / 4])
        {
            let r = isqrt(v);
            assert!(r * r <= v && (r + 1) * (r + 1) > v, "{v} -> {r}");
        }
    }
}
