//! The path boundary as one model, checked against the servers that actually open the files.
//!
//! Every file of a site tree holds its own URL path, so the body of any answer says exactly which
//! file came back. A generator combines configurations (private prefixes, nested public
//! exceptions, an opaque prefix), axum wirings (the layer outside, `Router::layer` over
//! `nest_service` or `nest` + `fallback_service`, the layer inside the nests, two mounts, a mount
//! path without `OriginalUri`) and request targets (climbs into and out of exceptions, dot
//! segments plain, escaped, double escaped and `;`-suffixed, `//`, `/./`, `\`, `%5c`, `%2f`, case
//! variants, `;` parameters, trailing `/`). Each target is sent through the real router with no
//! link, an ordinary link, an opaque link and a folder link minted for some file or folder.
//!
//! The oracle needs no list of expected answers: a body that is the contents of a private file is
//! a failure unless the request carried a link minted for exactly that file (or a folder link
//! whose folder holds it). So is any 5xx. And a canonical link to a file the wiring serves must
//! get that file, so a layer refusing everything cannot pass.
//!
//! `BOUNDARY_CASES` sets the number of generated cases (each sends up to five requests),
//! `BOUNDARY_SEED` (64 hex digits) replays a run, `BOUNDARY_WIRING` (a wiring's name) and
//! `BOUNDARY_LINK` (`none`, `ordinary`, `opaque`, `folder`) narrow the search, and
//! `BOUNDARY_FINDINGS` names a file the minimal failure is appended to.
//! `scripts/boundary-long-run.sh` runs millions of cases in release mode.
#![cfg(feature = "axum")]

mod support;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use axum::body::Body;
use axum::Router;
use http::{Method, Request, Response, StatusCode, Uri};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestError, TestRng, TestRunner};
use tower::util::BoxCloneService;
use tower::{service_fn, Layer, ServiceExt};
use tower_http::services::ServeDir;
use tower_secure_link::{Key, SecureLinkLayer, UrlSigner};

/// Every file of the site by its URL path, which is also its contents. Folders are implied.
const FILES: &[&str] = &[
    "/index.html",
    "/report.pdf",
    "/x.pdf",
    "/public/index.html",
    "/public/a.png",
    "/files-x/leak.pdf",
    "/Files/report.pdf",
    "/s/index.html",
    "/s/x.pdf",
    "/files/index.html",
    "/files/report.pdf",
    "/files/x.pdf",
    "/files/a b.pdf",
    "/files/x;y.pdf",
    "/files/a.",
    "/files/.../deep.pdf",
    "/files/sub/index.html",
    "/files/sub/deep.pdf",
    "/files/sub/y.pdf",
    "/files/sub/sub/deeper.pdf",
    "/files/thumbnails/index.html",
    "/files/thumbnails/a.png",
    "/files/thumbnails/report.pdf",
    "/files/thumbnails/sub/b.png",
    "/files/pub/secret.pdf",
    "/files/pub/thumbs/c.png",
    "/files/pub/thumbs/sub/d.png",
    "/files/other/x.pdf",
    "/files/other/sub/y.pdf",
    "/files/s/x.pdf",
    "/files/files/report.pdf",
    "/other/index.html",
    "/other/x.pdf",
    "/other/report.pdf",
    "/other/sub/y.pdf",
    "/other/thumbnails/a.png",
    "/other/files/x.pdf",
];

/// Folders a folder link may be minted for.
const FOLDERS: &[&str] = &[
    "/files/",
    "/files/sub/",
    "/files/thumbnails/",
    "/files/pub/",
    "/files/pub/thumbs/",
    "/files/other/",
    "/files/s/",
    "/other/",
    "/other/sub/",
    "/public/",
];

const PRIVATE_SETS: &[&[&str]] = &[
    &["/files/"],
    &["/files"],
    &["/other/"],
    &["/files/", "/other/"],
    &["/"],
];

const EXCEPTIONS: &[&str] = &[
    "/files/thumbnails/",
    "/files/thumbnails",
    "/files/pub/thumbs/",
    "/files/pub/",
    "/files/sub/",
    "/files/s/",
    "/other/thumbnails/",
    "/public/",
];

const OPAQUE: &[Option<&str>] = &[None, Some("/s/"), Some("/files/s/")];

/// One configuration of the layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Config {
    private: &'static [&'static str],
    exceptions: &'static [&'static str],
    opaque: Option<&'static str>,
}

impl Config {
    /// The layer this configuration describes; `None` when the builder refuses it.
    fn layer(&self) -> Option<SecureLinkLayer> {
        let mut layer = SecureLinkLayer::new(Key::new("1", [9u8; 32]).unwrap());
        for prefix in self.private {
            layer = layer.with_private_prefix(*prefix).ok()?;
        }
        for prefix in self.exceptions {
            layer = layer.with_public_exception(*prefix).ok()?;
        }
        if let Some(prefix) = self.opaque {
            layer = layer.with_opaque_prefix(prefix).ok()?;
        }
        Some(layer)
    }

    /// The model: the longest prefix covering `file` by whole segments decides, and an
    /// exception wins a tie.
    fn is_private(&self, file: &str) -> bool {
        let longest = |prefixes: &[&str]| {
            prefixes
                .iter()
                .map(|prefix| prefix.trim_end_matches('/'))
                .filter(|prefix| {
                    prefix.is_empty()
                        || file == *prefix
                        || file
                            .strip_prefix(prefix)
                            .is_some_and(|rest| rest.starts_with('/'))
                })
                .map(|prefix| prefix.len() as isize)
                .max()
                .unwrap_or(-1)
        };
        let private = longest(self.private);
        private >= 0 && private > longest(self.exceptions)
    }
}

