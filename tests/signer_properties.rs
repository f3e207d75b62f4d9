//! Sign only what verifies. Over the signer's whole option space (plain, opaque and folder links,
//! upload slots, methods, not-before, expiry, ttl, window, one-time, group, version, cookie
//! sessions, maximum values, the longest key id, long paths and queries, odd but legal
//! characters, and every combination of them), every link the signer mints, the layer accepts;
//! what the signer refuses, it refuses with the typed `SignError` a model of the rules predicts,
//! and never with a panic.
//!
//! The model is written from the documented rules, not from the signer's code: when the two
//! disagree, one of them is wrong. `SIGNER_PROPERTY_CASES` raises the number of generated cases
//! (256 by default, which keeps this file at a few seconds).

mod support;

use std::time::Duration;

use http::{HeaderValue, Method, Request, StatusCode, Uri};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use proptest::prelude::*;
use tower::Layer as _;
use tower_secure_link::{
    Access, Key, ManualClock, RejectionKind, SecureLinkLayer, SignError, SignErrorKind, UrlSigner,
};

/// The largest number a link carries (seconds and bytes are read as signed 64-bit numbers).
const MAX_NUMBER: u64 = i64::MAX as u64;
/// The longest request target `http::Uri` parses.
const MAX_TARGET: usize = u16::MAX as usize - 1;
const BASE: &str = "https://files.example.com";
const OPAQUE_PREFIX: &str = "/s/";

fn cases() -> u32 {
    std::env::var("SIGNER_PROPERTY_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(256)
}

// ---------------------------------------------------------------------------------------------
// What is generated.

/// How the layer that mints and verifies is configured.
#[derive(Debug, Clone)]
struct Config {
    key_id: String,
    ed25519: bool,
    param_prefix: &'static str,
    prefixes: Prefixes,
    opaque_prefix: bool,
    max_lifetime: u64,
    /// `None`: the default lifetime (one hour); `Some(true)`: as long as the maximum.
    default_is_max: bool,
    leeway: u64,
    now: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefixes {
    /// No prefix configured: every path is private.
    Everything,
    /// `/private/` with the public exception `/private/pub/`.
    WithException,
    /// `/private/` and `/media/x/`.
    Two,
}

/// Where a target starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Root,
    Private,
    Exception,
    Media,
    Public,
    Opaque,
    /// `/PRIVATE/`: the private prefix in another ASCII case.
    CaseVariant,
}

impl Area {
    fn path(self) -> &'static str {
        match self {
            Area::Root => "",
            Area::Private => "/private",
            Area::Exception => "/private/pub",
            Area::Media => "/media/x",
            Area::Public => "/pub",
            Area::Opaque => "/s",
            Area::CaseVariant => "/PRIVATE",
        }
    }
}

#[derive(Debug, Clone)]
enum Segment {
    /// Odd but legal characters (and escapes of them): always signable.
    Good(String),
    /// Starts like a folder token (`<prefix>t~`).
    Marker,
    /// A bad escape, an escaped `/`, NUL or invalid UTF-8: never signable.
    Bad(&'static str),
    /// Dot segments, `;`, `\` and friends: the signer may refuse them or sign their canonical
    /// form, but what it signs must verify.
    Questionable(&'static str),
    /// `a` repeated.
    Long(usize),
}

#[derive(Debug, Clone)]
enum QueryPart {
    Text(String),
    /// A name the signing parameters reserve, in one of three spellings.
    Reserved(u8),
    /// `q=bbbb...`.
    Long(usize),
}

#[derive(Debug, Clone)]
struct Target {
    area: Area,
    segments: Vec<Segment>,
    trailing_slash: bool,
    query: Option<Vec<QueryPart>>,
}

#[derive(Debug, Clone, Copy)]
enum Expiry {
    Default,
    In(Duration),
    At(u64),
    /// Seconds from now (negative: in the past).
    AtFromNow(i64),
}

#[derive(Debug, Clone, Copy)]
enum NotBefore {
    At(u64),
    FromNow(i64),
    AtExpiry,
    AfterExpiry,
}

#[derive(Debug, Clone)]
struct PlainOptions {
    method: &'static str,
    expiry: Expiry,
    not_before: Option<NotBefore>,
    window: Option<Duration>,
    one_time: bool,
    max_body: Option<u64>,
    version: Option<String>,
    group: Option<String>,
    opaque: bool,
    as_url: bool,
}

#[derive(Debug, Clone)]
struct FolderOptions {
    path_form: bool,
    expiry: Expiry,
    window: Option<Duration>,
    session: Option<Duration>,
}

#[derive(Debug, Clone)]
enum Kind {
    Plain(PlainOptions),
    Folder(FolderOptions),
}

#[derive(Debug, Clone)]
struct Case {
    target: Target,
    kind: Kind,
}

fn config() -> impl Strategy<Value = Config> {
    (
        prop_oneof![
            Just("1".to_owned()),
            "[A-Za-z0-9._-]{1,32}",
            Just("k".repeat(32)),
        ],
        any::<bool>(),
        prop::sample::select(vec!["sl_", "x", "link.v2-", "abcdefghijklmnop"]),
        prop::sample::select(vec![
            Prefixes::Everything,
            Prefixes::WithException,
            Prefixes::Two,
        ]),
        any::<bool>(),
        prop::sample::select(vec![3600, 604_800, 315_360_000, u64::MAX]),
        any::<bool>(),
        prop::sample::select(vec![0, 5, 300]),
        prop_oneof![
            Just(0),
            Just(1_767_222_000),
            0u64..=4_000_000_000,
            Just(MAX_NUMBER - 1000),
            Just(MAX_NUMBER),
        ],
    )
        .prop_map(
            |(
                key_id,
                ed25519,
                param_prefix,
                prefixes,
                opaque_prefix,
                max_lifetime,
                default_is_max,
                leeway,
                now,
            )| Config {
                key_id,
                ed25519: ed25519 && cfg!(feature = "ed25519"),
                param_prefix,
                prefixes,
                opaque_prefix,
                max_lifetime,
                default_is_max,
                leeway,
                now,
            },
        )
}

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        // The first character never starts `private`, `pub`, `media` or `s`, so a segment never
        // moves the target into another area.
        6 => "[a-lnoq-rt-zA-LNOQ-RT-Z0-9é漢_~-]([a-zA-Z0-9 !$&'()*+,=:@~é漢_.-]{0,10}[a-zA-Z0-9é漢_-])?"
            .prop_map(Segment::Good),
        1 => prop::sample::select(vec!["%20x", "%C3%A9t%C3%A9", "%7Eu", "%41b", "a%2Bb", "%25", "a%3Db"])
            .prop_map(|text| Segment::Good(text.to_owned())),
        1 => Just(Segment::Marker),
        1 => prop::sample::select(vec!["%2F", "a%2fb", "%00", "%ZZ", "%FF", "a%"]).prop_map(Segment::Bad),
        1 => prop::sample::select(vec![
            ";", "a;b", "..;", ".;", "%3B", ".", "..", "a.", "a ", "%2e", "%2E%2E", "a\\b", "%5C",
            "x%2e%2e", "~", "a..b",
        ])
        .prop_map(Segment::Questionable),
        1 => prop::sample::select(vec![255, 5000, 60_000, 70_000]).prop_map(Segment::Long),
    ]
}

