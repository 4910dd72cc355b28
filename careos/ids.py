"""Prefixed, opaque public ids (``usr_…``, ``lead_…``): primary keys never leave the server."""

import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BASE = len(_ALPHABET)


def new_public_id(prefix: str, *, length: int = 22) -> str:
    """``<prefix>_`` followed by ``length`` random base62 characters (22 ≈ 131 bits)."""
    # One draw of 64 bits more than the id holds, written in base 62: the modulo bias is
    # below 2**-64, and it costs one random read instead of one per character.
    number = int.from_bytes(secrets.token_bytes((length * 6 + 64) // 8 + 1), "big")
    characters = []
    for _ in range(length):
        number, digit = divmod(number, _BASE)
        characters.append(_ALPHABET[digit])
    return f"{prefix}_{''.join(characters)}"
