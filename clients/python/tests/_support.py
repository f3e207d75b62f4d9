"""Shared by the tests: the package on sys.path, the known-answer vectors, fixed keys."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)
if PACKAGE_ROOT not in sys.path:
    sys.path.insert(0, PACKAGE_ROOT)

VECTORS = os.path.join(PACKAGE_ROOT, "..", "..", "tests", "vectors", "native-v1.json")

SECRET = b"0123456789abcdef0123456789abcdef"
NOW = 1767222000
EXP = 1767225600


def load_vectors():
    with open(VECTORS, encoding="utf-8") as f:
        return json.load(f)["vectors"]
