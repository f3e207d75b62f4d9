"""Round trips and every refusal reason of plain links, each from one small tampering."""

import random
import unittest

from _support import EXP, NOW, SECRET
from tower_secure_link import LinkError, Signer, Verifier
from tower_secure_link._codec import canonical_from_decoded

OTHER = b"another secret that is long enough!"


def flip_first(sig):
    return ("B" if sig[0] == "A" else "A") + sig[1:]


def signer(key_id="1", secret=SECRET):
    return Signer(secret, key_id, clock=lambda: NOW)


class Base(unittest.TestCase):
    def setUp(self):
        self.verifier = Verifier({"1": SECRET, "old": OTHER})

    def reason(self, link, method="GET", now=NOW, verifier=None):
        try:
            (verifier or self.verifier).verify(link, method=method, now=now)
        except LinkError as err:
            return err.reason
        return None

    def assertRefused(self, reason, link, **kw):
        self.assertEqual(self.reason(link, **kw), reason, link)


class RoundTrips(Base):
    def test_plain_get_and_head(self):
        link = signer().sign("/private/report.pdf", expires_at=EXP)
        for method in ("GET", "HEAD"):
            got = self.verifier.verify(link, method=method, now=NOW)
            self.assertEqual((got.scope, got.path, got.query), ("path", "/private/report.pdf", ""))
            self.assertEqual((got.key_id, got.expires, got.method), ("1", EXP, "GET"))

    def test_every_option(self):
        link = signer("old", OTHER).sign(
            "/private/up/a b.bin",
            expires_at=EXP,
            not_before=NOW - 10,
            method="PUT",
            query="z=1&a=2",
            one_time=True,
            max_body=1024,
            group="team-a",
        )
        got = self.verifier.verify(link, method="PUT", now=NOW)
        self.assertEqual(got.path, "/private/up/a b.bin")
        self.assertEqual(got.query, "z=1&a=2")
        self.assertEqual((got.not_before, got.max_body, got.group), (NOW - 10, 1024, "team-a"))
        self.assertEqual(len(got.nonce), 22)

    def test_version(self):
        validator = "Tue, 24 Nov 2026 23:27:00 GMT; size=1200"
        link = signer().sign("/private/v.pdf", expires_at=EXP, version=validator)
        self.assertEqual(self.verifier.verify(link, now=NOW).version, validator)

    def test_absolute_url_is_cut_to_its_target(self):
        link = signer().sign("/private/report.pdf", expires_at=EXP)
        self.assertIsNone(self.reason("https://files.example" + link))

    def test_random_paths(self):
        rng = random.Random(7)
        pool = "ab~-._!$&'()*+,=:@ %?#[]\\;\"<>é日\u00a0/"
        for _ in range(300):
            path = "/" + "".join(rng.choice(pool) for _ in range(rng.randint(0, 12)))
            query = "".join(rng.choice("ab=&%20 é#+") for _ in range(rng.randint(0, 6)))
            if "sl_" in query:
                continue
            with self.subTest(path=path, query=query):
                link = signer().sign(path, expires_at=EXP, query=query)
                got = self.verifier.verify(link, now=NOW)
                self.assertEqual(got.path, canonical_from_decoded(path).decoded())

    def test_dot_segments_in_the_request_resolve(self):
        link = signer().sign("/private/report.pdf", expires_at=EXP)
        query = link.partition("?")[2]
        for path in (
            "/private/./report.pdf",
            "/private/x/../report.pdf",
            "//private//report.pdf",
            "/private/%2E%2E/private/report.pdf",
            "/%70rivate/report.pdf",
        ):
            self.assertIsNone(self.reason(path + "?" + query), path)


