"""Minting links. The signer refuses anything a verifier would refuse, naming the problem."""

from __future__ import annotations

import re
import secrets
import time
from typing import Callable, Optional, Union

from . import _codec as c
from ._message import message, tag

DEFAULT_TTL = 3600
DEFAULT_MAX_LIFETIME = 7 * 24 * 3600
MIN_SECRET_LEN = 32

# Validators are header values: visible ASCII and inner spaces (servers trim the ends).
# What a header value holds (SPEC.md, sl_ver): no control character but tab, no space or tab
# at either end; non-ASCII text travels as its UTF-8 bytes.
VALIDATOR = re.compile(r"[^\x00-\x20\x7f](?:[^\x00-\x08\x0a-\x1f\x7f]*[^\x00-\x20\x7f])?\Z")


def as_secret(secret: Union[bytes, str]) -> bytes:
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, (bytes, bytearray)) or not secret:
        raise ValueError("secret must be non-empty bytes or text")
    return bytes(secret)


def _check_int(name: str, value, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("{} must be an integer".format(name))
    if not low <= value <= c.MAX_SECONDS:
        raise ValueError("{} must be between {} and 2^63-1".format(name, low))
    return value


def _check_common(key_id: str, prefix: str) -> None:
    if not isinstance(prefix, str) or not c.valid_prefix(prefix):
        raise ValueError("param_prefix must be 1 to 16 characters of a-z 0-9 _ -")
    if not isinstance(key_id, str) or not c.valid_key_id(key_id):
        raise ValueError("key id must be 1 to 32 characters of A-Z a-z 0-9 . _ -")


def _canonical(path: str, prefix: str) -> c.CanonicalPath:
    try:
        canonical = c.canonical_from_decoded(path)
    except c.PathError as err:
        raise ValueError("path: {}".format(err)) from None
    for segment in canonical.segments:
        # A verifier would read such a segment as a folder token, never as a file name.
        if c.looks_like_token(segment, prefix):
            raise ValueError("path segment {!r} is reserved for folder tokens".format(segment))
    return canonical


def mint_link(
    secret: bytes,
    key_id: str,
    path: str,
    *,
    expires: int,
    not_before: Optional[int] = None,
    method: str = "GET",
    query: str = "",
    nonce: Optional[str] = None,
    max_body: Optional[int] = None,
    version: Optional[str] = None,
    group: Optional[str] = None,
    prefix: str = "sl_",
) -> str:
    """Mint a plain link without looking at the clock; `version` is the raw validator text."""
    _check_common(key_id, prefix)
    if not isinstance(method, str) or not c.valid_method(method):
        raise ValueError("method must be an upper-case token such as GET or PUT")
    canonical = _canonical(path, prefix)
    if not isinstance(query, str):
        raise ValueError("query must be text")
    app_query = c.escape_query(query)
    for part in app_query.split("&") if app_query else []:
        if c.looks_like_param(part.split("=", 1)[0], prefix):
            raise ValueError("query parameter {!r} uses the signing prefix".format(part))
    expires = _check_int("expiry", expires)
    if not_before is not None:
        not_before = _check_int("not_before", not_before)
        if not_before > expires:
            raise ValueError("not_before is after the expiry")
    if nonce is not None and not (isinstance(nonce, str) and c.valid_nonce(nonce)):
        raise ValueError("nonce must be 22 characters of canonical base64url (16 bytes)")
    if max_body is not None:
        max_body = _check_int("max_body", max_body)
    ver = None
    if version is not None:
        if method != "GET":
            raise ValueError("version-bound links are GET only")
        if not isinstance(version, str) or not VALIDATOR.match(version):
            raise ValueError("version must be a header value with no space or tab at either end")
        try:
            raw = version.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("version is not valid Unicode text") from None
        if len(raw) > 192:
            raise ValueError("version is longer than 192 bytes")
        ver = c.b64url(raw)
        if len(ver) > 256:
            raise ValueError("version is too long (its base64url exceeds 256 characters)")
    if group is not None and not (isinstance(group, str) and c.valid_group(group)):
        raise ValueError("group must be 1 to 64 characters of A-Z a-z 0-9 . _ -")

    msg = message(
        key_id=key_id,
        method=method,
        scope="path",
        path=canonical.decoded(),
        query=app_query,
        not_before=not_before,
        expires=expires,
        nonce=nonce,
        max_body=max_body,
        version=ver,
        group=group,
    )
    params = [("kid", key_id)]
    if method != "GET":
        params.append(("method", method))
    if not_before is not None:
        params.append(("nbf", str(not_before)))
    params.append(("exp", str(expires)))
    for name, value in (("nonce", nonce), ("max", max_body), ("ver", ver), ("grp", group)):
        if value is not None:
            params.append((name, str(value)))
    params.append(("sig", tag(secret, msg)))
    signing = "&".join("{}{}={}".format(prefix, n, v) for n, v in params)
    return "{}?{}{}".format(canonical.encoded(), app_query + "&" if app_query else "", signing)


def mint_folder(
    secret: bytes,
    key_id: str,
    folder: str,
    *,
    expires: int,
    form: str = "query",
    session: Optional[int] = None,
    prefix: str = "sl_",
) -> str:
    """Mint a folder link without looking at the clock."""
    _check_common(key_id, prefix)
    if form not in ("query", "path"):
        raise ValueError("form must be 'query' or 'path'")
    if not isinstance(folder, str) or not folder.endswith("/"):
        raise ValueError("a folder must end with '/'")
    canonical = _canonical(folder, prefix)
    expires = _check_int("expiry", expires)
    if session is not None:
        if form != "path":
            raise ValueError("a cookie session needs the path form")
        session = _check_int("session", session, low=1)
    msg = message(
        key_id=key_id,
        method="GET",
        scope="prefix",
        path=canonical.decoded(),
        query="",
        not_before=None,
        expires=expires,
        nonce=None,
        max_body=None,
        session=session,
    )
    sig = tag(secret, msg)
    if form == "path":
        fields = [key_id, str(expires)] + ([str(session)] if session is not None else [])
        return "{}{}t~{}~{}/".format(canonical.encoded(), prefix, "~".join(fields), sig)
    return "{base}?{p}kid={kid}&{p}exp={exp}&{p}prefix={folder}&{p}sig={sig}".format(
        base=canonical.encoded(),
        p=prefix,
        kid=key_id,
        exp=expires,
        folder=c.encode_prefix_param(canonical),
        sig=sig,
    )


def random_nonce() -> str:
    # 16 bytes make 22 characters whose last one carries four zero bits, as SPEC.md requires.
    return c.b64url(secrets.token_bytes(16))


class Signer:
    """Mints links under one key. Times are Unix seconds; `clock` exists for tests."""

    def __init__(
        self,
        secret: Union[bytes, str],
        key_id: str,
        param_prefix: str = "sl_",
        *,
        max_lifetime: Optional[int] = DEFAULT_MAX_LIFETIME,
        default_ttl: int = DEFAULT_TTL,
        clock: Callable[[], float] = time.time,
    ):
        self._secret = as_secret(secret)
        if len(self._secret) < MIN_SECRET_LEN:
            raise ValueError("secret must be at least {} bytes".format(MIN_SECRET_LEN))
        _check_common(key_id, param_prefix)
        self.key_id = key_id
        self.param_prefix = param_prefix
        self.max_lifetime = max_lifetime
        self.default_ttl = default_ttl
        self._clock = clock

    def __repr__(self) -> str:
        return "Signer(key_id={!r})".format(self.key_id)

    def _expiry(self, expires_in: Optional[int], expires_at: Optional[int]) -> int:
        now = int(self._clock())
        if expires_in is not None and expires_at is not None:
            raise ValueError("give expires_in or expires_at, not both")
        if expires_at is None:
            ttl = self.default_ttl if expires_in is None else expires_in
            expires_at = now + _check_int("expires_in", ttl, low=1)
        expires_at = _check_int("expires_at", expires_at)
        if expires_at <= now:
            raise ValueError("the expiry is not in the future")
        if self.max_lifetime is not None and expires_at - now > self.max_lifetime:
            raise ValueError("the link would outlive max_lifetime ({} s)".format(self.max_lifetime))
        return expires_at

    def sign(
        self,
        path: str,
        *,
        expires_in: Optional[int] = None,
        expires_at: Optional[int] = None,
        not_before: Optional[int] = None,
        method: str = "GET",
        query: str = "",
        one_time: bool = False,
        max_body: Optional[int] = None,
        version: Optional[str] = None,
        group: Optional[str] = None,
    ) -> str:
        """Sign a decoded path (`/private/a b.pdf`); returns `path?query` ready to serve."""
        return mint_link(
            self._secret,
            self.key_id,
            path,
            expires=self._expiry(expires_in, expires_at),
            not_before=not_before,
            method=method,
            query=query,
            nonce=random_nonce() if one_time else None,
            max_body=max_body,
            version=version,
            group=group,
            prefix=self.param_prefix,
        )

    def sign_folder(
        self,
        folder: str,
        *,
        expires_in: Optional[int] = None,
        expires_at: Optional[int] = None,
        form: str = "query",
        session: Optional[int] = None,
    ) -> str:
        """Sign a decoded folder ending with '/'. The query form is the folder itself with the
        token in its query; the path form ends with the token segment and '/', so relative
        URLs resolved against it carry the token."""
        return mint_folder(
            self._secret,
            self.key_id,
            folder,
            expires=self._expiry(expires_in, expires_at),
            form=form,
            session=session,
            prefix=self.param_prefix,
        )
