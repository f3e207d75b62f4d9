//! The path boundary against a real nginx (issue 18, item 2, the nginx half): a tree whose every
//! file holds its own URL path, served by nginx with the block `secure-link nginx-config` prints
//! for the private location, and several thousand generated request targets (dot segments plain,
//! escaped and in mixed case, `..;`, `;`, `//`, `/./`, `\`, `%5c`, `%2f`, `%00`, double escapes,
//! case variants, trailing `/`, climbs into and out of the private location), each sent with no
//! link, with the token and expiry of a link minted for the file it names, and with those of a
//! link minted for another file.
//!
//! Three oracles, each a failure with the target, the link's file, nginx's answer and the file
//! that came back:
//!
//! 1. nginx alone: the verifying nginx never returns the bytes of a file under the private alias
//!    unless the request carried a link minted for exactly that file.
//! 2. The crate's reading against nginx's: for every target the crate's nginx scheme verifies
//!    (a layer built as `serve --format nginx` builds it) as path P, the verifying nginx serves
//!    nothing or exactly P, and nginx's `$uri` for that target never lies in the private
//!    location unless it is P. A second nginx that maps without verifying (same location line,
//!    same alias, `$uri` in a header) tells where nginx reads a target.
//! 3. The crate in front of nginx: the request the layer hands on (its canonical path, or the
//!    target untouched when it is public) never makes nginx open a private file other than the
//!    one verified, and a request the layer let through as public never lands in the private
//!    location.
//!
//! `NGINX_BOUNDARY_TARGETS` (default 5000) sets how many targets are generated and
//! `NGINX_BOUNDARY_SEED` the generator's seed; a failure message names the seed and the
//! smallest target found (by greedy shrinking) that still breaks the same oracle. The ignored
//! `explain` test shows what each side makes of given targets.
#![cfg(feature = "nginx")]

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use std::time::Instant;

use axum::Router;
use http::{Method, Uri};
use percent_encoding::percent_decode_str;
use tower::Layer as _;
use tower_secure_link::nginx::NginxScheme;
use tower_secure_link::{Access, SecureLinkLayer};

use support::{nginx_binary, open_up, raw_request, run_cli, Nginx, RawResponse};

/// nginx takes it as written; it needs no escaping in nginx's syntax.
const SECRET: &str = "boundary s3cr3t, for this test only";
/// Far enough ahead that no link expires while the test runs.
const EXPIRES: u64 = 2_147_483_647;
const DEFAULT_TARGETS: u64 = 5000;
const DEFAULT_SEED: u64 = 0x5ec0_7e11_b0a7_d001;
/// Client threads; nginx runs one worker with 64 connections.
const CLIENTS: usize = 4;

/// Files under the private alias, named by their decoded URL path (which is also their content).
const PRIVATE_FILES: &[&str] = &[
    "/private/file.txt",
    "/private/my file.txt",
    "/private/semi;colon.txt",
    "/private/a.b.c.txt",
    "/private/.hidden",
    "/private/é.txt",
    "/private/日本/ファイル.txt",
    "/private/100%.txt",
    "/private/pct/%41.txt",
    "/private/pct/A.txt",
    "/private/a+b.txt",
    "/private/sub/file.txt",
    "/private/sub/deep.txt",
    "/private/sub/inner/x.txt",
    "/private/sub dir/x y.txt",
    "/private/sub\\file.txt",
    "/private/public/file.txt",
    "/private/private/file.txt",
];

/// Files outside it: a public folder beside it, names that look like it, the same relative
/// names at the root (what a wrong `alias` would open).
const PUBLIC_FILES: &[&str] = &[
    "/file.txt",
    "/index.txt",
    "/sub/file.txt",
    "/public/file.txt",
    "/public/my file.txt",
    "/public/semi;colon.txt",
    "/public/é.txt",
    "/public/sub/file.txt",
    "/public/sub/inner/x.txt",
    "/public/private/file.txt",
    "/private-other/file.txt",
    "/privatefile.txt",
    "/PRIVATE/file.txt",
    "/Private/file.txt",
];

