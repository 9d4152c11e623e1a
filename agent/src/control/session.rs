//! One client connection: handshake, then requests and (after subscribe) events.
//!
//! Events reach the session through a bounded broadcast channel. A client that reads
//! slowly makes only its own receiver lag: the agent never waits for it and never buffers
//! more than the channel holds. When the receiver has lagged, the client gets one
//! [`Event::Resync`] with a fresh snapshot in place of everything it missed.

use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{broadcast, watch};

use plumb_common::FlowKind;
use plumb_common::frame::{FrameError, encode_frame, read_frame};
use plumb_common::protocol::{
    ClientMessage, Event, MAX_FRAME_BYTES, PROTOCOL_VERSION, Request, RequestError,
    RequestErrorKind, Response, RunScope, RunState, RunTrigger, ServerMessage, Welcome,
};

use super::ControlContext;
use crate::shutdown::Shutdown;
use crate::store::{EnqueueOptions, NewJob, StoreError};
use crate::work::Work;

/// How long a client has to say hello.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one write may block before the client is considered stuck and dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often subscribers get fresh statistics.
const STATS_PERIOD: Duration = Duration::from_secs(1);

/// Tells a client why it cannot stay, then closes.
pub async fn refuse(stream: UnixStream, reason: &str) {
    let (_, mut writer) = stream.into_split();
    let message = ServerMessage::Refused {
        reason: reason.to_owned(),
    };
    let _ = send(&mut writer, &message).await;
}

async fn send(writer: &mut OwnedWriteHalf, message: &ServerMessage) -> Result<(), FrameError> {
    let bytes = encode_frame(message, MAX_FRAME_BYTES)?;
    tokio::time::timeout(WRITE_TIMEOUT, writer.write_all(&bytes))
        .await
        .map_err(|_| FrameError::Io(std::io::ErrorKind::TimedOut.into()))??;
    Ok(())
}

/// Serves one client until it leaves, misbehaves or the agent shuts down. `changed` is
/// shared by every session: bumped after a mutation, it makes each subscriber send fresh
/// statistics at once (a flow paused from one console shows in the others without
/// waiting for the next period).
pub async fn run(
    stream: UnixStream,
    context: ControlContext,
    changed: watch::Sender<u64>,
    shutdown: Shutdown,
    uid: u32,
    pid: Option<i32>,
) {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let hello = match tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        read_frame::<_, ClientMessage>(&mut reader, MAX_FRAME_BYTES),
    )
    .await
    {
        Ok(Ok(Some(ClientMessage::Hello(hello)))) => hello,
        Ok(Ok(None)) => return,
        Ok(Ok(Some(ClientMessage::Request { .. }))) => {
            let _ = send(
                &mut writer,
                &ServerMessage::Refused {
                    reason: "expected a hello first".into(),
                },
            )
            .await;
            return;
        }
        Ok(Err(error)) => {
            tracing::warn!(uid, pid, %error, "control client sent a bad handshake");
            let _ = send(
                &mut writer,
                &ServerMessage::Refused {
                    reason: error.to_string(),
                },
            )
            .await;
            return;
        }
        Err(_) => {
            tracing::warn!(uid, pid, "control client said nothing; closed");
            return;
        }
    };
    if hello.protocol != PROTOCOL_VERSION {
        tracing::warn!(uid, pid, client = %hello.client, theirs = hello.protocol, ours = PROTOCOL_VERSION, "control client speaks another protocol version");
        let reason = format!(
            "protocol version mismatch: the agent speaks {PROTOCOL_VERSION}, the client {}; use a plumb from the same release as plumbd",
            hello.protocol
        );
        let _ = send(&mut writer, &ServerMessage::Refused { reason }).await;
        return;
    }
    let welcome = ServerMessage::Welcome(Welcome {
        protocol: PROTOCOL_VERSION,
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        read_only: hello.read_only,
    });
    if send(&mut writer, &welcome).await.is_err() {
        return;
    }
    tracing::info!(uid, pid, client = %hello.client, read_only = hello.read_only, "control client connected");
    let mut session = Session {
        context,
        read_only: hello.read_only,
        events: None,
        changes: changed.subscribe(),
        changed,
    };
    match session.serve(reader, &mut writer, shutdown).await {
        Ok(()) => tracing::info!(uid, pid, "control client left"),
        Err(error) => tracing::warn!(uid, pid, %error, "control client dropped"),
    }
}

