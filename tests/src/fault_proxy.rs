//! A fault-injecting proxy between the functions and DynamoDB, for the reliability tests.
//!
//! [`FaultProxy`] is a small HTTP/1.1 forwarder on 127.0.0.1:0 in front of the moto server of
//! `AWS_ENDPOINT_URL`. The functions' real DynamoDB client (same retry and timeout settings as
//! production, only the endpoint changed) talks to it. For a share of the calls it answers a
//! throttling error (400 `ProvisionedThroughputExceededException`) or a 500 `InternalServerError`
//! without forwarding, forwards and then loses the reply (a 500 after the write happened: the
//! ambiguous case), or delays the call. It also counts every operation by `X-Amz-Target` and
//! table, which is how the cost test counts reads and writes per request.
//!
//! It also forwards writes one at a time. DynamoDB applies the writes of one item one after the
//! other, each checking its condition against the item as the previous one left it; moto checks
//! and applies in separate steps of concurrent threads, so two conditional updates of one item
//! can both pass (seen: 12 analyses counted under a quota of 10 with 20 concurrent requests).
//! Serializing writes here gives the tests DynamoDB's guarantee, so a concurrency test checks
//! our conditions, not moto's threading.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use backend_core::App;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::TestApp;

/// Shares of calls (0.0-1.0) that get each fault; the rest are forwarded untouched.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// 400 ProvisionedThroughputExceededException, not forwarded.
    pub throttle: f64,
    /// 500 InternalServerError, not forwarded.
    pub error_500: f64,
    /// Forwarded (the write happens), then answered 500: the client cannot tell.
    pub lost_reply: f64,
    /// Forwarded after a pause of 20-400 ms.
    pub delay: f64,
    /// 502 with an HTML body and no error type, as a proxy or load balancer in between would.
    pub bare_502: f64,
}

impl Faults {
    pub const NONE: Faults = Faults {
        throttle: 0.0,
        error_500: 0.0,
        lost_reply: 0.0,
        delay: 0.0,
        bare_502: 0.0,
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Injected {
    None,
    Throttle,
    Error500,
    LostReply,
    Delay,
    Bare502,
}

/// One call that reached the proxy.
#[derive(Clone, Debug)]
pub struct Call {
    /// `GetItem`, `PutItem`, ... (from `X-Amz-Target`).
    pub op: String,
    pub table: String,
    pub injected: Injected,
    /// What moto answered (0 when not forwarded).
    pub upstream_status: u16,
    pub request_bytes: usize,
    pub response_bytes: usize,
}

struct State {
    faults: Faults,
    rng: StdRng,
    calls: Vec<Call>,
}

#[derive(Clone)]
pub struct FaultProxy {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// Starts the proxy in front of `AWS_ENDPOINT_URL` (moto), with no faults.
    pub async fn start() -> Self {
        let upstream = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL (moto)");
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let seed = std::env::var("FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(8);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let state = Arc::new(Mutex::new(State {
            faults: Faults::NONE,
            rng: StdRng::seed_from_u64(seed),
            calls: Vec::new(),
        }));
        let shared = state.clone();
        let writes = Arc::new(tokio::sync::Mutex::new(()));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (state, upstream, writes) = (shared.clone(), upstream.clone(), writes.clone());
                tokio::spawn(async move {
                    let _ = serve_connection(client, &upstream, &state, &writes).await;
                });
            }
        });
        Self { url, state }
    }

    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// Takes the calls recorded so far (and forgets them).
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut self.lock().calls)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The world of `t` with its DynamoDB client pointed at this proxy: the production client
    /// configuration (retries, timeouts) with only the endpoint changed; Secrets Manager direct.
    pub fn app_for(&self, t: &TestApp) -> Arc<App> {
        let conf = t
            .aws
            .dynamodb()
            .config()
            .to_builder()
            .endpoint_url(&self.url)
            .build();
        let aws = t
            .aws
            .clone()
            .with_dynamodb(aws_sdk_dynamodb::Client::from_conf(conf));
        Arc::new(App::new(t.app.config.clone(), aws))
    }
}

/// Forwards a call; a write waits for the one before it (see the module's documentation).
async fn forward_in_turn(
    upstream: &str,
    head: &str,
    body: &[u8],
    op: &str,
    writes: &tokio::sync::Mutex<()>,
) -> std::io::Result<(u16, Vec<u8>)> {
    let _turn = if WRITES.contains(&op) {
        Some(writes.lock().await)
    } else {
        None
    };
    forward(upstream, head, body).await
}

