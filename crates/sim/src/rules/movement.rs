//! Input frames, movement and timeouts; the physics step every body takes.

use super::*;

impl Sim {
    /// Puts the frame targeting tick `target` in force. A frame that reached a block after its
    /// own tick's (a late datagram) still counts before the next tick's frame in the same
    /// block; one for a tick at or before the frame in force is refused, so a player gets one
    /// frame per tick. (At most one tick's frame moves a body per step either way: frames
    /// replace each other, they do not add up.)
    pub(super) fn input(
        &mut self,
        e: EntityId,
        frame: &InputFrame,
        target: u64,
    ) -> Result<(), Reason> {
        let mut control = self.ecs.get_mut::<Control>(e).ok_or(Reason::NotJoined)?;
        if target <= control.last_input_tick {
            return Err(Reason::TickHasInput);
        }
        if !frame.within_stick() {
            return Err(Reason::BeyondFullStick);
        }
        control.frame = *frame;
        control.last_input_tick = target;
        Ok(())
    }

    /// Inside the zone and solid, or outside the zone (its edge is a wall).
    pub(super) fn solid(&self, p: VoxelPos) -> bool {
        let rules = &self.content.rules;
        self.voxels.voxel(p).is_none_or(|b| rules.is_solid(b))
    }

    pub(super) fn movement(&mut self, receipts: &mut Vec<Receipt>) {
        let Self {
            voxels,
            ecs,
            events,
            physics,
            tick,
            config,
            content,
            border,
            ..
        } = self;
        let view = |p: VoxelPos| seen(voxels, border, config, p);
        events.clear();
        if let Ok((bodies, controls)) = ecs.columns_mut::<Body, Control>() {
            // At most one event per body: reserving up front keeps steady-state ticks free of
            // allocations.
            events.reserve(bodies.len());
            let (physics, tick, rules) = (&*physics, *tick, &*content.rules);
            bodies.join_mut_each(controls, |e, mut body, control| {
                let (next, event) =
                    step_in_view(&view, rules, &body, &control.frame, physics, tick);
                if next != *body {
                    *body = next;
                }
                if let Some(reason) = event {
                    events.push((e, reason));
                }
            });
        }
        for &(e, reason) in events.iter() {
            if let Some(p) = ecs.get::<Player>(e) {
                receipts.push(Receipt::Rejected {
                    player: p.key,
                    action: Action::Input(InputFrame::default()).kind(),
                    reason,
                    index: None,
                });
            }
        }
    }

    pub(super) fn timeouts(&mut self, receipts: &mut Vec<Receipt>) {
        let tick = self.tick;
        let limit = self.config.timeout_ticks;
        let Ok(controls) = self.ecs.column::<Control>() else {
            return;
        };
        let expired: Vec<EntityId> = controls
            .iter()
            .filter(|(_, c)| tick.saturating_sub(c.last_input_tick) > limit)
            .map(|(e, _)| e)
            .collect();
        for e in expired {
            if let Some(key) = self.ecs.get::<Player>(e).map(|p| p.key) {
                self.remove_player(&key, e);
                receipts.push(Receipt::TimedOut { player: key });
            }
        }
    }
}

/// [`step_body`] against `voxels` as the rules see them: unloaded voxels (outside the zone) are
/// solid. Clients predict with this on the chunks they hold.
pub fn step_in_world(
    voxels: &z3r0_voxel::World,
    rules: &BlockRules,
    body: &Body,
    frame: &InputFrame,
    physics: &Physics,
    tick: u64,
) -> (Body, Option<Reason>) {
    step_in_view(&|p| voxels.voxel(p), rules, body, frame, physics, tick)
}

/// What the rules see at `p`: the zone's voxels; in a neighbour's border strip, what the
/// neighbour holds there; further into a neighbour, open ground (the body leaves once its
/// centre is over); beyond the world's edge, and above and below the layers, a wall (`None`).
pub(super) fn seen(
    voxels: &z3r0_voxel::World,
    border: &crate::border::BorderGround,
    config: &SimConfig,
    p: VoxelPos,
) -> Option<BlockId> {
    voxels
        .voxel(p)
        .or_else(|| border.get(p))
        .or_else(|| config.beyond_border(p).then_some(blocks::AIR))
}

/// [`step_in_world`] against any view of the voxels (`None`: not loaded, so solid). A client
/// predicting past its own pending edits sees each one only from the tick it targets.
pub fn step_in_view(
    voxel: &impl Fn(VoxelPos) -> Option<BlockId>,
    rules: &BlockRules,
    body: &Body,
    frame: &InputFrame,
    physics: &Physics,
    tick: u64,
) -> (Body, Option<Reason>) {
    let solid = |p: VoxelPos| voxel(p).is_none_or(|b| rules.is_solid(b));
    let water = |p: VoxelPos| voxel(p) == Some(blocks::WATER);
    step_body(&solid, &water, body, frame, physics, tick)
}

