//! The wire format's unit tables and properties: the known-answer vectors, which need a key,
//! are in `key/tests.rs`.

use super::*;
// The tables state their expectations as the layer's rejections.
use crate::rejection::RejectionKind;

fn names() -> ParamNames {
    ParamNames::new("sl_")
}

#[test]
fn path_tokens_are_read_strictly() {
    const SIG: &str = "vAFDT3x4EW1BGiYSGoGjumdM2hHfBLQFjwwetl_3xeI";
    let names = names();
    struct Case {
        name: &'static str,
        segment: String,
        session: Result<Option<u64>, RejectionKind>,
    }
    let case = |name, segment: String, session| Case {
        name,
        segment,
        session,
    };
    let bad = Err(RejectionKind::MalformedToken);
    let cases = [
        case("plain", format!("sl_t~1~1767225600~{SIG}"), Ok(None)),
        case(
            "with a session",
            format!("sl_t~1~1767225600~3600~{SIG}"),
            Ok(Some(3600)),
        ),
        case(
            "a session of zero",
            format!("sl_t~1~1767225600~0~{SIG}"),
            bad,
        ),
        case(
            "a session with a leading zero",
            format!("sl_t~1~1767225600~060~{SIG}"),
            bad,
        ),
        case(
            "a session that is no number",
            format!("sl_t~1~1767225600~1h~{SIG}"),
            bad,
        ),
        case(
            "one field too many",
            format!("sl_t~1~1767225600~60~60~{SIG}"),
            bad,
        ),
        case("no signature", "sl_t~1~1767225600".to_owned(), bad),
        case(
            "a short signature",
            format!("sl_t~1~1767225600~{}", &SIG[1..]),
            bad,
        ),
        case("an empty key id", format!("sl_t~~1767225600~{SIG}"), bad),
    ];
    for case in cases {
        let parsed = PathToken::parse(&case.segment, &names).map_err(RejectionKind::from);
        let session = parsed.map(|token| token.session.map(|(seconds, _)| seconds));
        assert_eq!(session, case.session, "{}", case.name);
    }
}

#[test]
fn signing_parameters_are_read_strictly() {
    const SIG: &str = "vAFDT3x4EW1BGiYSGoGjumdM2hHfBLQFjwwetl_3xeI";
    struct Case {
        name: &'static str,
        query: String,
        expect: Result<(), RejectionKind>,
    }
    let case = |name, query: &str, expect| Case {
        name,
        query: query.to_owned(),
        expect,
    };
    let ok = |name, query: &str| case(name, query, Ok(()));
    let bad = |name, query: &str| case(name, query, Err(RejectionKind::MalformedToken));
    let s = |rest: &str| format!("sl_kid=1&sl_exp=1767225600{rest}&sl_sig={SIG}");
    let cases = [
        ok("minimal", &s("")),
        ok("app params around", &format!("a=1&{}&b=2", s(""))),
        ok("method", &s("&sl_method=PUT")),
        ok("not before", &s("&sl_nbf=1767225000")),
        ok("nonce", &s("&sl_nonce=q83vEjRWeJq83vEjRWeJqw")),
        ok("upload limit", &s("&sl_max=1048576")),
        bad("upload limit with a leading zero", &s("&sl_max=01")),
        case("none", "a=1", Err(RejectionKind::MissingToken)),
        case("empty query", "", Err(RejectionKind::MissingToken)),
        bad("duplicate expiry", &s("&sl_exp=1767225600")),
        bad("duplicate signature", &s(&format!("&sl_sig={SIG}"))),
        bad("duplicate key id", &format!("sl_kid=1&{}", s(""))),
        bad("upper-case name", &s("&SL_EXP=1")),
        bad("escaped name", &s("&sl%5Fexp=1")),
        bad("unknown reserved name", &s("&sl_extra=1")),
        bad("array form", &s("&sl_exp[]=1")),
        bad("name without value", &s("&sl_nbf")),
        bad("missing signature", "sl_kid=1&sl_exp=1767225600"),
        bad("missing expiry", &format!("sl_kid=1&sl_sig={SIG}")),
        bad("missing key id", &format!("sl_exp=1767225600&sl_sig={SIG}")),
        bad("explicit GET", &s("&sl_method=GET")),
        bad("lower-case method", &s("&sl_method=put")),
        ok("version", &s("&sl_ver=IngiCg")),
        bad("version on a PUT link", &s("&sl_method=PUT&sl_ver=IngiCg")),
        bad(
            "empty key id",
            &format!("sl_kid=&sl_exp=1767225600&sl_sig={SIG}"),
        ),
        bad(
            "short signature",
            "sl_kid=1&sl_exp=1767225600&sl_sig=vAFDT3x4",
        ),
        bad(
            "padded signature",
            &format!("sl_kid=1&sl_exp=1767225600&sl_sig={SIG}="),
        ),
        bad("short nonce", &s("&sl_nonce=abc")),
        bad(
            "nonce with a standard-alphabet +",
            &s("&sl_nonce=q83vEjRWeJq83vEjRWeJq+"),
        ),
        bad(
            "nonce with an escape",
            &s("&sl_nonce=q83vEjRWeJq83vEjRWe%4A"),
        ),
        bad(
            "nonce with a non-ascii byte",
            &s("&sl_nonce=q83vEjRWeJq83vEjRWeé"),
        ),
        ok(
            "nonce of every alphabet class",
            &s("&sl_nonce=AZaz09-_AZaz09-_AZaz0w"),
        ),
        bad(
            "nonce with its unused bits set",
            &s("&sl_nonce=AZaz09-_AZaz09-_AZaz0x"),
        ),
        bad("plus sign", "sl_kid=1&sl_exp=+1767225600&sl_sig=x"),
    ];
    let names = names();
    for case in cases {
        let result = SignedQuery::parse(&case.query, &names)
            .map(|_| ())
            .map_err(RejectionKind::from);
        assert_eq!(result, case.expect, "{}", case.name);
    }
}