struct Session {
    context: ControlContext,
    read_only: bool,
    events: Option<broadcast::Receiver<Event>>,
    /// Bumped after a mutation by any session.
    changed: watch::Sender<u64>,
    changes: watch::Receiver<u64>,
}

impl Session {
    async fn serve(
        &mut self,
        mut reader: BufReader<OwnedReadHalf>,
        writer: &mut OwnedWriteHalf,
        mut shutdown: Shutdown,
    ) -> Result<(), FrameError> {
        // Frames are read by their own task: a read interrupted by another branch of the
        // select below would lose the bytes it had consumed (read_exact is not
        // cancel-safe). One frame of look-ahead is enough.
        let (frames_tx, mut frames) = tokio::sync::mpsc::channel(1);
        let read_task = tokio::spawn(async move {
            loop {
                let frame = read_frame::<_, ClientMessage>(&mut reader, MAX_FRAME_BYTES).await;
                let last = !matches!(frame, Ok(Some(_)));
                if frames_tx.send(frame).await.is_err() || last {
                    return;
                }
            }
        });
        let result = self.serve_frames(&mut frames, writer, &mut shutdown).await;
        read_task.abort();
        result
    }

    async fn serve_frames(
        &mut self,
        frames: &mut tokio::sync::mpsc::Receiver<Result<Option<ClientMessage>, FrameError>>,
        writer: &mut OwnedWriteHalf,
        shutdown: &mut Shutdown,
    ) -> Result<(), FrameError> {
        let mut stats = tokio::time::interval(STATS_PERIOD);
        loop {
            tokio::select! {
                frame = frames.recv() => {
                    let message = match frame {
                        Some(Ok(Some(message))) => message,
                        None | Some(Ok(None)) => return Ok(()),
                        Some(Err(error)) => {
                            // Tell the client what was wrong before closing: the frame
                            // boundary cannot be trusted any more.
                            let _ = send(writer, &ServerMessage::Refused { reason: error.to_string() }).await;
                            return Err(error);
                        }
                    };
                    let ClientMessage::Request { id, request } = message else {
                        let reason = "hello was already received".to_owned();
                        send(writer, &ServerMessage::Refused { reason }).await?;
                        return Ok(());
                    };
                    let mutation = request.is_mutation();
                    let result = self.handle(request).await;
                    let changed = mutation && result.is_ok();
                    send(writer, &ServerMessage::Response { id, result }).await?;
                    if changed {
                        self.changed.send_modify(|n| *n = n.wrapping_add(1));
                    }
                }
                event = recv(&mut self.events) => {
                    let message = match event {
                        Ok(event) => ServerMessage::Event(event),
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::debug!(missed, "subscriber lagged; sending a resync");
                            ServerMessage::Event(Event::Resync(self.snapshot()))
                        }
                        Err(broadcast::error::RecvError::Closed) => return Ok(()),
                    };
                    send(writer, &message).await?;
                }
                Ok(()) = self.changes.changed(), if self.events.is_some() => {
                    send(writer, &ServerMessage::Event(Event::Stats(self.snapshot()))).await?;
                }
                _ = stats.tick(), if self.events.is_some() => {
                    send(writer, &ServerMessage::Event(Event::Stats(self.snapshot()))).await?;
                }
                () = shutdown.wait() => return Ok(()),
            }
        }
    }

    fn snapshot(&self) -> plumb_common::protocol::StatusSnapshot {
        self.context.store.status(self.context.clock.now())
    }

    async fn handle(&mut self, request: Request) -> Result<Response, RequestError> {
        if self.read_only && request.is_mutation() {
            return Err(RequestError {
                kind: RequestErrorKind::ReadOnly,
                message: "this session is read-only".into(),
            });
        }
        let store = &self.context.store;
        let now = self.context.clock.now();
        let response = match request {
            Request::Status => Response::Status(self.snapshot()),
            Request::Subscribe => {
                self.events = Some(store.subscribe());
                Response::Status(self.snapshot())
            }
            Request::ListJobs(query) => Response::Jobs(store.list_jobs(query).await?),
            Request::ListDeadLetters(query) => {
                Response::DeadLetters(store.list_dead_letters(query).await?)
            }
            Request::ShowDeadLetter { id } => Response::DeadLetter(store.dead_letter(id).await?),
            Request::ListInventory(query) => {
                Response::Inventory(store.list_inventory(query).await?)
            }
            Request::RetryDeadLetters { selection } => {
                let count = store
                    .write(move |ctx| ctx.retry_dead(&selection, now))
                    .await?;
                tracing::info!(count, "dead letters retried from the control socket");
                Response::Affected { count }
            }
            Request::DiscardDeadLetters { selection } => {
                let count = store
                    .write(move |ctx| ctx.discard_dead(&selection, now))
                    .await?;
                tracing::warn!(count, "dead letters discarded from the control socket");
                Response::Affected { count }
            }
            Request::Pause { flow } => self.set_paused(flow, true).await?,
            Request::Resume { flow } => self.set_paused(flow, false).await?,
            Request::ParityLatest => Response::ParityLatest {
                dimensions: store.parity_latest().await?,
            },
            Request::ListParityRuns(query) => Response::ParityRuns(store.parity_runs(query).await?),
            Request::ListMismatches(query) => Response::Mismatches(store.mismatches(query).await?),
            Request::RepairMismatches { run, selection } => {
                match store.parity_run(run).await? {
                    Some(found) if found.state == RunState::Done => {}
                    Some(_) => {
                        return Err(RequestError {
                            kind: RequestErrorKind::BadRequest,
                            message: format!(
                                "run {run} has not finished: repair from a finished run"
                            ),
                        });
                    }
                    None => {
                        return Err(RequestError {
                            kind: RequestErrorKind::NotFound,
                            message: format!(
                                "no reconciliation run {run} (runs beyond reconcile.keep_runs are removed)"
                            ),
                        });
                    }
                }
                let work = Work::RepairMismatches { run, selection };
                let job = NewJob {
                    flow: FlowKind::Reconcile,
                    payload_kind: work.kind(),
                    payload: work.encode(),
                    options: EnqueueOptions::default(),
                };
                let enqueued = store.write(move |ctx| ctx.enqueue(job, now)).await?;
                tracing::info!(run, job = %enqueued.id, "repair of mismatches queued from the control socket");
                Response::Queued { job: enqueued.id }
            }
            Request::Reconcile { dry_run } => {
                let work = Work::Reconcile {
                    dry_run,
                    scope: RunScope::Full,
                    trigger: RunTrigger::OnDemand,
                };
                let job = NewJob {
                    flow: FlowKind::Reconcile,
                    payload_kind: work.kind(),
                    payload: work.encode(),
                    options: EnqueueOptions {
                        // Pressing the key twice queues one run, not two.
                        coalesce: Some(format!("reconcile:dry_run={dry_run}")),
                        ..Default::default()
                    },
                };
                let enqueued = store.write(move |ctx| ctx.enqueue(job, now)).await?;
                Response::Queued { job: enqueued.id }
            }
        };
        Ok(response)
    }

    async fn set_paused(&self, flow: FlowKind, paused: bool) -> Result<Response, StoreError> {
        let now = self.context.clock.now();
        let paused_since = self
            .context
            .store
            .write(move |ctx| ctx.set_paused(flow, paused, now))
            .await?;
        tracing::info!(%flow, paused, "flow state changed from the control socket");
        Ok(Response::Flow { flow, paused_since })
    }
}

async fn recv(
    events: &mut Option<broadcast::Receiver<Event>>,
) -> Result<Event, broadcast::error::RecvError> {
    match events {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

impl From<StoreError> for RequestError {
    fn from(error: StoreError) -> Self {
        let kind = match error {
            StoreError::NotFound(_) => RequestErrorKind::NotFound,
            _ => RequestErrorKind::Unavailable,
        };
        RequestError {
            kind,
            message: error.to_string(),
        }
    }
}
