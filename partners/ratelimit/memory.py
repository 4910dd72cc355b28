"""The limiter inside one process: the embedded (no Redis) configuration, and the fallback
while Redis is unreachable (``partners.ratelimit.outage``)."""

from __future__ import annotations

import math
import threading
from collections import defaultdict

from partners.ratelimit.window import Decision, Drained, Hit, decision_for, usage_parse


class MemoryBackend:
    """Same semantics as the Redis script, inside one process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counters: dict[tuple[str, str, int], int] = {}
        self.usage: dict[str, int] = defaultdict(int)
        self.last_used: dict[str, float] = {}
        self.credentials_generation = 0

    def generation(self) -> int:
        return self.credentials_generation

    def bump_generation(self) -> None:
        with self.lock:
            self.credentials_generation += 1

    def hit(self, hit: Hit, deltas: dict[str, int]) -> Decision:
        with self.lock:
            for name, delta in deltas.items():
                self.usage[name] += delta
            if hit.api_key_ref:
                self.last_used[hit.api_key_ref] = hit.now
            if len(self.counters) > 10_000:
                self.counters = {k: v for k, v in self.counters.items() if k[2] >= hit.window - 1}
            counts = []
            for who in (f"c:{hit.credential_ref}", f"p:{hit.partner_pk}"):
                counts += [
                    self.counters.get((hit.bucket, who, hit.window - 1), 0),
                    self.counters.get((hit.bucket, who, hit.window), 0),
                ]
            used = [
                math.floor(counts[0] * hit.previous_weight) + counts[1],
                math.floor(counts[2] * hit.previous_weight) + counts[3],
            ]
            if max(used) >= hit.limit:
                self.usage[f"{hit.usage_field}|rate_limited"] += 1
                allowed, remaining = False, 0
            else:
                for who in (f"c:{hit.credential_ref}", f"p:{hit.partner_pk}"):
                    key = (hit.bucket, who, hit.window)
                    self.counters[key] = self.counters.get(key, 0) + 1
                counts[1] += 1
                counts[3] += 1
                self.usage[f"{hit.usage_field}|calls"] += 1
                allowed, remaining = True, hit.limit - max(used) - 1
            return decision_for(hit, allowed, remaining, self.credentials_generation, counts)

    def add(self, deltas: dict[str, int]) -> None:
        with self.lock:
            for name, delta in deltas.items():
                self.usage[name] += delta

    def drain(self) -> Drained:
        with self.lock:
            usage, self.usage = dict(self.usage), defaultdict(int)
            last_used, self.last_used = self.last_used, {}
        drained = Drained(usage={}, last_used=last_used)
        usage_parse(usage, drained.usage)
        return drained

    def ack(self, drained: Drained) -> None:
        return None
