"""The shared limiter: one ``EVALSHA`` per request (see the package docstring)."""

from __future__ import annotations

import contextlib
import os
import time

import redis
from django.conf import settings

from partners.ratelimit.window import Decision, Drained, Hit, decision_for, usage_parse

_LIMIT_SCRIPT = """
-- KEYS: credential counter (current window), credential counter (previous window),
--       partner counter (current), partner counter (previous), usage hash, last-used hash,
--       credentials generation
-- ARGV: limit, window seconds, usage field prefix, api key ref or '', now,
--       weight of the previous window (0..1), then field/delta pairs
local generation = tonumber(redis.call('GET', KEYS[7]) or '0')
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local weight = tonumber(ARGV[6])
for i = 7, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[5], ARGV[i], ARGV[i + 1])
end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[6], ARGV[4], ARGV[5])
end
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
local cp = tonumber(redis.call('GET', KEYS[2]) or '0')
local p = tonumber(redis.call('GET', KEYS[3]) or '0')
local pp = tonumber(redis.call('GET', KEYS[4]) or '0')
local c_used = math.floor(cp * weight) + c
local p_used = math.floor(pp * weight) + p
if c_used >= limit or p_used >= limit then
  redis.call('HINCRBY', KEYS[5], ARGV[3] .. '|rate_limited', 1)
  return {0, 0, generation, cp, c, pp, p}
end
c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('EXPIRE', KEYS[1], window * 2) end
p = redis.call('INCR', KEYS[3])
if p == 1 then redis.call('EXPIRE', KEYS[3], window * 2) end
redis.call('HINCRBY', KEYS[5], ARGV[3] .. '|calls', 1)
return {1, limit - math.max(c_used, p_used) - 1, generation, cp, c, pp, p}
"""


class RedisBackend:
    def __init__(self, url: str, *, prefix: str) -> None:
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=settings.PARTNER_RATE_LIMIT_REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=settings.PARTNER_RATE_LIMIT_REDIS_TIMEOUT_SECONDS,
            decode_responses=True,
        )
        self.prefix = prefix
        self.usage_key = f"{prefix}usage"
        self.last_used_key = f"{prefix}lastused"
        self.generation_key = f"{prefix}credentials:generation"
        self.script = self.client.register_script(_LIMIT_SCRIPT)

    def _counter(self, hit: Hit, who: str, window: int) -> str:
        return f"{self.prefix}rl:{hit.bucket}:{who}:{window}"

    def hit(self, hit: Hit, deltas: dict[str, int]) -> Decision:
        args: list[str | int | float] = [
            hit.limit,
            settings.PARTNER_RATE_LIMIT_WINDOW_SECONDS,
            hit.usage_field,
            hit.api_key_ref,
            int(hit.now),
            repr(hit.previous_weight),
        ]
        for name, delta in deltas.items():
            args.extend((name, delta))
        credential, partner = f"c:{hit.credential_ref}", f"p:{hit.partner_pk}"
        allowed, remaining, generation, *counts = self.script(
            keys=[
                self._counter(hit, credential, hit.window),
                self._counter(hit, credential, hit.window - 1),
                self._counter(hit, partner, hit.window),
                self._counter(hit, partner, hit.window - 1),
                self.usage_key,
                self.last_used_key,
                self.generation_key,
            ],
            args=args,
        )
        return decision_for(
            hit, bool(allowed), int(remaining), int(generation), [int(n) for n in counts]
        )

    def generation(self) -> int:
        return int(self.client.get(self.generation_key) or 0)

    def bump_generation(self) -> None:
        self.client.incr(self.generation_key)

    def add(self, deltas: dict[str, int]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for name, delta in deltas.items():
            pipe.hincrby(self.usage_key, name, delta)
        pipe.execute()

    def _take(self, key: str, aside: list[str]) -> list[dict[str, str]]:
        """Atomically move ``key`` aside and read it (with any batch a failed flush left)."""
        # ResponseError: the key does not exist, nothing was counted since the last flush.
        with contextlib.suppress(redis.ResponseError):
            self.client.rename(key, f"{key}:flushing:{os.getpid()}:{time.time_ns()}")
        batches = []
        for name in self.client.scan_iter(match=f"{key}:flushing:*"):
            batches.append(self.client.hgetall(name))
            aside.append(name)
        return batches

    def drain(self) -> Drained:
        drained = Drained(usage={}, last_used={})
        for batch in self._take(self.usage_key, drained.aside):
            usage_parse({k: int(v) for k, v in batch.items()}, drained.usage)
        for batch in self._take(self.last_used_key, drained.aside):
            for ref, when in batch.items():
                drained.last_used[ref] = max(float(when), drained.last_used.get(ref, 0.0))
        return drained

    def ack(self, drained: Drained) -> None:
        """The drained counts are in the database: forget them (a crash before this recounts)."""
        if drained.aside:
            self.client.delete(*drained.aside)
