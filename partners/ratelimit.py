"""Rate limits and usage counters: one Redis round trip per authenticated partner request.

Design (the target is one round trip per request, not several):

* Request phase — ``PartnerAuthentication`` resolves the credential, then calls :func:`hit` once.
  That is a single ``EVALSHA`` of :data:`_LIMIT_SCRIPT`, which atomically
  1. adds the usage deltas this process buffered from earlier responses (errors, latency),
  2. records the API key's last-used time (no database write per request),
  3. checks the credential's and the partner's sliding-window estimates: when both are under
     the limit it increments both and counts the call, otherwise it counts a rate-limited call
     and the request is answered 429.

  The window is a sliding-window approximation (the one Cloudflare describes): each
  counter is kept per fixed window, and a request is allowed while
  ``floor(previous window's count * share of the previous window still inside the last
  window-length) + current window's count < limit``. A fixed window alone lets a burst at the
  end of one window and another at the start of the next reach twice the limit; the weighted
  previous count closes that gap, while a burst inside one window (previous window empty) is
  allowed exactly ``limit`` calls. Both windows' counters are read in the same script, so it is
  still one round trip. Counts are per window, not per request, so memory stays constant.
* Response phase — ``PartnerUsageMiddleware`` knows the status and the latency only after the
  view ran; it adds them to an in-process buffer (:func:`record_response`) that rides along on
  the next request's ``EVALSHA``. A process that goes idle sends its buffer from a daemon thread
  after ``PARTNER_USAGE_BUFFER_MAX_AGE_SECONDS``, and at exit.
* A beat task (``partners.tasks.flush_partner_usage``) drains the counters into
  ``PartnerUsageDaily`` and ``ApiKey.last_used_at``.

Redis down: the request is let through (fail open) with a logged warning and no RateLimit
headers. No ``REDIS_URL`` (the embedded default): an in-process backend with the same semantics;
its usage reaches the database from the same daemon thread (single-process deployments only).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

logger = logging.getLogger("partners.ratelimit")

METRICS = ("calls", "errors", "rate_limited", "latency_ms")

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


@dataclass(frozen=True)
class Hit:
    """One authenticated call, as the limiter sees it."""

    partner_pk: int
    credential_ref: str
    api_key_ref: str  # "" for OAuth tokens (no last-used tracking)
    endpoint: str  # "GET api/v1/partners/me"
    bucket: str  # "default", or a view's own bucket such as "lead_ingest"
    limit: int  # per minute-window, for the credential and for the partner
    now: float

    @property
    def window(self) -> int:
        return int(self.now // settings.PARTNER_RATE_LIMIT_WINDOW_SECONDS)

    @property
    def previous_weight(self) -> float:
        """Share of the previous window still inside the sliding window ending now."""
        length = settings.PARTNER_RATE_LIMIT_WINDOW_SECONDS
        return 1.0 - (self.now % length) / length

    @property
    def day(self) -> str:
        return datetime.fromtimestamp(self.now, tz=UTC).date().isoformat()

    @property
    def usage_field(self) -> str:
        return f"{self.day}|{self.partner_pk}|{self.endpoint}"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    generation: int = 0  # the credentials generation (see partners.principal_cache)

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(self.remaining, 0)),
            "RateLimit-Reset": str(self.reset_seconds),
        }


@dataclass
class Drained:
    usage: dict[tuple[str, int, str], dict[str, int]]  # (day, partner pk, endpoint) → metrics
    last_used: dict[str, float]  # api key public id → unix time
    aside: list[str] = field(default_factory=list)  # Redis keys to delete once written


class Backend(Protocol):
    def hit(self, hit: Hit, deltas: dict[str, int]) -> Decision: ...

    def add(self, deltas: dict[str, int]) -> None: ...

    def drain(self) -> Drained: ...

    def ack(self, drained: Drained) -> None: ...

    def generation(self) -> int: ...

    def bump_generation(self) -> None: ...


def _reset_seconds(hit: Hit) -> int:
    window = settings.PARTNER_RATE_LIMIT_WINDOW_SECONDS
    return max(1, int((hit.window + 1) * window - hit.now + 0.999))


def _retry_after(hit: Hit, previous: int, current: int) -> int:
    """Seconds until ``floor(previous * weight) + current`` drops under the limit again."""
    length = settings.PARTNER_RATE_LIMIT_WINDOW_SECONDS
    elapsed = hit.now % length
    if current < hit.limit:
        # Still in this window: wait until enough of the previous window has slid out.
        if previous <= 0:
            return 1
        at = length * (1 - (hit.limit - current) / previous)
        return max(1, math.ceil(at - elapsed + 1e-9))
    # In the next window this window's count becomes the previous one and slides out.
    at = max(0.0, length * (1 - hit.limit / current))
    return max(1, math.ceil(length - elapsed + at + 1e-9))


def _decision(
    hit: Hit, allowed: bool, remaining: int, generation: int, counts: list[int]
) -> Decision:
    """``counts``: credential previous/current, partner previous/current."""
    if allowed:
        reset = _reset_seconds(hit)
    else:
        reset = max(
            _retry_after(hit, counts[0], counts[1]), _retry_after(hit, counts[2], counts[3])
        )
    return Decision(
        allowed=allowed,
        limit=hit.limit,
        remaining=remaining,
        reset_seconds=reset,
        generation=generation,
    )


def _parse_usage(raw: dict[str, int], into: Drained) -> None:
    for key, value in raw.items():
        day, partner_pk, rest = key.split("|", 2)
        endpoint, metric = rest.rsplit("|", 1)
        if metric not in METRICS:
            continue
        counts = into.usage.setdefault((day, int(partner_pk), endpoint), dict.fromkeys(METRICS, 0))
        counts[metric] += int(value)


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
        return _decision(
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
            _parse_usage({k: int(v) for k, v in batch.items()}, drained)
        for batch in self._take(self.last_used_key, drained.aside):
            for ref, when in batch.items():
                drained.last_used[ref] = max(float(when), drained.last_used.get(ref, 0.0))
        return drained

    def ack(self, drained: Drained) -> None:
        """The drained counts are in the database: forget them (a crash before this recounts)."""
        if drained.aside:
            self.client.delete(*drained.aside)


class MemoryBackend:
    """Same semantics inside one process, for the embedded (no Redis) configuration."""

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
            return _decision(hit, allowed, remaining, self.credentials_generation, counts)

    def add(self, deltas: dict[str, int]) -> None:
        with self.lock:
            for name, delta in deltas.items():
                self.usage[name] += delta

    def drain(self) -> Drained:
        with self.lock:
            usage, self.usage = dict(self.usage), defaultdict(int)
            last_used, self.last_used = self.last_used, {}
        drained = Drained(usage={}, last_used=last_used)
        _parse_usage(usage, drained)
        return drained

    def ack(self, drained: Drained) -> None:
        return None


class _Buffer:
    """Response-phase usage deltas waiting for the next round trip."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.deltas: dict[str, int] = defaultdict(int)
        self.since: float | None = None

    def add(self, deltas: dict[str, int]) -> None:
        with self.lock:
            for name, delta in deltas.items():
                self.deltas[name] += delta
            if self.since is None:
                self.since = time.monotonic()

    def take(self) -> dict[str, int]:
        with self.lock:
            deltas, self.deltas, self.since = dict(self.deltas), defaultdict(int), None
        return deltas

    def age(self) -> float:
        with self.lock:
            return 0.0 if self.since is None else time.monotonic() - self.since


