//! HTTP from the tests' side: a raw HTTP/1.1 client that sends targets byte for byte, an axum
//! app on a loopback port, and one way to send a request through a service in process.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request as AxumRequest;
use axum::routing::any;
use axum::Router;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use tower_secure_link::{Rejection, RejectionKind};

/// A response read off the wire.
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first header of that name, trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// The body as text, invalid UTF-8 replaced.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `METHOD target HTTP/1.1` with the target byte for byte; reads the whole response.
pub fn raw_request(addr: &str, method: &str, target: &[u8]) -> RawResponse {
    let mut request = format!("{method} ").into_bytes();
    request.extend_from_slice(target);
    request.extend_from_slice(
        format!(" HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    raw_bytes(addr, &request)
}

/// `GET target` over a new connection.
pub fn get(addr: &str, target: &str) -> RawResponse {
    raw_request(addr, "GET", target.as_bytes())
}

/// Sends `bytes` exactly as given (a whole request, head and body) and reads the response,
/// with a chunked body decoded.
pub fn raw_bytes(addr: &str, bytes: &[u8]) -> RawResponse {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // A server may answer and close before reading everything; that is an answer too.
    let _ = stream.write_all(bytes);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(response.len(), |at| at + 4);
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut body = response[split..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    RawResponse { status, head, body }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..line_end]).unwrap().trim(), 16)
                .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&body[line_end + 2..line_end + 2 + size]);
        body = &body[line_end + 2 + size + 2..];
    }
    out
}

/// Sends the same request from `count` threads at once; returns how many got each status.
pub fn fire(addrs: &[String], method: &str, target: &str, count: usize) -> Vec<u16> {
    let barrier = Arc::new(Barrier::new(count));
    let threads: Vec<_> = (0..count)
        .map(|i| {
            let addr = addrs[i % addrs.len()].clone();
            let (method, target, barrier) = (method.to_owned(), target.to_owned(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                raw_request(&addr, &method, target.as_bytes()).status
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// How many of `statuses` are `status`.
pub fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// Serves an axum app (a `Router`, or the layer in front of one) on a loopback port from its
/// own thread and runtime; returns the address.
pub fn serve_app<S>(app: S) -> String
where
    S: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            sender
                .send(listener.local_addr().unwrap().to_string())
                .unwrap();
            let app = axum::ServiceExt::<axum::extract::Request>::into_make_service(app);
            axum::serve(listener, app).await.unwrap();
        });
    });
    receiver.recv().unwrap()
}

/// A router that answers every request with the path and query it saw, so a test can tell
/// exactly what the layer handed on.
pub fn echo_app() -> Router {
    Router::new().fallback(any(|request: AxumRequest| async move {
        request.uri().to_string()
    }))
}

/// What one request sent through a service in process got back.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    /// Why the layer refused, when it did.
    pub kind: Option<RejectionKind>,
    pub headers: HeaderMap,
    /// The body as text, invalid UTF-8 replaced.
    pub body: String,
}

impl Reply {
    /// The first value of header `name` as text.
    pub fn header(&self, name: impl http::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }
}

/// Sends `request` through a service in process and reads the whole reply.
pub async fn send_request<S>(service: &S, request: Request<Body>) -> Reply
where
    S: tower::Service<Request<Body>, Response = Response<Body>> + Clone,
    S::Error: std::fmt::Debug,
{
    use tower::ServiceExt as _;
    let response = service.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let kind = parts.extensions.get::<Rejection>().map(Rejection::kind);
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    Reply {
        status: parts.status,
        kind,
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Sends `METHOD target` without a body through a service in process; returns the status, the
/// rejection's kind (if the layer refused) and the body as text.
pub async fn send<S>(
    service: &S,
    method: Method,
    target: &str,
) -> (StatusCode, Option<RejectionKind>, String)
where
    S: tower::Service<Request<Body>, Response = Response<Body>> + Clone,
    S::Error: std::fmt::Debug,
{
    let request = Request::builder()
        .method(method)
        .uri(target)
        .body(Body::empty())
        .unwrap();
    let reply = send_request(service, request).await;
    (reply.status, reply.kind, reply.body)
}