/// One tick (number `tick`) of one body: controls → velocity, gravity, swept movement with
/// step-up, in the rules' real units (see [`crate::units`]). Returns the new body and an event
/// the player is told about (a refused jump, a wall).
pub fn step_body(
    solid: &impl Fn(VoxelPos) -> bool,
    water: &impl Fn(VoxelPos) -> bool,
    body: &Body,
    frame: &InputFrame,
    physics: &Physics,
    tick: u64,
) -> (Body, Option<Reason>) {
    use body_state::*;
    let p = physics;
    let mut b = *body;
    let mut event = None;
    let on_ground = b.state & ON_GROUND != 0;
    let in_water = b.state & IN_WATER != 0;
    let jump = frame.flags & flags::JUMP != 0;

    // Intent → horizontal velocity, capped by the rules whatever the frame says.
    let speed = if in_water {
        p.swim
    } else if frame.flags & flags::CROUCH != 0 {
        p.crouch
    } else if frame.flags & flags::SPRINT != 0 {
        p.sprint
    } else {
        p.walk
    };
    let (fwd, strafe) = (i64::from(frame.forward), i64::from(frame.strafe));
    let (s, c) = (sin(frame.yaw), cos(frame.yaw));
    // Forward is (sin, cos) in (x, z); strafe right is (cos, -sin).
    let want = [
        (fwd * s + strafe * c) * speed / (127 * TRIG_ONE),
        (fwd * c - strafe * s) * speed / (127 * TRIG_ONE),
    ];
    // In the air, velocity turns towards the intent at the air acceleration.
    let air = p.per_tick(p.air_accel, tick);
    for (i, axis) in [0usize, 2].into_iter().enumerate() {
        b.vel[axis] = if on_ground || in_water {
            want[i]
        } else {
            b.vel[axis] + (want[i] - b.vel[axis]).clamp(-air, air)
        };
    }
    let horizontal = isqrt(b.vel[0] * b.vel[0] + b.vel[2] * b.vel[2]);
    if horizontal > p.sprint {
        b.vel[0] = b.vel[0] * p.sprint / horizontal;
        b.vel[2] = b.vel[2] * p.sprint / horizontal;
    }

    // Vertical: jump from the ground, swim up in water, otherwise gravity. The body moves by
    // the mean of its velocity before and after the tick.
    let rising_edge = jump && b.state & JUMP_HELD == 0;
    let (v0, g, cap) = if jump && on_ground {
        (p.jump, p.gravity, p.max_fall)
    } else if jump && in_water {
        (p.swim_up, 0, p.max_sink)
    } else {
        if rising_edge {
            event = Some(Reason::NotOnGround);
        }
        if in_water {
            (b.vel[1], p.water_gravity, p.max_sink)
        } else {
            (b.vel[1], p.gravity, p.max_fall)
        }
    };
    b.vel[1] = (v0 - p.per_tick(g, tick)).max(-cap);
    let dy_want = p.displacement(v0, b.vel[1], tick);

    // Sweep: y, then x, then z; stepping up ledges up to STEP when walking on the ground.
    let mut bx = Aabb::player(b.pos);
    let dy = physics::sweep(solid, &bx, 1, dy_want);
    bx = bx.shifted(1, dy);
    let landed = dy_want < 0 && dy != dy_want;
    if dy != dy_want {
        b.vel[1] = 0;
    }
    let grounded = landed || (b.vel[1] <= 0 && physics::sweep(solid, &bx, 1, -1) == 0);
    let mut blocked = false;
    for axis in [0usize, 2] {
        let want = p.per_tick(b.vel[axis], tick);
        let d = physics::sweep(solid, &bx, axis, want);
        if d == want {
            bx = bx.shifted(axis, d);
            continue;
        }
        // Try stepping up: rise, move, settle back down.
        if grounded {
            let up = physics::sweep(solid, &bx, 1, STEP);
            let raised = bx.shifted(1, up);
            let d2 = physics::sweep(solid, &raised, axis, want);
            if d2.abs() > d.abs() {
                let moved = raised.shifted(axis, d2);
                let down = physics::sweep(solid, &moved, 1, -up);
                bx = moved.shifted(1, down);
                continue;
            }
        }
        bx = bx.shifted(axis, d);
        b.vel[axis] = 0;
        blocked = true;
    }
    b.pos = [
        bx.min[0] + physics::HALF_WIDTH,
        bx.min[1],
        bx.min[2] + physics::HALF_WIDTH,
    ];
    if blocked && b.state & BLOCKED == 0 && event.is_none() {
        event = Some(Reason::Blocked);
    }
    let chest = VoxelPos::new(
        physics::voxel_of(b.pos[0]),
        physics::voxel_of(b.pos[1] + physics::HEIGHT / 2),
        physics::voxel_of(b.pos[2]),
    );
    let still_grounded = physics::sweep(solid, &bx, 1, -1) == 0;
    let flag = |on: bool, bit: u8| if on { bit } else { 0 };
    b.state = flag(still_grounded, ON_GROUND)
        | flag(water(chest), IN_WATER)
        | flag(jump, JUMP_HELD)
        | flag(blocked, BLOCKED);
    (b, event)
}
