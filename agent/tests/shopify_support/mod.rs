//! A scripted stand-in for Shopify's GraphQL endpoint, speaking raw HTTP/1.1 over TCP so a
//! test can also cut a connection without an answer or answer too late.

// Test support: a panic here is the failure report.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use plumb_agent::config::Secret;
use plumb_agent::shopify::{ShopifyClient, ShopifyClientConfig, ShopifyError};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Status and body, after an optional delay.
    Answer {
        status: u16,
        body: Vec<u8>,
        gzip: bool,
        delay: Duration,
    },
    /// Read the request, then close the connection without a word.
    Hangup,
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::Answer {
            status,
            body: body.as_bytes().to_vec(),
            gzip: false,
            delay: Duration::ZERO,
        }
    }

    pub fn late(body: &str, delay: Duration) -> Reply {
        Reply::Answer {
            status: 200,
            body: body.as_bytes().to_vec(),
            gzip: false,
            delay,
        }
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Answers computed from the request, instead of a fixed script.
pub type Responder = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

#[derive(Clone)]
pub struct Script {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    responder: Option<Responder>,
    seen: Arc<Mutex<Vec<Seen>>>,
    pub base_url: String,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl Script {
    /// Starts a server that answers with `replies` in order (and 500 when they run out).
    pub async fn start(replies: Vec<Reply>) -> Script {
        Script::launch(replies, None).await
    }

    /// Starts a server that answers every request with `responder`.
    pub async fn start_with(responder: Responder) -> Script {
        Script::launch(Vec::new(), Some(responder)).await
    }

    async fn launch(replies: Vec<Reply>, responder: Option<Responder>) -> Script {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let script = Script {
            replies: Arc::new(Mutex::new(replies.into())),
            responder,
            seen: Arc::new(Mutex::new(Vec::new())),
            base_url,
        };
        let server = script.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let server = server.clone();
                tokio::spawn(async move { server.serve(stream).await });
            }
        });
        script
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn push(&self, reply: Reply) {
        self.replies.lock().unwrap().push_back(reply);
    }

    async fn serve(&self, mut stream: TcpStream) {
        loop {
            let Some(seen) = read_request(&mut stream).await else {
                return;
            };
            let computed = self.responder.as_ref().map(|respond| respond(&seen));
            self.seen.lock().unwrap().push(seen);
            let reply = computed.or_else(|| self.replies.lock().unwrap().pop_front());
            let reply = reply.unwrap_or_else(|| Reply::json(500, r#"{"errors":"script ran out"}"#));
            match reply {
                Reply::Hangup => return,
                Reply::Answer {
                    status,
                    body,
                    gzip,
                    delay,
                } => {
                    tokio::time::sleep(delay).await;
                    let mut head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                        body.len()
                    );
                    if gzip {
                        head.push_str("content-encoding: gzip\r\n");
                    }
                    head.push_str("\r\n");
                    if stream.write_all(head.as_bytes()).await.is_err()
                        || stream.write_all(&body).await.is_err()
                    {
                        return;
                    }
                }
            }
        }
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Some(Seen {
        path,
        headers,
        body,
    })
}

/// A success body with a cost report.
pub fn ok_body(data: &str, requested: u32, actual: u32, available: f64) -> String {
    format!(
        r#"{{"data":{data},"extensions":{{"cost":{{"requestedQueryCost":{requested},"actualQueryCost":{actual},"throttleStatus":{{"maximumAvailable":2000.0,"currentlyAvailable":{available},"restoreRate":100.0}}}}}}}}"#
    )
}

/// Shopify's THROTTLED body, with a bucket of `available` and a restore rate of `restore`.
pub fn throttled_body(requested: u32, available: u32, restore: u32) -> String {
    format!(
        r#"{{"errors":[{{"message":"Throttled","extensions":{{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}}}],"extensions":{{"cost":{{"requestedQueryCost":{requested},"actualQueryCost":null,"throttleStatus":{{"maximumAvailable":2000.0,"currentlyAvailable":{available},"restoreRate":{restore}.0}}}}}}}}"#
    )
}

/// A client of `script`'s server as the tests use it: API 2026-07, a test token, no
/// jitter; `tweak` sets the rest.
pub fn client_with(script: &Script, tweak: impl FnOnce(&mut ShopifyClientConfig)) -> ShopifyClient {
    let mut config = ShopifyClientConfig::new(
        script.base_url.clone(),
        "2026-07",
        Secret::new("shpat_test"),
    );
    config.jitter = Arc::new(|| 0.0);
    tweak(&mut config);
    ShopifyClient::new(config).expect("the HTTP client builds")
}

/// A client of `script`'s server with the tests' defaults.
pub fn client_for(script: &Script) -> ShopifyClient {
    client_with(script, |_| {})
}

/// Shopify's printed admin schema of `version`, from the fixtures. Shopify validates
/// against it, so it is trusted rather than validated again (3.7 MB).
pub fn schema(version: &str) -> Valid<Schema> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "tests",
        "fixtures",
        "shopify",
        &format!("admin-{version}.graphql"),
    ]
    .iter()
    .collect();
    let sdl = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let schema = Schema::parse(sdl, &path)
        .unwrap_or_else(|e| panic!("schema {version} does not parse: {e}"));
    Valid::assume_valid(schema)
}

/// Fails unless `error` is a connection lost after the request went out (so it may have
/// been applied).
pub fn assert_lost_after_sending(error: &ShopifyError) {
    assert!(
        matches!(
            error,
            ShopifyError::Connection {
                before_send: false,
                ..
            }
        ),
        "{error:?}"
    );
}
