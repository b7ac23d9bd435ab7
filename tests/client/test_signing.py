from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_runflow.client import verify_runflow_signature
from airflow_provider_runflow.client.signing import runflow_signature

# RFC 4231-style known answer: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
FOX = b"The quick brown fox jumps over the lazy dog"
FOX_SIGNATURE = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"


def test_signature_is_hex_hmac_sha256_of_the_raw_body() -> None:
    assert runflow_signature("key", FOX) == FOX_SIGNATURE
    assert verify_runflow_signature("key", FOX, FOX_SIGNATURE)
    assert verify_runflow_signature("key", FOX, f" {FOX_SIGNATURE.upper()} ")


def test_wrong_secret_body_or_header_is_refused() -> None:
    assert not verify_runflow_signature("other", FOX, FOX_SIGNATURE)
    assert not verify_runflow_signature("key", FOX + b" ", FOX_SIGNATURE)
    assert not verify_runflow_signature("key", FOX, FOX_SIGNATURE[:-1])
    assert not verify_runflow_signature("key", FOX, None)
    assert not verify_runflow_signature("", FOX, FOX_SIGNATURE)


@given(secret=st.text(min_size=1), body=st.binary(), other=st.binary())
def test_a_signature_verifies_only_its_own_body(secret: str, body: bytes, other: bytes) -> None:
    signature = runflow_signature(secret, body)
    assert verify_runflow_signature(secret, body, signature)
    assert verify_runflow_signature(secret, other, signature) == (other == body)