/// Destinations that are no file: folders, missing names, the location itself.
const OTHER_DESTINATIONS: &[&str] = &[
    "/private/sub/",
    "/private/",
    "/private",
    "/private/missing.txt",
    "/public/",
    "/",
];

/// The smallest cases of disagreements this test found, sent on every run, bare and with the
/// link for `/private/file.txt`: a `\` or a name that trimming empties hid an nginx `%2F` climb
/// from the layer, which passed them as public.
const FOUND_BEFORE: &[&str] = &[
    "/x%5Ce/..%2Fprivate/file.txt",
    "/x\\e/..%2Fprivate/file.txt",
    "/private%2F%5c.%2e",
    "/private%2F%20%2F..%2Ffile.txt",
    "/private%2F...%2F..%2Ffile.txt",
    "/private%2F..%20%2F..%2Ffile.txt",
];

/// Folders a climb starts from (decoded segments).
const STARTS: &[&[&str]] = &[
    &[],
    &["public"],
    &["public", "sub"],
    &["private"],
    &["private", "sub"],
    &["private", "sub", "inner"],
    &["private-other"],
    &["PRIVATE"],
    &["nothere", "x"],
];

/// Names a detour (`name/..`) goes through.
const DETOURS: &[&str] = &["private", "public", "sub", "x", "private..", "..."];

const DOT: &[&str] = &[".", "%2e", "%2E", ".;", "%2e;", ".%3b"];
const DOT_DOT: &[&str] = &[
    "..",
    "%2e%2e",
    "%2E%2E",
    "%2e%2E",
    ".%2e",
    "%2e.",
    ".%2E",
    "%2E.",
    "..;",
    "..;x",
    "%2e%2e;",
    "..%3B",
    "%252e%252e",
    ".%252e",
];
const ODD_SEPARATORS: &[&str] = &[
    "//", "/./", "\\", "%5c", "%5C", "%2f", "%2F", "%252f", "/%2e/", "/;/", "///", "/.;/",
];

/// SplitMix64: a small seeded generator, so a failing run can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Clone)]
enum Segment {
    Name(String),
    Dot,
    DotDot,
}

/// A request target aimed at `destination` (a decoded path), reached some roundabout way and
/// spelled some odd way. Always ASCII without spaces, so it fits a request line as it is.
fn generate(rng: &mut Rng, destination: &str) -> String {
    let mut segments = Vec::new();
    if !rng.one_in(3) {
        let start = rng.pick(STARTS);
        segments.extend(start.iter().map(|name| Segment::Name((*name).to_owned())));
        // One level short lands beside the destination, one too many climbs above the root.
        let ups = (start.len() as isize + rng.pick(&[-1isize, 0, 0, 0, 1])).max(0);
        segments.extend((0..ups).map(|_| Segment::DotDot));
    }
    let names: Vec<Segment> = destination[1..]
        .split('/')
        .map(|name| Segment::Name(name.to_owned()))
        .collect();
    segments.extend(names);
    for _ in 0..rng.below(3) {
        let at = rng.below(segments.len() + 1);
        if rng.one_in(2) {
            segments.insert(at, Segment::Name(rng.pick(DETOURS).to_string()));
            segments.insert(at + 1, Segment::DotDot);
        } else {
            segments.insert(at, Segment::Dot);
        }
    }
    if rng.one_in(5) {
        mutate_a_name(rng, &mut segments);
    }

    let mut target = String::from(if rng.one_in(15) { "//" } else { "/" });
    for (index, segment) in segments.iter().enumerate() {
        if index > 0 {
            target.push_str(if rng.one_in(6) {
                rng.pick::<&str>(ODD_SEPARATORS)
            } else {
                "/"
            });
        }
        match segment {
            Segment::Name(name) => encode_name(rng, name, &mut target),
            Segment::Dot => target.push_str(rng.pick::<&str>(DOT)),
            Segment::DotDot => target.push_str(rng.pick::<&str>(DOT_DOT)),
        }
    }
    match rng.below(24) {
        0..=2 => target.push('/'),
        3 => target.push_str("%00"),
        4 => target.push_str("/."),
        5 => target.push_str("/.."),
        6 => target.push_str("%2e"),
        7 => target.push_str("%zz"),
        _ => {}
    }
    target
}