/// Every configuration the builder accepts: each private set with up to two exceptions and
/// each opaque prefix.
fn configs() -> &'static [Config] {
    static CONFIGS: OnceLock<Vec<Config>> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let mut subsets: Vec<Vec<&'static str>> = vec![vec![]];
        for (i, a) in EXCEPTIONS.iter().enumerate() {
            subsets.push(vec![a]);
            for b in &EXCEPTIONS[i + 1..] {
                subsets.push(vec![a, b]);
            }
        }
        let mut all = Vec::new();
        for private in PRIVATE_SETS {
            for exceptions in &subsets {
                for opaque in OPAQUE {
                    let config = Config {
                        private,
                        exceptions: Box::leak(exceptions.clone().into_boxed_slice()),
                        opaque: *opaque,
                    };
                    if config.layer().is_some() {
                        all.push(config);
                    }
                }
            }
        }
        all
    })
}

/// How the layer is wired into axum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Wiring {
    /// `layer.layer(router)`, the router holding both mounts and a root `ServeDir` fallback.
    Outside,
    /// `Router::new().nest_service("/files", ServeDir).layer(layer)`.
    RouterLayerNestService,
    /// `Router::new().nest("/files", Router::new().fallback_service(ServeDir)).layer(layer)`.
    RouterLayerNestFallback,
    /// `nest_service("/files", layer.layer(ServeDir))` and the same for `/other`.
    LayerInNest,
    /// `nest_service("/files", ..).nest_service("/other", ..).layer(layer)`.
    TwoMountsRouterLayer,
    /// Two `nest` + `fallback_service` mounts, then `Router::layer`.
    TwoMountsNestFallback,
    /// A stripping front that keeps no `OriginalUri`, the layer told `with_mount_path("/files")`.
    MountPathStripped,
}

const WIRINGS: &[Wiring] = &[
    Wiring::Outside,
    Wiring::RouterLayerNestService,
    Wiring::RouterLayerNestFallback,
    Wiring::LayerInNest,
    Wiring::TwoMountsRouterLayer,
    Wiring::TwoMountsNestFallback,
    Wiring::MountPathStripped,
];

type Svc = BoxCloneService<Request<Body>, Response<Body>, Infallible>;

