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

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::poll_fn;

use bytes::Bytes;
use http::header::RANGE;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::{BodyExt, Empty};
use tower_service::Service;

use crate::config::Scheme;
use crate::redact::Redactor;
use crate::UrlSigner;

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
        let probes = self.probes();
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

    fn probes(&self) -> Vec<Probe> {
        let mut probes = Vec::new();
        // One entry per distinct signed path: every probe below multiplies by the targets (and
        // the climbs by the exceptions too), so a target added twice must not double the run.
        let mut seen = HashSet::new();
        let links: Vec<(usize, String)> = self
            .targets
            .iter()
            .enumerate()
            .filter_map(|(index, target)| Some((index, self.signer.sign(target).ok()?)))
            .filter(|(_, link)| {
                seen.insert(link.split_once('?').map_or(&**link, |(p, _)| p).to_owned())
            })
            .collect();
        let exceptions: Vec<&str> = self
            .signer
            .settings()
            .prefixes
            .public_exceptions()
            .collect();
        for (index, link) in &links {
            let (index, target) = (*index, &self.targets[*index]);
            let (path, link_query) = link.split_once('?').unwrap_or((link, ""));
            let with_link = |path: &str| format!("{path}?{link_query}");
            probes.push(Probe {
                link_of: Some(index),
                ..Probe::served("valid link", Method::GET, link.clone())
            });
            probes.push(Probe::served(
                "valid link, HEAD",
                Method::HEAD,
                link.clone(),
            ));
            probes.push(Probe::refused("no link", path.to_owned()));
            probes.push(Probe {
                method: Method::HEAD,
                ..Probe::refused("no link, HEAD", path.to_owned())
            });
            probes.push(Probe {
                range: true,
                ..Probe::refused("no link, Range", path.to_owned())
            });
            if let Some(tampered) = self.tampered(link) {
                probes.push(Probe::refused("tampered signature", tampered));
            }
            let now = self.signer.settings().clock.now_unix();
            if let Ok(expired) = self
                .signer
                .link(target)
                .expires_at(now.saturating_sub(3600))
                .to_target()
            {
                probes.push(Probe::refused("expired link", expired));
            }
            for Respelling {
                name,
                target,
                reshaped,
            } in respellings(path)
            {
                if reshaped {
                    // The link is valid for the resolved path, so only a layer that sees the raw
                    // one can tell the router may have sent the request elsewhere.
                    probes.push(Probe {
                        link_of: Some(index),
                        ..Probe::refused(name, with_link(&target))
                    });
                }
                probes.push(Probe::refused(name, target));
            }
            for exception in &exceptions {
                for Climb {
                    name,
                    target,
                    landing,
                } in climbs(exception, path)
                {
                    probes.push(Probe {
                        link_of: Some(index),
                        landing: landing.clone(),
                        ..Probe::refused(format!("{name}, with the link"), with_link(&target))
                    });
                    probes.push(Probe {
                        landing,
                        ..Probe::refused(name, target)
                    });
                }
            }
            for (other_index, other_link) in &links {
                let other_index = *other_index;
                let (other_path, other_query) =
                    other_link.split_once('?').unwrap_or((other_link, ""));
                if other_path == path {
                    continue;
                }
                probes.push(Probe::refused(
                    "another target's link",
                    format!("{path}?{other_query}"),
                ));
                let climbing = climb(path, other_path);
                if climbing != other_path {
                    probes.push(Probe {
                        link_of: Some(other_index),
                        ..Probe::refused(
                            "climb into another target with its link",
                            format!("{climbing}?{other_query}"),
                        )
                    });
                }
            }
        }
        probes
    }

    /// The link with one character of its signature changed.
    fn tampered(&self, link: &str) -> Option<String> {
        let settings = self.signer.settings();
        let name: &str = match &settings.scheme {
            Scheme::Native(_) => &settings.names.signature,
            #[cfg(feature = "nginx")]
            Scheme::Nginx(nginx) => nginx.token_param(),
        };
        let at = link.find(&format!("{name}="))? + name.len() + 1;
        let mut tampered = link.to_owned();
        let replacement = if link[at..].starts_with('A') {
            "B"
        } else {
            "A"
        };
        tampered.replace_range(at..at + 1, replacement);
        Some(tampered)
    }
}

/// One request of the audit.
struct Probe {
    name: Cow<'static, str>,
    method: Method,
    target: String,
    range: bool,
    expect_served: bool,
    /// The target whose valid link the request carries: serving exactly that target's bytes
    /// is no leak.
    link_of: Option<usize>,
    /// For a climb, the path it resolves to when that differs from the target: serving what a
    /// plain request there serves is no leak.
    landing: Option<String>,
}