fn query_part() -> impl Strategy<Value = QueryPart> {
    prop_oneof![
        4 => "[a-z]{1,4}(=[a-zA-Z0-9%+]{0,6})?".prop_map(QueryPart::Text),
        3 => "[a-zA-Z0-9!$'()*+,;:@/?~._=é #\\[\\]{}|\"^`<>%-]{0,8}".prop_map(QueryPart::Text),
        1 => Just(QueryPart::Text(String::new())),
        1 => (0u8..3).prop_map(QueryPart::Reserved),
        1 => prop::sample::select(vec![1500, 64_000]).prop_map(QueryPart::Long),
    ]
}

fn target() -> impl Strategy<Value = Target> {
    (
        prop::sample::select(vec![
            Area::Root,
            Area::Private,
            Area::Private,
            Area::Private,
            Area::Exception,
            Area::Media,
            Area::Public,
            Area::Opaque,
            Area::CaseVariant,
        ]),
        prop::collection::vec(segment(), 0..4),
        any::<bool>(),
        prop::option::of(prop::collection::vec(query_part(), 0..5)),
    )
        .prop_map(|(area, segments, trailing_slash, query)| Target {
            area,
            segments,
            trailing_slash,
            query,
        })
}

fn seconds(values: Vec<u64>) -> impl Strategy<Value = Duration> {
    prop::sample::select(values).prop_map(Duration::from_secs)
}

fn expiry() -> impl Strategy<Value = Expiry> {
    prop_oneof![
        2 => Just(Expiry::Default),
        2 => prop_oneof![
            seconds(vec![0, 1, 59, 3600, 604_800, 604_801, 315_360_000, u64::MAX]),
            Just(Duration::from_millis(1500)),
            Just(Duration::MAX),
        ]
        .prop_map(Expiry::In),
        1 => prop::sample::select(vec![0, 1, MAX_NUMBER, MAX_NUMBER + 1, u64::MAX]).prop_map(Expiry::At),
        2 => prop::sample::select(vec![-100, 0, 60, 604_800, 604_801]).prop_map(Expiry::AtFromNow),
    ]
}

fn window() -> impl Strategy<Value = Option<Duration>> {
    prop::option::of(prop_oneof![
        seconds(vec![0, 1, 60, 3600, 604_800, u64::MAX]),
        Just(Duration::from_millis(500)),
    ])
}

fn plain_options() -> impl Strategy<Value = PlainOptions> {
    (
        prop::sample::select(vec![
            "GET",
            "GET",
            "HEAD",
            "POST",
            "PUT",
            "DELETE",
            "PATCH",
            "OPTIONS",
            "PROPFIND",
            "ABCDEFGHIJKLMNOP",
            "ABCDEFGHIJKLMNOPQ",
            "get",
            "M-SEARCH",
        ]),
        expiry(),
        prop::option::of(prop_oneof![
            prop::sample::select(vec![0, MAX_NUMBER, u64::MAX]).prop_map(NotBefore::At),
            prop::sample::select(vec![-10, 0, 30, 4000]).prop_map(NotBefore::FromNow),
            Just(NotBefore::AtExpiry),
            Just(NotBefore::AfterExpiry),
        ]),
        window(),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![
            0,
            1,
            1 << 20,
            MAX_NUMBER,
            MAX_NUMBER + 1,
            u64::MAX,
        ])),
        prop::option::of(prop_oneof![
            prop::sample::select(vec![
                "\"v1\"",
                "W/\"abc\"",
                "Wed, 21 Oct 2026 07:28:00 GMT",
                "Wed, 21 Oct 2026 07:28:00 GMT; size=12",
                "é",
                "",
                "a\nb",
                "\u{7f}",
            ])
            .prop_map(str::to_owned),
            prop::sample::select(vec![192, 193]).prop_map(|len| "v".repeat(len)),
        ]),
        prop::option::of(prop_oneof![
            prop::sample::select(vec!["a", "team-a.b_c", "", "a b", "é", "a/b"])
                .prop_map(str::to_owned),
            prop::sample::select(vec![64, 65]).prop_map(|len| "g".repeat(len)),
        ]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                method,
                expiry,
                not_before,
                window,
                one_time,
                max_body,
                version,
                group,
                opaque,
                as_url,
            )| {
                PlainOptions {
                    method,
                    expiry,
                    not_before,
                    window,
                    one_time,
                    max_body,
                    version,
                    group,
                    opaque,
                    as_url,
                }
            },
        )
}