impl Wiring {
    /// The mounts whose files this wiring serves (`/` for the whole site).
    fn mounts(self) -> &'static [&'static str] {
        match self {
            Wiring::Outside => &["/"],
            Wiring::RouterLayerNestService
            | Wiring::RouterLayerNestFallback
            | Wiring::MountPathStripped => &["/files"],
            Wiring::LayerInNest | Wiring::TwoMountsRouterLayer | Wiring::TwoMountsNestFallback => {
                &["/files", "/other"]
            }
        }
    }

    fn serves(self, file: &str) -> bool {
        self.mounts().iter().any(|mount| {
            *mount == "/"
                || file
                    .strip_prefix(mount)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    fn build(self, layer: &SecureLinkLayer, root: &Path) -> Svc {
        let dir = |mount: &str| ServeDir::new(root.join(mount.trim_start_matches('/')));
        let boxed = |router: Router| BoxCloneService::new(router);
        match self {
            Wiring::Outside => {
                let router = Router::new()
                    .nest_service("/files", dir("/files"))
                    .nest_service("/other", dir("/other"))
                    .fallback_service(ServeDir::new(root));
                BoxCloneService::new(layer.layer(router))
            }
            Wiring::RouterLayerNestService => boxed(
                Router::new()
                    .nest_service("/files", dir("/files"))
                    .layer(layer.clone()),
            ),
            Wiring::RouterLayerNestFallback => boxed(
                Router::new()
                    .nest("/files", Router::new().fallback_service(dir("/files")))
                    .layer(layer.clone()),
            ),
            Wiring::LayerInNest => boxed(
                Router::new()
                    .nest_service("/files", layer.layer(dir("/files")))
                    .nest_service("/other", layer.layer(dir("/other"))),
            ),
            Wiring::TwoMountsRouterLayer => boxed(
                Router::new()
                    .nest_service("/files", dir("/files"))
                    .nest_service("/other", dir("/other"))
                    .layer(layer.clone()),
            ),
            Wiring::TwoMountsNestFallback => boxed(
                Router::new()
                    .nest("/files", Router::new().fallback_service(dir("/files")))
                    .nest("/other", Router::new().fallback_service(dir("/other")))
                    .layer(layer.clone()),
            ),
            Wiring::MountPathStripped => {
                let inner = layer
                    .clone()
                    .with_mount_path("/files")
                    .unwrap()
                    .layer(dir("/files"));
                BoxCloneService::new(service_fn(move |request: Request<Body>| {
                    let inner = inner.clone();
                    async move {
                        match strip_files(request) {
                            Some(request) => {
                                let response = inner.oneshot(request).await?;
                                Ok(response.map(Body::new))
                            }
                            None => Ok(Response::builder()
                                .status(StatusCode::NOT_FOUND)
                                .body(Body::empty())
                                .unwrap()),
                        }
                    }
                }))
            }
        }
    }
}

/// Cuts `/files` off the raw path the way a router that keeps no original URI would; `None`
/// for a path outside the mount.
fn strip_files(mut request: Request<Body>) -> Option<Request<Body>> {
    let target = request.uri().path_and_query()?.as_str();
    let rest = target.strip_prefix("/files")?;
    let stripped = match rest.chars().next() {
        None | Some('?') => format!("/{rest}"),
        Some('/') => rest.to_owned(),
        Some(_) => return None,
    };
    *request.uri_mut() = stripped.parse().ok()?;
    request
        .extensions_mut()
        .remove::<axum::extract::OriginalUri>();
    Some(request)
}

/// What a request carries.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Link {
    None,
    /// An ordinary link minted for this path; its query goes on the target.
    Ordinary(String),
    /// An opaque link minted for this path; its token replaces `{token}` in the target.
    Opaque(String),
    /// A folder link in its path form; its token segment replaces `{token}`.
    FolderPath(String),
    /// A folder link in its query form, appended to the target.
    FolderQuery(String),
}

impl Link {
    fn kind(&self) -> &'static str {
        match self {
            Link::None => "none",
            Link::Ordinary(_) => "ordinary",
            Link::Opaque(_) => "opaque",
            Link::FolderPath(_) | Link::FolderQuery(_) => "folder",
        }
    }

    /// Whether this link was minted for `file`: the path itself, or for a folder link anything
    /// under the folder. `ServeDir` reads a path with and without a trailing `/` as the same
    /// file, and a folder path (a nest's mount point too) as its index file, so a link minted
    /// for `/a.pdf/` names the file `/a.pdf` and one for `/files` names `/files/index.html`:
    /// whoever minted it named that file.
    fn grants(&self, file: &str) -> bool {
        let names = |path: &str| {
            let path = path.trim_end_matches('/');
            file == path || file.strip_prefix(path) == Some("/index.html")
        };
        match self {
            Link::None => false,
            Link::Ordinary(path) | Link::Opaque(path) => names(path),
            Link::FolderPath(folder) | Link::FolderQuery(folder) => {
                file.starts_with(folder) || names(folder)
            }
        }
    }

    /// The request target: `target` with this link's query appended or its token in place of
    /// `{token}`. `None` when the signer refuses to mint it (a public folder, no opaque
    /// prefix, a path it will not sign), which is no finding.
    fn present(&self, signer: &UrlSigner, target: &str) -> Option<String> {
        let append = |query: &str| {
            let bare = target.replace("/{token}", "");
            let joiner = if bare.contains('?') { '&' } else { '?' };
            format!("{bare}{joiner}{query}")
        };
        let token_of = |minted: &str| {
            let path = minted.split('?').next().unwrap_or(minted);
            path.trim_end_matches('/')
                .rsplit('/')
                .next()
                .map(str::to_owned)
        };
        match self {
            Link::None => Some(target.replace("/{token}", "")),
            Link::Ordinary(path) => {
                let minted = signer.sign(&escape(path)).ok()?;
                Some(append(minted.split_once('?')?.1))
            }
            Link::FolderQuery(folder) => Some(append(&signer.folder_link(folder).to_query().ok()?)),
            Link::Opaque(path) => {
                let minted = signer.link(&escape(path)).opaque().to_target().ok()?;
                Some(target.replace("{token}", &token_of(&minted)?))
            }
            Link::FolderPath(folder) => {
                let minted = signer.folder_link(folder).to_path_base().ok()?;
                Some(target.replace("{token}", &token_of(&minted)?))
            }
        }
    }
}

/// The one character of the tree's names a request target cannot hold as it is.
fn escape(path: &str) -> String {
    path.replace(' ', "%20")
}

/// A file the signer mints a link for and the layer has no reason to find ambiguous (the
/// layer refuses a case variant of a prefix, a `;` parameter and a trailing dot by design).
fn plain_name(file: &str) -> bool {
    !file.chars().any(|c| c.is_ascii_uppercase())
        && file.split('/').skip(1).all(|segment| {
            !segment.is_empty()
                && segment != "..."
                && !segment.ends_with('.')
                && !segment.contains(';')
        })
}

/// One request to check: the configuration, the wiring, the raw target and what it carries.
#[derive(Clone, Debug)]
struct Probe {
    config: Config,
    wiring: Wiring,
    target: String,
    link: Link,
}

/// The site, the routers built so far, and what the runs counted.
struct Bench {
    root: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    built: RefCell<HashMap<(Config, Wiring), (Svc, UrlSigner)>>,
    sent: Cell<u64>,
    unparsable: Cell<u64>,
    unminted: Cell<u64>,
}

