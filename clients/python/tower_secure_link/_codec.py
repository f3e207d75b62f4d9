"""Canonical encodings shared by minting and verification (SPEC.md, native format v1).

Every function here is strict on purpose: a link has exactly one spelling, so anything a
verifier would read two ways is refused instead of being normalised.
"""

from __future__ import annotations

import base64
import re
from typing import List, Optional, Tuple

MAX_SECONDS = 2**63 - 1

_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)\Z")
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,32}\Z")
_GROUP = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
# 1 to 16 upper-case letters: the methods a link may name (SPEC.md, sl_method).
_METHOD = re.compile(r"[A-Z]{1,16}\Z")
_B64URL = re.compile(r"[A-Za-z0-9_-]*\Z")
_PREFIX = re.compile(r"[a-z0-9._-]{1,16}\Z")
_HEX = b"0123456789ABCDEFabcdef"

# Path segment bytes that stay literal; every other byte becomes %XX (upper-case hex).
_PATH_SAFE = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@"
)
# Bytes a query may hold as they are (RFC 3986 query: pchar, "/" and "?").
_QUERY_SAFE = _PATH_SAFE | frozenset(b";/?")


class PathError(ValueError):
    """A path that cannot be canonicalised (climbs above the root, NUL, bad UTF-8, bad escape)."""


def is_decimal(text: str) -> bool:
    return bool(_DECIMAL.match(text)) and int(text) <= MAX_SECONDS


def parse_decimal(text: str) -> Optional[int]:
    return int(text) if is_decimal(text) else None


def valid_key_id(text: str) -> bool:
    return bool(_KEY_ID.match(text))


def valid_group(text: str) -> bool:
    return bool(_GROUP.match(text))


def valid_method(text: str) -> bool:
    return bool(_METHOD.match(text))


def valid_prefix(text: str) -> bool:
    return bool(_PREFIX.match(text))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode_strict(text: str) -> Optional[bytes]:
    """Decode unpadded base64url, or None unless `text` is the canonical encoding of the result."""
    if not _B64URL.match(text) or len(text) % 4 == 1:
        return None
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Non-zero unused bits in the last character would give a second spelling of the same bytes.
    return data if b64url(data) == text else None


def valid_nonce(text: str) -> bool:
    decoded = b64url_decode_strict(text)
    return len(text) == 22 and decoded is not None and len(decoded) == 16


def percent_decode(raw: str, strict: bool = True) -> Optional[bytes]:
    """Decode %XX escapes once; strict mode returns None for a '%' without two hex digits."""
    data = raw.encode("utf-8", "surrogatepass")
    out = bytearray()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == 0x25:  # '%'
            pair = data[i + 1 : i + 3]
            if len(pair) == 2 and pair[0] in _HEX and pair[1] in _HEX:
                out.append(int(pair, 16))
                i += 3
                continue
            if strict:
                return None
        out.append(byte)
        i += 1
    return bytes(out)


def _escape(data: bytes, safe: frozenset) -> str:
    return "".join(chr(b) if b in safe else "%{:02X}".format(b) for b in data)


def encode_segment(segment: str) -> str:
    return _escape(segment.encode("utf-8"), _PATH_SAFE)


def escape_query(query: str) -> str:
    """Escape what a URL cannot hold, keeping existing %XX escapes exactly as written."""
    try:
        data = query.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError("query is not valid Unicode text") from err
    out = []
    i = 0
    while i < len(data):
        byte = data[i]
        pair = data[i + 1 : i + 3]
        if byte == 0x25 and len(pair) == 2 and pair[0] in _HEX and pair[1] in _HEX:
            out.append(data[i : i + 3].decode("ascii"))
            i += 3
            continue
        out.append(chr(byte) if byte in _QUERY_SAFE else "%{:02X}".format(byte))
        i += 1
    return "".join(out)


class CanonicalPath:
    """A canonical path: its decoded segments and whether it ends with '/'.

    `raw` keeps each surviving segment as it was spelled in the request (None when the path
    was given decoded), so a caller can tell an escaped spelling from a literal one.
    """

    def __init__(self, segments: List[str], trailing: bool, raw: List[Optional[str]]):
        self.segments = segments
        self.trailing = trailing or not segments
        self.raw = raw

    def decoded(self) -> str:
        return join_path(self.segments, self.trailing)

    def encoded(self) -> str:
        return join_path([encode_segment(s) for s in self.segments], self.trailing)


def join_path(segments: List[str], trailing: bool) -> str:
    if not segments:
        return "/"
    return "/" + "/".join(segments) + ("/" if trailing else "")


def _resolve(parts: List[Tuple[str, Optional[str]]]) -> CanonicalPath:
    segments: List[str] = []
    raw: List[Optional[str]] = []
    for text, spelling in parts:
        if "\x00" in text:
            raise PathError("the path holds a NUL byte")
        if text in ("", "."):
            continue
        if text == "..":
            if not segments:
                raise PathError("the path climbs above the root")
            segments.pop()
            raw.pop()
            continue
        segments.append(text)
        raw.append(spelling)
    trailing = bool(parts) and parts[-1][0] in ("", ".", "..")
    return CanonicalPath(segments, trailing, raw)


def canonical_from_decoded(path: str) -> CanonicalPath:
    """Canonicalise a path given as decoded text (what a signer is handed)."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise PathError("the path must start with '/'")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError as err:
        raise PathError("the path is not valid UTF-8") from err
    return _resolve([(part, None) for part in path[1:].split("/")])


def canonical_from_raw(path: str) -> CanonicalPath:
    """Canonicalise a path as a request spells it: each segment percent-decoded exactly once."""
    if not path.startswith("/"):
        raise PathError("the path must start with '/'")
    parts = []
    for spelling in path[1:].split("/"):
        data = percent_decode(spelling)
        if data is None:
            raise PathError("the path holds a bad percent escape")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise PathError("the path is not valid UTF-8") from err
        # An escaped '/' would make two different paths share one decoded form (field 4).
        if "/" in text:
            raise PathError("a path segment holds an escaped '/'")
        parts.append((text, spelling))
    return _resolve(parts)


def encode_prefix_param(folder: CanonicalPath) -> str:
    """The sl_prefix value: the canonical folder with the query's own delimiters escaped."""
    encoded = folder.encoded()
    return encoded.replace("&", "%26").replace("=", "%3D").replace("+", "%2B")


def looks_like_param(name: str, prefix: str) -> bool:
    """Whether a query parameter name claims the signing namespace, in any case or escaping."""
    decoded = percent_decode(name, strict=False) or b""
    return decoded.lower().startswith(prefix.lower().encode("utf-8"))


def looks_like_token(segment: str, prefix: str) -> bool:
    """Whether a decoded path segment claims to be a folder token, in any case."""
    return segment.lower().startswith(prefix.lower() + "t~")