/// Changes one name the ways servers disagree about: case, `;` parameters, trailing dots and
/// spaces (which some platforms drop), an embedded NUL.
fn mutate_a_name(rng: &mut Rng, segments: &mut [Segment]) {
    let named: Vec<usize> = (0..segments.len())
        .filter(|at| matches!(&segments[*at], Segment::Name(name) if !name.is_empty()))
        .collect();
    if named.is_empty() {
        return;
    }
    let Segment::Name(name) = &mut segments[*rng.pick(&named)] else {
        unreachable!()
    };
    match rng.below(8) {
        0 => *name = name.to_uppercase(),
        1 => {
            let mut chars = name.chars();
            let first = chars.next().unwrap().to_uppercase().to_string();
            *name = first + chars.as_str();
        }
        2 => name.push_str(";x"),
        3 => name.push(';'),
        4 => name.push('.'),
        5 => name.push_str(".."),
        6 => name.push(' '),
        _ => name.push('\0'),
    }
}

/// Percent-encodes a decoded name for a request line: what must be escaped always is (in upper
/// or lower case hex, now and then escaped twice), `;` and `\` sometimes are, and any other
/// byte now and then is too.
fn encode_name(rng: &mut Rng, name: &str, out: &mut String) {
    let twice = rng.one_in(25);
    for &byte in name.as_bytes() {
        let plain = byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@".contains(&byte);
        let optional = matches!(byte, b';' | b'\\');
        let escape = !(plain || optional) || (optional && rng.one_in(2)) || rng.one_in(10);
        if !escape {
            out.push(byte as char);
            continue;
        }
        if twice && rng.one_in(2) {
            out.push_str("%25");
        } else {
            out.push('%');
        }
        let hex = if rng.one_in(2) {
            format!("{byte:02X}")
        } else {
            format!("{byte:02x}")
        };
        out.push_str(&hex);
    }
}

/// Every byte of a decoded path that is not unreserved (or `/`) percent-encoded: the form the
/// signers are given, so `%` and `;` in a name stay part of the name.
fn encode_for_signing(path: &str) -> String {
    let mut out = String::new();
    for &byte in path.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn write_tree(root: &Path) {
    for path in PRIVATE_FILES.iter().chain(PUBLIC_FILES) {
        let file = root.join(&path[1..]);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, path).unwrap();
    }
    open_up(root);
}

/// The file a response body is, if it is one of the tree's.
fn file_of(body: &[u8]) -> Option<&'static str> {
    PRIVATE_FILES
        .iter()
        .chain(PUBLIC_FILES)
        .copied()
        .find(|path| path.as_bytes() == body)
}

fn is_private(file: &str) -> bool {
    PRIVATE_FILES.contains(&file)
}

/// What the crate's layer made of a request.
#[derive(Debug, Clone)]
enum CrateSays {
    /// Refused, with the status and the rejection's label (or not even a URI `http` accepts,
    /// which a server answers with 400).
    Refused(String),
    /// Public; the inner service got `forwarded`.
    Public { forwarded: String },
    /// Admitted by a valid link for the decoded path `path`; the inner service got `forwarded`.
    Signed { forwarded: String, path: String },
}

impl CrateSays {
    /// What the layer handed to the inner service, when it let the request through.
    fn forwarded(&self) -> Option<&str> {
        match self {
            Self::Refused(_) => None,
            Self::Public { forwarded } | Self::Signed { forwarded, .. } => Some(forwarded),
        }
    }
}

impl fmt::Display for CrateSays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(why) => write!(f, "refused ({why})"),
            Self::Public { forwarded } => write!(f, "public, handed on as {forwarded:?}"),
            Self::Signed { forwarded, path } => {
                write!(f, "admitted {path:?}, handed on as {forwarded:?}")
            }
        }
    }
}

