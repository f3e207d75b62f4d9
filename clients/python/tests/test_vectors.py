"""Known answers from tests/vectors/native-v1.json: message bytes, signature, link, verdict."""

import unittest

import _support
from tower_secure_link import Verifier
from tower_secure_link._codec import b64url_decode_strict, canonical_from_decoded
from tower_secure_link._message import message, tag
from tower_secure_link._signer import mint_folder, mint_link


class KnownAnswers(unittest.TestCase):
    def setUp(self):
        self.vectors = _support.load_vectors()
        self.assertGreaterEqual(len(self.vectors), 9)

    def fields(self, v):
        prefix = v["scope"] == "prefix"
        return dict(
            key_id=v["key_id"],
            method=v["method"],
            scope=v["scope"],
            path=canonical_from_decoded(v["path"]).decoded(),
            query="" if prefix else v["query"],
            not_before=v["not_before"],
            expires=v["expires"],
            nonce=v["nonce"],
            max_body=v["max_body"],
            version=v["version"],
            group=v["group"],
        )

    def test_message_and_signature(self):
        for v in self.vectors:
            with self.subTest(v["name"]):
                msg = message(**self.fields(v))
                self.assertEqual(msg.hex(), v["message_hex"])
                self.assertEqual(tag(v["secret"].encode(), msg), v["signature"])

    def test_minted_link(self):
        for v in self.vectors:
            with self.subTest(v["name"]):
                secret = v["secret"].encode()
                if v["scope"] == "prefix":
                    link = mint_folder(secret, v["key_id"], v["path"], expires=v["expires"])
                    # The vector's link is a file under the folder with the folder's query.
                    base, _, query = link.partition("?")
                    got_path, _, got_query = v["link"].partition("?")
                    self.assertTrue(got_path.startswith(base))
                    self.assertEqual(query, got_query)
                    continue
                version = v["version"] and b64url_decode_strict(v["version"]).decode()
                link = mint_link(
                    secret,
                    v["key_id"],
                    v["path"],
                    expires=v["expires"],
                    not_before=v["not_before"],
                    method=v["method"],
                    query=v["query"],
                    nonce=v["nonce"],
                    max_body=v["max_body"],
                    version=version or None,
                    group=v["group"],
                )
                self.assertEqual(link, v["link"])

    def test_link_verifies_at_its_now(self):
        for v in self.vectors:
            with self.subTest(v["name"]):
                verifier = Verifier({v["key_id"]: v["secret"]})
                got = verifier.verify(v["link"], method=v["method"], now=v["now"])
                self.assertEqual(got.scope, v["scope"])
                self.assertEqual(got.key_id, v["key_id"])
                self.assertEqual(got.expires, v["expires"])
                self.assertEqual(got.nonce, v["nonce"])
                self.assertEqual(got.max_body, v["max_body"])
                self.assertEqual(got.group, v["group"])
                if v["scope"] == "prefix":
                    self.assertEqual(got.folder, v["path"])
                    self.assertTrue(got.path.startswith(v["path"]))
                else:
                    self.assertEqual(got.path, v["path"])
                    self.assertEqual(got.query, v["query"])
                if v["version"]:
                    self.assertEqual(got.version, b64url_decode_strict(v["version"]).decode())

    def test_vector_fails_under_another_secret(self):
        for v in self.vectors:
            with self.subTest(v["name"]):
                verifier = Verifier({v["key_id"]: v["secret"] + "x"})
                with self.assertRaises(Exception) as ctx:
                    verifier.verify(v["link"], method=v["method"], now=v["now"])
                self.assertEqual(ctx.exception.reason, "bad_signature")


if __name__ == "__main__":
    unittest.main()
