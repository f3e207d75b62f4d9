//! A wiring audit for your own app: sends the requests that slip past a misplaced layer and
//! reports every one that was served without a valid link.
//!
//! The layer can only guard what reaches it with the path the client sent. Where it sits in a
//! router decides that, and some placements let requests around it (see the crate docs, "Where to
//! put the layer"). An [`Audit`] takes your real service (an axum `Router` or any tower service),
//! a signer with the layer's settings and a few private targets, and tries, for each target:
//!
//! - no link; HEAD and `Range` without a link; a tampered signature; an expired link;
//! - `..`, `.`, `%2e%2e`, `%2E%2E` and `.%2e` segments in every position, with and without the
//!   target's own valid link;
//! - `//` in front and inside, an escaped first letter of each segment (`%66iles`), an upper-case
//!   first segment, a trailing `/`;
//! - another target's link on this target, and another target's link on a path that climbs from
//!   this target's folder into the other's (what catches route parameters read before the layer);
//! - for each public exception of the signer's settings (`with_public_exception`), climbs out of
//!   the exception to the target, with and without the target's link: `..`, `%2e%2e`, `%2E%2E`,
//!   `.%2e` and `..;`, as many levels as reach the target from every folder a router could have
//!   mounted a file server on, one more and two more (a reader that stops at its root lands on
//!   the target), straight, through a sub-folder of the exception, and after `//` or `/./`
//!   (what catches a router that sent the raw path into a private mount while the layer judged
//!   the resolved one);
//!
//! and, as controls, the valid link with GET and with HEAD, which must be served. A response in
//! the 2xx range counts as served, except that a climb serving the same bytes as a plain
//! request for the public path it resolves to has served nothing private. Each target is tried
//! once, however often it was added.
//!
//! ```
//! use axum::{routing::get, Router};
//! use tower::Layer;
//! use tower_secure_link::{audit::Audit, Key, SecureLinkLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32])?).with_private_prefix("/files/")?;
//! let router = Router::new()
//!     .route("/files/{owner}/{*name}", get(|| async { "a private file" }))
//!     .route("/", get(|| async { "home" }));
//!
//! // Outside the whole router, the layer sees every request as the client sent it.
//! let held = Audit::new(layer.signer())
//!     .target("/files/bob/report.pdf")
//!     .target("/files/alice/report.pdf")
//!     .run(layer.layer(router.clone()))
//!     .await;
//! assert!(held.is_clean(), "{held}");
//!
//! // Inside the router, route parameters are read before the layer runs; without dot-segment
//! // refusals that would let `/files/bob/../alice/...` reach bob's handler. The audit tries it.
//! let inside = Audit::new(layer.signer())
//!     .target("/files/bob/report.pdf")
//!     .run(router.layer(layer.clone()))
//!     .await;
//! assert!(inside.is_clean(), "{inside}");
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::future::poll_fn;

use bytes::Bytes;
use http::header::RANGE;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::{BodyExt, Empty};
use tower_service::Service;

use crate::redact::Redactor;
use crate::signer::UrlSigner;

mod probes;
mod report;

use probes::{Plan, Probe};
pub use report::{AuditReport, Finding, FindingKind};

/// The requests to try against a service, built from a signer and private targets.
#[derive(Debug, Clone)]
#[must_use]
pub struct Audit {
    signer: UrlSigner,
    targets: Vec<String>,
}

impl Audit {
    /// An audit with the signer of the layer under test (`layer.signer()`); the probes follow
    /// its settings, such as the public exceptions to climb out of.
    pub fn new(signer: UrlSigner) -> Self {
        Self {
            signer,
            targets: Vec::new(),
        }
    }

