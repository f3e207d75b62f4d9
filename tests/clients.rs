//! The Python and JavaScript clients (`clients/python`, `clients/js`) against the crate: random
//! native links minted by each of Rust, Python and JavaScript are verified by all three, and
//! tampered ones are refused by all three with the same reason. The clients were written from
//! SPEC.md alone, so a disagreement is a bug in one of them or a gap in the spec.
//!
//! Each client runs as one process speaking its batch protocol (a JSON request per line, a JSON
//! answer per line); `clients/python/README.md` describes it.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{ChildStdin, ChildStdout, Command, Stdio};

use http::{Method, Uri};
use serde_json::{json, Value};
use support::{installed, ChildGuard};
use tower_secure_link::{Key, Keyring, ManualClock, RejectionKind, SecureLinkLayer};

const NOW: u64 = 1_767_222_000;
const SECRET: &str = "0123456789abcdef0123456789abcdef";
const OLD_SECRET: &str = "an older secret, still accepted for a while";

/// A client process and its pipes.
struct Client {
    name: &'static str,
    _guard: ChildGuard,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Client {
    fn start(name: &'static str, program: &Path, args: &[&str], dir: &str) -> Client {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut guard = ChildGuard::spawn(
            Command::new(program)
                .args(args)
                .current_dir(root.join(dir))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped()),
        );
        let child = guard.child_mut();
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        Client {
            name,
            _guard: guard,
            input,
            output,
        }
    }

    /// Sends the requests while reading the answers (a pipe would fill up otherwise); the
    /// client answers in order.
    fn ask(&mut self, requests: &[Value]) -> Vec<Value> {
        let mut text = String::new();
        for request in requests {
            text.push_str(&request.to_string());
            text.push('\n');
        }
        let (input, output, name) = (&mut self.input, &mut self.output, self.name);
        std::thread::scope(|scope| {
            scope.spawn(move || input.write_all(text.as_bytes()).unwrap());
            (0..requests.len())
                .map(|_| {
                    let mut line = String::new();
                    output.read_line(&mut line).unwrap();
                    serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {line:?}"))
                })
                .collect()
        })
    }
}

fn clients() -> Option<Vec<Client>> {
    let python = installed(&["/usr/bin/python3"], "python3")?;
    let node = installed(&["/usr/bin/node", "/usr/local/bin/node"], "nodejs")?;
    Some(vec![
        Client::start(
            "python",
            &python,
            &["-m", "tower_secure_link", "batch"],
            "clients/python",
        ),
        Client::start("js", &node, &["bin/batch.js"], "clients/js"),
    ])
}

/// A small deterministic generator, so a failure names a case that can be run again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// What one link is for, in the batch protocol's words.
#[derive(Clone, Debug)]
struct Spec {
    path: String,
    query: String,
    method: &'static str,
    not_before: Option<u64>,
    expires: u64,
    nonce: Option<String>,
    max_body: Option<u64>,
    group: Option<String>,
    folder: Option<&'static str>,
}

const SEGMENTS: &[&str] = &[
    "private",
    "report.pdf",
    "a b.txt",
    "é",
    "100%",
    "x+y",
    "a&b=c",
    "semi;colon",
    "quote'",
    "tilde~",
    "v1.2.tar",
    "(1)",
    "@home",
    "日本",
];
const QUERY_PARTS: &[&str] = &["v=2", "tag=x%20y", "a=", "flag", "q=%C3%A9", "z=1", "p=a+b"];
const METHODS: &[&str] = &["GET", "GET", "PUT", "POST", "DELETE"];

