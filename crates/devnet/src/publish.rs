//! `z3r0 content publish`: a pack on chain. First every file the pack names is uploaded to
//! every validator's edge (the publisher's sessions may upload; each edge checks the bytes
//! against their hash as they arrive), so validators hold the assets players will fetch. Then
//! the publisher's key signs the manifest's parts (`Action::PublishContent`), sent in order
//! over one validator's player edge; once every part is in a finalized block the zone has
//! scheduled the manifest, and the command waits for its activation tick.

use anyhow::{Context as _, Result, bail};
use clap::Args;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use z3r0_content::{Pack, hex};
use z3r0_net::RejectionKind;
use z3r0_net::{ClientConfig, ClientEvent, EdgeClient};
use z3r0_sim::content::ContentPart;
use z3r0_sim::{Action, Reason};

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The pack's directory (holding `pack.toml`).
    dir: PathBuf,
    /// The zone's genesis: it names the publisher and the committee.
    #[arg(long)]
    genesis: PathBuf,
    /// The publisher's private key (default: `publisher.key` beside the genesis).
    #[arg(long)]
    key: Option<PathBuf>,
    /// A validator's player edge (default: the genesis's first).
    #[arg(long)]
    connect: Option<SocketAddr>,
    /// Milliseconds from the last part's block to the activation tick: time for clients to
    /// fetch what the manifest names.
    #[arg(long, default_value_t = 2_000)]
    lead_ms: u64,
}

/// A pack in force on a chain: its manifest's hash, and its first tick.
#[derive(Debug, Clone, Copy)]
pub struct Published {
    pub manifest: z3r0_content::Hash,
    pub active_from: u64,
}

/// Parts in flight at once: the mempool takes 8 of one player's actions a tick and puts 4 in a
/// block; 6 leaves room for a resend in the tick a window is refilled.
const WINDOW: usize = 6;
/// A part not heard of this long after it was sent is sent again, same nonce: past the time
/// its receipt takes (proven about every half second), so the copy is told `Replay` if the
/// part is in a block and `Expired` if it was dropped (a second of ticks after its own).
const RESEND: Duration = Duration::from_secs(2);
/// The whole publication gives up after this long without progress.
const STALLED: Duration = Duration::from_secs(15);

pub fn publish(args: &PublishArgs) -> Result<Published> {
    let pack = Pack::load(&args.dir).map_err(|errors| {
        anyhow::anyhow!(
            "{} is not a valid content pack: {errors}",
            args.dir.display()
        )
    })?;
    let manifest = pack.manifest();
    let bytes = manifest.encode();
    let genesis = z3r0_genesis::Genesis::load(&args.genesis).context("loading the genesis")?;
    let Some(publisher) = genesis.publisher() else {
        bail!("the genesis names no content_publisher: this chain's content is fixed");
    };
    let key_path = args
        .key
        .clone()
        .unwrap_or_else(|| args.genesis.with_file_name(z3r0_genesis::PUBLISHER_KEY));
    let key = z3r0_genesis::read_key(&key_path).context("reading the publisher key")?;
    let edge = match args.connect {
        Some(a) => a,
        None => *genesis
            .player_edges()
            .first()
            .context("the genesis names no player edge; give --connect")?,
    };
    let keys = genesis
        .public_keys()
        .map_err(|e| anyhow::anyhow!("genesis keys: {e}"))?;
    let config = ClientConfig::new(edge, genesis.chain_id(), keys);
    println!(
        "pack {} v{}: manifest {} ({} bytes)",
        manifest.name,
        manifest.version,
        hex(&manifest.hash()),
        bytes.len()
    );
    let files = pack_files(&pack)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let lead_ticks = args.lead_ms.div_ceil(genesis.tick_ms.max(1));
    let at = runtime.block_on(async {
        let client = EdgeClient::connect(&config, key.clone()).await?;
        if client.account() != publisher {
            bail!(
                "{} is not the genesis's content publisher",
                key_path.display()
            );
        }
        upload(&config, &key, &genesis.player_edges(), &files).await?;
        send_parts(client, &bytes, lead_ticks).await
    })?;
    println!("  active from tick {at}");
    Ok(Published {
        manifest: manifest.hash(),
        active_from: at,
    })
}

/// Every file the pack names, read and checked again now.
fn pack_files(pack: &Pack) -> Result<Vec<Vec<u8>>> {
    pack.hashes
        .keys()
        .map(|name| pack.read(name).map_err(|e| anyhow::anyhow!("{e}")))
        .collect()
}

