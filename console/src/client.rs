//! The agent's control socket from the console's side.
//!
//! [`Connection`] is one handshaken session: the CLI sends one request and waits for its
//! answer. [`spawn_session`] runs the console's long-lived session: it connects, asks
//! for a subscription, forwards every event and answer as an [`Update`], and when the
//! agent goes away it says so and connects again with capped backoff, forever. Frames
//! are read by their own task, so a read is never cut in half by a `select!`
//! (`read_frame` is not cancel-safe).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::BufReader;
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use plumb_common::Timestamp;
use plumb_common::frame::{FrameError, read_frame, write_frame};
use plumb_common::protocol::{
    ClientMessage, Event, Hello, MAX_FRAME_BYTES, PROTOCOL_VERSION, Request, RequestError,
    RequestErrorKind, Response, ServerMessage, Welcome,
};

/// The socket `plumbd` listens on unless its configuration says otherwise.
pub const DEFAULT_SOCKET: &str = "/run/plumb/plumbd.sock";

/// The first wait before connecting again, doubled after each failure up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// The longest wait between two connection attempts.
const MAX_RETRY: Duration = Duration::from_secs(5);
/// How long the agent has to answer the hello.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why talking to the agent failed (not the agent's answer to a request).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be opened.
    #[error("cannot connect to {path}: {source}")]
    Connect {
        /// The socket.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The agent refused the handshake (protocol version, or it is shutting down).
    #[error("the agent refused the connection: {0}")]
    Refused(String),
    /// The agent did not answer the handshake in time.
    #[error("the agent did not answer the handshake within {0:?}")]
    Timeout(Duration),
    /// The connection broke or the agent sent something unreadable.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The agent closed the connection.
    #[error("the agent closed the connection")]
    Closed,
    /// The agent answered with a message that does not fit the request.
    #[error("unexpected message from the agent: {0}")]
    Unexpected(String),
}

/// A handshaken session with the agent.
#[derive(Debug)]
pub struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    welcome: Welcome,
    next_id: u64,
}

impl Connection {
    /// Connects to `socket` and completes the handshake.
    pub async fn connect(socket: &Path, read_only: bool) -> Result<Connection, ClientError> {
        let stream = UnixStream::connect(socket)
            .await
            .map_err(|source| ClientError::Connect {
                path: socket.to_owned(),
                source,
            })?;
        let (reader, mut writer) = stream.into_split();
        let mut reader = BufReader::new(reader);
        let hello = ClientMessage::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            read_only,
            client: format!("plumb {}", env!("CARGO_PKG_VERSION")),
        });
        write_frame(&mut writer, &hello, MAX_FRAME_BYTES).await?;
        let answer = tokio::time::timeout(
            HANDSHAKE_TIMEOUT,
            read_frame::<_, ServerMessage>(&mut reader, MAX_FRAME_BYTES),
        )
        .await
        .map_err(|_| ClientError::Timeout(HANDSHAKE_TIMEOUT))??;
        match answer {
            Some(ServerMessage::Welcome(welcome)) => Ok(Connection {
                reader,
                writer,
                welcome,
                next_id: 1,
            }),
            Some(ServerMessage::Refused { reason }) => Err(ClientError::Refused(reason)),
            Some(other) => Err(ClientError::Unexpected(format!("{other:?}"))),
            None => Err(ClientError::Closed),
        }
    }

    /// The agent's half of the handshake.
    pub fn welcome(&self) -> &Welcome {
        &self.welcome
    }

    /// Sends one request and waits for its answer, skipping events.
    pub async fn request(
        &mut self,
        request: Request,
    ) -> Result<Result<Response, RequestError>, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let message = ClientMessage::Request { id, request };
        write_frame(&mut self.writer, &message, MAX_FRAME_BYTES).await?;
        loop {
            match read_frame::<_, ServerMessage>(&mut self.reader, MAX_FRAME_BYTES).await? {
                Some(ServerMessage::Response { id: got, result }) if got == id => {
                    return Ok(result);
                }
                Some(ServerMessage::Refused { reason }) => {
                    return Err(ClientError::Refused(reason));
                }
                Some(_) => continue,
                None => return Err(ClientError::Closed),
            }
        }
    }
}

