//! The real `plumbd` binary as a child process, on a generated configuration.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::net::UnixStream;

use plumb_common::frame::{read_frame, write_frame};
use plumb_common::protocol::{
    ClientMessage, DeadLetterDetail, DeadLetterQuery, DeadLetterSummary, Hello, MAX_FRAME_BYTES,
    PROTOCOL_VERSION, Request, RequestError, Response, ServerMessage, StatusSnapshot,
};

/// The webhook secret the generated configurations use.
pub const WEBHOOK_SECRET: &str = "plumb-test-webhook-secret";

/// Waits until `check` holds (30 s at most), or fails with `what` and the agent's log.
pub async fn eventually(agent: &Agent, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}\n{}",
            agent.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Path of the `plumbd` binary of this build profile, built first if a narrower cargo
/// command (`cargo test -p plumb-tests`, `cargo bench`) did not build it.
pub fn plumbd_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| workspace_binary("plumb-agent", "plumbd"))
        .clone()
}

/// Path of the `plumb` console binary of this build profile, built first if needed.
pub fn plumb_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| workspace_binary("plumb-console", "plumb"))
        .clone()
}

/// Builds `bin` of `package` in this build profile (cheap when it is up to date) and
/// returns its path.
fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    // Tests and benches live in target/<profile>/deps; binaries one level up.
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let binary = dir.join(bin);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", package, "--bin", bin]);
    if dir.ends_with("release") {
        build.arg("--release");
    }
    // Cheap when it is up to date; rebuilds it when its sources changed.
    let status = build
        .status()
        .unwrap_or_else(|e| panic!("run cargo to build {bin}: {e}"));
    assert!(status.success(), "building {bin} failed");
    assert!(
        binary.exists(),
        "{} is missing after the build",
        binary.display()
    );
    binary
}

/// A free loopback port (bound then released; fine for tests on one machine).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A running `plumbd` with its own state directory.
#[derive(Debug)]
pub struct Agent {
    /// Where its store, socket, logs and config live.
    pub dir: PathBuf,
    /// The webhook receiver's address.
    pub webhook_address: String,
    /// A program (and its arguments) the agent runs under, e.g. valgrind; empty for none.
    wrapper: Vec<String>,
    child: Option<Child>,
}

