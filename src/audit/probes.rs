//! What the audit sends: for each target, the controls, the requests without a valid link,
//! the respellings of its path, the climbs out of public exceptions and the other targets'
//! links.

use std::borrow::Cow;
use std::collections::HashSet;

use http::Method;

use crate::config::Scheme;
use crate::signer::UrlSigner;

/// What the probes are made from: the audit's signer and targets. (The audit hands them over,
/// so this module needs nothing of the audit's own.)
pub(super) struct Plan<'a> {
    pub(super) signer: &'a UrlSigner,
    pub(super) targets: &'a [String],
}

impl Plan<'_> {
    /// Every request of the run, target by target.
    pub(super) fn probes(&self) -> Vec<Probe> {
        let links = self.distinct_links();
        let exceptions: Vec<&str> = self
            .signer
            .settings()
            .prefixes
            .public_exceptions()
            .collect();
        let mut probes = Vec::new();
        for (index, link) in &links {
            let signed = Signed::new(*index, link);
            probes.extend(self.link_probes(&signed));
            probes.extend(respelling_probes(&signed));
            for exception in &exceptions {
                probes.extend(climb_probes(exception, &signed));
            }
            probes.extend(cross_target_probes(&signed, &links));
        }
        probes
    }

    /// Each target's valid link, once per distinct signed path: every probe multiplies by the
    /// targets (and the climbs by the exceptions too), so a target added twice must not double
    /// the run.
    fn distinct_links(&self) -> Vec<(usize, String)> {
        let mut seen = HashSet::new();
        self.targets
            .iter()
            .enumerate()
            .filter_map(|(index, target)| Some((index, self.signer.sign(target).ok()?)))
            .filter(|(_, link)| {
                seen.insert(link.split_once('?').map_or(&**link, |(p, _)| p).to_owned())
            })
            .collect()
    }

    /// The controls, then the target without a link, with a tampered one and an expired one.
    fn link_probes(&self, signed: &Signed<'_>) -> Vec<Probe> {
        let (link, path) = (signed.link, signed.path);
        let mut probes = vec![
            Probe {
                link_of: Some(signed.index),
                ..Probe::served("valid link", Method::GET, link.to_owned())
            },
            Probe::served("valid link, HEAD", Method::HEAD, link.to_owned()),
            Probe::refused("no link", path.to_owned()),
            Probe {
                method: Method::HEAD,
                ..Probe::refused("no link, HEAD", path.to_owned())
            },
            Probe {
                range: true,
                ..Probe::refused("no link, Range", path.to_owned())
            },
        ];
        if let Some(tampered) = self.tampered(link) {
            probes.push(Probe::refused("tampered signature", tampered));
        }
        let now = self.signer.settings().clock.now_unix();
        if let Ok(expired) = self
            .signer
            .link(&self.targets[signed.index])
            .expires_at(now.saturating_sub(3600))
            .to_target()
        {
            probes.push(Probe::refused("expired link", expired));
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
        // The signature's first character, when it has one that is a single byte (an empty or
        // escaped signature gives no probe rather than a panic).
        let first = link
            .as_bytes()
            .get(at)
            .filter(|b| b.is_ascii_alphanumeric())?;
        let replacement = if *first == b'A' { "B" } else { "A" };
        let mut tampered = link.to_owned();
        tampered.replace_range(at..at + 1, replacement);
        Some(tampered)
    }
}

/// A target's valid link, split where the probes need it.
struct Signed<'a> {
    /// The target's place in the order the audit was given its targets.
    index: usize,
    link: &'a str,
    path: &'a str,
    query: &'a str,
}

impl<'a> Signed<'a> {
    fn new(index: usize, link: &'a str) -> Self {
        let (path, query) = link.split_once('?').unwrap_or((link, ""));
        Self {
            index,
            link,
            path,
            query,
        }
    }

    /// `path` carrying this target's signing parameters.
    fn on(&self, path: &str) -> String {
        format!("{path}?{}", self.query)
    }
}

/// Each respelling of the target's path, and the reshaped ones again with the link.
fn respelling_probes(signed: &Signed<'_>) -> Vec<Probe> {
    let mut probes = Vec::new();
    for Respelling {
        name,
        target,
        reshaped,
    } in respellings(signed.path)
    {
        if reshaped {
            // The link is valid for the resolved path, so only a layer that sees the raw one
            // can tell the router may have sent the request elsewhere.
            probes.push(Probe {
                link_of: Some(signed.index),
                ..Probe::refused(name, signed.on(&target))
            });
        }
        probes.push(Probe::refused(name, target));
    }
    probes
}

/// Each climb out of `exception` to the target, with the target's link and without.
fn climb_probes(exception: &str, signed: &Signed<'_>) -> Vec<Probe> {
    let mut probes = Vec::new();
    for Climb {
        name,
        target,
        landing,
    } in climbs(exception, signed.path)
    {
        probes.push(Probe {
            link_of: Some(signed.index),
            landing: landing.clone(),
            ..Probe::refused(format!("{name}, with the link"), signed.on(&target))
        });
        probes.push(Probe {
            landing,
            ..Probe::refused(name, target)
        });
    }
    probes
}

/// Every other target's link on this target's path, and on a climb into the other's.
fn cross_target_probes(signed: &Signed<'_>, links: &[(usize, String)]) -> Vec<Probe> {
    let mut probes = Vec::new();
    for (other_index, other_link) in links {
        let other = Signed::new(*other_index, other_link);
        if other.path == signed.path {
            continue;
        }
        probes.push(Probe::refused(
            "another target's link",
            other.on(signed.path),
        ));
        let climbing = climb(signed.path, other.path);
        if climbing != other.path {
            probes.push(Probe {
                link_of: Some(other.index),
                ..Probe::refused(
                    "climb into another target with its link",
                    other.on(&climbing),
                )
            });
        }
    }
    probes
}

/// One request of the audit.
pub(super) struct Probe {
    pub(super) name: Cow<'static, str>,
    pub(super) method: Method,
    pub(super) target: String,
    pub(super) range: bool,
    pub(super) expect_served: bool,
    /// The target whose valid link the request carries: serving exactly that target's bytes
    /// is no leak.
    pub(super) link_of: Option<usize>,
    /// For a climb, the path it resolves to when that differs from the target: serving what a
    /// plain request there serves is no leak.
    pub(super) landing: Option<String>,
}

impl Probe {
    pub(super) fn refused(name: impl Into<Cow<'static, str>>, target: String) -> Self {
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