/// Where the console's session stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Trying to connect (attempt 1 is the first).
    Connecting {
        /// Attempts since the last successful connection.
        attempt: u32,
    },
    /// Handshaken and subscribed.
    Connected {
        /// Since when.
        since: Timestamp,
        /// The agent's version.
        agent_version: String,
    },
    /// The last attempt failed or the connection dropped; the next attempt is at
    /// `retry_at`.
    Disconnected {
        /// Why, for the status line.
        reason: String,
        /// When the next attempt starts.
        retry_at: Timestamp,
    },
}

/// What the session task tells the console.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// The connection changed state.
    Connection(ConnectionState),
    /// An event pushed by the agent.
    Event(Event),
    /// The answer to a request the console sent (or a local error when it could not be
    /// sent), with the request, so the console knows what it answers.
    Answer {
        /// What was asked.
        request: Request,
        /// The answer.
        result: Result<Response, RequestError>,
    },
}

/// The console's handle on its session: send requests, receive updates.
#[derive(Debug)]
pub struct Session {
    /// Requests to send; answered through `updates`.
    pub requests: mpsc::Sender<Request>,
    /// Everything the agent and the connection say.
    pub updates: mpsc::Receiver<Update>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the console's reconnecting session with the agent at `socket`.
pub fn spawn_session(socket: PathBuf, read_only: bool) -> Session {
    let (requests, requests_rx) = mpsc::channel(64);
    // Bounded: when the screen falls behind, the reader waits and the agent's own bounded
    // channel turns the backlog into one resync (a slow console never slows the agent).
    let (updates_tx, updates) = mpsc::channel(1024);
    let task = tokio::spawn(run_session(socket, read_only, requests_rx, updates_tx));
    Session {
        requests,
        updates,
        task,
    }
}

/// Not connected: the request is answered locally.
fn unavailable(reason: &str) -> RequestError {
    RequestError {
        kind: RequestErrorKind::Unavailable,
        message: format!("not connected to the agent ({reason})"),
    }
}

async fn run_session(
    socket: PathBuf,
    read_only: bool,
    mut requests: mpsc::Receiver<Request>,
    updates: mpsc::Sender<Update>,
) {
    let mut attempt = 0u32;
    let mut wait = FIRST_RETRY;
    loop {
        attempt += 1;
        if updates
            .send(Update::Connection(ConnectionState::Connecting { attempt }))
            .await
            .is_err()
        {
            return;
        }
        let reason = match Connection::connect(&socket, read_only).await {
            Ok(connection) => {
                tracing::info!(socket = %socket.display(), "connected to the agent");
                attempt = 0;
                wait = FIRST_RETRY;
                let state = ConnectionState::Connected {
                    since: Timestamp::now(),
                    agent_version: connection.welcome.agent_version.clone(),
                };
                if updates.send(Update::Connection(state)).await.is_err() {
                    return;
                }
                match serve(connection, &mut requests, &updates).await {
                    Ok(Served::ConsoleGone) => return,
                    Ok(Served::AgentGone) => "the agent closed the connection".to_owned(),
                    Err(error) => error.to_string(),
                }
            }
            Err(error) => error.to_string(),
        };
        tracing::info!(socket = %socket.display(), %reason, "not connected to the agent");
        let retry_at = Timestamp::now().plus(wait);
        let state = ConnectionState::Disconnected {
            reason: reason.clone(),
            retry_at,
        };
        if updates.send(Update::Connection(state)).await.is_err() {
            return;
        }
        // Requests made while disconnected are answered at once, not queued for later:
        // a retry pressed during an outage must not fire minutes afterwards.
        let sleep = tokio::time::sleep(wait);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                request = requests.recv() => {
                    let Some(request) = request else { return };
                    let result = Err(unavailable(&reason));
                    if updates.send(Update::Answer { request, result }).await.is_err() {
                        return;
                    }
                }
            }
        }
        wait = (wait * 2).min(MAX_RETRY);
    }
}

