"""While Redis is unreachable: a per-process limit, and usage counted in the database.

Failing open would let a partner flood (the lead-ingest limit is what keeps a partner from
sending thousands of welcome SMS) and would lose the usage that usage-based billing invoices.
So each process limits on its own with the same sliding window (:class:`MemoryBackend`), each
allowing ``limit / PARTNER_RATE_LIMIT_FALLBACK_PROCESSES`` (set it to the number of web
processes to keep the platform-wide limit), and every call it counts — with the response-phase
deltas that would have ridden on the Redis round trip — is added to ``PartnerUsageDaily`` at
once: an outage costs one database write per call, and nothing is lost if the process dies.
A write that fails (the database is down too) stays in the process and goes with the next call.
API keys' last-used times are written at most once a minute per key during an outage.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import replace

from django.conf import settings
from django.db import DatabaseError

from partners.ratelimit.memory import MemoryBackend
from partners.ratelimit.window import Decision, Hit, Usage

logger = logging.getLogger("partners.ratelimit")

LAST_USED_WRITE_SECONDS = 60.0


def _raw(usage: Usage) -> dict[str, int]:
    """Parsed usage back into ``day|partner|endpoint|metric`` counters."""
    return {
        f"{day}|{partner_pk}|{endpoint}|{metric}": count
        for (day, partner_pk, endpoint), counts in usage.items()
        for metric, count in counts.items()
        if count
    }


class Outage:
    """This process's limiter and usage counting while Redis is down (one per configuration)."""

    def __init__(self) -> None:
        self.limiter = MemoryBackend()
        self.lock = threading.Lock()
        self.last_used_written: dict[str, float] = {}  # api key → time.monotonic() written

    def hit(self, hit: Hit, deltas: dict[str, int]) -> Decision:
        processes = max(1, settings.PARTNER_RATE_LIMIT_FALLBACK_PROCESSES)
        share = replace(hit, limit=max(1, math.ceil(hit.limit / processes)))
        decision = self.limiter.hit(share, deltas)
        self.write()
        return replace(decision, degraded=True)

    def add(self, deltas: dict[str, int]) -> None:
        self.limiter.add(deltas)
        self.write()

    def pending(self) -> bool:
        return bool(self.limiter.usage)

    def write(self) -> None:
        """Add what this process counted to the database; kept for the next try on failure."""
        from partners.services.credentials import api_key_touch_many
        from partners.services.usage import usage_write

        drained = self.limiter.drain()
        now = time.monotonic()
        with self.lock:
            last_used = {
                ref: when
                for ref, when in drained.last_used.items()
                if now - self.last_used_written.get(ref, -math.inf) >= LAST_USED_WRITE_SECONDS
            }
        try:
            if drained.usage:
                usage_write(drained.usage)
            if last_used:
                api_key_touch_many(last_used=last_used)
        except DatabaseError as exc:
            self.limiter.add(_raw(drained.usage))
            logger.error(
                "API usage kept in process: database unavailable: %s", exc.__class__.__name__
            )
            return
        with self.lock:
            self.last_used_written.update(dict.fromkeys(last_used, now))
