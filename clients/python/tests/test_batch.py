"""`python3 -m tower_secure_link batch` through a real subprocess, as the Rust test drives it."""

import json
import subprocess
import sys
import unittest

import _support
from _support import EXP, NOW


def run_batch(lines):
    data = "".join(line + "\n" for line in lines).encode()
    proc = subprocess.run(
        [sys.executable, "-m", "tower_secure_link", "batch"],
        input=data,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=_support.PACKAGE_ROOT,
        timeout=60,
    )
    return proc.returncode, [json.loads(l) for l in proc.stdout.decode().splitlines()], proc.stderr


def mint(**kw):
    req = {
        "op": "mint",
        "secret": "secret one",
        "key_id": "1",
        "path": "/private/a b.pdf",
        "query": "",
        "method": "GET",
        "not_before": None,
        "expires": EXP,
        "nonce": None,
        "folder": False,
        "folder_form": "query",
    }
    req.update(kw)
    return json.dumps(req)


def verify(link, **kw):
    req = {
        "op": "verify",
        "keys": {"1": "secret one", "old": "secret two"},
        "link": link,
        "method": "GET",
        "now": NOW,
        "leeway": 5,
        "max_lifetime": 604800,
    }
    req.update(kw)
    return json.dumps(req)


class Batch(unittest.TestCase):
    def test_vectors_mint_to_their_links(self):
        vectors = [v for v in _support.load_vectors() if v["scope"] == "path"]
        lines = []
        for v in vectors:
            version = v["version"]
            if version:
                import base64

                version = base64.urlsafe_b64decode(version + "=" * (-len(version) % 4)).decode()
            lines.append(
                mint(
                    secret=v["secret"],
                    key_id=v["key_id"],
                    path=v["path"],
                    query=v["query"],
                    method=v["method"],
                    not_before=v["not_before"],
                    expires=v["expires"],
                    nonce=v["nonce"],
                    max_body=v["max_body"],
                    version=version,
                    group=v["group"],
                )
            )
        code, out, _ = run_batch(lines)
        self.assertEqual(code, 0)
        self.assertEqual([o.get("link") for o in out], [v["link"] for v in vectors])

    def test_round_trip_and_bad_lines(self):
        code, minted, _ = run_batch(
            [
                mint(query="x=1&y=2"),
                mint(path="/private/docs/", folder=True),
                mint(path="/private/docs/", folder=True, folder_form="path"),
                mint(method="PUT", nonce="q83vEjRWeJq83vEjRWeJqw", max_body=10, group="g"),
                mint(version='"abc"'),
            ]
        )
        self.assertEqual(code, 0)
        plain, folder_q, folder_p, put, versioned = [m["link"] for m in minted]
        self.assertTrue(folder_q.startswith("/private/docs/?sl_kid=1&sl_exp="))
        self.assertRegex(folder_p, r"^/private/docs/sl_t~1~%d~[A-Za-z0-9_-]{43}/$" % EXP)

        lines = [
            verify(plain),
            verify("/private/docs/r.pdf?" + folder_q.partition("?")[2]),
            verify(folder_p + "r.pdf"),
            verify(put, method="PUT"),
            verify(versioned),
            verify(plain, method="POST"),
            verify(plain, now=EXP + 6),
            verify(plain, keys={"2": "secret one"}),
            verify("/private/other?" + folder_q.partition("?")[2]),
            verify("/private/a%20b.pdf"),
            verify(plain + "&SL_x=1"),
            verify("/../x" + plain),
            "not json",
            "[1, 2]",
            "",
            json.dumps({"op": "shred"}),
            mint(key_id="bad id"),
            mint(expires="soon"),
            verify(plain, keys="nope"),
        ]
        code, out, err = run_batch(lines)
        self.assertEqual(code, 0, err)
        self.assertEqual(len(out), len(lines))
        self.assertEqual(
            out[0],
            {
                "ok": True,
                "scope": "path",
                "path": "/private/a b.pdf",
                "query": "x=1&y=2",
                "nonce": None,
                "max_body": None,
                "version": None,
                "group": None,
            },
        )
        self.assertEqual((out[1]["scope"], out[1]["path"]), ("prefix", "/private/docs/r.pdf"))
        self.assertEqual((out[2]["scope"], out[2]["path"]), ("prefix", "/private/docs/r.pdf"))
        self.assertEqual(
            (out[3]["nonce"], out[3]["max_body"], out[3]["group"]),
            ("q83vEjRWeJq83vEjRWeJqw", 10, "g"),
        )
        self.assertEqual(out[4]["version"], '"abc"')
        reasons = [o.get("reason") for o in out[5:12]]
        self.assertEqual(
            reasons,
            [
                "wrong_method",
                "expired",
                "unknown_key",
                "outside_folder",
                "missing",
                "malformed",
                "bad_path",
            ],
        )
        for o in out[12:]:
            self.assertEqual(list(o), ["error"])

    def test_replies_line_by_line(self):
        # A driver may wait for each reply before it writes the next request.
        proc = subprocess.Popen(
            [sys.executable, "-m", "tower_secure_link", "batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=_support.PACKAGE_ROOT,
        )
        try:
            for _ in range(3):
                proc.stdin.write((mint() + "\n").encode())
                proc.stdin.flush()
                self.assertIn("link", json.loads(proc.stdout.readline()))
            proc.stdin.close()
            self.assertEqual(proc.wait(timeout=60), 0)
        finally:
            proc.stdout.close()
            if proc.poll() is None:
                proc.kill()

    def test_package_never_imports_django(self):
        code = "import sys, tower_secure_link.__main__; sys.exit('django' in sys.modules)"
        proc = subprocess.run([sys.executable, "-c", code], cwd=_support.PACKAGE_ROOT, timeout=60)
        self.assertEqual(proc.returncode, 0)


if __name__ == "__main__":
    unittest.main()
