// Z3R0 world shader: sky, voxel terrain (vertex pulling of 8-byte quads), water, entity boxes,
// the targeted-block outline, and the overlay (crosshair and HUD). Positions arrive relative to the camera.

struct Globals {
    view_proj: mat4x4<f32>,
    // Integer voxel under the eye.
    cam_int: vec4<i32>,
    // Eye offset inside that voxel (xyz); w = time in seconds.
    cam_frac: vec4<f32>,
    // Direction towards the sun (xyz).
    sun: vec4<f32>,
    // Per-pixel view rays for the sky: forward, right * tan(fov_x / 2), up * tan(fov_y / 2).
    ray_forward: vec4<f32>,
    ray_right: vec4<f32>,
    ray_up: vec4<f32>,
    // Fog start and end distance.
    fog: vec4<f32>,
    // Width, height, 1 / width, 1 / height.
    viewport: vec4<f32>,
    // Targeted block's minimum corner relative to the eye (xyz); drawn only when there is one.
    outline: vec4<f32>,
};

struct EntityBox {
    // Minimum corner relative to the eye.
    min: vec4<f32>,
    size: vec4<f32>,
    color: vec4<f32>,
};

@group(0) @binding(0) var<uniform> g: Globals;
@group(0) @binding(1) var<storage, read> quads: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> chunk_info: array<vec4<i32>>;
@group(0) @binding(3) var<storage, read> occupancy: array<u32>;
@group(0) @binding(4) var block_textures: texture_2d_array<f32>;
@group(0) @binding(5) var block_sampler: sampler;
@group(0) @binding(6) var<storage, read> entities: array<EntityBox>;
// The layer of each block id's top, side and bottom; the last three are the unknown block's.
@group(0) @binding(8) var<storage, read> block_layers: array<u32>;

// OCC_SIDE, OCC_WORDS and WATER are prepended by the renderer from the Rust
// definitions (occupancy.rs, textures.rs, z3r0-voxel's block ids).

// ---- sky and fog ----

fn sky_color(dir: vec3<f32>) -> vec3<f32> {
    let horizon = vec3<f32>(0.72, 0.82, 0.95);
    let zenith = vec3<f32>(0.22, 0.42, 0.82);
    let ground = vec3<f32>(0.45, 0.50, 0.58);
    var c: vec3<f32>;
    if dir.y >= 0.0 {
        c = mix(horizon, zenith, pow(dir.y, 0.55));
    } else {
        c = mix(horizon, ground, min(-dir.y * 3.0, 1.0));
    }
    let sun_dot = max(dot(dir, g.sun.xyz), 0.0);
    c += vec3<f32>(1.0, 0.92, 0.75) * (pow(sun_dot, 900.0) * 4.0 + pow(sun_dot, 12.0) * 0.18);
    return c;
}

fn apply_fog(color: vec3<f32>, rel: vec3<f32>) -> vec3<f32> {
    let d = length(rel.xz);
    let f = smoothstep(g.fog.x, g.fog.y, d);
    return mix(color, sky_color(normalize(rel)), f);
}

struct SkyOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) ndc: vec2<f32>,
};

@vertex
fn vs_sky(@builtin(vertex_index) vi: u32) -> SkyOut {
    // One triangle covering the screen.
    let xy = vec2<f32>(f32((vi << 1u) & 2u), f32(vi & 2u)) * 2.0 - 1.0;
    var out: SkyOut;
    out.pos = vec4<f32>(xy, 0.0, 1.0);
    out.ndc = xy;
    return out;
}

@fragment
fn fs_sky(in: SkyOut) -> @location(0) vec4<f32> {
    let dir = normalize(g.ray_forward.xyz + in.ndc.x * g.ray_right.xyz + in.ndc.y * g.ray_up.xyz);
    return vec4<f32>(sky_color(dir), 1.0);
}

// ---- terrain ----

