//! Two zones of a 2 × 1 world at the rules' level, each with a committee that certifies its
//! exits: the fixture of the handoff tests (here and in the client's transit tests).
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use commonware_codec::Encode as _;
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use std::sync::Arc;
use z3r0_chain::{ChainId, Committee, FinalityProof};
use z3r0_sim::border::BorderGround;
use z3r0_sim::handoff::{
    Exit, Import, Link, Neighbours, Record, SourceHeader, WorldPlace, zone_number,
};
use z3r0_sim::{Action, InputFrame, Inventory, PlayerKey, Receipt, Sim, SimConfig, flags};
use z3r0_voxel::{VoxelPos, blocks};

pub const FLOOR: i32 = 20;
/// A quarter turn: facing +x.
pub const EAST: u16 = 16_384;
pub const WEST: u16 = 49_152;

/// One zone of a 2 × 1 world: zone `x` holds chunk columns `x - 1` (so the border is at
/// voxel x = 0), z in -1..1, layers -1..2.
pub struct Zone {
    pub sim: Sim,
    pub chain: ChainId,
    pub keys: Vec<PrivateKey>,
}

pub fn config(x: u16) -> SimConfig {
    SimConfig {
        chain: ChainId([x as u8 + 1; 32]),
        chunks_x: (i32::from(x) - 1, i32::from(x)),
        chunks_y: (-1, 2),
        chunks_z: (-1, 1),
        world: Some(WorldPlace {
            zone: (x, 0),
            grid: (2, 1),
        }),
        ..SimConfig::default()
    }
}

pub fn committee_keys(x: u16) -> Vec<PrivateKey> {
    (0..4)
        .map(|i| PrivateKey::from_seed(100 * u64::from(x) + i))
        .collect()
}

/// Zone `x` with a flat stone floor under open sky, knowing its neighbour's committee.
pub fn zone(x: u16) -> Zone {
    zone_with(config(x))
}

/// [`zone`] of `c`, one of [`config`]'s zones with other rules.
pub fn zone_with(c: SimConfig) -> Zone {
    zone_running(c, z3r0_sim::plugin::Plugins::default())
}

/// [`zone_with`] running a game's `plugins`.
pub fn zone_running(c: SimConfig, plugins: z3r0_sim::plugin::Plugins) -> Zone {
    let x = c.world.unwrap().zone.0;
    let mut sim = Sim::genesis_with(c, plugins).unwrap();
    for vx in c.chunks_x.0 * 32..c.chunks_x.1 * 32 {
        for vz in c.chunks_z.0 * 32..c.chunks_z.1 * 32 {
            sim.voxels
                .set_voxel(VoxelPos::new(vx, FLOOR - 1, vz), blocks::STONE)
                .unwrap();
            for y in FLOOR..c.chunks_y.1 * 32 {
                sim.voxels
                    .set_voxel(VoxelPos::new(vx, y, vz), blocks::AIR)
                    .unwrap();
            }
        }
    }
    // The neighbour's border strip is flat too, as this zone's rules see it.
    let flat = |p: VoxelPos| {
        Some(if p.y >= FLOOR {
            blocks::AIR
        } else {
            blocks::STONE
        })
    };
    sim.set_border_ground(Arc::new(BorderGround::new(&c, flat)));
    let other = 1 - x;
    let neighbours = Neighbours::new(
        zone_number(x, 0),
        [(
            zone_number(other, 0),
            config(other).chain,
            committee_keys(other)
                .iter()
                .map(|k| k.public_key())
                .collect(),
        )],
    )
    .unwrap();
    sim.set_neighbours(Arc::new(neighbours));
    Zone {
        sim,
        chain: c.chain,
        keys: committee_keys(x),
    }
}

