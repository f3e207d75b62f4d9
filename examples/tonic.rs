//! The layer on a tonic gRPC server: a unary call is admitted with a signed link (carried in the
//! request path's query) and refused without one.
//!
//! ```text
//! cargo run --example tonic
//! ```
//!
//! The service is written by hand with a plain-bytes codec, so the example needs no protobuf
//! compiler; with generated code the layer goes in the same place.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::NamedService;
use tonic::transport::{Endpoint, Server};
use tonic::{Request, Response, Status};
use tower_secure_link::{Key, SecureLinkLayer};

/// Messages are raw bytes.
#[derive(Clone, Copy, Default)]
struct BytesCodec;

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = BytesCodec;
    type Decoder = BytesCodec;

    fn encoder(&mut self) -> Self::Encoder {
        *self
    }

    fn decoder(&mut self) -> Self::Decoder {
        *self
    }
}

impl Encoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// `demo.Files/Read`: answers with the name it was asked for.
#[derive(Clone, Default)]
struct Files;

impl NamedService for Files {
    const NAME: &'static str = "demo.Files";
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl tower::Service<http::Request<tonic::body::Body>> for Files {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let read = tower::service_fn(|request: Request<Bytes>| async move {
                let mut reply = b"contents of ".to_vec();
                reply.extend_from_slice(request.get_ref());
                Ok::<_, Status>(Response::new(Bytes::from(reply)))
            });
            Ok(tonic::server::Grpc::new(BytesCodec)
                .unary(read, request)
                .await)
        })
    }
}

/// Calls `demo.Files/Read` at `path` (which may carry a signed link's query).
async fn read(addr: &str, path: &str) -> Result<Bytes, Status> {
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| Status::internal(e.to_string()))?
        .connect()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let mut client = tonic::client::Grpc::new(channel);
    client
        .ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let path = PathAndQuery::try_from(path).map_err(|e| Status::internal(e.to_string()))?;
    let response = client
        .unary(
            Request::new(Bytes::from_static(b"report.pdf")),
            path,
            BytesCodec,
        )
        .await?;
    Ok(response.into_inner())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let layer =
        SecureLinkLayer::new(Key::new("1", [8u8; 32])?).with_private_prefix("/demo.Files/")?;
    // A gRPC call is a POST to /package.Service/Method.
    let link = layer
        .signer()
        .link("/demo.Files/Read")
        .method(http::Method::POST)
        .to_target()?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    let incoming = tokio_stream_from(listener);
    tokio::spawn(
        Server::builder()
            .layer(layer)
            .add_service(Files)
            .serve_with_incoming(incoming),
    );

    match read(&addr, &link).await {
        Ok(reply) => println!("with the link: {}", String::from_utf8_lossy(&reply)),
        Err(status) => println!("with the link: refused ({status})"),
    }
    match read(&addr, "/demo.Files/Read").await {
        Ok(reply) => println!("without a link: {}", String::from_utf8_lossy(&reply)),
        Err(status) => println!("without a link: refused ({:?})", status.code()),
    }
    Ok(())
}

/// The listener's connections as the stream tonic serves.
fn tokio_stream_from(
    listener: tokio::net::TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    tokio_stream::wrappers::TcpListenerStream::new(listener)
}