struct TerrainOut {
    @builtin(position) pos: vec4<f32>,
    // Position relative to the eye.
    @location(0) rel: vec3<f32>,
    // Chunk-local position (voxels).
    @location(1) local: vec3<f32>,
    // Texture coordinates in voxels (the sampler repeats).
    @location(2) uv: vec2<f32>,
    @location(3) @interpolate(flat) face: u32,
    @location(4) @interpolate(flat) slot: u32,
    @location(5) @interpolate(flat) layer: u32,
    @location(6) @interpolate(flat) block: u32,
};

fn face_normal(face: u32) -> vec3<f32> {
    switch face {
        case 0u: { return vec3<f32>(1.0, 0.0, 0.0); }
        case 1u: { return vec3<f32>(-1.0, 0.0, 0.0); }
        case 2u: { return vec3<f32>(0.0, 1.0, 0.0); }
        case 3u: { return vec3<f32>(0.0, -1.0, 0.0); }
        case 4u: { return vec3<f32>(0.0, 0.0, 1.0); }
        default: { return vec3<f32>(0.0, 0.0, -1.0); }
    }
}

// The quad's width (u) and height (v) axes, as in z3r0-voxel's `Quad::axes`.
fn face_u(face: u32) -> vec3<f32> {
    if face < 2u { return vec3<f32>(0.0, 0.0, 1.0); }
    return vec3<f32>(1.0, 0.0, 0.0);
}
fn face_v(face: u32) -> vec3<f32> {
    if face >= 2u && face < 4u { return vec3<f32>(0.0, 0.0, 1.0); }
    return vec3<f32>(0.0, 1.0, 0.0);
}

// The (u, v) corner in 0..1 of vertex `vi` of a face's two triangles, wound counter-clockwise
// around u × v; faces whose normal is -(u × v) take the mirrored order, so every face winds the
// same way seen from outside.
fn quad_corner(vi: u32, u: vec3<f32>, v: vec3<f32>, n: vec3<f32>) -> vec2<f32> {
    var cu = array<f32, 6>(0.0, 1.0, 1.0, 0.0, 1.0, 0.0);
    var cv = array<f32, 6>(0.0, 0.0, 1.0, 0.0, 1.0, 1.0);
    var k = vi % 6u;
    if dot(cross(u, v), n) < 0.0 {
        let mirrored = array<u32, 6>(0u, 2u, 1u, 3u, 5u, 4u);
        k = mirrored[k];
    }
    return vec2<f32>(cu[k], cv[k]);
}

@vertex
fn vs_terrain(@builtin(vertex_index) vi: u32, @builtin(instance_index) slot: u32) -> TerrainOut {
    let q = quads[vi / 6u];
    let lo = q.x;
    let corner = vec3<f32>(f32(lo & 63u), f32((lo >> 6u) & 63u), f32((lo >> 12u) & 63u));
    let w = f32(((lo >> 18u) & 31u) + 1u);
    let h = f32(((lo >> 23u) & 31u) + 1u);
    let face = (lo >> 28u) & 7u;
    let block = q.y & 0xffffu;

    let n = face_normal(face);
    let u_axis = face_u(face);
    let v_axis = face_v(face);
    let c = quad_corner(vi, u_axis, v_axis, n);
    let local = corner + u_axis * (c.x * w) + v_axis * (c.y * h);

    let origin = chunk_info[slot].xyz;
    let rel = vec3<f32>(origin - g.cam_int.xyz) + local - g.cam_frac.xyz;

    var kind = 1u;
    if face == 2u { kind = 0u; }
    if face == 3u { kind = 2u; }

    var out: TerrainOut;
    out.pos = g.view_proj * vec4<f32>(rel, 1.0);
    out.rel = rel;
    out.local = local;
    // Texture coordinates from the chunk-local position: chunk origins are multiples of 32 and
    // the sampler repeats every voxel, so this equals world coordinates without f32 loss far
    // from the origin. Side faces keep texture "up" pointing up.
    out.uv = vec2<f32>(dot(local, u_axis), -dot(local, v_axis));
    if face == 2u || face == 3u {
        out.uv = vec2<f32>(local.x, local.z);
    }
    out.face = face;
    out.slot = slot;
    // Ids past the table show the unknown block's faces, its last three entries.
    let entry = min(block, arrayLength(&block_layers) / 3u - 1u);
    out.layer = block_layers[entry * 3u + kind];
    out.block = block;
    return out;
}