impl Probe {
    fn refused(name: impl Into<Cow<'static, str>>, target: String) -> Self {
        Self {
            name: name.into(),
            method: Method::GET,
            target,
            range: false,
            expect_served: false,
            link_of: None,
            landing: None,
        }
    }

    fn served(name: &'static str, method: Method, target: String) -> Self {
        Self {
            method,
            expect_served: true,
            ..Self::refused(name, target)
        }
    }
}

/// Another spelling of a target's path.
struct Respelling {
    name: &'static str,
    target: String,
    /// Whether resolving it changes its shape (dot segments, `//`).
    reshaped: bool,
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

/// Other spellings of `path` that a router and the layer could read differently.
fn respellings(path: &str) -> Vec<Respelling> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let join = |parts: &[&str]| format!("/{}", parts.join("/"));
    let mut out = Vec::new();
    let mut add = |name, target, reshaped| {
        out.push(Respelling {
            name,
            target,
            reshaped,
        })
    };
    for at in 0..segments.len() {
        let (before, after) = segments.split_at(at);
        let insert = |extra: &[&str]| join(&[before, extra, after].concat());
        add("`x/..` segment", insert(&["x", ".."]), true);
        add("`x/%2e%2e` segment", insert(&["x", "%2e%2e"]), true);
        add("`x/%2E%2E` segment", insert(&["x", "%2E%2E"]), true);
        add("`x/.%2e` segment", insert(&["x", ".%2e"]), true);
        add("`.` segment", insert(&["."]), true);
        add("`%2e` segment", insert(&["%2e"]), true);
        add("`//` inside", insert(&[""]), true);
        if at > 0 {
            // Out of the first `at` segments and back in: the raw path names another folder
            // than the resolved one.
            add("climb out and back", insert(&["..", before[at - 1]]), true);
            add(
                "`..` out of a prefix",
                join(&[before, &[".."], after].concat()),
                true,
            );
            let encoded = join(&[before, &["%2e%2e"], after].concat());
            add("`%2e%2e` out of a prefix", encoded, true);
        }
        if let Some(first) = segments[at]
            .chars()
            .next()
            .filter(char::is_ascii_alphanumeric)
        {
            let mut escaped: Vec<String> = segments.iter().map(|s| s.to_string()).collect();
            escaped[at] = format!("%{:02X}{}", first as u32, &segments[at][1..]);
            add(
                "escaped first letter",
                format!("/{}", escaped.join("/")),
                false,
            );
        }
    }
    add("`//` in front", format!("/{path}"), true);
    add("trailing `/`", format!("{path}/"), false);
    if let Some(first) = segments.first() {
        let upper = first.to_ascii_uppercase();
        if upper != *first {
            let target = join(&[&[upper.as_str()], &segments[1..]].concat());
            add("upper-case first segment", target, false);
        }
    }
    out
}

/// A path that starts in `from`'s folder and climbs with `..` into `to`.
fn climb(from: &str, to: &str) -> String {
    let folder = |path: &str| -> Vec<String> {
        let mut parts: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(str::to_owned)
            .collect();
        parts.pop();
        parts
    };
    let (from_dir, to_parts) = (folder(from), to.trim_start_matches('/').split('/'));
    let to_dir = folder(to);
    let common = from_dir
        .iter()
        .zip(&to_dir)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = from_dir.clone();
    parts.extend(std::iter::repeat("..".to_owned()).take(from_dir.len() - common));
    parts.extend(to_parts.skip(common).map(str::to_owned));
    format!("/{}", parts.join("/"))
}

/// A request that climbs out of a public exception towards a private target.
struct Climb {
    name: String,
    target: String,
    /// Where the layer's reading (dot segments resolved, `//` merged) lands, when that is
    /// neither above the root nor the target itself.
    landing: Option<String>,
}

/// The spellings of a `..` segment that some reader resolves, each with its name in a report.
const CLIMB_DOTS: [&str; 5] = ["..", "%2e%2e", "%2E%2E", ".%2e", "..;"];