impl Bench {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        for file in FILES {
            let path: PathBuf = root.path().join(file.trim_start_matches('/'));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, file).unwrap();
        }
        Self {
            root,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            built: RefCell::new(HashMap::new()),
            sent: Cell::new(0),
            unparsable: Cell::new(0),
            unminted: Cell::new(0),
        }
    }

    fn service(&self, config: Config, wiring: Wiring) -> (Svc, UrlSigner) {
        self.built
            .borrow_mut()
            .entry((config, wiring))
            .or_insert_with(|| {
                let layer = config.layer().expect("configurations are prevalidated");
                (wiring.build(&layer, self.root.path()), layer.signer())
            })
            .clone()
    }

    /// Sends the probe; the status, the status as shown in reports (with the rejection kind and
    /// the exact target) and the body, unless the link could not be minted or `http` refuses
    /// the target (then no client could send it either).
    fn send(&self, probe: &Probe) -> Option<(StatusCode, String, String)> {
        let (service, signer) = self.service(probe.config, probe.wiring);
        let Some(target) = probe.link.present(&signer, &probe.target) else {
            self.unminted.set(self.unminted.get() + 1);
            return None;
        };
        if Uri::try_from(target.as_str()).is_err() {
            self.unparsable.set(self.unparsable.get() + 1);
            return None;
        }
        self.sent.set(self.sent.get() + 1);
        let (status, kind, body) =
            self.runtime
                .block_on(support::send(&service, Method::GET, &target));
        let kind = kind.map(|kind| format!(" ({kind:?})")).unwrap_or_default();
        Some((status, format!("{status}{kind} for {target}"), body))
    }

    /// The oracle: `Err` with a report when private bytes came back without a link granting
    /// exactly that file, or when the answer is a 5xx.
    fn check(&self, probe: &Probe) -> Result<(), String> {
        let Some((status, shown, body)) = self.send(probe) else {
            return Ok(());
        };
        if status.is_server_error() {
            return Err(report(probe, &shown, "a server error"));
        }
        match FILES.iter().find(|file| **file == body) {
            Some(file) if probe.config.is_private(file) && !probe.link.grants(file) => {
                Err(report(probe, &shown, &format!("the private file {file}")))
            }
            _ => Ok(()),
        }
    }

    /// The other direction: a canonical ordinary link to a file the wiring serves gets it.
    fn check_served(&self, config: Config, wiring: Wiring, file: &str) -> Result<(), String> {
        let under_opaque = config.opaque.is_some_and(|prefix| file.starts_with(prefix));
        if !plain_name(file) || !wiring.serves(file) || under_opaque {
            return Ok(());
        }
        let probe = Probe {
            config,
            wiring,
            target: escape(file),
            link: Link::Ordinary(file.to_owned()),
        };
        match self.send(&probe) {
            Some((StatusCode::OK, _, body)) if body == file => Ok(()),
            Some((_, shown, body)) => Err(report(
                &probe,
                &shown,
                &format!("not the file its valid link names (body {body:?})"),
            )),
            None => Err(report(
                &probe,
                "nothing",
                "a link the signer would not mint",
            )),
        }
    }
}

fn report(probe: &Probe, shown: &str, what: &str) -> String {
    format!(
        "{what} came back: {shown}\n  config: private {:?}, exceptions {:?}, opaque {:?}\n  \
         wiring: {:?}\n  target: {:?}\n  link: {:?}",
        probe.config.private,
        probe.config.exceptions,
        probe.config.opaque,
        probe.wiring,
        probe.target,
        probe.link
    )
}

// ---------------------------------------------------------------------------------------------
// The generator. A target is a start folder, a climb of zero or more `..` in some spelling and
// a descent to some file, with a little noise in between: the shape of every boundary leak seen
// so far, with everything else reachable through the noise.

const STARTS: &[&[&str]] = &[
    &[],
    &["files"],
    &["files", "thumbnails"],
    &["files", "thumbnails", "sub"],
    &["files", "pub"],
    &["files", "pub", "thumbs"],
    &["files", "pub", "thumbs", "sub"],
    &["files", "sub"],
    &["files", "sub", "sub"],
    &["files", "s"],
    &["files", "other"],
    &["other"],
    &["other", "thumbnails"],
    &["other", "sub"],
    &["s"],
    &["public"],
    &["files-x"],
];

const DESCENTS: &[&[&str]] = &[
    &[],
    &["report.pdf"],
    &["x.pdf"],
    &["index.html"],
    &["a%20b.pdf"],
    &["x;y.pdf"],
    &["x%3by.pdf"],
    &["a."],
    &["...", "deep.pdf"],
    &["sub"],
    &["sub", "deep.pdf"],
    &["sub", "y.pdf"],
    &["sub", "sub", "deeper.pdf"],
    &["files", "report.pdf"],
    &["files", "x.pdf"],
    &["files", "sub", "deep.pdf"],
    &["other", "x.pdf"],
    &["other", "sub", "y.pdf"],
    &["thumbnails", "a.png"],
    &["thumbnails", "report.pdf"],
    &["pub", "secret.pdf"],
    &["pub", "thumbs", "c.png"],
    &["s", "x.pdf"],
    &["Files", "report.pdf"],
    &["files-x", "leak.pdf"],
];

const UPS: &[&str] = &[
    "..",
    "%2e%2e",
    ".%2e",
    "%2e.",
    "%2E%2E",
    "%2E.",
    "..;",
    "..;x=1",
    "%2e%2e;",
    "%252e%252e",
    ".%252e",
];

const CURS: &[&str] = &[".", "%2e", "%2E", ".;", ".;x"];

const NAMES: &[&str] = &[
    "files",
    "other",
    "thumbnails",
    "pub",
    "thumbs",
    "sub",
    "s",
    "public",
    "report.pdf",
    "x.pdf",
    "Files",
    "files-x",
];

const SEPARATORS: &[&str] = &[
    "//", "/./", "\\", "%5c", "%5C", "%2f", "%2F", "%252f", "/%2e/", "/;/",
];

#[derive(Clone, Copy, Debug)]
enum Step {
    Up(usize),
    Cur(usize),
    Empty,
    Name(usize),
}

