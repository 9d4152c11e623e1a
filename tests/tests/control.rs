//! The control socket of the real `plumbd`: handshake, version mismatch, read-only
//! refusal, peer credentials, oversized and malformed frames, slow subscribers, and the
//! dead-letter and pause requests.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use plumb_common::FlowKind;
use plumb_common::frame::{read_frame, write_frame};
use plumb_common::protocol::{
    ClientMessage, DeadLetterQuery, DeadLetterSelection, Event, Hello, MAX_FRAME_BYTES,
    PROTOCOL_VERSION, Request, RequestErrorKind, Response, ServerMessage,
};
use plumb_tests::agent::{Agent, Control, WEBHOOK_SECRET};
use plumb_tests::webhooks::{Delivery, Sender};

async fn status(control: &mut Control) -> plumb_common::protocol::StatusSnapshot {
    match control.request(Request::Status).await {
        Ok(Response::Status(status)) => status,
        other => panic!("status: {other:?}"),
    }
}

#[tokio::test]
async fn handshake_version_and_read_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(dir.path(), "");
    let mode = std::fs::metadata(agent.socket())
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660, "socket mode");

    let mut control = Control::connect(&agent.socket(), false)
        .await
        .expect("connect");
    let snapshot = status(&mut control).await;
    assert_eq!(snapshot.flows.len(), FlowKind::ALL.len());

    // A client of another protocol version is refused with a reason.
    let mut stream = tokio::net::UnixStream::connect(agent.socket())
        .await
        .expect("connect");
    let hello = ClientMessage::Hello(Hello {
        protocol: PROTOCOL_VERSION + 1,
        read_only: false,
        client: "future".into(),
    });
    write_frame(&mut stream, &hello, MAX_FRAME_BYTES)
        .await
        .expect("hello");
    match read_frame::<_, ServerMessage>(&mut stream, MAX_FRAME_BYTES).await {
        Ok(Some(ServerMessage::Refused { reason })) => {
            assert!(reason.contains("protocol version mismatch"), "{reason}")
        }
        other => panic!("expected a refusal: {other:?}"),
    }

    // Read-only sessions are refused every mutation and still read.
    let mut read_only = Control::connect(&agent.socket(), true)
        .await
        .expect("connect");
    let refused = read_only
        .request(Request::Pause {
            flow: FlowKind::Orders,
        })
        .await;
    assert!(
        matches!(&refused, Err(e) if e.kind == RequestErrorKind::ReadOnly),
        "{refused:?}"
    );
    let refused = read_only
        .request(Request::DiscardDeadLetters {
            selection: DeadLetterSelection::Matching {
                flow: None,
                cause: None,
            },
        })
        .await;
    assert!(
        matches!(&refused, Err(e) if e.kind == RequestErrorKind::ReadOnly),
        "{refused:?}"
    );
    assert_eq!(
        status(&mut read_only)
            .await
            .flow(FlowKind::Orders)
            .and_then(|f| f.paused_since),
        None
    );

    // The writable session pauses and resumes.
    match control
        .request(Request::Pause {
            flow: FlowKind::Orders,
        })
        .await
    {
        Ok(Response::Flow {
            flow: FlowKind::Orders,
            paused_since: Some(_),
        }) => {}
        other => panic!("pause: {other:?}"),
    }
    assert!(
        status(&mut read_only)
            .await
            .flow(FlowKind::Orders)
            .and_then(|f| f.paused_since)
            .is_some()
    );
    match control
        .request(Request::Resume {
            flow: FlowKind::Orders,
        })
        .await
    {
        Ok(Response::Flow {
            paused_since: None, ..
        }) => {}
        other => panic!("resume: {other:?}"),
    }
}

