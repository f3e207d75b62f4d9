#!/usr/bin/env python3
"""An independent implementation of delegated links (SPEC.md, "Delegated links"), written from
the specification with Python's standard library. It prints the known-answer vectors in
delegation-v1.json: the scope bytes, the sl_dlg value, the child secret, the child's
configuration line and a link the child signs. The crate's tests derive, mint and verify the
same.

Run: python3 tests/vectors/delegation_v1.py > tests/vectors/delegation-v1.json
"""
import base64
import hashlib
import hmac
import json
import struct
from urllib.parse import quote

LABEL = b"tsl-delegation-v1"
SEGMENT_SAFE = "-._~!$&'()*+,=:@"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def field(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def scope_bytes(child_id, folder, methods, not_after, group):
    methods = ",".join(sorted(set(methods)))
    parts = [child_id, folder, methods, str(not_after), group or ""]
    return b"".join(field(p.encode("utf-8")) for p in parts)


def message(key_id, method, path, query, expires, group, dlg):
    # Nine fields, then 10 (version) and 11 (group), then 12 to 18 up to the last present:
    # here 18, the delegation, so 12 to 17 are empty.
    nine = [key_id, method, "path", path, query, "", str(expires), "", ""]
    later = ["", group or ""] + [""] * 6 + [dlg]
    return b"tsl-v1" + b"".join(field(p.encode("utf-8")) for p in nine + later)


def encode_path(path):
    return "/".join(quote(segment, safe=SEGMENT_SAFE) for segment in path.split("/"))


def vector(name, root_id, root_secret, child_id, folder, methods, not_after, group, target):
    scope = scope_bytes(child_id, folder, methods, not_after, group)
    dlg = b64url(scope)
    child = hmac.new(root_secret, LABEL + scope, hashlib.sha256).digest()
    method, path, expires = target
    msg = message(root_id, method, path, "", expires, group, dlg)
    sig = b64url(hmac.new(child, msg, hashlib.sha256).digest())
    params = [f"sl_kid={root_id}"]
    if method != "GET":
        params.append(f"sl_method={method}")
    params.append(f"sl_exp={expires}")
    if group:
        params.append(f"sl_grp={group}")
    params += [f"sl_dlg={dlg}", f"sl_sig={sig}"]
    return {
        "name": name,
        "root_id": root_id,
        "root_secret_hex": root_secret.hex(),
        "child_id": child_id,
        "folder": folder,
        "methods": sorted(set(methods)),
        "not_after": not_after,
        "group": group,
        "scope_hex": scope.hex(),
        "dlg": dlg,
        "child_secret_hex": child.hex(),
        "child_text": f"tsl-delegated-v1.{root_id}.{dlg}.{b64url(child)}",
        "method": method,
        "path": path,
        "expires": expires,
        "message_hex": msg.hex(),
        "link": encode_path(path) + "?" + "&".join(params),
    }


def ed25519_vector(name, root_id, root_seed, child_seed, child_id, folder, methods, not_after, target):
    """An Ed25519 root certifies a child key (the scope and the child's public key, under the
    label tsl-ed25519-delegation-v1); the child signs the link under tsl-ed25519-v1."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization

    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    root = Ed25519PrivateKey.from_private_bytes(root_seed)
    child = Ed25519PrivateKey.from_private_bytes(child_seed)
    root_public = root.public_key().public_bytes(*raw)
    child_public = child.public_key().public_bytes(*raw)
    scope = scope_bytes(child_id, folder, methods, not_after, None)
    certificate = root.sign(b"tsl-ed25519-delegation-v1" + scope + child_public)
    dlg = ".".join(b64url(part) for part in (scope, child_public, certificate))
    method, path, expires = target
    msg = message(root_id, method, path, "", expires, None, dlg).replace(b"tsl-v1", b"tsl-ed25519-v1", 1)
    sig = b64url(child.sign(msg))
    return {
        "name": name,
        "root_id": root_id,
        "root_public": b64url(root_public),
        "child_text": f"tsl-delegated-ed25519-v1.{root_id}.{dlg}.{b64url(child_seed)}",
        "method": method,
        "path": path,
        "expires": expires,
        "link": encode_path(path) + f"?sl_kid={root_id}&sl_exp={expires}&sl_dlg={dlg}&sl_sig={sig}",
    }


def main():
    root = bytes(range(32))
    vectors = [
        vector("a tenant's GET link", "root-1", root, "tenant-7", "/tenants/7/", ["GET"],
               1767225600, None, ("GET", "/tenants/7/report.pdf", 1767222000)),
        vector("an upload slot under a group", "root-1", root, "uploader", "/uploads/",
               ["PUT", "GET"], 1767225600, "uploads-2026", ("PUT", "/uploads/a b/é.bin", 1767222000)),
        vector("a folder that needs escaping", "root-2", b"another root secret of 32 bytes!", "t-70",
               "/tenants/70 é/", ["GET"], 1800000000, None, ("GET", "/tenants/70 é/x.txt", 1799999000)),
    ]
    ed25519 = [
        ed25519_vector("an Ed25519 root certifies a tenant", "ed-root", bytes([5] * 32), bytes([6] * 32),
                       "tenant-7", "/tenants/7/", ["GET"], 1767225600,
                       ("GET", "/tenants/7/report.pdf", 1767222000)),
    ]
    print(json.dumps({"vectors": vectors, "ed25519": ed25519}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
