"""The signed message and its tag (SPEC.md, native format v1)."""

from __future__ import annotations

import hashlib
import hmac
import struct
from typing import Optional

from ._codec import b64url

_DOMAIN = b"tsl-v1"


def _num(value: Optional[int]) -> str:
    return "" if value is None else str(value)


def message(
    *,
    key_id: str,
    method: str,
    scope: str,
    path: str,
    query: str,
    not_before: Optional[int],
    expires: int,
    nonce: Optional[str],
    max_body: Optional[int],
    version: Optional[str] = None,
    group: Optional[str] = None,
    session: Optional[int] = None,
) -> bytes:
    """Build the message; `path` is the decoded canonical path, `version` the sl_ver text."""
    fields = [
        key_id,
        method,
        scope,
        path,
        query,
        _num(not_before),
        str(expires),
        nonce or "",
        _num(max_body),
    ]
    # Links without the later fields keep exactly nine, so older links still verify.
    if version is not None or group is not None or session is not None:
        fields += [version or "", group or ""]
    if session is not None:
        fields.append(str(session))
    out = bytearray(_DOMAIN)
    for field in fields:
        data = field.encode("utf-8")
        out += struct.pack(">I", len(data))
        out += data
    return bytes(out)


def tag(secret: bytes, msg: bytes) -> str:
    """The sl_sig value: unpadded base64url of HMAC-SHA256, always 43 characters."""
    return b64url(hmac.new(secret, msg, hashlib.sha256).digest())
