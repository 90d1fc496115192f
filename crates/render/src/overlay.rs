//! The screen-space overlay drawn over a frame (the HUD): solid rectangles and text in a
//! built-in 5×7 pixel font, all in one instanced draw. Each quad carries its own glyph bits,
//! so no font texture is needed.

use bytemuck::{Pod, Zeroable};

/// Glyph cells: 5 pixels wide, 7 tall, one pixel of spacing after each.
pub const GLYPH_W: f32 = 5.0;
pub const GLYPH_H: f32 = 7.0;
const ADVANCE: f32 = GLYPH_W + 1.0;

/// One overlay quad as the shader reads it (48 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub(crate) struct OverlayQuad {
    /// Pixels from the top-left corner: x, y, width, height.
    pub rect: [f32; 4],
    /// Linear RGBA.
    pub color: [f32; 4],
    /// Glyph rows 0–3 and 4–6 (8 bits per row, bit 4 the leftmost pixel); `bits[2]` = 1 for a
    /// solid rectangle.
    pub bits: [u32; 4],
}

pub(crate) const OVERLAY_BYTES: u64 = std::mem::size_of::<OverlayQuad>() as u64;

/// What to draw over the frame, in pixels from the top-left corner.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    pub(crate) quads: Vec<OverlayQuad>,
}

/// The 5×7 font: printable ASCII that the HUD needs (letters are drawn as capitals).
const FONT: &[(char, [&str; 7])] = &[
    (
        '0',
        [
            ".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###.",
        ],
    ),
    (
        '1',
        [
            "..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###.",
        ],
    ),
    (
        '2',
        [
            ".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####",
        ],
    ),
    (
        '3',
        [
            "#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###.",
        ],
    ),
    (
        '4',
        [
            "...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#.",
        ],
    ),
    (
        '5',
        [
            "#####", "#....", "####.", "....#", "....#", "#...#", ".###.",
        ],
    ),
    (
        '6',
        [
            "..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###.",
        ],
    ),
    (
        '7',
        [
            "#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#...",
        ],
    ),
    (
        '8',
        [
            ".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###.",
        ],
    ),
    (
        '9',
        [
            ".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##..",
        ],
    ),
    (
        'A',
        [
            ".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#",
        ],
    ),
    (
        'B',
        [
            "####.", "#...#", "#...#", "####.", "#...#", "#...#", "####.",
        ],
    ),
    (
        'C',
        [
            ".###.", "#...#", "#....", "#....", "#....", "#...#", ".###.",
        ],
    ),
    (
        'D',
        [
            "###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###..",
        ],
    ),
    (
        'E',
        [
            "#####", "#....", "#....", "####.", "#....", "#....", "#####",
        ],
    ),
    (
        'F',
        [
            "#####", "#....", "#....", "####.", "#....", "#....", "#....",
        ],
    ),
    (
        'G',
        [
            ".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####",
        ],
    ),
    (
        'H',
        [
            "#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#",
        ],
    ),
    (
        'I',
        [
            ".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###.",
        ],
    ),
    (
        'J',
        [
            "..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##..",
        ],
    ),
    (
        'K',
        [
            "#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#",
        ],
    ),
    (
        'L',
        [
            "#....", "#....", "#....", "#....", "#....", "#....", "#####",
        ],
    ),
    (
        'M',
        [
            "#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#",
        ],
    ),
    (
        'N',
        [
            "#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#",
        ],
    ),
    (
        'O',
        [
            ".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###.",
        ],
    ),
    (
        'P',
        [
            "####.", "#...#", "#...#", "####.", "#....", "#....", "#....",
        ],
    ),
    (
        'Q',
        [
            ".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#",
        ],
    ),
    (
        'R',
        [
            "####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#",
        ],
    ),
    (
        'S',
        [
            ".####", "#....", "#....", ".###.", "....#", "....#", "####.",
        ],
    ),
    (
        'T',
        [
            "#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#..",
        ],
    ),
    (
        'U',
        [
            "#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###.",
        ],
    ),
    (
        'V',
        [
            "#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#..",
        ],
    ),
    (
        'W',
        [
            "#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#.",
        ],
    ),
    (
        'X',
        [
            "#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#",
        ],
    ),
    (
        'Y',
        [
            "#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#..",
        ],
    ),
    (
        'Z',
        [
            "#####", "....#", "...#.", "..#..", ".#...", "#....", "#####",
        ],
    ),
    (
        '.',
        [
            ".....", ".....", ".....", ".....", ".....", ".##..", ".##..",
        ],
    ),
    (
        ',',
        [
            ".....", ".....", ".....", ".....", ".##..", "..#..", ".#...",
        ],
    ),
    (
        ':',
        [
            ".....", ".##..", ".##..", ".....", ".##..", ".##..", ".....",
        ],
    ),
    (
        '-',
        [
            ".....", ".....", ".....", "#####", ".....", ".....", ".....",
        ],
    ),
    (
        '+',
        [
            ".....", "..#..", "..#..", "#####", "..#..", "..#..", ".....",
        ],
    ),
    (
        '=',
        [
            ".....", ".....", "#####", ".....", "#####", ".....", ".....",
        ],
    ),
    (
        '/',
        [
            ".....", "....#", "...#.", "..#..", ".#...", "#....", ".....",
        ],
    ),
    (
        '%',
        [
            "##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##",
        ],
    ),
    (
        '(',
        [
            "...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#.",
        ],
    ),
    (
        ')',
        [
            ".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#...",
        ],
    ),
    (
        '[',
        [
            ".###.", ".#...", ".#...", ".#...", ".#...", ".#...", ".###.",
        ],
    ),
    (
        ']',
        [
            ".###.", "...#.", "...#.", "...#.", "...#.", "...#.", ".###.",
        ],
    ),
    (
        '_',
        [
            ".....", ".....", ".....", ".....", ".....", ".....", "#####",
        ],
    ),
    (
        '\'',
        [
            "..#..", "..#..", ".#...", ".....", ".....", ".....", ".....",
        ],
    ),
    (
        '!',
        [
            "..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#..",
        ],
    ),
    (
        '?',
        [
            ".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#..",
        ],
    ),
    (
        '#',
        [
            ".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#.",
        ],
    ),
    (
        '>',
        [
            ".#...", "..#..", "...#.", "....#", "...#.", "..#..", ".#...",
        ],
    ),
    (
        '<',
        [
            "...#.", "..#..", ".#...", "#....", ".#...", "..#..", "...#.",
        ],
    ),
];

