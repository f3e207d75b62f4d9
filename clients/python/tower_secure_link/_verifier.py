"""Verifying links. Checks run in SPEC.md's order: syntax, key, signature, times, method."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit

from . import _codec as c
from ._message import message, tag
from ._signer import VALIDATOR, as_secret

REASONS = (
    "missing",
    "malformed",
    "unknown_key",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "too_long",
    "wrong_method",
    "outside_folder",
    "bad_path",
)
_NAMES = ("kid", "method", "nbf", "exp", "nonce", "max", "ver", "grp", "prefix", "sig")
# A folder link binds none of these, so carrying one is a link the signer never made.
_NOT_IN_FOLDER = ("method", "nbf", "nonce", "max", "ver", "grp")


class LinkError(Exception):
    """A refused link; `reason` is one of REASONS."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__("{}: {}".format(reason, detail) if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Verified:
    """What a valid link grants. `path` is the decoded canonical path of the resource."""

    scope: str
    path: str
    query: str
    key_id: str
    expires: int
    method: str = "GET"
    not_before: Optional[int] = None
    nonce: Optional[str] = None
    max_body: Optional[int] = None
    version: Optional[str] = None
    group: Optional[str] = None
    folder: Optional[str] = None
    session: Optional[int] = None


@dataclass
class _Claims:
    key_id: str
    sig: str
    expires: int
    scope: str = "path"
    method: str = "GET"
    not_before: Optional[int] = None
    nonce: Optional[str] = None
    max_body: Optional[int] = None
    ver: Optional[str] = None
    version: Optional[str] = None
    group: Optional[str] = None
    folder: Optional[str] = None
    session: Optional[int] = None


def _malformed(detail: str) -> LinkError:
    return LinkError("malformed", detail)


def _decimal(name: str, text: str) -> int:
    value = c.parse_decimal(text)
    if value is None:
        raise _malformed("{} is not canonical decimal".format(name))
    return value


def _split_query(query: str, prefix: str) -> Tuple[Dict[str, str], List[str], bool]:
    """Separate signing parameters from the application's; the flag tells if any were seen."""
    params: Dict[str, str] = {}
    app: List[str] = []
    seen = False
    for part in query.split("&") if query else []:
        name, eq, value = part.partition("=")
        if not c.looks_like_param(name, prefix):
            app.append(part)
            continue
        seen = True
        short = name[len(prefix) :] if name.startswith(prefix) else None
        if short not in _NAMES:
            raise _malformed("unknown signing parameter {!r}".format(name))
        if not eq:
            raise _malformed("{} has no '='".format(name))
        if short in params:
            raise _malformed("{} appears twice".format(name))
        params[short] = value
    return params, app, seen


def _check_sig_text(sig: str) -> str:
    if len(sig) != 43 or c.b64url_decode_strict(sig) is None:
        raise _malformed("the signature is not 43 characters of canonical base64url")
    return sig


def _query_claims(params: Dict[str, str]) -> _Claims:
    for required in ("kid", "exp", "sig"):
        if required not in params:
            raise _malformed("no {} parameter".format(required))
    key_id = params["kid"]
    if not c.valid_key_id(key_id):
        raise _malformed("bad key id")
    claims = _Claims(
        key_id=key_id,
        sig=_check_sig_text(params["sig"]),
        expires=_decimal("exp", params["exp"]),
    )
    if "prefix" in params:
        extra = [n for n in _NOT_IN_FOLDER if n in params]
        if extra:
            raise _malformed("a folder link cannot carry {}".format(", ".join(extra)))
        claims.scope = "prefix"
        claims.folder = _folder_param(params["prefix"])
        return claims
    if "method" in params:
        method = params["method"]
        if method == "GET" or not c.valid_method(method):
            raise _malformed("sl_method is not a canonical method")
        claims.method = method
    if "nbf" in params:
        claims.not_before = _decimal("nbf", params["nbf"])
    if "nonce" in params:
        if not c.valid_nonce(params["nonce"]):
            raise _malformed("bad nonce")
        claims.nonce = params["nonce"]
    if "max" in params:
        claims.max_body = _decimal("max", params["max"])
    if "ver" in params:
        ver = params["ver"]
        raw = c.b64url_decode_strict(ver)
        if claims.method != "GET" or not ver or len(ver) > 256 or raw is None:
            raise _malformed("bad sl_ver")
        try:
            claims.version = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed("sl_ver is not text") from None
        if not VALIDATOR.match(claims.version):
            raise _malformed("sl_ver is not a header value")
        claims.ver = ver
    if "grp" in params:
        if not c.valid_group(params["grp"]):
            raise _malformed("bad group")
        claims.group = params["grp"]
    return claims


def _folder_param(value: str) -> str:
    data = c.percent_decode(value)
    try:
        text = data.decode("utf-8") if data is not None else None
        folder = c.canonical_from_decoded(text) if text is not None else None
    except (UnicodeDecodeError, c.PathError):
        folder = None
    # Only the one spelling the signer writes is accepted; decoding once gives field 4.
    if folder is None or not folder.trailing or c.encode_prefix_param(folder) != value:
        raise _malformed("sl_prefix is not a canonical folder")
    return folder.decoded()


