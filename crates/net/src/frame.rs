//! Framing of the reliable streams: each frame is a varint length (at most four bytes) and a
//! body of at most [`MAX_FRAME`] bytes. Shared by both ends of a session.

use crate::NetError;
use crate::proto::MAX_FRAME;

/// Reads one length-prefixed frame (at most `MAX_FRAME` bytes).
pub async fn read_frame(recv: &mut quinn::RecvStream) -> Result<Option<Vec<u8>>, NetError> {
    let mut len = 0u64;
    for i in 0..4 {
        let mut b = [0u8; 1];
        match recv.read_exact(&mut b).await {
            Ok(()) => {}
            Err(quinn::ReadExactError::FinishedEarly(0)) if i == 0 => return Ok(None),
            Err(e) => return Err(NetError::Stream(e.to_string())),
        }
        len |= u64::from(b[0] & 0x7f) << (7 * i);
        if b[0] & 0x80 == 0 {
            if len as usize > MAX_FRAME {
                return Err(NetError::Protocol(format!(
                    "frame of {len} bytes exceeds {MAX_FRAME}"
                )));
            }
            let mut body = vec![0u8; len as usize];
            recv.read_exact(&mut body)
                .await
                .map_err(|e| NetError::Stream(e.to_string()))?;
            return Ok(Some(body));
        }
    }
    Err(NetError::Protocol("frame length too long".into()))
}

/// Writes one length-prefixed frame.
pub async fn write_frame(send: &mut quinn::SendStream, body: &[u8]) -> Result<(), NetError> {
    let mut w = crate::wire::Writer::new();
    w.varint(body.len() as u64);
    w.bytes(body);
    send.write_all(&w.buf)
        .await
        .map_err(|e| NetError::Stream(e.to_string()))
}
