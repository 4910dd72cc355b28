"""In-process cache of resolved partner credentials, validated by a Redis generation counter.

Looking a key or token up in the database costs more than the rest of a partner request, so
each process keeps what it resolved (bounded, ``PARTNER_CREDENTIAL_CACHE_SECONDS`` at most).
Freshness does not depend on that TTL: any change to a key, token, OAuth client or partner
bumps a generation counter in Redis (after commit, from signals), and the rate-limit script that
runs on every request anyway returns the current generation — so checking the cache costs no
extra round trip. An entry from another generation is dropped and reloaded from the database,
so revocation and suspension take effect on the next request in every process.

On a miss the generation is read *before* the database lookup (one extra round trip, once per
credential per process), so an entry can never be stamped with a generation newer than its data.
Without a reachable limiter nothing is cached: every request reads the database.
"""

import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from partners.principal import PartnerPrincipal

_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Entry:
    principal: PartnerPrincipal
    expires_at: float | None  # unix time the credential expires, if it does
    generation: int
    cached_at: float


_lock = threading.Lock()
_entries: dict[str, Entry] = {}


def get(digest: str) -> Entry | None:
    entry = _entries.get(digest)
    if entry is None:
        return None
    if time.monotonic() - entry.cached_at > settings.PARTNER_CREDENTIAL_CACHE_SECONDS:
        drop(digest)
        return None
    return entry


def put(
    digest: str, *, principal: PartnerPrincipal, expires_at: float | None, generation: int
) -> None:
    if settings.PARTNER_CREDENTIAL_CACHE_SECONDS <= 0:
        return
    with _lock:
        if len(_entries) >= _MAX_ENTRIES:
            _entries.clear()
        _entries[digest] = Entry(
            principal=principal,
            expires_at=expires_at,
            generation=generation,
            cached_at=time.monotonic(),
        )


def drop(digest: str) -> None:
    with _lock:
        _entries.pop(digest, None)


def clear() -> None:
    with _lock:
        _entries.clear()


@receiver(setting_changed)
def _clear_on_settings_change(*, setting: str, **kwargs: object) -> None:
    if setting.startswith(("PARTNER_RATE_LIMIT", "PARTNER_CREDENTIAL_CACHE")):
        clear()
