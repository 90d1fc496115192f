//! Voxel edits: digging and placing, and the checks both run.

use super::*;

impl Sim {
    /// `Occupied` if `block` is solid and a body stands in `pos` (the scan is every body's,
    /// so it comes after the cheaper checks).
    pub(crate) fn room_for(&self, block: BlockId, pos: VoxelPos) -> Result<(), Reason> {
        if !self.content.rules.is_solid(block) {
            return Ok(());
        }
        let bodies = self.ecs.column::<Body>().map_err(|_| Reason::NotJoined)?;
        if bodies
            .iter()
            .any(|(_, b)| Aabb::player(b.pos).intersects_voxel(pos))
        {
            return Err(Reason::Occupied);
        }
        Ok(())
    }

    /// Whether `player` (entity `e`) may dig (`placing: false`) or place at `pos`: see
    /// [`edit_check`]. Plugins' edits run them too.
    pub(crate) fn edit_checks(
        &self,
        player: &PlayerKey,
        e: EntityId,
        pos: VoxelPos,
        placing: bool,
    ) -> Result<BlockId, Reason> {
        let body = self.ecs.get::<Body>(e).ok_or(Reason::NotJoined)?;
        if self.config.in_border_strip(pos) {
            return Err(Reason::AtBorder);
        }
        let eye = [body.pos[0], body.pos[1] + EYE, body.pos[2]];
        let may_build = self
            .claims
            .get(&(pos.chunk().x, pos.chunk().z))
            .and_then(|c| self.ecs.get::<Claim>(*c))
            .is_none_or(|claim| claim.may_build(player));
        let view = |p| self.voxels.voxel(p);
        edit_check(&view, &self.content.rules, eye, pos, placing, may_build)
    }

    pub(super) fn break_block(
        &mut self,
        player: &PlayerKey,
        e: EntityId,
        pos: VoxelPos,
        receipts: &mut Vec<Receipt>,
    ) -> Result<(), Reason> {
        let current = self.edit_checks(player, e, pos, false)?;
        let mut inv = self.ecs.get_mut::<Inventory>(e).ok_or(Reason::NotJoined)?;
        if !inv.add(current) {
            return Err(Reason::InventoryFull);
        }
        self.voxels
            .set_voxel(pos, blocks::AIR)
            .map_err(|_| Reason::OutOfZone)?;
        receipts.push(Receipt::BlockChanged {
            pos,
            from: current,
            to: blocks::AIR,
            by: *player,
        });
        Ok(())
    }

    pub(super) fn place_block(
        &mut self,
        player: &PlayerKey,
        e: EntityId,
        pos: VoxelPos,
        block: BlockId,
        receipts: &mut Vec<Receipt>,
    ) -> Result<(), Reason> {
        if block == blocks::AIR || !self.content.rules.is_defined(block) {
            return Err(Reason::NotABlock);
        }
        let current = self.edit_checks(player, e, pos, true)?;
        // The inventory lookup is one entity's; the occupancy scan below is every body's.
        let held = self.ecs.get::<Inventory>(e).map(|inv| inv.count(block));
        if held.ok_or(Reason::NotJoined)? == 0 {
            return Err(Reason::NothingInInventory);
        }
        self.room_for(block, pos)?;
        let mut inv = self.ecs.get_mut::<Inventory>(e).ok_or(Reason::NotJoined)?;
        if !inv.take(block) {
            return Err(Reason::NothingInInventory);
        }
        self.voxels
            .set_voxel(pos, block)
            .map_err(|_| Reason::OutOfZone)?;
        receipts.push(Receipt::BlockChanged {
            pos,
            from: current,
            to: block,
            by: *player,
        });
        Ok(())
    }
}

/// The checks of a dig (`placing: false`) or a place at `pos` by a player whose eye is at `eye`
/// (1/1024 m), in the rules' order: the zone holds the voxel, it is within reach, a face of it
/// is in sight, the player may build in its column (`may_build`, from the claims), and there
/// is something to dig or room to place (`rules`: the replaceable blocks, air and water, are
/// room, hide nothing and cannot be dug). Returns what is there now. Clients run the same
/// checks on their copy of the world before showing an edit early.
pub fn edit_check(
    voxel: &impl Fn(VoxelPos) -> Option<BlockId>,
    rules: &BlockRules,
    eye: [i64; 3],
    pos: VoxelPos,
    placing: bool,
    may_build: bool,
) -> Result<BlockId, Reason> {
    let current = voxel(pos).ok_or(Reason::OutOfZone)?;
    let centre = [pos.x, pos.y, pos.z].map(|v| i64::from(v) * UNIT + UNIT / 2);
    let d2: i64 = (0..3).map(|a| (centre[a] - eye[a]).pow(2)).sum();
    if d2 > limits::REACH * limits::REACH {
        return Err(Reason::OutOfReach);
    }
    let blocks_sight = |p: VoxelPos| voxel(p).is_none_or(|b| !rules.is_replaceable(b));
    if let Ray::Blocked(_) = physics::visible(&blocks_sight, eye, pos) {
        return Err(Reason::NoLineOfSight);
    }
    if !may_build {
        return Err(Reason::NotYours);
    }
    let empty = rules.is_replaceable(current);
    if placing && !empty {
        return Err(Reason::Occupied);
    }
    if !placing && empty {
        return Err(Reason::NothingThere);
    }
    Ok(current)
}
