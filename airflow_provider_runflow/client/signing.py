"""Verifying Runflow's callback signatures, for services that receive batch callbacks."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Runflow-Signature"


def runflow_signature(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of the raw request body that Runflow sends in ``Runflow-Signature``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_runflow_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is Runflow's signature of ``body`` under ``secret`` (a ``whsec_...`` value).

    Pass the raw bytes as received: re-serialised JSON would not match. The
    comparison takes constant time, so it leaks nothing about the expected value. A header
    that is not ASCII (a hex digest never is) does not verify.
    """
    if not header or not secret or not header.isascii():
        return False
    return hmac.compare_digest(runflow_signature(secret, body), header.strip().lower())