    /// Adds a private path that must be served only through a valid link: an existing file or
    /// route, so the controls can see a valid link served. Add two or more to try links on each
    /// other's paths; a path added twice is tried once.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.targets.push(target.into());
        self
    }

    /// Sends every probe to `service` (a clone per request) with an empty body, and reports
    /// what was served without a valid link and which valid links were refused. An axum
    /// `Router` takes any body; for a service that wants one body type, see
    /// [`run_with_body`](Self::run_with_body).
    pub async fn run<S, ResBody>(&self, service: S) -> AuditReport
    where
        S: Service<Request<Empty<Bytes>>, Response = Response<ResBody>> + Clone,
        ResBody: Body,
    {
        self.run_with_body(service).await
    }

    /// [`run`](Self::run) for a service that takes requests with body type `ReqBody` (such as
    /// a boxed service over `axum::body::Body`); each request gets `ReqBody::default()`.
    pub async fn run_with_body<S, ReqBody, ResBody>(&self, service: S) -> AuditReport
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
        ReqBody: Default,
        ResBody: Body,
    {
        let redactor = Redactor::new(self.signer.settings().clone());
        let mut report = AuditReport {
            probes: 0,
            findings: Vec::new(),
        };
        let plan = Plan {
            signer: &self.signer,
            targets: &self.targets,
        };
        let probes = plan.probes();
        // What each target's valid link serves: a respelled request carrying that link may
        // serve the same bytes (a normaliser in front of everything), but nothing else.
        let mut granted: Vec<Option<Bytes>> = vec![None; self.targets.len()];
        for probe in probes
            .iter()
            .filter(|p| p.expect_served && p.method == Method::GET)
        {
            if let (Some(target), (Some(status), body)) =
                (probe.link_of, send(&service, probe).await)
            {
                granted[target] = status.is_success().then_some(body).flatten();
            }
        }
        // What each climb's landing serves to anyone: a climb that lands on a public file and
        // gets exactly its bytes has shown nothing private.
        let mut public_at: HashMap<&str, Option<Bytes>> = HashMap::new();
        for landing in probes.iter().filter_map(|p| p.landing.as_deref()) {
            if public_at.contains_key(landing) {
                continue;
            }
            let (status, body) =
                send(&service, &Probe::refused("landing", landing.to_owned())).await;
            report.probes += 1;
            public_at.insert(landing, status.filter(StatusCode::is_success).and(body));
        }
        for probe in &probes {
            let Ok(uri) = probe.target.parse::<Uri>() else {
                continue;
            };
            let (status, body) = send(&service, probe).await;
            report.probes += 1;
            let served = status.is_some_and(|status| status.is_success());
            let same_as_granted = probe
                .link_of
                .and_then(|target| granted[target].as_ref())
                .is_some_and(|granted| body.as_ref() == Some(granted));
            let public_bytes = probe
                .landing
                .as_deref()
                .and_then(|landing| public_at.get(landing))
                .and_then(Option::as_ref)
                .is_some_and(|public| body.as_ref() == Some(public));
            let kind = match (probe.expect_served, served) {
                (false, true) if !same_as_granted && !public_bytes => {
                    FindingKind::ServedWithoutValidLink
                }
                (true, false) => FindingKind::ValidLinkRefused,
                _ => continue,
            };
            report.findings.push(Finding {
                probe: probe.name.clone(),
                method: probe.method.clone(),
                target: redactor.redact(&uri).into_owned(),
                status,
                kind,
            });
        }
        report
    }
}

/// Sends one probe to a clone of `service`: the status (`None` when the service failed) and,
/// for a successful answer, the body.
async fn send<S, ReqBody, ResBody>(
    service: &S,
    probe: &Probe,
) -> (Option<StatusCode>, Option<Bytes>)
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ReqBody: Default,
    ResBody: Body,
{
    let Ok(uri) = probe.target.parse::<Uri>() else {
        return (None, None);
    };
    let mut request = Request::new(ReqBody::default());
    *request.method_mut() = probe.method.clone();
    *request.uri_mut() = uri;
    if probe.range {
        request
            .headers_mut()
            .insert(RANGE, HeaderValue::from_static("bytes=0-"));
    }
    let mut service = service.clone();
    if poll_fn(|cx| service.poll_ready(cx)).await.is_err() {
        return (None, None);
    }
    let Ok(response) = service.call(request).await else {
        return (None, None);
    };
    let status = response.status();
    let body = match status.is_success() {
        true => response
            .into_body()
            .collect()
            .await
            .ok()
            .map(|c| c.to_bytes()),
        false => None,
    };
    (Some(status), body)
}