/// Uploads `files` to every edge; an edge that cannot be reached is reported and skipped, but
/// one that refuses a file, or none reached at all, ends the publication before it starts.
async fn upload(
    config: &ClientConfig,
    key: &commonware_cryptography::ed25519::PrivateKey,
    edges: &[SocketAddr],
    files: &[Vec<u8>],
) -> Result<()> {
    let bytes: usize = files.iter().map(Vec::len).sum();
    let mut holding = 0;
    for &edge in edges {
        let mut to = config.clone();
        to.server = edge;
        let client = match EdgeClient::connect(&to, key.clone()).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("  validator edge {edge}: not reached ({e}); it will lack the assets");
                continue;
            }
        };
        for file in files {
            z3r0_net::assets::put_asset(client.connection(), file)
                .await
                .with_context(|| format!("uploading to {edge}"))?;
        }
        client.close();
        holding += 1;
    }
    if holding == 0 {
        bail!("no validator edge could be reached to hold the pack's files");
    }
    println!(
        "  assets: {} files ({:.1} KiB) on {holding} of {} validators",
        files.len(),
        bytes as f64 / 1024.0,
        edges.len()
    );
    Ok(())
}

/// Publications started over at most before the command gives up.
const MAX_ATTEMPTS: u32 = 4;

/// Sends every part in order and waits for each to be in a finalized block, then for the
/// activation tick. Returns that tick. The chain takes a manifest's parts only in order, so a
/// part the node refused for a moment (busy, rate-limited) while later ones went on is a lost
/// publication: it starts over from the first part, with a new activation tick (a first part
/// drops what was in progress; the old parts' nonces are below the new ones', so none can
/// land after it).
async fn send_parts(mut client: EdgeClient, manifest: &[u8], lead_ticks: u64) -> Result<u64> {
    wait_for_tick(&mut client).await?;
    let blocks_needed = manifest.len().div_ceil(z3r0_sim::content::PART_BYTES * 4) as u64;
    let mut attempts = 0;
    let at = 'attempt: loop {
        attempts += 1;
        if attempts > MAX_ATTEMPTS {
            bail!("the publication was started over {MAX_ATTEMPTS} times; giving up");
        }
        let at = client.chain_tick() + blocks_needed * 2 + 20 + lead_ticks;
        let Some(parts) = ContentPart::split(manifest, at) else {
            bail!(
                "the manifest has {} bytes; at most {} can be published",
                manifest.len(),
                z3r0_sim::content::MAX_PUBLISHED_BYTES
            );
        };
        let total = parts.len();
        let (mut next, mut done) = (0, 0);
        let mut pending = BTreeMap::new();
        let mut progress = Instant::now();
        while done < total {
            while pending.len() < WINDOW && next < total {
                let payload = Action::PublishContent(parts[next].clone()).encode_to_vec();
                let signed = client.send_action(client.chain_tick(), payload)?;
                pending.insert(signed.action.nonce, (signed, Instant::now()));
                next += 1;
            }
            if progress.elapsed() > STALLED {
                bail!("no part was included for {} s", STALLED.as_secs());
            }
            // A part not heard of for a while is sent again, same nonce: the node's answer
            // says whether it is in a block, on its way, or lost.
            for (signed, sent) in pending.values_mut() {
                if sent.elapsed() > RESEND {
                    client.send_signed(signed)?;
                    *sent = Instant::now();
                }
            }
            let Ok(event) = tokio::time::timeout(RESEND, client.next_event()).await else {
                continue;
            };
            match heard(event?, &mut pending)? {
                Heard::Included(0) | Heard::Nothing => {}
                Heard::Included(n) => {
                    done += n;
                    progress = Instant::now();
                    println!("  parts {done}/{total} in finalized blocks");
                }
                Heard::StartOver(why) => {
                    println!("  {why}: starting over from the first part");
                    continue 'attempt;
                }
            }
        }
        break at;
    };
    println!("  scheduled for tick {at}");
    while client.chain_tick() < at {
        tokio::time::timeout(STALLED, client.next_event())
            .await
            .context("the chain stopped before the activation tick")??;
    }
    client.close();
    Ok(at)
}

/// What an event means for the parts in flight (`pending`, by nonce).
#[derive(Debug, PartialEq, Eq)]
enum Heard {
    /// This many pending parts are in a finalized block.
    Included(usize),
    /// A pending part was refused for a moment, or came to the chain out of order: the
    /// parts after it cannot be taken.
    StartOver(String),
    Nothing,
}