#[derive(Clone, Copy, Debug)]
enum Decoration {
    EscapeFirst,
    Upper,
    Param,
    EmptyParam,
    TrailingDot,
}

/// Where a path-form token (opaque or folder) goes.
#[derive(Clone, Copy, Debug)]
enum TokenAt {
    /// Right after the start folder.
    AfterStart,
    /// At this segment index (modulo the length).
    At(usize),
    /// At the link's own place (the opaque prefix, the folder), the climb and descent after it.
    Anchored,
    /// At the link's own place and nothing after it: the link as minted, or nearly.
    AnchoredBare,
}

#[derive(Clone, Debug)]
struct Shape {
    start: usize,
    climb: Vec<usize>,
    descent: usize,
    noise: Vec<(usize, Step)>,
    separators: Vec<(usize, usize)>,
    decoration: Option<(usize, Decoration)>,
    trailing_slash: bool,
    token: TokenAt,
}

/// What a raw segment does to the path, read plainly.
#[derive(Clone, Debug)]
enum Effect {
    Push(String),
    Pop,
    Stay,
}

impl Shape {
    /// The raw segments and what each does; with `anchor` (the place a path-form token was
    /// minted for), the token goes where `token` says.
    fn segments(&self, anchor: Option<&str>) -> Vec<(String, Effect)> {
        let name = |text: &str| (text.to_owned(), Effect::Push(decode(text)));
        let anchored = matches!(self.token, TokenAt::Anchored | TokenAt::AnchoredBare);
        let mut segments: Vec<(String, Effect)> = match anchor {
            Some(anchor) if anchored => anchor
                .split('/')
                .filter(|s| !s.is_empty())
                .map(name)
                .collect(),
            _ => STARTS[self.start].iter().map(|s| name(s)).collect(),
        };
        let start_len = segments.len();
        if anchor.is_some() && matches!(self.token, TokenAt::AnchoredBare) {
            segments.push(("{token}".to_owned(), Effect::Stay));
            return segments;
        }
        segments.extend(
            self.climb
                .iter()
                .map(|up| (UPS[*up].to_owned(), Effect::Pop)),
        );
        segments.extend(DESCENTS[self.descent].iter().map(|s| name(s)));
        for (position, step) in &self.noise {
            let segment = match step {
                Step::Up(i) => (UPS[*i].to_owned(), Effect::Pop),
                Step::Cur(i) => (CURS[*i].to_owned(), Effect::Stay),
                Step::Empty => (String::new(), Effect::Stay),
                Step::Name(i) => name(NAMES[*i]),
            };
            segments.insert(position % (segments.len() + 1), segment);
        }
        if let Some((position, decoration)) = self.decoration {
            if !segments.is_empty() {
                let index = position % segments.len();
                if let (raw, Effect::Push(_)) = &segments[index] {
                    let raw = decorate(raw, decoration);
                    segments[index] = name(&raw);
                }
            }
        }
        if anchor.is_some() {
            let at = match self.token {
                TokenAt::At(i) => i,
                _ => start_len,
            };
            segments.insert(at.min(segments.len()), ("{token}".to_owned(), Effect::Stay));
        }
        segments
    }

    /// The raw request target, with a `{token}` segment when a path-form link's `anchor` is
    /// given.
    fn target(&self, anchor: Option<&str>) -> String {
        let mut target = String::new();
        for (index, (raw, _)) in self.segments(anchor).iter().enumerate() {
            let separator = self
                .separators
                .iter()
                .find(|(at, _)| *at == index)
                .map_or("/", |(_, kind)| SEPARATORS[*kind]);
            target.push_str(if index == 0 { "/" } else { separator });
            target.push_str(raw);
        }
        if target.is_empty() || self.trailing_slash {
            target.push('/');
        }
        target
    }

    /// The path this target names when read plainly (dots resolved, every separator a `/`):
    /// the file a user would have minted a link for.
    fn resolved(&self) -> Option<String> {
        let mut stack: Vec<String> = Vec::new();
        for (_, effect) in self.segments(None) {
            match effect {
                Effect::Push(name) => stack.push(name),
                Effect::Pop => {
                    stack.pop()?;
                }
                Effect::Stay => {}
            }
        }
        let mut path = format!("/{}", stack.join("/"));
        if self.trailing_slash && !path.ends_with('/') {
            path.push('/');
        }
        Some(path)
    }
}

fn decode(text: &str) -> String {
    percent_decode(text)
}

/// Percent-decodes once (the tree's names are ASCII), leaving bad escapes as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn decorate(raw: &str, decoration: Decoration) -> String {
    match decoration {
        Decoration::EscapeFirst => match raw.chars().next() {
            Some(first) if first.is_ascii_alphanumeric() => {
                format!("%{:02X}{}", first as u32, &raw[1..])
            }
            _ => raw.to_owned(),
        },
        Decoration::Upper => raw.to_ascii_uppercase(),
        Decoration::Param => format!("{raw};x=1"),
        Decoration::EmptyParam => format!("{raw};"),
        Decoration::TrailingDot => format!("{raw}."),
    }
}

/// Which path a generated link is minted for.
#[derive(Clone, Copy, Debug)]
enum Minted {
    /// The path the target names when read plainly.
    Resolved,
    /// A file of the tree.
    File(usize),
}

#[derive(Clone, Copy, Debug)]
enum FolderChoice {
    /// The target's start folder.
    Start,
    /// The folder of the path the target names when read plainly.
    ResolvedParent,
    Folder(usize),
}

