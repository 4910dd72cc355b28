"""Rate limits and usage counters: one Redis round trip per authenticated partner request.

Design (the target is one round trip per request, not several):

* Request phase — ``PartnerAuthentication`` resolves the credential, then calls :func:`hit` once.
  That is a single ``EVALSHA`` (``partners.ratelimit.redis_backend``), which atomically
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

Redis down: the limit degrades to a per-process limit, and usage is counted in the database
directly (``partners.ratelimit.outage``), with a logged warning (at most one per 10 s). No
``REDIS_URL`` (the embedded default): an in-process backend with the same semantics
(``partners.ratelimit.memory``); its usage reaches the database from the same daemon thread
(single-process deployments only).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import defaultdict

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from partners.ratelimit.memory import MemoryBackend
from partners.ratelimit.outage import Outage
from partners.ratelimit.redis_backend import RedisBackend
from partners.ratelimit.window import METRICS, Backend, Decision, Drained, Hit

__all__ = [
    "METRICS",
    "Backend",
    "Decision",
    "Drained",
    "Hit",
    "MemoryBackend",
    "RedisBackend",
    "ack",
    "bump_credentials_generation",
    "credentials_generation",
    "drain",
    "get_backend",
    "hit",
    "record_response",
    "reset",
    "send_buffer",
]

logger = logging.getLogger("partners.ratelimit")

_UNAVAILABLE = (redis.RedisError, OSError)


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
_outage = Outage()
_buffer = _Buffer()
_flusher_pid: int | None = None
# time.monotonic() of the last "Redis unreachable" warning; None: none since start or reset.
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
    """Start afresh: a new backend and outage limiter on next use, no buffered deltas, and the
    next failure is warned about at once. Called when the limiter's settings change (and
    between tests)."""
    global _backend, _last_warning, _outage
    with _state_lock:
        _backend = None
        _last_warning = None
        _outage = Outage()
    _buffer.take()


@receiver(setting_changed)
def _reset_on_settings_change(*, setting: str, **kwargs: object) -> None:
    if (
        setting.startswith("PARTNER_RATE_LIMIT")
        or setting == "PARTNER_USAGE_BUFFER_MAX_AGE_SECONDS"
    ):
        reset()


def _warn(message: str, exc: Exception) -> None:
    """Log an outage warning, at most one per ``_WARNING_INTERVAL_SECONDS`` (an outage must not
    log once per request)."""
    global _last_warning
    now = time.monotonic()
    with _state_lock:
        if _last_warning is not None and now - _last_warning < _WARNING_INTERVAL_SECONDS:
            return
        _last_warning = now
    logger.warning(
        "%s; per-process limit, usage counted in the database: %s",
        message,
        exc.__class__.__name__,
    )


def hit(hit: Hit) -> Decision:
    """Count ``hit`` and decide. Redis unreachable: this process decides alone (the decision is
    ``degraded``) and the call is counted in the database."""
    _ensure_flusher()
    deltas = _buffer.take()
    try:
        return get_backend().hit(hit, deltas)
    except _UNAVAILABLE as exc:
        _warn("rate limiter unavailable", exc)
        return _outage.hit(hit, deltas)


def record_response(hit: Hit, *, error: bool, latency_ms: int) -> None:
    """Buffer what is known only after the response; sent with the next round trip."""
    deltas = {f"{hit.usage_field}|latency_ms": latency_ms}
    if error:
        deltas[f"{hit.usage_field}|errors"] = 1
    _buffer.add(deltas)


def send_buffer() -> None:
    """Send buffered response-phase deltas now (idle process, exit, flush task, tests); to the
    database while Redis is unreachable."""
    if _outage.pending():
        _outage.write()  # what an outage write could not store (the database was down too)
    deltas = _buffer.take()
    if not deltas:
        return
    try:
        get_backend().add(deltas)
    except _UNAVAILABLE as exc:
        _warn("usage counters unavailable", exc)
        _outage.add(deltas)


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
    except _UNAVAILABLE as exc:
        _warn("rate limiter unavailable", exc)
        return None


def bump_credentials_generation() -> None:
    """Invalidate every process's cached credentials (a key, token or partner changed)."""
    try:
        get_backend().bump_generation()
    except _UNAVAILABLE as exc:
        # Cached entries then live at most PARTNER_CREDENTIAL_CACHE_SECONDS.
        logger.error("could not invalidate cached credentials: %s", exc.__class__.__name__)


def _flusher_loop() -> None:
    while True:
        max_age = settings.PARTNER_USAGE_BUFFER_MAX_AGE_SECONDS
        time.sleep(max(max_age, 0.5))
        if _buffer.age() >= max_age or _outage.pending():
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
