//! Query parameters a link may gain on its way (`utm_source`, `fbclid`, ...) without breaking:
//! they are left out of the signed application query and out of what the inner service sees.
//!
//! A name matches byte for byte as the request spells it: case-sensitive and without
//! percent-decoding. `UTM_SOURCE` or `utm%5Fsource` is therefore not ignored; it stays in the
//! signed query and breaks the link. Failing closed is the point: the one predicate decides both
//! what the signature skips and what the inner service is spared, so no spelling can carry a
//! value past the signature into the application.

use std::borrow::Cow;
use std::fmt;

use super::syntax::pair_name;

/// The names and `prefix*` patterns a layer ignores; empty unless configured.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct IgnoredParams {
    patterns: Box<[Pattern]>,
}

#[derive(Clone, PartialEq, Eq)]
struct Pattern {
    text: Box<str>,
    /// `utm_*`: every name that starts with `text`.
    prefix: bool,
}

/// Why a name cannot be ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatternError {
    /// Empty, a `*` anywhere but at the end, or a byte outside `A-Z a-z 0-9 - . _ ~`.
    Invalid,
    /// It could match a signing parameter's name (in any letter case).
    Signing,
}

impl Pattern {
    fn parse(name: &str) -> Result<Self, PatternError> {
        let (text, prefix) = match name.strip_suffix('*') {
            Some(text) => (text, true),
            None => (name, false),
        };
        // Only bytes a query name carries unescaped, so a pattern never has to guess at an
        // escape and never holds a query separator.
        let plain = text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if name.is_empty() || !plain {
            return Err(PatternError::Invalid);
        }
        Ok(Self {
            text: text.into(),
            prefix,
        })
    }

    /// The pattern as it was configured.
    fn as_given(&self) -> String {
        format!("{}{}", self.text, if self.prefix { "*" } else { "" })
    }

    fn matches(&self, raw_name: &str) -> bool {
        if self.prefix {
            raw_name.starts_with(&*self.text)
        } else {
            raw_name == &*self.text
        }
    }

    /// Whether some name with the signing `prefix` could match. Letter case is ignored here
    /// because the verifier refuses prefixed names in any case; a pattern holds no `%`, so a
    /// name it matches decodes to a name it matches, and escaping cannot reach them either.
    fn reaches_signing(&self, prefix: &str) -> bool {
        let starts = |long: &str, short: &str| {
            long.len() >= short.len()
                && long.as_bytes()[..short.len()].eq_ignore_ascii_case(short.as_bytes())
        };
        starts(&self.text, prefix) || (self.prefix && starts(prefix, &self.text))
    }
}

impl IgnoredParams {
    /// These patterns plus `names`, for signing parameters under `prefix`; a refused name is
    /// returned with why.
    pub(crate) fn extended<I>(&self, names: I, prefix: &str) -> Result<Self, (String, PatternError)>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut patterns = self.patterns.to_vec();
        for name in names {
            let name = name.as_ref();
            let pattern = Pattern::parse(name).map_err(|error| (name.to_owned(), error))?;
            if pattern.reaches_signing(prefix) {
                return Err((name.to_owned(), PatternError::Signing));
            }
            if !patterns.contains(&pattern) {
                patterns.push(pattern);
            }
        }
        Ok(Self {
            patterns: patterns.into(),
        })
    }

    /// The first pattern (as configured) that could match a signing parameter under `prefix`,
    /// for a prefix changed after the patterns were given.
    pub(crate) fn reaching_signing(&self, prefix: &str) -> Option<String> {
        self.patterns
            .iter()
            .find(|pattern| pattern.reaches_signing(prefix))
            .map(Pattern::as_given)
    }

    /// Whether a raw query parameter name is ignored. Nothing to compare when none are
    /// configured, which keeps the common case free.
    #[inline]
    pub(crate) fn matches(&self, raw_name: &str) -> bool {
        self.patterns
            .iter()
            .any(|pattern| pattern.matches(raw_name))
    }

    /// `query` without its ignored parameters, the rest in order; borrowed unless one is there.
    pub(crate) fn strip<'a>(&self, query: &'a str) -> Cow<'a, str> {
        if self.patterns.is_empty() || self.first_in(query).is_none() {
            return Cow::Borrowed(query);
        }
        let mut kept = String::with_capacity(query.len());
        let pairs = query
            .split('&')
            .filter(|pair| !self.matches(pair_name(pair)));
        for (at, pair) in pairs.enumerate() {
            if at > 0 {
                kept.push('&');
            }
            kept.push_str(pair);
        }
        Cow::Owned(kept)
    }

    /// The name of the first ignored parameter in `query`.
    pub(crate) fn first_in<'a>(&self, query: &'a str) -> Option<&'a str> {
        if self.patterns.is_empty() || query.is_empty() {
            return None;
        }
        query
            .split('&')
            .map(pair_name)
            .find(|name| self.matches(name))
    }

    /// Whether every parameter of a non-empty `query` is ignored.
    pub(crate) fn covers(&self, query: &str) -> bool {
        !self.patterns.is_empty() && query.split('&').all(|pair| self.matches(pair_name(pair)))
    }
}

