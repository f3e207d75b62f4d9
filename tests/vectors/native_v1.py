#!/usr/bin/env python3
"""An independent implementation of the native link scheme v1, written from SPEC.md's
specification. It prints the known-answer vectors in native-v1.json; the crate's tests check that
the Rust implementation produces the same messages, signatures and links, and accepts the links.

Run: python3 tests/vectors/native_v1.py > tests/vectors/native-v1.json
"""
import base64
import hashlib
import hmac
import json
import struct
from urllib.parse import quote

PREFIX = "sl_"


def field(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def message(v):
    parts = [
        v["key_id"].encode(),
        v["method"].encode(),
        v.get("scope", "path").encode(),
        v["path"].encode("utf-8"),
        v["query"].encode(),
        b"" if v["not_before"] is None else str(v["not_before"]).encode(),
        str(v["expires"]).encode(),
        (v["nonce"] or "").encode(),
        b"" if v.get("max_body") is None else str(v["max_body"]).encode(),
    ]
    # Links with a version or a revocation group sign two more fields; others keep nine.
    if v.get("version") is not None or v.get("group") is not None:
        parts += [(v.get("version") or "").encode(), (v.get("group") or "").encode()]
    return b"tsl-v1" + b"".join(field(p) for p in parts)


def link(v, signature):
    path = "/".join(quote(seg, safe="!$&'()*+,=:@") for seg in v["path"].split("/"))
    if v.get("scope") == "prefix":
        # A folder link in the query: the canonical folder, with & = + escaped once more.
        folder = path.replace("&", "%26").replace("=", "%3D").replace("+", "%2B")
        query = f"{PREFIX}kid={v['key_id']}&{PREFIX}exp={v['expires']}&{PREFIX}prefix={folder}&{PREFIX}sig={signature}"
        return path + "seg-1.ts?" + query
    params = [f"{PREFIX}kid={v['key_id']}"]
    if v["method"] != "GET":
        params.append(f"{PREFIX}method={v['method']}")
    if v["not_before"] is not None:
        params.append(f"{PREFIX}nbf={v['not_before']}")
    params.append(f"{PREFIX}exp={v['expires']}")
    if v["nonce"]:
        params.append(f"{PREFIX}nonce={v['nonce']}")
    if v.get("max_body") is not None:
        params.append(f"{PREFIX}max={v['max_body']}")
    if v.get("version") is not None:
        params.append(f"{PREFIX}ver={v['version']}")
    if v.get("group") is not None:
        params.append(f"{PREFIX}grp={v['group']}")
    params.append(f"{PREFIX}sig={signature}")
    query = ([v["query"]] if v["query"] else []) + params
    return path + "?" + "&".join(query)


VECTORS = [
    dict(name="plain GET", secret="0123456789abcdef0123456789abcdef", key_id="1",
         method="GET", path="/private/report.pdf", query="", not_before=None,
         expires=1767225600, nonce=None, now=1767222000),
    dict(name="PUT with query and not-before", secret="another secret that is long enough!",
         key_id="2026-11", method="PUT", path="/private/uploads/a b.bin", query="v=2&tag=x%20y",
         not_before=1767225000, expires=1767225600, nonce=None, now=1767225100),
    dict(name="UTF-8 path and reserved characters", secret="0123456789abcdef0123456789abcdef",
         key_id="k.1", method="GET", path="/private/caf\u00e9/na\u00efve (1)+[x].txt",
         query="a=1&a=2&empty=&flag", not_before=None, expires=1767225600, nonce=None,
         now=1767225600),
    dict(name="one-time nonce", secret="0123456789abcdef0123456789abcdef", key_id="1",
         method="GET", path="/private/once.pdf", query="", not_before=None,
         expires=1767225600, nonce="q83vEjRWeJq83vEjRWeJqw", now=1767222000),
    dict(name="folder link", secret="0123456789abcdef0123456789abcdef", key_id="1",
         method="GET", scope="prefix", path="/private/videos/42 & more/", query="",
         not_before=None, expires=1767225600, nonce=None, now=1767222000),
    dict(name="upload slot", secret="0123456789abcdef0123456789abcdef", key_id="1",
         method="PUT", path="/private/uploads/slot-7.bin", query="", not_before=None,
         expires=1767225600, nonce="AAECAwQFBgcICQoLDA0ODw", max_body=1048576, now=1767222000),
    dict(name="version-bound link", secret="0123456789abcdef0123456789abcdef", key_id="1",
         method="GET", path="/private/report.pdf", query="", not_before=None,
         expires=1767225600, nonce=None, now=1767222000,
         version=base64.urlsafe_b64encode(b"Tue, 24 Nov 2026 23:27:00 GMT").rstrip(b"=").decode()),
    dict(name="revocation group", secret="0123456789abcdef0123456789abcdef", key_id="1",
         method="GET", path="/private/deck.pdf", query="", not_before=None,
         expires=1767225600, nonce=None, now=1767222000, group="team-a.2026"),
    dict(name="one-time link with a version and a group", secret="0123456789abcdef0123456789abcdef",
         key_id="1", method="GET", path="/private/v.mp4", query="t=1", not_before=None,
         expires=1767225600, nonce="q83vEjRWeJq83vEjRWeJqw", now=1767222000,
         version=base64.urlsafe_b64encode(b'"5f2a-1000"').rstrip(b"=").decode(), group="g"),
]

if __name__ == "__main__":
    out = []
    for v in VECTORS:
        msg = message(v)
        tag = hmac.new(v["secret"].encode(), msg, hashlib.sha256).digest()
        signature = base64.urlsafe_b64encode(tag).rstrip(b"=").decode()
        v.setdefault("max_body", None)
        v.setdefault("scope", "path")
        v.setdefault("version", None)
        v.setdefault("group", None)
        out.append(dict(v, message_hex=msg.hex(), signature=signature, link=link(v, signature)))
    print(json.dumps({"scheme": "tower-secure-link native v1", "param_prefix": PREFIX,
                      "vectors": out}, indent=1, ensure_ascii=False))