fn folder_options() -> impl Strategy<Value = FolderOptions> {
    (
        any::<bool>(),
        expiry(),
        window(),
        prop::option::of(prop_oneof![
            seconds(vec![
                0,
                1,
                3600,
                604_801,
                MAX_NUMBER,
                MAX_NUMBER + 1,
                u64::MAX
            ]),
            Just(Duration::from_millis(500)),
        ]),
    )
        .prop_map(|(path_form, expiry, window, session)| FolderOptions {
            path_form,
            expiry,
            window,
            session,
        })
}

fn case() -> impl Strategy<Value = Case> {
    (
        target(),
        prop_oneof![
            3 => plain_options().prop_map(Kind::Plain),
            2 => folder_options().prop_map(Kind::Folder),
        ],
    )
        .prop_map(|(mut target, kind)| {
            if matches!(kind, Kind::Folder(_)) {
                // A folder is a path without a query.
                target.query = None;
            }
            Case { target, kind }
        })
}

// ---------------------------------------------------------------------------------------------
// The layer and the signer under test.

impl Config {
    fn layer(&self, clock: &ManualClock) -> SecureLinkLayer {
        let key = if self.ed25519 {
            ed25519_key(&self.key_id)
        } else {
            Key::new(self.key_id.clone(), [9u8; 32]).unwrap()
        };
        let mut layer = SecureLinkLayer::new(key)
            .with_clock(clock.clone())
            .with_param_prefix(self.param_prefix)
            .unwrap()
            .with_max_lifetime(Duration::from_secs(self.max_lifetime))
            .unwrap()
            .with_leeway(Duration::from_secs(self.leeway))
            .unwrap();
        if self.default_is_max {
            layer = layer
                .with_default_lifetime(Duration::from_secs(self.max_lifetime))
                .unwrap();
        }
        match self.prefixes {
            Prefixes::Everything => {}
            Prefixes::WithException => {
                layer = layer
                    .with_private_prefix("/private/")
                    .unwrap()
                    .with_public_exception("/private/pub/")
                    .unwrap();
            }
            Prefixes::Two => {
                layer = layer
                    .with_private_prefix("/private/")
                    .unwrap()
                    .with_private_prefix("/media/x/")
                    .unwrap();
            }
        }
        if self.opaque_prefix {
            layer = layer.with_opaque_prefix(OPAQUE_PREFIX).unwrap();
        }
        layer
    }

    fn default_lifetime(&self) -> u64 {
        if self.default_is_max {
            self.max_lifetime
        } else {
            3600
        }
    }

    fn class(&self, area: Area) -> Class {
        use Area::*;
        match (self.prefixes, area) {
            (Prefixes::Everything, _) => Class::Private,
            (_, CaseVariant) => Class::Refused,
            (_, Private) => Class::Private,
            (Prefixes::Two, Exception | Media) => Class::Private,
            _ => Class::Public,
        }
    }
}

#[cfg(feature = "ed25519")]
fn ed25519_key(id: &str) -> Key {
    Key::ed25519(id, [5u8; 32]).unwrap()
}

#[cfg(not(feature = "ed25519"))]
fn ed25519_key(_: &str) -> Key {
    unreachable!("ed25519 keys are only generated with the feature")
}

impl Expiry {
    fn absolute(self, config: &Config) -> Option<u64> {
        match self {
            Expiry::Default => None,
            Expiry::In(_) => None,
            Expiry::At(at) => Some(at),
            Expiry::AtFromNow(offset) => Some(from_now(config.now, offset)),
        }
    }
}

fn from_now(now: u64, offset: i64) -> u64 {
    if offset < 0 {
        now.saturating_sub(offset.unsigned_abs())
    } else {
        now.saturating_add(offset as u64)
    }
}

impl Target {
    fn render(&self, prefix: &str) -> String {
        let mut out = self.area.path().to_owned();
        for segment in &self.segments {
            out.push('/');
            match segment {
                Segment::Good(text) => out.push_str(text),
                Segment::Marker => {
                    out.push_str(prefix);
                    out.push_str("t~x");
                }
                Segment::Bad(text) | Segment::Questionable(text) => out.push_str(text),
                Segment::Long(len) => out.push_str(&"a".repeat(*len)),
            }
        }
        if self.trailing_slash || self.segments.is_empty() {
            out.push('/');
        }
        if let Some(parts) = &self.query {
            out.push('?');
            let rendered: Vec<String> = parts.iter().map(|part| part.render(prefix)).collect();
            out.push_str(&rendered.join("&"));
        }
        out
    }

    fn query_parts(&self, prefix: &str) -> Vec<String> {
        self.query
            .iter()
            .flatten()
            .map(|part| part.render(prefix))
            .collect()
    }

    /// Bytes the target takes in any link: long runs count exactly, the rest at most thrice
    /// (percent-encoding).
    fn size_bounds(&self, prefix: &str) -> (usize, usize) {
        let rendered = self.render(prefix).len();
        let long: usize = self
            .segments
            .iter()
            .map(|segment| match segment {
                Segment::Long(len) => *len,
                _ => 0,
            })
            .sum::<usize>()
            + self
                .query
                .iter()
                .flatten()
                .map(|part| match part {
                    QueryPart::Long(len) => len + 2,
                    _ => 0,
                })
                .sum::<usize>();
        (long, long + 3 * (rendered - long))
    }
}