def _token_claims(token: str, prefix: str) -> _Claims:
    fields = token[len(prefix) + 2 :].split("~")
    if len(fields) not in (3, 4):
        raise _malformed("a folder token has 3 or 4 fields")
    key_id, exp, sig = fields[0], fields[1], fields[-1]
    if not c.valid_key_id(key_id):
        raise _malformed("bad key id")
    claims = _Claims(key_id=key_id, sig=_check_sig_text(sig), expires=_decimal("expiry", exp))
    claims.scope = "prefix"
    if len(fields) == 4:
        claims.session = _decimal("session", fields[2])
        if claims.session < 1:
            raise _malformed("a session lasts at least 1 second")
    return claims


class Verifier:
    """Verifies links against a keyring of HMAC secrets by key id."""

    def __init__(
        self,
        keys: Mapping[str, Union[bytes, str]],
        *,
        leeway: int = 5,
        max_lifetime: int = 7 * 24 * 3600,
        param_prefix: str = "sl_",
    ):
        if not c.valid_prefix(param_prefix):
            raise ValueError("param_prefix must be 1 to 16 characters of a-z 0-9 _ -")
        for key_id in keys:
            if not isinstance(key_id, str) or not c.valid_key_id(key_id):
                raise ValueError("key id {!r} is not 1 to 32 of A-Z a-z 0-9 . _ -".format(key_id))
        for name, value in (("leeway", leeway), ("max_lifetime", max_lifetime)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError("{} must be a non-negative integer".format(name))
        self._keys = {k: as_secret(v) for k, v in keys.items()}
        self.leeway = leeway
        self.max_lifetime = max_lifetime
        self.param_prefix = param_prefix

    def __repr__(self) -> str:
        return "Verifier(key_ids={!r})".format(sorted(self._keys))

    def verify(self, target: str, method: str = "GET", now: Optional[int] = None) -> Verified:
        """Verify a request target (`/path?query` as sent; an absolute URL is cut to that)."""
        if now is None:
            now = int(time.time())
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            target = parts.path + ("?" + parts.query if parts.query else "")
        raw_path, _, query = target.partition("?")
        try:
            path = c.canonical_from_raw(raw_path)
        except c.PathError as err:
            raise LinkError("bad_path", str(err)) from None
        prefix = self.param_prefix
        params, app, seen = _split_query(query, prefix)

        tokens = [i for i, s in enumerate(path.segments) if c.looks_like_token(s, prefix)]
        if not tokens and not seen:
            raise LinkError("missing")
        if tokens:
            if seen:
                raise _malformed("a folder token and signing parameters together")
            if len(tokens) > 1:
                raise _malformed("more than one folder token")
            at = tokens[0]
            token = path.segments[at]
            # The token has one spelling: the exact prefix, nothing escaped.
            if not token.startswith(prefix) or path.raw[at] != token:
                raise _malformed("the folder token is not in canonical form")
            claims = _token_claims(token, prefix)
            claims.folder = c.join_path(path.segments[:at], True)
            rest = path.segments[:at] + path.segments[at + 1 :]
            resource = c.join_path(rest, path.trailing or at == len(path.segments) - 1)
            app_query = query
        else:
            claims = _query_claims(params)
            resource = path.decoded()
            app_query = "&".join(app)

        secret = self._keys.get(claims.key_id)
        if secret is None:
            raise LinkError("unknown_key", claims.key_id)
        msg = message(
            key_id=claims.key_id,
            method=claims.method,
            scope=claims.scope,
            path=claims.folder if claims.scope == "prefix" else resource,
            query="" if claims.scope == "prefix" else app_query,
            not_before=claims.not_before,
            expires=claims.expires,
            nonce=claims.nonce,
            max_body=claims.max_body,
            version=claims.ver,
            group=claims.group,
            session=claims.session,
        )
        if not hmac.compare_digest(tag(secret, msg).encode(), claims.sig.encode()):
            raise LinkError("bad_signature")

        if now > claims.expires + self.leeway:
            raise LinkError("expired")
        if claims.not_before is not None and claims.not_before > now + self.leeway:
            raise LinkError("not_yet_valid")
        if claims.expires > now + self.max_lifetime + self.leeway:
            raise LinkError("too_long")
        if method != claims.method and not (method == "HEAD" and claims.method == "GET"):
            raise LinkError("wrong_method", method)
        # Folders end with '/', so /tenant-7/ is never a prefix of /tenant-70/.
        if claims.scope == "prefix" and not resource.startswith(claims.folder):
            raise LinkError("outside_folder")

        return Verified(
            scope=claims.scope,
            path=resource,
            query=app_query,
            key_id=claims.key_id,
            expires=claims.expires,
            method=claims.method,
            not_before=claims.not_before,
            nonce=claims.nonce,
            max_body=claims.max_body,
            version=claims.version,
            group=claims.group,
            folder=claims.folder,
            session=claims.session,
        )