fn spec(rng: &mut Rng) -> Spec {
    let depth = 1 + rng.below(3);
    let mut path = String::from("/private");
    for _ in 0..depth {
        path.push('/');
        path.push_str(rng.pick(SEGMENTS));
    }
    let folder = match rng.below(5) {
        0 => Some("query"),
        1 => Some("path"),
        _ => None,
    };
    if folder.is_some() {
        path.push('/');
    }
    let query = (0..rng.below(3))
        .map(|_| rng.pick(QUERY_PARTS))
        .collect::<Vec<_>>()
        .join("&");
    let expires = NOW + 1 + rng.below(7 * 24 * 3600 - 1);
    let plain = folder.is_none();
    Spec {
        path,
        query: if plain { query } else { String::new() },
        method: if plain { rng.pick(METHODS) } else { "GET" },
        not_before: (plain && rng.below(4) == 0).then(|| NOW - rng.below(3600)),
        expires,
        nonce: (plain && rng.below(4) == 0).then(|| nonce(rng)),
        max_body: (plain && rng.below(6) == 0).then(|| rng.below(1 << 40)),
        group: (plain && rng.below(6) == 0).then(|| format!("g-{}", rng.below(100))),
        folder,
    }
}

/// 16 random bytes in base64url: 22 characters, the last one's four unused bits zero.
fn nonce(rng: &mut Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut text: String = (0..21)
        .map(|_| ALPHABET[rng.below(64) as usize] as char)
        .collect();
    text.push(ALPHABET[(rng.below(4) * 16) as usize] as char);
    text
}

fn mint_request(spec: &Spec) -> Value {
    json!({
        "op": "mint", "secret": SECRET, "key_id": "1", "path": spec.path, "query": spec.query,
        "method": spec.method, "not_before": spec.not_before, "expires": spec.expires,
        "nonce": spec.nonce, "max_body": spec.max_body, "group": spec.group,
        "folder": spec.folder.is_some(), "folder_form": spec.folder.unwrap_or("query"),
    })
}

fn verify_request(link: &str, method: &str, now: u64) -> Value {
    json!({
        "op": "verify", "keys": {"1": SECRET, "old": OLD_SECRET}, "link": link,
        "method": method, "now": now, "leeway": 5, "max_lifetime": 604_800,
    })
}

fn layer(now: u64) -> SecureLinkLayer {
    let keyring = Keyring::new(Key::new("1", SECRET.as_bytes()).unwrap())
        .with_verify_only(Key::new("old", OLD_SECRET.as_bytes()).unwrap())
        .unwrap();
    SecureLinkLayer::new(keyring).with_clock(ManualClock::new(now))
}

/// The path with every byte outside the unreserved set escaped, as a decoded path is handed
/// to the Rust signer (which reads `%XX` as an escape).
fn escaped(path: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(path, KEEP).to_string()
}

/// The link the Rust signer mints for `spec`; a spec with a nonce gets the signer's own nonce.
fn rust_mint(spec: &Spec) -> String {
    let layer = layer(NOW);
    let signer = layer.signer();
    let path = escaped(&spec.path);
    match spec.folder {
        Some(form) => {
            let link = signer.folder_link(&path).expires_at(spec.expires);
            match form {
                "path" => link
                    .to_path_base()
                    .unwrap_or_else(|e| panic!("{path}: {e}")),
                _ => {
                    // The folder as the signer writes paths: its canonical form.
                    let plain = signer.link(&path).to_target().unwrap();
                    let canonical = plain.split('?').next().unwrap();
                    format!("{canonical}?{}", link.to_query().unwrap())
                }
            }
        }
        None => {
            let target = if spec.query.is_empty() {
                path
            } else {
                format!("{path}?{}", spec.query)
            };
            let mut link = signer
                .link(&target)
                .method(Method::from_bytes(spec.method.as_bytes()).unwrap())
                .expires_at(spec.expires);
            if let Some(at) = spec.not_before {
                link = link.not_before(at);
            }
            if spec.nonce.is_some() {
                link = link.one_time();
            }
            if let Some(bytes) = spec.max_body {
                link = link.max_body_size(bytes);
            }
            if let Some(group) = &spec.group {
                link = link.group(group);
            }
            link.to_target().unwrap()
        }
    }
}