impl Zone {
    /// The next tick with these actions and imports; its receipts.
    pub fn tick(&mut self, actions: &[(PlayerKey, Action)], imports: &[Vec<u8>]) -> Vec<Receipt> {
        let payloads: Vec<(PlayerKey, Vec<u8>)> = actions
            .iter()
            .map(|(k, a)| (*k, a.encode_to_vec()))
            .collect();
        let tick = self.sim.tick() + 1;
        let mut receipts = Vec::new();
        self.sim.execute_with_imports(
            tick,
            payloads
                .iter()
                .zip(0u64..)
                .map(|((k, p), nonce)| z3r0_sim::BlockAction {
                    player: k,
                    tick,
                    nonce,
                    payload: p,
                    endorsed: false,
                }),
            imports,
            &mut receipts,
        );
        receipts
    }

    /// An import of `record` (held by `entity` in this zone's current state), certified by
    /// `signers` of `keys` for `chain`.
    pub fn certify(
        &mut self,
        record: Record,
        entity: z3r0_ecs::EntityId,
        keys: &[PrivateKey],
        chain: ChainId,
        signers: usize,
    ) -> Import {
        let records_root = self.sim.ecs.root();
        let chunk_root = self.sim.voxels.chunk_root();
        let header = SourceHeader {
            parent: [7; 32],
            height: self.sim.tick() + 1,
            tick: self.sim.tick() + 1,
            zone: self.sim.config().zone_number(),
            parent_state_root: z3r0_ecs::state_root(&records_root, &chunk_root),
            actions_hash: [0; 32],
            records_root,
            chunk_root,
        };
        let committee =
            Committee::new(chain, keys.iter().map(|k| k.public_key()).collect()).unwrap();
        let mut proposal = b"finalize".to_vec();
        proposal.extend_from_slice(&header.digest());
        let signatures = committee.keys()[..signers]
            .iter()
            .enumerate()
            .map(|(i, public)| {
                let key = keys.iter().find(|k| &k.public_key() == public).unwrap();
                let signature = key.sign(committee.finalize_namespace(), &proposal);
                (i as u16, signature.encode().as_ref().try_into().unwrap())
            })
            .collect();
        Import {
            header,
            finality: FinalityProof {
                proposal,
                signatures,
            },
            entity: entity.0,
            proof: self.sim.prove_record(entity, &record).unwrap(),
            record,
        }
    }

    /// Its own committee's certificate for `record`.
    pub fn export(&mut self, record: Record, entity: z3r0_ecs::EntityId) -> Vec<u8> {
        let (keys, chain) = (self.keys.clone(), self.chain);
        self.certify(record, entity, &keys, chain, 3)
            .encode_to_vec()
    }

    pub fn exits(&self) -> Vec<(z3r0_ecs::EntityId, Exit)> {
        self.sim
            .pending_exits()
            .map(|(e, x)| (e, x.clone()))
            .collect()
    }

    /// The one exit waiting here (a test's failure if there is not exactly one).
    pub fn only_exit(&self) -> (z3r0_ecs::EntityId, Exit) {
        let mut exits = self.exits();
        assert_eq!(exits.len(), 1, "one exit waits");
        exits.remove(0)
    }

    pub fn link(&self) -> Option<(z3r0_ecs::EntityId, Link)> {
        self.sim.links().map(|(e, l)| (e, *l)).next()
    }
}

pub fn walk(yaw: u16) -> Action {
    Action::Input(InputFrame {
        forward: 127,
        strafe: 0,
        yaw,
        pitch: 0,
        flags: flags::SPRINT,
    })
}

/// Joins `who` in `a` with `items` of stone, walks them east and runs ticks until they exit;
/// the tick's receipts.
pub fn walk_out(a: &mut Zone, who: PlayerKey, items: u16) -> Vec<Receipt> {
    a.tick(&[(who, Action::Join)], &[]);
    let e = a.sim.player(&who).unwrap();
    {
        let mut inv = a.sim.ecs.get_mut::<Inventory>(e).unwrap();
        for _ in 0..items {
            assert!(inv.add(blocks::STONE));
        }
    }
    a.tick(&[(who, walk(EAST))], &[]);
    for _ in 0..400 {
        let receipts = a.tick(&[], &[]);
        if receipts
            .iter()
            .any(|r| matches!(r, Receipt::Exited { player, .. } if *player == who))
        {
            return receipts;
        }
    }
    panic!("never crossed the border");
}
