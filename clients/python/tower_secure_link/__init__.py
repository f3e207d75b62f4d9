"""Mint and verify tower-secure-link links (SPEC.md, native format v1) with the standard library.

    >>> signer = Signer(b"0123456789abcdef0123456789abcdef", "1")
    >>> link = signer.sign("/private/report.pdf", expires_in=3600)
    >>> Verifier({"1": b"0123456789abcdef0123456789abcdef"}).verify(link).path
    '/private/report.pdf'

The Django storage lives in `tower_secure_link.django` and is imported only on demand.
"""

from ._signer import Signer
from ._verifier import REASONS, LinkError, Verified, Verifier

__all__ = ["Signer", "Verifier", "Verified", "LinkError", "REASONS"]
__version__ = "0.1.0"
