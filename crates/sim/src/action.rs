//! Player action payloads: what the chain carries, opaque to it, decoded here. Canonical
//! encoding (commonware-codec); decoding never panics and rejects anything non-canonical.

use crate::content::ContentPart;
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};
use z3r0_voxel::{BlockId, VoxelPos};

/// A player's account: their ed25519 public key.
pub type PlayerKey = [u8; 32];

/// Input flags.
pub mod flags {
    pub const JUMP: u8 = 1;
    pub const SPRINT: u8 = 2;
    pub const CROUCH: u8 = 4;
    pub const ALL: u8 = JUMP | SPRINT | CROUCH;
}

/// Largest pitch magnitude: straight up or down (a quarter turn).
pub const MAX_PITCH: i16 = 16_384;

/// One tick of a player's controls. Movement intent is relative to the view: `forward` and
/// `strafe` in -127..=127, and together no longer than 127 (a full stick).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InputFrame {
    pub forward: i8,
    pub strafe: i8,
    /// Heading in turn units (65536 = 360°); 0 faces +z, a quarter turn faces +x.
    pub yaw: u16,
    pub pitch: i16,
    pub flags: u8,
}

impl InputFrame {
    /// Whether the move intent stays within a full stick (the rules refuse it otherwise).
    pub fn within_stick(&self) -> bool {
        let (f, s) = (i64::from(self.forward), i64::from(self.strafe));
        f * f + s * s <= 127 * 127
    }
}

/// What a player asks for in one signed action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Join,
    Leave,
    Input(InputFrame),
    Break(VoxelPos),
    Place(VoxelPos, BlockId),
    /// Claim the chunk column (chunk x, chunk z).
    Claim(i32, i32),
    Release(i32, i32),
    Grant(i32, i32, PlayerKey),
    Revoke(i32, i32, PlayerKey),
    /// Let `session` sign this account's actions through tick `until` (see
    /// [`crate::Session`]). Only the account key may delegate, and only to a key that
    /// consents: `consent` is the session key's signature over [`session_consent_message`],
    /// so nobody can bind someone else's key to their account.
    Delegate {
        session: PlayerKey,
        until: u64,
        consent: [u8; 64],
    },
    /// A part of a content manifest, from the genesis's publisher (see [`crate::content`]).
    PublishContent(ContentPart),
    /// An action of the game's plugin number `plugin` (see [`crate::plugin`]): its `kind` and
    /// `payload` (at most [`crate::plugin::MAX_PLUGIN_PAYLOAD`] bytes) are the plugin's.
    Plugin {
        plugin: u8,
        kind: u8,
        payload: Vec<u8>,
    },
}

impl Action {
    /// Short kind code, recorded in rejection receipts.
    pub fn kind(&self) -> u8 {
        match self {
            Action::Join => 0,
            Action::Leave => 1,
            Action::Input(_) => 2,
            Action::Break(_) => 3,
            Action::Place(..) => 4,
            Action::Claim(..) => 5,
            Action::Release(..) => 6,
            Action::Grant(..) => 7,
            Action::Revoke(..) => 8,
            Action::Delegate { .. } => 9,
            Action::PublishContent(_) => 10,
            Action::Plugin { .. } => 11,
        }
    }

    /// The name of a kind code (`"?"` for an unknown one), for logs and explorers.
    pub fn kind_name(kind: u8) -> &'static str {
        const NAMES: [&str; 12] = [
            "join", "leave", "input", "break", "place", "claim", "release", "grant", "revoke",
            "delegate", "publish", "plugin",
        ];
        NAMES.get(usize::from(kind)).copied().unwrap_or("?")
    }

    /// Decodes a whole payload: trailing bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        commonware_codec::Decode::decode_cfg(commonware_codec::Copying(bytes), &())
    }

    pub fn encode_to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encode_size());
        self.write(&mut out);
        out
    }
}

fn write_pos(p: &VoxelPos, buf: &mut impl BufMut) {
    buf.put_i32(p.x);
    buf.put_i32(p.y);
    buf.put_i32(p.z);
}

fn read_pos(buf: &mut impl Buf) -> Result<VoxelPos, CodecError> {
    Ok(VoxelPos::new(
        i32::read(buf)?,
        i32::read(buf)?,
        i32::read(buf)?,
    ))
}

impl Write for Action {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_u8(self.kind());
        match self {
            Action::Join | Action::Leave => {}
            Action::Input(f) => {
                buf.put_i8(f.forward);
                buf.put_i8(f.strafe);
                buf.put_u16(f.yaw);
                buf.put_i16(f.pitch);
                buf.put_u8(f.flags);
            }
            Action::Break(p) => write_pos(p, buf),
            Action::Place(p, b) => {
                write_pos(p, buf);
                buf.put_u16(*b);
            }
            Action::Claim(x, z) | Action::Release(x, z) => {
                buf.put_i32(*x);
                buf.put_i32(*z);
            }
            Action::Grant(x, z, k) | Action::Revoke(x, z, k) => {
                buf.put_i32(*x);
                buf.put_i32(*z);
                buf.put_slice(k);
            }
            Action::Delegate {
                session,
                until,
                consent,
            } => {
                buf.put_slice(session);
                buf.put_u64(*until);
                buf.put_slice(consent);
            }
            Action::PublishContent(part) => part.write(buf),
            Action::Plugin {
                plugin,
                kind,
                payload,
            } => {
                buf.put_u8(*plugin);
                buf.put_u8(*kind);
                // At most MAX_PLUGIN_PAYLOAD (< 256), checked when read.
                buf.put_u8(payload.len() as u8);
                buf.put_slice(payload);
            }
        }
    }
}