/// The operations that change items, forwarded one at a time.
const WRITES: &[&str] = &[
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

async fn serve_connection(
    mut client: TcpStream,
    upstream: &str,
    state: &Mutex<State>,
    writes: &tokio::sync::Mutex<()>,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    loop {
        let Some((head, body)) = read_message(&mut client, &mut buffer).await? else {
            return Ok(());
        };
        let head_text = String::from_utf8_lossy(&head).into_owned();
        let op = header_value(&head_text, "x-amz-target")
            .and_then(|t| t.rsplit('.').next().map(str::to_owned))
            .unwrap_or_default();
        let table = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["TableName"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let (injected, delay_ms) = {
            let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
            let f = s.faults;
            let roll: f64 = s.rng.gen();
            let injected = if roll < f.throttle {
                Injected::Throttle
            } else if roll < f.throttle + f.error_500 {
                Injected::Error500
            } else if roll < f.throttle + f.error_500 + f.lost_reply {
                Injected::LostReply
            } else if roll < f.throttle + f.error_500 + f.lost_reply + f.delay {
                Injected::Delay
            } else if roll < f.throttle + f.error_500 + f.lost_reply + f.delay + f.bare_502 {
                Injected::Bare502
            } else {
                Injected::None
            };
            (injected, s.rng.gen_range(20..400u64))
        };

        let (status, reply) = match injected {
            Injected::Throttle => {
                let body = json!({
                    "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                    "message": "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."
                });
                (
                    0,
                    response(400, "ProvisionedThroughputExceededException", &body),
                )
            }
            Injected::Error500 => (0, internal_error()),
            Injected::Bare502 => {
                let body = "<html><body><h1>502 Bad Gateway</h1></body></html>";
                let head = format!(
                    "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                (0, [head.as_bytes(), body.as_bytes()].concat())
            }
            Injected::LostReply => {
                let (status, _) = forward_in_turn(upstream, &head_text, &body, &op, writes).await?;
                (status, internal_error())
            }
            Injected::Delay | Injected::None => {
                if injected == Injected::Delay {
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                }
                forward_in_turn(upstream, &head_text, &body, &op, writes).await?
            }
        };
        {
            let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
            s.calls.push(Call {
                op,
                table,
                injected,
                upstream_status: status,
                request_bytes: body.len(),
                response_bytes: reply.len(),
            });
        }
        client.write_all(&reply).await?;
    }
}

fn internal_error() -> Vec<u8> {
    let body = json!({
        "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
        "message": "Internal server error"
    });
    response(500, "InternalServerError", &body)
}

fn response(status: u16, error_type: &str, body: &Value) -> Vec<u8> {
    let body = body.to_string();
    let reason = if status == 400 {
        "Bad Request"
    } else {
        "Internal Server Error"
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/x-amz-json-1.0\r\n\
         x-amzn-errortype: {error_type}\r\nx-amzn-requestid: fault-proxy\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends one request to moto on a fresh connection; returns its status and the response
/// re-framed with a `content-length` for the keep-alive client connection.
async fn forward(upstream: &str, head: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    let mut out = String::new();
    for (i, line) in head.split("\r\n").enumerate() {
        if line.is_empty() {
            continue;
        }
        if i > 0 && line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("connection: close\r\n\r\n");
    let mut moto = TcpStream::connect(upstream).await?;
    moto.write_all(out.as_bytes()).await?;
    moto.write_all(body).await?;
    let mut raw = Vec::new();
    moto.read_to_end(&mut raw).await?;
    let split = find(&raw, b"\r\n\r\n").ok_or_else(|| bad("no response head from moto"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut payload = raw[split + 4..].to_vec();
    if header_value(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        payload = dechunk(&payload);
    } else if let Some(len) = header_value(&head, "content-length").and_then(|v| v.parse().ok()) {
        payload.truncate(len);
    }
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("HTTP/1.1 502 Bad Gateway");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let mut reply = format!("{status_line}\r\n");
    for line in lines {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("content-length:")
            || lower.starts_with("transfer-encoding:")
            || lower.starts_with("connection:")
        {
            continue;
        }
        reply.push_str(line);
        reply.push_str("\r\n");
    }
    reply.push_str(&format!("content-length: {}\r\n\r\n", payload.len()));
    let mut bytes = reply.into_bytes();
    bytes.extend_from_slice(&payload);
    Ok((status, bytes))
}

fn bad(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.to_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header_value(head: &str, name: &str) -> Option<String> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = find(data, b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        let stop = (start + size).min(data.len());
        out.extend_from_slice(&data[start..stop]);
        data = &data[(stop + 2).min(data.len())..];
    }
    out
}

/// One HTTP/1.1 request (head, body) from a keep-alive connection; `None` at a clean close.
async fn read_message(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> std::io::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(pos) = find(buffer, b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = buffer[..head_end + 4].to_vec();
    let head_text = String::from_utf8_lossy(&head);
    if header_value(&head_text, "transfer-encoding").is_some() {
        return Err(bad("chunked requests are not supported by the fault proxy"));
    }
    let length: usize = header_value(&head_text, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + 4 + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = buffer[head_end + 4..head_end + 4 + length].to_vec();
    buffer.drain(..head_end + 4 + length);
    Ok(Some((head, body)))
}