/// The protocol's reason for a refusal of the layer's.
fn reason(kind: RejectionKind) -> &'static str {
    match kind {
        RejectionKind::MissingToken => "missing",
        RejectionKind::MalformedToken => "malformed",
        RejectionKind::UnknownKey => "unknown_key",
        RejectionKind::BadSignature => "bad_signature",
        RejectionKind::Expired => "expired",
        RejectionKind::NotYetValid => "not_yet_valid",
        RejectionKind::LifetimeTooLong => "too_long",
        RejectionKind::MethodNotAllowed => "wrong_method",
        RejectionKind::OutsideScope => "outside_folder",
        RejectionKind::MalformedPath | RejectionKind::AmbiguousPath => "bad_path",
        other => other.as_str(),
    }
}

/// The layer's answer in the protocol's words: `ok` or a reason.
fn rust_verify(link: &str, method: &str, now: u64) -> String {
    let Ok(uri) = link.parse::<Uri>() else {
        return "bad_path".to_owned();
    };
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    match layer(now).check(&method, &uri) {
        Ok(_) => "ok".to_owned(),
        Err(rejection) => reason(rejection.kind()).to_owned(),
    }
}

fn client_verdict(answer: &Value) -> String {
    match (answer["ok"].as_bool(), answer["reason"].as_str()) {
        (Some(true), _) => "ok".to_owned(),
        (_, Some(reason)) => reason.to_owned(),
        _ => format!("no verdict: {answer}"),
    }
}

/// A file under a folder link's folder: path-form links name the folder itself.
fn request_target(spec: &Spec, link: &str) -> String {
    match spec.folder {
        Some("path") => format!("{link}inside/file.bin"),
        Some(_) => {
            let (path, query) = link.split_once('?').unwrap();
            format!("{path}inside/file.bin?{query}")
        }
        None => link.to_owned(),
    }
}

/// Ways to spoil a valid request, each with the reason every verifier must give (`None`: a
/// refusal, whatever its reason).
fn tampered(
    spec: &Spec,
    target: &str,
    rng: &mut Rng,
) -> Vec<(String, String, u64, Option<&'static str>)> {
    let mut cases = Vec::new();
    let method = spec.method.to_owned();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    // The signature's last-but-one character changed: the same length, other bytes.
    if let Some(at) = target.find("sl_sig=") {
        let sig = at + "sl_sig=".len() + 5;
        let mut bytes = target.as_bytes().to_vec();
        bytes[sig] = if bytes[sig] == b'A' { b'B' } else { b'A' };
        cases.push((
            String::from_utf8(bytes).unwrap(),
            method.clone(),
            NOW,
            Some("bad_signature"),
        ));
    }
    if spec.folder != Some("path") {
        // A folder link signs no application query, so a request under it may carry one.
        let (added, moved) = match spec.folder {
            Some(_) => ("ok", "outside_folder"),
            None => ("bad_signature", "bad_signature"),
        };
        let extra = format!("{target}&extra=1");
        cases.push((extra, method.clone(), NOW, Some(added)));
        let upper = path.replacen("/private/", "/Private/", 1);
        cases.push((format!("{upper}?{query}"), method.clone(), NOW, Some(moved)));
        cases.push((
            target.replacen("sl_kid=1", "sl_kid=2", 1),
            method.clone(),
            NOW,
            Some("unknown_key"),
        ));
        cases.push((
            format!("{target}&SL_kid=1"),
            method.clone(),
            NOW,
            Some("malformed"),
        ));
    }
    cases.push((
        target.to_owned(),
        method.clone(),
        spec.expires + 6,
        Some("expired"),
    ));
    cases.push((
        target.to_owned(),
        method.clone(),
        spec.expires + 5 + rng.below(1000),
        None,
    ));
    if spec.folder.is_none() {
        let other = if spec.method == "PUT" {
            "DELETE"
        } else {
            "PUT"
        };
        cases.push((
            target.to_owned(),
            other.to_owned(),
            NOW,
            Some("wrong_method"),
        ));
    }
    if let Some(nbf) = spec.not_before {
        cases.push((
            target.to_owned(),
            method.clone(),
            nbf - 6,
            Some("not_yet_valid"),
        ));
    }
    if spec.folder.is_some() {
        let outside = target.replacen("/private/", "/private/elsewhere/", 1);
        cases.push((outside, method, NOW, None));
    }
    // `expires + 5 + k` is expired only for k > 0.
    cases.retain(|(_, _, now, want)| !(want.is_none() && *now == spec.expires + 5));
    cases
}

