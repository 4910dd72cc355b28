"""Prefixed, opaque public ids (``usr_…``, ``lead_…``): primary keys never leave the server."""

import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def new_public_id(prefix: str, *, length: int = 22) -> str:
    """``<prefix>_`` followed by ``length`` random base62 characters (22 ≈ 131 bits)."""
    return f"{prefix}_{''.join(secrets.choice(_ALPHABET) for _ in range(length))}"