impl fmt::Debug for IgnoredParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.patterns.iter().map(Pattern::as_given))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{IgnoredParams, PatternError};
    use crate::token::{AppQuery, ParamNames, SignedQuery};

    const SIG: &str = "vAFDT3x4EW1BGiYSGoGjumdM2hHfBLQFjwwetl_3xeI";

    fn ignoring(patterns: &[&str]) -> ParamNames {
        let mut names = ParamNames::new("sl_");
        names.ignored = IgnoredParams::default().extended(patterns, "sl_").unwrap();
        names
    }

    #[test]
    fn patterns_that_could_reach_a_signing_parameter_are_refused() {
        let invalid = Err(PatternError::Invalid);
        let signing = Err(PatternError::Signing);
        let cases: [(&str, &str, &str, Result<(), PatternError>); 19] = [
            ("an exact name", "fbclid", "sl_", Ok(())),
            ("a prefix pattern", "utm_*", "sl_", Ok(())),
            (
                "a name that only starts like the prefix",
                "sl",
                "sl_",
                Ok(()),
            ),
            ("a name sharing one letter", "s", "sl_", Ok(())),
            ("unreserved punctuation", "a-b.c_d~e", "sl_", Ok(())),
            ("empty", "", "sl_", invalid),
            ("a star in the middle", "utm_*x", "sl_", invalid),
            ("two stars", "utm**", "sl_", invalid),
            ("a percent escape", "utm%5Fsource", "sl_", invalid),
            ("a separator", "a&b", "sl_", invalid),
            ("an equals sign", "a=b", "sl_", invalid),
            ("a signing name", "sl_kid", "sl_", signing),
            ("a signing name in capitals", "SL_SIG", "sl_", signing),
            ("the prefix as a pattern", "sl_*", "sl_", signing),
            ("a shorter pattern", "s*", "sl_", signing),
            ("everything", "*", "sl_", signing),
            ("an unknown prefixed name", "sl_other", "sl_", signing),
            ("another prefix's name", "tok_kid", "tok_", signing),
            ("the default prefix under another", "sl_kid", "tok_", Ok(())),
        ];
        for (name, pattern, prefix, expect) in cases {
            let got = IgnoredParams::default()
                .extended([pattern], prefix)
                .map(|_| ())
                .map_err(|(_, error)| error);
            assert_eq!(got, expect, "{name}");
        }
    }

    #[test]
    fn names_match_byte_for_byte() {
        let names = ignoring(&["utm_*", "fbclid"]);
        let cases = [
            ("exact", "fbclid", true),
            ("under the prefix", "utm_source", true),
            ("the bare prefix", "utm_", true),
            ("longer than an exact name", "fbclid2", false),
            ("another case", "UTM_source", false),
            ("an escaped byte", "utm%5Fsource", false),
            ("an escaped exact name", "fbcli%64", false),
            ("a signing name", "sl_kid", false),
        ];
        for (name, raw, expect) in cases {
            assert_eq!(names.ignored.matches(raw), expect, "{name}");
        }
    }

    #[test]
    fn the_signed_query_leaves_ignored_parameters_out_wherever_they_are() {
        let names = ignoring(&["utm_*", "fbclid"]);
        let signing = format!("sl_kid=1&sl_exp=1767225600&sl_sig={SIG}");
        // (case, query, application query, whether it is borrowed from the request)
        let cases = [
            ("none", format!("a=1&{signing}"), "a=1", true),
            (
                "at the end",
                format!("a=1&{signing}&utm_source=x&fbclid=y"),
                "a=1",
                true,
            ),
            (
                "before the signing ones",
                format!("a=1&utm_source=x&{signing}"),
                "a=1",
                true,
            ),
            (
                "between signing ones",
                format!("a=1&sl_kid=1&fbclid=y&sl_exp=1767225600&sl_sig={SIG}"),
                "a=1",
                true,
            ),
            ("first", format!("utm_source=x&a=1&{signing}"), "a=1", false),
            (
                "in the middle",
                format!("a=1&fbclid=y&b=2&{signing}"),
                "a=1&b=2",
                false,
            ),
            (
                "without a value",
                format!("a=1&fbclid&b=2&{signing}"),
                "a=1&b=2",
                false,
            ),
            ("alone", format!("fbclid=y&{signing}"), "", true),
            (
                "in another case",
                format!("a=1&{signing}&UTM_source=x"),
                "a=1&UTM_source=x",
                false,
            ),
            (
                "escaped",
                format!("a=1&utm%5Fsource=x&{signing}"),
                "a=1&utm%5Fsource=x",
                true,
            ),
            (
                "a signed value after",
                format!("a=1&{signing}&utm_x=1&a=2"),
                "a=1&a=2",
                false,
            ),
        ];
        for (name, query, expect, borrowed) in cases {
            let signed = SignedQuery::parse(&query, &names).unwrap();
            assert_eq!(signed.app_query.len(), expect.len(), "{name}");
            let text = signed.app_query.to_query();
            assert_eq!(text, expect, "{name}");
            let plain = matches!(signed.app_query, AppQuery::Plain(_));
            assert_eq!(
                plain && matches!(text, Cow::Borrowed(_)),
                borrowed,
                "{name}"
            );
        }
    }

    #[test]
    fn stripping_keeps_the_rest_in_order() {
        let ignored = ignoring(&["utm_*", "fbclid"]).ignored;
        let cases = [
            ("nothing to strip", "a=1&b=2", "a=1&b=2", true),
            ("empty", "", "", true),
            ("all", "utm_a=1&fbclid=2", "", false),
            ("around", "utm_a=1&a=1&fbclid&b=2&utm_b", "a=1&b=2", false),
            ("empty parts kept", "&utm_a=1&&a", "&&a", false),
            ("a value like a name", "a=utm_x&utm_y=a", "a=utm_x", false),
        ];
        for (name, query, expect, borrowed) in cases {
            let stripped = ignored.strip(query);
            assert_eq!(stripped, expect, "{name}");
            assert_eq!(matches!(stripped, Cow::Borrowed(_)), borrowed, "{name}");
        }
        assert!(ignored.covers("fbclid=1&utm_x"));
        assert!(!ignored.covers("fbclid=1&x"));
        assert!(!IgnoredParams::default().covers("fbclid"));
        assert_eq!(ignored.first_in("a=1&utm_z=2&fbclid"), Some("utm_z"));
    }
}
