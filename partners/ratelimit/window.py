"""What the limiter decides on: a call (:class:`Hit`), the answer (:class:`Decision`), the
sliding-window arithmetic both backends share, and usage drained for the database."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from django.conf import settings

METRICS = ("calls", "errors", "rate_limited", "latency_ms")

# (day, partner pk, endpoint) → metric → count
Usage = dict[tuple[str, int, str], dict[str, int]]


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
    # Decided by this process alone because Redis is unreachable (see partners.ratelimit.outage):
    # the generation is then unknown, so cached credentials are not trusted.
    degraded: bool = False

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(self.remaining, 0)),
            "RateLimit-Reset": str(self.reset_seconds),
        }


@dataclass
class Drained:
    usage: Usage
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


def decision_for(
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


def usage_parse(raw: dict[str, int], into: Usage) -> None:
    """Add ``day|partner|endpoint|metric`` counters to ``into``."""
    for key, value in raw.items():
        day, partner_pk, rest = key.split("|", 2)
        endpoint, metric = rest.rsplit("|", 1)
        if metric not in METRICS:
            continue
        counts = into.setdefault((day, int(partner_pk), endpoint), dict.fromkeys(METRICS, 0))
        counts[metric] += int(value)