#[tokio::test]
async fn bad_frames_close_only_their_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(dir.path(), "");
    // Oversized: the agent refuses after reading the 4-byte length, allocating nothing.
    let mut control = Control::connect(&agent.socket(), false)
        .await
        .expect("connect");
    control
        .stream()
        .write_all(&(64u32 * 1024 * 1024).to_be_bytes())
        .await
        .expect("write");
    match control.next_message().await {
        Some(ServerMessage::Refused { reason }) => assert!(reason.contains("exceeds"), "{reason}"),
        other => panic!("expected a refusal: {other:?}"),
    }
    assert!(control.next_message().await.is_none(), "connection closed");
    // Malformed JSON.
    let mut control = Control::connect(&agent.socket(), false)
        .await
        .expect("connect");
    control
        .stream()
        .write_all(&5u32.to_be_bytes())
        .await
        .expect("write");
    control.stream().write_all(b"{oops").await.expect("write");
    match control.next_message().await {
        Some(ServerMessage::Refused { reason }) => {
            assert!(reason.contains("malformed"), "{reason}")
        }
        other => panic!("expected a refusal: {other:?}"),
    }
    // The agent is unharmed.
    let mut control = Control::connect(&agent.socket(), false)
        .await
        .expect("connect");
    status(&mut control).await;
}

#[tokio::test]
async fn other_users_are_refused_by_peer_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(dir.path(), "");
    assert_eq!(
        own_uid(),
        0,
        "this test must run as root to connect as another uid (CI runs as root)"
    );
    // Open the file permissions so only the credential check stands in the way.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
        .expect("chmod dir");
    std::fs::set_permissions(agent.socket(), std::fs::Permissions::from_mode(0o666))
        .expect("chmod socket");
    let script = r#"
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
hello = json.dumps({"type": "hello", "protocol": 1, "read_only": True, "client": "nobody"}).encode()
s.settimeout(5)
try:
    s.sendall(struct.pack(">I", len(hello)) + hello)
    data = s.recv(4)
except (ConnectionResetError, BrokenPipeError):
    data = b""
print("welcomed" if data else "closed")
"#;
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(agent.socket())
        .uid(65534)
        .gid(65534)
        .output()
        .expect("python3 is needed for this test: apt-get install python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.trim(),
        "closed",
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        agent.stderr().contains("control client refused"),
        "the refusal is logged"
    );
    // Root (our own uid) still gets in.
    let mut control = Control::connect(&agent.socket(), true)
        .await
        .expect("connect");
    status(&mut control).await;
}

fn own_uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(u32::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_subscriber_does_not_slow_ingest_and_gets_a_resync() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(dir.path(), "");
    let mut stuck = Control::connect(&agent.socket(), true)
        .await
        .expect("connect");
    assert!(matches!(
        stuck.request(Request::Subscribe).await,
        Ok(Response::Status(_))
    ));
    // The stuck client reads nothing while thousands of events are produced.
    let sender = Sender::new(&agent.webhook_address, WEBHOOK_SECRET.as_bytes());
    let mut tasks = Vec::new();
    for worker in 0..8u64 {
        let sender = sender.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..400u64 {
                let seq = worker * 1_000 + n;
                // Signed but malformed: each becomes a dead letter, with events to match.
                let delivery = Delivery {
                    topic: "inventory_levels/update".into(),
                    event_id: format!("e{seq}"),
                    body: format!("{{\"bad\":{seq}}}").into_bytes(),
                };
                assert_eq!(sender.send(&delivery).await.expect("send"), 200);
            }
        }));
    }
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("ingest not slowed")
            .expect("task");
    }
    // Wait (on another connection) until every delivery has been dead-lettered: each one
    // produced events the stuck client did not read.
    let mut watcher = Control::connect(&agent.socket(), true)
        .await
        .expect("connect");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while status(&mut watcher).await.dead_letters < 3_200 {
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries not dead-lettered in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Reading now, the client finds either a resync in place of what it missed or, if a
    // write to it blocked for the whole write timeout, that the agent dropped it. Both keep
    // the agent's memory bounded; which one happens depends on how long it stayed stuck.
    let mut outcome = "no resync";
    for _ in 0..50_000 {
        match tokio::time::timeout(Duration::from_secs(5), stuck.next_message()).await {
            Ok(Some(ServerMessage::Event(Event::Resync(_)))) => {
                outcome = "resync";
                break;
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                outcome = "dropped";
                break;
            }
            Err(_) => panic!("the stuck client got neither a resync nor a close"),
        }
    }
    assert_ne!(
        outcome, "no resync",
        "a lagging subscriber is told to resync or dropped"
    );
    if outcome == "dropped" {
        assert!(
            agent.stderr().contains("control client dropped"),
            "the drop is logged"
        );
    }
    // The agent serves everyone else as before.
    status(&mut watcher).await;
}

