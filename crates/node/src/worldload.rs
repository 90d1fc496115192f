//! Synthetic load for a world validator (`z3r0 node --load N` on a world): players of its own
//! join its zones and run east or west, sprinting and hopping steps, and turn back a little
//! after each border they cross, so they cross borders both ways; each input goes to the zone
//! whose finalized state holds the body now. A drill for handoff under load, not a game
//! client.

use crate::application::Source;
use crate::engine::Validator;
use commonware_codec::Encode as _;
use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use commonware_runtime::Clock as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use z3r0_chain::{Action, SignedAction};
use z3r0_sim::{Action as GameAction, InputFrame, Sim, flags};

/// Players per zone served.
const PLAYERS_PER_ZONE: usize = 16;
/// How long a player runs one way without crossing before it turns anyway (a world's edge,
/// or a wall): longer than a run across a zone. Turns timed alone let players that started
/// late run into the far wall and, turning there, never reach a border again.
const LEG: Duration = Duration::from_secs(60);
/// How far past a border a player runs (in time) before it turns back to cross again.
const AFTER_CROSSING: Duration = Duration::from_secs(5);
/// How often each player's zone is looked up again in the finalized states.
const LOOKUP: Duration = Duration::from_millis(500);
const EAST: u16 = 16_384;
const WEST: u16 = 49_152;

/// One synthetic player: its key, the zone (index into the served zones) its body is in, and
/// the next nonce to use there (`None`: ask the zone).
struct Runner {
    key: PrivateKey,
    account: [u8; 32],
    zone: Option<usize>,
    next_nonce: Option<u64>,
    /// Its body was found in a served zone at least once (it joined).
    seen: bool,
    /// The way it runs (a yaw), and since when.
    heading: u16,
    leg_start: SystemTime,
    /// The served zone it was in when it last turned (or was first found).
    leg_zone: Option<usize>,
}

/// Submits about `rate` actions a second across `zones` (number, replica) until the process
/// stops.
pub async fn run(
    mut context: commonware_runtime::tokio::Context,
    zones: Vec<(u32, Arc<Validator<Sim>>)>,
    rate: u32,
) {
    let Some((_, first)) = zones.first() else {
        return;
    };
    let seed = u64::from_be_bytes(first.public_key.as_ref()[..8].try_into().unwrap_or([0; 8]));
    let start = context.current();
    let mut runners: Vec<Runner> = (0..zones.len() * PLAYERS_PER_ZONE)
        .map(|i| {
            let key = PrivateKey::from_seed(seed.wrapping_add(0x5eed_0000 + i as u64));
            let account = key.public_key().as_ref().try_into().unwrap_or([0; 32]);
            let zone = i / PLAYERS_PER_ZONE;
            Runner {
                key,
                account,
                zone: Some(zone),
                next_nonce: None,
                seen: false,
                heading: first_heading(zones[zone].0),
                leg_start: start,
                leg_zone: None,
            }
        })
        .collect();
    let mut last_lookup = start;
    let mut sent = 0u64;
    let mut next = 0usize;
    loop {
        context.sleep(Duration::from_millis(10)).await;
        let now = context.current();
        let elapsed = now.duration_since(start).unwrap_or_default();
        if now.duration_since(last_lookup).unwrap_or_default() >= LOOKUP {
            locate(&zones, &mut runners, now);
            last_lookup = now;
        }
        let due = (elapsed.as_millis() as u64).saturating_mul(u64::from(rate)) / 1000;
        let mut batches: Vec<Vec<(usize, SignedAction)>> = vec![Vec::new(); zones.len()];
        let mut tries = 0;
        while sent < due && tries < runners.len() {
            tries += 1;
            let i = next;
            next = (next + 1) % runners.len();
            let Some(action) = action_of(&zones, &mut runners[i]) else {
                continue;
            };
            if let Some(z) = runners[i].zone {
                batches[z].push((i, action));
            }
            sent += 1;
        }
        for (z, batch) in batches.into_iter().enumerate() {
            submit(&zones[z].1, &mut context, &mut runners, batch);
        }
        if sent < due {
            // Every player had its turn: no backlog builds up for a later burst.
            sent = due;
        }
    }
}

/// Finds each player's body in the served zones' finalized states.
fn locate(zones: &[(u32, Arc<Validator<Sim>>)], runners: &mut [Runner], now: SystemTime) {
    let accounts: Vec<[u8; 32]> = runners.iter().map(|r| r.account).collect();
    let mut found = vec![None; runners.len()];
    for (z, (_, validator)) in zones.iter().enumerate() {
        let here = validator.with_finalized(|sim, _| {
            accounts
                .iter()
                .map(|a| sim.player(a).is_some())
                .collect::<Vec<_>>()
        });
        for (i, present) in here.into_iter().enumerate() {
            if present {
                found[i] = Some(z);
            }
        }
    }
    for (runner, zone) in runners.iter_mut().zip(found) {
        runner.relocate(zone, now);
    }
}

/// Which way a runner joining `zone` first runs: zones in even columns east, odd ones west,
/// so neighbours' runners head for the border between them.
fn first_heading(zone: u32) -> u16 {
    if z3r0_genesis::ZoneId::from_number(zone).x.is_multiple_of(2) {
        EAST
    } else {
        WEST
    }
}

