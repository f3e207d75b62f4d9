//! The demo in a real browser: headless Chromium (Debian's `chromium`, installed by `.ci/run`)
//! opens the page `secure-link serve` shows, runs its script, and the test reads what each image
//! and the video got. Valid images load, refused ones fail and their links open a page that
//! says why, a one-time image loads once, and a one-time MP4 whose index sits at the end of the
//! file plays only with `--resume-window`.

mod support;

use std::path::PathBuf;
use std::process::Command;

const KEY: &str = "browser test secret of 32 bytes or more";

fn chromium() -> Option<PathBuf> {
    support::installed(
        &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        "chromium",
    )
}

/// One Chromium at a time: two at once on a small machine make media loading slow enough to
/// outlast the page's time budget.
static ONE_BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The page's DOM after its scripts ran, as headless Chromium sees it.
fn dump_dom(chromium: &PathBuf, url: &str) -> String {
    let _turn = ONE_BROWSER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=20000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The value of `name` on the element with `id`.
fn attribute(dom: &str, id: &str, name: &str) -> Option<String> {
    let start = dom.find(&format!("id=\"{id}\""))?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let at = tag.find(&format!("{name}=\""))? + name.len() + 2;
    Some(tag[at..at + tag[at..].find('"')?].replace("&amp;", "&"))
}

const MEDIA: [&str; 15] = [
    "pdf",
    "named",
    "here-img",
    "elsewhere-img",
    "uses-img",
    "uses",
    "confirm",
    "valid-img",
    "none-img",
    "tampered-img",
    "expired-img",
    "once-img",
    "folder-one",
    "folder-two",
    "video",
];

#[test]
fn the_demo_page_shows_what_each_link_does() {
    let Some(chromium) = chromium() else { return };
    let server = support::Serve::start(&["--resume-window", "60"], &[("SECURE_LINK_KEY", KEY)]);
    let base = format!("http://{}", server.addr);
    let dom = dump_dom(&chromium, &format!("{base}/"));
    for id in MEDIA {
        let expect = attribute(&dom, id, "data-expect").unwrap_or_else(|| panic!("{id}: {dom}"));
        let got = attribute(&dom, id, "data-result");
        assert_eq!(got.as_deref(), Some(expect.as_str()), "{id}");
    }
    assert_eq!(
        attribute(&dom, "video", "data-result").as_deref(),
        Some("played")
    );

    // Refused links open a page that says why, not the browser's bare error.
    for (id, says, label) in [
        ("none-img", "This file is private", "missing_token"),
        ("tampered-img", "This link is not valid", "bad_signature"),
        ("expired-img", "This link has expired", "expired"),
        ("once-img", "This link has been used", "already_used"),
        ("elsewhere-img", "Not from this network", "ip_not_allowed"),
    ] {
        let link = attribute(&dom, id, "src").unwrap();
        let page = dump_dom(&chromium, &format!("{base}{link}"));
        assert!(page.contains(says), "{id}: {page}");
        assert!(page.contains(label), "{id}: {page}");
    }
    // The valid PDF link opens (Chromium's viewer embeds it).
    let pdf = dom
        .split("href=\"")
        .find_map(|rest| {
            rest.split('"')
                .next()
                .filter(|href| href.contains("report.pdf"))
        })
        .unwrap()
        .replace("&amp;", "&");
    assert_eq!(support::get(&server.addr, &pdf).status, 200);
}

#[test]
fn a_one_time_video_does_not_play_without_the_resume_window() {
    let Some(chromium) = chromium() else { return };
    let server = support::Serve::start(&[], &[("SECURE_LINK_KEY", KEY)]);
    let dom = dump_dom(&chromium, &format!("http://{}/", server.addr));
    assert_eq!(
        attribute(&dom, "video", "data-expect").as_deref(),
        Some("refused")
    );
    assert_eq!(
        attribute(&dom, "video", "data-result").as_deref(),
        Some("refused")
    );
    assert_eq!(
        attribute(&dom, "once-img", "data-result").as_deref(),
        Some("loaded")
    );
}

/// A page served through a folder link with a cookie session fetches files of the folder by
/// absolute path, with no link: the browser sends the session cookie, the script cannot read it
/// (HttpOnly), and a sibling folder stays closed.
#[test]
fn a_browser_plays_a_folder_on_its_session_cookie() {
    let Some(chromium) = chromium() else { return };
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("private/player");
    std::fs::create_dir_all(folder.join("hd")).unwrap();
    std::fs::create_dir_all(root.path().join("private/other")).unwrap();
    std::fs::write(folder.join("seg-1.txt"), "one").unwrap();
    std::fs::write(folder.join("hd/seg-2.txt"), "two").unwrap();
    std::fs::write(root.path().join("private/other/secret.txt"), "secret").unwrap();
    std::fs::write(
        folder.join("index.html"),
        r#"<html><body><div id="out">pending</div><script>
async function probe(path) {
  try { const r = await fetch(path); return r.status + ':' + (r.ok ? await r.text() : ''); }
  catch (e) { return 'error'; }
}
(async () => {
  const results = [
    'seg1=' + await probe('/private/player/seg-1.txt'),
    'seg2=' + await probe('/private/player/hd/seg-2.txt'),
    'other=' + await probe('/private/other/secret.txt'),
    'script-sees-cookie=' + document.cookie.includes('sl_session'),
  ];
  document.getElementById('out').setAttribute('data-result', results.join(';'));
})();
</script></body></html>"#,
    )
    .unwrap();
    let key = ("SECURE_LINK_KEY", KEY);
    let server = support::Serve::start(&["--root", root.path().to_str().unwrap()], &[key]);
    let base = support::cli_sign(
        &["--folder", "--cookie-session", "600", "/private/player/"],
        &[key],
    );
    let dom = dump_dom(
        &chromium,
        &format!("http://{}{base}index.html", server.addr),
    );
    let result = attribute(&dom, "out", "data-result").unwrap_or_else(|| panic!("{dom}"));
    assert_eq!(
        result,
        "seg1=200:one;seg2=200:two;other=403:;script-sees-cookie=false"
    );
}

#[test]
fn a_browser_confirms_a_link_that_scanners_left_unused() {
    let Some(chromium) = chromium() else { return };
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("private/reset.txt"), "reset token 42").unwrap();
    let key = ("SECURE_LINK_KEY", KEY);
    let link = support::cli_sign(&["--confirm", "/private/reset.txt"], &[key]);
    // A public page that opens the link in a frame, as a person would in a tab, presses the
    // page's one button, and reports what each step showed.
    std::fs::write(
        root.path().join("open.html"),
        format!(
            r#"<html><body><div id="out">pending</div>
<iframe id="frame" src="{link}"></iframe><script>
const frame = document.getElementById('frame');
const seen = [];
frame.addEventListener('load', () => {{
  const page = frame.contentDocument;
  const button = page.querySelector('form[method=post] button');
  seen.push(button ? 'page with a button' : 'body=' + page.body.innerText.trim());
  if (button) {{ button.click(); }}
  else {{ document.getElementById('out').setAttribute('data-result', seen.join(';')); }}
}});
</script></body></html>"#
        ),
    )
    .unwrap();
    let server = support::Serve::start(&["--root", root.path().to_str().unwrap()], &[key]);
    // What scanners and unfurlers do first: GET, HEAD, a prefetch. None of them uses it.
    for _ in 0..3 {
        let page = support::get(&server.addr, &link);
        assert_eq!(page.status, 200);
        assert!(!page.body_text().contains("reset token"));
        let head = support::raw_request(&server.addr, "HEAD", link.as_bytes());
        assert_eq!(head.status, 200);
    }
    let dom = dump_dom(&chromium, &format!("http://{}/open.html", server.addr));
    let result = attribute(&dom, "out", "data-result").unwrap_or_else(|| panic!("{dom}"));
    assert_eq!(result, "page with a button;body=reset token 42");
    // The click used it: a second POST is refused.
    let again = support::raw_bytes(
        &server.addr,
        format!(
            "POST {link} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            server.addr
        )
        .as_bytes(),
    );
    assert_eq!(again.status, 410);
}