/// Climbs from inside `exception` (canonical, no trailing `/`) to `target` (canonical).
///
/// A router may have mounted a file server on any folder the two share and handed it the raw
/// rest of the path; for each such mount the climb reaches the mount's root and goes on with the
/// target's path below it. A reader that resolves `..` lands on the target; a layer that judges
/// the resolved path may see a public one. One and two levels more catch readers that stop at
/// their root instead of refusing.
fn climbs(exception: &str, target: &str) -> Vec<Climb> {
    let segments = |path: &str| -> Vec<String> {
        path.trim_start_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let (inside, to) = (segments(exception), segments(target));
    let folder = &to[..to.len().saturating_sub(1)];
    // A target inside the exception is public by the configuration: nothing to climb out of.
    if to.starts_with(&inside) {
        return Vec::new();
    }
    let shared = inside
        .iter()
        .zip(folder)
        .take_while(|(a, b)| a == b)
        .count();
    let depth = inside.len();
    let slash = if target.ends_with('/') { "/" } else { "" };
    let mut out = Vec::new();
    for mount in 0..=shared {
        let rest = to[mount..].join("/") + slash;
        let mounted_at = format!(
            "/{}",
            to[..mount]
                .iter()
                .map(|s| format!("{s}/"))
                .collect::<String>()
        );
        for levels in (depth - mount)..=(depth - mount + 2) {
            let landing = (levels <= depth)
                .then(|| {
                    let parts = [&inside[..depth - levels], &to[mount..]].concat();
                    format!("/{}{slash}", parts.join("/"))
                })
                .filter(|landing| landing != target);
            // Every spelling straight out, the detours with the two commonest: eleven requests
            // per level rather than twenty.
            for (detour, detour_name, extra, spellings) in [
                ("", "", 0, CLIMB_DOTS.len()),
                ("x/", ", through a sub-folder", 1, 2),
                ("/", ", after `//`", 0, 2),
                ("./", ", after `/./`", 0, 2),
            ] {
                for dots in &CLIMB_DOTS[..spellings] {
                    let climb = format!("{dots}/").repeat(levels + extra);
                    let plural = if levels == 1 { "" } else { "s" };
                    out.push(Climb {
                        name: format!(
                            "climb {levels} level{plural} out of public exception \
                             `{exception}/` with `{dots}`{detour_name}, for a mount at `{mounted_at}`"
                        ),
                        target: format!("/{}/{detour}{climb}{rest}", inside.join("/")),
                        landing: landing.clone(),
                    });
                }
            }
        }
    }
    out
}

/// What an [`Audit`] found: every probe that was served without a valid link, and every valid
/// link that was refused.
#[derive(Debug, Clone)]
pub struct AuditReport {
    probes: usize,
    findings: Vec<Finding>,
}

impl AuditReport {
    /// Whether every probe got the answer it should.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// The probes that did not.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// How many requests were sent.
    pub fn probes(&self) -> usize {
        self.probes
    }

    /// Whether some request was served without a valid link.
    pub fn leaks(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.kind == FindingKind::ServedWithoutValidLink)
    }
}

impl fmt::Display for AuditReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.findings.is_empty() {
            return write!(
                f,
                "wiring audit: {} probes, all answered as they should",
                self.probes
            );
        }
        writeln!(
            f,
            "wiring audit: {} of {} probes answered wrongly",
            self.findings.len(),
            self.probes
        )?;
        for finding in &self.findings {
            writeln!(f, "- {finding}")?;
        }
        Ok(())
    }
}

/// One probe that got the wrong answer.
#[derive(Debug, Clone)]
pub struct Finding {
    probe: Cow<'static, str>,
    method: Method,
    target: String,
    status: Option<StatusCode>,
    kind: FindingKind,
}

impl Finding {
    /// What was tried (`no link`, `` `x/..` segment ``, `` climb 2 levels out of public
    /// exception `/files/thumbnails/` with `%2e%2e` ``, ...).
    pub fn probe(&self) -> &str {
        &self.probe
    }

    /// The request's method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request target, with signatures and nonces redacted.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The response status (`None` when the service failed).
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// What went wrong.
    pub fn kind(&self) -> FindingKind {
        self.kind
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self
            .status
            .map_or_else(|| "an error".to_owned(), |s| s.as_u16().to_string());
        let what = match self.kind {
            FindingKind::ServedWithoutValidLink => "served without a valid link",
            FindingKind::ValidLinkRefused => "a valid link was refused",
        };
        write!(
            f,
            "{what}: {} {} ({}) got {status}",
            self.method, self.target, self.probe
        )
    }
}

