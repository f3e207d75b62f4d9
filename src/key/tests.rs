//! Key rules, and the known-answer vectors: keys sign the wire format's canonical messages
//! to the published signatures.

use super::*;
use crate::token::{AppQuery, Claims, ParamNames, Scope, SignedQuery};
#[cfg(feature = "ed25519")]
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use percent_encoding::percent_decode_str;

const SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

#[test]
fn key_ids_are_checked() {
    struct Case {
        name: &'static str,
        id: &'static str,
        ok: bool,
    }
    #[rustfmt::skip]
    let cases = [
        Case { name: "digit", id: "1", ok: true },
        Case { name: "dated", id: "2026-11.a_b", ok: true },
        Case { name: "empty", id: "", ok: false },
        Case { name: "space", id: "a b", ok: false },
        Case { name: "ampersand", id: "a&b", ok: false },
        Case { name: "non-ascii", id: "clé", ok: false },
        Case { name: "too long", id: "abcdefghijabcdefghijabcdefghijabc", ok: false },
    ];
    for case in cases {
        assert_eq!(Key::new(case.id, SECRET).is_ok(), case.ok, "{}", case.name);
    }
}

#[test]
fn short_secrets_are_refused() {
    assert_eq!(
        Key::new("1", &SECRET[..31]).unwrap_err(),
        KeyError::SecretTooShort { len: 31 }
    );
}

#[test]
fn debug_never_shows_the_secret() {
    let key = Key::new("k1", b"supersecretsupersecretsupersecret").unwrap();
    let keyring = Keyring::new(key.clone());
    for text in [
        format!("{key:?}"),
        format!("{keyring:?}"),
        format!("{key:#?}"),
    ] {
        assert!(!text.contains("supersecret"), "{text}");
        assert!(text.contains("k1"));
    }
}

#[test]
fn duplicate_ids_are_refused() {
    let keyring = Keyring::new(Key::new("1", SECRET).unwrap());
    let err = keyring
        .with_verify_only(Key::new("1", SECRET).unwrap())
        .unwrap_err();
    assert_eq!(err, KeyError::DuplicateId);
}

fn names() -> ParamNames {
    ParamNames::new("sl_")
}

/// A known-answer vector's numbers as the decimal text claims hold.
struct VectorNumbers {
    not_before: Option<String>,
    expires: String,
    max_body: Option<String>,
    session: Option<String>,
}

impl VectorNumbers {
    fn of(v: &serde_json::Value) -> Self {
        let text = |field: &str| v[field].as_u64().map(|t| t.to_string());
        Self {
            not_before: text("not_before"),
            expires: text("expires").unwrap(),
            max_body: text("max_body"),
            session: text("session"),
        }
    }

    /// The claims a vector describes.
    fn claims<'a>(&'a self, v: &'a serde_json::Value) -> Claims<'a> {
        Claims {
            key_id: v["key_id"].as_str().unwrap(),
            method: v["method"].as_str().unwrap(),
            scope: if v["scope"] == "prefix" {
                Scope::Prefix
            } else {
                Scope::Path
            },
            path: v["path"].as_str().unwrap(),
            query: AppQuery::Plain(v["query"].as_str().unwrap()),
            not_before: self.not_before.as_deref(),
            expires: &self.expires,
            nonce: v["nonce"].as_str(),
            max_body: self.max_body.as_deref(),
            version: v["version"].as_str(),
            group: v["group"].as_str(),
            session: self.session.as_deref(),
            ..Claims::basic("", Scope::Path, "", "")
        }
    }
}

#[test]
fn known_answer_vectors() {
    let file: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/vectors/native-v1.json")).unwrap();
    let vectors = file["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 3);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let key = Key::new(v["key_id"].as_str().unwrap(), v["secret"].as_str().unwrap()).unwrap();
        let numbers = VectorNumbers::of(v);
        let claims = numbers.claims(v);
        let scope = claims.scope;
        let hex: String = claims
            .message()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, v["message_hex"].as_str().unwrap(), "{name}: message");
        let signature = key.sign(&claims).unwrap();
        assert_eq!(
            signature.as_str(),
            v["signature"].as_str().unwrap(),
            "{name}: signature"
        );
        // The same claims read back from the link's query give the same message.
        let link = v["link"].as_str().unwrap();
        let query = link.split_once('?').unwrap().1;
        let names = names();
        let parsed = SignedQuery::parse(query, &names).unwrap();
        let reparsed = match scope {
            Scope::Path => parsed.claims(claims.path),
            Scope::Prefix | Scope::Cookie => {
                let folder = percent_decode_str(parsed.prefix.unwrap())
                    .decode_utf8()
                    .unwrap();
                assert_eq!(folder, claims.path, "{name}: the folder reads back");
                Claims {
                    scope: Scope::Prefix,
                    query: AppQuery::Plain(""),
                    ..parsed.claims(claims.path)
                }
            }
        };
        assert_eq!(reparsed.message(), claims.message(), "{name}: parsed");
        assert_eq!(parsed.signature, v["signature"].as_str().unwrap());
    }
}

#[cfg(feature = "ed25519")]
#[test]
fn ed25519_known_answer_vectors() {
    let file: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/vectors/ed25519-v1.json")).unwrap();
    let vectors = file["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 4);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let decode = |field: &str| URL_SAFE_NO_PAD.decode(v[field].as_str().unwrap()).unwrap();
        let key_id = v["key_id"].as_str().unwrap();
        let private = Key::ed25519(key_id, decode("private_key")).unwrap();
        assert_eq!(
            private.ed25519_public_key().unwrap().as_slice(),
            decode("public_key"),
            "{name}: public key"
        );
        let public = Key::ed25519_public(key_id, decode("public_key")).unwrap();
        let numbers = VectorNumbers::of(v);
        let claims = numbers.claims(v);
        let hex: String = claims
            .with_message(ed25519::SCHEME_TAG, <[u8]>::to_vec)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, v["message_hex"].as_str().unwrap(), "{name}: message");
        let signature = v["signature"].as_str().unwrap();
        assert_eq!(private.sign(&claims).unwrap().as_str(), signature, "{name}");
        assert!(public.verifies(&claims, signature), "{name}: verifies");
        assert!(
            private.verifies(&claims, signature),
            "{name}: private verifies"
        );
        // The same signature does not pass as an HMAC tag, nor under another message.
        let other = Claims {
            expires: "1767225601",
            ..claims
        };
        assert!(!public.verifies(&other, signature), "{name}: other message");
        let hmac = Key::new(key_id, decode("public_key")).unwrap();
        assert!(!hmac.verifies(&claims, signature), "{name}: as HMAC");
    }
}