impl Agent {
    /// The configuration file the agent runs with.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("plumb.toml")
    }

    /// The control socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("plumbd.sock")
    }

    /// Writes a configuration into `dir` (extra TOML appended) and starts the agent.
    pub fn start(dir: &Path, extra_toml: &str) -> Agent {
        Agent::start_under(dir, extra_toml, &[])
    }

    /// Like [`Agent::start`], with the agent run under `wrapper` (a program and its
    /// arguments, such as `valgrind --tool=callgrind`); the wrapper must exec the agent in
    /// the same process, so [`Agent::pid`] stays the agent's.
    pub fn start_under(dir: &Path, extra_toml: &str, wrapper: &[&str]) -> Agent {
        let port = free_port();
        let config = format!(
            r#"[agent]
state_dir = "{dir}/state"
log_level = "info"
shutdown_grace = "5s"

[control]
socket = "{dir}/plumbd.sock"

[webhooks]
listen = "127.0.0.1:{port}"
secrets = [{{ env = "PLUMB_TEST_WEBHOOK_SECRET" }}]

{extra_toml}
"#,
            dir = dir.display()
        );
        std::fs::write(dir.join("plumb.toml"), config).expect("write config");
        let mut agent = Agent {
            dir: dir.to_owned(),
            webhook_address: format!("127.0.0.1:{port}"),
            wrapper: wrapper.iter().map(|arg| (*arg).to_owned()).collect(),
            child: None,
        };
        agent.restart();
        agent
    }

    /// Starts (again) the agent on the same directory and waits until it answers.
    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("plumbd.stderr"))
            .expect("log file");
        let mut command = match self.wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(plumbd_binary());
                command
            }
            None => Command::new(plumbd_binary()),
        };
        let child = command
            .arg("--config")
            .arg(self.config_path())
            .arg("run")
            .env("PLUMB_TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn plumbd");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let patience = self.patience_secs();
        let deadline = Instant::now() + Duration::from_secs(patience);
        let url = format!("http://{}/readyz", self.webhook_address);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("plumbd exited with {status} at start:\n{}", self.stderr());
            }
            if http_get_ok(&url) && self.socket().exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "plumbd did not become ready within {patience} s:\n{}",
            self.stderr()
        );
    }

    /// How long to wait for the agent to start or stop: under an instrumenting wrapper it
    /// runs tens of times slower.
    fn patience_secs(&self) -> u64 {
        if self.wrapper.is_empty() { 30 } else { 300 }
    }

    /// Waits until every flow's queue is empty (nothing pending, nothing in flight), so a
    /// measurement does not pay for the previous one's backlog.
    pub async fn wait_drained(&self) {
        let mut control = Control::connect(&self.socket(), true)
            .await
            .expect("connect to the control socket");
        loop {
            let Ok(Response::Status(status)) = control.request(Request::Status).await else {
                panic!("the agent did not answer a status request");
            };
            if status.flows.iter().all(|f| f.pending + f.in_flight == 0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A status snapshot, asked now.
    pub async fn status(&self) -> StatusSnapshot {
        let mut control = Control::connect(&self.socket(), true)
            .await
            .expect("connect to the control socket");
        match control.request(Request::Status).await {
            Ok(Response::Status(status)) => status,
            other => panic!("status: {other:?}\n{}", self.stderr()),
        }
    }

    /// Waits for a dead letter with `cause`; returns it with its detail.
    pub async fn dead_letter(&self, cause: &str) -> (DeadLetterSummary, DeadLetterDetail) {
        let mut control = Control::connect(&self.socket(), false)
            .await
            .expect("connect to the control socket");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let summary = loop {
            let answer = control
                .request(Request::ListDeadLetters(DeadLetterQuery {
                    cause: Some(cause.to_owned()),
                    limit: 10,
                    ..DeadLetterQuery::default()
                }))
                .await
                .expect("list dead letters");
            if let Response::DeadLetters(page) = answer
                && let Some(first) = page.page.items.first()
            {
                break first.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no dead letter with cause {cause}\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let detail = match control
            .request(Request::ShowDeadLetter { id: summary.id })
            .await
            .expect("show")
        {
            Response::DeadLetter(detail) => detail,
            other => panic!("show: {other:?}"),
        };
        (summary, detail)
    }

    /// The running agent's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// What the agent wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("plumbd.stderr")).unwrap_or_default()
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit; returns whether it exited 0.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(self.patience_secs());
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A blocking GET that says whether the answer was 200 (readiness polling only).
fn http_get_ok(url: &str) -> bool {
    use std::io::{Read, Write};
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let Some((address, path)) = rest.split_once('/') else {
        return false;
    };
    let Ok(mut stream) = std::net::TcpStream::connect(address) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

/// A control-socket client for tests.
#[derive(Debug)]
pub struct Control {
    stream: UnixStream,
    next_id: u64,
}

impl Control {
    /// Connects and completes the handshake.
    pub async fn connect(socket: &Path, read_only: bool) -> Result<Control, String> {
        let mut stream = UnixStream::connect(socket)
            .await
            .map_err(|e| e.to_string())?;
        let hello = ClientMessage::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            read_only,
            client: "plumb-tests".into(),
        });
        write_frame(&mut stream, &hello, MAX_FRAME_BYTES)
            .await
            .map_err(|e| e.to_string())?;
        match read_frame::<_, ServerMessage>(&mut stream, MAX_FRAME_BYTES).await {
            Ok(Some(ServerMessage::Welcome(_))) => Ok(Control { stream, next_id: 1 }),
            Ok(Some(ServerMessage::Refused { reason })) => Err(reason),
            other => Err(format!("unexpected handshake answer: {other:?}")),
        }
    }

    /// Sends a request and waits for its response, skipping events.
    pub async fn request(&mut self, request: Request) -> Result<Response, RequestError> {
        let id = self.next_id;
        self.next_id += 1;
        let message = ClientMessage::Request { id, request };
        write_frame(&mut self.stream, &message, MAX_FRAME_BYTES)
            .await
            .expect("send request");
        loop {
            match read_frame::<_, ServerMessage>(&mut self.stream, MAX_FRAME_BYTES).await {
                Ok(Some(ServerMessage::Response { id: got, result })) if got == id => {
                    return result;
                }
                Ok(Some(_)) => continue,
                other => panic!("connection ended waiting for response {id}: {other:?}"),
            }
        }
    }

    /// The next message from the agent.
    pub async fn next_message(&mut self) -> Option<ServerMessage> {
        read_frame::<_, ServerMessage>(&mut self.stream, MAX_FRAME_BYTES)
            .await
            .ok()
            .flatten()
    }

    /// The raw stream, for tests that misbehave on purpose.
    pub fn stream(&mut self) -> &mut UnixStream {
        &mut self.stream
    }
}

/// `count` read-only consoles subscribed to the agent's events, each reading (and
/// dropping) its messages until the agent closes the connection.
pub async fn subscribed_consoles(
    socket: &Path,
    count: usize,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let mut consoles = Vec::with_capacity(count);
    for _ in 0..count {
        let mut control = Control::connect(socket, true).await?;
        control
            .request(Request::Subscribe)
            .await
            .map_err(|e| format!("subscribe: {e:?}"))?;
        consoles.push(tokio::spawn(async move {
            while control.next_message().await.is_some() {}
        }));
    }
    Ok(consoles)
}

/// CPU time the process used so far (user + system), from /proc (clock ticks of 10 ms).
pub fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) * 10.0
}