#[test]
fn links_minted_anywhere_verify_everywhere_and_tampered_ones_fail_everywhere() {
    let Some(mut clients) = clients() else { return };
    let seed = std::env::var("CLIENTS_SEED").map_or(7, |s| s.parse().unwrap());
    let cases = std::env::var("CLIENTS_CASES").map_or(400, |s| s.parse().unwrap());
    let mut rng = Rng(seed);
    let specs: Vec<Spec> = (0..cases).map(|_| spec(&mut rng)).collect();

    // Mint everywhere; links without a nonce must be the same bytes.
    let requests: Vec<Value> = specs.iter().map(mint_request).collect();
    let mut minted: Vec<Vec<(&str, String)>> = specs
        .iter()
        .map(|spec| vec![("rust", rust_mint(spec))])
        .collect();
    for client in &mut clients {
        for (i, answer) in client.ask(&requests).into_iter().enumerate() {
            let link = answer["link"]
                .as_str()
                .unwrap_or_else(|| {
                    panic!("{} refused to mint {:?}: {answer}", client.name, specs[i])
                })
                .to_owned();
            if specs[i].nonce.is_none() {
                assert_eq!(
                    link, minted[i][0].1,
                    "{} minted another link for {:?}",
                    client.name, specs[i]
                );
            }
            minted[i].push((client.name, link));
        }
    }

    // Verify every link with every verifier, untouched and tampered.
    let mut checks = Vec::new();
    for (spec, links) in specs.iter().zip(&minted) {
        for (minter, link) in links {
            let target = request_target(spec, link);
            checks.push((
                *minter,
                spec,
                target.clone(),
                spec.method.to_owned(),
                NOW,
                Some("ok"),
            ));
            for (bad, method, now, want) in tampered(spec, &target, &mut rng) {
                checks.push((*minter, spec, bad, method, now, want));
            }
        }
    }
    let requests: Vec<Value> = checks
        .iter()
        .map(|(_, _, target, method, now, _)| verify_request(target, method, *now))
        .collect();
    let answers: Vec<Vec<Value>> = clients.iter_mut().map(|c| c.ask(&requests)).collect();
    let mut disagreements = Vec::new();
    for (i, (minter, spec, target, method, now, want)) in checks.iter().enumerate() {
        let mut verdicts = vec![("rust", rust_verify(target, method, *now))];
        for (client, answers) in clients.iter().zip(&answers) {
            verdicts.push((client.name, client_verdict(&answers[i])));
        }
        let agree = verdicts.iter().all(|(_, v)| *v == verdicts[0].1);
        let right = match want {
            Some(want) => verdicts[0].1 == *want,
            None => verdicts[0].1 != "ok",
        };
        if !agree || !right {
            disagreements.push(format!(
                "minted by {minter}, {method} {target} at now={now}, want {want:?}: {verdicts:?} ({spec:?})"
            ));
        }
    }
    eprintln!(
        "{} links minted by each of 3 implementations, {} requests verified by each of 3",
        specs.len(),
        checks.len()
    );
    assert!(
        disagreements.is_empty(),
        "{} of {} verdicts disagree or are wrong; the first ones:\n{}",
        disagreements.len(),
        checks.len(),
        disagreements[..disagreements.len().min(15)].join("\n")
    );
}

#[test]
fn the_clients_pass_their_own_tests() {
    let Some(python) = installed(&["/usr/bin/python3"], "python3") else {
        return;
    };
    let Some(node) = installed(&["/usr/bin/node", "/usr/local/bin/node"], "nodejs") else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runs = [
        (
            python,
            vec!["-m", "unittest", "discover", "-s", "tests"],
            "clients/python",
        ),
        (node, vec!["--test"], "clients/js"),
    ];
    for (program, args, dir) in runs {
        let output = Command::new(&program)
            .args(&args)
            .current_dir(root.join(dir))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{dir}: {} {args:?} failed:\n{}\n{}",
            program.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
