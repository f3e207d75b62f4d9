"""Folder links in both forms: what they grant, and every way to reach past the folder."""

import unittest

from _support import EXP, NOW, SECRET
from tower_secure_link import LinkError, Signer, Verifier

SIGNER = Signer(SECRET, "1", clock=lambda: NOW)
VERIFIER = Verifier({"1": SECRET})


def reason(target, method="GET", now=NOW):
    try:
        VERIFIER.verify(target, method=method, now=now)
    except LinkError as err:
        return err.reason
    return None


class QueryForm(unittest.TestCase):
    def setUp(self):
        self.link = SIGNER.sign_folder("/private/videos/42 & more/", expires_at=EXP)
        self.folder, _, self.query = self.link.partition("?")

    def under(self, rest, query=None):
        return self.folder + rest + "?" + (query if query is not None else self.query)

    def test_shape(self):
        self.assertEqual(self.folder, "/private/videos/42%20&%20more/")
        self.assertIn("sl_prefix=/private/videos/42%20%26%20more/&", self.query)

    def test_grants_the_folder_and_below(self):
        got = VERIFIER.verify(self.link, now=NOW)
        self.assertEqual((got.scope, got.path), ("prefix", "/private/videos/42 & more/"))
        got = VERIFIER.verify(
            self.under("hls/seg 1.ts", "x=1&" + self.query), method="HEAD", now=NOW
        )
        self.assertEqual(got.path, "/private/videos/42 & more/hls/seg 1.ts")
        self.assertEqual(got.query, "x=1")
        self.assertEqual(got.folder, "/private/videos/42 & more/")

    def test_outside(self):
        for target in (
            "/private/videos/other.ts?" + self.query,
            "/private/videos/42%20&%20more?" + self.query,
            self.under("../43/seg.ts"),
            self.under("%2E%2E/43/seg.ts"),
            self.under("./../../x"),
        ):
            with self.subTest(target):
                self.assertEqual(reason(target), "outside_folder")

    def test_tenant_7_is_not_tenant_70(self):
        link = SIGNER.sign_folder("/tenant-7/", expires_at=EXP)
        query = link.partition("?")[2]
        self.assertIsNone(reason("/tenant-7/a?" + query))
        for path in ("/tenant-70/a", "/tenant-70/", "/tenant-7", "/tenant-7a/b"):
            with self.subTest(path):
                self.assertEqual(reason(path + "?" + query), "outside_folder")

    def test_refusals(self):
        self.assertEqual(reason(self.link, method="POST"), "wrong_method")
        self.assertEqual(reason(self.link, now=EXP + 6), "expired")
        broader = self.link.replace(
            "sl_prefix=/private/videos/42%20%26%20more/", "sl_prefix=/private/"
        )
        self.assertEqual(reason(broader), "bad_signature")
        for name, old, new in (
            ("unescaped &", "%26", "&"),
            ("lower-case hex", "%20%26", "%20%2a"),
            ("dot segment", "sl_prefix=/private/", "sl_prefix=/private/./"),
            ("empty segment", "sl_prefix=/private/", "sl_prefix=/private//"),
            ("no trailing slash", "more/&sl_sig", "more&sl_sig"),
            ("climbs", "sl_prefix=/private/", "sl_prefix=/../private/"),
            ("nonce", "&sl_sig", "&sl_nonce=AAECAwQFBgcICQoLDA0ODw&sl_sig"),
            ("method", "&sl_exp", "&sl_method=PUT&sl_exp"),
            ("group", "&sl_sig", "&sl_grp=g&sl_sig"),
        ):
            with self.subTest(name):
                self.assertIn(old, self.link)
                self.assertEqual(reason(self.link.replace(old, new, 1)), "malformed")


class PathForm(unittest.TestCase):
    def setUp(self):
        self.base = SIGNER.sign_folder("/private/docs/", expires_at=EXP, form="path")
        self.token = self.base[len("/private/docs/") : -1]

    def test_shape(self):
        self.assertRegex(self.base, r"^/private/docs/sl_t~1~%d~[A-Za-z0-9_-]{43}/$" % EXP)

    def test_grants_below_the_token(self):
        got = VERIFIER.verify(self.base + "report.pdf?page=2", now=NOW)
        self.assertEqual(
            (got.scope, got.path, got.query), ("prefix", "/private/docs/report.pdf", "page=2")
        )
        self.assertEqual(VERIFIER.verify(self.base + "a/b/", now=NOW).path, "/private/docs/a/b/")
        self.assertEqual(VERIFIER.verify(self.base, now=NOW).path, "/private/docs/")
        self.assertEqual(VERIFIER.verify(self.base[:-1], now=NOW).path, "/private/docs/")
        self.assertIsNone(reason(self.base + "x", method="HEAD"))

    def test_dot_segments_climb_over_the_token(self):
        self.assertEqual(reason(self.base + "../x"), "missing")
        self.assertEqual(reason(self.base + "../../secret/x"), "missing")
        self.assertEqual(reason(self.base + "%2e%2e/x"), "missing")
        self.assertEqual(reason(self.base + "a/../x"), None)
        self.assertEqual(reason(self.base + "../../../../x"), "bad_path")

    def test_token_moved_to_another_folder(self):
        for folder in ("/private/", "/private/docs2/", "/private/docs/sub/", "/"):
            with self.subTest(folder):
                self.assertEqual(reason(folder + self.token + "/x"), "bad_signature")

    def test_refusals(self):
        tail = "/report.pdf"
        self.assertEqual(reason(self.base + "x", method="PUT"), "wrong_method")
        self.assertEqual(reason(self.base + "x", now=EXP + 6), "expired")
        self.assertEqual(
            reason("/private/docs/" + self.token.replace("~1~", "~9~") + tail), "unknown_key"
        )
        for name, target in (
            ("escaped ~", "/private/docs/" + self.token.replace("~", "%7E", 1) + tail),
            ("escaped s", "/private/docs/%73" + self.token[1:] + tail),
            ("other case", "/private/docs/SL_T" + self.token[4:] + tail),
            ("two tokens", self.base + self.token + tail),
            ("with query parameters", self.base + "x?sl_kid=1"),
            ("with an unknown parameter", self.base + "x?SL_foo=1"),
            ("too few fields", "/private/docs/sl_t~1~%d%s" % (EXP, tail)),
            (
                "bad expiry",
                "/private/docs/" + self.token.replace("~%d~" % EXP, "~0%d~" % EXP) + tail,
            ),
            (
                "zero session",
                "/private/docs/" + self.token.replace("~%d~" % EXP, "~%d~0~" % EXP) + tail,
            ),
        ):
            with self.subTest(name):
                self.assertEqual(reason(target), "malformed")

    def test_session(self):
        base = SIGNER.sign_folder("/private/docs/", expires_at=EXP, form="path", session=14400)
        self.assertIn("~%d~14400~" % EXP, base)
        self.assertEqual(VERIFIER.verify(base + "x", now=NOW).session, 14400)
        self.assertEqual(reason(base.replace("~14400~", "~14401~") + "x"), "bad_signature")
        without = base.replace("~14400~", "~")
        self.assertEqual(reason(without + "x"), "bad_signature")


if __name__ == "__main__":
    unittest.main()
