"""Identity's pure rules."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pydantic import ValidationError
from shop_contracts.identity import Registration

from identity.domain import InvalidSigningKey, SigningKey, jwk_thumbprint

# RFC 8037 appendix A.1 (the key) and A.3 (its RFC 7638 thumbprint).
RFC_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_thumbprint_matches_rfc_8037() -> None:
    assert jwk_thumbprint({"kty": "OKP", "crv": "Ed25519", "x": RFC_X}) == RFC_THUMBPRINT


def test_signing_key_kid_is_its_thumbprint() -> None:
    raw = base64.urlsafe_b64decode(RFC_D + "=")
    pem = Ed25519PrivateKey.from_private_bytes(raw).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    key = SigningKey.from_pem(pem.decode())
    assert key.kid == RFC_THUMBPRINT
    assert key.public_jwk() == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": RFC_X,
        "kid": RFC_THUMBPRINT,
        "use": "sig",
        "alg": "EdDSA",
    }


@pytest.mark.parametrize("pem", ["", "not a pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n"])
def test_unusable_pem_is_refused(pem: str) -> None:
    with pytest.raises(InvalidSigningKey):
        SigningKey.from_pem(pem)


def test_email_is_stored_in_lower_case() -> None:
    registration = Registration(email="Ann@Example.ORG", password="correct horse", name="Ann")
    assert registration.email == "ann@example.org"


# Spaces around an address are refused, not stripped: the published schema (its pattern)
# must be exactly what is accepted.
@pytest.mark.parametrize(
    "email",
    ["", "ann", "ann@", "@example.org", "ann@example", "a b@example.org", "a@b@c.org", " a@b.org"],
)
def test_implausible_email_is_refused(email: str) -> None:
    with pytest.raises(ValidationError):
        Registration(email=email, password="correct horse", name="Ann")


def test_password_keeps_its_spaces() -> None:
    registration = Registration(email="a@b.org", password="  ten chars ", name=" Ann ")
    assert (registration.password, registration.name) == ("  ten chars ", "Ann")