_state_lock = threading.Lock()
_backend: Backend | None = None
_buffer = _Buffer()
_flusher_pid: int | None = None
# time.monotonic() of the last "failing open" warning; None: none since start or reset.
_last_warning: float | None = None
_WARNING_INTERVAL_SECONDS = 10.0


def get_backend() -> Backend:
    global _backend
    with _state_lock:
        if _backend is None:
            url = settings.PARTNER_RATE_LIMIT_REDIS_URL
            prefix = settings.PARTNER_RATE_LIMIT_KEY_PREFIX
            _backend = RedisBackend(url, prefix=prefix) if url else MemoryBackend()
        return _backend


def reset() -> None:
    """Start afresh: a new backend on next use, no buffered deltas, and the next failure is
    warned about at once. Called when the limiter's settings change (and between tests)."""
    global _backend, _last_warning
    with _state_lock:
        _backend = None
        _last_warning = None
    _buffer.take()


@receiver(setting_changed)
def _reset_on_settings_change(*, setting: str, **kwargs: object) -> None:
    if (
        setting.startswith("PARTNER_RATE_LIMIT")
        or setting == "PARTNER_USAGE_BUFFER_MAX_AGE_SECONDS"
    ):
        reset()


def _warn(message: str, exc: Exception) -> None:
    """Log a fail-open warning, at most one per ``_WARNING_INTERVAL_SECONDS`` (an outage must
    not log once per request)."""
    global _last_warning
    now = time.monotonic()
    with _state_lock:
        if _last_warning is not None and now - _last_warning < _WARNING_INTERVAL_SECONDS:
            return
        _last_warning = now
    logger.warning("%s; failing open: %s", message, exc.__class__.__name__)