/// Reads `event` for the pending parts; a part the rules refused for a lasting reason (not
/// the publisher, the manifest breaks the rules) ends the publication with the chain's reason.
/// Outcomes of nonces not pending (an earlier attempt's parts) are ignored.
fn heard<V>(event: ClientEvent, pending: &mut BTreeMap<u64, V>) -> Result<Heard> {
    match event {
        ClientEvent::Included(block) => {
            let ours = block
                .rejections
                .iter()
                .find(|r| r.nonce.is_some_and(|n| pending.contains_key(&n)));
            if let Some(r) = ours {
                let reason = Reason::from_code(r.reason);
                let why = reason.map_or("unknown reason", Reason::message);
                if reason == Some(Reason::PartOutOfOrder) {
                    return Ok(Heard::StartOver(format!(
                        "a part was refused in block {}: {why}",
                        block.height
                    )));
                }
                bail!("a part was refused in block {}: {why}", block.height);
            }
            Ok(Heard::Included(
                block
                    .nonces
                    .iter()
                    .filter(|n| pending.remove(n).is_some())
                    .count(),
            ))
        }
        // A copy sent again while the part is in the mempool, or already in a block: its
        // receipt is on its way.
        ClientEvent::Refused {
            kind: RejectionKind::Duplicate | RejectionKind::Replay,
            ..
        } => Ok(Heard::Nothing),
        ClientEvent::Refused { nonce, kind } if pending.contains_key(&nonce) => {
            if transient(kind) {
                Ok(Heard::StartOver(format!(
                    "the node refused a part for now ({})",
                    kind.message()
                )))
            } else {
                bail!("the node refused part nonce {nonce}: {}", kind.message())
            }
        }
        _ => Ok(Heard::Nothing),
    }
}

fn transient(kind: RejectionKind) -> bool {
    matches!(
        kind,
        RejectionKind::PlayerRateLimited
            | RejectionKind::PeerRateLimited
            | RejectionKind::PlayerBacklog
            | RejectionKind::SourceBacklog
            | RejectionKind::Full
            // Left out of blocks until its tick passed: lost, as the parts after it.
            | RejectionKind::Expired
    )
}

/// Waits for the first header or snapshot, so the client knows the chain's tick.
async fn wait_for_tick(client: &mut EdgeClient) -> Result<()> {
    let deadline = Instant::now() + STALLED;
    while client.chain_tick() == 0 {
        if Instant::now() > deadline {
            bail!("the edge sent nothing for {} s", STALLED.as_secs());
        }
        tokio::time::timeout(STALLED, client.next_event())
            .await
            .context("no event from the edge")??;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Heard, heard};
    use std::collections::BTreeMap;
    use z3r0_net::{ClientEvent, RejectionKind};
    use z3r0_net::{Included, RuleRejection};
    use z3r0_sim::{Action, Reason};

    fn in_flight(nonces: &[u64]) -> BTreeMap<u64, ()> {
        nonces.iter().map(|&n| (n, ())).collect()
    }

    fn block(nonces: &[u64], refused: &[(u64, Reason)]) -> ClientEvent {
        ClientEvent::Included(Included {
            height: 7,
            tick: 7,
            nonces: nonces.to_vec(),
            rejections: refused
                .iter()
                .map(|&(nonce, reason)| RuleRejection {
                    action: Action::kind(&Action::Join),
                    reason: reason as u8,
                    nonce: Some(nonce),
                })
                .collect(),
        })
    }

    #[test]
    fn a_part_refused_for_a_moment_starts_the_publication_over() {
        // Found on a devnet: part 1 was rate-limited, part 2 went on and the chain refused it
        // as out of order, which ended the publication.
        let mut pending = in_flight(&[1, 2, 3]);
        let busy = ClientEvent::Refused {
            nonce: 1,
            kind: RejectionKind::PlayerRateLimited,
        };
        assert!(matches!(
            heard(busy, &mut pending).unwrap(),
            Heard::StartOver(_)
        ));
        let dropped = ClientEvent::Refused {
            nonce: 3,
            kind: RejectionKind::Expired,
        };
        assert!(matches!(
            heard(dropped, &mut pending).unwrap(),
            Heard::StartOver(_)
        ));
        let out_of_order = block(&[2], &[(2, Reason::PartOutOfOrder)]);
        assert!(matches!(
            heard(out_of_order, &mut pending).unwrap(),
            Heard::StartOver(_)
        ));
    }

    #[test]
    fn parts_in_blocks_are_counted_and_old_attempts_ignored() {
        let mut pending = in_flight(&[5, 6]);
        // An earlier attempt's part refused (its nonce is not in flight any more).
        let old = block(&[5], &[(2, Reason::PartOutOfOrder)]);
        assert_eq!(heard(old, &mut pending).unwrap(), Heard::Included(1));
        let copy = ClientEvent::Refused {
            nonce: 6,
            kind: RejectionKind::Duplicate,
        };
        assert_eq!(heard(copy, &mut pending).unwrap(), Heard::Nothing);
        let in_a_block = ClientEvent::Refused {
            nonce: 6,
            kind: RejectionKind::Replay,
        };
        assert_eq!(heard(in_a_block, &mut pending).unwrap(), Heard::Nothing);
        assert_eq!(
            heard(block(&[6], &[]), &mut pending).unwrap(),
            Heard::Included(1)
        );
        assert!(pending.is_empty());
    }

    #[test]
    fn a_lasting_refusal_ends_the_publication_with_the_chains_reason() {
        let mut pending = in_flight(&[1]);
        let err = heard(block(&[1], &[(1, Reason::NotPublisher)]), &mut pending).unwrap_err();
        assert!(
            err.to_string().contains(Reason::NotPublisher.message()),
            "{err}"
        );
    }
}
