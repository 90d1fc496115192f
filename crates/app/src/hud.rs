//! The in-frame HUD: status lines at the top left (fps, ping, tick, finality, position), the
//! latest refusal in red above the hotbar, and the hotbar of nine blocks with the selected slot
//! framed. Laid out as a [`z3r0_render::Overlay`], drawn by the renderer with the crosshair.

use z3r0_render::{Overlay, srgb};
use z3r0_voxel::BlockId;

pub use crate::content::HotbarSlot;

use z3r0_client::Game;

/// Blocks on the hotbar, slots 1–9.
pub const HOTBAR: [BlockId; 9] = [
    z3r0_voxel::blocks::DIRT,
    z3r0_voxel::blocks::STONE,
    z3r0_voxel::blocks::GRASS,
    z3r0_voxel::blocks::SAND,
    z3r0_voxel::blocks::LOG,
    z3r0_voxel::blocks::LEAVES,
    z3r0_voxel::blocks::GLASS,
    z3r0_voxel::blocks::GRAVEL,
    z3r0_voxel::blocks::SNOW,
];

/// What the HUD shows this frame.
#[derive(Debug, Clone, Default)]
pub struct HudInfo {
    pub fps: f64,
    pub ping_ms: f64,
    pub tick: u64,
    /// Median finality of the player's recent actions (tick start → receipt).
    pub finality_ms: Option<f64>,
    /// Eye position in metres.
    pub position: [f64; 3],
    /// Hotbar slot 0–8.
    pub slot: u8,
    /// The latest refusal, if recent.
    pub notice: Option<String>,
    /// Who owns the chunk column of the block under the crosshair, in words.
    pub owner: Option<String>,
    /// How many of each hotbar block the player carries (`None`: not known yet).
    pub carried: Option<[u32; 9]>,
    /// The hotbar's blocks: the built-in ones, and the published content's new ones.
    pub hotbar: crate::content::Hotbar,
}

impl HudInfo {
    /// What the HUD shows now, for `game` seen from `position`, with `hotbar` (the content's,
    /// from a [`crate::content::HotbarCache`]).
    pub fn now(
        game: &Game,
        fps: f64,
        tick: u64,
        slot: u8,
        position: [f64; 3],
        hotbar: crate::content::Hotbar,
    ) -> Self {
        let mut finality: Vec<f64> = game.stats().finality_ms.iter().copied().collect();
        finality.sort_by(f64::total_cmp);
        // A refusal stays up for three seconds of ticks.
        let recent = tick.saturating_sub(60);
        Self {
            fps,
            ping_ms: game.edge().connection().rtt().as_secs_f64() * 1e3,
            tick,
            finality_ms: finality.get(finality.len() / 2).copied(),
            position,
            slot: slot.min(8),
            notice: game
                .notices()
                .back()
                .filter(|n| n.tick >= recent)
                .map(|n| n.text.clone()),
            owner: None,
            carried: game
                .inventory()
                .map(|i| std::array::from_fn(|k| i.count(hotbar[k].block))),
            hotbar,
        }
    }

    /// Adds who owns the column of `target` (the block under the crosshair).
    pub fn with_target(mut self, game: &Game, target: Option<[i32; 3]>) -> Self {
        self.owner = target.map(|[x, y, z]| {
            let voxel = z3r0_voxel::VoxelPos::new(x, y, z);
            let c = voxel.chunk();
            let whose = match game.owner_of(voxel) {
                None => "UNCLAIMED".to_string(),
                Some(k) if k == game.edge().account() => "YOURS".to_string(),
                Some(k) => format!("OWNER {}", hex4(&k)),
            };
            format!("COLUMN {} {} {whose}", c.x, c.z)
        });
        self
    }
}

/// The first four bytes in hex: how players are named on screen.
fn hex4(key: &[u8; 32]) -> String {
    key[..4].iter().map(|b| format!("{b:02X}")).collect()
}

/// Hotbar slot size and gap, in pixels at scale 1.
const SLOT: f32 = 40.0;
const GAP: f32 = 4.0;

