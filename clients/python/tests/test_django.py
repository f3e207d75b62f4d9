"""The Django storage, when Django is importable: its URLs verify with the package's Verifier."""

import tempfile
import unittest

from _support import SECRET

try:
    import django
except ImportError:  # the package itself must not need Django
    django = None


def setUpModule():
    if django is None:
        raise unittest.SkipTest("Django is not installed")
    # Imported here: unittest's loader would touch a module-level LazySettings and fail.
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            MEDIA_URL="/media/",
            MEDIA_ROOT=tempfile.gettempdir(),
            SECURE_LINK_KEY=SECRET.decode(),
            SECURE_LINK_KEY_ID="1",
            SECURE_LINK_PRIVATE_PREFIXES=["private/"],
            SECURE_LINK_TTL=600,
        )
        django.setup()


class Storage(unittest.TestCase):
    def setUp(self):
        from tower_secure_link import Verifier
        from tower_secure_link.django import SecureLinkStorage

        self.storage_class = SecureLinkStorage
        self.verifier = Verifier({"1": SECRET, "k2": SECRET})

    def test_private_names_are_signed(self):
        import time

        url = self.storage_class().url("private/q3 report é.pdf")
        self.assertTrue(url.startswith("/media/private/q3%20report%20%C3%A9.pdf?sl_kid=1&"))
        got = self.verifier.verify(url)
        self.assertEqual(got.path, "/media/private/q3 report é.pdf")
        self.assertLessEqual(got.expires, int(time.time()) + 600)
        self.assertGreater(got.expires, int(time.time()) + 590)

    def test_public_names_stay_plain(self):
        self.assertEqual(self.storage_class().url("public/logo.png"), "/media/public/logo.png")

    def test_constructor_overrides_settings(self):
        storage = self.storage_class(
            base_url="https://cdn.example/files/",
            key=SECRET,
            key_id="k2",
            private_prefixes=["docs/"],
            ttl=60,
        )
        url = storage.url("docs/a.txt")
        self.assertTrue(url.startswith("https://cdn.example/files/docs/a.txt?sl_kid=k2&"))
        self.assertEqual(self.verifier.verify(url).path, "/files/docs/a.txt")
        self.assertEqual(storage.url("private/x"), "https://cdn.example/files/private/x")
        self.assertIn("sl_sig=", storage.url("docs/b", ttl=5))

    def test_every_file_private_without_prefixes(self):
        from django.test import override_settings

        with override_settings(SECURE_LINK_PRIVATE_PREFIXES=[]):
            url = self.storage_class().url("anything.txt")
        self.assertEqual(self.verifier.verify(url).path, "/media/anything.txt")

    def test_deconstructs_for_migrations(self):
        path, _, kwargs = self.storage_class(ttl=60).deconstruct()
        self.assertEqual(path, "tower_secure_link.django.SecureLinkStorage")
        self.assertEqual(kwargs, {"ttl": 60})


if __name__ == "__main__":
    unittest.main()
