"""Command line: `batch` (JSON lines, for differential tests), `sign` and `verify` for humans.

Secrets never go on the command line (other users can read it): `sign` and `verify` read the
secret from the environment variable SECURE_LINK_KEY.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, Optional

from . import LinkError, Signer, Verifier
from ._signer import as_secret, mint_folder, mint_link


def _opt_int(req: Dict[str, Any], name: str) -> Optional[int]:
    value = req.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError("{} must be an integer or null".format(name))
    return value


def _opt_str(req: Dict[str, Any], name: str, default: Optional[str] = None) -> Optional[str]:
    value = req.get(name, default)
    if value is not None and not isinstance(value, str):
        raise ValueError("{} must be a string or null".format(name))
    return value


def _mint(req: Dict[str, Any]) -> Dict[str, Any]:
    secret = as_secret(_opt_str(req, "secret") or "")
    prefix = _opt_str(req, "param_prefix", "sl_")
    expires = req.get("expires")
    if req.get("folder", False) is True:
        link = mint_folder(
            secret,
            _opt_str(req, "key_id"),
            _opt_str(req, "path"),
            expires=expires,
            form=_opt_str(req, "folder_form", "query"),
            prefix=prefix,
        )
    else:
        link = mint_link(
            secret,
            _opt_str(req, "key_id"),
            _opt_str(req, "path"),
            expires=expires,
            not_before=_opt_int(req, "not_before"),
            method=_opt_str(req, "method", "GET"),
            query=_opt_str(req, "query", "") or "",
            nonce=_opt_str(req, "nonce"),
            max_body=_opt_int(req, "max_body"),
            version=_opt_str(req, "version"),
            group=_opt_str(req, "group"),
            prefix=prefix,
        )
    return {"link": link}


def _verify(req: Dict[str, Any]) -> Dict[str, Any]:
    keys = req.get("keys")
    link = req.get("link")
    now = _opt_int(req, "now")
    if not isinstance(keys, dict) or not isinstance(link, str) or now is None:
        raise ValueError("verify needs keys (object), link (string) and now (integer)")
    verifier = Verifier(
        keys,
        leeway=req.get("leeway", 5),
        max_lifetime=req.get("max_lifetime", 7 * 24 * 3600),
        param_prefix=_opt_str(req, "param_prefix", "sl_"),
    )
    try:
        got = verifier.verify(link, method=_opt_str(req, "method", "GET"), now=now)
    except LinkError as err:
        return {"ok": False, "reason": err.reason}
    return {
        "ok": True,
        "scope": got.scope,
        "path": got.path,
        "query": got.query,
        "nonce": got.nonce,
        "max_body": got.max_body,
        "version": got.version,
        "group": got.group,
    }


def answer(line: bytes) -> Dict[str, Any]:
    """One reply per input line; every failure becomes {"error": ...}, never an exception."""
    try:
        req = json.loads(line.decode("utf-8"))
        if not isinstance(req, dict):
            raise ValueError("a request is a JSON object")
        op = req.get("op")
        if op == "mint":
            return _mint(req)
        if op == "verify":
            return _verify(req)
        raise ValueError("op must be 'mint' or 'verify'")
    except Exception as err:  # noqa: BLE001 - the protocol wants a reply for any bad line
        return {"error": str(err) or type(err).__name__}


def batch() -> int:
    out = sys.stdout
    for line in sys.stdin.buffer:
        out.write(json.dumps(answer(line)) + "\n")
        out.flush()
    return 0


def _secret_from_env() -> bytes:
    secret = os.environ.get("SECURE_LINK_KEY")
    if not secret:
        sys.exit("set SECURE_LINK_KEY to the secret")
    return as_secret(secret)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tower_secure_link")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("batch", help="JSON lines on stdin, one reply per line on stdout")
    sign = sub.add_parser("sign", help="print a signed link (secret from SECURE_LINK_KEY)")
    sign.add_argument("path", help="decoded path, or a folder ending with '/' with --folder")
    sign.add_argument("--key-id", required=True)
    sign.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")
    sign.add_argument("--method", default="GET")
    sign.add_argument("--query", default="")
    sign.add_argument("--one-time", action="store_true")
    sign.add_argument("--folder", choices=["query", "path"], help="mint a folder link")
    verify = sub.add_parser("verify", help="check a link (secret from SECURE_LINK_KEY)")
    verify.add_argument("target", help="path?query as a client sends it")
    verify.add_argument("--key-id", required=True)
    verify.add_argument("--method", default="GET")
    args = parser.parse_args(argv)

    if args.command == "batch":
        return batch()
    try:
        if args.command == "sign":
            signer = Signer(_secret_from_env(), args.key_id)
            if args.folder:
                print(signer.sign_folder(args.path, expires_in=args.ttl, form=args.folder))
            else:
                print(
                    signer.sign(
                        args.path,
                        expires_in=args.ttl,
                        method=args.method,
                        query=args.query,
                        one_time=args.one_time,
                    )
                )
            return 0
        got = Verifier({args.key_id: _secret_from_env()}).verify(args.target, method=args.method)
    except ValueError as err:
        print("error: {}".format(err), file=sys.stderr)
        return 2
    except LinkError as err:
        print("refused: {}".format(err), file=sys.stderr)
        return 1
    print(json.dumps(got.__dict__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
