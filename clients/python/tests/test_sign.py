"""The signer refuses, with a ValueError naming the problem, what a verifier would refuse."""

import unittest

from _support import EXP, NOW, SECRET
from tower_secure_link import Signer, Verifier

SIGNER = Signer(SECRET, "1", clock=lambda: NOW)


class Refusals(unittest.TestCase):
    def refused(self, fragment, call, *args, **kw):
        with self.assertRaises(ValueError) as ctx:
            call(*args, **kw)
        self.assertIn(fragment, str(ctx.exception))

    def test_keys(self):
        for key_id in ("", "a b", "a~b", "a&b", "é", "x" * 33):
            with self.subTest(key_id=key_id):
                self.refused("key id", Signer, SECRET, key_id)
        self.refused("at least 32 bytes", Signer, b"short", "1")
        self.refused("param_prefix", Signer, SECRET, "1", "SL_")
        self.refused("param_prefix", Signer, SECRET, "1", "")

    def test_methods(self):
        for method in ("get", "Put", "GE T", "", "P&T"):
            with self.subTest(method=method):
                self.refused("method", SIGNER.sign, "/a", method=method)

    def test_times(self):
        self.refused("not in the future", SIGNER.sign, "/a", expires_at=NOW)
        self.refused("max_lifetime", SIGNER.sign, "/a", expires_in=7 * 24 * 3600 + 1)
        self.refused("not both", SIGNER.sign, "/a", expires_in=10, expires_at=EXP)
        self.refused("expires_in", SIGNER.sign, "/a", expires_in=0)
        self.refused("expires_in", SIGNER.sign, "/a", expires_in=True)
        self.refused("not_before is after", SIGNER.sign, "/a", expires_at=EXP, not_before=EXP + 1)
        self.refused("not_before", SIGNER.sign, "/a", expires_at=EXP, not_before=-1)
        unlimited = Signer(SECRET, "1", max_lifetime=None, clock=lambda: NOW)
        self.refused("2^63-1", unlimited.sign, "/a", expires_at=2**63)

    def test_paths(self):
        self.refused("start with '/'", SIGNER.sign, "a/b")
        self.refused("above the root", SIGNER.sign, "/a/../../b")
        self.refused("NUL", SIGNER.sign, "/a\x00b")
        self.refused("UTF-8", SIGNER.sign, "/a\udc80")
        self.refused("reserved", SIGNER.sign, "/a/sl_t~1~2~3/b")
        self.refused("reserved", SIGNER.sign, "/a/SL_T~x")

    def test_queries(self):
        for query in ("sl_kid=2", "a=1&SL_exp=1", "%73l_x=1", "sl_", "Sl_Sig"):
            with self.subTest(query=query):
                self.refused("signing prefix", SIGNER.sign, "/a", query=query)

    def test_options(self):
        self.refused("GET only", SIGNER.sign, "/a", method="PUT", version='"x"')
        self.refused("header value", SIGNER.sign, "/a", version=" padded")
        self.refused("header value", SIGNER.sign, "/a", version="padded\t")
        self.refused("header value", SIGNER.sign, "/a", version="")
        self.refused("header value", SIGNER.sign, "/a", version='"x\x01"')
        # Non-ASCII text is a header value too (its UTF-8 bytes), as the crate's signer takes it.
        self.assertIn("&sl_ver=ImNhZsOpIg", SIGNER.sign("/a", version='"caf\u00e9"'))
        self.refused("longer than 192", SIGNER.sign, "/a", version="x" * 193)
        SIGNER.sign("/a", version="x" * 192)
        for group in ("", "a/b", "x" * 65, "é"):
            self.refused("group", SIGNER.sign, "/a", group=group)
        self.refused("max_body", SIGNER.sign, "/a", max_body=-1)

    def test_folders(self):
        self.refused("end with '/'", SIGNER.sign_folder, "/private/docs")
        self.refused("form", SIGNER.sign_folder, "/private/", form="cookie")
        self.refused("path form", SIGNER.sign_folder, "/private/", session=60)
        self.refused("session", SIGNER.sign_folder, "/private/", form="path", session=0)
        self.refused("reserved", SIGNER.sign_folder, "/private/sl_t~a/")


class Output(unittest.TestCase):
    def test_one_time_nonce(self):
        nonces = set()
        for _ in range(64):
            link = SIGNER.sign("/once", one_time=True)
            nonce = link.split("sl_nonce=")[1].split("&")[0]
            self.assertEqual(len(nonce), 22)
            self.assertIn(nonce[-1], "AQgw")  # the last character's four unused bits are zero
            nonces.add(nonce)
        self.assertEqual(len(nonces), 64)

    def test_escaping(self):
        link = SIGNER.sign("/a b/%41/é?#", expires_at=EXP, query="q=a b&r=%41&s=%zz&t=é#")
        path, _, query = link.partition("?")
        self.assertEqual(path, "/a%20b/%2541/%C3%A9%3F%23")
        self.assertTrue(query.startswith("q=a%20b&r=%41&s=%25zz&t=%C3%A9%23&sl_kid=1&"))
        got = Verifier({"1": SECRET}).verify(link, now=NOW)
        self.assertEqual(got.path, "/a b/%41/é?#")

    def test_parameter_order(self):
        link = SIGNER.sign(
            "/u", expires_at=EXP, not_before=NOW, method="PUT", one_time=True, max_body=9, group="g"
        )
        names = [p.split("=")[0] for p in link.partition("?")[2].split("&")]
        self.assertEqual(
            names,
            ["sl_kid", "sl_method", "sl_nbf", "sl_exp", "sl_nonce", "sl_max", "sl_grp", "sl_sig"],
        )

    def test_canonicalises(self):
        self.assertTrue(SIGNER.sign("//a/./b/../c/", expires_at=EXP).startswith("/a/c/?"))
        self.assertTrue(SIGNER.sign("/a/..", expires_at=EXP).startswith("/?"))

    def test_secret_not_in_repr(self):
        self.assertNotIn("0123", repr(SIGNER))
        self.assertNotIn("0123", repr(Verifier({"1": SECRET})))


if __name__ == "__main__":
    unittest.main()