#[tokio::test]
async fn dead_letters_are_listed_shown_retried_and_discarded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(dir.path(), "");
    let sender = Sender::new(&agent.webhook_address, WEBHOOK_SECRET.as_bytes());
    // A signed delivery whose body is not the shape the topic needs: kept, dead-lettered.
    let garbage = Delivery {
        topic: "inventory_levels/update".into(),
        event_id: "bad-1".into(),
        body: b"{\"nope\": true}".to_vec(),
    };
    assert_eq!(sender.send(&garbage).await.expect("send"), 200);
    // A topic no flow handles: kept as a dead letter at once.
    let unknown = Delivery {
        topic: "carts/create".into(),
        event_id: "cart-1".into(),
        body: b"{}".to_vec(),
    };
    assert_eq!(sender.send(&unknown).await.expect("send"), 200);
    // A forged one is refused and stored nowhere.
    assert_eq!(
        sender
            .send_signed(&unknown, "Zm9yZ2Vk")
            .await
            .expect("send"),
        401
    );

    let mut control = Control::connect(&agent.socket(), false)
        .await
        .expect("connect");
    let page = loop {
        match control
            .request(Request::ListDeadLetters(DeadLetterQuery {
                limit: 10,
                ..Default::default()
            }))
            .await
        {
            Ok(Response::DeadLetters(page)) if page.page.items.len() == 2 => break page,
            Ok(Response::DeadLetters(_)) => tokio::time::sleep(Duration::from_millis(20)).await,
            other => panic!("list: {other:?}"),
        }
    };
    let causes: Vec<&str> = page.causes.iter().map(|c| c.cause.as_str()).collect();
    assert!(
        causes.contains(&"invalid_payload") && causes.contains(&"unsupported_topic"),
        "{causes:?}"
    );
    let bad = page
        .page
        .items
        .iter()
        .find(|d| d.cause == "invalid_payload")
        .expect("invalid payload");
    match control
        .request(Request::ShowDeadLetter { id: bad.id })
        .await
    {
        Ok(Response::DeadLetter(detail)) => {
            assert!(
                detail.payload.contains("nope"),
                "the payload is kept: {}",
                detail.payload
            );
            assert_eq!(
                detail.payload_kind,
                "shopify webhook inventory_levels/update"
            );
        }
        other => panic!("show: {other:?}"),
    }
    let unknown_id = page
        .page
        .items
        .iter()
        .find(|d| d.cause == "unsupported_topic")
        .expect("unsupported")
        .id;
    let selection = DeadLetterSelection::Ids {
        ids: vec![unknown_id],
    };
    assert!(matches!(
        control
            .request(Request::DiscardDeadLetters { selection })
            .await,
        Ok(Response::Affected { count: 1 })
    ));
    let selection = DeadLetterSelection::Matching {
        flow: Some(FlowKind::Inventory),
        cause: Some("invalid_payload".into()),
    };
    assert!(matches!(
        control
            .request(Request::RetryDeadLetters { selection })
            .await,
        Ok(Response::Affected { count: 1 })
    ));
    // Retried, it fails the same way and is back in the dead letters; the discarded one is gone.
    let snapshot = loop {
        let snapshot = status(&mut control).await;
        if snapshot.dead_letters == 1
            && snapshot
                .flow(FlowKind::Inventory)
                .is_some_and(|f| f.pending + f.in_flight == 0)
        {
            break snapshot;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(snapshot.dead_letter_causes.len(), 1);
    let missing = control
        .request(Request::ShowDeadLetter { id: unknown_id })
        .await;
    assert!(
        matches!(&missing, Err(e) if e.kind == RequestErrorKind::NotFound),
        "{missing:?}"
    );
}