/// One request: a target and the link whose token and expiry it carries, if any.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Case {
    /// The target without the link's query.
    path: String,
    /// Index into `PRIVATE_FILES` of the file the link was minted for.
    link_for: Option<usize>,
}

impl Case {
    fn link_file(&self) -> Option<&'static str> {
        self.link_for.map(|index| PRIVATE_FILES[index])
    }
}

/// What nginx answered about one case.
struct Answers<'a> {
    /// The verifying nginx, for the whole target.
    verified: &'a RawResponse,
    /// The mapping nginx, for the target's path.
    raw: &'a RawResponse,
    /// The mapping nginx, for what the layer handed on (when it let the request through).
    behind: Option<&'a RawResponse>,
}

/// A broken promise: which oracle, and what happened.
struct Finding {
    oracle: &'static str,
    what: String,
}

/// Where the mapping nginx put a target: its location (`private` or `public`; none when nginx
/// refused it before choosing one) and its `$uri`.
fn mapping(response: &RawResponse) -> (Option<&str>, Option<&str>) {
    (
        response.header("x-location"),
        response.header("x-mapped-uri"),
    )
}

fn describe(response: &RawResponse) -> String {
    let file = file_of(&response.body).map_or_else(
        || format!("{} bytes of no file of the tree", response.body.len()),
        |file| format!("the file {file:?}"),
    );
    format!("{} with {file}", response.status)
}

/// Every promise one case breaks.
fn judge(case: &Case, says: &CrateSays, answers: &Answers<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut found = |oracle, what| findings.push(Finding { oracle, what });
    let link_file = case.link_file();
    let served = (answers.verified.status == 200)
        .then(|| file_of(&answers.verified.body))
        .flatten();
    // 1. nginx alone.
    if let Some(file) = served.filter(|file| is_private(file)) {
        if link_file != Some(file) {
            let answer = describe(answers.verified);
            found(
                "nginx alone",
                format!("the verifying nginx answered {answer}"),
            );
        }
    }
    match says {
        CrateSays::Signed { path, .. } => {
            if link_file != Some(path.as_str()) {
                found("crate", "the link was not minted for that path".to_owned());
            }
            // 2. The crate's reading against nginx's.
            if answers.verified.status == 200 && served != Some(path.as_str()) {
                let answer = describe(answers.verified);
                found("reading", format!("the verifying nginx answered {answer}"));
            }
            let (location, uri) = mapping(answers.raw);
            if location == Some("private") && uri != Some(path.as_str()) {
                found(
                    "reading",
                    format!("nginx reads it as {uri:?} in the private location"),
                );
            }
            // 3. The crate in front of nginx.
            if let Some(behind) = answers.behind {
                let (location, uri) = mapping(behind);
                if location == Some("private") && uri != Some(path.as_str()) {
                    let answer = describe(behind);
                    found(
                        "in front",
                        format!("nginx behind the layer read it as {uri:?}, answered {answer}"),
                    );
                }
            }
        }
        CrateSays::Public { .. } => {
            if let Some(behind) = answers.behind {
                if let (Some("private"), uri) = mapping(behind) {
                    let answer = describe(behind);
                    found(
                        "in front",
                        format!(
                            "passed as public; nginx behind the layer read it as {uri:?} in the \
                             private location, answered {answer}"
                        ),
                    );
                }
            }
        }
        CrateSays::Refused(_) => {}
    }
    findings
}

/// The tree, both nginx processes and the crate's layer.
struct Harness {
    verifying: Nginx,
    mapper: Nginx,
    layer: SecureLinkLayer,
    app: Router,
    runtime: tokio::runtime::Runtime,
    /// The link minted for each private file (`None`: the signer refuses the name).
    links: Vec<Option<String>>,
    _tree: tempfile::TempDir,
}