fn occluder(slot: u32, p: vec3<i32>) -> f32 {
    let c = clamp(p, vec3<i32>(-1), vec3<i32>(32));
    let bit = u32(((c.y + 1) * OCC_SIDE + (c.z + 1)) * OCC_SIDE + (c.x + 1));
    let word = occupancy[slot * OCC_WORDS + bit / 32u];
    return f32((word >> (bit % 32u)) & 1u);
}

fn corner_ao(side1: f32, side2: f32, corner: f32) -> f32 {
    if side1 > 0.5 && side2 > 0.5 {
        return 0.0;
    }
    return (3.0 - side1 - side2 - corner) / 3.0;
}

// Smooth ambient occlusion of the voxel face under this pixel, from the 8 voxels around the
// air voxel in front of it.
fn ambient_occlusion(in: TerrainOut) -> f32 {
    let n = face_normal(in.face);
    let u = face_u(in.face);
    let v = face_v(in.face);
    let front = vec3<i32>(floor(in.local + n * 0.5));
    let fu = fract(dot(in.local, u));
    let fv = fract(dot(in.local, v));
    let iu = vec3<i32>(u);
    let iv = vec3<i32>(v);
    let s_u0 = occluder(in.slot, front - iu);
    let s_u1 = occluder(in.slot, front + iu);
    let s_v0 = occluder(in.slot, front - iv);
    let s_v1 = occluder(in.slot, front + iv);
    let a00 = corner_ao(s_u0, s_v0, occluder(in.slot, front - iu - iv));
    let a10 = corner_ao(s_u1, s_v0, occluder(in.slot, front + iu - iv));
    let a01 = corner_ao(s_u0, s_v1, occluder(in.slot, front - iu + iv));
    let a11 = corner_ao(s_u1, s_v1, occluder(in.slot, front + iu + iv));
    return mix(mix(a00, a10, fu), mix(a01, a11, fu), fv);
}

fn shade(albedo: vec3<f32>, n: vec3<f32>, ao: f32) -> vec3<f32> {
    let sun = max(dot(n, g.sun.xyz), 0.0);
    let sky = 0.6 + 0.25 * n.y;
    let ambient = vec3<f32>(0.40, 0.45, 0.56) * sky;
    let direct = vec3<f32>(1.0, 0.95, 0.85) * sun * 0.85;
    // Occlusion darkens all light, the classic voxel look; squared to deepen the corners.
    return albedo * (ambient + direct) * (0.22 + 0.78 * ao * ao);
}

@fragment
fn fs_terrain(in: TerrainOut) -> @location(0) vec4<f32> {
    let tex = textureSample(block_textures, block_sampler, in.uv, in.layer);
    let n = face_normal(in.face);
    let lit = shade(tex.rgb, n, ambient_occlusion(in));
    return vec4<f32>(apply_fog(lit, in.rel), 1.0);
}

@fragment
fn fs_transparent(in: TerrainOut) -> @location(0) vec4<f32> {
    let n = face_normal(in.face);
    let t = g.cam_frac.w;
    var uv = in.uv;
    let is_water = in.block == WATER;
    if is_water {
        uv += vec2<f32>(sin(t * 0.7 + in.uv.y * 0.9), cos(t * 0.6 + in.uv.x * 0.8)) * 0.06;
    }
    let tex = textureSample(block_textures, block_sampler, uv, in.layer);
    var color = shade(tex.rgb, n, 1.0);
    var alpha = tex.a;
    if is_water {
        let view = normalize(-in.rel);
        let fresnel = pow(1.0 - max(dot(view, n), 0.0), 4.0);
        let half_dir = normalize(view + g.sun.xyz);
        let spec = pow(max(dot(n, half_dir), 0.0), 200.0) * 0.5;
        color = mix(color * 0.8, sky_color(reflect(-view, n)), fresnel * 0.35) + vec3<f32>(spec);
        alpha = mix(0.72, 0.94, fresnel);
    }
    return vec4<f32>(apply_fog(color, in.rel), alpha);
}