impl EncodeSize for Action {
    fn encode_size(&self) -> usize {
        1 + match self {
            Action::Join | Action::Leave => 0,
            Action::Input(_) => 7,
            Action::Break(_) => 12,
            Action::Place(..) => 14,
            Action::Claim(..) | Action::Release(..) => 8,
            Action::Grant(..) | Action::Revoke(..) => 40,
            Action::Delegate { .. } => 104,
            Action::PublishContent(part) => part.encode_size(),
            Action::Plugin { payload, .. } => 3 + payload.len(),
        }
    }
}

impl Read for Action {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let tag = u8::read(buf)?;
        let key = |buf: &mut _| -> Result<PlayerKey, CodecError> { <[u8; 32]>::read(buf) };
        Ok(match tag {
            0 => Action::Join,
            1 => Action::Leave,
            2 => {
                let f = InputFrame {
                    forward: i8::read(buf)?,
                    strafe: i8::read(buf)?,
                    yaw: u16::read(buf)?,
                    pitch: i16::read(buf)?,
                    flags: u8::read(buf)?,
                };
                if f.flags & !flags::ALL != 0 {
                    return Err(CodecError::Invalid("InputFrame", "unknown flag bits"));
                }
                if f.pitch.unsigned_abs() > MAX_PITCH as u16 {
                    return Err(CodecError::Invalid("InputFrame", "pitch beyond vertical"));
                }
                Action::Input(f)
            }
            3 => Action::Break(read_pos(buf)?),
            4 => Action::Place(read_pos(buf)?, u16::read(buf)?),
            5 => Action::Claim(i32::read(buf)?, i32::read(buf)?),
            6 => Action::Release(i32::read(buf)?, i32::read(buf)?),
            7 => Action::Grant(i32::read(buf)?, i32::read(buf)?, key(buf)?),
            8 => Action::Revoke(i32::read(buf)?, i32::read(buf)?, key(buf)?),
            9 => Action::Delegate {
                session: key(buf)?,
                until: u64::read(buf)?,
                consent: <[u8; 64]>::read(buf)?,
            },
            10 => Action::PublishContent(ContentPart::read(buf)?),
            11 => {
                let (plugin, kind) = (u8::read(buf)?, u8::read(buf)?);
                let len = usize::from(u8::read(buf)?);
                if len > crate::plugin::MAX_PLUGIN_PAYLOAD || buf.remaining() < len {
                    return Err(CodecError::Invalid("Action", "plugin payload length"));
                }
                let mut payload = vec![0u8; len];
                buf.copy_to_slice(&mut payload);
                Action::Plugin {
                    plugin,
                    kind,
                    payload,
                }
            }
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}

/// Domain of a session key's consent signature; the namespace is the chain's
/// ([`z3r0_chain::ChainId::namespace`]), so a consent holds on one genesis only.
pub const SESSION_NAMESPACE: &[u8] = b"z3r0/session/v1";

/// What a session key signs to consent to acting for `account` through tick `until`.
pub fn session_consent_message(account: &PlayerKey, until: u64) -> [u8; 40] {
    let mut message = [0u8; 40];
    message[..32].copy_from_slice(account);
    message[32..].copy_from_slice(&until.to_be_bytes());
    message
}

/// The session key's consent to act for `account` through tick `until`.
pub fn session_consent(
    chain: &z3r0_chain::ChainId,
    session: &commonware_cryptography::ed25519::PrivateKey,
    account: &PlayerKey,
    until: u64,
) -> [u8; 64] {
    use commonware_codec::Encode as _;
    use commonware_cryptography::Signer as _;
    let signature = session.sign(
        &chain.namespace(SESSION_NAMESPACE),
        &session_consent_message(account, until),
    );
    signature.encode().as_ref().try_into().unwrap_or([0; 64])
}

/// Whether `consent` is `session`'s signature for acting for `account` through `until`
/// (ZIP-215 rules, as every validator checks them alike).
pub fn session_consents(
    chain: &z3r0_chain::ChainId,
    session: &PlayerKey,
    account: &PlayerKey,
    until: u64,
    consent: &[u8; 64],
) -> bool {
    use commonware_codec::DecodeExt as _;
    use commonware_cryptography::Verifier as _;
    use commonware_cryptography::ed25519::{PublicKey, Signature};
    let (Ok(key), Ok(signature)) = (
        PublicKey::decode(commonware_codec::Copying(&session[..])),
        Signature::decode(commonware_codec::Copying(&consent[..])),
    ) else {
        return false;
    };
    key.verify(
        &chain.namespace(SESSION_NAMESPACE),
        &session_consent_message(account, until),
        &signature,
    )
}