impl QueryPart {
    fn render(&self, prefix: &str) -> String {
        match self {
            QueryPart::Text(text) => text.clone(),
            QueryPart::Reserved(0) => format!("{prefix}exp=1"),
            QueryPart::Reserved(1) => format!("{}SIG=x", prefix.to_ascii_uppercase()),
            QueryPart::Reserved(_) => {
                format!("%{:02X}{}x=1", prefix.as_bytes()[0], &prefix[1..])
            }
            QueryPart::Long(len) => format!("q={}", "b".repeat(*len)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The model: what the documented rules say minting gives.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Private,
    Public,
    /// The layer refuses the path before looking at a link (another case of a private prefix).
    Refused,
}

#[derive(Debug, Default)]
struct Expectation {
    /// Definite faults: minting must fail, with one of these or of `possible`.
    faults: Vec<SignErrorKind>,
    /// Refusals the rules allow but do not demand (a questionable path, a length near the limit,
    /// two faults of which either may be reported).
    possible: Vec<SignErrorKind>,
    /// Where the layer puts the target; `None` when the path is questionable.
    class: Option<Class>,
    expires: Option<u64>,
    not_before: Option<u64>,
}

impl Expectation {
    fn fault(&mut self, kind: SignErrorKind) {
        self.faults.push(kind);
    }

    fn allows(&self, kind: SignErrorKind) -> bool {
        self.faults.contains(&kind) || self.possible.contains(&kind)
    }
}

/// Whether a query parameter name starts with the reserved prefix, in any case or escaping.
fn reserved(name: &str, prefix: &str) -> bool {
    let starts = |bytes: &[u8]| {
        bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    };
    starts(name.as_bytes()) || starts(&percent_decode_str(name).collect::<Vec<u8>>())
}

fn is_group(group: &str) -> bool {
    (1..=64).contains(&group.len())
        && group
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The expiry a link gets (the lifetime from now, or the time given, rounded up to a multiple
/// of the window), or why it cannot have it.
fn model_expiry(
    config: &Config,
    expiry: Expiry,
    window: Option<Duration>,
    expect: &mut Expectation,
) -> Option<u64> {
    let now = config.now;
    let mut expires = match expiry {
        Expiry::Default => now.saturating_add(config.default_lifetime()),
        Expiry::In(lifetime) => now.saturating_add(lifetime.as_secs()),
        _ => expiry.absolute(config).unwrap_or_default(),
    };
    if let Some(window) = window.map(|window| window.as_secs()).filter(|w| *w > 0) {
        expires = expires.div_ceil(window).saturating_mul(window);
    }
    let mut ok = true;
    if expires > now.saturating_add(config.max_lifetime) {
        expect.fault(SignErrorKind::LifetimeTooLong);
        ok = false;
    }
    if expires > MAX_NUMBER {
        expect.fault(SignErrorKind::OutOfRange);
        ok = false;
    }
    ok.then_some(expires)
}

fn model(config: &Config, case: &Case) -> Expectation {
    let mut expect = Expectation::default();
    let target = &case.target;
    let prefix = config.param_prefix;
    let marker = format!("{prefix}t~");

    // The path.
    let mut questionable = false;
    let mut holds_marker = false;
    let mut bad = false;
    for segment in &target.segments {
        match segment {
            Segment::Good(text) => {
                let decoded = percent_decode_str(text).decode_utf8_lossy();
                holds_marker |= decoded.starts_with(&marker);
            }
            Segment::Marker => holds_marker = true,
            Segment::Bad(_) => bad = true,
            Segment::Questionable(_) => questionable = true,
            Segment::Long(_) => {}
        }
    }
    // A `..` after a bad segment removes it: the signer then signs what is left.
    if bad && !questionable {
        expect.fault(SignErrorKind::InvalidTarget);
    }
    let class = config.class(target.area);
    if class == Class::Refused && !questionable {
        expect.fault(SignErrorKind::InvalidTarget);
    }
    if questionable {
        // The canonical form may land anywhere, or the signer may refuse to guess.
        expect.possible.extend([
            SignErrorKind::InvalidTarget,
            SignErrorKind::NotPrivate,
            SignErrorKind::ReservedPath,
        ]);
    } else {
        expect.class = Some(class);
    }
    let opaque = matches!(&case.kind, Kind::Plain(options) if options.opaque);
    let under_opaque_prefix = config.opaque_prefix && target.area == Area::Opaque;
    // The layer reads any path under the opaque prefix as an opaque link, and looks for a
    // folder token in private paths only.
    // (A questionable path may resolve out of the area it starts in.)
    if !opaque
        && !questionable
        && (under_opaque_prefix || (holds_marker && class == Class::Private))
    {
        expect.fault(SignErrorKind::ReservedPath);
    }

    // The query.
    if target
        .query_parts(prefix)
        .iter()
        .any(|part| reserved(part.split('=').next().unwrap_or(""), prefix))
    {
        expect.fault(SignErrorKind::ReservedParameter);
    }

    // The link's length.
    let (least, most) = target.size_bounds(prefix);
    let query_form = matches!(&case.kind, Kind::Folder(options) if !options.path_form);
    let (least, most) = if opaque {
        (least * 4 / 3, most * 4 / 3 + 2000)
    } else if query_form {
        // The folder is in the path and again in the query.
        (least * 2, most * 2 + 1500)
    } else {
        (least, most + 1500)
    };
    // (A `..` may remove a long segment.)
    if least > MAX_TARGET && !questionable {
        expect.fault(SignErrorKind::TooLong);
    } else if most > MAX_TARGET || least > MAX_TARGET {
        expect.possible.push(SignErrorKind::TooLong);
    }

    match &case.kind {
        Kind::Plain(options) => {
            if !(1..=16).contains(&options.method.len())
                || !options.method.bytes().all(|b| b.is_ascii_uppercase())
            {
                expect.fault(SignErrorKind::InvalidMethod);
            }
            if let Some(version) = &options.version {
                let trimmed = version.trim_matches(|c| c == ' ' || c == '\t');
                let valid = !version.is_empty()
                    && version.len() <= 192
                    && trimmed.len() == version.len()
                    && HeaderValue::from_bytes(version.as_bytes()).is_ok();
                if !valid {
                    expect.fault(SignErrorKind::InvalidVersion);
                }
                if options.method != "GET" {
                    expect.fault(SignErrorKind::VersionNeedsGet);
                }
            }
            if options
                .group
                .as_deref()
                .is_some_and(|group| !is_group(group))
            {
                expect.fault(SignErrorKind::InvalidGroup);
            }
            if options.max_body.is_some_and(|limit| limit > MAX_NUMBER) {
                expect.fault(SignErrorKind::OutOfRange);
            }
            if options.opaque {
                if !config.opaque_prefix {
                    expect.fault(SignErrorKind::NoOpaquePrefix);
                }
                if config.ed25519 {
                    expect.fault(SignErrorKind::VerifyOnlyKey);
                }
                if class == Class::Public && !questionable {
                    expect.fault(SignErrorKind::NotPrivate);
                }
            }
            let expires = model_expiry(config, options.expiry, options.window, &mut expect);
            expect.expires = expires;
            let not_before = options.not_before.map(|not_before| match not_before {
                NotBefore::At(at) => Some(at),
                NotBefore::FromNow(offset) => Some(from_now(config.now, offset)),
                NotBefore::AtExpiry => expires,
                NotBefore::AfterExpiry => expires.map(|at| at.saturating_add(1)),
            });
            match (not_before, expires) {
                (Some(Some(not_before)), Some(expires)) if not_before > expires => {
                    expect.fault(SignErrorKind::InvalidTimes);
                    if not_before > MAX_NUMBER {
                        expect.possible.push(SignErrorKind::OutOfRange);
                    }
                }
                (Some(Some(not_before)), _) => expect.not_before = Some(not_before),
                // The expiry already failed: the not-before time may fail too.
                (Some(None), _) => expect.possible.push(SignErrorKind::InvalidTimes),
                (None, _) => {}
            }
            if expires.is_none() {
                expect.possible.push(SignErrorKind::InvalidTimes);
            }
        }
        Kind::Folder(options) => {
            if !target.trailing_slash && !target.segments.is_empty() {
                expect.fault(SignErrorKind::InvalidTarget);
            }
            if options
                .session
                .is_some_and(|session| session.as_secs() == 0)
            {
                expect.fault(SignErrorKind::InvalidTimes);
            }
            if options.session.is_some() && !options.path_form {
                expect.fault(SignErrorKind::NotSupportedByScheme);
            }
            if options.path_form && class != Class::Private {
                if questionable {
                    expect.possible.push(SignErrorKind::NotPrivate);
                } else if class == Class::Public {
                    expect.fault(SignErrorKind::NotPrivate);
                }
            }
            if options.path_form && questionable {
                expect.possible.push(SignErrorKind::NotPrivate);
            }
            expect.expires = model_expiry(config, options.expiry, options.window, &mut expect);
        }
    }
    if !expect.faults.is_empty() {
        // Where several rules are broken, the signer may name any of them.
        let faults = expect.faults.clone();
        expect.possible.extend(faults);
    }
    expect
}

// ---------------------------------------------------------------------------------------------
// Minting and checking.

fn mint(
    signer: &UrlSigner,
    config: &Config,
    case: &Case,
    target: &str,
) -> Result<String, SignError> {
    match &case.kind {
        Kind::Plain(options) => {
            let mut link = signer
                .link(target)
                .method(Method::from_bytes(options.method.as_bytes()).unwrap());
            link = match options.expiry {
                Expiry::Default => link,
                Expiry::In(lifetime) => link.expires_in(lifetime),
                expiry => link.expires_at(expiry.absolute(config).unwrap()),
            };
            if let Some(not_before) = options.not_before {
                // Minting needs the expiry the signer computes; the model names it.
                let mut scratch = Expectation::default();
                let expires = model_expiry(config, options.expiry, options.window, &mut scratch)
                    .unwrap_or(config.now);
                link = link.not_before(match not_before {
                    NotBefore::At(at) => at,
                    NotBefore::FromNow(offset) => from_now(config.now, offset),
                    NotBefore::AtExpiry => expires,
                    NotBefore::AfterExpiry => expires.saturating_add(1),
                });
            }
            if let Some(window) = options.window {
                link = link.window(window);
            }
            if options.one_time {
                link = link.one_time();
            }
            if let Some(limit) = options.max_body {
                link = link.max_body_size(limit);
            }
            if let Some(version) = &options.version {
                link = link.version(version);
            }
            if let Some(group) = &options.group {
                link = link.group(group);
            }
            if options.opaque {
                link = link.opaque();
            }
            if options.as_url {
                link.to_url(BASE)
                    .map(|url| url.strip_prefix(BASE).unwrap().to_owned())
            } else {
                link.to_target()
            }
        }
        Kind::Folder(options) => {
            let mut link = signer.folder_link(target);
            link = match options.expiry {
                Expiry::Default => link,
                Expiry::In(lifetime) => link.expires_in(lifetime),
                expiry => link.expires_at(expiry.absolute(config).unwrap()),
            };
            if let Some(window) = options.window {
                link = link.window(window);
            }
            if let Some(session) = options.session {
                link = link.cookie_session(session);
            }
            if options.path_form {
                link.to_path_base()
            } else {
                link.to_query()
            }
        }
    }
}

/// A canonical path segment, as SPEC.md writes it.
const SEGMENT_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// The request targets a minted link is tried with, and the methods.
fn requests(config: &Config, case: &Case, link: &str) -> (Vec<String>, Vec<Method>) {
    let reads = vec![Method::GET, Method::HEAD];
    match &case.kind {
        Kind::Plain(options) => {
            let methods = if options.method == "GET" {
                reads
            } else {
                vec![Method::from_bytes(options.method.as_bytes()).unwrap()]
            };
            (vec![link.to_owned()], methods)
        }
        Kind::Folder(options) if options.path_form => (
            vec![
                link.to_owned(),
                format!("{link}f.txt"),
                format!("{link}d/f%20g.txt"),
            ],
            reads,
        ),
        Kind::Folder(_) => {
            // The folder the link names: `<prefix>prefix=`, decoded once, written canonically.
            let name = format!("{}prefix=", config.param_prefix);
            let value = link
                .split('&')
                .find_map(|pair| pair.strip_prefix(&name))
                .expect("a folder link in the query names its folder");
            let folder = percent_decode_str(value).decode_utf8().unwrap();
            let canonical: Vec<String> = folder
                .split('/')
                .map(|segment| utf8_percent_encode(segment, SEGMENT_ESCAPE).to_string())
                .collect();
            let path = canonical.join("/");
            (
                vec![
                    format!("{path}f.txt?{link}"),
                    format!("{path}d/f.txt?a=1&{link}"),
                ],
                reads,
            )
        }
    }
}

fn check(
    layer: &SecureLinkLayer,
    config: &Config,
    method: &Method,
    target: &str,
) -> Result<Result<Access, RejectionKind>, TestCaseError> {
    let uri: Uri = target.parse().map_err(|error| {
        TestCaseError::fail(format!(
            "the layer cannot even parse {:?}: {error}",
            short(target)
        ))
    })?;
    let quick = layer
        .check(method, &uri)
        .map_err(|rejection| rejection.kind());
    let request = Request::builder()
        .method(method.clone())
        .uri(uri)
        .header("host", "127.0.0.1")
        .body(())
        .unwrap();
    let whole = layer
        .check_request(&request)
        .map_err(|rejection| rejection.kind());
    prop_assert_eq!(
        quick,
        whole,
        "check and check_request disagree ({:?})",
        config
    );
    Ok(quick)
}

/// Long links shortened for failure messages.
fn short(text: &str) -> String {
    if text.len() <= 240 {
        return text.to_owned();
    }
    let head: String = text.chars().take(120).collect();
    let tail: String = text
        .chars()
        .rev()
        .take(100)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head}...({} bytes)...{tail}", text.len())
}

fn run(config: &Config, case: &Case) -> Result<(), TestCaseError> {
    let clock = ManualClock::new(config.now);
    let layer = config.layer(&clock);
    let signer = layer.signer();
    let target = case.target.render(config.param_prefix);
    let expect = model(config, case);
    let minted = mint(&signer, config, case, &target);
    let link = match minted {
        Err(error) => {
            prop_assert!(
                expect.allows(error.kind()),
                "{:?} was refused with {:?} ({error}); the rules say {:?}, or possibly {:?}",
                short(&target),
                error.kind(),
                expect.faults,
                expect.possible
            );
            prop_assert!(!error.to_string().is_empty());
            return Ok(());
        }
        Ok(link) => link,
    };
    prop_assert!(
        expect.faults.is_empty(),
        "{:?} was minted as {:?} although the rules refuse it: {:?}",
        short(&target),
        short(&link),
        expect.faults
    );
    let expires = expect.expires.expect("a minted link has an expiry");
    let (targets, methods) = requests(config, case, &link);

    // Before its start, a link is not yet valid.
    if let Some(not_before) = expect.not_before {
        if not_before > config.now.saturating_add(config.leeway)
            && expect.class == Some(Class::Private)
        {
            for target in &targets {
                let outcome = check(&layer, config, &methods[0], target)?;
                prop_assert_eq!(
                    outcome,
                    Err(RejectionKind::NotYetValid),
                    "{}",
                    short(target)
                );
            }
        }
    }
    // From its start (now, or its not-before time), it is accepted until it expires.
    let at = config.now.max(expect.not_before.unwrap_or(0));
    clock.set(at);
    let expired = at > expires.saturating_add(config.leeway);
    for target in &targets {
        for method in &methods {
            let outcome = check(&layer, config, method, target)?;
            let fine = match (expect.class, outcome) {
                (_, Ok(Access::Public)) => expect.class != Some(Class::Private),
                (Some(Class::Private) | None, Ok(Access::Signed)) => !expired,
                (Some(Class::Private) | None, Err(RejectionKind::Expired)) => expired,
                _ => false,
            };
            prop_assert!(
                fine,
                "{method} {} was answered {outcome:?}; expected it accepted ({:?}, expired: \
                 {expired})",
                short(target),
                expect.class
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Every link the signer mints, the layer accepts; every refusal is one the rules predict.
    #[test]
    fn what_the_signer_mints_the_layer_accepts(config in config(), case in case()) {
        run(&config, &case)?;
    }
}

/// A few cases with everything at its limit at once, so they run on every `cargo test` whatever
/// the generator picks.
#[test]
fn links_at_every_limit_verify() {
    let now = 1_767_222_000;
    let config = Config {
        key_id: "k".repeat(32),
        ed25519: false,
        param_prefix: "abcdefghijklmnop",
        prefixes: Prefixes::WithException,
        opaque_prefix: true,
        max_lifetime: u64::MAX,
        default_is_max: false,
        leeway: 300,
        now,
    };
    let plain = |method: &'static str, opaque: bool, expiry: Expiry| PlainOptions {
        method,
        expiry,
        not_before: Some(NotBefore::AtExpiry),
        window: Some(Duration::from_secs(1)),
        one_time: true,
        max_body: Some(MAX_NUMBER),
        version: (method == "GET").then(|| "v".repeat(192)),
        group: Some("g".repeat(64)),
        opaque,
        as_url: true,
    };
    let long = Target {
        area: Area::Private,
        segments: vec![
            Segment::Good("é !$&'()*+,=:@~漢_.-x".to_owned()),
            Segment::Long(20_000),
        ],
        trailing_slash: false,
        query: Some(vec![
            QueryPart::Text("a=%zz&b=é #[]{}|\"^`<>".to_owned()),
            QueryPart::Long(10_000),
        ]),
    };
    let folder = Target {
        segments: vec![Segment::Long(30_000)],
        trailing_slash: true,
        query: None,
        ..long.clone()
    };
    let cases = [
        Case {
            target: long.clone(),
            kind: Kind::Plain(plain("GET", false, Expiry::At(MAX_NUMBER))),
        },
        Case {
            target: long.clone(),
            kind: Kind::Plain(plain(
                "ABCDEFGHIJKLMNOP",
                true,
                Expiry::In(Duration::from_secs(MAX_NUMBER - now)),
            )),
        },
        Case {
            target: folder.clone(),
            kind: Kind::Folder(FolderOptions {
                path_form: true,
                expiry: Expiry::At(MAX_NUMBER),
                window: Some(Duration::from_secs(1)),
                session: Some(Duration::MAX),
            }),
        },
        Case {
            target: folder,
            kind: Kind::Folder(FolderOptions {
                path_form: false,
                expiry: Expiry::At(MAX_NUMBER),
                window: None,
                session: None,
            }),
        },
    ];
    for case in &cases {
        let expect = model(&config, case);
        assert!(
            expect.faults.is_empty(),
            "{}: {:?}",
            short(&format!("{case:?}")),
            expect.faults
        );
        let clock = ManualClock::new(now);
        let signer = config.layer(&clock).signer();
        let target = case.target.render(config.param_prefix);
        if let Err(error) = mint(&signer, &config, case, &target) {
            panic!("{} was refused: {error}", short(&target));
        }
        run(&config, case).unwrap();
    }
}

/// The known bug: a folder link with the longest cookie session was minted but refused as
/// malformed. Through a real router and `ServeDir`, it now serves the file and sets a cookie
/// capped at the maximum lifetime, which then admits the folder on its own.
#[tokio::test]
async fn the_longest_cookie_session_serves_and_sets_a_capped_cookie() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private/videos")).unwrap();
    std::fs::write(root.path().join("private/videos/a.ts"), "segment a").unwrap();
    let layer = SecureLinkLayer::new(Key::new("1", [4u8; 32]).unwrap())
        .with_private_prefix("/private/")
        .unwrap();
    let link = layer
        .signer()
        .folder_link("/private/videos/")
        .cookie_session(Duration::from_secs(u64::MAX))
        .to_path_base()
        .unwrap();
    let app = layer.layer(
        axum::Router::new().fallback_service(tower_http::services::ServeDir::new(root.path())),
    );
    let send = |target: String, cookie: Option<String>| {
        let app = app.clone();
        async move {
            use tower::ServiceExt as _;
            let mut request = Request::get(target).header("host", "127.0.0.1:8080");
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            let response = app
                .oneshot(request.body(axum::body::Body::empty()).unwrap())
                .await
                .unwrap();
            let status = response.status();
            let kind = response
                .extensions()
                .get::<tower_secure_link::Rejection>()
                .map(tower_secure_link::Rejection::kind);
            let set_cookie = response
                .headers()
                .get("set-cookie")
                .map(|value| value.to_str().unwrap().to_owned());
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            (
                status,
                kind,
                set_cookie,
                String::from_utf8_lossy(&body).into_owned(),
            )
        }
    };
    let (status, kind, set_cookie, body) = send(format!("{link}a.ts"), None).await;
    assert_eq!(
        (status, kind, body.as_str()),
        (StatusCode::OK, None, "segment a")
    );
    let set_cookie = set_cookie.expect("the exchange sets a cookie");
    assert!(set_cookie.contains("Max-Age=604800;"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let (status, _, _, body) = send("/private/videos/a.ts".to_owned(), Some(cookie)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "segment a"));
}

// ---------------------------------------------------------------------------------------------
// The same through the command line: `sign` at its limits either exits 2 with a message, or
// prints a link `verify` calls valid.

const KEY: &str = "cli-test-secret-0123456789abcdef-xyz";
const U64_MAX: &str = "18446744073709551615";

/// `sign`'s options, extra environment variables, and what must come of it.
type CliCase<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, Outcome);

enum Outcome {
    /// Exit 2, and stderr names this.
    Refused(&'static str),
    /// `verify` (with these extra options, on the link followed by this suffix) says `valid`.
    Valid(&'static [&'static str], &'static str),
    /// Minted in the past on purpose: `verify` says `expired`.
    Expired,
}

#[test]
fn sign_at_its_limits_exits_2_or_mints_what_verify_accepts() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "bound").unwrap();
    let bind = file.path().to_str().unwrap().to_owned();
    let long = |len: usize| format!("/private/{}", "a".repeat(len));
    let (long_ok, long_opaque, too_long) = (long(40_000), long(30_000), long(70_000));
    let too_long_sealed = long(50_000);
    let (group_64, group_65) = ("g".repeat(64), "g".repeat(65));
    let (key_id_32, key_id_33) = ("k".repeat(32), "k".repeat(33));
    let max_lifetime: &[&str] = &["--max-lifetime", U64_MAX];
    let cases: Vec<CliCase> = vec![
        (
            vec!["--folder", "--cookie-session", U64_MAX, "/private/videos/"],
            vec![],
            Outcome::Valid(&[], "a.ts"),
        ),
        (
            vec![
                "--folder",
                "--cookie-session",
                "9223372036854775808",
                "/private/v/",
            ],
            vec![],
            Outcome::Valid(&[], ""),
        ),
        (
            vec!["--folder", "--cookie-session", "0", "/private/v/"],
            vec![],
            Outcome::Refused("cookie-session"),
        ),
        (
            vec!["--folder", "--ttl", "0", "--window", "1", "/private/v/"],
            vec![],
            Outcome::Valid(&[], "x"),
        ),
        (
            vec!["--ttl", U64_MAX, "/private/a"],
            vec![],
            Outcome::Refused("maximum"),
        ),
        (
            vec!["--expires", U64_MAX, "/private/a"],
            vec![],
            Outcome::Refused("maximum"),
        ),
        (
            vec!["--window", U64_MAX, "/private/a"],
            vec![],
            Outcome::Refused("maximum"),
        ),
        (
            vec![
                "--max-lifetime",
                U64_MAX,
                "--expires",
                U64_MAX,
                "/private/a",
            ],
            vec![],
            Outcome::Refused("2^63"),
        ),
        (
            vec!["--max-lifetime", U64_MAX, "--ttl", U64_MAX, "/private/a"],
            vec![],
            Outcome::Refused("2^63"),
        ),
        (
            vec![
                "--max-lifetime",
                U64_MAX,
                "--expires",
                "9223372036854775807",
                "/private/a",
            ],
            vec![],
            Outcome::Valid(max_lifetime, ""),
        ),
        (
            vec![
                "--max-lifetime",
                U64_MAX,
                "--folder",
                "--expires",
                "9223372036854775807",
                "/private/f/",
            ],
            vec![],
            Outcome::Valid(max_lifetime, "x"),
        ),
        (
            vec!["--window", "1", "--ttl", "604800", "/private/a"],
            vec![],
            Outcome::Valid(&[], ""),
        ),
        (
            vec!["--expires", "0", "/private/a"],
            vec![],
            Outcome::Expired,
        ),
        (
            vec!["--method", "abcdefghijklmnop", "/private/a"],
            vec![],
            Outcome::Valid(&["--method", "ABCDEFGHIJKLMNOP"], ""),
        ),
        (
            vec!["--method", "ABCDEFGHIJKLMNOPQ", "/private/a"],
            vec![],
            Outcome::Refused("method"),
        ),
        (
            vec!["--group", &group_64, "/private/a"],
            vec![],
            Outcome::Valid(&[], ""),
        ),
        (
            vec!["--group", &group_65, "/private/a"],
            vec![],
            Outcome::Refused("group"),
        ),
        (
            vec![
                "--one-time",
                "--group",
                "a.b_c-9",
                "--window",
                "60",
                "--bind-file",
                &bind,
                "/private/doc.txt?b=2&a=%zz&c=é #",
            ],
            vec![],
            Outcome::Valid(&[], ""),
        ),
        (
            vec!["--opaque", "--one-time", "--method", "put", &long_opaque],
            vec![],
            Outcome::Valid(&["--method", "PUT"], ""),
        ),
        (
            vec![&long_ok],
            vec![("SECURE_LINK_KEY_ID", &key_id_32)],
            Outcome::Valid(&[], ""),
        ),
        (
            vec!["/private/a"],
            vec![("SECURE_LINK_KEY_ID", &key_id_33)],
            Outcome::Refused("key id"),
        ),
        (vec![&too_long], vec![], Outcome::Refused("long")),
        // Longer than an opaque token's 64 KiB field: refused for its length too.
        (
            vec!["--opaque", &too_long],
            vec![],
            Outcome::Refused("long"),
        ),
        (
            vec!["--opaque", &too_long_sealed],
            vec![],
            Outcome::Refused("long"),
        ),
        (vec!["/private/sl_t~x/a"], vec![], Outcome::Refused("sl_t~")),
        (
            vec!["--folder", "/private/sl_t~x/"],
            vec![],
            Outcome::Refused("sl_t~"),
        ),
        (vec!["/s/a"], vec![], Outcome::Refused("opaque prefix")),
    ];
    for (args, extra_env, outcome) in cases {
        let mut env = vec![("SECURE_LINK_KEY", KEY)];
        env.extend(extra_env.iter().copied());
        let sign = support::run_cli(&[&["sign"], args.as_slice()].concat(), &env);
        let stdout = String::from_utf8_lossy(&sign.stdout).trim().to_owned();
        let stderr = String::from_utf8_lossy(&sign.stderr).into_owned();
        let shown = |text: &str| text.chars().take(160).collect::<String>();
        let label = shown(&args.join(" "));
        match outcome {
            Outcome::Refused(needle) => {
                assert_eq!(
                    sign.status.code(),
                    Some(2),
                    "sign {label}: {}",
                    shown(&stdout)
                );
                assert!(stdout.is_empty(), "sign {label} printed {}", shown(&stdout));
                assert!(
                    stderr.contains(needle),
                    "sign {label}: {stderr:?} does not name {needle:?}"
                );
            }
            _ if !sign.status.success() => panic!("sign {label} failed: {stderr}"),
            Outcome::Valid(verify_args, suffix) => {
                let link = format!("{stdout}{suffix}");
                let verify =
                    support::run_cli(&[&["verify"], verify_args, &[link.as_str()]].concat(), &env);
                assert!(
                    verify.status.success(),
                    "sign {label} printed a link verify refuses: {}",
                    String::from_utf8_lossy(&verify.stderr)
                );
                assert_eq!(String::from_utf8_lossy(&verify.stdout).trim(), "valid");
            }
            Outcome::Expired => {
                let verify = support::run_cli(&["verify", stdout.as_str()], &env);
                assert_eq!(verify.status.code(), Some(1), "sign {label}");
                assert_eq!(String::from_utf8_lossy(&verify.stderr).trim(), "expired");
            }
        }
    }
}
