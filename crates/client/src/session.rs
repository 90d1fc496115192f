//! Session keys: an account delegates its actions to a session key for a while, so the account
//! key is needed only to start a session, not to sign every input (it can stay offline, in a
//! wallet or on another device). The chain records the delegation (`Action::Delegate`); the
//! node says which account a connection plays as in its `Welcome`.

use std::time::{Duration, Instant};

use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use z3r0_net::ClientConfig;
use z3r0_net::NetError;
use z3r0_sim::Action;

use crate::Game;

/// Why a session could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("the account did not appear in the zone within {0:?}")]
    NotJoined(Duration),
    #[error("the delegation was refused: {0}")]
    Refused(crate::Refusal),
    #[error("no outcome for the delegation within {0:?}")]
    NoOutcome(Duration),
    #[error("the node does not know the session key as the account's after the delegation")]
    NotDelegated,
    #[error("the account key: {0}")]
    AccountKey(String),
}

fn key_bytes(key: &PublicKey) -> [u8; 32] {
    // An ed25519 public key is 32 bytes.
    key.as_ref().try_into().unwrap_or([0; 32])
}

impl Game {
    /// Delegates this account's actions to `session` for `ticks` ticks, joining the zone first
    /// if the account is not in it, and waits until a finalized block applied the delegation.
    /// The session key signs its consent (the rules refuse a delegation without it). Returns
    /// the session's last tick.
    pub async fn delegate(
        &mut self,
        session: &PrivateKey,
        ticks: u64,
        timeout: Duration,
    ) -> Result<u64, SessionError> {
        let deadline = Instant::now() + timeout;
        let tick = Duration::from_millis(u64::from(self.edge().tick_ms.max(1)));
        // Join, and ask again every second until a body shows up (a datagram may be lost).
        let mut asked: Option<Instant> = None;
        while !self.joined() {
            if Instant::now() >= deadline {
                return Err(SessionError::NotJoined(timeout));
            }
            if asked.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                // The first snapshot says whether the account is in the zone already.
                if asked.is_some() || self.stats().snapshots > 0 {
                    self.join()?;
                }
                asked = Some(Instant::now());
            }
            self.wait(tick).await?;
        }
        let until = self.input_tick() + ticks;
        let account = key_bytes(&self.edge().public_key());
        let nonce = self
            .act(&Action::Delegate {
                session: key_bytes(&session.public_key()),
                until,
                consent: z3r0_sim::session_consent(&self.edge().chain, session, &account, until),
            })?
            .action
            .nonce;
        while Instant::now() < deadline {
            self.wait(tick).await?;
            if let Some(outcome) = self.outcomes().iter().find(|o| o.nonce == nonce) {
                return match &outcome.refused {
                    None => Ok(until),
                    Some(reason) => Err(SessionError::Refused(*reason)),
                };
            }
        }
        Err(SessionError::NoOutcome(timeout))
    }

    /// Whether this connection plays through a session key (the node knows it as another
    /// account's).
    pub fn is_session(&self) -> bool {
        self.edge().account() != key_bytes(&self.edge().public_key())
    }
}

/// Connects as the account's session key `session`. When the node does not know it as a
/// session yet (first use, expired, or the account left the zone), `account` is asked for the
/// account key, which delegates to `session` for `ticks` ticks first. A live session therefore
/// never needs the account key.
pub async fn connect_session(
    config: &ClientConfig,
    session: PrivateKey,
    ticks: u64,
    timeout: Duration,
    account: impl FnOnce() -> Result<PrivateKey, String>,
) -> Result<Game, SessionError> {
    let game = Game::connect(config, session.clone()).await?;
    if game.is_session() {
        return Ok(game);
    }
    drop(game);
    let account = account().map_err(SessionError::AccountKey)?;
    let mut owner = Game::connect(config, account).await?;
    owner.delegate(&session, ticks, timeout).await?;
    drop(owner);
    let game = Game::connect(config, session).await?;
    if game.is_session() {
        Ok(game)
    } else {
        Err(SessionError::NotDelegated)
    }
}