#[test]
fn seconds_are_canonical_decimal() {
    #[rustfmt::skip]
    let cases = [
        ("zero", "0", Some(0)),
        ("plain", "1767225600", Some(1_767_225_600)),
        ("i64 max", "9223372036854775807", Some(i64::MAX as u64)),
        ("over i64", "9223372036854775808", None),
        ("leading zero", "01767225600", None),
        ("plus", "+1", None),
        ("minus", "-1", None),
        ("hex", "0x10", None),
        ("exponent", "1e9", None),
        ("space", "1 ", None),
        ("empty", "", None),
        ("fraction", "1.5", None),
        ("twenty digits", "18446744073709551615", None),
        // Found by the native_target fuzzer: once overflowed while parsing.
        ("thirty-six digits", "176722577777777777777777777777777600", None),
    ];
    for (name, text, want) in cases {
        assert_eq!(parse_seconds(text).ok(), want, "{name}");
    }
}

#[test]
fn app_query_skips_only_signing_parameters() {
    let names = names();
    let query = "a=1&sl_kid=1&&b=2&sl_exp=3&sl_sig=x&c";
    let app = AppQuery::WithSigning(query, &names);
    assert_eq!(app.to_query(), "a=1&&b=2&c");
    assert_eq!(app.len(), "a=1&&b=2&c".len());
}