class Refusals(Base):
    def setUp(self):
        super().setUp()
        self.link = signer().sign("/private/report.pdf", expires_at=EXP, query="a=1&b=2")
        self.path, _, self.query = self.link.partition("?")

    def with_query(self, query):
        return self.path + "?" + query

    def replace(self, old, new):
        self.assertIn(old, self.link)
        return self.link.replace(old, new, 1)

    def test_missing(self):
        self.assertRefused("missing", "/private/report.pdf")
        self.assertRefused("missing", "/private/report.pdf?a=1&slkid=1")

    def test_malformed_parameters(self):
        sig = self.query.rpartition("sl_sig=")[2]
        cases = {
            "duplicated": self.link + "&sl_exp=" + str(EXP),
            "no '='": self.link + "&sl_nbf",
            "unknown name": self.link + "&sl_foo=1",
            "other case": self.replace("sl_kid=", "SL_KID="),
            "mixed case": self.replace("sl_exp=", "Sl_exp="),
            "escaped s": self.replace("sl_kid=", "%73l_kid="),
            "escaped _": self.replace("sl_kid=", "sl%5Fkid="),
            "extra unknown in other case": self.link + "&SL_X=1",
            "GET spelled out": self.replace("&sl_exp=", "&sl_method=GET&sl_exp="),
            "lower-case method": self.replace("&sl_exp=", "&sl_method=put&sl_exp="),
            "leading zero": self.replace("sl_exp=", "sl_exp=0"),
            "plus sign": self.replace("sl_exp=", "sl_exp=+"),
            "over 2^63-1": self.replace("sl_exp=%d" % EXP, "sl_exp=9223372036854775808"),
            "key id char": self.replace("sl_kid=1", "sl_kid=1~"),
            "escaped key id": self.replace("sl_kid=1", "sl_kid=%31"),
            "short nonce": self.replace("&sl_sig", "&sl_nonce=AAAA&sl_sig"),
            "nonce bits": self.replace("&sl_sig", "&sl_nonce=AAECAwQFBgcICQoLDA0OD1&sl_sig"),
            "version on PUT": self.replace("&sl_exp", "&sl_method=PUT&sl_exp").replace(
                "&sl_sig", "&sl_ver=YQ&sl_sig"
            ),
            "group char": self.replace("&sl_sig", "&sl_grp=a/b&sl_sig"),
            "no signature": self.link.rpartition("&")[0],
            "no key id": self.replace("sl_kid=1&", ""),
            "signature padded": self.link + "=",
            "signature standard alphabet": self.replace(sig, "+" + sig[1:]),
            "signature truncated": self.link[:-1],
            "signature re-encoded": self.replace(sig, sig[:-1] + chr(ord(sig[-1]) ^ 1)),
        }
        for name, link in cases.items():
            with self.subTest(name):
                self.assertRefused("malformed", link)

    def test_bad_path(self):
        for path in (
            "/../private/report.pdf",
            "/private/a%00",
            "/private/%ff",
            "/p/%zz",
            "/private%2Freport.pdf",
            "private/report.pdf",
            "/a/../../x",
        ):
            with self.subTest(path):
                self.assertRefused("bad_path", self.with_query(self.query).replace(self.path, path))

    def test_unknown_key(self):
        self.assertRefused("unknown_key", self.replace("sl_kid=1", "sl_kid=2"))

    def test_bad_signature(self):
        cases = {
            "path": self.replace("report", "rep0rt"),
            "trailing slash": self.replace(".pdf?", ".pdf/?"),
            "query reordered": self.replace("a=1&b=2", "b=2&a=1"),
            "query added": self.replace("a=1&b=2", "a=1&b=2&c=3"),
            "query duplicated": self.replace("a=1&b=2", "a=1&a=1&b=2"),
            "query removed": self.replace("a=1&b=2&", ""),
            "query re-escaped": self.replace("a=1", "%61=1"),
            "empty part added": self.replace("a=1&b=2", "a=1&&b=2"),
            "expiry": self.replace("sl_exp=%d" % EXP, "sl_exp=%d" % (EXP - 1)),
            "method added": self.replace("&sl_exp", "&sl_method=POST&sl_exp"),
            "key relabelled": self.replace("sl_kid=1", "sl_kid=old"),
            "not-before added": self.replace("&sl_exp", "&sl_nbf=1&sl_exp"),
            "signature": self.link[:-43] + flip_first(self.link[-43:]),
        }
        for name, link in cases.items():
            with self.subTest(name):
                self.assertRefused("bad_signature", link)

    def test_method_tampering_on_a_put_link(self):
        put = signer().sign("/private/up.bin", expires_at=EXP, method="PUT")
        self.assertRefused("bad_signature", put.replace("sl_method=PUT", "sl_method=POST"))
        self.assertRefused("bad_signature", put.replace("sl_method=PUT&", ""))
        self.assertRefused("wrong_method", put, method="GET")
        self.assertRefused("wrong_method", put, method="HEAD")
        self.assertIsNone(self.reason(put, method="PUT"))

    def test_wrong_method(self):
        self.assertRefused("wrong_method", self.link, method="POST")
        self.assertRefused("wrong_method", self.link, method="get")

    def test_times(self):
        self.assertIsNone(self.reason(self.link, now=EXP + 5))
        self.assertRefused("expired", self.link, now=EXP + 6)
        later = signer().sign("/private/r", expires_at=EXP, not_before=NOW + 100)
        self.assertIsNone(self.reason(later, now=NOW + 95))
        self.assertRefused("not_yet_valid", later, now=NOW + 94)
        short = Verifier({"1": SECRET}, max_lifetime=3600 - 6)
        self.assertRefused("too_long", self.link, verifier=short)
        self.assertIsNone(
            self.reason(self.link, verifier=Verifier({"1": SECRET}, max_lifetime=3595))
        )

    def test_order_of_checks(self):
        # Signature before times, times before method.
        self.assertRefused("bad_signature", self.replace("report", "x"), now=EXP + 100)
        self.assertRefused("expired", self.link, method="POST", now=EXP + 100)
        self.assertRefused("unknown_key", self.replace("sl_kid=1", "sl_kid=zz"), now=EXP + 100)
        self.assertRefused("malformed", self.link + "&sl_kid=zz", now=EXP + 100)

    def test_reason_is_one_of_the_list(self):
        from tower_secure_link import REASONS

        with self.assertRaises(LinkError) as ctx:
            self.verifier.verify("/x", now=NOW)
        self.assertIn(ctx.exception.reason, REASONS)


class OtherPrefix(Base):
    def test_configured_prefix(self):
        s = Signer(SECRET, "1", "tsl_", clock=lambda: NOW)
        v = Verifier({"1": SECRET}, param_prefix="tsl_")
        link = s.sign("/p/a", expires_at=EXP, query="sl_kid=app")
        self.assertIn("tsl_kid=1", link)
        got = v.verify(link, now=NOW)
        self.assertEqual(got.query, "sl_kid=app")
        self.assertEqual(self.reason(link.replace("tsl_exp", "TSL_exp"), verifier=v), "malformed")


if __name__ == "__main__":
    unittest.main()