#[derive(Clone, Debug)]
struct Generated {
    config: usize,
    wiring: Wiring,
    shape: Shape,
    ordinary: Minted,
    opaque: Minted,
    folder: FolderChoice,
    folder_in_query: bool,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..UPS.len()).prop_map(Step::Up),
        2 => (0..CURS.len()).prop_map(Step::Cur),
        1 => Just(Step::Empty),
        2 => (0..NAMES.len()).prop_map(Step::Name),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    let climb = prop_oneof![
        3 => Just(0usize),
        1 => 0..UPS.len(),
    ];
    let decoration = prop_oneof![
        Just(Decoration::EscapeFirst),
        Just(Decoration::Upper),
        Just(Decoration::Param),
        Just(Decoration::EmptyParam),
        Just(Decoration::TrailingDot),
    ];
    (
        0..STARTS.len(),
        proptest::collection::vec(climb, 0..=4),
        0..DESCENTS.len(),
        proptest::collection::vec((0..8usize, step()), 0..=2),
        proptest::collection::vec((0..8usize, 0..SEPARATORS.len()), 0..=2),
        proptest::option::weighted(0.2, (0..8usize, decoration)),
        proptest::bool::weighted(0.2),
        prop_oneof![
            2 => Just(TokenAt::AfterStart),
            1 => (0..8usize).prop_map(TokenAt::At),
            2 => Just(TokenAt::Anchored),
            2 => Just(TokenAt::AnchoredBare),
        ],
    )
        .prop_map(
            |(start, climb, descent, noise, separators, decoration, trailing_slash, token)| Shape {
                start,
                climb,
                descent,
                noise,
                separators,
                decoration,
                trailing_slash,
                token,
            },
        )
}

fn minted() -> impl Strategy<Value = Minted> {
    prop_oneof![2 => Just(Minted::Resolved), 3 => (0..FILES.len()).prop_map(Minted::File)]
}

fn generated(wirings: Vec<Wiring>) -> impl Strategy<Value = Generated> {
    let folder = prop_oneof![
        2 => Just(FolderChoice::Start),
        1 => Just(FolderChoice::ResolvedParent),
        2 => (0..FOLDERS.len()).prop_map(FolderChoice::Folder),
    ];
    (
        0..configs().len(),
        proptest::sample::select(wirings),
        shape(),
        minted(),
        minted(),
        folder,
        any::<bool>(),
    )
        .prop_map(
            |(config, wiring, shape, ordinary, opaque, folder, folder_in_query)| Generated {
                config,
                wiring,
                shape,
                ordinary,
                opaque,
                folder,
                folder_in_query,
            },
        )
}

impl Generated {
    fn minted_path(&self, minted: Minted) -> Option<String> {
        match minted {
            Minted::Resolved => self.shape.resolved(),
            Minted::File(i) => Some(FILES[i].to_owned()),
        }
    }

    fn folder_path(&self) -> Option<String> {
        match self.folder {
            FolderChoice::Start => {
                let start = STARTS[self.shape.start];
                (!start.is_empty()).then(|| format!("/{}/", start.join("/")))
            }
            FolderChoice::ResolvedParent => {
                let resolved = self.shape.resolved()?;
                Some(resolved[..=resolved.rfind('/')?].to_owned())
            }
            FolderChoice::Folder(i) => Some(FOLDERS[i].to_owned()),
        }
    }