enum Served {
    /// The console dropped its session.
    ConsoleGone,
    /// The agent closed the connection cleanly.
    AgentGone,
}

async fn serve(
    connection: Connection,
    requests: &mut mpsc::Receiver<Request>,
    updates: &mpsc::Sender<Update>,
) -> Result<Served, ClientError> {
    let Connection {
        mut reader,
        mut writer,
        mut next_id,
        ..
    } = connection;
    let (frames_tx, mut frames) = mpsc::channel(1);
    let read_task = tokio::spawn(async move {
        loop {
            let frame = read_frame::<_, ServerMessage>(&mut reader, MAX_FRAME_BYTES).await;
            let last = !matches!(frame, Ok(Some(_)));
            if frames_tx.send(frame).await.is_err() || last {
                return;
            }
        }
    });
    let mut pending: HashMap<u64, Request> = HashMap::new();
    let subscribe = ClientMessage::Request {
        id: next_id,
        request: Request::Subscribe,
    };
    pending.insert(next_id, Request::Subscribe);
    next_id += 1;
    let mut result = write_frame(&mut writer, &subscribe, MAX_FRAME_BYTES)
        .await
        .map(|()| Served::AgentGone)
        .map_err(ClientError::from);
    while result.is_ok() {
        tokio::select! {
            request = requests.recv() => {
                let Some(request) = request else {
                    result = Ok(Served::ConsoleGone);
                    break;
                };
                let id = next_id;
                next_id += 1;
                pending.insert(id, request.clone());
                let message = ClientMessage::Request { id, request };
                if let Err(error) = write_frame(&mut writer, &message, MAX_FRAME_BYTES).await {
                    result = Err(error.into());
                }
            }
            frame = frames.recv() => {
                let update = match frame {
                    Some(Ok(Some(ServerMessage::Event(event)))) => Update::Event(event),
                    Some(Ok(Some(ServerMessage::Response { id, result }))) => {
                        let Some(request) = pending.remove(&id) else { continue };
                        Update::Answer { request, result }
                    }
                    Some(Ok(Some(ServerMessage::Refused { reason }))) => {
                        result = Err(ClientError::Refused(reason));
                        break;
                    }
                    Some(Ok(Some(ServerMessage::Welcome(_)))) => continue,
                    None | Some(Ok(None)) => break,
                    Some(Err(error)) => {
                        result = Err(error.into());
                        break;
                    }
                };
                if updates.send(update).await.is_err() {
                    result = Ok(Served::ConsoleGone);
                    break;
                }
            }
        }
    }
    read_task.abort();
    // Whatever was in flight will never be answered by this connection.
    for (_, request) in pending {
        let result = Err(unavailable("the connection dropped before the answer"));
        let _ = updates.try_send(Update::Answer { request, result });
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_socket_is_reported_and_retried() {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("none.sock");
        let mut session = spawn_session(socket.clone(), true);
        let first = session.updates.recv().await;
        assert_eq!(
            first,
            Some(Update::Connection(ConnectionState::Connecting {
                attempt: 1
            }))
        );
        match session.updates.recv().await {
            Some(Update::Connection(ConnectionState::Disconnected { reason, .. })) => {
                assert!(reason.contains("cannot connect"), "{reason}");
            }
            other => panic!("expected a disconnection, got {other:?}"),
        }
        // A request while disconnected is answered at once, locally.
        session
            .requests
            .send(Request::Status)
            .await
            .expect("session alive");
        match session.updates.recv().await {
            Some(Update::Answer { request, result }) => {
                assert_eq!(request, Request::Status);
                assert_eq!(
                    result.err().map(|e| e.kind),
                    Some(RequestErrorKind::Unavailable)
                );
            }
            other => panic!("expected a local answer, got {other:?}"),
        }
        let again = session.updates.recv().await;
        assert_eq!(
            again,
            Some(Update::Connection(ConnectionState::Connecting {
                attempt: 2
            }))
        );
    }
}
