"""PHI encryption at rest (Fernet with key rotation) and keyed blind indexes for lookup."""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


@lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def field_fernet() -> MultiFernet:
    """The MultiFernet of ``FIELD_ENCRYPTION_KEYS``: the first key encrypts, every key decrypts."""
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_str(value: str) -> str:
    return field_fernet().encrypt(value.encode()).decode()


def decrypt_str(token: str) -> str:
    try:
        return field_fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("value cannot be decrypted with the configured keys") from exc


def rotate_token(token: str) -> str:
    """Re-encrypt ``token`` under the newest key (a no-op in content)."""
    try:
        return field_fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("value cannot be decrypted with the configured keys") from exc


def is_encrypted_with_newest_key(token: str) -> bool:
    try:
        Fernet(settings.FIELD_ENCRYPTION_KEYS[0]).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def blind_index(value: str, *, purpose: str) -> str:
    """Keyed HMAC-SHA256 of ``value`` for exact-match lookup; ``purpose`` separates domains."""
    message = f"{purpose}:{value}".encode()
    return hmac.new(settings.BLIND_INDEX_KEY.encode(), message, hashlib.sha256).hexdigest()