    /// The probes of this case, the link kinds filtered by `BOUNDARY_LINK`.
    fn probes(&self, kinds: &Option<String>) -> Vec<Probe> {
        let config = configs()[self.config];
        let plain = self.shape.target(None);
        let mut probes = vec![(plain.clone(), Link::None)];
        if let Some(path) = self.minted_path(self.ordinary) {
            probes.push((plain.clone(), Link::Ordinary(path)));
        }
        if let Some(prefix) = config.opaque {
            if let Some(path) = self.minted_path(self.opaque) {
                probes.push((self.shape.target(Some(prefix)), Link::Opaque(path)));
            }
        }
        if let Some(folder) = self.folder_path() {
            probes.push(if self.folder_in_query {
                (plain, Link::FolderQuery(folder))
            } else {
                (self.shape.target(Some(&folder)), Link::FolderPath(folder))
            });
        }
        probes
            .into_iter()
            .filter(|(_, link)| kinds.as_deref().map_or(true, |kind| link.kind() == kind))
            .map(|(target, link)| Probe {
                config,
                wiring: self.wiring,
                target,
                link,
            })
            .collect()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

fn wiring_named(name: &str) -> Wiring {
    *WIRINGS
        .iter()
        .find(|wiring| format!("{wiring:?}").eq_ignore_ascii_case(name))
        .unwrap_or_else(|| panic!("BOUNDARY_WIRING={name}: not one of {WIRINGS:?}"))
}

fn seed() -> [u8; 32] {
    match env("BOUNDARY_SEED") {
        Some(hex) => {
            let digits: Vec<u8> = (0..hex.len())
                .step_by(2)
                .filter_map(|i| {
                    hex.get(i..i + 2)
                        .and_then(|d| u8::from_str_radix(d, 16).ok())
                })
                .collect();
            digits
                .try_into()
                .unwrap_or_else(|_| panic!("BOUNDARY_SEED needs 64 hex digits"))
        }
        None => {
            // A fresh seed each run, so runs explore new cases; the summary prints it.
            use std::hash::{BuildHasher, Hasher};
            let mut seed = [0u8; 32];
            for chunk in seed.chunks_mut(8) {
                let random = std::collections::hash_map::RandomState::new()
                    .build_hasher()
                    .finish();
                chunk.copy_from_slice(&random.to_le_bytes());
            }
            seed
        }
    }
}

/// The generated boundary check; see the module docs for its knobs.
#[test]
fn no_private_bytes_without_a_link_for_them() {
    let cases: u32 = env("BOUNDARY_CASES").map_or(32_000, |n| n.parse().expect("BOUNDARY_CASES"));
    let wirings =
        env("BOUNDARY_WIRING").map_or_else(|| WIRINGS.to_vec(), |n| vec![wiring_named(&n)]);
    let kinds = env("BOUNDARY_LINK");
    let seed = seed();
    let seed_hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();

    let bench = Bench::new();
    let config = RunnerConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..RunnerConfig::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let started = Instant::now();
    let result = runner.run(&generated(wirings), |case| {
        for probe in case.probes(&kinds) {
            bench.check(&probe).map_err(TestCaseError::fail)?;
        }
        if kinds.is_none() {
            if let Minted::File(i) = case.ordinary {
                let config = configs()[case.config];
                bench
                    .check_served(config, case.wiring, FILES[i])
                    .map_err(TestCaseError::fail)?;
            }
        }
        Ok(())
    });
    let summary = format!(
        "{cases} cases, {} requests sent ({} targets http refuses, {} links not minted) in {:.1?}; \
         BOUNDARY_SEED={seed_hex}",
        bench.sent.get(),
        bench.unparsable.get(),
        bench.unminted.get(),
        started.elapsed(),
    );
    println!("{summary}");
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => {
            let message =
                format!("minimal failing case: {reason}\n  generated: {case:?}\n{summary}\n");
            if let Some(path) = env("BOUNDARY_FINDINGS") {
                use std::io::Write as _;
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .unwrap();
                writeln!(file, "{message}").unwrap();
            }
            panic!("{message}");
        }
        Err(error) => panic!("{error}\n{summary}"),
    }
}

/// A minimal failure found by the generator (or reported in issue 18), kept by name.
struct Case {
    name: &'static str,
    config: Config,
    wiring: Wiring,
    /// The raw target; `{token}` marks where a path-form token goes.
    target: &'static str,
    link: Link,
}

const fn config(
    private: &'static [&'static str],
    exceptions: &'static [&'static str],
    opaque: Option<&'static str>,
) -> Config {
    Config {
        private,
        exceptions,
        opaque,
    }
}

const THUMBS: Config = config(&["/files/"], &["/files/thumbnails/"], None);
const PUB_THUMBS: Config = config(&["/files/"], &["/files/pub/thumbs/"], None);
const TWO_MOUNTS_OPAQUE: Config = config(&["/files/", "/other/"], &[], Some("/files/s/"));