def hit(hit: Hit) -> Decision | None:
    """Count ``hit`` and decide; ``None`` when the limiter is unreachable (fail open)."""
    _ensure_flusher()
    deltas = _buffer.take()
    try:
        return get_backend().hit(hit, deltas)
    except (redis.RedisError, OSError) as exc:
        if deltas:
            _buffer.add(deltas)
        _warn("rate limiter unavailable", exc)
        return None


def record_response(hit: Hit, *, error: bool, latency_ms: int) -> None:
    """Buffer what is known only after the response; sent with the next round trip."""
    deltas = {f"{hit.usage_field}|latency_ms": latency_ms}
    if error:
        deltas[f"{hit.usage_field}|errors"] = 1
    _buffer.add(deltas)


def send_buffer() -> None:
    """Send buffered response-phase deltas now (idle process, exit, flush task, tests)."""
    deltas = _buffer.take()
    if not deltas:
        return
    try:
        get_backend().add(deltas)
    except (redis.RedisError, OSError) as exc:
        _buffer.add(deltas)
        _warn("usage counters unavailable", exc)


def drain() -> Drained:
    """Everything counted since the last drain; call :func:`ack` once it is stored."""
    send_buffer()
    return get_backend().drain()


def ack(drained: Drained) -> None:
    get_backend().ack(drained)


def credentials_generation() -> int | None:
    """The current credentials generation; ``None`` when the limiter is unreachable."""
    try:
        return get_backend().generation()
    except (redis.RedisError, OSError) as exc:
        _warn("rate limiter unavailable", exc)
        return None


def bump_credentials_generation() -> None:
    """Invalidate every process's cached credentials (a key, token or partner changed)."""
    try:
        get_backend().bump_generation()
    except (redis.RedisError, OSError) as exc:
        # Cached entries then live at most PARTNER_CREDENTIAL_CACHE_SECONDS.
        logger.error("could not invalidate cached credentials: %s", exc.__class__.__name__)


def _flusher_loop() -> None:
    while True:
        max_age = settings.PARTNER_USAGE_BUFFER_MAX_AGE_SECONDS
        time.sleep(max(max_age, 0.5))
        if _buffer.age() >= max_age:
            send_buffer()
        if isinstance(_backend, MemoryBackend) and settings.PARTNER_USAGE_INPROCESS_FLUSH:
            from partners.services.usage import usage_flush

            try:
                usage_flush()
            except Exception:
                logger.exception("in-process usage flush failed")


def _ensure_flusher() -> None:
    global _flusher_pid
    pid = os.getpid()
    if _flusher_pid == pid or settings.PARTNER_USAGE_BUFFER_MAX_AGE_SECONDS <= 0:
        return
    with _state_lock:
        if _flusher_pid == pid:
            return
        _flusher_pid = pid
    threading.Thread(target=_flusher_loop, name="partner-usage-flusher", daemon=True).start()


atexit.register(send_buffer)