impl Harness {
    fn start(nginx: &Path) -> Self {
        let tree = tempfile::tempdir().unwrap();
        write_tree(tree.path());
        let tree_dir = tree.path().display().to_string();
        let alias = format!("{tree_dir}/private/");

        // The verifying nginx: the block `nginx-config` prints, the whole tree served beside it.
        let output = run_cli(
            &["nginx-config", "--location", "/private/", "--alias", &alias],
            &[("SECURE_LINK_KEY", SECRET)],
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let block = String::from_utf8(output.stdout).unwrap();
        let public = format!(
            "location / {{\n    root \"{tree_dir}\";\n    add_header X-Location public always;\n}}\n"
        );
        let verifying = Nginx::start(nginx, &format!("{block}{public}"));

        // The mapping nginx: the same location line and alias without the verification, and
        // `$uri` in a header, to tell where nginx reads a target even when it refuses it.
        let location_line = block
            .lines()
            .find(|line| line.starts_with("location "))
            .expect("nginx-config prints a location block")
            .trim_end_matches('{')
            .trim();
        let alias_line = block
            .lines()
            .map(str::trim)
            .find(|line| line.starts_with("alias "))
            .expect("the block serves its folder with alias");
        let mapper = Nginx::start(
            nginx,
            &format!(
                "{location_line} {{\n    {alias_line}\n    add_header X-Location private always;\n    \
                 add_header X-Mapped-Uri \"$uri\" always;\n}}\n\
                 location / {{\n    root \"{tree_dir}\";\n    add_header X-Location public always;\n    \
                 add_header X-Mapped-Uri \"$uri\" always;\n}}\n"
            ),
        );

        // The crate: a layer built as `serve --format nginx` builds it, outside an axum router
        // whose only handler echoes the URI it was handed.
        let layer = SecureLinkLayer::nginx(NginxScheme::new(SECRET))
            .unwrap()
            .with_private_prefix("/private/")
            .unwrap();
        let echo = Router::new().fallback(|uri: Uri| async move { uri.to_string() });
        let app = Router::new().fallback_service(layer.layer(echo));

        // A link for every private file from the library's signer; `secure-link sign` must mint
        // the same ones.
        let signer = layer.signer();
        let expires = EXPIRES.to_string();
        let links = PRIVATE_FILES
            .iter()
            .map(|file| {
                let encoded = encode_for_signing(file);
                let minted = signer
                    .nginx_link(&encoded)
                    .expires_at(EXPIRES)
                    .to_target()
                    .ok();
                let args = ["sign", "--format", "nginx", "--expires", &expires, &encoded];
                let from_cli = run_cli(&args, &[("SECURE_LINK_KEY", SECRET)]);
                let from_cli = from_cli.status.success().then(|| {
                    String::from_utf8(from_cli.stdout)
                        .unwrap()
                        .trim()
                        .to_owned()
                });
                assert_eq!(
                    from_cli, minted,
                    "sign --format nginx and the library, {file:?}"
                );
                minted
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        Self {
            verifying,
            mapper,
            layer,
            app,
            runtime,
            links,
            _tree: tree,
        }
    }

    /// The whole request target of a case: its path and its link's query.
    fn target(&self, case: &Case) -> String {
        let query = case
            .link_for
            .and_then(|index| self.links[index].as_deref())
            .and_then(|link| link.split_once('?'))
            .map(|(_, query)| query);
        match query {
            Some(query) => format!("{}?{query}", case.path),
            None => case.path.clone(),
        }
    }

    /// What the layer makes of a target, by `check` and through the router.
    fn crate_says(&self, target: &str) -> CrateSays {
        let Ok(uri) = target.parse::<Uri>() else {
            return CrateSays::Refused("not a URI, 400".into());
        };
        let checked = self.layer.check(&Method::GET, &uri);
        let (status, kind, body) =
            self.runtime
                .block_on(support::send(&self.app, Method::GET, target));
        match checked {
            Err(rejection) => {
                assert_eq!(kind, Some(rejection.kind()), "{target}");
                assert!(status.is_client_error(), "{status} for {target}");
                CrateSays::Refused(format!(
                    "{}, {}",
                    status.as_u16(),
                    rejection.kind().as_str()
                ))
            }
            Ok(access) => {
                assert_eq!(status, 200, "check admitted {target}, the router did not");
                if matches!(access, Access::Public) {
                    CrateSays::Public { forwarded: body }
                } else {
                    let path = body.split('?').next().unwrap_or("");
                    let path = percent_decode_str(path).decode_utf8_lossy().into_owned();
                    CrateSays::Signed {
                        forwarded: body,
                        path,
                    }
                }
            }
        }
    }

    /// Judges one case with fresh requests.
    fn judge_now(&self, case: &Case) -> (CrateSays, Vec<Finding>) {
        let target = self.target(case);
        let says = self.crate_says(&target);
        let verified = raw_request(&self.verifying.addr, "GET", target.as_bytes());
        let raw = raw_request(&self.mapper.addr, "GET", case.path.as_bytes());
        let behind = says
            .forwarded()
            .map(|forwarded| raw_request(&self.mapper.addr, "GET", forwarded.as_bytes()));
        let answers = Answers {
            verified: &verified,
            raw: &raw,
            behind: behind.as_ref(),
        };
        let findings = judge(case, &says, &answers);
        (says, findings)
    }

    /// The smallest case found, by greedy steps, that still breaks `oracle`.
    fn shrink(&self, mut case: Case, oracle: &str) -> Case {
        loop {
            let still_fails = |candidate: &Case| {
                self.judge_now(candidate)
                    .1
                    .iter()
                    .any(|finding| finding.oracle == oracle)
            };
            match smaller(&case).into_iter().find(still_fails) {
                Some(smaller) => case = smaller,
                None => return case,
            }
        }
    }
}

/// Cases a step smaller than `case` (a shorter path, or no link): a segment dropped or renamed
/// `a`, an escape of a letter or digit written plainly, a double escape made single, one byte
/// dropped.
fn smaller(case: &Case) -> Vec<Case> {
    let path = &case.path;
    let mut paths = Vec::new();
    let pieces: Vec<&str> = path[1..].split('/').collect();
    for at in 0..pieces.len() {
        let mut fewer = pieces.clone();
        fewer.remove(at);
        paths.push(format!("/{}", fewer.join("/")));
        if pieces[at].len() > 1 {
            let mut renamed = pieces.clone();
            renamed[at] = "a";
            paths.push(format!("/{}", renamed.join("/")));
        }
    }
    let bytes = path.as_bytes();
    for at in (0..bytes.len()).filter(|at| bytes[*at] == b'%') {
        let Some(hex) = path.get(at + 1..at + 3) else {
            continue;
        };
        if let Ok(byte) = u8::from_str_radix(hex, 16) {
            if byte.is_ascii_alphanumeric() || (byte == b'%' && path.len() > at + 3) {
                paths.push(format!(
                    "{}{}{}",
                    &path[..at],
                    byte as char,
                    &path[at + 3..]
                ));
            }
        }
    }
    for at in 1..path.len() {
        if path.is_char_boundary(at) && path.is_char_boundary(at + 1) {
            paths.push(format!("{}{}", &path[..at], &path[at + 1..]));
        }
    }
    let mut out = Vec::new();
    if case.link_for.is_some() {
        out.push(Case {
            path: path.clone(),
            link_for: None,
        });
    }
    out.extend(
        paths
            .into_iter()
            .filter(|candidate| candidate.len() < path.len() && candidate.starts_with('/'))
            .map(|path| Case {
                path,
                link_for: case.link_for,
            }),
    );
    out
}

/// Sends every target to `addr` from a few threads; the answers in order.
fn fetch_all(addr: &str, targets: &[String]) -> Vec<RawResponse> {
    let chunk = targets.len().div_ceil(CLIENTS).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = targets
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|target| raw_request(addr, "GET", target.as_bytes()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap())
            .collect()
    })
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={text:?} is not a number")))
}

#[test]
fn nginx_and_the_crate_read_every_target_alike() {
    let Some(nginx) = nginx_binary() else { return };
    let started = Instant::now();
    let targets_wanted = env_number("NGINX_BOUNDARY_TARGETS").unwrap_or(DEFAULT_TARGETS);
    let seed = env_number("NGINX_BOUNDARY_SEED").unwrap_or(DEFAULT_SEED);
    let harness = Harness::start(&nginx);
    let unsignable: Vec<&str> = PRIVATE_FILES
        .iter()
        .zip(&harness.links)
        .filter(|(_, link)| link.is_none())
        .map(|(file, _)| *file)
        .collect();
    let signable: Vec<usize> = (0..PRIVATE_FILES.len())
        .filter(|index| harness.links[*index].is_some())
        .collect();

    // Every link as minted must work everywhere, or a broken harness would pass.
    for &index in &signable {
        let link = harness.links[index].as_deref().unwrap();
        let file = PRIVATE_FILES[index];
        let (path, _) = link.split_once('?').unwrap();
        let case = Case {
            path: path.to_owned(),
            link_for: Some(index),
        };
        let (says, findings) = harness.judge_now(&case);
        assert!(
            matches!(&says, CrateSays::Signed { path, .. } if path == file),
            "the crate must admit {link} for {file:?}: {says}"
        );
        let served = raw_request(&harness.verifying.addr, "GET", link.as_bytes());
        assert_eq!(
            (served.status, file_of(&served.body)),
            (200, Some(file)),
            "nginx must serve {link}\n{}",
            harness.verifying.error_log()
        );
        assert!(findings.is_empty(), "{link}: {}", findings[0].what);
    }

    // The generated targets, each bare, with the link of the file it aims at, and with the
    // link of another private file.
    let mut rng = Rng(seed);
    let mut cases: Vec<Case> = FOUND_BEFORE
        .iter()
        .flat_map(|path| {
            [None, Some(0)].map(|link_for| Case {
                path: (*path).to_owned(),
                link_for,
            })
        })
        .collect();
    for _ in 0..targets_wanted {
        let destination = match rng.below(10) {
            0..=5 => *rng.pick(PRIVATE_FILES),
            6..=8 => *rng.pick(PUBLIC_FILES),
            _ => *rng.pick(OTHER_DESTINATIONS),
        };
        let path = generate(&mut rng, destination);
        let own = PRIVATE_FILES
            .iter()
            .position(|file| *file == destination)
            .filter(|index| harness.links[*index].is_some());
        let other = *rng.pick(&signable);
        let mut links = vec![None];
        if own.is_some() {
            links.push(own);
        }
        if own != Some(other) {
            links.push(Some(other));
        }
        cases.extend(links.into_iter().map(|link_for| Case {
            path: path.clone(),
            link_for,
        }));
    }

    let targets: Vec<String> = cases.iter().map(|case| harness.target(case)).collect();
    let crate_says: Vec<CrateSays> = targets
        .iter()
        .map(|target| harness.crate_says(target))
        .collect();
    let verified = fetch_all(&harness.verifying.addr, &targets);
    let mut to_map: BTreeSet<String> = cases.iter().map(|case| case.path.clone()).collect();
    to_map.extend(
        crate_says
            .iter()
            .filter_map(|says| says.forwarded().map(str::to_owned)),
    );
    let to_map: Vec<String> = to_map.into_iter().collect();
    let mapped: HashMap<&str, RawResponse> = to_map
        .iter()
        .map(String::as_str)
        .zip(fetch_all(&harness.mapper.addr, &to_map))
        .collect();
    let requests = targets.len() + to_map.len();

    let mut failures: BTreeMap<&'static str, Vec<(Case, String)>> = BTreeMap::new();
    let (mut served_altered, mut admitted_altered) = (0, 0);
    for ((case, says), verified) in cases.iter().zip(&crate_says).zip(&verified) {
        let answers = Answers {
            verified,
            raw: &mapped[case.path.as_str()],
            behind: says.forwarded().map(|forwarded| &mapped[forwarded]),
        };
        if verified.status == 200 && file_of(&verified.body).is_some_and(is_private) {
            served_altered += 1;
        }
        if matches!(says, CrateSays::Signed { .. }) {
            admitted_altered += 1;
        }
        for finding in judge(case, says, &answers) {
            let link = case.link_file().unwrap_or("none");
            let line = format!(
                "{:?} (link for {link:?}; crate: {says}): {}",
                harness.target(case),
                finding.what
            );
            failures
                .entry(finding.oracle)
                .or_default()
                .push((case.clone(), line));
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "nginx boundary: seed {seed:#x}, {targets_wanted} targets, {} cases, {requests} requests \
         to nginx, {elapsed:.1?}; nginx served {served_altered} private files, the crate \
         admitted {admitted_altered}; the signer refuses {unsignable:?}",
        cases.len(),
    );

    if !failures.is_empty() {
        let mut report =
            format!("the boundary broke (seed {seed:#x}, NGINX_BOUNDARY_SEED replays it)\n");
        for (oracle, found) in &failures {
            let (first, _) = &found[0];
            let minimal = harness.shrink(first.clone(), oracle);
            let (says, findings) = harness.judge_now(&minimal);
            let what = findings
                .iter()
                .find(|finding| finding.oracle == *oracle)
                .map_or("", |finding| finding.what.as_str());
            report.push_str(&format!(
                "\n[{oracle}] {} cases; smallest found: {:?} (link for {:?}; crate: {says}): \
                 {what}\n",
                found.len(),
                harness.target(&minimal),
                minimal.link_file().unwrap_or("none"),
            ));
            for (_, line) in found.iter().take(8) {
                report.push_str(&format!("  {line}\n"));
            }
        }
        panic!("{report}");
    }
    // The oracles must have had something to judge.
    if targets_wanted >= 500 {
        assert!(served_altered > 0, "nginx never served an altered target");
        assert!(
            admitted_altered > 0,
            "the crate never admitted an altered target"
        );
    }
}

/// Prints what the crate and both nginx make of the targets in `NGINX_BOUNDARY_EXPLAIN` (one
/// per line, each optionally followed by a space and the private file whose link it carries),
/// to look at a finding: `NGINX_BOUNDARY_EXPLAIN='/private/%2e%2e/x /private/file.txt' cargo
/// test --all-features --test nginx_boundary -- --ignored --nocapture`.
#[test]
#[ignore = "a tool: run by hand with NGINX_BOUNDARY_EXPLAIN"]
fn explain() {
    let Some(nginx) = nginx_binary() else { return };
    let harness = Harness::start(&nginx);
    let wanted = std::env::var("NGINX_BOUNDARY_EXPLAIN").unwrap_or_default();
    for line in wanted
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
    {
        let (path, file) = line.split_once(' ').unwrap_or((line, ""));
        let link_for = PRIVATE_FILES.iter().position(|known| *known == file);
        let case = Case {
            path: path.to_owned(),
            link_for,
        };
        let target = harness.target(&case);
        let (says, findings) = harness.judge_now(&case);
        let verified = raw_request(&harness.verifying.addr, "GET", target.as_bytes());
        let raw = raw_request(&harness.mapper.addr, "GET", path.as_bytes());
        println!("{target}\n  crate: {says}");
        println!("  verifying nginx: {}", describe(&verified));
        println!(
            "  nginx reads it as {:?} ({:?})",
            mapping(&raw).1,
            mapping(&raw).0
        );
        if let Some(forwarded) = says.forwarded() {
            let behind = raw_request(&harness.mapper.addr, "GET", forwarded.as_bytes());
            println!(
                "  behind the layer: {forwarded:?} is read as {:?} ({:?}), {}",
                mapping(&behind).1,
                mapping(&behind).0,
                describe(&behind)
            );
        }
        for finding in findings {
            println!("  BROKEN [{}]: {}", finding.oracle, finding.what);
        }
    }
}
