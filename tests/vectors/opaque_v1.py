#!/usr/bin/env python3
"""An independent implementation of opaque links, version 1, written from SPEC.md: HKDF-SHA256
key derivation, XChaCha20-Poly1305 (HChaCha20 here, ChaCha20-Poly1305 from the `cryptography`
package) and the claims encoding. It prints the known-answer vectors in opaque-v1.json, which
the crate's tests check in both directions (the crate seals the same tokens and opens these).

Run: python3 tests/vectors/opaque_v1.py > tests/vectors/opaque-v1.json
"""
import base64
import hashlib
import hmac
import json
import struct

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

LABEL = b"tower-secure-link opaque links v1"
AD_TAG = b"tsl-opaque-v1"


def hkdf_sha256(secret: bytes, info: bytes, length: int = 32) -> bytes:
    prk = hmac.new(b"\x00" * 32, secret, hashlib.sha256).digest()  # no salt: zeros
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def rotl(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 7)


def hchacha20(key: bytes, nonce16: bytes) -> bytes:
    s = list(struct.unpack("<4I", b"expand 32-byte k")) + list(struct.unpack("<8I", key)) \
        + list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        quarter(s, 0, 4, 8, 12); quarter(s, 1, 5, 9, 13); quarter(s, 2, 6, 10, 14); quarter(s, 3, 7, 11, 15)
        quarter(s, 0, 5, 10, 15); quarter(s, 1, 6, 11, 12); quarter(s, 2, 7, 8, 13); quarter(s, 3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xchacha_seal(key, nonce24, plaintext, aad):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).encrypt(b"\x00" * 4 + nonce24[16:], plaintext, aad)


def xchacha_open(key, nonce24, sealed, aad):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).decrypt(b"\x00" * 4 + nonce24[16:], sealed, aad)


FIELDS = ["method", "path", "query", "not_before", "expires", "nonce", "max_body", "version", "group"]


def claims_bytes(v):
    out = b""
    for name in FIELDS:
        value = v.get(name)
        text = b"" if value is None else str(value).encode("utf-8")
        out += struct.pack(">H", len(text)) + text
    return out


def token(v):
    key = hkdf_sha256(v["secret"].encode(), LABEL)
    head = bytes([1, len(v["key_id"])]) + v["key_id"].encode()
    nonce = bytes.fromhex(v["nonce_hex"])
    sealed = xchacha_seal(key, nonce, claims_bytes(v), AD_TAG + head)
    raw = head + nonce + sealed
    # The verifier's side: open what was sealed.
    assert xchacha_open(key, nonce, sealed, AD_TAG + head) == claims_bytes(v)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


VECTORS = [
    dict(name="plain GET", secret="0123456789abcdef0123456789abcdef", key_id="1", method="GET",
         path="/private/report.pdf", query="", not_before=None, expires=1767225600, nonce=None,
         max_body=None, version=None, group=None, now=1767222000,
         nonce_hex="000102030405060708090a0b0c0d0e0f1011121314151617"),
    dict(name="one-time PUT slot with query", secret="another secret that is long enough!",
         key_id="2026-11", method="PUT", path="/private/uploads/a%20b.bin", query="v=2",
         not_before=1767222000, expires=1767225600, nonce="q83vEjRWeJq83vEjRWeJqw",
         max_body=1048576, version=None, group="team-a", now=1767222100,
         nonce_hex="f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566ff"),
]

out = []
for v in VECTORS:
    out.append(dict(v, key_hex=hkdf_sha256(v["secret"].encode(), LABEL).hex(), token=token(v)))
print(json.dumps({"scheme": "tower-secure-link opaque v1", "prefix": "/s/", "vectors": out},
                 indent=1, ensure_ascii=False))
