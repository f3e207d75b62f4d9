#!/usr/bin/env python3
"""An independent implementation of Ed25519 links, written from SPEC.md with the `cryptography`
package: the canonical message of native v1 under the scheme tag `tsl-ed25519-v1`, signed with
pure Ed25519, the 64-byte signature in base64url without padding.

Print the known-answer vectors (the crate's tests check its messages, signatures and links
against them):

    python3 tests/vectors/ed25519_v1.py > tests/vectors/ed25519-v1.json

Check the signature of a link minted by anyone (not its times), knowing only the public key
(exit 0 and "valid", or exit 1 and the reason); the crate's tests run this on links it mints:

    python3 tests/vectors/ed25519_v1.py verify KEY_ID:PUBLIC_KEY LINK
"""
import base64
import json
import sys
from urllib.parse import unquote_to_bytes

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from native_v1 import PREFIX, field, link as query_link

SCHEME_TAG = b"tsl-ed25519-v1"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(data) != text:
        raise ValueError("not canonical base64url")
    return data


def message(parts) -> bytes:
    """`parts`: the nine fields (or eleven with a version or group) as bytes."""
    return SCHEME_TAG + b"".join(field(p) for p in parts)


def vector_parts(v):
    parts = [
        v["key_id"].encode(),
        v["method"].encode(),
        v["scope"].encode(),
        v["path"].encode("utf-8"),
        v["query"].encode(),
        b"" if v["not_before"] is None else str(v["not_before"]).encode(),
        str(v["expires"]).encode(),
        (v["nonce"] or "").encode(),
        b"" if v["max_body"] is None else str(v["max_body"]).encode(),
    ]
    if v["version"] is not None or v["group"] is not None or v["session"] is not None:
        parts += [(v["version"] or "").encode(), (v["group"] or "").encode()]
    if v["session"] is not None:
        parts.append(str(v["session"]).encode())
    return parts


def path_token_link(v, signature):
    """A folder link in its path-segment form, with a file appended."""
    from native_v1 import quote

    folder = "/".join(quote(seg, safe="!$&'()*+,=:@") for seg in v["path"].split("/"))
    session = "" if v["session"] is None else f"{v['session']}~"
    return f"{folder}{PREFIX}t~{v['key_id']}~{v['expires']}~{session}{signature}/seg-1.ts"


SEED = bytes(range(32))

VECTORS = [
    dict(name="plain GET", key_id="ed1", method="GET", path="/private/report.pdf", query="",
         not_before=None, expires=1767225600, nonce=None),
    dict(name="PUT with query, not-before and a size limit", key_id="ed-2026", method="PUT",
         path="/private/uploads/a b.bin", query="v=2&tag=x%20y", not_before=1767225000,
         expires=1767225600, nonce="AAECAwQFBgcICQoLDA0ODw", max_body=1048576, now=1767225100),
    dict(name="one-time nonce with a group", key_id="ed1", method="GET",
         path="/private/caf\u00e9/once.pdf", query="", not_before=None, expires=1767225600,
         nonce="q83vEjRWeJq83vEjRWeJqw", group="team-a"),
    dict(name="folder link", key_id="ed1", method="GET", scope="prefix",
         path="/private/videos/42 & more/", query="", not_before=None, expires=1767225600,
         nonce=None),
    dict(name="folder link exchanged for a cookie session", key_id="ed1", method="GET",
         scope="prefix", path="/private/videos/42/", query="", not_before=None,
         expires=1767225600, nonce=None, session=14400, path_only=True),
]


def vectors():
    private = Ed25519PrivateKey.from_private_bytes(SEED)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    out = []
    for v in VECTORS:
        for name, default in [("max_body", None), ("scope", "path"), ("version", None),
                              ("group", None), ("session", None)]:
            v.setdefault(name, default)
        # A cookie session travels only in the path-segment form.
        path_only = v.pop("path_only", False)
        msg = message(vector_parts(v))
        signature = b64url(private.sign(msg))
        v.setdefault("now", 1767222000)
        entry = dict(v, private_key=b64url(SEED), public_key=b64url(public),
                     message_hex=msg.hex(), signature=signature)
        if not path_only:
            entry["link"] = query_link(v, signature)
        if v["scope"] == "prefix":
            entry["path_link"] = path_token_link(v, signature)
        out.append(entry)
    return {"scheme": "tower-secure-link ed25519 v1", "param_prefix": PREFIX, "vectors": out}


def parse_link(link):
    """The signed parts of a link in the query form or the folder path-segment form."""
    path, _, query = link.partition("?")
    segments = path.split("/")
    marker = PREFIX + "t~"
    for at, segment in enumerate(segments):
        if at > 0 and segment.startswith(marker):
            fields = segment[len(marker):].split("~")
            if len(fields) == 4:
                key_id, expires, session, signature = fields
                extra = ["", "", session]
            else:
                (key_id, expires, signature), extra = fields, []
            folder = "/".join(segments[:at]) + "/"
            parts = [key_id, "GET", "prefix", decode(folder), "", "", expires, "", ""] + extra
            return key_id, parts, signature
    params, app = {}, []
    for pair in query.split("&") if query else []:
        name, _, value = pair.partition("=")
        if name.lower().startswith(PREFIX):
            if name in params:
                raise ValueError(f"{name} given twice")
            params[name] = value
        else:
            app.append(pair)
    take = lambda name: params.pop(PREFIX + name, None)
    key_id, method, nbf, exp = take("kid"), take("method") or "GET", take("nbf"), take("exp")
    nonce, max_body, version, group = take("nonce"), take("max"), take("ver"), take("grp")
    folder, signature = take("prefix"), take("sig")
    if params or None in (key_id, exp, signature):
        raise ValueError(f"unexpected or missing signing parameters: {sorted(params)}")
    scope, target, app_query = "path", decode(path), "&".join(app)
    if folder is not None:
        scope, target, app_query = "prefix", decode(folder), ""
        if not decode(path).startswith(target):
            raise ValueError("the path lies outside the folder")
    parts = [key_id, method, scope, target, app_query, nbf or "", exp, nonce or "",
             max_body or ""]
    if version is not None or group is not None:
        parts += [version or "", group or ""]
    return key_id, parts, signature


def decode(text):
    return unquote_to_bytes(text).decode("utf-8")


def verify(public_keys, link):
    keys = dict(pair.split(":", 1) for pair in public_keys.split(","))
    key_id, parts, signature = parse_link(link)
    if key_id not in keys:
        return f"unknown key id {key_id}"
    public = Ed25519PublicKey.from_public_bytes(unb64url(keys[key_id]))
    try:
        public.verify(unb64url(signature), message(p.encode("utf-8") for p in parts))
    except (InvalidSignature, ValueError):
        return "bad signature"
    return None


if __name__ == "__main__":
    if sys.argv[1:2] == ["verify"]:
        try:
            problem = verify(sys.argv[2], sys.argv[3])
        except ValueError as error:
            problem = f"malformed: {error}"
        print(problem or "valid")
        sys.exit(1 if problem else 0)
    print(json.dumps(vectors(), indent=1, ensure_ascii=False))