/// The HUD for a `width` × `height` frame (scaled up on large frames so it stays readable).
pub fn layout(info: &HudInfo, width: u32, height: u32) -> Overlay {
    let mut hud = Overlay::new();
    let scale = if height >= 900 { 3.0 } else { 2.0 };
    let line = 10.0 * scale;
    let white = srgb([240, 240, 240, 255]);
    let finality = info
        .finality_ms
        .map_or("-".to_string(), |f| format!("{f:.0} MS"));
    let mut lines = vec![
        format!(
            "{:.0} FPS  PING {:.0} MS  TICK {}",
            info.fps, info.ping_ms, info.tick
        ),
        format!("FINALITY {finality}"),
        format!(
            "POS {:.1} {:.1} {:.1}",
            info.position[0], info.position[1], info.position[2]
        ),
    ];
    lines.extend(info.owner.clone());
    for (i, text) in lines.iter().enumerate() {
        hud.label(8.0, 8.0 + i as f32 * line, scale, white, text);
    }

    // Hotbar, centred at the bottom; the selected slot framed in white.
    let k = scale / 2.0;
    let (slot, gap) = (SLOT * k, GAP * k);
    let total = 9.0 * slot + 8.0 * gap;
    let x0 = (width as f32 - total) / 2.0;
    let y0 = height as f32 - slot - 12.0 * k;
    for (i, block) in info.hotbar.iter().enumerate() {
        let x = x0 + i as f32 * (slot + gap);
        let selected = usize::from(info.slot) == i;
        let frame = if selected {
            srgb([255, 255, 255, 230])
        } else {
            srgb([0, 0, 0, 140])
        };
        hud.rect(x, y0, slot, slot, frame);
        let [r, g, b] = block.color;
        let inset = if selected { 4.0 * k } else { 3.0 * k };
        hud.rect(
            x + inset,
            y0 + inset,
            slot - 2.0 * inset,
            slot - 2.0 * inset,
            srgb([r, g, b, 255]),
        );
        hud.text(x + 3.0 * k, y0 + 3.0 * k, k, white, &(i + 1).to_string());
        // How many are carried, bottom right: none is what a place would be refused for.
        if let Some(carried) = info.carried {
            let count = carried[i].to_string();
            let w = Overlay::text_width(&count, k);
            hud.text(
                x + slot - w - 3.0 * k,
                y0 + slot - 10.0 * k,
                k,
                white,
                &count,
            );
        }
    }
    let name = info.hotbar[usize::from(info.slot).min(8)].name.as_str();
    let name_w = Overlay::text_width(name, scale);
    hud.label(
        (width as f32 - name_w) / 2.0,
        y0 - line - 4.0,
        scale,
        white,
        name,
    );
    if let Some(notice) = &info.notice {
        let w = Overlay::text_width(notice, scale);
        hud.label(
            (width as f32 - w) / 2.0,
            y0 - 2.0 * line - 8.0,
            scale,
            srgb([255, 90, 80, 255]),
            notice,
        );
    }
    hud
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hud_holds_status_hotbar_and_notice() {
        let info = HudInfo {
            fps: 60.0,
            ping_ms: 1.0,
            tick: 7,
            finality_ms: Some(50.0),
            position: [1.0, 2.0, 3.0],
            slot: 2,
            notice: None,
            owner: None,
            carried: None,
            hotbar: std::sync::Arc::new(crate::content::hotbar(None)),
        };
        let plain = layout(&info, 1280, 720);
        // With the inventory known, each slot shows its count: one glyph for 0–9, two for 12.
        let mut carried = [0; 9];
        carried[4] = 12;
        let counted = layout(
            &HudInfo {
                carried: Some(carried),
                ..info.clone()
            },
            1280,
            720,
        );
        assert_eq!(counted.len(), plain.len() + 8 + 2);
        // Nine slots, each a frame and a swatch, plus text.
        assert!(plain.len() > 18 + 20, "{} quads", plain.len());
        let noticed = layout(
            &HudInfo {
                notice: Some("OUT OF REACH".into()),
                ..info.clone()
            },
            1280,
            720,
        );
        // The notice's backing and its 10 glyphs.
        assert_eq!(noticed.len(), plain.len() + 1 + 10);
    }
}
