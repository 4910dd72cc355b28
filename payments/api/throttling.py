"""Per-client-IP rate limits for the anonymous payments endpoints (DRF throttles in the default
cache: Redis in production, so every process shares the counts)."""

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from rbac.services import client_ip

logger = logging.getLogger(__name__)


class SharedOrLocalCache:
    """The ``get``/``set`` a DRF throttle needs: the shared cache, or, while it raises (Redis
    down), counts kept in this process instead.

    Fail-open would let a Redis outage lift the limit on an anonymous endpoint; fail-closed
    would turn every registration away (it answered 500). Local counts keep registrations
    working and abuse bounded: one client gets at most the rate times the number of web
    processes while the outage lasts.
    """

    def __init__(self, shared: BaseCache, local: BaseCache, *, what: str) -> None:
        self.shared = shared
        self.local = local
        self.what = what

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self.shared.get(key, default)
        except Exception as exc:
            self._fell_back(exc)
            return self.local.get(key, default)

    def set(self, key: str, value: Any, timeout: float | None = None) -> None:
        try:
            self.shared.set(key, value, timeout)
        except Exception as exc:
            self._fell_back(exc)
            self.local.set(key, value, timeout)

    def _fell_back(self, exc: Exception) -> None:
        logger.warning(
            "%s: the shared cache is unreachable (%s); counting in this process",
            self.what,
            type(exc).__name__,
        )


_local_counts = LocMemCache(
    "payments.throttling.local", {"TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": 10_000}}
)


class BusinessRegisterThrottle(SimpleRateThrottle):
    """``BUSINESS_REGISTER_RATE_LIMIT`` (e.g. ``"10/hour"``) per client IP. The IP is the one the
    audit log records (``X-Forwarded-For`` only behind ``RBAC_TRUSTED_PROXY_COUNT`` proxies), so
    a client cannot reset its count by forging the header. Counted in this process while the
    shared cache is down (see ``SharedOrLocalCache``)."""

    scope = "business_register"
    cache = SharedOrLocalCache(shared_cache, _local_counts, what="business registration limit")

    def get_rate(self) -> str | None:
        # DRF builds a throttle per request: the setting is read then, not at import.
        return settings.BUSINESS_REGISTER_RATE_LIMIT or None

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        ident = client_ip(request) or "unknown"
        return self.cache_format % {"scope": self.scope, "ident": ident}