#[test]
fn fields_cannot_bleed_into_each_other() {
    let base = Claims {
        query: AppQuery::Plain("b=1"),
        ..Claims::basic("1", Scope::Path, "/a", "10")
    };
    let variants = [
        Claims {
            path: "/ab=1",
            query: AppQuery::Plain(""),
            ..base
        },
        Claims {
            key_id: "1G",
            method: "ET",
            ..base
        },
        Claims {
            not_before: Some("1"),
            expires: "0",
            ..base
        },
        Claims {
            nonce: Some("q83vEjRWeJq83vEjRWeJqw"),
            ..base
        },
        Claims {
            max_body: Some("1"),
            ..base
        },
        Claims {
            scope: Scope::Prefix,
            ..base
        },
    ];
    for variant in variants {
        assert_ne!(variant.message(), base.message(), "{variant:?}");
    }
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Field text from a small alphabet that includes the bytes a naive encoding would confuse:
    /// separators, digits, and the low bytes a length prefix is made of.
    fn text() -> impl Strategy<Value = String> {
        "[a1=&/\u{0}\u{1}\u{4}]{0,5}"
    }

    type Tuple = (
        String,
        String,
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
    );

    fn claims(t: &Tuple) -> Claims<'_> {
        Claims {
            method: &t.1,
            query: AppQuery::Plain(&t.3),
            not_before: t.4.as_deref(),
            nonce: t.6.as_deref(),
            max_body: t.7.as_deref(),
            ..Claims::basic(&t.0, Scope::Path, &t.2, &t.5)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        /// Distinct claims never share a canonical message. (An absent optional field and an
        /// empty one do: parsing never yields an empty not-before, nonce or limit.)
        #[test]
        fn the_canonical_message_is_injective(
            a in (text(), text(), text(), text(), proptest::option::of("[0-9]{1,3}"), text(), proptest::option::of("[a-z]{1,3}"), proptest::option::of("[0-9]{1,3}")),
            b in (text(), text(), text(), text(), proptest::option::of("[0-9]{1,3}"), text(), proptest::option::of("[a-z]{1,3}"), proptest::option::of("[0-9]{1,3}")),
        ) {
            if a != b {
                prop_assert_ne!(claims(&a).message(), claims(&b).message());
            } else {
                prop_assert_eq!(claims(&a).message(), claims(&b).message());
            }
        }

        /// Small mutations of one tuple: the most likely collisions, tried directly.
        #[test]
        fn moving_bytes_between_fields_changes_the_message(
            a in (text(), text(), text(), text(), proptest::option::of("[0-9]{1,3}"), text(), proptest::option::of("[a-z]{1,3}"), proptest::option::of("[0-9]{1,3}")),
            shift in 0usize..4,
        ) {
            let mut b = a.clone();
            // Move one byte from the path into the query (or the key id into the method).
            let moved = match shift {
                0 => b.2.pop().map(|c| b.3.insert(0, c)),
                1 => b.0.pop().map(|c| b.1.insert(0, c)),
                2 => b.3.pop().map(|c| b.5.insert(0, c)),
                _ => b.1.pop().map(|c| b.2.insert(0, c)),
            };
            if moved.is_some() {
                prop_assert_ne!(claims(&a).message(), claims(&b).message());
            }
        }
    }
}

#[test]
fn client_networks_are_field_13_after_three_empty_ones() {
    let claims = Claims {
        client_ip: Some("203.0.113.0/24"),
        ..Claims::basic("1", Scope::Path, "/a", "10")
    };
    let mut expect = b"tsl-v1".to_vec();
    let fields: [&[u8]; 13] = [
        b"1",
        b"GET",
        b"path",
        b"/a",
        b"",
        b"",
        b"10",
        b"",
        b"",
        b"",
        b"",
        b"",
        b"203.0.113.0/24",
    ];
    for field in fields {
        expect.extend_from_slice(&(field.len() as u32).to_be_bytes());
        expect.extend_from_slice(field);
    }
    assert_eq!(claims.message(), expect);
    let without = Claims::basic("1", Scope::Path, "/a", "10");
    assert_eq!(
        without.message().len(),
        expect.len() - 4 * 4 - 14,
        "nine fields"
    );
}

#[test]
fn a_content_type_alone_writes_every_later_field_before_it() {
    let base = Claims::basic("1", Scope::Path, "/a", "10");
    let typed = Claims {
        content_type: Some("dGV4dC9jc3Y"),
        ..base
    };
    // Nine fields, then six more: 10 to 14 empty and 15 the type.
    assert_eq!(
        typed.message().len(),
        base.message().len() + 6 * 4 + "dGV4dC9jc3Y".len()
    );
    let named = Claims {
        disposition: Some("dGV4dC9jc3Y"),
        ..base
    };
    assert_ne!(
        typed.message(),
        named.message(),
        "14 and 15 are different fields"
    );
}