impl Runner {
    /// Where its body is now (`now`): in served zone `found`, or in none of them. Found in
    /// another zone than its leg began in, it runs on into it for [`AFTER_CROSSING`] and then
    /// turns; it also turns when it has run one way for a whole [`LEG`].
    fn relocate(&mut self, found: Option<usize>, now: SystemTime) {
        match (found, self.leg_zone) {
            (Some(z), Some(l)) if z != l => {
                self.leg_zone = found;
                self.leg_start = now.checked_sub(LEG - AFTER_CROSSING).unwrap_or(now);
            }
            (Some(_), None) => self.leg_zone = found,
            _ => {}
        }
        if now.duration_since(self.leg_start).unwrap_or_default() >= LEG {
            self.heading = if self.heading == EAST { WEST } else { EAST };
            self.leg_start = now;
        }
        match found {
            Some(z) => {
                if self.zone != Some(z) {
                    self.zone = Some(z);
                    self.next_nonce = None;
                }
                self.seen = true;
            }
            // In transit, or gone to a zone served elsewhere: the zone it left would refuse
            // its inputs, so none are sent until it is found again.
            None if self.seen => self.zone = None,
            // Not joined yet: its join still goes to its first zone.
            None => {}
        }
    }
}

/// The runner's next signed action in its zone: a join first, then running its way.
fn action_of(zones: &[(u32, Arc<Validator<Sim>>)], runner: &mut Runner) -> Option<SignedAction> {
    let (number, validator) = &zones[runner.zone?];
    let nonce = runner
        .next_nonce
        .unwrap_or(0)
        .max(validator.next_nonce(&runner.key.public_key()));
    let payload = if nonce == 0 {
        GameAction::Join
    } else {
        GameAction::Input(InputFrame {
            forward: 127,
            strafe: 0,
            yaw: runner.heading,
            pitch: 0,
            flags: flags::SPRINT | flags::JUMP,
        })
    };
    let action = Action {
        player: runner.key.public_key(),
        zone: *number,
        tick: validator.current_tick(),
        nonce,
        payload: payload.encode_to_vec().into(),
    }
    .sign(&runner.key, &validator.chain);
    runner.next_nonce = Some(nonce + 1);
    // As a player's input would arrive: decoded from its bytes.
    z3r0_chain::SignedAction::decode(&action.encode()[..]).ok()
}

/// Offers one zone's batch; a refused action's nonce is used again.
fn submit(
    validator: &Validator<Sim>,
    context: &mut commonware_runtime::tokio::Context,
    runners: &mut [Runner],
    batch: Vec<(usize, SignedAction)>,
) {
    if batch.is_empty() {
        return;
    }
    let (who, actions): (Vec<usize>, Vec<SignedAction>) = batch.into_iter().unzip();
    let nonces: Vec<u64> = actions.iter().map(|a| a.action.nonce).collect();
    let results = validator.submit_batch(Source::Load, actions, context);
    for ((i, nonce), result) in who.into_iter().zip(nonces).zip(results) {
        if result.is_err() {
            runners[i].next_nonce = Some(nonce);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner(zone: usize) -> Runner {
        let key = PrivateKey::from_seed(1);
        Runner {
            account: key.public_key().as_ref().try_into().unwrap(),
            key,
            zone: Some(zone),
            next_nonce: Some(7),
            seen: false,
            heading: EAST,
            leg_start: SystemTime::UNIX_EPOCH,
            leg_zone: None,
        }
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_runner_whose_body_left_the_served_zones_stops_sending_until_it_is_back() {
        // Not joined yet: its join goes to its first zone.
        let mut r = runner(0);
        r.relocate(None, at(1));
        assert_eq!(r.zone, Some(0));
        // Found, then gone to a zone this process does not serve: nothing is sent for it
        // (the old zone would refuse every input).
        r.relocate(Some(0), at(2));
        r.relocate(None, at(3));
        assert_eq!(r.zone, None, "keeps sending to the zone it left");
        // Back in a served zone: it plays there, with that zone's nonces.
        r.relocate(Some(1), at(4));
        assert_eq!((r.zone, r.next_nonce), (Some(1), None));
    }

    #[test]
    fn a_runner_turns_a_little_after_each_border_and_at_a_wall() {
        let mut r = runner(0);
        // Joined late, it still runs east until it crosses: no timed turn sends it back to
        // the far wall first.
        r.relocate(Some(0), at(50));
        r.relocate(Some(0), at(59));
        assert_eq!(r.heading, EAST);
        // Across the border it runs on for a while, then turns back.
        r.relocate(None, at(59));
        r.relocate(Some(1), at(60));
        r.relocate(Some(1), at(64));
        assert_eq!(r.heading, EAST, "turned at the border");
        r.relocate(Some(1), at(65));
        assert_eq!(r.heading, WEST);
        // Back over the border, the same.
        r.relocate(Some(0), at(70));
        r.relocate(Some(0), at(75));
        assert_eq!(r.heading, EAST);
        // Against a wall (no border crossed for a whole leg) it turns anyway.
        r.relocate(Some(0), at(75 + LEG.as_secs()));
        assert_eq!(r.heading, WEST);
    }

    #[test]
    fn neighbouring_columns_start_towards_each_other() {
        let west = z3r0_genesis::ZoneId { x: 0, z: 0 }.number();
        let east = z3r0_genesis::ZoneId { x: 1, z: 0 }.number();
        assert_eq!((first_heading(west), first_heading(east)), (EAST, WEST));
    }
}
