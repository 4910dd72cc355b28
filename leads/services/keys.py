"""Our RSA key pairs partners encrypt phone numbers with: create, rotate, decrypt."""

import base64
import binascii
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from careos.actors import Actor
from careos.errors import DomainError
from leads.models import LeadEncryptionKey
from partners.models import Partner
from rbac.models import User
from rbac.services import audit_record

OAEP = padding.OAEP(
    mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None
)


class UnknownKeyIdError(DomainError):
    code = "unknown_key_id"
    status = 422
    title = "Unknown encryption key"


class DecryptionFailedError(DomainError):
    code = "decryption_failed"
    status = 422
    title = "The encrypted phone could not be decrypted"


@dataclass(frozen=True)
class CreatedKey:
    key: LeadEncryptionKey
    retired: LeadEncryptionKey | None


def _new_kid(partner: Partner) -> str:
    return f"{partner.slug[:30]}-{timezone.now():%Y%m%d}-{secrets.token_hex(4)}"


def _generate_pem_pair(key_size: int) -> tuple[str, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return public_pem, private_pem


@transaction.atomic
def encryption_key_create(
    *, partner: Partner, actor: Actor | User, grace: timedelta | None = None
) -> CreatedKey:
    """A new active key pair for ``partner``. An active pair it had is retired and keeps
    decrypting for ``grace`` (``LEADS_KEY_GRACE_DAYS`` by default): this is rotation."""
    now = timezone.now()
    grace = grace if grace is not None else timedelta(days=settings.LEADS_KEY_GRACE_DAYS)
    retired = (
        LeadEncryptionKey.objects.select_for_update()
        .filter(partner=partner, retired_at__isnull=True)
        .first()
    )
    if retired is not None:
        retired.retired_at, retired.decrypt_until = now, now + grace
        retired.save(update_fields=["retired_at", "decrypt_until", "updated_at"])
        audit_record(
            actor=actor,
            action="lead.encryption_key.retired",
            target_type="lead_encryption_key",
            target_ref=retired.kid,
            metadata={
                "partner": partner.public_id,
                "decryptUntil": retired.decrypt_until.isoformat(),
            },
        )
    public_pem, private_pem = _generate_pem_pair(settings.LEADS_RSA_KEY_SIZE)
    key = LeadEncryptionKey.objects.create(
        kid=_new_kid(partner),
        partner=partner,
        key_size=settings.LEADS_RSA_KEY_SIZE,
        public_key_pem=public_pem,
        private_key_pem=private_pem,
    )
    audit_record(
        actor=actor,
        action="lead.encryption_key.created",
        target_type="lead_encryption_key",
        target_ref=key.kid,
        metadata={"partner": partner.public_id, "keySize": key.key_size},
    )
    return CreatedKey(key=key, retired=retired)


@transaction.atomic
def encryption_key_expire(*, key: LeadEncryptionKey, actor: Actor | User) -> LeadEncryptionKey:
    """End a retired key's grace period now (a leaked key); the active key cannot be expired."""
    if key.retired_at is None:
        raise DomainError("Rotate the partner's key first; the active key cannot be expired.")
    key.decrypt_until = timezone.now()
    key.save(update_fields=["decrypt_until", "updated_at"])
    audit_record(
        actor=actor,
        action="lead.encryption_key.expired",
        target_type="lead_encryption_key",
        target_ref=key.kid,
        metadata={"partner": key.partner.public_id},
    )
    return key


def public_jwk(key: LeadEncryptionKey) -> dict[str, Any]:
    """The public key as a JWK (RFC 7517/7518) for RSA-OAEP-256."""
    public = serialization.load_pem_public_key(key.public_key_pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    numbers = public.public_numbers()

    def b64url(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {
        "kty": "RSA",
        "kid": key.kid,
        "use": "enc",
        "alg": "RSA-OAEP-256",
        "n": b64url(numbers.n),
        "e": b64url(numbers.e),
    }


# Parsing a PEM private key checks it (a few ms): keep parsed keys per process by kid. A kid is
# never reused and a pair never changes, so an entry cannot go stale; expiry is checked per call.
_private_keys: dict[str, rsa.RSAPrivateKey] = {}
_private_keys_lock = threading.Lock()


def _private_key(kid: str) -> rsa.RSAPrivateKey:
    cached = _private_keys.get(kid)
    if cached is not None:
        return cached
    pem = LeadEncryptionKey.objects.values_list("private_key_pem", flat=True).get(kid=kid)
    loaded = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    with _private_keys_lock:
        _private_keys[kid] = loaded
    return loaded


UNKNOWN_KEY_DETAIL = "The keyId is not an encryption key this partner may use."


def phone_decrypt(
    *, partner: Partner, kid: str, ciphertext_b64: str, now: datetime | None = None
) -> str:
    """The plaintext of ``ciphertext_b64`` (base64 RSA-OAEP-SHA256) under ``partner``'s key
    ``kid``. Raises ``UnknownKeyIdError`` for a kid that is not the partner's or is past its
    grace period, ``DecryptionFailedError`` for anything else (no detail: an oracle helps no one).
    """
    key = (
        LeadEncryptionKey.objects.filter(partner=partner, kid=kid)
        .only("kid", "retired_at", "decrypt_until")
        .first()
    )
    if key is None or not key.accepts_at(now or timezone.now()):
        raise UnknownKeyIdError(UNKNOWN_KEY_DETAIL)
    return phone_decrypt_with(kid=key.kid, ciphertext_b64=ciphertext_b64)


def phone_decrypt_with(*, kid: str, ciphertext_b64: str) -> str:
    """``phone_decrypt`` for a ``kid`` the caller has checked the partner may use now."""
    try:
        ciphertext = base64.b64decode(ciphertext_b64, validate=True)
        plaintext = _private_key(kid).decrypt(ciphertext, OAEP)
        return plaintext.decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError, UnsupportedAlgorithm):
        raise DecryptionFailedError("The encrypted phone could not be decrypted.") from None