// ---- entity boxes (instanced) ----

struct BoxOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) rel: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) color: vec4<f32>,
};

@vertex
fn vs_box(@builtin(vertex_index) vi: u32, @builtin(instance_index) ii: u32) -> BoxOut {
    let e = entities[ii];
    let face = vi / 6u;
    let n = face_normal(face);
    let u = face_u(face);
    let v = face_v(face);
    let c = quad_corner(vi, u, v, n);
    // Unit cube corner: the face plane sits at 1 on positive faces.
    var p = u * c.x + v * c.y;
    if face % 2u == 0u {
        p += n;
    }
    let rel = e.min.xyz + p * e.size.xyz;
    var out: BoxOut;
    out.pos = g.view_proj * vec4<f32>(rel, 1.0);
    out.rel = rel;
    out.normal = n;
    out.color = e.color;
    return out;
}

@fragment
fn fs_box(in: BoxOut) -> @location(0) vec4<f32> {
    let lit = shade(in.color.rgb, in.normal, 1.0);
    return vec4<f32>(apply_fog(lit, in.rel), 1.0);
}

// ---- targeted-block outline (line list) ----

@vertex
fn vs_outline(@builtin(vertex_index) vi: u32) -> @builtin(position) vec4<f32> {
    // 12 edges × 2 endpoints of the unit cube, as corner bit masks (x = 1, y = 2, z = 4).
    var ends = array<u32, 24>(
        0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u,
        0u, 2u, 1u, 3u, 4u, 6u, 5u, 7u,
        0u, 4u, 1u, 5u, 2u, 6u, 3u, 7u,
    );
    let c = ends[vi];
    let corner = vec3<f32>(f32(c & 1u), f32((c >> 1u) & 1u), f32((c >> 2u) & 1u));
    let grow = 0.004;
    let rel = g.outline.xyz - vec3<f32>(grow) + corner * (1.0 + 2.0 * grow);
    return g.view_proj * vec4<f32>(rel, 1.0);
}

@fragment
fn fs_outline() -> @location(0) vec4<f32> {
    return vec4<f32>(0.05, 0.05, 0.05, 0.85);
}

// ---- overlay: crosshair and HUD (screen space, pixels from the top-left) ----

struct OverlayQuad {
    // x, y, width, height in pixels.
    rect: vec4<f32>,
    color: vec4<f32>,
    // Glyph rows 0-3 and 4-6, 8 bits each (bit 4 = leftmost pixel); z = 1: solid.
    bits: vec4<u32>,
};

@group(0) @binding(7) var<storage, read> overlay: array<OverlayQuad>;

struct OverlayOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) uv: vec2<f32>,
    @location(1) color: vec4<f32>,
    @location(2) @interpolate(flat) bits: vec4<u32>,
};

@vertex
fn vs_overlay(@builtin(vertex_index) vi: u32, @builtin(instance_index) ii: u32) -> OverlayOut {
    var qx = array<f32, 6>(0.0, 1.0, 1.0, 0.0, 1.0, 0.0);
    var qy = array<f32, 6>(0.0, 0.0, 1.0, 0.0, 1.0, 1.0);
    let q = overlay[ii];
    let corner = vec2<f32>(qx[vi % 6u], qy[vi % 6u]);
    let px = q.rect.xy + corner * q.rect.zw;
    var out: OverlayOut;
    out.pos = vec4<f32>(px.x * 2.0 * g.viewport.z - 1.0, 1.0 - px.y * 2.0 * g.viewport.w, 0.0, 1.0);
    out.uv = corner;
    out.color = q.color;
    out.bits = q.bits;
    return out;
}

@fragment
fn fs_overlay(in: OverlayOut) -> @location(0) vec4<f32> {
    if in.bits.z == 1u {
        return in.color;
    }
    let col = min(u32(in.uv.x * 5.0), 4u);
    let row = min(u32(in.uv.y * 7.0), 6u);
    let word = select(in.bits.x, in.bits.y, row >= 4u);
    if ((word >> ((row % 4u) * 8u + (4u - col))) & 1u) == 0u {
        discard;
    }
    return in.color;
}
