//! Framing: each message is a 4-byte big-endian length, then that many bytes of JSON.
//!
//! The length is checked against a cap before anything is allocated, so an oversized or
//! garbage frame costs the reader four bytes and an error, never memory.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer announced or we tried to send more than the cap.
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// The announced length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The bytes are not a message of the expected type.
    #[error("malformed frame: {0}")]
    Malformed(#[source] serde_json::Error),
    /// The stream ended inside a frame.
    #[error("connection closed mid-frame")]
    Truncated,
    /// The stream failed.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads one message; `Ok(None)` when the peer closed cleanly between frames.
pub async fn read_frame<R, T>(reader: &mut R, max: usize) -> Result<Option<T>, FrameError>
where
    R: AsyncRead + Unpin,
    T: DeserializeOwned,
{
    let mut header = [0u8; 4];
    match reader.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    // u32 always fits in usize on the 32- and 64-bit targets we build for.
    let len = u32::from_be_bytes(header) as usize;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            FrameError::Truncated
        } else {
            FrameError::Io(e)
        }
    })?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(FrameError::Malformed)
}

/// Encodes one message as a frame, ready to write.
pub fn encode_frame<T: Serialize>(message: &T, max: usize) -> Result<Vec<u8>, FrameError> {
    let mut buf = vec![0u8; 4];
    serde_json::to_writer(&mut buf, message).map_err(FrameError::Malformed)?;
    let len = buf.len() - 4;
    let header = u32::try_from(len)
        .ok()
        .filter(|_| len <= max)
        .ok_or(FrameError::TooLarge { len, max })?;
    buf[..4].copy_from_slice(&header.to_be_bytes());
    Ok(buf)
}

/// Writes one message and flushes.
pub async fn write_frame<W, T>(writer: &mut W, message: &T, max: usize) -> Result<(), FrameError>
where
    W: AsyncWrite + Unpin,
    T: Serialize,
{
    let buf = encode_frame(message, max)?;
    writer.write_all(&buf).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientMessage, Request};

    #[tokio::test]
    async fn round_trips_and_reports_clean_eof() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let message = ClientMessage::Request {
            id: 1,
            request: Request::Status,
        };
        write_frame(&mut a, &message, 1024).await.expect("write");
        drop(a);
        let got: Option<ClientMessage> = read_frame(&mut b, 1024).await.expect("read");
        assert_eq!(got, Some(message));
        let end: Option<ClientMessage> = read_frame(&mut b, 1024).await.expect("eof");
        assert_eq!(end, None);
    }

    #[tokio::test]
    async fn refuses_oversized_before_allocating() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&u32::MAX.to_be_bytes()).await.expect("write");
        let got = read_frame::<_, ClientMessage>(&mut b, 1024).await;
        assert!(
            matches!(got, Err(FrameError::TooLarge { len, max: 1024 }) if len == u32::MAX as usize)
        );
    }

    #[tokio::test]
    async fn reports_malformed_and_truncated() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&3u32.to_be_bytes()).await.expect("write");
        a.write_all(b"{x}").await.expect("write");
        a.write_all(&10u32.to_be_bytes()).await.expect("write");
        a.write_all(b"{}").await.expect("write");
        drop(a);
        let bad = read_frame::<_, ClientMessage>(&mut b, 1024).await;
        assert!(matches!(bad, Err(FrameError::Malformed(_))));
        let cut = read_frame::<_, ClientMessage>(&mut b, 1024).await;
        assert!(matches!(cut, Err(FrameError::Truncated)));
    }

    #[test]
    fn refuses_to_encode_oversized() {
        let big = "x".repeat(100);
        assert!(matches!(
            encode_frame(&big, 50),
            Err(FrameError::TooLarge { max: 50, .. })
        ));
    }
}