/// The glyph rows of `c` (a box for characters the font lacks; `None` for a space).
fn glyph(c: char) -> Option<[u32; 2]> {
    if c == ' ' {
        return None;
    }
    let c = c.to_ascii_uppercase();
    let rows = FONT.iter().find(|(g, _)| *g == c).map_or(
        [
            "#####", "#...#", "#...#", "#...#", "#...#", "#...#", "#####",
        ],
        |g| g.1,
    );
    let mut bits = [0u32; 2];
    for (r, row) in rows.iter().enumerate() {
        let mut byte = 0u32;
        for (x, px) in row.bytes().take(5).enumerate() {
            if px == b'#' {
                byte |= 1 << (4 - x);
            }
        }
        bits[r / 4] |= byte << ((r % 4) * 8);
    }
    Some(bits)
}

/// sRGB bytes to the linear colour the frame is blended in.
pub fn srgb(rgba: [u8; 4]) -> [f32; 4] {
    let lin = |c: u8| {
        let c = f32::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    [
        lin(rgba[0]),
        lin(rgba[1]),
        lin(rgba[2]),
        f32::from(rgba[3]) / 255.0,
    ]
}

impl Overlay {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn clear(&mut self) {
        self.quads.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.quads.is_empty()
    }

    /// Quads to draw (rectangles and glyphs).
    pub fn len(&self) -> usize {
        self.quads.len()
    }

    /// A solid rectangle; `color` is linear RGBA (see [`srgb`]).
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: [f32; 4]) {
        self.quads.push(OverlayQuad {
            rect: [x, y, w, h],
            color,
            bits: [0, 0, 1, 0],
        });
    }

    /// Width in pixels of `text` drawn at `scale` (pixels per font pixel).
    pub fn text_width(text: &str, scale: f32) -> f32 {
        let n = text.chars().count() as f32;
        (n * ADVANCE - 1.0).max(0.0) * scale
    }

    /// Text with its top-left corner at (`x`, `y`), `scale` pixels per font pixel. Returns the
    /// width drawn.
    pub fn text(&mut self, x: f32, y: f32, scale: f32, color: [f32; 4], text: &str) -> f32 {
        let mut pen = x;
        for c in text.chars() {
            if let Some(bits) = glyph(c) {
                self.quads.push(OverlayQuad {
                    rect: [pen, y, GLYPH_W * scale, GLYPH_H * scale],
                    color,
                    bits: [bits[0], bits[1], 0, 0],
                });
            }
            pen += ADVANCE * scale;
        }
        Self::text_width(text, scale)
    }

    /// Text on a dark translucent backing, for reading over any scene.
    pub fn label(&mut self, x: f32, y: f32, scale: f32, color: [f32; 4], text: &str) -> f32 {
        let pad = 2.0 * scale;
        let w = Self::text_width(text, scale);
        self.rect(
            x - pad,
            y - pad,
            w + 2.0 * pad,
            GLYPH_H * scale + 2.0 * pad,
            [0.0, 0.0, 0.0, 0.45],
        );
        self.text(x, y, scale, color, text)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn every_glyph_is_five_by_seven() {
        for (c, rows) in FONT {
            for row in rows {
                assert_eq!(row.len(), 5, "{c:?}");
                assert!(row.bytes().all(|b| b == b'#' || b == b'.'), "{c:?}");
            }
        }
        let mut seen: Vec<char> = FONT.iter().map(|g| g.0).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), FONT.len(), "one glyph per character");
    }

    #[test]
    fn glyph_bits_follow_the_rows() {
        // 'L': the left column set on every row, the bottom row full.
        let bits = glyph('l').unwrap();
        for r in 0..7 {
            let byte = (bits[r / 4] >> ((r % 4) * 8)) & 0xff;
            let expected = if r == 6 { 0b11111 } else { 0b10000 };
            assert_eq!(byte, expected, "row {r}");
        }
        assert!(glyph(' ').is_none());
        assert!(glyph('~').is_some(), "unknown characters draw a box");
    }

    #[test]
    fn text_lays_out_left_to_right_and_skips_spaces() {
        let mut o = Overlay::new();
        let w = o.text(10.0, 20.0, 2.0, [1.0; 4], "A B");
        assert_eq!(o.len(), 2);
        assert_eq!(w, (3.0 * 6.0 - 1.0) * 2.0);
        assert_eq!(o.quads[0].rect, [10.0, 20.0, 10.0, 14.0]);
        assert_eq!(o.quads[1].rect[0], 10.0 + 2.0 * 12.0);
    }
}