/// How a probe's answer was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FindingKind {
    /// A request without a valid link for what it reached got a 2xx answer.
    ServedWithoutValidLink,
    /// A valid link did not get a 2xx answer (a layer applied twice, a route the link's path
    /// does not reach).
    ValidLinkRefused,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn climbs_from_one_folder_into_another() {
        assert_eq!(
            climb("/files/bob/report.pdf", "/files/alice/report.pdf"),
            "/files/bob/../alice/report.pdf"
        );
        assert_eq!(climb("/a/b/c.txt", "/x/y.txt"), "/a/b/../../x/y.txt");
        assert_eq!(climb("/a/c.txt", "/a/d.txt"), "/a/d.txt");
    }

    fn climb_targets(exception: &str, target: &str) -> Vec<String> {
        climbs(exception, target)
            .into_iter()
            .map(|c| c.target)
            .collect()
    }

    #[test]
    fn climbs_leave_an_exception_every_way_a_reader_resolves() {
        let sent = climb_targets("/files/thumbnails", "/files/report.pdf");
        for expected in [
            // The issue 18 leak: the layer read `/report.pdf`, the `/files` mount served it.
            "/files/thumbnails/../../report.pdf",
            "/files/thumbnails/%2e%2e/%2e%2e/report.pdf",
            "/files/thumbnails/%2E%2E/%2E%2E/report.pdf",
            "/files/thumbnails/.%2e/.%2e/report.pdf",
            "/files/thumbnails/..;/..;/report.pdf",
            "/files/thumbnails/../../../report.pdf",
            "/files/thumbnails/x/../../../report.pdf",
            "/files/thumbnails//../../report.pdf",
            "/files/thumbnails/./../../report.pdf",
            "/files/thumbnails/./%2e%2e/%2e%2e/report.pdf",
            // Just far enough to reach the target, under either mount.
            "/files/thumbnails/../report.pdf",
            "/files/thumbnails/../../files/report.pdf",
        ] {
            assert!(sent.iter().any(|t| t == expected), "{expected} missing");
        }
        // Two-level exception, climbed out of three levels.
        let deeper = climb_targets("/files/pub/thumbs", "/files/report.pdf");
        assert!(deeper.contains(&"/files/pub/thumbs/../../../report.pdf".to_owned()));
        assert!(deeper.contains(&"/files/pub/thumbs/../../report.pdf".to_owned()));
        // Under another private prefix: only the climb from the root.
        let other = climb_targets("/media/public", "/files/report.pdf");
        assert!(other.contains(&"/media/public/../../files/report.pdf".to_owned()));
        assert!(other.iter().all(|t| t.ends_with("/files/report.pdf")));
        // Folders keep their trailing `/`.
        let folder = climb_targets("/files/thumbnails", "/files/bob/");
        assert!(folder.contains(&"/files/thumbnails/../../bob/".to_owned()));
    }

    #[test]
    fn climbs_skip_targets_inside_the_exception_and_land_where_the_layer_reads() {
        assert!(climbs("/files/thumbnails", "/files/thumbnails/a.png").is_empty());
        assert!(climbs("/files/thumbnails", "/files/thumbnails").is_empty());
        let climbs = climbs("/files/thumbnails", "/files/report.pdf");
        let landing = |target: &str| {
            climbs
                .iter()
                .find(|c| c.target == target)
                .map(|c| c.landing.clone())
        };
        assert_eq!(
            landing("/files/thumbnails/../../report.pdf"),
            Some(Some("/report.pdf".to_owned()))
        );
        // Reaching the target itself, or above the root: no public twin to compare with.
        assert_eq!(landing("/files/thumbnails/../report.pdf"), Some(None));
        assert_eq!(landing("/files/thumbnails/../../../report.pdf"), Some(None));
        let names: HashSet<&str> = climbs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), climbs.len(), "every climb has its own name");
        assert!(names.contains(
            "climb 2 levels out of public exception `/files/thumbnails/` with `%2e%2e`, after `//`, \
             for a mount at `/files/`"
        ));
    }

    #[test]
    fn respellings_cover_every_position() {
        let spelled: Vec<String> = respellings("/files/a.pdf")
            .into_iter()
            .map(|r| r.target)
            .collect();
        for expected in [
            "/x/../files/a.pdf",
            "/files/x/../a.pdf",
            "/files/x/%2e%2e/a.pdf",
            "/files/../a.pdf",
            "/files/%2e%2e/a.pdf",
            "/files/../files/a.pdf",
            "/%66iles/a.pdf",
            "/files/%61.pdf",
            "//files/a.pdf",
            "/files//a.pdf",
            "/files/a.pdf/",
            "/FILES/a.pdf",
        ] {
            assert!(spelled.iter().any(|p| p == expected), "{expected} missing");
        }
    }
}
