//! What the audit found.

use std::borrow::Cow;
use std::fmt;

use http::{Method, StatusCode};

/// What an [`Audit`](super::Audit) found: every probe that was served without a valid link, and every valid
/// link that was refused.
#[derive(Debug, Clone)]
pub struct AuditReport {
    pub(super) probes: usize,
    pub(super) findings: Vec<Finding>,
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
    pub(super) probe: Cow<'static, str>,
    pub(super) method: Method,
    pub(super) target: String,
    pub(super) status: Option<StatusCode>,
    pub(super) kind: FindingKind,
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
