"""Prefixed, opaque public ids (``usr_…``, ``lead_…``): primary keys never leave the server."""

import hashlib
import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BASE = len(_ALPHABET)


def new_public_id(prefix: str, *, length: int = 22) -> str:
    """``<prefix>_`` followed by ``length`` random base62 characters (22 ≈ 131 bits)."""
    # One draw of 64 bits more than the id holds, written in base 62: the modulo bias is
    # below 2**-64, and it costs one random read instead of one per character.
    return _encoded(prefix, secrets.token_bytes((length * 6 + 64) // 8 + 1), length)


def derived_public_id(prefix: str, *parts: str, length: int = 22) -> str:
    """The public id that ``parts`` (other public ids) always map to: ``<prefix>_`` and
    ``length`` base62 characters of their SHA-256. For a record that is one per combination of
    others and whose id must not change if it is ever written again (a webhook message's id is
    the receiver's deduplication key)."""
    if length > 32:  # 256 bits of digest hold 43 base62 characters, less a margin for bias
        raise ValueError("a derived id holds at most 32 characters")
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return _encoded(prefix, digest, length)


def _encoded(prefix: str, entropy: bytes, length: int) -> str:
    number = int.from_bytes(entropy, "big")
    characters = []
    for _ in range(length):
        number, digit = divmod(number, _BASE)
        characters.append(_ALPHABET[digit])
    return f"{prefix}_{''.join(characters)}"