/// The cases, then the generator's minimal failures on the code before the fix (the
/// generator's own configuration kept, so each replays exactly).
#[rustfmt::skip]
fn regressions() -> Vec<Case> {
    use Link::{FolderPath, FolderQuery, Opaque, Ordinary};
    use Wiring::*;
    let case = |name, config, wiring, target, link| Case { name, config, wiring, target, link };
    let to = |path: &str| path.to_owned();
    vec![
        case("issue 18: climb out of an exception", THUMBS, RouterLayerNestService,
            "/files/thumbnails/../../report.pdf", Link::None),
        case("issue 18: climb out of an exception, escaped", THUMBS, RouterLayerNestService,
            "/files/thumbnails/%2e%2e/%2e%2e/report.pdf", Link::None),
        case("issue 18: climb out of an exception, half escaped", THUMBS, RouterLayerNestService,
            "/files/thumbnails/.%2e/.%2e/report.pdf", Link::None),
        case("issue 18: climb out of an exception, upper-case escapes", THUMBS, RouterLayerNestService,
            "/files/thumbnails/%2E%2E/%2E%2E/report.pdf", Link::None),
        case("issue 18: climb out of an exception's sub-folder", THUMBS, RouterLayerNestService,
            "/files/thumbnails/sub/../../../report.pdf", Link::None),
        case("issue 18: climb out of an exception after //", THUMBS, RouterLayerNestService,
            "/files/thumbnails//../../report.pdf", Link::None),
        case("issue 18: climb out of an exception after /./", THUMBS, RouterLayerNestService,
            "/files/thumbnails/./../../report.pdf", Link::None),
        case("issue 18: climb out of an exception, nest + fallback_service", THUMBS, RouterLayerNestFallback,
            "/files/thumbnails/../../report.pdf", Link::None),
        case("issue 18: climb out of a two-level exception", PUB_THUMBS, RouterLayerNestService,
            "/files/pub/thumbs/../../../report.pdf", Link::None),
        case("issue 18: opaque link for another mount, layer inside the nest", TWO_MOUNTS_OPAQUE, LayerInNest,
            "/files/s/{token}", Opaque(to("/other/x.pdf"))),
        case("issue 18: opaque link for another mount's sub-folder, layer inside the nest", TWO_MOUNTS_OPAQUE, LayerInNest,
            "/files/s/{token}", Opaque(to("/other/sub/y.pdf"))),
        case("issue 18: opaque link for another mount, Router::layer", TWO_MOUNTS_OPAQUE, TwoMountsRouterLayer,
            "/files/s/{token}", Opaque(to("/other/x.pdf"))),
        case("issue 18: opaque link for another mount, nest + fallback_service", TWO_MOUNTS_OPAQUE, TwoMountsNestFallback,
            "/files/s/{token}", Opaque(to("/other/x.pdf"))),
        case("generator: climb out of an exception to the mount's index file",
            config(&["/files/"], &["/files/thumbnails/", "/files/pub/thumbs/"], None), RouterLayerNestService,
            "/files/thumbnails/../..", Link::None),
        case("generator: climb out of a public parent of an exception",
            config(&["/files/"], &["/files/pub/", "/files/sub/"], None), RouterLayerNestFallback,
            "/files/pub/../../..", Link::None),
        case("generator: three levels up, two mounts",
            config(&["/files"], &["/files/thumbnails/"], None), TwoMountsRouterLayer,
            "/files/thumbnails/../../../report.pdf", Link::None),
        case("generator: a link for a public path at the root climbs into a private file",
            config(&["/files/", "/other/"], &["/files/pub/thumbs/"], None), RouterLayerNestService,
            "/files/pub/thumbs/../../../thumbnails/a.png", Ordinary(to("/thumbnails/a.png"))),
        case("generator: a link for the site's index climbs out of an exception",
            config(&["/files/"], &["/files/thumbnails/"], None), TwoMountsRouterLayer,
            "/files/thumbnails/../../..", Ordinary(to("/index.html"))),
        case("generator: the exception's own folder link, climbed out of",
            config(&["/files"], &["/files/thumbnails/"], None), RouterLayerNestService,
            "/files/thumbnails/../..", FolderQuery(to("/files/thumbnails/"))),
        case("generator: a folder link for a sub-folder of an exception, climbed out of",
            config(&["/files/"], &["/files/pub/thumbs/"], None), RouterLayerNestFallback,
            "/files/pub/thumbs/../sub/../../..", FolderQuery(to("/files/pub/thumbs/sub/"))),
        case("generator: a folder token inside a public folder, climbed over",
            config(&["/files/"], &["/files/pub/thumbs/", "/files/pub/"], None), TwoMountsNestFallback,
            "/files/pub/{token}/../../..", FolderPath(to("/files/sub/"))),
        // A climbed-over token's target does not matter; the generator's links were for public
        // targets, which the signer now refuses to hide, so these name a private file.
        case("generator: an opaque token inside an exception, climbed over",
            config(&["/files"], &["/files/thumbnails/", "/files/pub/thumbs/"], Some("/s/")), RouterLayerNestService,
            "/files/thumbnails/{token}/../../..", Opaque(to("/files/x.pdf"))),
        case("generator: an opaque token climbed over into a sibling private folder",
            config(&["/files"], &["/files/thumbnails/", "/files/sub/"], Some("/s/")), RouterLayerNestFallback,
            "/files/thumbnails/{token}/../../../pub/secret.pdf", Opaque(to("/files/x.pdf"))),
        case("generator: a backslash before an opaque token, climbed over",
            config(&["/files"], &["/files/thumbnails/"], Some("/s/")), TwoMountsRouterLayer,
            "/files/thumbnails/sub\\{token}/../../..", Opaque(to("/files/x.pdf"))),
        case("generator: an opaque link for the site root, layer inside the nest",
            // (The generator's configuration also made `/files/s/` a public exception; an
            // opaque prefix overlapping an exception is refused when the layer is built now.)
            config(&["/"], &["/files/thumbnails/"], Some("/files/s/")), LayerInNest,
            "/files/s/{token}", Opaque(to("/"))),
        case("generator: an opaque link for the site root, with_mount_path",
            config(&["/"], &["/files/pub/thumbs/", "/files/sub/"], Some("/files/s/")), MountPathStripped,
            "/files/s/{token}", Opaque(to("/"))),
        case("generator: an opaque link for another mount, with_mount_path", TWO_MOUNTS_OPAQUE, MountPathStripped,
            "/files/s/{token}", Opaque(to("/other/x.pdf"))),
    ]
}

/// Every kept minimal failure, each through the same oracle.
#[test]
fn kept_regressions() {
    let bench = Bench::new();
    let mut failures = String::new();
    for case in regressions() {
        let probe = Probe {
            config: case.config,
            wiring: case.wiring,
            target: case.target.to_owned(),
            link: case.link,
        };
        if bench.send(&probe).is_none() {
            let _ = writeln!(failures, "{}: could not be sent\n", case.name);
        } else if let Err(failure) = bench.check(&probe) {
            let _ = writeln!(failures, "{}: {failure}\n", case.name);
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// The other half of the oracle for every wiring and configuration: canonical links to every
/// file the wiring serves get that file, so the generated test cannot pass by refusing all.
#[test]
fn every_wiring_serves_valid_links() {
    let bench = Bench::new();
    let mut failures = Vec::new();
    for (i, config) in configs().iter().enumerate() {
        for wiring in WIRINGS {
            // Every configuration once per wiring would be slow; a stride visits each private
            // set, exception pair and opaque prefix in some wiring.
            if (i + *wiring as usize) % 7 != 0 {
                continue;
            }
            for file in FILES {
                if let Err(failure) = bench.check_served(*config, *wiring, file) {
                    failures.push(failure);
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures, the first:\n{}",
        failures.len(),
        failures.first().unwrap()
    );
}
